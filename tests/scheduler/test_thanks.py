"""Thank-yous for instalments paid on time (``[messages] thank_you``), as tables and as a property.

The world of the tables: Ana (Bogotá, Colombian rules) has loan L1, instalment 1 of $ 150.000 due
Tuesday 15/12/2026 and instalment 2 due 14/01/2027; an officer records her payment on the web page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_planner_properties import PROPERTY, worlds

from firmware_py.ledger.allocation import apply_payments
from firmware_py.ledger.results import LedgerSnapshot
from scheduler.clock import ClockTrust
from scheduler.errors import PolicyError
from scheduler.ladder import THANK_YOU_ID
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Settings
from scheduler.planner import SEND, SKIP, WAIT, contact_id, plan, reference_plan
from scheduler.policy import load_policy
from scheduler.reasons import Reason
from scheduler.templates import DEBT_WORDS, _fold

BOGOTA = ZoneInfo("America/Bogota")
DUE = date(2026, 12, 15)
THANKS = contact_id("d-1", "L1", 1, THANK_YOU_ID)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BOGOTA)


def debtor(id="d-1", phones=None) -> Debtor:
    return Debtor(id, "Ana Pérez", phones=tuple(phones or (Phone("+573001234567"),)))


def loan(id="L1", debtor_id="d-1", paid=(150000, 0), due=DUE, status="active") -> Loan:
    return Loan(id, debtor_id, status=status, instalments=tuple(
        Instalment(n + 1, due + timedelta(days=30 * n), Decimal(150000), Decimal(amount))
        for n, amount in enumerate(paid)))


def payment(on=date(2026, 12, 14), amount=150000, id="pay-1", loan_id="L1", debtor_id="d-1", **kw) -> Payment:
    return Payment(id, loan_id, debtor_id, Decimal(amount), on, kw.pop("source", "web"),
                   recorded_at=kw.pop("recorded_at", at("2026-12-14T16:00")), **kw)


def world(debtors=None, loans=None, payments=None, contacts=(), settings=None) -> LedgerSnapshot:
    return LedgerSnapshot(seq=1, debtors=tuple(debtors or [debtor()]), loans=tuple(loans or [loan()]),
                          payments=tuple([payment()] if payments is None else payments), promises=(),
                          opted_out=frozenset(), settings=Settings(settings or {}), contacts=tuple(contacts))


def policy(thanks=True, days=None, settings=None, clock=True):
    messages = {"thank_you": thanks} if thanks is not None else {}
    if days is not None:
        messages["thank_you_days"] = days
    chosen = load_policy({"rules": {"profile": "CO"}, "messages": messages, "segments": [{"name": "todos",
                                                                                          "ladder": "al_dia"}]},
                         cooperative_name="Coop Esperanza", clock=ClockTrust(clock, "given"))
    return chosen.with_settings(settings or {})


def thanks_of(decisions):
    return [d for d in decisions if d.step == THANK_YOU_ID]


def the_thanks(snapshot, chosen, now):
    decisions = plan(snapshot, chosen, now)
    assert decisions == reference_plan(snapshot, chosen, now)
    found = thanks_of(decisions)
    assert len(found) <= 1, found
    return found[0] if found else None


# -- when there is a thank-you ---------------------------------------------------------------------------------------
def test_paid_the_day_before_is_thanked_now_with_the_balance():
    decision = the_thanks(world(), policy(), at("2026-12-15T10:00"))
    assert (decision.action, decision.reason, decision.channel, decision.template) == \
        (SEND, Reason.DUE, "sms", "gracias_pago")
    assert (decision.contact_id, decision.loan, decision.instalment) == (THANKS, "L1", 1)
    assert decision.phone == "+573001234567"
    assert decision.text == "Coop Esperanza: ¡Gracias, Ana! Recibimos su pago a tiempo. Su saldo es $ 150.000."


@pytest.mark.parametrize("make_world,make_policy,now", [
    (lambda: world(), lambda: policy(thanks=None), "2026-12-15T10:00"),
    (lambda: world(), lambda: policy(thanks=False), "2026-12-15T10:00"),
    (lambda: world(payments=[payment(on=date(2026, 12, 16))]), policy, "2026-12-16T10:00"),
    (lambda: world(loans=[loan(paid=(75000, 0))], payments=[payment(amount=75000)]), policy, "2026-12-15T10:00"),
    (lambda: world(payments=[payment(on=date(2026, 12, 10))]), policy, "2026-12-15T10:00"),
    (lambda: world(), policy, "2026-12-18T10:00"),
    (lambda: world(payments=[payment(reconciled=True)]), policy, "2026-12-15T10:00"),
    (lambda: world(payments=[payment(source="import", reconciled=True)]), policy, "2026-12-15T10:00"),
    (lambda: world(payments=[payment(source="sms", status="pending")], loans=[loan(paid=(0, 0))]), policy,
     "2026-12-15T10:00"),
    (lambda: world(payments=[]), policy, "2026-12-15T10:00"),
    (lambda: world(contacts=[ContactEvent(at("2026-12-14T17:00"), "d-1", "sent", contact_id=THANKS,
                                          loan_external_id="L1")]), policy, "2026-12-15T10:00"),
    (lambda: world(contacts=[ContactEvent(at("2026-12-14T17:00"), "d-1", "sending", contact_id=THANKS)]), policy,
     "2026-12-15T10:00"),
    (lambda: world(loans=[loan(), loan("L2", due=date(2026, 12, 1), paid=(0,))]), policy, "2026-12-15T10:00"),
    (lambda: world(loans=[loan(status="written_off")]), policy, "2026-12-15T10:00"),
], ids=["setting-absent", "setting-off", "paid-a-day-late", "paid-in-part", "paid-five-days-ago",
        "thanked-window-over", "reconciled-by-the-file", "imported-payment", "pending-sms-claim", "no-payment-record",
        "already-thanked", "thanks-in-doubt", "another-loan-late", "loan-written-off"])
def test_no_thank_you(make_world, make_policy, now):
    assert the_thanks(make_world(), make_policy(), at(now)) is None


def test_paid_on_the_due_date_is_on_time():
    paid = world(payments=[payment(on=DUE, recorded_at=at("2026-12-15T09:00"))])
    assert the_thanks(paid, policy(), at("2026-12-15T10:00")).action == SEND


def test_an_older_payment_is_thanked_when_the_setting_allows_more_days():
    old = world(payments=[payment(on=date(2026, 12, 10))])
    assert the_thanks(old, policy(days=5), at("2026-12-15T10:00")).action == SEND
    assert the_thanks(old, policy(days=4), at("2026-12-15T10:00")) is None


def test_a_retried_thank_you_is_planned_again():
    retried = [ContactEvent(at("2026-12-15T09:00"), "d-1", "sending", contact_id=THANKS),
               ContactEvent(at("2026-12-15T09:00"), "d-1", "retry", contact_id=THANKS)]
    assert the_thanks(world(contacts=retried), policy(), at("2026-12-15T10:00")).action == SEND


def test_the_last_loan_instalment_closes_it_and_is_still_thanked():
    paid = world(loans=[loan(paid=(150000,), status="paid")])
    decision = the_thanks(paid, policy(), at("2026-12-15T10:00"))
    assert decision.action == SEND and decision.text.endswith("Su saldo es $ 0.")


def test_one_payment_for_two_instalments_is_thanked_once_for_the_later():
    both = world(loans=[loan(paid=(150000, 150000))], payments=[payment(amount=300000)])
    decision = the_thanks(both, policy(), at("2026-12-15T10:00"))
    assert (decision.instalment, decision.action) == (2, SEND)


def test_an_early_payment_of_the_next_instalment_is_thanked():
    # the file says instalment 1 was paid (no date); the web payment pays instalment 2 weeks early
    early = world(loans=[loan(paid=(150000, 150000))],
                  payments=[payment(on=date(2026, 12, 20), recorded_at=at("2026-12-20T11:00"))])
    decision = the_thanks(early, policy(), at("2026-12-21T10:00"))
    assert (decision.instalment, decision.action) == (2, SEND)


# -- the rules still hold ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("phones,reason", [
    ([Phone("+573001234567", opted_out=True)], Reason.OPTED_OUT),
    ([Phone("+573001234567", channels=frozenset({"call"}))], Reason.CHANNEL_NOT_AUTHORISED),
], ids=["opted-out", "sms-not-authorised"])
def test_a_number_that_may_not_get_an_sms_gets_no_thank_you(phones, reason):
    decision = the_thanks(world(debtors=[debtor(phones=phones)]), policy(), at("2026-12-15T10:00"))
    assert (decision.action, decision.reason, decision.phone, decision.text) == (SKIP, reason, "", "")


def test_a_shared_phone_gets_the_discreet_thank_you():
    shared = world(debtors=[debtor(phones=[Phone("+573001234567", personal=False)])])
    decision = the_thanks(shared, policy(), at("2026-12-15T10:00"))
    assert decision.action == SEND
    assert decision.text == "Coop Esperanza: ¡Gracias, Ana! Lo esperamos pronto."


def test_at_night_it_waits_for_the_morning():
    decision = the_thanks(world(), policy(), at("2026-12-14T20:30"))
    assert (decision.action, decision.reason, decision.at) == (WAIT, Reason.QUIET_HOURS, at("2026-12-15T07:00"))


def test_a_sunday_and_a_holiday_can_outlast_it():
    # paid Thursday 24/12; Christmas (Friday) is a holiday, then Saturday 26/12 08:00 is within 3 days
    xmas = world(loans=[loan(paid=(150000, 0), due=date(2026, 12, 28))],
                 payments=[payment(on=date(2026, 12, 24), recorded_at=at("2026-12-24T19:30"))])
    decision = the_thanks(xmas, policy(), at("2026-12-25T10:00"))
    assert (decision.action, decision.reason, decision.at) == (WAIT, Reason.HOLIDAY, at("2026-12-26T08:00"))
    # with no day to spare, the holiday outlasts it
    decision = the_thanks(xmas, policy(days=1), at("2026-12-25T10:00"))
    assert (decision.action, decision.reason) == (SKIP, Reason.HOLIDAY)


def test_a_reminder_goes_first_and_the_thank_you_waits_for_tomorrow():
    # L2 is due today (not late): Colombia allows one contact a day after a direct contact
    two = world(loans=[loan(), loan("L2", due=date(2026, 12, 15), paid=(0,))])
    decisions = plan(two, policy(), at("2026-12-15T10:00"))
    assert decisions == reference_plan(two, policy(), at("2026-12-15T10:00"))
    reminder = next(d for d in decisions if d.loan == "L2")
    thanks = thanks_of(decisions)[0]
    assert (reminder.action, reminder.step) == (SEND, "0")
    assert (thanks.action, thanks.reason, thanks.at) == (WAIT, Reason.DAILY_CAP, at("2026-12-16T07:00"))


def test_the_sims_last_message_goes_to_a_reminder_of_any_debtor():
    # d-1 (thanked) sorts before d-2 (a reminder due today); the SIM has one message left
    others = world(debtors=[debtor(), debtor("d-2", phones=[Phone("+573009999999")])],
                   loans=[loan(), loan("L9", "d-2", due=date(2026, 12, 15), paid=(0,))],
                   settings={"daily_sms_cap": 1})
    chosen = policy(settings=others.settings)
    decisions = plan(others, chosen, at("2026-12-15T10:00"))
    assert decisions == reference_plan(others, chosen, at("2026-12-15T10:00"))
    assert [(d.debtor_id, d.action) for d in decisions if d.action == SEND] == [("d-2", SEND)]
    assert (thanks_of(decisions)[0].action, thanks_of(decisions)[0].reason) == (WAIT, Reason.SIM_CAP)


@pytest.mark.parametrize("chosen,reason", [
    (lambda: policy(clock=False), Reason.CLOCK_UNTRUSTED),
    (lambda: policy(settings={"sending_paused": True}), Reason.PAUSED),
], ids=["clock-untrusted", "paused"])
def test_global_gates_hold_the_thank_you(chosen, reason):
    decision = the_thanks(world(), chosen(), at("2026-12-15T10:00"))
    assert (decision.action, decision.reason) == (WAIT, reason)


@pytest.mark.parametrize("messages,key", [
    ({"thank_you": "yes"}, "messages.thank_you"),
    ({"thank_you_days": -1}, "messages.thank_you_days"),
    ({"thank_you_days": 31}, "messages.thank_you_days"),
    ({"thank_you_days": True}, "messages.thank_you_days"),
], ids=["not-a-boolean", "negative-days", "too-many-days", "boolean-days"])
def test_bad_settings_are_refused_naming_the_key(messages, key):
    with pytest.raises(PolicyError) as refused:
        load_policy({"messages": messages})
    assert refused.value.key == key


def test_off_by_default():
    chosen = load_policy({})
    assert (chosen.thank_you, chosen.thank_you_days) == (False, 3)


# -- properties --------------------------------------------------------------------------------------------------------
ZONES = ("America/Bogota", "America/Mexico_City", "America/Lima", "America/Santiago", "America/New_York")


@st.composite
def paying_worlds(draw):
    """Debtors whose loans are paid up to some instalment by the file and then by web payments dated
    around the due date and around now (some in part, some pending or reconciled), some late on
    another loan, phones of every kind, thank-yous already tried, any hour; the setting on."""
    now = datetime(2026, 1, 1, 12, tzinfo=BOGOTA) + timedelta(days=draw(st.integers(0, 364)),
                                                             minutes=draw(st.integers(-14 * 60, 12 * 60)))
    profile = draw(st.sampled_from(["CO", "MX", "PE", "CL", "US"]))
    debtors, loans, payments, contacts = [], [], [], []
    numbers = [f"+5730012{i:05d}" for i in range(4)]
    for d in range(draw(st.integers(1, 3))):
        own = draw(st.lists(st.sampled_from(numbers), min_size=draw(st.sampled_from([1, 1, 1, 0])), max_size=2,
                            unique=True))
        phones = tuple(Phone(n, personal=draw(st.booleans()), opted_out=draw(st.sampled_from([False] * 4 + [True])),
                             channels=frozenset(draw(st.sampled_from([{"sms"}, {"sms"}, {"call"}, {"sms", "call"}]))))
                       for n in own)
        did = f"d-{d}"
        zone = draw(st.sampled_from(ZONES))
        debtors.append(Debtor(did, "Ana Pérez", phones=phones, timezone=zone, jurisdiction=profile))
        for k in range(draw(st.integers(1, 2))):
            first = now.date() + timedelta(days=draw(st.integers(-40, 10)))
            count = draw(st.integers(1, 3))
            amount = Decimal(draw(st.integers(1, 9))) * 10000
            filed = draw(st.integers(0, count))  # instalments the file says are paid
            lid = f"L{d}-{k}"
            loan = Loan(lid, did, instalments=tuple(
                Instalment(n + 1, first + timedelta(days=30 * n), amount, amount if n < filed else Decimal(0))
                for n in range(count)), status=draw(st.sampled_from(["active"] * 5 + ["paid", "cancelled"])))
            owed = loan.oldest_unpaid()
            if owed is not None and draw(st.sampled_from([True, True, True, False])):
                paid = [Payment(f"pay-{lid}-{j}", lid, did, draw(st.sampled_from([amount, amount, amount / 2,
                                                                                   amount * 2])),
                                draw(st.sampled_from([owed.due_date, now.date()]))
                                + timedelta(days=draw(st.integers(-5, 2))), "web",
                                status=draw(st.sampled_from(["confirmed"] * 5 + ["pending", "rejected"])),
                                reconciled=draw(st.sampled_from([False] * 5 + [True])), recorded_at=now - timedelta(hours=j))
                        for j in range(draw(st.integers(1, 2)))]
                payments.extend(paid)
                loan = apply_payments(loan, [p for p in paid if not p.reconciled])
                for _ in range(draw(st.integers(0, 2))):
                    cid = contact_id(did, lid, draw(st.integers(1, count)), THANK_YOU_ID)
                    kind = draw(st.sampled_from(["sent", "sending", "retry", "failed", "delivered"]))
                    contacts.append(ContactEvent(now - timedelta(minutes=draw(st.integers(1, 4000))), did, kind,
                                                 contact_id=cid, loan_external_id=lid))
            loans.append(loan)
        for j in range(draw(st.sampled_from([0, 0, 1, 3]))):
            contacts.append(ContactEvent(now - timedelta(minutes=draw(st.integers(1, 9 * 24 * 60))), did, "sent",
                                         channel=draw(st.sampled_from(["sms", "call"])), contact_id=f"old-{d}-{j}"))
    chosen = load_policy({"rules": {"profile": profile},
                          "messages": {"thank_you": True, "thank_you_days": draw(st.sampled_from([0, 1, 3, 7]))}},
                         country=profile, clock=ClockTrust(draw(st.sampled_from([True, True, True, False])), "given"))
    chosen = chosen.with_settings({"daily_sms_cap": draw(st.sampled_from([None, None, 1, 0])),
                                   "sending_paused": draw(st.sampled_from([False] * 5 + [True]))})
    snapshot = LedgerSnapshot(seq=1, debtors=tuple(debtors), loans=tuple(loans), payments=tuple(payments),
                              promises=(), opted_out=frozenset(), settings=Settings({}), contacts=tuple(contacts))
    return snapshot, chosen, now


def _paid_in_time(snapshot, decision, today, days) -> bool:
    """An independent reading of "paid in full on time, at most ``days`` ago": the amounts paid by the
    end of the due day (the file's undated amounts, then the web payments dated up to that day) cover
    this instalment and every earlier one, and did not yet ``days + 1`` days before today."""
    loan = next(l for l in snapshot.loans if l.external_id == decision.loan)
    instalment = next(i for i in loan.instalments if i.number == decision.instalment)
    dated = [p for p in snapshot.payments if p.loan_external_id == loan.external_id and p.status == "confirmed"
             and not p.reconciled]
    undated = sum((min(i.paid_amount, i.amount) for i in loan.instalments), Decimal(0)) - \
        sum((p.amount for p in dated), Decimal(0))
    needed = sum((i.amount for i in loan.instalments if i.number <= instalment.number), Decimal(0))

    def paid_by(day):
        return max(undated, Decimal(0)) + sum((p.amount for p in dated if p.date <= day), Decimal(0))

    return (instalment.paid_amount >= instalment.amount and paid_by(instalment.due_date) >= needed
            and paid_by(today - timedelta(days=days + 1)) < needed)


def _check_thanks(snapshot, chosen, now, decisions) -> None:
    thanks = thanks_of(decisions)
    if not chosen.thank_you:
        assert not thanks
    # attempted: an outbound event of these kinds, unless the radio certainly sent nothing (its last event,
    # in time then log order, is a retry and none is a result)
    by_contact: dict[str, list] = {}
    for event in sorted(snapshot.contacts, key=lambda e: e.at):
        if event.direction == "outbound" and event.contact_id:
            by_contact.setdefault(event.contact_id, []).append(event.kind)
    results = {"sent", "delivered", "failed", "uncertain", "expired"}
    attempted = {cid for cid, kinds in by_contact.items()
                 if (set(kinds) & results or kinds[-1] != "retry") and set(kinds) & (results | {"sending"})}
    seen = set()
    for decision in thanks:
        debtor = snapshot.debtor(decision.debtor_id)
        zone = ZoneInfo(debtor.timezone)
        today = now.astimezone(zone).date()
        assert decision.contact_id == contact_id(debtor.id, decision.loan, decision.instalment, THANK_YOU_ID)
        assert (decision.loan, decision.instalment) not in seen  # never twice in a plan
        seen.add((decision.loan, decision.instalment))
        assert _paid_in_time(snapshot, decision, today, chosen.thank_you_days)  # never unpaid, late or old
        assert decision.contact_id not in attempted  # never again once attempted
        if decision.action != SEND:
            continue
        assert decision.channel == "sms" and chosen.clock.trusted and not chosen.paused
        profile = chosen.profiles.for_debtor(debtor.id, debtor.jurisdiction)
        local = now.astimezone(zone)
        assert profile.within_hours(local.time(), local.weekday())  # never outside hours
        if profile.closed_on_holidays:
            assert chosen.calendar_for(profile).holiday_name(local.date()) is None
        phone = debtor.phone(decision.phone)
        assert phone is not None and not phone.opted_out and "sms" in phone.channels  # never opted out
        if not phone.personal:  # a shared phone: nothing about money
            folded = _fold(decision.text.replace(chosen.cooperative.name, ""))
            assert not any(word in folded for word in DEBT_WORDS) and not any(c.isdigit() for c in folded)


@PROPERTY
@given(paying_worlds())
def test_thanks_only_for_recent_on_time_payments_once_within_the_rules(world):
    snapshot, chosen, now = world
    decisions = plan(snapshot, chosen, now)
    _check_thanks(snapshot, chosen, now, decisions)
    assert decisions == reference_plan(snapshot, chosen, now)


@PROPERTY
@given(worlds())
def test_random_worlds_thank_within_the_rules(world):
    _check_thanks(*world, plan(*world))


def test_the_paying_worlds_do_thank():
    """Guard against a vacuous property: paying worlds do produce thank-yous sent, waiting and skipped."""
    from hypothesis import HealthCheck, Phase, find, settings
    for action in (SEND, WAIT, SKIP):
        find(paying_worlds(), lambda w: any(d.action == action for d in thanks_of(plan(*w))),
             settings=settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck),
                               phases=[Phase.generate]))  # finding one is the point: no shrinking
