"""Shared phones: the one rule every write of debtors applies.

A number listed by two or more debtors is *shared* (a relative's, a
neighbour's, a shop's, a group leader's): reminders sent to it must not
reveal amounts, so the phone is ``personal=False``. The rule, applied by
``plan_import`` (every import batch) and ``Ledger.save_debtor`` (the debtor
form) in the SAME journal line as the write that makes a number shared:

* after the write, every debtor listing a shared number has
  ``personal=False`` on it, whichever write brought each debtor: the stored
  debtors that now share a number with an incoming one are re-put;
* no automatic flip back: when a number stops being shared (a debtor's phone
  changed or was removed), the debtors left on it keep ``personal=False``
  until staff confirm in the debtor form that the number is personal
  (``save_debtor`` with ``Phone(personal=True)``) — a shared number may be
  shared with people we do not know of, and a wrong "personal" reveals debts;
* an import never turns a stored ``personal=False`` into ``True`` (the file
  cannot tell a number staff marked as not personal from a personal one);
  ``keep_not_personal=False`` (the form) lets staff do it;
* a number that is still shared cannot be made personal by anyone: the form's
  ``personal=True`` on it is stored ``False`` and reported (``forced``).

``owners_after`` is also what the importer uses to judge, and warn about,
shared numbers before it hands the batch to the ledger
(``firmware_py.importer.layouts.Batch.finish``), so both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

from scheduler.model import Debtor


def owners_after(owners: Mapping[str, Iterable[str]], incoming: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Who lists each number an incoming debtor lists, once the write is done.

    ``owners``: number -> ids of the debtors listing it before the write.
    ``incoming``: debtor id -> the numbers it will list (its phones are
    replaced: its old numbers no longer count). Returns number -> ids, for
    every number in ``incoming`` only.
    """
    incoming = {debtor_id: set(numbers) for debtor_id, numbers in incoming.items()}
    after: dict[str, set[str]] = {}
    for debtor_id, numbers in incoming.items():
        for number in numbers:
            if number not in after:
                after[number] = {other for other in owners.get(number, ()) if other not in incoming}
            after[number].add(debtor_id)
    return after


def join_es(items: Sequence[str]) -> str:
    """Spanish list: ``a``, ``a y b``, ``a, b y c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def phone_owners(debtors: Iterable[Debtor]) -> dict[str, set[str]]:
    """number -> ids of the debtors listing it."""
    owners: dict[str, set[str]] = {}
    for debtor in debtors:
        for phone in debtor.phones:
            owners.setdefault(phone.number, set()).add(debtor.id)
    return owners


@dataclass(frozen=True)
class SharingPlan:
    """What the rule asks of one write.

    ``incoming``: the incoming debtors, in order, with the rule applied.
    ``restated``: stored debtors not in the write that now share a number with
    an incoming one and still had it personal: to re-put as they are, with
    ``personal=False`` on it. ``shared``: number -> ids of every debtor
    listing it after the write, for each shared number an incoming debtor
    lists. ``forced``: ``(debtor id, number)`` that asked ``personal=True``
    on a shared number.
    """

    incoming: tuple[Debtor, ...]
    restated: tuple[Debtor, ...] = ()
    shared: Mapping[str, frozenset[str]] = field(default_factory=dict)
    forced: tuple[tuple[str, str], ...] = ()


def plan_sharing(stored: Mapping[str, Debtor], incoming: Sequence[Debtor], *,
                 owners: Mapping[str, Iterable[str]] | None = None, keep_not_personal: bool = True) -> SharingPlan:
    """Apply the rule (module docstring) to a write of ``incoming`` over ``stored`` (id -> debtor).

    ``owners``: number -> ids of the stored debtors listing it (the ledger's
    index; built from ``stored`` when not given). ``keep_not_personal``: a
    number the stored debtor has ``personal=False`` stays so (imports); the
    debtor form passes False (staff decide).
    """
    if owners is None:
        owners = phone_owners(stored.values())
    after = owners_after(owners, {d.id: [p.number for p in d.phones] for d in incoming})
    shared = {number: frozenset(ids) for number, ids in after.items() if len(ids) > 1}
    adjusted: list[Debtor] = []
    forced: list[tuple[str, str]] = []
    for debtor in incoming:
        old = stored.get(debtor.id) if keep_not_personal else None
        phones = []
        for phone in debtor.phones:
            if phone.personal and phone.number in shared:
                if not keep_not_personal:
                    forced.append((debtor.id, phone.number))
                phone = replace(phone, personal=False)
            elif phone.personal and old is not None:
                was = old.phone(phone.number)
                if was is not None and not was.personal:
                    phone = replace(phone, personal=False)
            phones.append(phone)
        adjusted.append(debtor if phones == list(debtor.phones) else replace(debtor, phones=tuple(phones)))
    incoming_ids = {d.id for d in incoming}
    restated: list[Debtor] = []
    for debtor_id in sorted({i for ids in shared.values() for i in ids} - incoming_ids):
        debtor = stored[debtor_id]
        if any(p.personal and p.number in shared for p in debtor.phones):
            restated.append(replace(debtor, phones=tuple(
                replace(p, personal=False) if p.number in shared else p for p in debtor.phones)))
    return SharingPlan(tuple(adjusted), tuple(restated), shared, tuple(forced))
