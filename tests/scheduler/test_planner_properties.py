"""Properties of the planner over random ledgers, profiles, promises, opt-outs and clocks.

Whatever the schedule, a ``send`` is never outside the profile's hours, days
or holidays in the debtor's zone, never beyond a cap (counting the contact
log and the plan's own sends, checked here by independent counting code),
never to an opted-out or unauthorised number, never during a pending promise
or for a paid instalment, never with an untrusted clock or while paused; a
shared phone's text discloses no amount and no debt; every ``wait`` and
``skip`` has a reason; the same inputs give the same decisions.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.ledger.allocation import apply_payments
from firmware_py.ledger.results import LedgerSnapshot
from scheduler.clock import ClockTrust
from scheduler.ladder import THANK_YOU_ID
from scheduler.model import (ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Promise, Settings,
                             promise_status)
from scheduler.planner import SEND, SKIP, WAIT, contact_id, plan
from scheduler.policy import load_policy
from scheduler.reasons import Reason
from scheduler.rules import BUILTIN
from scheduler.rules.check import channel_family
from scheduler.templates import DEBT_WORDS, _fold

ZONES = ("America/Bogota", "America/Mexico_City", "America/Lima", "America/Santiago", "America/New_York")
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROFILES = sorted(BUILTIN)


@st.composite
def phones(draw, index: int):
    number = f"+5730012{index:05d}"
    channels = draw(st.sampled_from([{"sms"}, {"sms"}, {"sms", "call"}, {"call"}, set()]))
    return Phone(number, personal=draw(st.booleans()), channels=frozenset(channels))


@st.composite
def worlds(draw):
    # mostly during the Americas' working hours (12:00-23:59 UTC), sometimes at night
    day = BASE + timedelta(days=draw(st.integers(0, 364)))
    hour = draw(st.one_of(st.integers(12, 23), st.integers(12, 23), st.integers(0, 23)))
    now = day + timedelta(hours=hour, minutes=draw(st.integers(0, 59)))
    profile = draw(st.sampled_from(PROFILES))
    debtors, loans, promises, contacts, payments = [], [], [], [], []
    phone_pool = [draw(phones(i)) for i in range(draw(st.integers(1, 5)))]
    for d in range(draw(st.integers(1, 4))):
        own = draw(st.lists(st.sampled_from(phone_pool), min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=2,
                            unique_by=lambda p: p.number))
        debtor = Debtor(id=f"d-{d}", name=draw(st.sampled_from(["Ana Pérez", "Luis Díaz", "María Quispe"])),
                        phones=tuple(own), timezone=draw(st.sampled_from(ZONES)),
                        jurisdiction=draw(st.sampled_from(PROFILES)))
        debtors.append(debtor)
        for k in range(draw(st.integers(1, 3))):
            first_due = now.date() + timedelta(days=draw(st.one_of(st.integers(-8, 8), st.integers(-70, 40))))
            count = draw(st.integers(1, 4))
            instalments = []
            for n in range(count):
                amount = Decimal(draw(st.integers(1, 500))) * 1000
                paid = draw(st.sampled_from([Decimal(0), Decimal(0), amount, amount / 2]))
                instalments.append(Instalment(n + 1, first_due + timedelta(days=30 * n), amount, paid))
            status = draw(st.sampled_from(["active"] * 7 + ["paid"]))
            loan = Loan(f"L{d}-{k}", debtor.id, instalments=tuple(instalments), status=status)
            owed = loan.oldest_unpaid()
            if owed is not None and draw(st.sampled_from([False, False, True])):
                # paid on the web (allocated into the loan as a snapshot shows it), maybe thanked already
                paid = [Payment(f"pay-{d}-{k}-{j}", loan.external_id, debtor.id,
                                draw(st.sampled_from([owed.outstanding, owed.outstanding / 2, owed.amount * 2])),
                                draw(st.sampled_from([owed.due_date, now.date()]))
                                + timedelta(days=draw(st.integers(-6, 2))), "web",
                                status=draw(st.sampled_from(["confirmed"] * 4 + ["pending"])),
                                reconciled=draw(st.sampled_from([False] * 4 + [True])),
                                recorded_at=now - timedelta(hours=draw(st.integers(0, 200))))
                        for j in range(draw(st.integers(1, 2)))]
                payments.extend(paid)
                loan = apply_payments(loan, [p for p in paid if not p.reconciled])
                if draw(st.sampled_from([False, False, False, True])):
                    contacts.append(ContactEvent(now - timedelta(hours=draw(st.integers(1, 60))), debtor.id,
                                                 draw(st.sampled_from(["sent", "sending", "retry", "delivered"])),
                                                 contact_id=contact_id(debtor.id, loan.external_id,
                                                                       draw(st.sampled_from([owed.number,
                                                                                             owed.number + 1])),
                                                                       THANK_YOU_ID),
                                                 loan_external_id=loan.external_id))
            loans.append(loan)
        if draw(st.integers(0, 3)) == 0:
            promises.append(Promise(f"p-{d}", debtor.id, now.date() + timedelta(days=draw(st.integers(-5, 10))),
                                    Decimal(draw(st.integers(1, 100))) * 1000, "sms",
                                    now - timedelta(days=draw(st.integers(1, 10)))))
        for j in range(draw(st.sampled_from([0, 0, 1, 2, 4, 6]))):
            channel = draw(st.sampled_from(["sms", "sms", "call", "ring", "visit"]))
            at = now - timedelta(minutes=draw(st.integers(1, 14 * 24 * 60)))
            kind = draw(st.sampled_from(["sending", "sent", "delivered", "uncertain", "failed"]))
            contacts.append(ContactEvent(at, debtor.id, kind, channel=channel, contact_id=f"old-{d}-{j}",
                                         phone=own[0].number if own else ""))
        if draw(st.booleans()):
            contacts.append(ContactEvent(now - timedelta(hours=draw(st.integers(1, 200))), debtor.id, "reply",
                                         direction="inbound", text="SALDO"))
    opted = frozenset(p.number for p in phone_pool if draw(st.booleans()) and draw(st.booleans()))
    debtors = [Debtor(**{**_fields(d), "phones": tuple(Phone(p.number, p.personal, p.channels, p.number in opted)
                                                           for p in d.phones)}) for d in debtors]
    snapshot = LedgerSnapshot(seq=1, debtors=tuple(debtors), loans=tuple(loans), payments=tuple(payments),
                              promises=tuple(promises), opted_out=opted, settings=Settings({}),
                              contacts=tuple(sorted(contacts, key=lambda e: e.at)))
    trusted = draw(st.sampled_from([True, True, True, False]))
    messages = {"thank_you": draw(st.booleans()), "thank_you_days": draw(st.sampled_from([0, 1, 3, 3, 7]))}
    policy = load_policy({"rules": {"profile": profile}, "messages": messages}, country=profile,
                         clock=ClockTrust(trusted, "given" if trusted else "no_source"))
    policy = policy.with_settings({"sending_paused": draw(st.sampled_from([False, False, False, True])),
                                   "daily_sms_cap": draw(st.sampled_from([None, None, 2, 0]))})
    return snapshot, policy, now


def _fields(debtor: Debtor) -> dict:
    return {f: getattr(debtor, f) for f in ("id", "name", "document", "phones", "language", "timezone",
                                            "jurisdiction", "loan_officer", "group", "tags")}


EXAMPLES = int(os.environ.get("COBRADOR_PROPERTY_EXAMPLES", "120"))
"""Random worlds per property (CI's bounded size; raise it with the environment variable to search longer)."""
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _attempts(snapshot, decisions, debtor_id, now):
    """History attempts (first counting event per contact) and the plan's sends, as (time, channel)."""
    first = {}
    for event in snapshot.contacts:
        if event.debtor_id == debtor_id and event.direction == "outbound" and \
                event.kind in ("sending", "sent", "delivered", "uncertain"):
            first.setdefault(event.contact_id, (event.at, event.channel))
    return sorted(first.values()) + [(now, d.channel) for d in decisions if d.debtor_id == debtor_id and d.action == SEND]


@PROPERTY
@given(worlds())
def test_sends_respect_hours_days_and_holidays(world):
    snapshot, policy, now = world
    for decision in plan(snapshot, policy, now):
        if decision.action != SEND:
            continue
        debtor = snapshot.debtor(decision.debtor_id)
        profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
        local = decision.at.astimezone(ZoneInfo(debtor.timezone))
        assert decision.at == now
        assert profile.within_hours(local.time(), local.weekday()), (profile.code, local)
        if profile.closed_on_holidays:
            assert policy.calendar_for(profile).holiday_name(local.date()) is None


@PROPERTY
@given(worlds())
def test_no_cap_is_exceeded(world):
    snapshot, policy, now = world
    decisions = plan(snapshot, policy, now)
    for debtor in snapshot.debtors:
        sends = [d for d in decisions if d.debtor_id == debtor.id and d.action == SEND]
        if not sends:
            continue
        profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
        zone = ZoneInfo(debtor.timezone)
        everything = _attempts(snapshot, decisions, debtor.id, now)
        today = now.astimezone(zone).date()
        week_start = today - timedelta(days=today.weekday())
        for cap in profile.caps:
            for send in sends:
                if send.channel not in cap.channels:
                    continue
                mine = [(t, c) for t, c in everything if c in cap.channels]
                if cap.period == "day" and cap.limit is not None:
                    assert sum(1 for t, _ in mine if t.astimezone(zone).date() == today) <= cap.limit
                if cap.period == "week" and cap.limit is not None:
                    assert sum(1 for t, _ in mine if now - timedelta(days=7) < t <= now) <= cap.limit
                    assert sum(1 for t, _ in mine if week_start <= t.astimezone(zone).date() <= today) <= cap.limit
                if cap.min_gap_days:
                    days = sorted({t.astimezone(zone).date() for t, _ in mine})
                    assert all((b - a).days >= cap.min_gap_days for a, b in zip(days, days[1:]))
        if profile.one_channel_per_week:
            for send in sends:
                others = [t for t, c in everything
                          if channel_family(c) != channel_family(send.channel) and t < now]
                assert not any(t > now - timedelta(days=7) or t.astimezone(zone).date() >= week_start for t in others)


@PROPERTY
@given(worlds())
def test_never_to_opted_out_unauthorised_paid_promised_or_when_stopped(world):
    snapshot, policy, now = world
    loans = {loan.external_id: loan for loan in snapshot.loans}
    for decision in plan(snapshot, policy, now):
        if decision.action != SEND:
            continue
        assert policy.clock.trusted and not policy.paused
        debtor = snapshot.debtor(decision.debtor_id)
        if decision.channel != "visit":
            phone = debtor.phone(decision.phone)
            assert phone is not None and not phone.opted_out and decision.phone not in snapshot.opted_out
            assert ("call" if decision.channel in ("call", "ring") else "sms") in phone.channels
        loan = loans[decision.loan]
        instalment = next(i for i in loan.instalments if i.number == decision.instalment)
        if decision.step == THANK_YOU_ID:  # a thank-you: for a paid instalment (see test_thanks)
            assert loan.status in ("active", "paid") and instalment.outstanding == 0
            continue
        assert loan.status == "active"
        assert instalment.outstanding > 0
        today = now.astimezone(ZoneInfo(debtor.timezone)).date()
        for promise in snapshot.promises_of(debtor.id):
            assert promise_status(promise, snapshot.payments_of(debtor.id), today,
                                  grace_days=policy.promise_grace_days) != "pending"


@PROPERTY
@given(worlds())
def test_shared_phones_get_no_amount_and_no_debt(world):
    snapshot, policy, now = world
    for decision in plan(snapshot, policy, now):
        if decision.action == SKIP or not decision.phone or not decision.text:
            continue
        phone = snapshot.debtor(decision.debtor_id).phone(decision.phone)
        if phone.personal:
            continue
        folded = _fold(decision.text.replace(policy.cooperative.name, ""))
        assert not any(word in folded for word in DEBT_WORDS), decision.text
        assert not any(ch.isdigit() for ch in decision.text.replace(policy.cooperative.phone, "")), decision.text


@PROPERTY
@given(worlds())
def test_every_wait_and_skip_has_a_reason_and_waits_name_a_later_time(world):
    snapshot, policy, now = world
    for decision in plan(snapshot, policy, now):
        if decision.action == SEND:
            assert decision.reason == Reason.DUE and decision.contact_id
        else:
            assert decision.action in (WAIT, SKIP)
            assert decision.reason != Reason.DUE
        if decision.action == WAIT:
            assert decision.at >= now
        assert decision.at.tzinfo is not None


@settings(max_examples=max(EXAMPLES // 3, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.randoms(use_true_random=False))
def test_same_inputs_same_decisions(world, rnd):
    snapshot, policy, now = world
    first = plan(snapshot, policy, now)
    debtors = list(snapshot.debtors)
    rnd.shuffle(debtors)
    contacts = list(snapshot.contacts)
    rnd.shuffle(contacts)
    shuffled = LedgerSnapshot(seq=snapshot.seq, debtors=tuple(debtors), loans=tuple(reversed(snapshot.loans)),
                              payments=tuple(reversed(snapshot.payments)), promises=snapshot.promises,
                              opted_out=snapshot.opted_out,
                              settings=snapshot.settings, contacts=tuple(contacts))
    assert plan(shuffled, policy, now) == first
    assert plan(snapshot, policy, now) == first


@PROPERTY
@given(worlds())
def test_contact_ids_are_unique_among_sends(world):
    snapshot, policy, now = world
    sends = [d.contact_id for d in plan(snapshot, policy, now) if d.action == SEND]
    assert len(sends) == len(set(sends))


def test_the_generator_reaches_sends_of_every_channel_family():
    """Guard against vacuous properties: random worlds do produce sends (SMS and voice)."""
    from hypothesis import Phase, find
    for family in ("sms", "voice"):
        find(worlds(), lambda w: any(d.action == SEND and channel_family(d.channel) == family
                                     for d in plan(*w)),
             settings=settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck),
                               phases=[Phase.generate]))  # finding one is the point: no shrinking
