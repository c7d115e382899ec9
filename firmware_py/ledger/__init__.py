"""The ledger: the appliance's durable memory (only this package touches its files).

Public API (details in each method's docstring)::

    from firmware_py.ledger import Ledger, ImportOutcome, LedgerSnapshot

    with Ledger.open(data_dir) as ledger:         # files in data_dir/ledger/; Ledger.memory() in tests
        # import (atomic, upsert, never deletes)
        outcome = ledger.import_batch(debtors, loans, source="usb:cartera.csv", payments=(), as_of=None, now=None)
        ledger.imports()
        # reads: frozen scheduler.model records
        ledger.debtor(id) / ledger.debtors(group=, loan_officer=, tag=) / ledger.debtors_by_phone(number)
        ledger.loan(external_id) / ledger.loans(debtor_id=None)        # in-app payments allocated
        ledger.payment(id) / ledger.payments(debtor_id=, loan_external_id=, status=)
        ledger.promise(id) / ledger.promises(debtor_id=None) / ledger.promise_status(id, today)
        ledger.opted_out(number) / ledger.opted_out_numbers()
        ledger.snapshot(contacts_since=None)       # consistent immutable view for the planner
        ledger.stats()
        # in-app records
        ledger.record_payment(loan_external_id, amount, on, source="web"|"sms", ...) -> Payment
        ledger.confirm_payment(id) / ledger.reject_payment(id) / ledger.mark_reconciled(ids)
        ledger.record_promise(debtor_id, due_date, amount, source="sms", ...) -> Promise
        ledger.record_opt_out(number) / ledger.clear_opt_out(number)
        # contact log (append-only)
        ledger.append_contact(ContactEvent(...)) -> ContactEvent   # id assigned
        ledger.contacts(debtor_id=, since=, until=, kinds=, contact_id=, limit=)
        ledger.iter_contacts(since=, until=, kinds=)                # whole-history exports
        # settings and named documents
        ledger.settings.get(key) / .set(key, value) / .update(mapping) / .all()
        ledger.document_store("modem-driver")     # load()/save(dict) seam, e.g. the modem DriverStore
        # backup (e.g. to a USB stick): a consistent copy that Ledger.open() opens
        ledger.backup(destination) -> Path

See ``ledger.py`` for the contract of each method, ``hotstate.py`` and
``contactlog.py`` for the on-disk design (snapshot + write-ahead journal;
monthly append-only contact partitions), ``recent.py`` and ``eventcache.py``
for the recent months held in memory and their per-month cache, ``storage.py`` for the crash-safe
file primitives and a crash-safe TinyDB ``Storage``.
"""

from firmware_py.ledger.documents import DocumentStore
from firmware_py.ledger.ledger import Ledger
from firmware_py.ledger.results import ImportOutcome, LedgerSnapshot
from firmware_py.ledger.settings import LedgerSettings
from firmware_py.ledger.storage import AtomicJSONStorage

__all__ = ["AtomicJSONStorage", "DocumentStore", "ImportOutcome", "Ledger", "LedgerSettings", "LedgerSnapshot"]
