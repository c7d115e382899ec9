"""The data folder when it cannot be written: read-only opening and export, messages that name
the folder and the real cause, commands that create nothing they do not need, a full disk
during compaction. Every unwritable folder here is real (see ``folder_helpers``)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.errors import LedgerError, LedgerLocked
from firmware_py.importer import ImportOptions, import_loans
from firmware_py.importer.samples import write_loan_csv
from firmware_py.ledger import Ledger
from firmware_py.ledger.storage import write_snapshot
from folder_helpers import read_only_mount, small_disk, tree, unprivileged
from ledger_factories import T0, contact, portfolio

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"
COBRADOR = [sys.executable, "-m", "firmware_py"]
BAD_ROW_CSV = ("Crédito;Nombre;Cédula;Celular;Monto;Vence\nA;Ana;1;3001234567;100;15/01/2027\n"
               "B;;2;3001234568;100;15/01/2027\n")


def cobrador(*args, cwd=ROOT, prefix=(), timeout=120):
    return subprocess.run([*prefix, *COBRADOR, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def fill(data_dir: Path) -> None:
    """A data directory with loans, an in-app payment, a contact, a torn journal tail and a torn contact
    partition tail (what a power cut leaves)."""
    debtors, loans = portfolio(5)
    with Ledger.open(data_dir, clock=lambda: T0) as ledger:
        ledger.import_batch(debtors, loans, source="lista.csv")
        ledger.record_payment("L1", Decimal("40"), date(2026, 10, 30), source="web")
        ledger.append_contact(contact(debtors[0].id, kind="delivered"))
    directory = Path(data_dir) / "ledger"
    with (directory / "journal.jsonl").open("ab") as fh:
        fh.write(b'3f2a11bc {"seq": 99, "ops": [["put"')
    with (directory / "contacts" / "2026-11.jsonl").open("ab") as fh:
        fh.write(b'0badf00d {"debtor_id":"half a line')


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


# -- 12: read-only opening -------------------------------------------------------------------
def test_read_only_open_reads_everything_and_writes_nothing(tmp_path):
    fill(tmp_path)
    directory = tmp_path / "ledger"
    (directory / "ledger.lock").unlink()
    (directory / ".state.json.x1.tmp").write_bytes(b"left by a kill")  # a writer would remove it
    # a record of an older schema: a writer migrates it and commits the migration
    tables = {"debtors": {"d-old": {"id": "d-old", "name": "Ana", "document": "9", "phone": "+573001234567"}}}
    old = tmp_path / "old"
    (old / "ledger").mkdir(parents=True)
    write_snapshot(old / "ledger" / "state.json", tables, 0)
    before, before_old = tree(tmp_path), tree(old)
    with Ledger.open(tmp_path, read_only=True) as ledger:
        assert len(ledger.debtors()) == 5 and len(ledger.loans()) == 5
        assert ledger.loan("L1").instalments[0].paid_amount == Decimal("40")
        assert [e.kind for e in ledger.contacts()] == ["delivered"]
        assert ledger.stats()["torn_tail_dropped"] is True
    with Ledger.open(old, read_only=True) as ledger:
        assert ledger.debtor("d-old").phones[0].number == "+573001234567"  # migrated in memory only
    assert tree(tmp_path) == before and tree(old) == before_old  # no lock file, no truncation, no compaction


def test_read_only_ledger_refuses_every_write(tmp_path):
    fill(tmp_path)
    before = tree(tmp_path)
    debtors, loans = portfolio(6)
    with Ledger.open(tmp_path, read_only=True) as ledger:
        writes = [
            lambda: ledger.import_batch(debtors, loans, source="otra.csv"),
            lambda: ledger.record_payment("L2", Decimal("10"), date(2026, 11, 2)),
            lambda: ledger.record_promise(debtors[0].id, date(2026, 12, 1), Decimal("10")),
            lambda: ledger.record_opt_out("+573000000001"),
            lambda: ledger.settings.set("daily_sms_cap", 5),
            lambda: ledger.document_store("modem-driver").save({"x": 1}),
            lambda: ledger.append_contact(contact(debtors[1].id)),
            lambda: ledger.append_contacts([contact(debtors[1].id)]),
            lambda: ledger.compact(),
        ]
        for write in writes:
            with pytest.raises(LedgerError) as info:
                write()
            assert "abierto solo para lectura" in str(info.value)
        assert len(ledger.loans()) == 5 and ledger.settings.get("daily_sms_cap") == 300
    assert tree(tmp_path) == before


def test_read_only_open_of_a_missing_folder_creates_nothing(tmp_path):
    with Ledger.open(tmp_path / "nada", read_only=True) as ledger:
        assert ledger.loans() == () and ledger.contacts() == ()
    assert not (tmp_path / "nada").exists()


def test_readers_share_the_lock_and_keep_a_writer_from_starting(tmp_path):
    fill(tmp_path)
    with Ledger.open(tmp_path, read_only=True), Ledger.open(tmp_path, read_only=True) as second:
        assert len(second.loans()) == 5
        with pytest.raises(LedgerLocked):
            Ledger.open(tmp_path)
    with Ledger.open(tmp_path):
        pass


def test_a_reader_gets_a_consistent_view_while_the_service_writes_and_compacts(tmp_path):
    """An export while the appliance runs: the writer holds the lock, commits and compacts all the time
    (a tiny compaction threshold); every read-only open sees a whole state at least as new as the last
    change acknowledged before it opened, never an older snapshot without its journal."""
    stop, running = threading.Event(), threading.Event()
    acknowledged = [0]
    failures = []

    def service():
        with Ledger.open(tmp_path, compact_min_bytes=1) as ledger:
            running.set()  # a reader holding the shared lock would keep it from starting
            value = 0
            while not stop.is_set():
                value += 1
                ledger.settings.update({"a": value, "b": value, "pad": "x" * 2000})
                acknowledged[0] = value

    writer = threading.Thread(target=service)
    writer.start()
    assert running.wait(10)
    try:
        deadline = time.monotonic() + 3
        reads = 0
        while time.monotonic() < deadline or reads < 30:
            before = acknowledged[0]
            with Ledger.open(tmp_path, read_only=True) as reader:
                a, b = reader.settings.get("a") or 0, reader.settings.get("b") or 0
            reads += 1
            if a != b or a < before:
                failures.append((before, a, b))
            if reads > 2000:
                break
    finally:
        stop.set()
        writer.join()
    assert acknowledged[0] > 10 and not failures, failures[:5]


def test_read_only_open_on_a_read_only_mount(tmp_path):
    with read_only_mount(tmp_path / "sd", fill) as sd:
        with Ledger.open(sd, read_only=True) as ledger:
            assert len(ledger.loans()) == 5 and len(ledger.contacts()) == 1
            with pytest.raises(LedgerError, match="abierto solo para lectura"):
                ledger.settings.set("k", 1)


def test_every_export_works_on_a_read_only_data_directory(tmp_path):
    with read_only_mount(tmp_path / "sd", fill) as sd:
        loans = cobrador("export", "loans", "--data", sd)
        assert loans.returncode == 0, loans.stderr
        assert len(csv_rows(loans.stdout)) == 1 + 5 * 3  # one row per instalment
        payments = cobrador("export", "payments", "--data", sd)
        assert payments.returncode == 0 and len(csv_rows(payments.stdout)) == 2
        contacts = cobrador("export", "contacts", "--data", sd, "--out", tmp_path / "contactos.csv")
        assert contacts.returncode == 0 and "1 fila exportada a" in contacts.stderr
        assert len(csv_rows((tmp_path / "contactos.csv").read_text("utf-8"))) == 2


def test_export_works_while_the_service_has_the_ledger_open(tmp_path):
    fill(tmp_path)
    with Ledger.open(tmp_path) as service:
        service.settings.set("daily_sms_cap", 5)
        result = cobrador("export", "payments", "--data", tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(csv_rows(result.stdout)) == 2


def test_plan_reads_a_read_only_data_directory_and_writes_nothing(tmp_path):
    """``cobrador plan`` only reads: like an export, it works on a read-only card and while the service runs."""
    with read_only_mount(tmp_path / "sd", fill) as sd:
        result = cobrador("plan", "--json", "--at", "2026-11-02T10:00", "--data", sd)
        assert result.returncode == 0, result.stderr
        assert isinstance(json.loads(result.stdout), list)
    fill(tmp_path / "rw")
    with Ledger.open(tmp_path / "rw"):  # the service
        busy = cobrador("plan", "--json", "--at", "2026-11-02T10:00", "--data", tmp_path / "rw")
    assert busy.returncode == 0, busy.stderr


def test_writing_to_a_read_only_data_directory_says_the_folder_is_read_only(tmp_path):
    with read_only_mount(tmp_path / "sd", fill) as sd:
        result = cobrador("import", EXAMPLES / "prestamos_una_fila_por_credito.csv", "--data", sd)
    assert result.returncode == 1
    assert "es de solo lectura" in result.stderr and str(sd) in result.stderr
    assert "lleno" not in result.stderr and "dañad" not in result.stderr


def test_writing_without_permission_says_so(tmp_path):
    data = tmp_path / "data"
    fill(data)
    for folder in (data, data / "ledger", data / "ledger" / "contacts"):
        folder.chmod(0o555)
    (data / "ledger" / "ledger.lock").chmod(0o444)
    try:
        result = cobrador("import", EXAMPLES / "prestamos_una_fila_por_credito.csv", "--data", data,
                          prefix=unprivileged())
    finally:
        for folder in (data, data / "ledger", data / "ledger" / "contacts"):
            folder.chmod(0o755)
    assert result.returncode == 1
    assert "sin permiso" in result.stderr and "lleno" not in result.stderr, result.stderr


# -- 13: permission problems on the data folder ----------------------------------------------
def _stick(folder: Path) -> None:
    (folder / "lista.csv").write_text(BAD_ROW_CSV, encoding="utf-8")


def test_dry_run_from_a_read_only_stick_creates_nothing_in_the_data_folder(tmp_path):
    with read_only_mount(tmp_path / "usb", _stick) as usb:
        result = cobrador("import", usb / "lista.csv", "--dry-run", "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "Créditos que se importarían: 1" in result.stdout and "falta el nombre" in result.stdout
    assert "rechazad" in result.stderr and "--rejects" in result.stderr  # says where the file was not written
    assert not (tmp_path / "data").exists()


def test_dry_run_with_an_unwritable_data_folder_checks_the_file(tmp_path):
    """The data folder is on a read-only card too: a dry run needs none of it."""
    with read_only_mount(tmp_path / "usb", _stick) as usb:
        result = cobrador("import", usb / "lista.csv", "--dry-run", "--json", "--data", usb / "datos")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["rejected"] == 1 and report["rejects_path"] is None


def test_import_into_an_unwritable_data_folder_blames_the_folder_not_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    data.chmod(0o555)
    try:
        with read_only_mount(tmp_path / "usb", _stick) as usb:
            result = cobrador("import", usb / "lista.csv", "--data", data, prefix=unprivileged())
    finally:
        data.chmod(0o755)
    assert result.returncode == 1
    assert "No se puede leer" not in result.stderr, result.stderr
    assert "sin permiso" in result.stderr and str(data) in result.stderr
    assert list(data.iterdir()) == []


def test_rejects_of_a_file_on_a_read_only_stick_go_to_the_data_folder_on_a_real_import(tmp_path):
    with read_only_mount(tmp_path / "usb", _stick) as usb:
        result = cobrador("import", usb / "lista.csv", "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    rejects = tmp_path / "data" / "rechazados" / "lista-rechazados.csv"
    assert "falta el nombre" in rejects.read_text("utf-8") and str(rejects) in result.stdout


# -- 14: a missing input file ----------------------------------------------------------------
def test_a_missing_input_file_creates_nothing(tmp_path):
    result = cobrador("import", tmp_path / "no.csv", "--data", tmp_path / "data")
    assert result.returncode == 1 and "No se encuentra el archivo" in result.stderr
    assert not (tmp_path / "data").exists()
    default = cobrador("import", "no.csv", cwd=tmp_path)  # the default data folder (./var) is not created
    assert default.returncode == 1 and "No se encuentra el archivo" in default.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_input_file_creates_nothing(tmp_path):
    source = tmp_path / "lista.csv"
    source.write_text(BAD_ROW_CSV, encoding="utf-8")
    source.chmod(0)
    try:
        result = cobrador("import", source, "--data", tmp_path / "data", prefix=unprivileged())
    finally:
        source.chmod(0o644)
    assert result.returncode == 1 and "No se puede leer el archivo" in result.stderr
    assert not (tmp_path / "data").exists()


# -- 16: a full disk during compaction after a successful commit ------------------------------
@contextlib.contextmanager
def _file_size_limit(max_bytes: int):
    """Writes that make a file larger than ``max_bytes`` fail with EFBIG (a full disk, for real)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, hard))
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_compaction_the_disk_refuses_after_a_commit_is_a_warning_that_the_data_is_saved(tmp_path, caplog):
    with Ledger.open(tmp_path, compact_min_bytes=1) as ledger:
        ledger.settings.set("old", "x" * 20_000)
        ledger.compact()
        snapshot = (tmp_path / "ledger" / "state.json").stat().st_size
        # the next change fits in the journal; the snapshot compaction then writes (old + new) does not
        with _file_size_limit(snapshot + 10_000), caplog.at_level(logging.INFO):
            ledger.settings.set("new", "y" * (snapshot + 100))
        assert ledger.settings.get("new").startswith("y")
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems and all(r.levelno == logging.WARNING for r in problems), [r.getMessage() for r in problems]
    said = " ".join(r.getMessage() for r in problems)
    assert "guardad" in said and "se reintentará" in said and "No se registró" not in said
    with Ledger.open(tmp_path) as ledger:  # and the change is there
        assert ledger.settings.get("new").startswith("y") and ledger.settings.get("old").startswith("x")


def test_cli_import_on_a_nearly_full_disk_reports_success_and_a_retry(tmp_path):
    source = write_loan_csv(tmp_path / "cartera.csv", 900)
    probe = tmp_path / "probe"
    with Ledger.open(probe, compact_min_bytes=1 << 30) as ledger:
        import_loans(source, ledger, now=datetime.now(timezone.utc), options=ImportOptions(source_name="x"))
    journal = (probe / "ledger" / "journal.jsonl").stat().st_size
    assert journal > 1 << 20  # the import alone makes the journal outgrow the compaction threshold
    with small_disk(tmp_path / "sd", journal + journal // 2) as sd:
        result = cobrador("import", source, "--data", sd / "data")
        assert result.returncode == 0, result.stderr
        assert "Créditos nuevos: 900" in result.stdout
        assert "ERROR" not in result.stderr and "No se registró" not in result.stderr, result.stderr
        assert "guardad" in result.stderr and "se reintentará" in result.stderr
        with Ledger.open(sd / "data", read_only=True) as ledger:
            assert len(ledger.loans()) == 900
