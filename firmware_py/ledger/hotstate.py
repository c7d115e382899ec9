"""Durable hot state: a snapshot file plus a write-ahead journal.

The hot state is a dict of tables (``{table: {key: document}}``): debtors,
loans, payments, promises, settings... thousands of documents, held in
memory. It is persisted as

- ``state.json``: a checksummed snapshot as of journal sequence ``seq``
  (``state.json.bak``: the previous snapshot);
- ``journal.jsonl``: one fsynced line per committed change set after the
  snapshot (``journal.prev.jsonl``: the journal that led from the backup
  snapshot to the current one).

A change set is a list of operations ``["put", table, key, doc]`` /
``["del", table, key]`` (a doc may be any value the ``default`` hook
encodes, e.g. a model record) written as ONE journal line, so it is applied
entirely or not at all after a power cut (an import batch is one change
set). A write costs one append + fsync: independent of history size.
When the journal outgrows the snapshot, ``compact`` writes a new snapshot and
starts a new journal, so the amortised cost stays proportional to the change.

Recovery (``load``): the snapshot, then every journal record with a higher
sequence, in order; a torn last journal line is an unacknowledged write and
is dropped. If the snapshot is damaged it is kept aside as
``state.json.damaged-N`` and the backup + previous journal + journal are
used; if both snapshots are gone, the journals alone when they still start
at change 1; otherwise ``LedgerCorrupt``. After an abnormal recovery (torn
tail, damaged lines or gaps, a snapshot other than ``state.json`` used) or
when the journal has outgrown the snapshot, the state is compacted at once
(if the disk refuses, the ledger still opens and keeps appending to the
journal); a clean snapshot + journal is left as it is, so opening costs no
snapshot rewrite. Temporary files left by a
killed ``atomic_write`` are removed.

Read-only (``FileHotState(..., read_only=True)``: a read-only SD card, an
export): ``load`` recovers the same tables without touching a file — no
temporary files removed, no damaged snapshot moved aside, no torn tail cut
(it is skipped in memory), no compaction, no journal opened for writing —
and ``commit``/``compact`` raise ``LedgerReadOnly``. It is consistent even
while the service writes: a snapshot replaced during the read (compaction)
makes it read again.

``MemoryHotState`` has the same interface with no files (tests, demos).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from firmware_py.errors import LedgerCorrupt, LedgerReadOnly, LedgerWriteError
from firmware_py.ledger import journal as journal_mod
from firmware_py.ledger.storage import (
    Convert,
    SnapshotUnreadable,
    fsync_dir,
    read_snapshot,
    remove_stale_temps,
    write_snapshot,
)

log = logging.getLogger("cobrador.ledger.hotstate")

_SEQ_PREFIX = re.compile(rb'^\{"seq":(\d+),')

Op = list  # ["put", table, key, doc] | ["del", table, key]


def apply_ops(tables: dict[str, dict[str, Any]], ops: list[Op]) -> None:
    """Apply a change set to ``tables`` in place (unknown op kinds raise ValueError)."""
    for op in ops:
        kind, table, key = op[0], op[1], op[2]
        if kind == "put":
            tables.setdefault(table, {})[key] = op[3]
        elif kind == "del":
            tables.get(table, {}).pop(key, None)
        else:
            raise ValueError(f"unknown journal operation {kind!r}")


@dataclass
class LoadReport:
    """How the hot state was recovered (for logs and the status page)."""

    snapshot: str = ""  # file used, "" when starting empty
    snapshot_seq: int = 0
    replayed: int = 0
    torn_tail: bool = False
    damaged_lines: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (expected seq, found seq)
    restored_from_backup: bool = False


class MemoryHotState:
    """The hot-state interface without files: commits only count sequences."""

    def __init__(self) -> None:
        self.seq = 0
        self.report = LoadReport()

    def load(self) -> dict[str, dict[str, Any]]:
        return {}

    def commit(self, ops: list[Op], label: str = "") -> int:
        self.seq += 1
        return self.seq

    def needs_compaction(self) -> bool:
        return False

    def compact(self, tables: dict) -> None:
        pass

    @property
    def journal_bytes(self) -> int:
        return 0

    def close(self) -> None:
        pass


class FileHotState:
    """Snapshot + journal persistence in ``directory`` (see module docstring).

    ``compact_min_bytes``: the journal is compacted when it is larger than
    both this and the last snapshot. ``default``: turns values JSON cannot
    encode (e.g. model records held in the tables) into JSON documents when a
    journal line or a snapshot is written. ``convert(table, key, doc)``: what
    to hold instead of each snapshot document, applied as the snapshot is read
    (journal documents are applied as they are). ``read_only``: never write
    (see module docstring).
    """

    SNAPSHOT = "state.json"
    JOURNAL = "journal.jsonl"
    PREV_JOURNAL = "journal.prev.jsonl"

    def __init__(self, directory: Path, *, compact_min_bytes: int = 1 << 20,
                 default: Callable[[Any], Any] | None = None, convert: Convert | None = None,
                 read_only: bool = False):
        self.directory = Path(directory)
        self.read_only = read_only
        self.snapshot_path = self.directory / self.SNAPSHOT
        self.journal_path = self.directory / self.JOURNAL
        self.prev_journal_path = self.directory / self.PREV_JOURNAL
        self.compact_min_bytes = compact_min_bytes
        self.default = default
        self.convert = convert
        self.seq = 0
        self.snapshot_bytes = 0
        self.report = LoadReport()
        self._journal: journal_mod.AppendFile | None = None

    # -- recovery ----------------------------------------------------------------------------
    def load(self) -> dict[str, dict[str, Any]]:
        """Recover the tables; raises LedgerCorrupt if the history cannot be rebuilt."""
        if self.read_only:
            return self._load_read_only()
        tables = self._recover()
        if self._recovered_abnormally(self.report) or self._journal_file_bytes() > self._compaction_threshold():
            try:
                self.compact(tables)
            except LedgerWriteError as exc:
                # A full or failing disk must not keep the appliance from starting:
                # the recovered state is complete in memory and the journal still
                # describes it; compaction is retried on a later write.
                log.warning("No se pudo compactar el registro al abrirlo (%s): los datos están completos y se "
                            "sigue usando el diario; se reintentará en la próxima escritura.",
                            exc.short_reason)
                self._open_journal()
        else:
            self._open_journal()
        return tables

    _READ_ATTEMPTS = 20

    def _load_read_only(self) -> dict[str, dict[str, Any]]:
        """``load`` without writing, consistent even while a writer (the running service) appends and
        compacts: the journal only grows (a torn last line is skipped), and if the snapshot was replaced
        while it was read (a compaction, which also starts a new journal) everything is read again."""
        for _attempt in range(self._READ_ATTEMPTS):
            before = self._snapshot_identity()
            tables = self._recover(quiet=True)
            if self._snapshot_identity() == before:
                break
            log.debug("%s was compacted while being read: reading it again", self.directory)
        for expected, found in self.report.gaps:
            log.error("journal gap: expected change %d, found %d", expected, found)
        return tables

    def _snapshot_identity(self) -> tuple | None:
        try:
            st = self.snapshot_path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _recover(self, *, quiet: bool = False) -> dict[str, dict[str, Any]]:
        """Read the snapshot and replay the journal into tables (sets ``seq``, ``report``); writes nothing
        but the quarantine of a damaged snapshot (not when read-only). ``quiet``: gaps are only recorded."""
        report = LoadReport()
        if not self.read_only:
            remove_stale_temps(self.directory)
        bak = self.snapshot_path.with_name(self.SNAPSHOT + ".bak")
        tables: dict = {}
        base_seq = 0
        if self.snapshot_path.exists() or bak.exists():
            try:
                tables, base_seq, used = read_snapshot(self.snapshot_path, self.convert)
            except SnapshotUnreadable as exc:
                # Both snapshots are gone: the journals alone are enough only if
                # they still start at the very first change.
                first = self._first_seq()
                if first != 1:
                    raise LedgerCorrupt(self.directory, str(exc)) from None
                log.error("no readable snapshot (%s); rebuilding from the journal", exc)
                used = None
            if used is not None and used != self.snapshot_path:
                report.restored_from_backup = True
                if not self.read_only:
                    self._quarantine(self.snapshot_path)
            report.snapshot = "" if used is None else used.name
        report.snapshot_seq = base_seq
        seq = base_seq
        # The previous journal only matters when the current snapshot was lost:
        # every record in it is <= the current snapshot's sequence otherwise.
        journals = [self.journal_path]
        if report.snapshot != self.SNAPSHOT:
            journals.insert(0, self.prev_journal_path)
        for path in journals:
            result = journal_mod.scan(path, parse=False)
            report.damaged_lines += result.damaged
            if path == self.journal_path:
                report.torn_tail = result.torn_tail
            for _offset, body in result.records:
                quick = _SEQ_PREFIX.match(body)
                if quick is not None and int(quick.group(1)) <= seq:
                    continue  # already in the snapshot: skip without parsing
                try:
                    record = json.loads(body)
                    rec_seq, ops = int(record["seq"]), record["ops"]
                except (KeyError, TypeError, ValueError):
                    report.damaged_lines += 1
                    continue
                if rec_seq <= seq:
                    continue
                if rec_seq != seq + 1:
                    if not quiet:
                        log.error("journal gap: expected change %d, found %d", seq + 1, rec_seq)
                    report.gaps.append((seq + 1, rec_seq))
                try:
                    apply_ops(tables, ops)
                except (ValueError, IndexError, TypeError, AttributeError) as exc:
                    log.error("journal change %d unusable (%s), skipped", rec_seq, exc)
                    report.damaged_lines += 1
                    continue
                seq = rec_seq
                report.replayed += 1
        self.seq = seq
        self.report = report
        try:
            self.snapshot_bytes = self.snapshot_path.stat().st_size
        except OSError:
            self.snapshot_bytes = 0
        return tables

    def _recovered_abnormally(self, report: LoadReport) -> bool:
        """True if the files on disk are not a clean snapshot + journal (then ``load`` rewrites them)."""
        return bool(report.snapshot != self.SNAPSHOT or report.restored_from_backup or report.torn_tail
                    or report.damaged_lines or report.gaps)

    def _journal_file_bytes(self) -> int:
        try:
            return self.journal_path.stat().st_size
        except OSError:
            return 0

    def _compaction_threshold(self) -> int:
        return max(self.compact_min_bytes, self.snapshot_bytes)

    def _first_seq(self) -> int | None:
        for path in (self.prev_journal_path, self.journal_path):
            for _offset, record in journal_mod.scan(path).records:
                try:
                    return int(record["seq"])
                except (KeyError, TypeError, ValueError):
                    continue
        return None

    def _quarantine(self, path: Path) -> None:
        if not path.exists():
            return
        n = 1
        while (target := path.with_name(f"{path.name}.damaged-{n}")).exists():
            n += 1
        try:
            os.replace(path, target)
            fsync_dir(self.directory)
            log.error("damaged %s kept as %s", path.name, target.name)
        except OSError as exc:
            log.error("could not move damaged %s aside: %s", path, exc)

    def _open_journal(self) -> None:
        if self._journal is None:
            self._journal = journal_mod.AppendFile(self.journal_path)

    # -- writing -----------------------------------------------------------------------------
    def commit(self, ops: list[Op], label: str = "") -> int:
        """Make a change set durable (one fsynced line); return its sequence number.

        Raises LedgerWriteError (LedgerReadOnly when read-only); the change is then not committed.
        """
        if self.read_only:
            raise LedgerReadOnly(self.directory)
        self._open_journal()
        seq = self.seq + 1
        record = {"seq": seq, "ops": ops}
        if label:
            record["label"] = label
        self._journal.append_line(journal_mod.encode_line_blocks(record, self.default))
        self.seq = seq
        return seq

    @property
    def journal_bytes(self) -> int:
        return self._journal.size if self._journal is not None else 0

    def needs_compaction(self) -> bool:
        return self.journal_bytes > self._compaction_threshold()

    def compact(self, tables: dict) -> None:
        """Write ``tables`` as the new snapshot and start an empty journal.

        Crash-safe at every step: until the new snapshot is in place the old
        snapshot + journal still describe everything; afterwards the old
        journal's records are all <= the snapshot's sequence and are skipped.
        """
        if self.read_only:
            raise LedgerReadOnly(self.directory)
        write_snapshot(self.snapshot_path, tables, self.seq, backup=True, default=self.default)
        try:
            self.snapshot_bytes = self.snapshot_path.stat().st_size
        except OSError:
            pass
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        try:
            if self.journal_path.exists():
                os.replace(self.journal_path, self.prev_journal_path)
            fsync_dir(self.directory)
        except OSError as exc:
            raise LedgerWriteError.from_os_error(self.journal_path, exc) from exc
        self._open_journal()
        log.info("compacted hot state at change %d (%d bytes)", self.seq, self.snapshot_bytes)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
