"""The planner as tables: (ledger state, now) -> decision, one row per situation, with ids."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from firmware_py.ledger.results import LedgerSnapshot
from scheduler.clock import ClockTrust
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Promise, Settings
from scheduler.planner import SEND, SKIP, WAIT, contact_id, plan
from scheduler.policy import load_policy
from scheduler.reasons import Reason

BOGOTA = ZoneInfo("America/Bogota")
SANTIAGO = ZoneInfo("America/Santiago")
NEW_YORK = ZoneInfo("America/New_York")
TRUSTED = ClockTrust(True, "given")


def debtor(id="d-1", *, phones=None, zone="America/Bogota", jurisdiction="CO", language="es", name="Ana Pérez"):
    return Debtor(id, name, phones=tuple(phones or (Phone("+573001234567", channels=frozenset({"sms", "call"})),)),
                  timezone=zone, jurisdiction=jurisdiction, language=language)


def loan(id="L1", debtor_id="d-1", due=date(2026, 12, 15), amount=150000, paid=0, status="active", count=1):
    instalments = tuple(Instalment(n + 1, due + timedelta(days=30 * n), Decimal(amount), Decimal(paid if n == 0 else 0))
                        for n in range(count))
    return Loan(id, debtor_id, instalments=instalments, status=status)


def snapshot(debtors, loans, *, contacts=(), promises=(), payments=(), settings=None):
    return LedgerSnapshot(seq=1, debtors=tuple(debtors), loans=tuple(loans), payments=tuple(payments),
                          promises=tuple(promises), opted_out=frozenset(), settings=Settings(settings or {}),
                          contacts=tuple(contacts))


ONE_SEGMENT = [{"name": "todos", "ladder": "al_dia"}]
"""Everyone on the "al_dia" ladder: the tables below follow one ladder whatever the days late."""


def policy(profile="CO", **sections):
    rules = {"profile": profile, **sections.pop("rules", {})}
    sections.setdefault("segments", ONE_SEGMENT)
    return load_policy({"rules": rules, **sections}, country=profile if profile != "custom" else "CO",
                       cooperative_name="Coop Esperanza", clock=TRUSTED)


def at(text, zone=BOGOTA):
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def only(decisions, loan_id="L1"):
    found = [d for d in decisions if d.loan == loan_id]
    assert len(found) == 1, found
    return found[0]


# -- the ladder in time ----------------------------------------------------------------------------------------------
# Default "al_dia" ladder: -3, 0, +3, +7 at 09:00; due 15/12/2026 (a Tuesday)
@pytest.mark.parametrize("now,action,reason,step", [
    ("2026-12-01T10:00", WAIT, Reason.SCHEDULED, "-3"),
    ("2026-12-12T08:59", WAIT, Reason.SCHEDULED, "-3"),   # Saturday 12/12, step at 09:00
    ("2026-12-12T09:00", SEND, Reason.DUE, "-3"),
    ("2026-12-13T10:00", WAIT, Reason.SUNDAY, "-3"),       # the -3 step not sent Saturday: Sunday closed
    ("2026-12-14T10:00", SEND, Reason.DUE, "-3"),          # Monday: still before the 0 step
    ("2026-12-15T09:30", SEND, Reason.DUE, "0"),           # due day: the -3 step is superseded
    ("2026-12-15T20:00", WAIT, Reason.QUIET_HOURS, "0"),
    ("2026-12-18T09:00", SEND, Reason.DUE, "+3"),
    ("2026-12-25T10:00", WAIT, Reason.HOLIDAY, "+7"),       # Christmas (a Friday): wait for Saturday 08:00
], ids=["weeks-before", "step-hour-not-yet", "step-hour", "colombian-sunday", "monday-catch-up", "due-day",
        "due-day-evening", "three-days-late", "christmas"])
def test_ladder_over_time(now, action, reason, step):
    decision = only(plan(snapshot([debtor()], [loan()]), policy(), at(now)))
    assert (decision.action, decision.reason, decision.step) == (action, reason, step)


def test_skip_after_the_last_step_lapses():
    decision = only(plan(snapshot([debtor()], [loan()]), policy(), at("2027-01-05T10:00")))
    assert (decision.action, decision.reason) == (SKIP, Reason.LADDER_DONE)


def test_christmas_wait_ends_on_saturday_morning():
    decision = only(plan(snapshot([debtor()], [loan()]), policy(), at("2026-12-25T10:00")))
    assert decision.at == at("2026-12-26T08:00")


def test_segments_choose_the_ladder():
    late = plan(snapshot([debtor()], [loan(due=date(2026, 11, 1))]), policy(segments=None), at("2026-12-15T10:00"))
    assert only(late).segment == "mora_grave" and only(late).step == "+30"


def test_a_wait_names_when_it_ends():
    decision = only(plan(snapshot([debtor()], [loan()]), policy(), at("2026-12-13T10:00")))
    assert decision.at == at("2026-12-14T07:00")


def test_sent_step_is_not_planned_again():
    cid = contact_id("d-1", "L1", 1, "0")
    sent = ContactEvent(at("2026-12-15T09:00"), "d-1", "sent", contact_id=cid, loan_external_id="L1")
    decision = only(plan(snapshot([debtor()], [loan()], contacts=[sent]), policy(), at("2026-12-15T11:00")))
    assert decision.action == WAIT and decision.step == "+3"


def test_uncertain_contact_is_not_retried_by_the_planner():
    cid = contact_id("d-1", "L1", 1, "0")
    events = [ContactEvent(at("2026-12-15T09:00"), "d-1", "sending", contact_id=cid),
              ContactEvent(at("2026-12-15T09:05"), "d-1", "uncertain", contact_id=cid)]
    decision = only(plan(snapshot([debtor()], [loan()], contacts=events), policy(), at("2026-12-15T12:00")))
    assert decision.step == "+3" and decision.action == WAIT


# -- what the debtor and the loan allow -------------------------------------------------------------------------------
@pytest.mark.parametrize("make,reason", [
    (lambda: (debtor(), loan(paid=150000)), Reason.ALREADY_PAID),
    (lambda: (debtor(), loan(status="written_off")), Reason.LOAN_CLOSED),
    (lambda: (debtor(phones=[Phone("+573001234567", opted_out=True)]), loan()), Reason.OPTED_OUT),
    (lambda: (debtor(phones=[Phone("+573001234567", channels=frozenset({"call"}))]), loan()),
     Reason.CHANNEL_NOT_AUTHORISED),
], ids=["paid-instalment", "written-off-loan", "opted-out", "sms-not-authorised"])
def test_skips(make, reason):
    d, l = make()
    decision = only(plan(snapshot([d], [l]), policy(), at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (SKIP, reason)
    assert decision.phone == ""


def test_paid_instalment_moves_to_the_next_one():
    decision = only(plan(snapshot([debtor()], [loan(paid=150000, count=2)]), policy(), at("2026-12-15T10:00")))
    assert decision.instalment == 2 and decision.action == WAIT and decision.reason == Reason.SCHEDULED


def test_pending_promise_waits_until_it_ends_plus_grace():
    promise = Promise("p1", "d-1", date(2026, 12, 16), Decimal(150000), "sms", at("2026-12-14T10:00"))
    decision = only(plan(snapshot([debtor()], [loan()], promises=[promise]), policy(), at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (WAIT, Reason.PROMISE_PENDING)
    assert decision.at == at("2026-12-18T00:00")  # 16/12 + 1 grace day, then the next day


def test_promise_outliving_the_step_skips_it_and_a_broken_one_resumes_the_ladder():
    promise = Promise("p1", "d-1", date(2026, 12, 20), Decimal(150000), "sms", at("2026-12-14T10:00"))
    snap = snapshot([debtor()], [loan()], promises=[promise])
    during = only(plan(snap, policy(), at("2026-12-15T10:00")))
    assert (during.step, during.action, during.reason) == ("0", SKIP, Reason.PROMISE_PENDING)
    after = only(plan(snap, policy(), at("2026-12-22T10:00")))  # broken on the 21st: the current step goes
    assert (after.step, after.action) == ("+7", SEND)


def test_kept_promise_releases_the_ladder():
    promise = Promise("p1", "d-1", date(2026, 12, 20), Decimal(50000), "sms", at("2026-12-14T10:00"))
    payment = Payment("pay1", "L1", "d-1", Decimal(50000), date(2026, 12, 16), "web")
    decision = only(plan(snapshot([debtor()], [loan()], promises=[promise], payments=[payment]), policy(),
                         at("2026-12-18T10:00")))
    assert decision.action == SEND


def test_shared_phone_gets_the_discreet_text():
    shared = debtor(phones=[Phone("+573001234567", personal=False)])
    decision = only(plan(snapshot([shared], [loan()]), policy(), at("2026-12-15T10:00")))
    assert decision.action == SEND
    assert "150" not in decision.text and "cuota" not in decision.text.lower()
    assert decision.text.startswith("Coop Esperanza")


def test_personal_phone_preferred_over_shared():
    two = debtor(phones=[Phone("+573001111111", personal=False), Phone("+573002222222")])
    decision = only(plan(snapshot([two], [loan()]), policy(), at("2026-12-15T10:00")))
    assert decision.phone == "+573002222222" and "$ 150.000" in decision.text


def test_call_step_falls_back_to_sms_when_calls_are_not_authorised():
    ladder = {"al_dia": {"steps": [{"offset": 0, "channel": "call", "template": "vence_hoy", "fallback": "sms"}]}}
    sms_only = debtor(phones=[Phone("+573001234567")])
    decision = only(plan(snapshot([sms_only], [loan()]), policy(ladders=ladder), at("2026-12-15T10:00")))
    assert (decision.action, decision.channel) == (SEND, "sms")


def test_english_speaker_gets_english():
    decision = only(plan(snapshot([debtor(language="en")], [loan()]), policy(), at("2026-12-15T10:00")))
    assert "due today" in decision.text


# -- caps across loans and history ------------------------------------------------------------------------------------
def test_two_loans_due_the_same_day_one_waits_for_tomorrow():
    decisions = plan(snapshot([debtor()], [loan("L1"), loan("L2")]), policy(), at("2026-12-15T10:00"))
    actions = sorted((d.action, d.reason) for d in decisions)
    assert actions == [(SEND, Reason.DUE), (WAIT, Reason.DAILY_CAP)]
    waiting = next(d for d in decisions if d.action == WAIT)
    assert waiting.at == at("2026-12-16T07:00")


def test_chilean_third_sms_in_a_week_waits():
    chile = debtor(zone="America/Santiago", jurisdiction="CL", phones=[Phone("+56912345678")])
    contacts = [ContactEvent(at("2026-12-09T10:00", SANTIAGO), "d-1", "sent", contact_id="a"),
                ContactEvent(at("2026-12-11T10:00", SANTIAGO), "d-1", "sent", contact_id="b")]
    decision = only(plan(snapshot([chile], [loan()], contacts=contacts), policy("CL"), at("2026-12-15T10:00", SANTIAGO)))
    # rolling week: 09/12 and 11/12 are within 7 days of the 15th -> wait until the 09/12 one leaves
    assert (decision.action, decision.reason) == (WAIT, Reason.WEEKLY_CAP)
    assert decision.at == at("2026-12-16T10:00", SANTIAGO)


def test_us_eighth_call_in_seven_days_waits():
    ladder = {"al_dia": {"steps": [{"offset": 0, "channel": "call", "template": "vence_hoy"}]}}
    us = debtor(zone="America/New_York", jurisdiction="US", phones=[Phone("+12125551234", channels={"call"})])
    calls = [ContactEvent(at(f"2026-12-{d:02d}T10:00", NEW_YORK), "d-1", "sent", channel="call", contact_id=f"c{d}")
             for d in range(9, 16)]
    decision = only(plan(snapshot([us], [loan()], contacts=calls), policy("US", ladders=ladder),
                         at("2026-12-15T12:00", NEW_YORK)))
    assert (decision.action, decision.reason) == (WAIT, Reason.WEEKLY_CAP)


def test_colombia_no_second_channel_in_the_week():
    ladder = {"al_dia": {"steps": [{"offset": 0, "channel": "call", "template": "vence_hoy"}]}}
    sms = ContactEvent(at("2026-12-14T10:00"), "d-1", "sent", contact_id="x")
    decision = only(plan(snapshot([debtor()], [loan()], contacts=[sms]), policy(ladders=ladder),
                         at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (WAIT, Reason.OTHER_CHANNEL_WEEK)
    assert decision.at == at("2026-12-21T10:00")  # a rolling week after the SMS (also a new calendar week)


def test_debtor_in_another_country_gets_that_countrys_rules():
    # A Colombian cooperative's member living in the US: Sunday contact is allowed there
    abroad = debtor(zone="America/New_York", jurisdiction="US", phones=[Phone("+12125551234")])
    decision = only(plan(snapshot([abroad], [loan(due=date(2026, 12, 13))]), policy(), at("2026-12-13T10:00", NEW_YORK)))
    assert decision.action == SEND


def test_explicit_profile_override_per_debtor():
    snap = snapshot([debtor()], [loan(due=date(2026, 12, 13))], settings={"rules.profile_overrides": {"d-1": "US"}})
    pol = policy().with_settings(snap.settings)
    assert only(plan(snap, pol, at("2026-12-13T10:00"))).action == SEND


# -- global gates -----------------------------------------------------------------------------------------------------
def test_untrusted_clock_sends_nothing():
    pol = policy().with_clock(ClockTrust(False, "no_source", "sin hora"))
    decision = only(plan(snapshot([debtor()], [loan()]), pol, at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (WAIT, Reason.CLOCK_UNTRUSTED)


def test_paused_sends_nothing():
    snap = snapshot([debtor()], [loan()], settings={"sending_paused": True})
    decision = only(plan(snap, policy().with_settings(snap.settings), at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (WAIT, Reason.PAUSED)


def test_sim_daily_cap_counts_todays_sends():
    debtors = [debtor(f"d-{i}", phones=[Phone(f"+57300123456{i}")]) for i in range(3)]
    loans = [loan(f"L{i}", f"d-{i}") for i in range(3)]
    already = [ContactEvent(at("2026-12-15T08:00"), "x", "sent", contact_id="earlier")]
    snap = snapshot(debtors, loans, contacts=already, settings={"daily_sms_cap": 2})
    decisions = plan(snap, policy().with_settings(snap.settings), at("2026-12-15T10:00"))
    assert sorted(d.reason for d in decisions) == [Reason.DUE, Reason.SIM_CAP, Reason.SIM_CAP]
    assert all(d.at == at("2026-12-16T00:00") for d in decisions if d.reason == Reason.SIM_CAP)


def test_replied_since_previous_step_skips_a_no_reply_step():
    cid = contact_id("d-1", "L1", 1, "+3")
    events = [ContactEvent(at("2026-12-18T09:00"), "d-1", "sent", contact_id=cid, loan_external_id="L1"),
              ContactEvent(at("2026-12-18T11:00"), "d-1", "reply", direction="inbound", text="ya voy")]
    decision = only(plan(snapshot([debtor()], [loan()], contacts=events), policy(), at("2026-12-22T10:00")))
    assert (decision.step, decision.action, decision.reason) == ("+7", SKIP, Reason.REPLIED)


def test_best_hour_learned_from_replies_moves_the_step():
    replies = [ContactEvent(at(f"2026-11-{d:02d}T18:20"), "d-1", "reply", direction="inbound") for d in (3, 10, 17)]
    replies.append(ContactEvent(at("2026-12-12T09:00"), "d-1", "sent", contact_id=contact_id("d-1", "L1", 1, "-3")))
    decision = only(plan(snapshot([debtor()], [loan()], contacts=replies), policy(), at("2026-12-15T10:00")))
    assert (decision.action, decision.reason) == (WAIT, Reason.SCHEDULED)
    assert decision.at.time() == time(18, 0)


def test_decision_json_has_the_documented_fields():
    decision = only(plan(snapshot([debtor()], [loan()]), policy(), at("2026-12-15T10:00")))
    data = decision.to_dict()
    assert {"debtor", "loan", "channel", "at", "action", "reason", "contact_id", "text"} <= set(data)
    assert data["at"] == "2026-12-15T10:00:00-05:00" and data["action"] == "send" and data["reason"] == "due"
