"""The call script: what a member of staff needs in front of them to phone one debtor, in Spanish.

:func:`script_for` gathers it from the debtor, their loans, promises and contact log, and the policy:

- whom to call and on which numbers — only numbers authorised for calls and not opted out; a shared
  number (``Phone.personal`` False) gets the warning not to disclose the debt to whoever answers;
- whether the contact rules allow a call now (``scheduler.rules.check.earliest_allowed`` with the
  debtor's profile, holidays and attempts: the same rules the dispatcher obeys) and, if not, from when;
- what is owed per loan (the oldest unpaid instalment, days late, overdue, balance), what was promised
  and whether it was kept, the last contacts and replies;
- what to offer (a promise date — the latest a staff member should accept is :data:`OFFER_DAYS` ahead;
  payments up to ``promise_grace_days`` after it still keep it — the payment methods, the cooperative's
  number, the reference) and what never to say.

The texts are written in the template (``debtors/script.html``) from these facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from scheduler.model import Debtor, Loan, Phone

OFFER_DAYS = 15
"""How far ahead a promise date offered on the phone may be (days)."""


@dataclass(frozen=True)
class LoanOwed:
    loan: Loan
    instalment_number: int
    instalment_count: int
    due: date
    instalment_outstanding: Decimal
    days_late: int
    overdue: Decimal
    balance: Decimal


@dataclass(frozen=True)
class CallWindow:
    """``allowed``: a call may be made now; else ``reason`` (a sentence) and ``next_at`` (``None``: not
    within 60 days). ``rules``: the profile's name; ``hours``: its hours in words (Spanish)."""

    allowed: bool
    reason: str = ""
    next_at: datetime | None = None
    rules: str = ""
    hours: str = ""


def greeting_for(local: datetime) -> str:
    """``Buenos días`` before noon, ``Buenas tardes`` before 19:00, else ``Buenas noches``."""
    if local.hour < 12:
        return "Buenos días"
    if local.hour < 19:
        return "Buenas tardes"
    return "Buenas noches"


def owed_for(loans, today: date) -> tuple[LoanOwed, ...]:
    """Per active loan with something outstanding: the oldest unpaid instalment and the sums."""
    out = []
    for loan in loans:
        if loan.status != "active":
            continue
        oldest = loan.oldest_unpaid()
        if oldest is None:
            continue
        out.append(LoanOwed(loan, oldest.number, len(loan.instalments), oldest.due_date, oldest.outstanding,
                            loan.days_late(today), loan.overdue(today), loan.outstanding))
    out.sort(key=lambda o: (-o.days_late, o.due))
    return tuple(out)


def call_window(policy, debtor: Debtor, events, now: datetime) -> CallWindow | None:
    """Whether the contact rules allow a call to ``debtor`` at ``now`` (``None`` without a policy)."""
    if policy is None:
        return None
    from scheduler.reasons import describe
    from scheduler.rules.check import attempts_from_events, earliest_allowed

    profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
    zone = ZoneInfo(debtor.timezone)
    attempts = attempts_from_events(sorted(events, key=lambda e: e.at))
    at, block = earliest_allowed(profile, policy.calendar_for(profile), zone, "call", now.astimezone(zone), attempts)
    hours = profile.describe_es()
    if block is None and at is not None:
        return CallWindow(True, rules=profile.name, hours=hours)
    reason = describe(block.reason) if block is not None else ""
    if block is not None and block.detail:
        reason = f"{reason} ({block.detail})"
    return CallWindow(False, reason, at, profile.name, hours)


def split_phones(debtor: Debtor) -> tuple[tuple[Phone, ...], tuple[tuple[Phone, str], ...]]:
    """(numbers to call, other numbers with why not)."""
    ok, other = [], []
    for phone in debtor.phones:
        if phone.opted_out:
            other.append((phone, "pidió no ser contactado (baja)"))
        elif "call" not in phone.channels:
            other.append((phone, "no autorizó llamadas a este número"))
        else:
            ok.append(phone)
    ok.sort(key=lambda p: not p.personal)
    return tuple(ok), tuple(other)


def offer_until(today: date) -> date:
    return today + timedelta(days=OFFER_DAYS)
