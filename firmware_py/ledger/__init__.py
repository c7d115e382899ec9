"""The ledger: the appliance's durable memory (only this package touches its files).

Public API::

    from firmware_py.ledger import Ledger, ImportOutcome, LedgerSnapshot

    with Ledger.open(data_dir) as ledger:         # or Ledger.memory() in tests
        outcome = ledger.import_batch(debtors, loans, source="usb:cartera.csv")
        ledger.debtor(id) / ledger.debtors() / ledger.debtors_by_phone(number)
        ledger.loan(external_id) / ledger.loans(debtor_id=None)
        ledger.record_payment(loan_external_id, amount, date, source="web")
        ledger.record_promise(debtor_id, due_date, amount, source="sms")
        ledger.record_opt_out(number)
        ledger.append_contact(ContactEvent(...)) / ledger.contacts(debtor_id=..., since=...)
        ledger.settings.get(key) / ledger.settings.set(key, value)
        ledger.snapshot(contacts_since=...)
        ledger.document_store("modem-driver")     # load()/save(dict) seam, e.g. the modem DriverStore

See ``ledger.py`` for the contract of each method, ``hotstate.py`` and
``contactlog.py`` for the on-disk design (snapshot + write-ahead journal;
monthly append-only contact partitions), ``storage.py`` for the crash-safe
file primitives and a crash-safe TinyDB ``Storage``.
"""

from firmware_py.ledger.documents import DocumentStore
from firmware_py.ledger.ledger import Ledger
from firmware_py.ledger.results import ImportOutcome, LedgerSnapshot
from firmware_py.ledger.settings import LedgerSettings
from firmware_py.ledger.storage import AtomicJSONStorage

__all__ = ["AtomicJSONStorage", "DocumentStore", "ImportOutcome", "Ledger", "LedgerSettings", "LedgerSnapshot"]
