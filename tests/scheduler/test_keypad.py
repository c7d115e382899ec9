"""Keypad answers during a reminder call: what the keys mean, and the same effects as SMS replies."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from scheduler.keypad import MAX_PROMISE_DAYS, keys_pressed, options_text, understand_keys

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize("keys,intent", [("1", "promise"), ("2", "other"), ("9", "opt_out"), ("#1", "promise"),
                                         ("21", "other"), ("12", "promise"), ("19", "opt_out"), ("91", "opt_out")])
def test_each_key_has_its_meaning(keys, intent):
    assert understand_keys(keys, today=TODAY).intent == intent


def test_one_promises_within_the_cooperatives_days():
    reply = understand_keys("1", today=TODAY, promise_days=10)
    assert reply.date == TODAY + timedelta(days=10) and reply.valid_date and reply.matched == "tecla 1"


@pytest.mark.parametrize("days,expected", [(0, 1), (-5, 1), (500, MAX_PROMISE_DAYS)])
def test_promise_days_are_clamped(days, expected):
    assert understand_keys("1", today=TODAY, promise_days=days).date == TODAY + timedelta(days=expected)


@pytest.mark.parametrize("keys", ["", "5", "#*", "0000", None, 7, "abc"])
def test_keys_without_an_option_mean_nothing(keys):
    assert understand_keys(keys, today=TODAY) is None


def test_the_options_sentence_names_every_key_and_the_days():
    text = options_text(promise_days=5)
    assert "marque 1" in text and "marque 2" in text and "marque 9" in text and "5 días" in text
    assert "press 9" in options_text("en")


@given(st.text(max_size=40))
def test_a_nine_always_opts_out_whatever_else_was_pressed(keys):
    """Property: a debtor who pressed 9 is never contacted again by mistake — 9 wins over any other key."""
    reply = understand_keys(keys, today=TODAY)
    if "9" in keys_pressed(keys):
        assert reply is not None and reply.intent == "opt_out"
    else:
        assert reply is None or reply.intent in ("promise", "other")
        if reply is not None and reply.intent == "promise":
            assert TODAY < reply.date <= TODAY + timedelta(days=MAX_PROMISE_DAYS)


# -- the same effects as SMS replies, applied to a real ledger by the appliance's reply handler ---------------------
from datetime import datetime, timezone  # noqa: E402
from decimal import Decimal  # noqa: E402

from firmware_py.ledger import Ledger  # noqa: E402
from firmware_py.responder import INBOUND_CALL, INBOX, ReplyHandler  # noqa: E402
from scheduler.clock import ClockTrust  # noqa: E402
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=BOGOTA)
POLICY = load_policy(country="CO", cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))
PHONE = "+573001110000"


def ledger_with_ana(personal=True):
    ledger = Ledger.memory()
    ana = Debtor("d-ana", "Ana Pérez", phones=(Phone(PHONE, personal=personal),))
    loan = Loan("L1", "d-ana", instalments=(Instalment(1, date(2026, 11, 20), Decimal(150000)),))
    ledger.import_batch([ana], [loan], source="t", now=NOW)
    return ledger


def keys_reply(ledger, keys, *, reference="teclado", key="c1"):
    return ledger.append_contact(ContactEvent(NOW, "d-ana", "reply", channel="call", direction="inbound", phone=PHONE,
                                              contact_id=f"d-ana:L1:1:7:{key}:teclas", text=keys,
                                              reference=reference))


def handler(ledger, **kw):
    return ReplyHandler(ledger, lambda: POLICY, clock=lambda: NOW, **kw)


def test_key_one_records_a_promise_from_the_call():
    ledger = ledger_with_ana()
    effects = handler(ledger, keypad_promise_days=5).handle(keys_reply(ledger, "1"))
    (promise,) = ledger.promises("d-ana")
    assert effects.intent == "promise" and promise.due_date == date(2026, 12, 1) and promise.source == "call"
    assert promise.amount == Decimal(150000) and "teclado" in promise.note


def test_key_two_goes_to_the_inbox_for_a_call_back():
    ledger = ledger_with_ana()
    handler(ledger).handle(keys_reply(ledger, "2"))
    note = [e for e in ledger.contacts() if e.kind == "note"][0]
    assert note.text == INBOX and "llamen" in note.detail and note.channel == "call"
    assert not ledger.promises("d-ana") and not ledger.opted_out(PHONE)


def test_key_nine_opts_the_number_out_like_baja():
    ledger = ledger_with_ana()
    effects = handler(ledger).handle(keys_reply(ledger, "9"))
    assert ledger.opted_out(PHONE) and effects.answer is not None and effects.answer.exempt


def test_keys_are_applied_once():
    ledger = ledger_with_ana()
    h = handler(ledger)
    event = keys_reply(ledger, "1")
    h.handle(event)
    assert h.handle(event) is None and h.catch_up() == 0 and len(ledger.promises("d-ana")) == 1


def test_a_call_to_the_box_goes_to_the_inbox_or_gets_the_balance_when_the_cooperative_wants():
    ledger = ledger_with_ana()
    effects = handler(ledger).handle(keys_reply(ledger, "", reference=INBOUND_CALL, key="in1"))
    assert effects.inbox and effects.answer is None
    effects = handler(ledger, inbound_call_balance=True).handle(keys_reply(ledger, "", reference=INBOUND_CALL,
                                                                           key="in2"))
    assert effects.intent == "balance" and "$ 150.000" in effects.answer.text


def test_a_call_from_a_shared_phone_never_gets_an_amount():
    ledger = ledger_with_ana(personal=False)
    effects = handler(ledger, inbound_call_balance=True).handle(keys_reply(ledger, "", reference=INBOUND_CALL))
    assert "$" not in effects.answer.text and "oficina" in effects.answer.text
