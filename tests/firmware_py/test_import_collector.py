"""An import runs with Python's cyclic garbage collector paused, and leaves it as it found it: on after an
import (also a refused file, also concurrent imports in threads), still off if the caller had turned it off."""

from __future__ import annotations

import gc
import threading
from datetime import datetime, timezone

import pytest

from firmware_py.importer import ImportFileError, ImportOptions, import_loans
from firmware_py.importer.samples import write_loan_csv
from scheduler.collector import collector_paused

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def collector_back_on():
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


def test_paused_during_the_import_and_back_on_after(tmp_path):
    seen = []
    report = import_loans(write_loan_csv(tmp_path / "p.csv", 2500), None, now=NOW,
                          options=ImportOptions(dry_run=True), progress=lambda done, total: seen.append(gc.isenabled()))
    assert report.loans_in_file == 2500
    assert seen and not any(seen)  # the progress callback runs inside the import
    assert gc.isenabled()


def test_back_on_after_a_refused_file(tmp_path):
    empty = tmp_path / "vacio.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError):
        import_loans(empty, None, now=NOW, options=ImportOptions(dry_run=True))
    assert gc.isenabled()


def test_left_off_when_the_caller_turned_it_off(tmp_path):
    gc.disable()
    import_loans(write_loan_csv(tmp_path / "p.csv", 10), None, now=NOW, options=ImportOptions(dry_run=True))
    assert not gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last_one(tmp_path):
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()
    path = write_loan_csv(tmp_path / "p.csv", 300)
    errors = []

    def run():
        try:
            import_loans(path, None, now=NOW, options=ImportOptions(dry_run=True))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert gc.isenabled()
