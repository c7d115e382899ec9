"""Immutable values the Ledger hands out: import and save outcomes, snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Hashable, Iterable, Mapping

from firmware_py.ledger.contactsview import ContactsView
from scheduler.collector import collector_paused
from scheduler.contact_state import Digest, in_doubt
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


_LOANS, _PAYMENTS, _PROMISES, _CONTACTS = range(4)  # a debtor's records in LedgerSnapshot._by_debtor
_NOTHING: tuple[tuple, ...] = ((), (), (), ())


@dataclass(frozen=True)
class LedgerSnapshot:
    """A consistent, immutable view of the ledger at journal sequence ``seq``.

    Loans show in-app payments allocated; debtors' phones show opt-outs.
    ``contacts`` holds the events asked for (``Ledger.snapshot(contacts_since=...)``): a tuple, or from the
    ledger's recent window a :class:`~firmware_py.ledger.contactsview.ContactsView` (a sequence that builds the
    events when read: prefer ``contacts_of`` and the other queries below to reading all of them).
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
    _by_debtor: Mapping[str, tuple] = field(default=None, repr=False, compare=False)  # type: ignore

    def __post_init__(self) -> None:
        with collector_paused():  # a few objects per record, no cycles: a collection here re-traverses the ledger
            self._group()

    def _group(self) -> None:
        object.__setattr__(self, "_debtors_by_id", MappingProxyType({d.id: d for d in self.debtors}))
        groups: dict[str, tuple[list, list, list, list]] = {}
        grouped = [(_LOANS, self.loans), (_PAYMENTS, self.payments), (_PROMISES, self.promises)]
        if not isinstance(self.contacts, ContactsView):  # a view groups its own rows (and builds events on demand)
            grouped.append((_CONTACTS, self.contacts))
        for index, records in grouped:
            for record in records:
                found = groups.get(record.debtor_id)
                if found is None:
                    found = groups[record.debtor_id] = ([], [], [], [])
                found[index].append(record)
        object.__setattr__(self, "_by_debtor", MappingProxyType(
            {debtor: tuple(map(tuple, lists)) for debtor, lists in groups.items()}))

    def debtor(self, debtor_id: str) -> Debtor | None:
        return self._debtors_by_id.get(debtor_id)

    def _of(self, debtor_id: str, index: int) -> tuple:
        return self._by_debtor.get(debtor_id, _NOTHING)[index]

    def records_of(self, debtor_id: str) -> tuple[tuple[Loan, ...], tuple[Payment, ...], tuple[Promise, ...]]:
        """``(loans_of, payments_of, promises_of)`` of the debtor, in one lookup (the planner asks for all three)."""
        return self._by_debtor.get(debtor_id, _NOTHING)[:3]

    def loans_of(self, debtor_id: str) -> tuple[Loan, ...]:
        """The debtor's loans (constant time: grouped once when the snapshot is made)."""
        return self._of(debtor_id, _LOANS)

    def payments_of(self, debtor_id: str) -> tuple[Payment, ...]:
        return self._of(debtor_id, _PAYMENTS)

    def promises_of(self, debtor_id: str) -> tuple[Promise, ...]:
        return self._of(debtor_id, _PROMISES)

    def contacts_of(self, debtor_id: str) -> tuple[ContactEvent, ...]:
        """The debtor's events among ``contacts``, in their order (built anew on each call from a view)."""
        if isinstance(self.contacts, ContactsView):
            return self.contacts.of(debtor_id)
        return self._of(debtor_id, _CONTACTS)

    def contacts_digest(self, debtor_id: str) -> Digest:
        """What the planner reads of the debtor's events (:class:`~scheduler.contact_state.Digest`); from a
        view, without building most of them."""
        if isinstance(self.contacts, ContactsView):
            return self.contacts.digest(debtor_id)
        return Digest.of(self._of(debtor_id, _CONTACTS))

    def contacts_in_doubt(self) -> list[ContactEvent]:
        """:func:`scheduler.contact_state.in_doubt` of ``contacts`` (from a view, without building the rest)."""
        if isinstance(self.contacts, ContactsView):
            return self.contacts.in_doubt()
        return in_doubt(self.contacts)

    def contacts_token(self, debtor_id: str) -> Hashable:
        """Equal for two snapshots of one ledger when the debtor's events in them are the same (a planner
        that remembers its decisions compares these instead of the events: cheap for a view)."""
        if isinstance(self.contacts, ContactsView):
            return self.contacts.token(debtor_id)
        return self._of(debtor_id, _CONTACTS)

    def contacts_matching(self, *, since: datetime | None = None, until: datetime | None = None,
                          kinds: Iterable[str] | None = None, contact_ids: Iterable[str] | None = None,
                          contact_prefix: str | None = None) -> tuple[ContactEvent, ...]:
        """The events of ``contacts`` with since <= at < until, of ``kinds``, of ``contact_ids`` and with a
        contact id starting with ``contact_prefix`` (each ``None``: any), in their order. From a view, only
        the events asked for are built."""
        if isinstance(self.contacts, ContactsView):
            return self.contacts.matching(since=since, until=until, kinds=kinds, contact_ids=contact_ids,
                                          contact_prefix=contact_prefix)
        kinds = None if kinds is None else frozenset(kinds)
        contact_ids = None if contact_ids is None else frozenset(contact_ids)
        return tuple(e for e in self.contacts if (since is None or e.at >= since) and (until is None or e.at < until)
                     and (kinds is None or e.kind in kinds)
                     and (contact_ids is None or e.contact_id in contact_ids)
                     and (contact_prefix is None or e.contact_id.startswith(contact_prefix)))
