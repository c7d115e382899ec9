"""The dispatcher's protocol for calls and ring reminders: 'sending' before the dial, the outcome on the log,
keys pressed handed to the reply handler, caps counted from attempts, fallback when the radio cannot call.

The radio here is a small in-test implementation of the radio contract (``channels``, ``call``, ``ring``
answering :class:`modem.voice.calls.CallResult`); the whole path through the pool, the driver and the
simulated modem is in tests/e2e/test_voice_e2e.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from firmware_py.ledger import Ledger
from firmware_py.responder import ReplyHandler
from modem.errors import ModemDisconnected
from modem.voice.calls import OUTCOMES, CallResult
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

BOGOTA = timezone(timedelta(hours=-5))
DUE = date(2026, 12, 8)
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)  # a Tuesday, due + 7: the ladder's ring / call step


def policy_with(channel, fallback=None, profile="CO"):
    step = {"offset": 7, "channel": channel, "template": "mora_amable", "hour": "09:00"}
    if fallback:
        step["fallback"] = fallback
    return load_policy({"ladders": {"voz": {"steps": [step]}},
                        "segments": [{"name": "todos", "ladder": "voz"}],
                        "rules": {"profile": profile}},
                       country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))


@dataclass(frozen=True)
class Placed:
    member: str
    result: CallResult


class Radio:
    """``outcome``: what every call/ring answers (an OUTCOMES value or "down": raises ModemDisconnected)."""

    def __init__(self, ledger, outcome="answered", digits="", channels=("sms", "ring", "call")):
        self.ledger = ledger
        self.outcome = outcome
        self.digits = digits
        self._channels = frozenset(channels)
        self.dialled: list[tuple[str, str, str, str]] = []
        self.sending_seen: list[bool] = []

    def channels(self):
        return self._channels

    def send(self, number, text, *, message_id, transliterate=False):
        raise AssertionError("this ladder only calls")

    def _place(self, kind, number, text, call_id):
        seen = [e for e in self.ledger.contacts(kinds=("sending",)) if e.contact_id == call_id]
        self.sending_seen.append(bool(seen))
        if self.outcome == "down":
            raise ModemDisconnected("cable suelto")
        self.dialled.append((kind, number, text, call_id))
        answered = self.outcome == "answered"
        return Placed("m1", CallResult(number, self.outcome, call_id, 0.0, 6.0 if self.outcome != "unreachable" else 0.0,
                                       31.0 if answered else 0.0, cause=17 if self.outcome == "busy" else None,
                                       digits=self.digits if answered else "", played_seconds=12.0 if answered else 0.0))

    def call(self, number, text, *, call_id):
        return self._place("call", number, text, call_id)

    def ring(self, number, *, call_id):
        return self._place("ring", number, "", call_id)


def make_ledger(count=1, channels=("sms", "call")):
    ledger = Ledger.memory()
    debtors = [Debtor(f"d-{i}", f"Socio {i}", phones=(Phone(f"+57300123450{i}", channels=frozenset(channels)),))
               for i in range(count)]
    loans = [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, DUE, Decimal(150000)),)) for i in range(count)]
    ledger.import_batch(debtors, loans, source="test", now=NOW)
    return ledger


def events(ledger, kind=None):
    return [e for e in ledger.contacts() if kind is None or e.kind == kind]


def test_a_spoken_call_is_dialled_once_with_sending_first_and_ends_answered():
    ledger = make_ledger()
    radio = Radio(ledger)
    policy = policy_with("call", "sms")
    d = Dispatcher(ledger, radio, lambda: policy, clock=lambda: NOW)
    report = d.drain()
    assert report.calls == 1 and report.sent == 1 and radio.sending_seen == [True]
    (kind, number, text, cid), = radio.dialled
    assert kind == "call" and number == "+573001234500" and "marque 9" in text   # the keypad options are read
    assert [e.kind for e in events(ledger) if e.contact_id == cid] == ["sending", "sent", "delivered"]
    delivered = events(ledger, "delivered")[0]
    assert delivered.channel == "call" and "habló 31 s" in delivered.detail and "mensaje 12 s" in delivered.detail
    assert d.drain().calls == 0 and len(radio.dialled) == 1                          # never twice


@pytest.mark.parametrize("outcome,kinds,words", [
    ("busy", ["sending", "sent", "failed"], "ocupado (causa 17)"),
    ("no_answer", ["sending", "sent", "failed"], "no contestó"),
    ("rejected", ["sending", "sent", "failed"], "rechazó"),
    ("unreachable", ["sending", "sent", "failed"], "apagado"),
    ("failed", ["sending", "sent", "failed"], "no se pudo completar"),
])
def test_each_unanswered_outcome_is_final_and_says_why(outcome, kinds, words):
    ledger = make_ledger()
    radio = Radio(ledger, outcome)
    Dispatcher(ledger, radio, lambda: policy_with("call"), clock=lambda: NOW).drain()
    cid = radio.dialled[0][3]
    assert [e.kind for e in events(ledger) if e.contact_id == cid] == kinds
    assert words in events(ledger, "failed")[0].detail


def test_a_ring_reminder_that_rang_is_a_missed_call_on_the_log():
    ledger = make_ledger()
    radio = Radio(ledger, "rang")
    Dispatcher(ledger, radio, lambda: policy_with("ring", "sms"), clock=lambda: NOW).drain()
    assert radio.dialled[0][0] == "ring"
    delivered = events(ledger, "delivered")[0]
    assert delivered.channel == "ring" and "llamada perdida" in delivered.detail


def test_no_modem_means_retry_later_not_a_failed_call():
    ledger = make_ledger()
    radio = Radio(ledger, "down")
    report = Dispatcher(ledger, radio, lambda: policy_with("call"), clock=lambda: NOW).drain()
    assert report.retried == 1 and [e.kind for e in events(ledger) if e.kind != "planned"] == ["sending", "retry"]


@pytest.mark.parametrize("keys,check", [
    ("1", lambda ledger: len(ledger.promises("d-0")) == 1 and ledger.promises("d-0")[0].source == "call"),
    ("9", lambda ledger: ledger.opted_out("+573001234500")),
    ("2", lambda ledger: any(e.kind == "note" and e.text == "bandeja" for e in ledger.contacts())),
])
def test_keys_pressed_change_the_ledger_through_the_reply_handler(keys, check):
    ledger = make_ledger()
    policy = policy_with("call")
    handler = ReplyHandler(ledger, lambda: policy, clock=lambda: NOW)
    Dispatcher(ledger, Radio(ledger, digits=keys), lambda: policy, clock=lambda: NOW, on_reply=handler.handle).drain()
    reply = events(ledger, "reply")[0]
    assert reply.channel == "call" and reply.direction == "inbound" and reply.text == keys
    assert check(ledger)


def test_a_call_step_falls_back_when_the_box_cannot_play_a_message():
    """A box without an audio path: the planner routes the call step to its fallback (here an SMS)."""
    ledger = make_ledger(channels=("sms", "call"))
    radio = Radio(ledger, channels=("sms", "ring"))
    sent = []
    radio.send = lambda number, text, *, message_id, transliterate=False: sent.append(message_id) or _sms(message_id)
    policy = policy_with("call", "sms").with_channels(radio.channels())
    Dispatcher(ledger, radio, lambda: policy, clock=lambda: NOW).drain()
    assert radio.dialled == [] and len(sent) == 1
    assert events(ledger, "sent")[0].channel == "sms"


def _sms(message_id):
    from modem.sending import PartRef, SentSms

    @dataclass(frozen=True)
    class Sent:
        member: str
        sent: SentSms

    return Sent("m1", SentSms(message_id, "+573001234500", "sent", 1, (PartRef(1, 1, 0.0),)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=8),
       days=st.lists(st.integers(0, 13), min_size=1, max_size=8))
def test_chile_never_calls_a_debtor_twice_in_a_week_whatever_the_outcomes(outcomes, days):
    """Property (Ley 21.320: at most one call a week): over two weeks of daily drains with calls that end in
    any outcome, no seven-day window holds two calls placed."""
    ledger = make_ledger(channels=("sms", "call"))
    step_days = sorted(set(days))
    policy = load_policy({"ladders": {"voz": {"steps": [
        {"offset": 7 + d, "channel": "call", "template": "mora_amable", "hour": "10:00"} for d in step_days]}},
        "segments": [{"name": "todos", "ladder": "voz"}], "rules": {"profile": "CL"}},
        country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))
    radio = Radio(ledger)
    answers = iter(outcomes)
    placed = []

    def call(number, text, *, call_id):
        radio.outcome = next(answers, "answered")
        placed.append(clock[0])
        return Radio._place(radio, "call", number, text, call_id)

    radio.call = call
    clock = [NOW]
    d = Dispatcher(ledger, radio, lambda: policy, clock=lambda: clock[0])
    for day in range(14):
        clock[0] = datetime(2026, 12, 15, 11, 0, tzinfo=BOGOTA) + timedelta(days=day)
        d.drain()
    rang = [e.at for e in ledger.contacts() if e.kind == "sent" and e.channel == "call"]
    assert all(b - a >= timedelta(days=7) for a, b in zip(rang, rang[1:])), rang


@settings(max_examples=20, deadline=None)
@example(days=list(range(10)), loans=3, hour="09:00", outcomes=["no_answer"])
@given(days=st.lists(st.integers(0, 9), min_size=1, max_size=10, unique=True),
       loans=st.integers(1, 3), hour=st.sampled_from(["09:00", "15:00", "18:00"]),
       outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=30))
def test_us_never_places_more_than_seven_calls_in_seven_days(days, loans, hour, outcomes):
    """Property (Regulation F: more than 7 calls in 7 days is presumed harassment): whatever the ladder, however
    many loans the debtor has and however the calls end, no rolling seven days and no calendar week hold more
    than seven placed calls."""
    ledger = Ledger.memory()
    debtor = Debtor("d-0", "Socio", phones=(Phone("+573001234500", channels=frozenset({"sms", "call"})),))
    ledger.import_batch([debtor], [Loan(f"L{i}", "d-0", instalments=(Instalment(1, DUE + timedelta(days=i),
                                                                                   Decimal(150000)),))
                                   for i in range(loans)], source="test", now=NOW)
    policy = load_policy({"ladders": {"voz": {"steps": [
        {"offset": 7 + day, "channel": "call", "template": "mora_amable", "hour": hour} for day in days]}},
        "segments": [{"name": "todos", "ladder": "voz"}], "rules": {"profile": "US"}},
        country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))
    radio = Radio(ledger)
    answers = iter(outcomes)

    def call(number, text, *, call_id):
        radio.outcome = next(answers, "no_answer")
        return Radio._place(radio, "call", number, text, call_id)

    radio.call = call
    clock = [NOW]
    d = Dispatcher(ledger, radio, lambda: policy, clock=lambda: clock[0])
    for step in range(20 * 6):                                          # 20 days, every 2 hours from 08:00
        day, slot = divmod(step, 6)
        clock[0] = datetime(2026, 12, 15, 8, 0, tzinfo=BOGOTA) + timedelta(days=day, hours=2 * slot)
        d.drain()
    placed = sorted(e.at for e in ledger.contacts() if e.kind == "sending" and e.channel == "call")
    assert len(placed) <= len(days) * loans
    for i, start in enumerate(placed):
        window = [t for t in placed[i:] if t - start < timedelta(days=7)]
        assert len(window) <= 7, placed
        week = [t for t in placed if t.isocalendar()[:2] == start.isocalendar()[:2]]
        assert len(week) <= 7, placed
    if len(days) * loans == 30:   # the explicit example: three loans due every day — the cap is what stops calls
        assert 7 in {len([t for t in placed if t.isocalendar()[:2] == s.isocalendar()[:2]]) for s in placed}
