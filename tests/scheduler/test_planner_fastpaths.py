"""The planner's shortcuts never change a decision.

:func:`scheduler.planner.plan` shares work between loans and debtors and skips work whose result it
can tell in advance (``_Run``, ``_History``); :func:`scheduler.planner.reference_plan` decides every
loan the long way. For random worlds — the property tests' ``worlds()``, and crowded ones where
several debtors share due dates, ladders and zones with different histories (steps already tried,
retried, failed; older and newer logs written in several offsets; replies; payments in the app) —
both give exactly the same decisions. The helpers the shortcuts rest on are checked against their
plain definitions: old attempts change no contact rule (``lookbacks``/``attempts_matter``), each
rule checked as it was first written, the segment rule chosen without writing the risk reasons,
debtor features in one pass, templates cut once, transliteration without counting segments.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_planner_properties import PROPERTY, ZONES, worlds

from firmware_py.ledger.results import LedgerSnapshot
from modem.errors import PduError
from modem.pdu import plan as pdu_plan
from scheduler.model import ContactEvent, Instalment, Loan, Payment, Promise
from scheduler.planner import contact_id, plan, reference_plan
from scheduler.rules import BUILTIN, HolidayCalendar, profile_from_config
from scheduler.rules.check import Attempt, attempts_matter, blocking_rule, earliest_allowed, lookbacks
from scheduler.segments import (DEFAULT_SEGMENTS, NO_SEGMENT, Features, SegmentRule, _cover_dates, debtor_features,
                                risk_points, risk_score, segment_for, segment_rule_for)
from scheduler.templates import DEFAULT_TEMPLATES, _substituted, substitute, transliterated

STEP_IDS = ("-7", "-3", "-1", "0", "+3", "+7", "+15", "+30", "+30r1", "+30r2")
TRIES = (("sending",), ("sending", "sent"), ("sending", "sent", "delivered"), ("sending", "retry"), ("retry",),
         ("sending", "failed"), ("sending", "sent", "failed"), ("sending", "retry", "sending", "sent"),
         ("sending", "uncertain"), ("sending", "sent", "expired"))


def _offset(draw, moment: datetime, zone: str) -> datetime:
    """The same instant written in UTC, a fixed offset (as the ledger reads it back) or the debtor's zone."""
    return moment.astimezone(draw(st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)), ZoneInfo(zone)])))


@st.composite
def crowded_worlds(draw):
    """A world of :func:`worlds` where each debtor has up to two copies: same loans (so due dates and
    ladders repeat), maybe another zone, their log shifted older by a few hours to three weeks, and
    steps of their own already tried (some logged after ``now``)."""
    snapshot, policy, now = draw(worlds())
    debtors, loans, payments, promises, contacts = [], [], [], [], []
    for debtor in snapshot.debtors:
        for copy in range(draw(st.integers(1, 3))):
            did = debtor.id if copy == 0 else f"{debtor.id}-{copy}"
            zone = debtor.timezone if draw(st.booleans()) else draw(st.sampled_from(ZONES))
            debtors.append(replace(debtor, id=did, timezone=zone))
            shift = timedelta(days=draw(st.sampled_from([0, 0, 1, 2, 3, 7, 8, 9, 10, 12, 20])),
                              hours=draw(st.integers(0, 23)))
            for event in snapshot.contacts_of(debtor.id):
                contacts.append(replace(event, debtor_id=did, at=_offset(draw, event.at - shift, zone)))
            for promise in snapshot.promises_of(debtor.id):
                promises.append(replace(promise, id=f"{promise.id}-{copy}", debtor_id=did))
            for loan in snapshot.loans_of(debtor.id):
                lid = loan.external_id if copy == 0 else f"{loan.external_id}-{copy}"
                loans.append(replace(loan, external_id=lid, debtor_id=did))
                for paid in snapshot.payments_of(debtor.id):  # web payments a thank-you may follow
                    if paid.loan_external_id == loan.external_id:
                        payments.append(replace(paid, id=f"{paid.id}-{copy}", loan_external_id=lid, debtor_id=did))
                unpaid = loan.oldest_unpaid()
                if unpaid is None:
                    continue
                for _ in range(draw(st.integers(0, 2))):  # a step of this loan already tried
                    cid = contact_id(did, lid, unpaid.number, draw(st.sampled_from(STEP_IDS)))
                    channel = draw(st.sampled_from(["sms", "sms", "call", "ring", "visit"]))
                    # mostly the last days; now and then after now (a clock that was ahead)
                    at = now - shift - timedelta(minutes=draw(st.integers(-36 * 60, 4 * 24 * 60)))
                    step = timedelta(seconds=draw(st.sampled_from([0, 1, 40])))
                    for n, kind in enumerate(draw(st.sampled_from(TRIES))):
                        contacts.append(ContactEvent(_offset(draw, at + n * step, zone), did, kind, channel=channel,
                                                     contact_id=cid, loan_external_id=lid))
                if draw(st.integers(0, 3)) == 0:  # a payment recorded in the app
                    payments.append(Payment(f"pay-{lid}", lid, did, unpaid.amount / 2,
                                            now.date() - timedelta(days=draw(st.integers(0, 40))), "web",
                                            reconciled=draw(st.booleans()),
                                            recorded_at=now - timedelta(hours=draw(st.integers(1, 900)))))
            if draw(st.integers(0, 3)) == 0:  # replies enough to learn the hour they answer at
                hour = draw(st.integers(0, 23))
                for k in range(1, 4):
                    at = datetime.combine(now.date() - timedelta(days=k), time(hour), tzinfo=ZoneInfo(zone))
                    contacts.append(ContactEvent(at, did, "reply", direction="inbound", text="OK"))
    random.Random(draw(st.integers(0, 2**32))).shuffle(contacts)
    crowded = LedgerSnapshot(seq=1, debtors=tuple(debtors), loans=tuple(loans), payments=tuple(payments),
                             promises=tuple(promises), opted_out=snapshot.opted_out, settings=snapshot.settings,
                             contacts=tuple(contacts))
    return crowded, policy, now


def _same(fast, slow) -> None:
    assert [d.to_dict() for d in fast] == [d.to_dict() for d in slow]
    assert fast == slow


@PROPERTY
@given(worlds())
def test_plan_is_the_reference_plan(world):
    snapshot, policy, now = world
    _same(plan(snapshot, policy, now), reference_plan(snapshot, policy, now))
    # a segment rule that reads an amount: plan sums them too (the default rules read none)
    rich = replace(policy, segments=(SegmentRule("grande", "Grande", "mora_grave", "firme",
                                                 min_outstanding=Decimal(150000)), *policy.segments))
    _same(plan(snapshot, rich, now), reference_plan(snapshot, rich, now))


@PROPERTY
@given(crowded_worlds())
def test_plan_is_the_reference_plan_in_crowded_worlds(world):
    snapshot, policy, now = world
    _same(plan(snapshot, policy, now), reference_plan(snapshot, policy, now))
    some = [d.id for d in snapshot.debtors][::2]
    _same(plan(snapshot, policy, now, debtor_ids=some), reference_plan(snapshot, policy, now, debtor_ids=some))


# -- old attempts change no contact rule ---------------------------------------------------------------------------
CUSTOM = [
    {"max_per_day": None, "max_sms_per_week": 2, "sms_min_gap_days": 3},
    {"max_per_day": 2, "max_calls_per_week": 1, "max_visits_per_week": 0, "hours": {"lun-dom": "00:00-24:00"}},
    {"max_per_day": None, "sms_min_gap_days": 5, "one_channel_per_week": True, "holidays_closed": False,
     "hours": {"lun-dom": "00:00-24:00"}},
    {"max_per_day": 1, "max_sms_per_week": 1, "one_channel_per_week": False, "hours": {"lun-sab": "06:00-22:00"}},
]
PROFILES = [BUILTIN[code] for code in sorted(BUILTIN)] + [profile_from_config("custom", c) for c in CUSTOM]
TURNS = [date(2026, 3, 8), date(2026, 11, 1), date(2026, 4, 5), date(2026, 9, 6)]
"""Days the clocks change in New York and Santiago (a missing or repeated hour; Santiago's at midnight)."""


@st.composite
def histories(draw):
    profile = draw(st.sampled_from(PROFILES))
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    day = draw(st.one_of(st.sampled_from(TURNS), st.dates(date(2026, 1, 1), date(2026, 12, 31))))
    start = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))), tzinfo=zone)
    attempts = sorted(Attempt(_offset(draw, start - timedelta(minutes=draw(st.integers(-6 * 60, 14 * 24 * 60))),
                                      zone_name), draw(st.sampled_from(["sms", "call", "ring", "visit"])))
                      for _ in range(draw(st.integers(1, 5))))
    return profile, zone, draw(st.sampled_from(["sms", "call", "ring", "visit"])), start, attempts


@PROPERTY
@given(histories())
def test_attempts_that_cannot_matter_change_nothing(history):
    profile, zone, channel, start, attempts = history
    latest: dict[str, date] = {}
    for attempt in attempts:
        local = attempt.at.astimezone(zone).date()
        latest[attempt.channel] = max(latest.get(attempt.channel, local), local)
    if attempts_matter(latest, start.date(), lookbacks(profile, channel)):
        return
    calendar = HolidayCalendar(profile.code if profile.code in BUILTIN else "CO")
    assert earliest_allowed(profile, calendar, zone, channel, start, attempts) == \
        earliest_allowed(profile, calendar, zone, channel, start, [])


def blocking_rule_as_first_written(profile, calendar, zone, channel, at, attempts):
    """blocking_rule before it was made faster: every attempt cut by bisect, the profile's own
    within_hours, the next midnight computed up front."""
    from scheduler.reasons import Reason
    from scheduler.rules.check import Block, channel_family

    week = timedelta(days=7)
    local = at.astimezone(zone)
    today = local.date()
    next_day = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    holiday = calendar.holiday_name(today) if profile.closed_on_holidays else None
    if holiday:
        return Block(Reason.HOLIDAY, next_day, holiday)
    windows = profile.windows_on(local.weekday())
    if not windows:
        return Block(Reason.SUNDAY if local.weekday() == 6 else Reason.CLOSED_DAY, next_day)
    moment = local.time()
    if not profile.within_hours(moment, local.weekday()):
        later = [start for start, _ in windows if start > moment]
        return Block(Reason.QUIET_HOURS, datetime.combine(today, later[0], tzinfo=zone) if later else next_day)
    past = attempts[:bisect.bisect_right(attempts, Attempt(at, "\uffff"))]
    for cap in profile.caps:
        if not cap.applies_to(channel):
            continue
        if cap.limit == 0:
            return Block(Reason.DAILY_CAP if cap.period == "day" else Reason.WEEKLY_CAP, None)
        relevant = [a.at for a in past if a.channel in cap.channels]
        if not relevant:
            continue
        if cap.limit is not None and cap.period == "day":
            if sum(1 for t in relevant if t.astimezone(zone).date() == today) >= cap.limit:
                return Block(Reason.DAILY_CAP, next_day)
        if cap.limit is not None and cap.period == "week":
            rolling = [t for t in relevant if t > at - week]
            if len(rolling) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, rolling[len(rolling) - cap.limit] + week)
            week_start = today - timedelta(days=local.weekday())
            if len([t for t in relevant if t.astimezone(zone).date() >= week_start]) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, datetime.combine(week_start + week, time(0), tzinfo=zone))
        if cap.min_gap_days:
            last_day = relevant[-1].astimezone(zone).date()
            if (today - last_day).days < cap.min_gap_days:
                return Block(Reason.MIN_GAP, datetime.combine(last_day + timedelta(days=cap.min_gap_days), time(0),
                                                              tzinfo=zone))
    if profile.one_channel_per_week:
        family = channel_family(channel)
        others = [a.at for a in past if channel_family(a.channel) != family]
        frees = []
        if others and others[-1] > at - week:
            frees.append(others[-1] + week)
        week_start = today - timedelta(days=local.weekday())
        if others and others[-1].astimezone(zone).date() >= week_start:
            frees.append(datetime.combine(week_start + week, time(0), tzinfo=zone))
        if frees:
            return Block(Reason.OTHER_CHANNEL_WEEK, max(frees))
    return None


@PROPERTY
@given(histories(), st.integers(0, 5 * 24 * 60))
def test_blocking_rule_is_as_first_written(history, minutes):
    profile, zone, channel, start, attempts = history
    calendar = HolidayCalendar(profile.code if profile.code in BUILTIN else "CO")
    for at in (start, start + timedelta(minutes=minutes), (start + timedelta(minutes=minutes)).astimezone(timezone.utc)):
        fast = blocking_rule(profile, calendar, zone, channel, at, attempts)
        slow = blocking_rule_as_first_written(profile, calendar, zone, channel, at, attempts)
        assert fast == slow
        assert (fast.until.isoformat() if fast and fast.until else None) == \
            (slow.until.isoformat() if slow and slow.until else None)


def test_lookbacks_follow_the_rules():
    co = lookbacks(BUILTIN["CO"], "sms")
    assert [(rule.days, rule.counts("sms"), rule.counts("call")) for rule in co] == [(1, True, True), (9, False, True)]
    assert lookbacks(BUILTIN["MX"], "sms") == ()
    chile = lookbacks(BUILTIN["CL"], "sms")
    assert [(rule.days, sorted(rule.channels)) for rule in chile] == [(9, ["sms"])]
    free = profile_from_config("custom", {"max_calls_per_week": 0, "max_per_day": None, "one_channel_per_week": False})
    assert lookbacks(free, "call") == ()


# -- segments and features -----------------------------------------------------------------------------------------
features = st.builds(
    Features, st.integers(0, 200), st.decimals(0, 10**7, places=2), st.decimals(0, 10**7, places=2),
    st.floats(0, 1), st.floats(0, 60), st.integers(0, 4), st.frozensets(st.sampled_from(["agro", "consumo"])),
    st.frozensets(st.sampled_from(["vip", "grupo"])), st.sampled_from(["", "Ana", "Luis"]), st.integers(0, 24))
rules = st.lists(st.builds(
    SegmentRule, st.sampled_from(["a", "b", "c"]), st.just("A"), st.sampled_from(["al_dia", "mora_grave"]),
    min_days_late=st.none() | st.integers(0, 60), max_outstanding=st.none() | st.decimals(0, 10**6, places=0),
    tags=st.frozensets(st.sampled_from(["vip", "grupo"]), max_size=1),
    min_broken_promises=st.none() | st.integers(0, 2), min_risk=st.none() | st.integers(0, 100)), max_size=5)


@PROPERTY
@given(features, st.one_of(rules, st.just(list(DEFAULT_SEGMENTS))))
def test_the_segment_rule_is_segment_fors(facts, segment_rules):
    rule = segment_rule_for(facts, segment_rules)
    chosen = segment_for(facts, segment_rules)
    assert (chosen.segment, chosen.label, chosen.ladder) == \
        ((rule.name, rule.label, rule.ladder) if rule is not None else NO_SEGMENT)
    assert risk_points(facts) == risk_score(facts).score
    english = risk_score(facts, "en")  # the same points, each reason in the other language
    assert english.score == risk_score(facts).score and len(english.reasons) == len(risk_score(facts).reasons)


amounts = st.sampled_from(["0", "0.00", "1000", "1000.00", "2500.50", "333.33", "100000"]).map(Decimal)


@st.composite
def debtors_books(draw):
    today = date(2026, 6, 15)
    loans, payments = [], []
    for k in range(draw(st.integers(1, 3))):
        first = today + timedelta(days=draw(st.integers(-200, 40)))
        instalments = []
        for n in range(draw(st.integers(0, 6))):
            amount = draw(amounts)
            paid = draw(st.sampled_from([Decimal(0), amount, amount / 2, amount + 1, Decimal("0.00")]))
            instalments.append(Instalment(n + 1, first + timedelta(days=30 * n), amount, paid))
        loan = Loan(f"L{k}", "d", draw(st.sampled_from(["", "agro"])), instalments=tuple(instalments),
                    status=draw(st.sampled_from(["active", "active", "paid"])))
        loans.append(loan)
        for p in range(draw(st.integers(0, 3))):
            payments.append(Payment(f"p{k}-{p}", loan.external_id, "d", draw(amounts),
                                    today - timedelta(days=draw(st.integers(-5, 200))), "web",
                                    status=draw(st.sampled_from(["confirmed", "confirmed", "pending"])),
                                    reconciled=draw(st.booleans())))
    promises = [Promise(f"q{n}", "d", today + timedelta(days=draw(st.integers(-30, 10))), draw(amounts), "sms",
                        datetime(2026, 5, 1, tzinfo=timezone.utc)) for n in range(draw(st.integers(0, 2)))]
    return loans, payments, promises, today


def features_the_long_way(loans, payments, promises, today, *, tags=(), officer="", grace_days=1) -> Features:
    """debtor_features as first written: the loans' own properties, payment dates allocated for every loan."""
    from scheduler.model import promise_status

    loans = [l for l in loans if l.status == "active"]
    payments = [p for p in payments if p.counts]
    days_late, outstanding, overdue, late, due_count, late_days_total = 0, Decimal(0), Decimal(0), 0, 0, 0
    by_loan: dict[str, list[Payment]] = {}
    for payment in payments:
        by_loan.setdefault(payment.loan_external_id, []).append(payment)
    for loan in loans:
        days_late = max(days_late, loan.days_late(today))
        outstanding += loan.outstanding
        overdue += loan.overdue(today)
        paid_on = _cover_dates(loan, sorted(by_loan.get(loan.external_id, ()), key=lambda p: p.date))
        for instalment in loan.instalments:
            if instalment.due_date >= today:
                continue
            due_count += 1
            if instalment.outstanding > 0:
                late += 1
                late_days_total += (today - instalment.due_date).days
            elif (covered := paid_on.get(instalment.number)) is not None and covered > instalment.due_date:
                late += 1
                late_days_total += (covered - instalment.due_date).days
    broken = sum(1 for p in promises if promise_status(p, payments, today, grace_days=grace_days) == "broken")
    return Features(days_late, outstanding, overdue, late / due_count if due_count else 0.0,
                    late_days_total / due_count if due_count else 0.0, broken,
                    frozenset(l.product for l in loans if l.product), frozenset(tags), officer, due_count)


@PROPERTY
@given(debtors_books())
def test_debtor_features_are_the_long_ways(book):
    loans, payments, promises, today = book
    fast = debtor_features(loans, payments, promises, today, tags=("vip",), officer="Ana")
    slow = features_the_long_way(loans, payments, promises, today, tags=("vip",), officer="Ana")
    assert repr(fast) == repr(slow)  # the same amounts, down to how many decimals they show
    # what a planner whose segment rules read no amount asks for: the same, but for the amounts
    lean = debtor_features(loans, payments, promises, today, tags=("vip",), officer="Ana", amounts=False)
    assert lean == replace(slow, outstanding=None, overdue=None)


# -- templates -----------------------------------------------------------------------------------------------------
pieces = st.lists(st.sampled_from(["{nombre}", "{monto}", "{{", "}}", "{", "}", "{}", "{x y}", "abc", " ", "ñá",
                                   "{cuota}"]), max_size=12).map("".join)


@PROPERTY
@given(pieces)
def test_a_template_cut_once_fills_like_substitute(text):
    values = {"nombre": "Ana", "monto": "$ 1.000", "cuota": "{2}/3", "": "?"}
    assert _substituted(text, values) == substitute(text, values)
    assert _substituted(text, {}) == substitute(text, {})


texts = st.one_of(st.text(), st.text(alphabet="aáéíóúñÑ¿¡ “”‘’–—…€{}[]~^|\\ x\n"), st.text(alphabet=[chr(c) for c in range(128)]),
                  st.sampled_from([t.personal for v in DEFAULT_TEMPLATES.values() for t in v.texts.values()]))


@PROPERTY
@given(texts)
def test_transliterated_is_what_plan_sends(text):
    try:
        expected = pdu_plan(text, True).text
    except PduError:
        with pytest.raises(PduError):
            transliterated.__wrapped__(text)
        return
    assert transliterated.__wrapped__(text) == expected


def test_transliterated_refuses_what_plan_refuses():
    for text in ("\ud800 lone surrogate", "ж" * 17_100, "a" * 40_000):
        with pytest.raises(PduError):
            pdu_plan(text, True)
        with pytest.raises(PduError):
            transliterated.__wrapped__(text)
    assert transliterated.__wrapped__("á" * 9000) == pdu_plan("á" * 9000, True).text
