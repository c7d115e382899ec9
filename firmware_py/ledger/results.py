"""Immutable values the Ledger hands out: import and save outcomes, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Mapping

from scheduler.model import ContactEvent, Debtor, Loan, Payment, Promise, Settings


@dataclass(frozen=True)
class ImportOutcome:
    """What one ``import_batch`` did. ``*_unchanged`` records were identical and not rewritten;
    ``payments_reconciled`` in-app payments were marked as included in the file (``as_of``)."""

    # the first four in the order CONTRACTS.md gives
    debtors_created: int = 0
    debtors_updated: int = 0
    loans_created: int = 0
    loans_updated: int = 0
    debtors_unchanged: int = 0
    loans_unchanged: int = 0
    payments_created: int = 0
    payments_unchanged: int = 0
    payments_reconciled: int = 0
    batch_id: str = ""
    source: str = ""

    @property
    def changed(self) -> bool:
        """True if the batch changed any content."""
        return bool(self.debtors_created or self.debtors_updated or self.loans_created
                    or self.loans_updated or self.payments_created or self.payments_reconciled)


@dataclass(frozen=True)
class SaveOutcome:
    """What one ``Ledger.save_debtor`` did.

    ``debtor``: the debtor as stored (shared-phone rule applied; opt-outs are
    not shown here, ``Ledger.debtor`` shows them). ``created``/``updated``:
    the debtor was new / changed (neither: identical, nothing written).
    ``shared``: number -> ids of the OTHER debtors listing it, for each of the
    debtor's numbers that is shared. ``marked_not_personal``: ids of other
    debtors re-put with ``personal=False`` in the same write.
    ``warnings``: Spanish sentences for the debtor form. ``saved_at``: the
    ``now`` of the call.
    """

    debtor: Debtor
    created: bool = False
    updated: bool = False
    shared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    marked_not_personal: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    saved_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shared", MappingProxyType(dict(self.shared)))

    @property
    def changed(self) -> bool:
        """True if anything was written."""
        return self.created or self.updated or bool(self.marked_not_personal)


@dataclass(frozen=True)
class LedgerSnapshot:
    """A consistent, immutable view of the ledger at journal sequence ``seq``.

    Loans show in-app payments allocated; debtors' phones show opt-outs.
    ``contacts`` holds the events asked for (``Ledger.snapshot(contacts_since=...)``).
    """

    seq: int
    debtors: tuple[Debtor, ...]
    loans: tuple[Loan, ...]
    payments: tuple[Payment, ...]
    promises: tuple[Promise, ...]
    opted_out: frozenset[str]
    settings: Settings
    contacts: tuple[ContactEvent, ...] = ()
    _debtors_by_id: Mapping[str, Debtor] = field(default=None, repr=False, compare=False)  # type: ignore
    _by_debtor: Mapping[str, dict] = field(default=None, repr=False, compare=False)  # type: ignore

    def __post_init__(self) -> None:
        object.__setattr__(self, "_debtors_by_id", MappingProxyType({d.id: d for d in self.debtors}))
        groups: dict[str, dict[str, list]] = {}
        for name, records in (("loans", self.loans), ("payments", self.payments), ("promises", self.promises),
                              ("contacts", self.contacts)):
            for record in records:
                groups.setdefault(record.debtor_id, {}).setdefault(name, []).append(record)
        object.__setattr__(self, "_by_debtor", MappingProxyType(
            {debtor: {name: tuple(items) for name, items in kinds.items()} for debtor, kinds in groups.items()}))

    def debtor(self, debtor_id: str) -> Debtor | None:
        return self._debtors_by_id.get(debtor_id)

    def _of(self, debtor_id: str, name: str) -> tuple:
        return self._by_debtor.get(debtor_id, {}).get(name, ())

    def loans_of(self, debtor_id: str) -> tuple[Loan, ...]:
        """The debtor's loans (constant time: grouped once when the snapshot is made)."""
        return self._of(debtor_id, "loans")

    def payments_of(self, debtor_id: str) -> tuple[Payment, ...]:
        return self._of(debtor_id, "payments")

    def promises_of(self, debtor_id: str) -> tuple[Promise, ...]:
        return self._of(debtor_id, "promises")

    def contacts_of(self, debtor_id: str) -> tuple[ContactEvent, ...]:
        return self._of(debtor_id, "contacts")
