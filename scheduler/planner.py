"""The planner: a pure function ``(ledger snapshot, policy, now) -> decisions``.

For every debtor (in id order) and each of their loans, the planner looks at
the loan's *oldest unpaid instalment* and at the ladder of the debtor's
segment, finds the step whose time has come (the last one at or before
``now``; earlier ones it superseded) and decides:

- ``send`` now — every rule allows it, the clock is trusted, sending is not
  paused and the SIM has budget;
- ``wait`` until an instant it names (``at``) — quiet hours, a holiday, a
  cap, a pending promise, the step's own time not come yet, the clock, the
  pause or the SIM's budget;
- ``skip`` — nothing will make it sendable: a paid instalment, a closed
  loan, an opted-out or unauthorised phone, a reply since the previous step,
  or a rule that holds until the next step takes over.

Every decision carries a :class:`~scheduler.reasons.Reason` and a stable
``contact_id`` (debtor + loan + instalment + step) so the dispatcher sends a
contact at most once and a status report or a reply finds its contact.
Caps count the attempts in the snapshot's contact log *and* the sends this
plan already decided (two loans of one debtor due the same day: one goes
today, the other waits).

The snapshot needs ``debtors``, ``loans_of(id)``, ``payments_of(id)``,
``promises_of(id)``, ``contacts`` (events since at least
:data:`HISTORY_DAYS` before ``now``) — :class:`firmware_py.ledger.results.LedgerSnapshot` has them.
Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from scheduler.contact_state import REACHED, outcomes
from scheduler.ladder import Occurrence, Step
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, promise_status
from scheduler.policy import Policy
from scheduler.reasons import Reason, describe
from scheduler.rules.check import Attempt, attempts_from_events, earliest_allowed
from scheduler.segments import best_hour, debtor_features, segment_for
from scheduler.templates import MessageFacts, transliterated

HISTORY_DAYS = 120
"""How far back the planner needs the contact log: the longest a step can wait plus the rolling week.
A contact already attempted (see :mod:`scheduler.contact_state`: sent, failed, in doubt) is never planned
again; one the radio certainly did not send (``retry``) is planned again."""


SEND, WAIT, SKIP = "send", "wait", "skip"
_ORDER = {SEND: 0, WAIT: 1, SKIP: 2}


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision. ``at`` is aware, in the debtor's zone: when to send (``send``: now; ``wait``: the
    instant the blocking reason ends; ``skip``: when it was evaluated). ``text`` is the rendered
    message for ``send`` and ``wait`` (empty for ``skip`` and for a step whose day has not come).
    ``instalment`` is ``None`` and ``step`` empty for decisions about a whole loan."""

    contact_id: str
    debtor_id: str
    loan: str
    instalment: int | None
    step: str
    channel: str
    phone: str
    template: str
    text: str
    at: datetime
    action: str
    reason: Reason
    segment: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``debtor``, ``loan``, ``channel``, ``at`` (ISO 8601 with offset), ``action``,
        ``reason`` and the rest."""
        data = asdict(self)
        data["debtor"] = data.pop("debtor_id")
        data["at"] = self.at.isoformat()
        data["reason"] = self.reason.value
        data["reason_text"] = describe(self.reason)
        return data


def contact_id(debtor_id: str, loan_id: str, instalment: int, step_id: str) -> str:
    """The stable id of one contact: the same debtor, loan, instalment and step always give the same id."""
    return f"{debtor_id}:{loan_id}:{instalment}:{step_id}"


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def plan(snapshot, policy: Policy, now: datetime, *, debtor_ids: Iterable[str] | None = None) -> tuple[Decision, ...]:
    """Decide for every debtor (or only ``debtor_ids``). Pure: the same inputs give the same decisions.

    ``policy`` should already carry the ledger's live settings
    (:meth:`Policy.with_settings`). Raises ``ValueError`` for a naive ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    by_debtor: dict[str, list[ContactEvent]] = {}
    sms_today = 0
    coop_zone = _zone(policy.timezone)
    coop_today = now.astimezone(coop_zone).date()
    for event in snapshot.contacts:
        by_debtor.setdefault(event.debtor_id, []).append(event)
        if (event.channel == "sms" and event.direction == "outbound" and event.kind == "sent"
                and event.at.astimezone(coop_zone).date() == coop_today):
            sms_today += 1
    budget = _Budget(None if policy.daily_sms_cap is None else max(policy.daily_sms_cap - sms_today, 0),
                     datetime.combine(coop_today + timedelta(days=1), time(0), tzinfo=coop_zone))
    wanted = None if debtor_ids is None else set(debtor_ids)
    decisions: list[Decision] = []
    for debtor in sorted(snapshot.debtors, key=lambda d: d.id):
        if wanted is not None and debtor.id not in wanted:
            continue
        _plan_debtor(decisions, snapshot, policy, now, debtor, by_debtor.get(debtor.id, ()), budget)
    decisions.sort(key=lambda d: (_ORDER[d.action], d.at, d.debtor_id, d.loan, d.step))
    return tuple(decisions)


@dataclass
class _Budget:
    remaining: int | None
    resets_at: datetime


@dataclass
class _Intent:
    loan: Loan
    instalment: Instalment
    occurrence: Occurrence
    contact_id: str
    deadline: datetime
    days_late: int


def _plan_debtor(out: list[Decision], snapshot, policy: Policy, now: datetime, debtor: Debtor,
                 events: Iterable[ContactEvent], budget: _Budget) -> None:
    zone = _zone(debtor.timezone)
    local_now = now.astimezone(zone)
    today = local_now.date()
    loans = sorted(snapshot.loans_of(debtor.id), key=lambda l: l.external_id)
    if not loans:
        return
    events = sorted(events, key=lambda e: e.at)
    payments = snapshot.payments_of(debtor.id)
    promises = snapshot.promises_of(debtor.id)
    features = debtor_features(loans, payments, promises, today, tags=debtor.tags, officer=debtor.loan_officer,
                                grace_days=policy.promise_grace_days)
    segmentation = segment_for(features, policy.segments)
    ladder = policy.ladders[segmentation.ladder]
    profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
    calendar = policy.calendar_for(profile)
    attempts = attempts_from_events(events)
    done = {cid for cid, outcome in outcomes(events).items() if outcome.settled}
    replies = [e for e in events if e.kind == "reply" and e.direction == "inbound"]
    hour = best_hour(replies, (p.recorded_at for p in payments if p.source != "import" and p.recorded_at), zone).hour
    promise_until = _promise_until(promises, payments, today, policy.promise_grace_days)
    segment = segmentation.segment

    def decision(loan: Loan, instalment: int | None, step: Step | None, step_id: str, channel: str, phone: str,
                 text: str, at: datetime, action: str, reason: Reason, detail: str = "") -> None:
        cid = contact_id(debtor.id, loan.external_id, instalment, step_id) if instalment is not None and step_id else ""
        out.append(Decision(cid, debtor.id, loan.external_id, instalment, step_id, channel, phone,
                            step.template if step else "", text, at.astimezone(zone), action, reason, segment,
                            detail))

    intents: list[_Intent] = []
    for loan in loans:
        if loan.status != "active":
            decision(loan, None, None, "", "", "", "", local_now, SKIP, Reason.LOAN_CLOSED)
            continue
        instalment = loan.oldest_unpaid()
        if instalment is None:
            decision(loan, None, None, "", "", "", "", local_now, SKIP, Reason.ALREADY_PAID)
            continue
        occurrences = list(ladder.occurrences(instalment.due_date, today))
        times = [_when(o, zone, hour, profile) for o in occurrences]
        current = -1
        for index, moment in enumerate(times):
            if moment <= local_now:
                current = index
            else:
                break
        following = current + 1 if current + 1 < len(occurrences) else None
        if current >= 0:
            occurrence = occurrences[current]
            cid = contact_id(debtor.id, loan.external_id, instalment.number, occurrence.id)
            deadline = times[following] if following is not None else \
                times[current] + timedelta(days=policy.step_validity_days)
            if cid not in done and local_now < deadline:
                intents.append(_Intent(loan, instalment, occurrence, cid, deadline,
                                       (today - instalment.due_date).days))
                continue
        if following is None:
            step = occurrences[current].step if current >= 0 else None
            decision(loan, instalment.number, step, occurrences[current].id if current >= 0 else "",
                     step.channel if step else "", "", "", local_now, SKIP, Reason.LADDER_DONE)
            continue
        occurrence = occurrences[following]
        channel, phone, _ = _route(debtor, occurrence.step)
        at, _block = earliest_allowed(profile, calendar, zone, channel or occurrence.step.channel,
                                      times[following], attempts)
        decision(loan, instalment.number, occurrence.step, occurrence.id, channel or occurrence.step.channel,
                 phone.number if phone else "", "", at or times[following], WAIT, Reason.SCHEDULED,
                 f"paso {occurrence.step.describe_es()}")

    intents.sort(key=lambda i: (-i.days_late, i.instalment.due_date, i.loan.external_id))
    for intent in intents:
        step = intent.occurrence.step
        loan, instalment = intent.loan, intent.instalment
        number, step_id = instalment.number, intent.occurrence.id

        if "no_promise" in step.conditions and promise_until is not None and today <= promise_until:
            resume = datetime.combine(promise_until + timedelta(days=1), time(0), tzinfo=zone)
            action = WAIT if resume < intent.deadline else SKIP
            decision(loan, number, step, step_id, step.channel, "", "", resume if action == WAIT else local_now,
                     action, Reason.PROMISE_PENDING, f"promesa hasta el {promise_until:%d/%m/%Y}")
            continue
        if "no_reply" in step.conditions and _replied_since_previous(replies, events, loan):
            decision(loan, number, step, step_id, step.channel, "", "", local_now, SKIP, Reason.REPLIED)
            continue
        channel, phone, refusal = _route(debtor, step)
        if refusal is not None:
            decision(loan, number, step, step_id, step.channel, "", "", local_now, SKIP, refusal)
            continue
        personal = phone.personal if phone is not None else True
        text = policy.templates.render(step.template, debtor.language, personal,
                                       _facts(debtor, loan, instalment, today), policy.cooperative)
        if policy.transliterate and channel != "visit":
            text = transliterated(text)
        number_text = phone.number if phone is not None else ""
        at, block = earliest_allowed(profile, calendar, zone, channel, now, attempts)
        if at is None:
            decision(loan, number, step, step_id, channel, number_text, text, local_now, SKIP,
                     block.reason if block else Reason.NO_WINDOW, block.detail if block else "")
            continue
        if block is not None:
            if at >= intent.deadline:
                decision(loan, number, step, step_id, channel, number_text, text, local_now, SKIP, block.reason,
                         block.detail or "el paso siguiente llega antes")
            else:
                decision(loan, number, step, step_id, channel, number_text, text, at, WAIT, block.reason,
                         block.detail)
            continue
        if not policy.clock.trusted:
            decision(loan, number, step, step_id, channel, number_text, text, local_now, WAIT,
                     Reason.CLOCK_UNTRUSTED, policy.clock.detail)
            continue
        if policy.paused:
            decision(loan, number, step, step_id, channel, number_text, text, local_now, WAIT, Reason.PAUSED)
            continue
        if channel == "sms" and budget.remaining is not None:
            if budget.remaining <= 0:
                decision(loan, number, step, step_id, channel, number_text, text, budget.resets_at, WAIT,
                         Reason.SIM_CAP)
                continue
            budget.remaining -= 1
        attempts.append(Attempt(now, channel))
        attempts.sort()
        decision(loan, number, step, step_id, channel, number_text, text, local_now, SEND, Reason.DUE)


def _when(occurrence: Occurrence, zone: ZoneInfo, hour: time | None, profile) -> datetime:
    """The occurrence's local time: the learned best hour when the step allows it and that hour is inside
    the day's legal window, else the step's hour."""
    step = occurrence.step
    chosen = step.hour
    if hour is not None and step.use_best_hour and profile.within_hours(hour, occurrence.day.weekday()):
        chosen = hour
    return datetime.combine(occurrence.day, chosen, tzinfo=zone)


def _route(debtor: Debtor, step: Step) -> tuple[str, Phone | None, Reason | None]:
    """``(channel, phone, refusal)``: the step's channel (or its fallback) and the phone to use —
    personal numbers first. A visit needs no phone."""
    refusal = None
    for channel in (step.channel, step.fallback):
        if channel is None:
            continue
        if channel == "visit":
            return channel, None, None
        needed = "call" if channel in ("call", "ring") else channel
        authorised = [p for p in debtor.phones if needed in p.channels]
        usable = [p for p in authorised if not p.opted_out]
        if usable:
            usable.sort(key=lambda p: not p.personal)
            return channel, usable[0], None
        if refusal is None:
            refusal = (Reason.NO_VALID_PHONE if not debtor.phones else
                       Reason.OPTED_OUT if authorised or all(p.opted_out for p in debtor.phones)
                       else Reason.CHANNEL_NOT_AUTHORISED)
    return step.channel, None, refusal


def _promise_until(promises, payments, today: date, grace: int) -> date | None:
    """The last day covered by a pending promise (its due date plus grace), or ``None``."""
    until = None
    for promise in promises:
        if promise_status(promise, payments, today, grace_days=grace) == "pending":
            end = promise.due_date + timedelta(days=grace)
            until = end if until is None or end > until else until
    return until


def _replied_since_previous(replies: list[ContactEvent], events: Iterable[ContactEvent], loan: Loan) -> bool:
    """True if the debtor replied after the last outbound contact about this loan."""
    last = None
    for event in events:
        if event.loan_external_id == loan.external_id and event.direction == "outbound" and event.kind in REACHED:
            last = event.at if last is None or event.at > last else last
    return last is not None and any(r.at > last for r in replies)


def _facts(debtor: Debtor, loan: Loan, instalment: Instalment, today: date) -> MessageFacts:
    return MessageFacts(debtor.name, instalment.outstanding, instalment.number, len(loan.instalments),
                        loan.outstanding, instalment.due_date, (today - instalment.due_date).days, debtor.loan_officer,
                        loan.external_id, loan.currency)


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
