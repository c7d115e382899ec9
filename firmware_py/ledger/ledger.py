"""The Ledger: the appliance's memory, and the only code that touches its files.

``Ledger.open(data_dir)`` owns ``data_dir/ledger/`` (lock, snapshot, journal,
contact-log partitions) until ``close()``; ``Ledger.memory()`` is the same
API with nothing on disk. ``Ledger.open(data_dir, read_only=True)`` (exports,
a read-only SD card) reads the same data and never writes: it creates
nothing, takes a shared lock when it can (and reads consistently without
one while the service writes), recovers (torn tail, migrations) in memory
only, and every write raises ``LedgerReadOnly``. Every public method holds one re-entrant lock, so
there is one writer at a time and a reader never sees half a change. Reads
return frozen ``scheduler.model`` records (safe to share between threads);
``snapshot()`` returns a consistent immutable view for the planner.

Durability: a write method returns only after its change is fsynced (one
journal line or one contact-log line). A power cut at any instant leaves a
ledger that opens with every returned write in it; an import batch is one
journal line, so it is there entirely or not at all.

Hot state (debtors, loans, payments, promises, opt-outs, settings, import
history) lives in TinyDB tables over memory (``MemoryStorage``), used as the
query engine; persistence is ``hotstate.FileHotState``. History lives in
``contactlog.ContactLog``. Import planning is ``importing.plan_import``;
payments, promises and opt-outs recorded in the app are ``inapp.InAppRecords``;
the contact-log methods are ``history.ContactHistory``.

Errors (``firmware_py.errors``): LedgerLocked, LedgerCorrupt, LedgerVersionError, LedgerWriteError,
LedgerIntegrityError, LedgerClosed, LedgerReadOnly — Spanish messages.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from tinydb import TinyDB, where
from tinydb.storages import MemoryStorage
from tinydb.table import Table

from firmware_py.errors import (
    LedgerClosed,
    LedgerIntegrityError,
    LedgerReadOnly,
    LedgerVersionError,
    LedgerWriteError,
)
from firmware_py.ledger import codec
from firmware_py.ledger.allocation import apply_payments
from firmware_py.ledger.contactlog import ContactLog, MemoryContactLog
from firmware_py.ledger.documents import DocumentStore
from firmware_py.ledger.hotstate import FileHotState, MemoryHotState, apply_ops
from firmware_py.ledger.importing import plan_import, plan_save_debtor
from firmware_py.ledger.history import ContactHistory
from firmware_py.ledger.inapp import InAppRecords
from firmware_py.ledger.keyindex import KeyIndex
from firmware_py.ledger.lock import DirectoryLock
from firmware_py.ledger.migrations import MigrationError
from firmware_py.ledger.recent import RecentContacts
from firmware_py.ledger.storage import atomic_write, fsync_dir, snapshot_blocks
from firmware_py.ledger.results import ImportOutcome, LedgerSnapshot, SaveOutcome
from firmware_py.ledger.settings import LedgerSettings
from scheduler.model import (
    SCHEMA_VERSION,
    Debtor,
    Loan,
    Payment,
    Promise,
    Settings,
    promise_status,
)

log = logging.getLogger("cobrador.ledger.ledger")

# table -> model kind (tables holding model records)
RECORD_TABLES = {"debtors": "debtor", "loans": "loan", "payments": "payment", "promises": "promise"}
RECORD_CLASSES = {"debtors": Debtor, "loans": Loan, "payments": Payment, "promises": Promise}
# Record tables held in memory as model records only, not also as documents: TinyDB never
# queries them (their filters are plain Python over the records), and debtors and loans are
# most of the ledger's memory. Their documents are encoded (codec.encode) when a journal
# line or a snapshot is written.
HELD_AS_RECORDS = frozenset({"debtors", "loans"})


class _SnapshotDecoder:
    """Snapshot hook: a held-as-record document at the current schema becomes its record as the
    snapshot is read (so the documents are never all in memory at once). Anything else is kept as
    is for ``Ledger._load`` to migrate or quarantine. Equal instalments are decoded once and shared
    (``codec.decode``'s memo) until ``done()``."""

    def __init__(self) -> None:
        self.memo: dict = {}

    def __call__(self, table: str, key: str, doc: Any) -> Any:
        if table in HELD_AS_RECORDS and isinstance(doc, dict) and doc.get("schema_version") == SCHEMA_VERSION:
            try:
                return codec.decode(RECORD_TABLES[table], doc, memo=self.memo)
            except ValueError:
                return doc
        return doc

    def done(self) -> None:
        """Forget the shared parts (the records keep them); a later read starts a new memo."""
        self.memo = {}
OTHER_TABLES = ("settings", "optouts", "imports", "quarantine", "documents")


class _KeyedTable(Table):
    """TinyDB table whose document ids are our record keys (strings)."""

    document_id_class = str


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Ledger(InAppRecords, ContactHistory):
    """Durable store of debtors, loans, payments, promises, contacts and settings.

    Use ``Ledger.open(data_dir)`` or ``Ledger.memory()``; both are context
    managers and ``close()`` is safe twice. ``clock`` returns an aware
    datetime and is used only when a method's ``now`` is not given.
    """

    def __init__(self, hot, contacts, *, lock: DirectoryLock | None = None, clock=_utcnow, path=None,
                 recent_months: int = 2, recent_days: int | None = None, read_only: bool = False):
        self._mutex = threading.RLock()
        self._read_only = read_only
        self._hot = hot
        self._contacts = contacts
        self._dirlock = lock
        self._clock: Callable[[], datetime] = clock
        self.path = path
        self._closed = False
        self._db = TinyDB(storage=MemoryStorage)
        self._db.table_class = _KeyedTable
        self._tables: dict[str, dict[str, Any]] = {}
        self._records: dict[str, dict[str, Any]] = {name: {} for name in RECORD_TABLES}
        # number -> debtor ids, loan -> payment ids, debtor -> loan external ids (KeyIndex: almost always
        # one key, held bare; there are tens of thousands of them)
        self._phones = KeyIndex()
        self._loan_payments = KeyIndex()
        self._debtor_loans = KeyIndex()
        self._effective: dict[str, Loan] = {}
        self.settings = LedgerSettings(self)
        self._recent = RecentContacts(recent_months)
        self._recent_days = recent_days
        try:
            self._load(hot.load())
        except BaseException:
            self._release()
            raise

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: str | Path, *, clock: Callable[[], datetime] = _utcnow,
             compact_min_bytes: int = 1 << 20, recent_months: int = 2, recent_days: int | None = None,
             read_only: bool = False) -> "Ledger":
        """Open (creating if needed) the ledger in ``data_dir/ledger``.

        ``recent_months``: how many of the newest month partitions are kept
        decoded in memory for recent-history queries (``recent.py``);
        ``recent_days``: of those, only the days from ``recent_days`` before
        now on (the oldest month's earlier days are dropped, day by day:
        ``history.ContactHistory._trim_window``); None keeps whole months.
        Raises LedgerLocked if another process (or another open Ledger) owns
        it, LedgerCorrupt if nothing can be recovered, LedgerWriteError if the
        directory cannot be written.

        ``read_only=True``: open for reading only (exports; a data directory
        on a read-only card): nothing is created (a missing ledger opens
        empty); a shared lock is taken when possible, which keeps a writer
        from starting meanwhile (``lock.DirectoryLock.acquire_shared``);
        while a writer (the running service) holds the directory it reads
        without a lock, consistently (``hotstate.FileHotState.load``);
        recovery and migrations happen in memory only, and every write
        method raises LedgerReadOnly. ``backup`` still works (it writes only
        to its destination).
        """
        directory = Path(data_dir) / "ledger"
        if read_only:
            return cls._open_read_only(directory, clock=clock, recent_months=recent_months,
                                       recent_days=recent_days)
        try:
            if not directory.is_dir():
                directory.mkdir(parents=True, exist_ok=True)
                fsync_dir(directory.parent)  # the new directory entry itself must survive a power cut
        except OSError as exc:
            raise LedgerWriteError.from_os_error(directory, exc) from exc
        lock = DirectoryLock(directory).acquire()
        contacts = None
        try:
            decoder = _SnapshotDecoder()
            hot = FileHotState(directory, compact_min_bytes=compact_min_bytes, default=codec.encode,
                               convert=decoder)
            contacts = ContactLog(directory / "contacts")
            ledger = cls(hot, contacts, lock=lock, clock=clock, path=directory, recent_months=recent_months,
                         recent_days=recent_days)
            decoder.done()
            return ledger
        except BaseException:
            if contacts is not None:
                contacts.close()
            lock.release()
            raise

    @classmethod
    def _open_read_only(cls, directory: Path, *, clock, recent_months: int,
                        recent_days: int | None) -> "Ledger":
        lock = DirectoryLock(directory).acquire_shared()
        contacts = None
        try:
            decoder = _SnapshotDecoder()
            hot = FileHotState(directory, default=codec.encode, convert=decoder, read_only=True)
            contacts = ContactLog(directory / "contacts", read_only=True)
            ledger = cls(hot, contacts, lock=lock, clock=clock, path=directory, recent_months=recent_months,
                         recent_days=recent_days, read_only=True)
            decoder.done()
            return ledger
        except BaseException:
            if contacts is not None:
                contacts.close()
            lock.release()
            raise

    @classmethod
    def memory(cls, *, clock: Callable[[], datetime] = _utcnow) -> "Ledger":
        """A ledger with nothing on disk (tests, previews). Same behaviour otherwise."""
        return cls(MemoryHotState(), MemoryContactLog(), clock=clock)

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release files and the directory lock (safe twice). Writes are already durable."""
        with self._mutex:
            if self._closed:
                return
            try:
                self.save_event_caches()  # the next start reads the recent window without parsing JSON
            except Exception:  # a cache: closing must go on
                log.exception("saving the contact events caches failed")
            self._closed = True
            self._release()

    def _release(self) -> None:
        for part in (self._hot, self._contacts):
            try:
                part.close()
            except OSError as exc:  # pragma: no cover - close of an fd failing
                log.warning("closing ledger part failed: %s", exc)
        if self._dirlock is not None:
            self._dirlock.release()
        self._db.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def read_only(self) -> bool:
        """True when opened with ``read_only=True`` (every write raises LedgerReadOnly)."""
        return self._read_only

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosed(self.path)

    # -- loading -------------------------------------------------------------------------------
    def _load(self, tables: dict[str, dict[str, Any]]) -> None:
        """Decode (migrating) every stored record; quarantine what cannot be decoded."""
        self._db.storage.write(tables)
        self._tables = self._db.storage.read()
        fixes: list[list] = []
        for table, kind in RECORD_TABLES.items():
            stored = self._tables.setdefault(table, {})
            if table in HELD_AS_RECORDS:
                # decoded in place: each document is freed as soon as its record replaces it
                self._records[table] = stored
            for key in list(stored):
                doc = stored[key]
                if isinstance(doc, RECORD_CLASSES[table]):
                    self._records[table][key] = doc  # decoded while the snapshot was read
                    continue
                try:
                    record = codec.decode(kind, doc)
                except ValueError as exc:
                    if isinstance(exc, MigrationError) and exc.too_new:
                        # written by a newer Cobrador: refuse rather than hide its records
                        raise LedgerVersionError(self.path or "memoria", str(exc)) from None
                    log.error("%s %s unreadable, quarantined: %s", kind, key, exc)
                    if table in HELD_AS_RECORDS:
                        del stored[key]  # only records stay in this table (the del below is for the journal)
                    fixes.append(["del", table, key])
                    fixes.append(["put", "quarantine", f"{table}/{key}",
                                  {"doc": doc, "error": str(exc), "schema_version": SCHEMA_VERSION}])
                    continue
                self._records[table][key] = record
                if doc.get("schema_version") != SCHEMA_VERSION:  # migrated: store the current shape
                    fixes.append(["put", table, key, record])
        for debtor in self._records["debtors"].values():
            self._index_debtor(debtor)
        for payment in self._records["payments"].values():
            self._loan_payments.add(payment.loan_external_id, payment.id)
        for loan in self._records["loans"].values():
            self._debtor_loans.add(loan.debtor_id, loan.external_id)
        if fixes:  # read-only: the migrated records are used, the files are left as they are
            self._commit(fixes, "migrate", memory_only=self._read_only)

    # -- the one write path --------------------------------------------------------------------
    def _commit(self, ops: list[list], label: str, *, memory_only: bool = False) -> None:
        """Make ``ops`` durable, then apply them to memory and the caches.

        ``memory_only`` (a read-only ledger's migrations): apply them to memory
        without writing anything. Otherwise a read-only ledger raises
        LedgerReadOnly (nothing changed).

        ``ops``: ``["put", table, key, value]`` / ``["del", table, key]``. In a
        record table (``RECORD_TABLES``) the value is the model record, or its
        document optionally followed by the record it encodes (``["put",
        table, key, doc, record]``: no re-decoding). The journal always holds
        documents (records are encoded as the line is written); memory holds
        the record, plus the document for tables TinyDB queries.
        """
        self._check_open()
        if self._read_only and not memory_only:
            raise LedgerReadOnly(self.path)
        if not ops:
            return
        journal_ops: list[list] = []
        memory_ops: list[list] = []
        records: dict[tuple[str, str], Any] = {}  # (table, key) -> record, for puts in record tables
        for op in ops:
            kind = RECORD_TABLES.get(op[1])
            if op[0] != "put" or kind is None:
                journal_ops.append(op)
                memory_ops.append(op)
                continue
            table, key, value = op[1], op[2], op[3]
            if isinstance(value, dict):
                doc, record = value, (op[4] if len(op) > 4 else codec.decode(kind, value))
            else:
                doc, record = None, value
            records[(table, key)] = record
            journal_ops.append(["put", table, key, record if doc is None else doc])
            if table in HELD_AS_RECORDS:
                memory_ops.append(["put", table, key, record])
            else:
                memory_ops.append(["put", table, key, codec.encode(record) if doc is None else doc])
        if not memory_only:
            self._hot.commit(journal_ops, label)
        for op in ops:
            table, key = op[1], op[2]
            if table == "debtors":
                old = self._records["debtors"].get(key)
                if old is not None:
                    self._unindex_debtor(old)
            if table == "loans":
                old = self._records["loans"].get(key)
                if old is not None:
                    self._debtor_loans.discard(old.debtor_id, key)
            if table == "payments":
                old = self._records["payments"].get(key)
                if old is not None:
                    self._loan_payments.discard(old.loan_external_id, key)
                    self._effective.pop(old.loan_external_id, None)
        apply_ops(self._tables, memory_ops)
        for op in ops:
            table, key = op[1], op[2]
            if table in RECORD_TABLES:
                if op[0] == "put":
                    record = records[(table, key)]
                    self._records[table][key] = record
                else:
                    self._records[table].pop(key, None)
                    record = None
                if table == "debtors" and record is not None:
                    self._index_debtor(record)
                elif table == "loans":
                    self._effective.pop(key, None)
                    if record is not None:
                        self._debtor_loans.add(record.debtor_id, key)
                elif table == "payments" and record is not None:
                    self._loan_payments.add(record.loan_external_id, key)
                    self._effective.pop(record.loan_external_id, None)
        for table in {op[1] for op in ops}:
            self._db.table(table).clear_cache()
        if not memory_only and self._hot.needs_compaction():
            try:
                self._hot.compact(self._tables)
            except LedgerWriteError as exc:
                # The change itself is durable in the journal; compaction is retried
                # on the next write or at the next open. Not an error: the person at
                # the office reads this line right after the success of their import.
                log.warning("Los datos quedaron guardados. No se pudo compactar el registro (%s): se "
                            "reintentará en la próxima escritura o al abrirlo de nuevo; conviene liberar espacio.",
                            exc.short_reason)

    def compact(self) -> None:
        """Write a fresh snapshot and start a new journal (done automatically)."""
        with self._mutex:
            self._check_open()
            if self._read_only:
                raise LedgerReadOnly(self.path)
            self._hot.compact(self._tables)

    def _index_debtor(self, debtor: Debtor) -> None:
        for phone in debtor.phones:
            self._phones.add(phone.number, debtor.id)

    def _unindex_debtor(self, debtor: Debtor) -> None:
        for phone in debtor.phones:
            self._phones.discard(phone.number, debtor.id)

    # -- views ---------------------------------------------------------------------------------
    def _debtor_view(self, debtor: Debtor) -> Debtor:
        optouts = self._tables.get("optouts", {})
        if not optouts or not any(p.number in optouts and not p.opted_out for p in debtor.phones):
            return debtor
        phones = tuple(replace(p, opted_out=True) if p.number in optouts else p for p in debtor.phones)
        return replace(debtor, phones=phones)

    def _loan_view(self, loan: Loan) -> Loan:
        cached = self._effective.get(loan.external_id)
        if cached is not None:
            return cached
        ids = self._loan_payments.get(loan.external_id, ())
        open_payments = [
            self._records["payments"][pid]
            for pid in ids
            if not self._records["payments"][pid].reconciled and self._records["payments"][pid].counts
        ]
        view = apply_payments(loan, open_payments) if open_payments else loan
        self._effective[loan.external_id] = view
        return view

    def _keys(self, table: str, cond) -> list[str]:
        return [doc.doc_id for doc in self._db.table(table).search(cond)]

    # -- reads ---------------------------------------------------------------------------------
    def debtor(self, debtor_id: str) -> Debtor | None:
        """The debtor (opt-outs applied to its phones), or None."""
        with self._mutex:
            self._check_open()
            record = self._records["debtors"].get(debtor_id)
            return None if record is None else self._debtor_view(record)

    def debtors(self, *, group: str | None = None, loan_officer: str | None = None,
                tag: str | None = None) -> tuple[Debtor, ...]:
        """All debtors (optionally filtered), sorted by name then id."""
        with self._mutex:
            self._check_open()
            records = [d for d in self._records["debtors"].values()
                       if (group is None or d.group == group)
                       and (loan_officer is None or d.loan_officer == loan_officer)
                       and (tag is None or tag in d.tags)]
            return tuple(self._debtor_view(d) for d in sorted(records, key=lambda d: (d.name, d.id)))

    def debtors_by_phone(self, number: str) -> tuple[Debtor, ...]:
        """Debtors listing this E.164 number (a shared phone gives several)."""
        with self._mutex:
            self._check_open()
            ids = sorted(self._phones.get(number, ()))
            return tuple(self._debtor_view(self._records["debtors"][i]) for i in ids)

    def loan(self, external_id: str) -> Loan | None:
        """The loan with unreconciled in-app payments allocated (oldest first), or None."""
        with self._mutex:
            self._check_open()
            record = self._records["loans"].get(external_id)
            return None if record is None else self._loan_view(record)

    def loans(self, debtor_id: str | None = None) -> tuple[Loan, ...]:
        """Loans (of one debtor, or all), as ``loan()`` shows them, sorted by external id."""
        with self._mutex:
            self._check_open()
            if debtor_id is None:
                keys = list(self._records["loans"])
            else:
                keys = list(self._debtor_loans.get(debtor_id, ()))
            return tuple(self._loan_view(self._records["loans"][k]) for k in sorted(keys))

    def payment(self, payment_id: str) -> Payment | None:
        with self._mutex:
            self._check_open()
            return self._records["payments"].get(payment_id)

    def payments(self, *, debtor_id: str | None = None, loan_external_id: str | None = None,
                 status: str | None = None) -> tuple[Payment, ...]:
        """Payments matching every given filter, by (date, recorded_at, id)."""
        with self._mutex:
            self._check_open()
            cond = where("id").exists()
            if debtor_id is not None:
                cond &= where("debtor_id") == debtor_id
            if loan_external_id is not None:
                cond &= where("loan_external_id") == loan_external_id
            if status is not None:
                cond &= where("status") == status
            found = [self._records["payments"][k] for k in self._keys("payments", cond)]
            return tuple(sorted(found, key=_payment_order))

    def promise(self, promise_id: str) -> Promise | None:
        with self._mutex:
            self._check_open()
            return self._records["promises"].get(promise_id)

    def promises(self, debtor_id: str | None = None) -> tuple[Promise, ...]:
        """Promises (of one debtor, or all), by (due_date, made_at, id)."""
        with self._mutex:
            self._check_open()
            if debtor_id is None:
                found = list(self._records["promises"].values())
            else:
                found = [self._records["promises"][k]
                         for k in self._keys("promises", where("debtor_id") == debtor_id)]
            return tuple(sorted(found, key=lambda p: (p.due_date, p.made_at, p.id)))

    def promise_status(self, promise_id: str, today: date) -> str:
        """"kept" / "broken" / "pending", from payments (``scheduler.model.promise_status``),
        with the ``promise_grace_days`` setting. Raises LedgerIntegrityError if unknown."""
        with self._mutex:
            promise = self.promise(promise_id)
            if promise is None:
                raise LedgerIntegrityError(f"No existe la promesa de pago {promise_id}.")
            grace = int(self.settings.get("promise_grace_days") or 0)
            return promise_status(promise, self.payments(debtor_id=promise.debtor_id), today,
                                  grace_days=grace)

    def opted_out(self, number: str) -> bool:
        """True if this E.164 number asked not to be contacted."""
        with self._mutex:
            self._check_open()
            return number in self._tables.get("optouts", {})

    def opted_out_numbers(self) -> frozenset[str]:
        with self._mutex:
            self._check_open()
            return frozenset(self._tables.get("optouts", {}))

    def imports(self) -> tuple[dict, ...]:
        """Import history (newest last): batch id, source, at, counts."""
        with self._mutex:
            self._check_open()
            rows = [dict(v, id=k) for k, v in self._tables.get("imports", {}).items()]
            return tuple(sorted(rows, key=lambda r: (r.get("at", ""), r["id"])))

    # -- import --------------------------------------------------------------------------------
    def import_batch(self, debtors: Iterable[Debtor], loans: Iterable[Loan], *, source: str,
                     payments: Iterable[Payment] = (), as_of: date | None = None,
                     now: datetime | None = None) -> ImportOutcome:
        """Upsert debtors (by id), loans (by external id) and payments (by id) ATOMICALLY.

        One journal line: after a power cut the batch is there entirely or not
        at all. Records identical to what is stored count as ``unchanged`` and
        are not rewritten; re-importing the same file changes no content (only
        the import history gains a line). Nothing is ever deleted: a debtor or
        loan missing from the file stays.

        Ledger-owned state survives a re-import: opt-outs (kept apart from the
        imported phone flags) and payments recorded in the app. Payments from
        the file are stored ``reconciled`` (already in the file's paid
        amounts). With ``as_of`` (the date the file's figures run to),
        confirmed in-app payments of the imported loans dated on or before it
        are marked reconciled, so they are not counted twice.

        Shared phones (``sharing.py``, as ``save_debtor``): a number listed by
        several debtors is ``personal=False`` on every one of them; stored
        debtors it makes share a number are re-put in the same journal line
        (counted as updated). An import never turns a stored
        ``personal=False`` back into ``True``.

        Raises LedgerIntegrityError (nothing written) when a loan or payment
        names an unknown debtor/loan, or an id appears twice with different
        content; LedgerWriteError if it cannot be made durable.
        """
        debtors, loans, payments = list(debtors), list(loans), list(payments)
        for item, cls in [(d, Debtor) for d in debtors] + [(l, Loan) for l in loans] + \
                [(p, Payment) for p in payments]:
            if not isinstance(item, cls):
                raise TypeError(f"import_batch expects {cls.__name__}, got {type(item).__name__}")
        if not isinstance(source, str) or not source:
            raise ValueError("import_batch needs a non-empty source")
        with self._mutex:
            self._check_open()
            now = now or self._clock()
            ops, counts, batch_id = plan_import(self._records, debtors, loans, payments,
                                                source=source, as_of=as_of, now=now, phone_owners=self._phones)
            self._commit(ops, f"import {source}")
            log.info("import %s from %s: %s", batch_id, source, counts)
            return ImportOutcome(batch_id=batch_id, source=source, **counts)

    def save_debtor(self, debtor: Debtor, *, now: datetime | None = None) -> SaveOutcome:
        """Create or edit one debtor (the debtor form) ATOMICALLY, with the shared-phone rule.

        Upserts ``debtor`` by id (its loans, payments and promises are not
        touched). One journal line holds it and every other debtor re-put
        because one of its numbers is now shared (``sharing.py``, the rule
        imports follow too): every debtor listing a number that two or more
        debtors list gets ``personal=False`` on it.

        Staff decide here: ``Phone(personal=True)`` on a number nobody else
        lists is stored personal even if it was marked not personal before —
        this is the ONLY way back to personal: nothing flips back
        automatically when the other debtors leave a number, and an import
        never does it. ``personal=True`` on a number still shared is stored
        False and warned about. ``opted_out`` on the phones is ignored
        (opt-outs are kept apart: ``record_opt_out`` / ``clear_opt_out``).

        Validated like an import row (Spanish LedgerIntegrityError, nothing
        written): a name with letters, at least one phone, a valid document
        that is no other debtor's; a NEW debtor with a document must have the
        id ``debtor_id_for(document)`` (so a later import of that document
        updates it; without a document any new id). TypeError for a non-Debtor;
        LedgerWriteError if it cannot be made durable. An identical debtor
        writes nothing (``outcome.changed`` is False).
        """
        if not isinstance(debtor, Debtor):
            raise TypeError(f"save_debtor expects Debtor, got {type(debtor).__name__}")
        with self._mutex:
            self._check_open()
            now = now or self._clock()
            ops, outcome = plan_save_debtor(self._records["debtors"], self._phones, debtor, now=now)
            self._commit(ops, f"debtor {debtor.id}")
            if outcome.changed:
                log.info("debtor %s saved (created=%s, marked not personal: %s)", debtor.id, outcome.created,
                         list(outcome.marked_not_personal))
            return outcome

    # -- snapshot and status -------------------------------------------------------------------
    def snapshot(self, *, contacts_since: datetime | None = None) -> LedgerSnapshot:
        """A consistent immutable view for the planner (all taken under one lock).

        Contact events are included only when ``contacts_since`` is given
        (reading history costs a partition scan).
        """
        if contacts_since is not None:
            self._ensure_recent(contacts_since, snapshot=True)  # decoded outside the lock: writers do not wait
        with self._mutex:
            self._check_open()
            return LedgerSnapshot(
                seq=self._hot.seq,
                debtors=self.debtors(),
                loans=self.loans(),
                payments=tuple(sorted(self._records["payments"].values(), key=_payment_order)),
                promises=self.promises(),
                opted_out=self.opted_out_numbers(),
                settings=self.settings.all(),
                contacts=self._contacts_for_snapshot(contacts_since) if contacts_since is not None else (),
            )

    def stats(self) -> dict[str, Any]:
        """Counts and storage figures for the status page and logs."""
        with self._mutex:
            self._check_open()
            report = self._hot.report
            return {
                "debtors": len(self._records["debtors"]),
                "loans": len(self._records["loans"]),
                "payments": len(self._records["payments"]),
                "promises": len(self._records["promises"]),
                "contacts": self._contacts.count,
                "quarantined": len(self._tables.get("quarantine", {})),
                "seq": self._hot.seq,
                "journal_bytes": self._hot.journal_bytes,
                "restored_from_backup": report.restored_from_backup,
                "torn_tail_dropped": report.torn_tail,
                "damaged_lines": report.damaged_lines + self._contacts.damaged_lines,
            }

    # -- backup --------------------------------------------------------------------------------
    def backup(self, destination: str | Path, *, now: datetime | None = None) -> Path:
        """Copy the whole ledger into ``destination/cobrador-respaldo-<UTC time>/`` and return it.

        The copy is a consistent cut (taken under the lock: every write that
        returned before is in it) and is itself a data directory:
        ``Ledger.open(returned_path)`` opens it. Writers wait only while the
        hot state is serialised; history files are copied afterwards (they
        only grow, and the copy stops at the cut). Raises LedgerWriteError if
        the destination cannot be written (e.g. a full USB stick).
        """
        with self._mutex:
            self._check_open()
            now = now or self._clock()
            state = snapshot_blocks(self._tables, self._hot.seq, codec.encode)
            sizes = self._contacts.sizes()
        root = Path(destination) / f"cobrador-respaldo-{now.astimezone(timezone.utc):%Y%m%dT%H%M%S}"
        target = root / "ledger"
        try:
            (target / "contacts").mkdir(parents=True, exist_ok=False)
        except OSError as exc:
            raise LedgerWriteError.from_os_error(target, exc) from exc
        atomic_write(target / FileHotState.SNAPSHOT, state)
        for name, size in sizes.items():
            with self._mutex:
                self._check_open()
                data = self._contacts.partition_bytes(name, size)
            atomic_write(target / "contacts" / f"{name}.jsonl", data)
        for directory in (target, root, root.parent):
            fsync_dir(directory)
        log.info("backup written to %s (%d history partitions)", root, len(sizes))
        return root

    # -- named documents (used by DocumentStore) ----------------------------------------------
    def document_store(self, name: str) -> DocumentStore:
        """A ``load()/save(dict)`` store for one named JSON document kept in this ledger
        (e.g. ``ledger.document_store("modem-driver")`` as the driver's ``DriverStore``)."""
        return DocumentStore(self, name)

    def _document_get(self, name: str) -> dict:
        with self._mutex:
            self._check_open()
            doc = self._tables.get("documents", {}).get(name)
            return {} if doc is None else json.loads(json.dumps(doc["value"]))

    def _document_put(self, name: str, value: dict) -> None:
        with self._mutex:
            self._check_open()
            current = self._tables.get("documents", {}).get(name)
            if current is not None and current["value"] == value:
                return
            self._commit([["put", "documents", name, {"value": value, "schema_version": SCHEMA_VERSION}]],
                         f"document {name}")

    # -- settings backend (used by LedgerSettings) --------------------------------------------
    def _settings_values(self) -> Settings:
        with self._mutex:
            self._check_open()
            return Settings({k: v["value"] for k, v in self._tables.get("settings", {}).items()})

    def _settings_put(self, values: dict[str, Any]) -> None:
        with self._mutex:
            self._check_open()
            current = self._tables.get("settings", {})
            ops = [["put", "settings", key, {"value": value, "schema_version": SCHEMA_VERSION}]
                   for key, value in values.items()
                   if key not in current or current[key]["value"] != value]
            self._commit(ops, "settings")


def _payment_order(payment: Payment):
    return (payment.date, payment.recorded_at.isoformat() if payment.recorded_at else "", payment.id)
