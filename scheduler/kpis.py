"""Portfolio and campaign figures for the reports page and the board pack — pure functions.

Everything here is a function of model records (:mod:`scheduler.model`), a :class:`Period` (both days
included), the day the figures are read (``today``) and the cooperative's time zone: nothing reads a
clock, a file or the ledger. Money is :class:`~decimal.Decimal`; a rate is a Decimal fraction between 0
and 1, or ``None`` when its denominator is zero (shown as "—", never as 0 %).

Definitions (the page's footnotes say the same in Spanish):

- **Reminders** are the contacts of the log with a ``contact_id`` (not the automatic answers to replies,
  ``auto:…``) that the modem accepted (a ``sent`` event); a reminder is in the period when its first
  ``sent`` event's local day is. Its template is read from its ``sending`` event ("paso -7, plantilla
  recordatorio_previo"); the log does not keep the segment, so a debtor's segment is the one the rules
  give on the day the figures are read (:func:`segments_of`).
- **Delivery rate** = reminders with a delivery report (``delivered``) ÷ reminders sent.
- **Reply rate** = reminders with a credited reply ÷ reminders sent. A reply (an inbound SMS of the
  debtor) is credited to the latest reminder sent to that debtor before it, if that reminder is at most
  :data:`REPLY_WINDOW` older.
- **Promise rate** = reminders with a credited promise ÷ reminders sent; a promise is credited the same
  way (its ``made_at``), within :data:`PROMISE_WINDOW`.
- **Promises kept** = kept ÷ (kept + broken), as of ``today`` (:func:`scheduler.model.promise_status`
  with the grace days; pending ones are counted apart). For the portfolio and a segment: the promises
  *made* in the period; for a template: the promises credited to its reminders of the period.
- **Collected vs due**: confirmed payments dated in the period ÷ the amounts of the instalments due in the
  period (loans not cancelled).
- **Recovery rate**: of what was overdue when the period started (unpaid instalments due before its first
  day, balances rebuilt at the day before), the share paid in the period — per loan at most what it owed.
- **PAR30 / PAR90** at the period's last day (or ``today`` if earlier): outstanding balance of the active
  loans with an instalment more than 30 (90) days late ÷ outstanding balance of all active loans. The
  balance is the instalments' unpaid amount: the loan file does not split principal and interest.
- **Aging**: active loans with something outstanding by their days late (oldest unpaid instalment due):
  al día (0), 1–30, 31–60, 61–90, más de 90 — how many and how much they owe.
- **Balances at a past day** (:func:`outstanding_at`): the confirmed payments of the loan dated after that
  day are given back, oldest instalments first (as the ledger allocates payments); with no later payment
  the instalments' own paid amounts are used. Paid amounts the loan file reports without a dated payment
  line cannot be placed in time and count as paid before the period.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Promise, promise_status
from scheduler.segments import NO_SEGMENT, SegmentRule, debtor_features, segment_for

REPLY_WINDOW = timedelta(days=3)
"""A reply is credited to a reminder sent at most this long before it."""

PROMISE_WINDOW = timedelta(days=7)
"""A promise is credited to a reminder sent at most this long before it was made."""

AUTO_ANSWER_PREFIX = "auto:"
"""Contact ids of the automatic answers to replies (``scheduler.responder``): not reminders."""

_ZERO = Decimal(0)
_TEMPLATE = re.compile(r"plantilla\s+([^\s,;]+)")


@dataclass(frozen=True)
class Period:
    """The days from ``start`` to ``end``, both included. Raises ``ValueError`` if ``end`` is before ``start``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValueError("a period is made of two dates")
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    @classmethod
    def last_days(cls, today: date, days: int = 30) -> "Period":
        """The ``days`` days ending on ``today`` (30 by default)."""
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def ratio(numerator, denominator) -> Decimal | None:
    """``numerator / denominator`` as a Decimal, ``None`` when the denominator is zero."""
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


# -- balances ----------------------------------------------------------------------------------------------------------
def outstanding_at(loan: Loan, payments: Iterable[Payment], day: date) -> tuple[Decimal, ...]:
    """What was still owed on each of ``loan``'s instalments (in the loan's order) at the end of ``day``:
    the confirmed payments of the loan dated after ``day`` are given back, oldest instalments first."""
    later = sum((p.amount for p in payments
                 if p.counts and p.loan_external_id == loan.external_id and p.date > day), _ZERO)
    if not later:  # Instalment.outstanding, without the property call (this runs for every instalment)
        return tuple(i.amount - i.paid_amount if i.amount > i.paid_amount else _ZERO for i in loan.instalments)
    remaining = max(loan.paid - later, _ZERO)
    owed = []
    for instalment in loan.instalments:
        take = min(instalment.amount, remaining)
        remaining -= take
        owed.append(instalment.amount - take)
    return tuple(owed)


def days_late_at(instalments: Sequence[Instalment], owed: Sequence[Decimal], day: date) -> int:
    """Days late on ``day`` of the oldest instalment due before it with something owed (0: none)."""
    return max(((day - i.due_date).days for i, o in zip(instalments, owed) if o > 0 and i.due_date < day),
               default=0)


@dataclass(frozen=True)
class LoanState:
    """One loan on a day: what it owed and how many days late it was."""

    loan: Loan
    outstanding: Decimal
    days_late: int


def loan_state(loan: Loan, payments: Iterable[Payment], day: date) -> LoanState:
    """``loan`` at the end of ``day`` (see :func:`outstanding_at`)."""
    owed = outstanding_at(loan, payments, day)
    return LoanState(loan, sum(owed, _ZERO), days_late_at(loan.instalments, owed, day))


# -- portfolio at risk and aging ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Par:
    """Portfolio at risk over ``days``: ``at_risk`` ÷ ``outstanding`` (``ratio``)."""

    days: int
    at_risk: Decimal
    outstanding: Decimal

    @property
    def ratio(self) -> Decimal | None:
        return ratio(self.at_risk, self.outstanding)


def par(states: Iterable[LoanState], days: int) -> Par:
    """PAR over ``days`` of the active loans among ``states``: the balance of those more than ``days``
    days late over the balance of all."""
    at_risk = total = _ZERO
    for state in states:
        if state.loan.status != "active":
            continue
        total += state.outstanding
        if state.days_late > days:
            at_risk += state.outstanding
    return Par(days, at_risk, total)


@dataclass(frozen=True)
class Bucket:
    """An aging bucket: loans ``low`` to ``high`` days late (``high`` ``None``: no upper bound)."""

    key: str
    label: str
    low: int
    high: int | None

    def holds(self, days_late: int) -> bool:
        return days_late >= self.low and (self.high is None or days_late <= self.high)


AGING_BUCKETS: tuple[Bucket, ...] = (
    Bucket("al_dia", "Al día", 0, 0),
    Bucket("1_30", "1–30 días", 1, 30),
    Bucket("31_60", "31–60 días", 31, 60),
    Bucket("61_90", "61–90 días", 61, 90),
    Bucket("mas_90", "Más de 90 días", 91, None),
)


@dataclass(frozen=True)
class AgingRow:
    """One bucket's loans: how many and what they owe; ``share`` of the portfolio's balance."""

    bucket: Bucket
    loans: int
    outstanding: Decimal
    share: Decimal | None


def aging(states: Iterable[LoanState]) -> tuple[AgingRow, ...]:
    """Active loans that owe something, by days late, in :data:`AGING_BUCKETS` order."""
    counts = Counter()
    amounts: dict[str, Decimal] = {b.key: _ZERO for b in AGING_BUCKETS}
    for state in states:
        if state.loan.status != "active" or state.outstanding <= 0:
            continue
        bucket = next(b for b in AGING_BUCKETS if b.holds(state.days_late))
        counts[bucket.key] += 1
        amounts[bucket.key] += state.outstanding
    total = sum(amounts.values(), _ZERO)
    return tuple(AgingRow(b, counts[b.key], amounts[b.key], ratio(amounts[b.key], total)) for b in AGING_BUCKETS)


# -- collections -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Collections:
    """Money in a period: ``due`` (instalments due), ``collected`` (confirmed payments), ``overdue_at_start``
    (owed on instalments due before the period, the day before it began) and ``recovered`` (paid of it)."""

    due: Decimal = _ZERO
    collected: Decimal = _ZERO
    overdue_at_start: Decimal = _ZERO
    recovered: Decimal = _ZERO

    @property
    def collection_rate(self) -> Decimal | None:
        return ratio(self.collected, self.due)

    @property
    def recovery_rate(self) -> Decimal | None:
        return ratio(self.recovered, self.overdue_at_start)

    def __add__(self, other: "Collections") -> "Collections":
        return Collections(self.due + other.due, self.collected + other.collected,
                           self.overdue_at_start + other.overdue_at_start, self.recovered + other.recovered)


def loan_collections(loan: Loan, payments: Sequence[Payment], period: Period) -> Collections:
    """:class:`Collections` of one loan (``payments``: the loan's, or more — others are ignored). A
    cancelled loan has none."""
    if loan.status == "cancelled":
        return Collections()
    due = sum((i.amount for i in loan.instalments if i.due_date in period), _ZERO)
    own = [p for p in payments if p.counts and p.loan_external_id == loan.external_id]
    collected = sum((p.amount for p in own if p.date in period), _ZERO)
    before = period.start - timedelta(days=1)
    owed = outstanding_at(loan, own, before)
    overdue = sum((o for i, o in zip(loan.instalments, owed) if i.due_date < period.start), _ZERO)
    return Collections(due, collected, overdue, min(collected, overdue))


def total_of(items: Iterable[Collections]) -> Collections:
    """The sum of several :class:`Collections`."""
    due = collected = overdue = recovered = _ZERO
    for item in items:
        due += item.due
        collected += item.collected
        overdue += item.overdue_at_start
        recovered += item.recovered
    return Collections(due, collected, overdue, recovered)


def collections(loans: Iterable[Loan], payments: Iterable[Payment], period: Period) -> Collections:
    """:class:`Collections` of ``loans`` (the sum of :func:`loan_collections`)."""
    by_loan: dict[str, list[Payment]] = {}
    for payment in payments:
        by_loan.setdefault(payment.loan_external_id, []).append(payment)
    return total_of(loan_collections(loan, by_loan.get(loan.external_id, ()), period) for loan in loans)


# -- reminders, replies, promises --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reminder:
    """A reminder the modem accepted: when (``sent_at``), how, with which template, and whether a delivery
    report came back."""

    contact_id: str
    debtor_id: str
    loan: str
    sent_at: datetime
    channel: str
    template: str
    delivered: bool


def reminders(events: Iterable[ContactEvent]) -> tuple[Reminder, ...]:
    """The reminders among contact-log ``events`` (see the module docstring), oldest first. One pass over the
    events; the template is read from the ``sending`` event (or, failing that, any event naming one)."""
    found: dict[str, list] = {}  # contact id -> [debtor, loan, channel, first sent, delivered, template, from sending]
    for event in events:
        contact_id = event.contact_id
        if not contact_id or event.direction != "outbound" or contact_id.startswith(AUTO_ANSWER_PREFIX):
            continue
        state = found.get(contact_id)
        if state is None:
            state = found[contact_id] = [event.debtor_id, event.loan_external_id, event.channel, None, False, "",
                                         False]
        kind = event.kind
        if kind == "sent":
            if state[3] is None or event.at < state[3]:
                state[3] = event.at
        elif kind == "delivered":
            state[4] = True
        if not state[6] and event.detail and "plantilla" in event.detail:
            match = _TEMPLATE.search(event.detail)
            if match:
                state[5] = match.group(1)
                state[6] = kind == "sending"
    out = [Reminder(contact_id, s[0], s[1], s[3], s[2], s[5], s[4]) for contact_id, s in found.items()
           if s[3] is not None]
    out.sort(key=lambda r: (r.sent_at, r.contact_id))
    return tuple(out)


def _sent_at(reminder: Reminder) -> datetime:
    return reminder.sent_at


class ReminderIndex:
    """Reminders by debtor, in time order: which one an inbound reply or a promise is credited to."""

    def __init__(self, all_reminders: Iterable[Reminder]):
        self._items: dict[str, list[Reminder]] = {}
        self._times: dict[str, list[datetime]] = {}
        for reminder in sorted(all_reminders, key=_sent_at):  # already in order: a linear pass
            self._items.setdefault(reminder.debtor_id, []).append(reminder)
            self._times.setdefault(reminder.debtor_id, []).append(reminder.sent_at)

    def latest(self, debtor_id: str, moment: datetime, window: timedelta) -> Reminder | None:
        """The latest reminder sent to ``debtor_id`` strictly before ``moment`` and at most ``window``
        before it, or ``None``."""
        times = self._times.get(debtor_id)
        if not times:
            return None
        index = bisect.bisect_left(times, moment) - 1
        if index >= 0 and moment - times[index] <= window:
            return self._items[debtor_id][index]
        return None


def credit(all_reminders: Iterable[Reminder] | ReminderIndex, moments: Iterable[tuple[str, datetime]],
           window: timedelta) -> dict[str, int]:
    """For each ``(debtor id, instant)``, the latest reminder sent to that debtor before the instant and at
    most ``window`` before it (:meth:`ReminderIndex.latest`): contact id -> how many instants it was
    credited with."""
    index = all_reminders if isinstance(all_reminders, ReminderIndex) else ReminderIndex(all_reminders)
    credited: Counter[str] = Counter()
    for debtor_id, moment in moments:
        found = index.latest(debtor_id, moment, window)
        if found is not None:
            credited[found.contact_id] += 1
    return dict(credited)


@dataclass(frozen=True)
class ContactFigures:
    """Reminders sent, delivered, with a credited reply, with a credited promise; their rates over sent."""

    sent: int = 0
    delivered: int = 0
    replied: int = 0
    promised: int = 0

    @property
    def delivery_rate(self) -> Decimal | None:
        return ratio(self.delivered, self.sent)

    @property
    def reply_rate(self) -> Decimal | None:
        return ratio(self.replied, self.sent)

    @property
    def promise_rate(self) -> Decimal | None:
        return ratio(self.promised, self.sent)


@dataclass(frozen=True)
class PromiseFigures:
    """Promises: how many, and how many kept, broken and still pending; ``kept_rate`` over the decided ones."""

    made: int = 0
    kept: int = 0
    broken: int = 0
    pending: int = 0

    @property
    def kept_rate(self) -> Decimal | None:
        return ratio(self.kept, self.kept + self.broken)


def promise_figures(promises: Iterable[Promise], payments: Sequence[Payment], today: date,
                    grace_days: int = 0) -> PromiseFigures:
    """Count ``promises`` by :func:`scheduler.model.promise_status` on ``today``."""
    by_debtor: dict[str, list[Payment]] = {}
    for payment in payments:
        by_debtor.setdefault(payment.debtor_id, []).append(payment)
    status = Counter(promise_status(p, by_debtor.get(p.debtor_id, ()), today, grace_days=grace_days)
                     for p in promises)
    return PromiseFigures(sum(status.values()), status["kept"], status["broken"], status["pending"])


# -- segments ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segments:
    """Each debtor's segment (``of``: debtor id -> segment name) and the segments in the rules' order
    (``order``: (name, label), each name once)."""

    of: Mapping[str, str]
    order: tuple[tuple[str, str], ...]


def segments_of(debtors: Iterable[Debtor], loans: Iterable[Loan], payments: Iterable[Payment],
                promises: Iterable[Promise], rules: Sequence[SegmentRule], today: date, *,
                grace_days: int = 1) -> Segments:
    """The segment the rules give each debtor on ``today`` (:func:`scheduler.segments.segment_for`)."""
    loans_by: dict[str, list[Loan]] = {}
    for loan in loans:
        loans_by.setdefault(loan.debtor_id, []).append(loan)
    payments_by: dict[str, list[Payment]] = {}
    for payment in payments:
        payments_by.setdefault(payment.debtor_id, []).append(payment)
    promises_by: dict[str, list[Promise]] = {}
    for promise in promises:
        promises_by.setdefault(promise.debtor_id, []).append(promise)
    of = {}
    for debtor in debtors:
        features = debtor_features(loans_by.get(debtor.id, ()), payments_by.get(debtor.id, ()),
                                   promises_by.get(debtor.id, ()), today, tags=debtor.tags,
                                   officer=debtor.loan_officer, grace_days=grace_days)
        of[debtor.id] = segment_for(features, rules).segment
    order: dict[str, str] = {}
    for rule in rules:
        order.setdefault(rule.name, rule.label)
    order.setdefault(NO_SEGMENT[0], NO_SEGMENT[1])
    return Segments(of, tuple(order.items()))


# -- the report --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupFigures:
    """Every figure of one group (the whole portfolio, a segment or a template). ``collections``, ``par30``,
    ``par90`` and ``aging`` are ``None`` for a template (money is not sent by a template)."""

    key: str
    label: str
    contacts: ContactFigures
    promises: PromiseFigures
    collections: Collections | None = None
    par30: Par | None = None
    par90: Par | None = None
    aging: tuple[AgingRow, ...] | None = None
    loans: int = 0


@dataclass(frozen=True)
class Report:
    """The figures of a period: ``total``, per segment (rules' order) and per template (by name);
    ``as_of`` is the day PAR and aging are read at; ``currency`` the loans' most common one."""

    period: Period
    as_of: date
    currency: str
    total: GroupFigures
    segments: tuple[GroupFigures, ...]
    templates: tuple[GroupFigures, ...]


def build_report(*, loans: Sequence[Loan], payments: Sequence[Payment], promises: Sequence[Promise],
                 events: Iterable[ContactEvent], period: Period, today: date, zone: tzinfo,
                 segments: Segments, grace_days: int = 1) -> Report:
    """Every figure of the module docstring for ``period``.

    ``events``: the contact log from the period's first day to :data:`PROMISE_WINDOW` after its last
    (replies and promises just after the period are credited to its reminders). ``segments``: from
    :func:`segments_of`. A segment with no loan and no reminder is left out.
    """
    as_of = min(period.end, today)
    events = list(events)
    all_reminders = reminders(events)
    index = ReminderIndex(all_reminders)
    in_period = [r for r in all_reminders if r.sent_at.astimezone(zone).date() in period]
    replies = [(e.debtor_id, e.at) for e in events if e.kind == "reply" and e.direction == "inbound" and e.debtor_id]
    replied = credit(index, replies, REPLY_WINDOW)
    promised_by: dict[str, list[Promise]] = {}
    for promise in promises:
        found = index.latest(promise.debtor_id, promise.made_at, PROMISE_WINDOW)
        if found is not None:
            promised_by.setdefault(found.contact_id, []).append(promise)

    by_loan: dict[str, list[Payment]] = {}
    for payment in payments:
        by_loan.setdefault(payment.loan_external_id, []).append(payment)
    states = {loan.external_id: loan_state(loan, by_loan.get(loan.external_id, ()), as_of) for loan in loans}
    money = {loan.external_id: loan_collections(loan, by_loan.get(loan.external_id, ()), period) for loan in loans}
    made = [p for p in promises if p.made_at.astimezone(zone).date() in period]

    def contact_figures(items: Sequence[Reminder]) -> ContactFigures:
        return ContactFigures(len(items), sum(r.delivered for r in items),
                              sum(1 for r in items if r.contact_id in replied),
                              sum(1 for r in items if r.contact_id in promised_by))

    def group(key: str, label: str, group_loans: Sequence[Loan], group_reminders: Sequence[Reminder],
              group_promises: Sequence[Promise]) -> GroupFigures:
        group_states = [states[l.external_id] for l in group_loans]
        return GroupFigures(key, label, contact_figures(group_reminders),
                            promise_figures(group_promises, payments, today, grace_days),
                            total_of(money[l.external_id] for l in group_loans),
                            par(group_states, 30), par(group_states, 90), aging(group_states),
                            sum(1 for l in group_loans if l.status == "active"))

    def segment(debtor_id: str) -> str:
        return segments.of.get(debtor_id, NO_SEGMENT[0])

    total = group("total", "Total", loans, in_period, made)
    members: dict[str, dict[str, list]] = {}
    for kind, items in (("loans", loans), ("sent", in_period), ("made", made)):
        for item in items:
            members.setdefault(segment(item.debtor_id), {"loans": [], "sent": [], "made": []})[kind].append(item)
    segment_rows = []
    for key, label in segments.order:
        found = members.get(key)
        if found is None or not (found["loans"] or found["sent"]):
            continue
        segment_rows.append(group(key, label, found["loans"], found["sent"], found["made"]))
    by_template: dict[str, list[Reminder]] = {}
    for reminder in in_period:
        by_template.setdefault(reminder.template, []).append(reminder)
    template_rows = []
    for name in sorted(by_template):
        sent = by_template[name]
        credited = [p for r in sent for p in promised_by.get(r.contact_id, ())]
        template_rows.append(GroupFigures(name, name, contact_figures(sent),
                                          promise_figures(credited, payments, today, grace_days)))
    currencies = Counter(l.currency for l in loans)
    currency = currencies.most_common(1)[0][0] if currencies else ""
    return Report(period, as_of, currency, total, tuple(segment_rows), tuple(template_rows))
