"""Crash-safe files: atomic replace, snapshots with backup, journals with torn tails,
and the ledger's recovery from each kind of damage (done to real files)."""

from __future__ import annotations

import contextlib
import resource
import signal
from datetime import date
from pathlib import Path

import pytest
from tinydb import TinyDB

from firmware_py.errors import LedgerCorrupt, LedgerWriteError
from firmware_py.ledger import AtomicJSONStorage, Ledger
from firmware_py.ledger.journal import AppendFile, decode_line, encode_line, scan
from firmware_py.ledger.storage import (
    SnapshotUnreadable,
    atomic_write,
    read_snapshot,
    write_snapshot,
)
from ledger_factories import T0, contact, portfolio


@contextlib.contextmanager
def _disk_limit(max_bytes: int):
    """Make regular-file writes beyond ``max_bytes`` fail with EFBIG (a full disk, for real)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, hard))
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


# -- primitives ------------------------------------------------------------------------------
def test_atomic_write_replaces_and_keeps_backup(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two", backup=True)
    assert target.read_bytes() == b"two"
    assert (tmp_path / "f.json.bak").read_bytes() == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "f.json.bak"]  # no temp files left


def test_atomic_write_failure_leaves_old_content(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, b"old")
    with pytest.raises(LedgerWriteError) as info:
        atomic_write(tmp_path / "missing-dir" / "f.json", b"new")
    assert "No se pudo guardar" in str(info.value)
    with _disk_limit(100):  # the disk fills up while writing the new version
        with pytest.raises(LedgerWriteError):
            atomic_write(target, b"new" * 1000, backup=True)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # temp file removed


def test_snapshot_detects_truncation_and_falls_back_to_backup(tmp_path):
    path = tmp_path / "state.json"
    write_snapshot(path, {"t": {"a": {"v": 1}}}, 1)
    write_snapshot(path, {"t": {"a": {"v": 2}}}, 2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    tables, seq, used = read_snapshot(path)
    assert (tables, seq, used.name) == ({"t": {"a": {"v": 1}}}, 1, "state.json.bak")
    (tmp_path / "state.json.bak").write_bytes(b"\x00" * 40)
    with pytest.raises(SnapshotUnreadable):
        read_snapshot(path)


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:-5], lambda b: b.replace(b'"v":2', b'"v":3'), lambda b: b"", lambda b: b"{}\n{}"],
    ids=["truncated", "bit-flip", "empty", "foreign"],
)
def test_snapshot_damage_is_always_detected(tmp_path, damage):
    path = tmp_path / "s.json"
    write_snapshot(path, {"t": {"a": {"v": 2}}}, 7, backup=False)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SnapshotUnreadable):
        read_snapshot(path)


def test_atomic_tinydb_storage_round_trip_and_recovery(tmp_path):
    path = tmp_path / "db.json"
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        db.insert({"name": "Ana"})
        db.insert({"name": "Luis"})
    path.write_bytes(path.read_bytes()[:10])  # damaged by a bad SD card
    with TinyDB(path, storage=AtomicJSONStorage) as db:
        assert [d["name"] for d in db.all()] == ["Ana"]  # the previous version, from .bak
    path.write_bytes(b"garbage")
    (tmp_path / "db.json.bak").write_bytes(b"garbage")
    with pytest.raises(LedgerCorrupt) as info:
        TinyDB(path, storage=AtomicJSONStorage).all()
    assert "copia de seguridad" in str(info.value)


def test_lines_round_trip_and_detect_damage():
    line = encode_line({"a": "ñ"})
    assert decode_line(line[:-1]) == {"a": "ñ"}
    assert decode_line(line[:-3]) is None
    assert decode_line(b"00000000 {}") is None
    assert decode_line(b"zz") is None


def test_scan_skips_torn_tail_and_counts_mid_file_damage(tmp_path):
    path = tmp_path / "j.jsonl"
    good = [encode_line({"n": i}) for i in range(4)]
    path.write_bytes(good[0] + b"garbage line\n" + good[1] + good[2] + b"\x00" * 10 + b"\n" + good[3] + good[3][:7])
    result = scan(path)
    assert [obj["n"] for _off, obj in result.records] == [0, 1, 2, 3]
    assert result.damaged == 1 and result.torn_tail
    assert result.valid_end == path.stat().st_size - 7


def test_append_after_torn_tail_keeps_every_record(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(encode_line({"n": 1}) + b'1234abcd {"n": 2')
    journal = AppendFile(path)
    journal.append({"n": 3})
    journal.close()
    journal.close()
    assert [obj["n"] for _o, obj in scan(path).records] == [1, 3]
    assert not scan(path).torn_tail


# -- the ledger recovering from damage -------------------------------------------------------
def _fill(data_dir: Path, count: int = 3, *, compact_min_bytes: int = 1 << 20):
    debtors, loans = portfolio(count)
    with Ledger.open(data_dir, clock=lambda: T0, compact_min_bytes=compact_min_bytes) as ledger:
        ledger.import_batch(debtors, loans, source="test")
        ledger.record_payment("L0", 10, date(2026, 1, 2))
        return ledger.snapshot()


def _state(data_dir: Path):
    with Ledger.open(data_dir) as ledger:
        return ledger.snapshot(), ledger.stats()


def _same(a, b):
    return (a.debtors, a.loans, a.payments, a.promises, a.settings) == (b.debtors, b.loans, b.payments,
                                                                       b.promises, b.settings)


def test_torn_journal_tail_is_dropped_and_writing_continues(tmp_path):
    before = _fill(tmp_path)
    journal = tmp_path / "ledger" / "journal.jsonl"
    with journal.open("ab") as fh:
        fh.write(b'3f2a11bc {"seq": 99, "ops": [["put", "debtors", "x", {"id"')
    after, stats = _state(tmp_path)
    assert _same(before, after) and stats["torn_tail_dropped"]
    with Ledger.open(tmp_path) as ledger:
        ledger.settings.set("x", 1)
    again, stats = _state(tmp_path)
    assert again.settings.get("x") == 1 and not stats["torn_tail_dropped"]


def test_damaged_snapshot_is_restored_from_backup_plus_journal(tmp_path):
    _fill(tmp_path)
    with Ledger.open(tmp_path, clock=lambda: T0) as ledger:  # opening compacts: state + .bak + prev journal
        ledger.record_promise(ledger.debtors()[0].id, date(2026, 12, 1), 5)
        ledger.compact()
        ledger.settings.set("after_compaction", True)
        expected = ledger.snapshot()
    state = tmp_path / "ledger" / "state.json"
    state.write_bytes(state.read_bytes()[:100])
    after, stats = _state(tmp_path)
    assert _same(expected, after)
    assert stats["restored_from_backup"]
    assert (tmp_path / "ledger" / "state.json.damaged-1").exists()  # kept for forensics, not deleted
    assert _same(expected, _state(tmp_path)[0])


def test_unrecoverable_ledger_raises_corrupt_with_advice(tmp_path):
    _fill(tmp_path)
    with Ledger.open(tmp_path) as ledger:
        for value in (1, 2):  # two compactions: no journal left that starts at change 1
            ledger.settings.set("a", value)
            ledger.compact()
    for name in ("state.json", "state.json.bak"):
        (tmp_path / "ledger" / name).write_bytes(b"\x00" * 64)
    with pytest.raises(LedgerCorrupt) as info:
        Ledger.open(tmp_path)
    message = str(info.value)
    assert "dañados" in message and "No borre la carpeta" in message
    with pytest.raises(LedgerCorrupt):  # the lock was released: a second attempt fails the same way
        Ledger.open(tmp_path)


def test_lost_snapshots_are_rebuilt_from_a_complete_journal(tmp_path):
    before = _fill(tmp_path, compact_min_bytes=1 << 30)
    directory = tmp_path / "ledger"
    assert not (directory / "state.json.bak").exists()
    (directory / "state.json").write_bytes(b"garbage")  # the first (empty) snapshot, damaged
    after, _stats = _state(tmp_path)
    assert _same(before, after)


def test_mid_journal_damage_skips_one_change_but_keeps_the_rest(tmp_path):
    _fill(tmp_path)
    directory = tmp_path / "ledger"
    with Ledger.open(tmp_path) as ledger:
        for i in range(3):
            ledger.settings.set(f"k{i}", i)
    lines = (directory / "journal.jsonl").read_bytes().splitlines(keepends=True)
    k1 = next(i for i, line in enumerate(lines) if b'"k1"' in line)
    lines[k1] = lines[k1][:20] + b"X" + lines[k1][21:]
    (directory / "journal.jsonl").write_bytes(b"".join(lines))
    after, stats = _state(tmp_path)
    assert after.settings.get("k0") == 0 and after.settings.get("k2") == 2
    assert after.settings.get("k1") is None
    assert stats["damaged_lines"] == 1


def test_compaction_bounds_the_journal(tmp_path):
    with Ledger.open(tmp_path, compact_min_bytes=2000) as ledger:
        for i in range(200):
            ledger.settings.set("counter", i)
        assert ledger.stats()["journal_bytes"] < 4000
    assert _state(tmp_path)[0].settings.get("counter") == 199


def test_old_documents_are_migrated_on_load_and_stored_upgraded(tmp_path):
    directory = tmp_path / "ledger"
    directory.mkdir()
    tables = {
        "debtors": {"d-1": {"id": "d-1", "name": "Ana", "document": "1", "phone": "+573001234567"},
                    "d-bad": {"id": "d-bad", "name": "X", "phones": [{"number": "no-e164"}], "schema_version": 1}},
        "loans": {"L1": {"external_id": "L1", "debtor_id": "d-1",
                         "instalments": [{"number": 1, "due_date": "2026-01-01", "amount": 100, "paid": 40}]}},
    }
    write_snapshot(directory / "state.json", tables, 0)
    with Ledger.open(tmp_path) as ledger:
        assert ledger.debtor("d-1").phones[0].number == "+573001234567"
        assert ledger.loan("L1").outstanding == 60
        assert ledger.debtor("d-bad") is None and ledger.stats()["quarantined"] == 1
        ledger.compact()
    stored, _seq, _used = read_snapshot(directory / "state.json")
    assert stored["debtors"]["d-1"]["schema_version"] == 1 and "phone" not in stored["debtors"]["d-1"]
    assert stored["loans"]["L1"]["instalments"][0]["paid_amount"] == "40"
    assert "debtors/d-bad" in stored["quarantine"]  # kept, never silently dropped


def test_a_failed_write_changes_nothing(tmp_path):
    """A disk that fills up mid-import (RLIMIT_FSIZE makes writes fail with EFBIG)."""
    debtors, loans = portfolio(50)
    with Ledger.open(tmp_path, clock=lambda: T0, compact_min_bytes=1 << 30) as ledger:
        ledger.import_batch(debtors[:1], loans[:1], source="test")
        journal = tmp_path / "ledger" / "journal.jsonl"
        size = journal.stat().st_size
        with _disk_limit(size + 500):
            with pytest.raises(LedgerWriteError):
                ledger.import_batch(debtors, loans, source="test")
        assert journal.stat().st_size == size  # the partial line was cut back
        assert len(ledger.debtors()) == 1 and len(ledger.imports()) == 1
        ledger.import_batch(debtors, loans, source="test")
        assert len(ledger.debtors()) == 50
    assert len(_state(tmp_path)[0].debtors) == 50


def test_temporary_files_left_by_a_kill_are_removed_on_open(tmp_path):
    _fill(tmp_path)
    directory = tmp_path / "ledger"
    leftovers = [directory / ".state.json.abc123.tmp", directory / "contacts" / ".2026-11.idx.x1.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a snapshot")
    keep = directory / "notes.txt"
    keep.write_text("del operador")
    with Ledger.open(tmp_path):
        pass
    assert not any(p.exists() for p in leftovers)
    assert keep.exists()


def test_backup_rotation_after_a_kill_between_the_two_renames(tmp_path):
    """Killed after linking the backup but before replacing: state and .bak are one file."""
    import os

    target = tmp_path / "state.json"
    target.write_bytes(b"v1")
    os.link(target, tmp_path / "state.json.bak")
    atomic_write(target, b"v2", backup=True)
    assert target.read_bytes() == b"v2" and (tmp_path / "state.json.bak").read_bytes() == b"v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "state.json.bak"]


def test_a_full_disk_does_not_keep_the_ledger_from_opening(tmp_path):
    before = _fill(tmp_path)
    with Ledger.open(tmp_path) as ledger:
        ledger.compact()
        ledger.settings.set("k", 1)  # one journal line to replay at the next open
    journal = tmp_path / "ledger" / "journal.jsonl"
    with journal.open("ab") as fh:  # and a torn tail: recovering from it rewrites the snapshot
        fh.write(b'3f2a11bc {"seq": 99, "ops": [["put"')
    snapshot_size = (tmp_path / "ledger" / "state.json").stat().st_size
    limit = journal.stat().st_size + 300
    assert limit < snapshot_size  # the snapshot cannot be rewritten, the journal can still grow a bit
    with _disk_limit(limit):
        with Ledger.open(tmp_path) as ledger:
            assert ledger.settings.get("k") == 1 and ledger.debtors() == before.debtors
            ledger.settings.set("k", 2)
    after, _stats = _state(tmp_path)
    assert after.settings.get("k") == 2 and after.debtors == before.debtors


def test_a_journal_cut_at_any_byte_keeps_exactly_the_whole_records(tmp_path):
    path = tmp_path / "j.jsonl"
    records = [{"seq": i, "ops": [["put", "settings", f"k{i}", {"value": "x" * (i * 7)}]]} for i in range(1, 8)]
    data = b"".join(encode_line(r) for r in records)
    ends = []
    for r in records:
        ends.append((ends[-1] if ends else 0) + len(encode_line(r)))
    for cut in range(len(data) + 1):
        path.write_bytes(data[:cut])
        whole = sum(1 for end in ends if end <= cut)
        assert [obj for _o, obj in scan(path).records] == records[:whole], cut
        journal = AppendFile(path)
        journal.append({"seq": 99, "ops": []})
        journal.close()
        assert [obj["seq"] for _o, obj in scan(path).records] == [r["seq"] for r in records[:whole]] + [99]


def test_a_ledger_whose_journal_is_cut_anywhere_opens_with_the_whole_changes(tmp_path):
    source = tmp_path / "source"
    with Ledger.open(source, compact_min_bytes=1 << 30) as ledger:
        for i in range(6):
            ledger.settings.set(f"k{i}", i)
    journal = (source / "ledger" / "journal.jsonl").read_bytes()
    lines = journal.splitlines(keepends=True)
    ends = [sum(len(line) for line in lines[: n + 1]) for n in range(len(lines))]
    for cut in range(0, len(journal) + 1, 5):
        target = tmp_path / f"cut{cut}"
        (target / "ledger").mkdir(parents=True)
        for name in ("state.json",):
            (target / "ledger" / name).write_bytes((source / "ledger" / name).read_bytes())
        (target / "ledger" / "journal.jsonl").write_bytes(journal[:cut])
        whole = sum(1 for end in ends if end <= cut)
        with Ledger.open(target) as ledger:
            assert [ledger.settings.get(f"k{i}") for i in range(6)] == [i if i < whole else None for i in range(6)]


def test_data_from_a_newer_cobrador_is_refused_not_quarantined(tmp_path):
    from firmware_py.errors import LedgerVersionError

    directory = tmp_path / "ledger"
    directory.mkdir()
    tables = {"debtors": {"d-1": {"id": "d-1", "name": "Ana", "schema_version": 99}}}
    write_snapshot(directory / "state.json", tables, 0)
    before = (directory / "state.json").read_bytes()
    with pytest.raises(LedgerVersionError) as info:
        Ledger.open(tmp_path)
    assert "versión más nueva" in str(info.value)
    assert (directory / "state.json").read_bytes() == before  # nothing rewritten
    assert not (directory / "journal.jsonl").exists() or (directory / "journal.jsonl").read_bytes() == b""


def test_a_data_directory_that_cannot_hold_the_ledger_raises_write_error(tmp_path):
    (tmp_path / "ledger").write_text("not a directory")
    with pytest.raises(LedgerWriteError) as info:
        Ledger.open(tmp_path)
    assert "No se pudo guardar" in str(info.value)
