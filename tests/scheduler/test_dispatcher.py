"""The dispatcher's protocol with the ledger: at most once, 'sending' before the radio, recovery, retries.

The radio here is a small in-test implementation of the pool's ``send`` contract (it records what it was
asked and answers sent / failed / uncertain / raises "nothing sent"); the end-to-end tests through the real
driver and the simulated modem are in tests/e2e/test_dispatch_e2e.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.ledger import Ledger
from modem.errors import CmsError, CommandTimeout, ModemDisconnected, PduError
from modem.sending import PartRef, SentSms
from scheduler.clock import ClockTrust
from scheduler.contact_state import outcomes
from scheduler.dispatcher import Dispatcher
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)  # a Tuesday, the due day
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))


@dataclass(frozen=True)
class Sent:
    member: str
    sent: SentSms


class Radio:
    """Implements the radio contract; ``script`` answers, in order: "sent", "failed", "uncertain",
    "down" (raises ModemDisconnected: nothing sent), "pdu" (raises PduError)."""

    def __init__(self, ledger, script=()):
        self.ledger = ledger
        self.script = list(script)
        self.calls: list[tuple[str, str, str]] = []
        self.sending_seen: list[bool] = []

    def send(self, number, text, *, message_id, transliterate=False):
        # the contract under test: 'sending' is durable BEFORE the radio is asked
        seen = [e for e in self.ledger.contacts(kinds=("sending",)) if e.contact_id == message_id]
        self.sending_seen.append(bool(seen))
        answer = self.script.pop(0) if self.script else "sent"
        if answer == "down":
            raise ModemDisconnected("cable suelto")
        if answer == "pdu":
            raise PduError("número inválido")
        if answer == "timeout":
            raise CommandTimeout("AT+CMGS=20", 60.0)
        if answer == "nonet":   # the network refused the first part through the driver's own retries
            return Sent("m1", SentSms(message_id, number, "failed", 1, (), error=CmsError("AT+CMGS=20", 331)))
        self.calls.append((number, text, message_id))
        parts = (PartRef(len(self.calls), 1, 0.0),) if answer != "failed" else ()
        return Sent("m1", SentSms(message_id, number, answer, 1, parts, error=None if answer == "sent" else
                                  RuntimeError("CMS 500")))


def make_ledger(count=2, *, phones=None):
    ledger = Ledger.memory()
    debtors = [Debtor(f"d-{i}", f"Socio {i}", phones=(phones[i] if phones else Phone(f"+57300123450{i}"),))
               for i in range(count)]
    loans = [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, date(2026, 12, 15), Decimal(150000)),))
             for i in range(count)]
    ledger.import_batch(debtors, loans, source="test", now=NOW)
    return ledger


def dispatcher(ledger, radio, clock=lambda: NOW, **kw):
    return Dispatcher(ledger, radio, lambda: POLICY, clock=clock, **kw)


def kinds(ledger, contact_id):
    return [e.kind for e in ledger.contacts() if e.contact_id == contact_id]


def test_drain_sends_each_due_contact_once_with_sending_first():
    ledger = make_ledger(2)
    radio = Radio(ledger)
    report = dispatcher(ledger, radio).drain()
    assert report.sent == 2 and len(radio.calls) == 2
    assert all(radio.sending_seen)
    for _, _, cid in radio.calls:
        assert kinds(ledger, cid) == ["sending", "sent"]
    again = dispatcher(ledger, radio).drain()
    assert again.sent == 0 and len(radio.calls) == 2


def test_sent_event_carries_the_modem_and_the_message_reference():
    ledger = make_ledger(1)
    dispatcher(ledger, Radio(ledger)).drain()
    sent = [e for e in ledger.contacts() if e.kind == "sent"][0]
    assert sent.reference.startswith("d-0:L0:1:") and "módem m1" in sent.detail and sent.loan_external_id == "L0"


def test_power_cut_mid_send_becomes_uncertain_and_is_never_resent():
    ledger = make_ledger(1)
    cid = "d-0:L0:1:0"
    ledger.append_contact(ContactEvent(NOW - timedelta(minutes=1), "d-0", "sending", contact_id=cid,
                                       phone="+573001234500", loan_external_id="L0"))
    radio = Radio(ledger)
    d = dispatcher(ledger, radio)
    assert d.recover() == [cid]
    assert kinds(ledger, cid) == ["sending", "uncertain"]
    assert d.drain().sent == 0 and radio.calls == []
    assert d.recover() == []


def test_radio_down_writes_retry_then_sends_after_the_delay():
    ledger = make_ledger(1)
    radio = Radio(ledger, ["down"])
    clock = [NOW]
    d = dispatcher(ledger, radio, clock=lambda: clock[0], retry_delays=(60.0,))
    report = d.drain()
    assert report.retried == 1 and report.stopped_reason == "radio_unavailable"
    cid = "d-0:L0:1:0"
    assert kinds(ledger, cid) == ["sending", "retry"]
    assert d.drain().sent == 0  # still within the retry delay
    clock[0] = NOW + timedelta(seconds=61)
    assert d.drain().sent == 1
    assert kinds(ledger, cid) == ["sending", "retry", "sending", "sent"]


def test_retries_are_bounded():
    ledger = make_ledger(1)
    radio = Radio(ledger, ["timeout"] * 10)
    clock = [NOW]
    d = dispatcher(ledger, radio, clock=lambda: clock[0], max_retries=2, retry_delays=(1.0,))
    for step in range(4):
        clock[0] = NOW + timedelta(seconds=2 * step)
        d.drain()
    cid = "d-0:L0:1:0"
    assert kinds(ledger, cid)[-1] == "failed"
    assert kinds(ledger, cid).count("retry") == 2
    assert outcomes(ledger.contacts())[cid].settled


@pytest.mark.parametrize("answer,final", [("uncertain", "uncertain"), ("failed", "failed"), ("pdu", "failed")])
def test_a_bad_message_ends_final_and_does_not_block_the_next(answer, final):
    ledger = make_ledger(2)
    radio = Radio(ledger, [answer, "sent"])
    report = dispatcher(ledger, radio).drain()
    finals = sorted(kinds(ledger, f"d-{i}:L{i}:1:0")[-1] for i in range(2))
    assert finals == sorted([final, "sent"])
    assert report.sent == 1
    assert dispatcher(ledger, radio).drain().sent == 0  # nothing re-sent


def test_opt_out_between_plan_and_send_drops_the_contact():
    ledger = make_ledger(1)
    radio = Radio(ledger)
    d = dispatcher(ledger, radio)
    from scheduler.planner import plan
    decision = [x for x in plan(ledger.snapshot(contacts_since=NOW - timedelta(days=30)), POLICY, NOW)
                if x.action == "send"][0]
    ledger.record_opt_out("+573001234500", now=NOW)
    assert d.send_one(decision) == "dropped"
    assert radio.calls == [] and kinds(ledger, decision.contact_id) == []


def test_paused_sends_nothing_and_resume_sends():
    ledger = make_ledger(1)
    radio = Radio(ledger)
    ledger.settings.set("sending_paused", True)
    assert dispatcher(ledger, radio).drain().sent == 0
    ledger.settings.set("sending_paused", False)
    assert dispatcher(ledger, radio).drain().sent == 1


def test_quiet_hours_at_send_time():
    ledger = make_ledger(1)
    radio = Radio(ledger)
    evening = datetime(2026, 12, 15, 19, 30, tzinfo=BOGOTA)
    assert dispatcher(ledger, radio, clock=lambda: evening).drain().sent == 0


def test_visits_go_to_the_visit_list_not_the_radio():
    ladder = {"al_dia": {"steps": [{"offset": 0, "channel": "visit", "template": "visita"}]}}
    policy = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}], "ladders": ladder}, country="CO",
                         clock=ClockTrust(True, "given"))
    ledger = make_ledger(1)
    radio = Radio(ledger)
    report = Dispatcher(ledger, radio, lambda: policy, clock=lambda: NOW).drain()
    assert report.visits == 1 and radio.calls == []
    visit = [e for e in ledger.contacts() if e.kind == "sent"][0]
    assert visit.channel == "visit" and "lista de visitas" in visit.detail


def test_scheduler_wakes_and_drains(tmp_path):
    ledger = make_ledger(1)
    radio = Radio(ledger)
    d = dispatcher(ledger, radio, interval=3600)
    d.start()
    try:
        for _ in range(100):
            if radio.calls:
                break
            import time
            time.sleep(0.05)
    finally:
        d.close()
        d.close()
    assert len(radio.calls) == 1


@pytest.mark.parametrize("outage", ["down", "nonet"], ids=["no-modem", "no-network"])
def test_an_outage_of_hours_loses_no_reminder_and_writes_one_line_per_wait(outage):
    """No modem, or no network (+CMS 331 through the driver's retries), for six hours: the contacts keep their
    retries, only the head of the queue is tried once per wait, and everything goes when the radio is back."""
    ledger = make_ledger(5)
    radio = Radio(ledger, [outage] * 1000)
    clock = [NOW]
    d = dispatcher(ledger, radio, clock=lambda: clock[0], max_retries=2, retry_delays=(30.0, 120.0, 600.0))
    for minute in range(6 * 60):
        clock[0] = NOW + timedelta(minutes=minute)
        d.drain()
    retries = [e for e in ledger.contacts() if e.kind == "retry"]
    assert not [e for e in ledger.contacts() if e.kind == "failed"]
    assert {e.contact_id for e in retries} == {"d-0:L0:1:0"} and all(e.reference == "radio" for e in retries)
    assert len(retries) <= 6 * 60 // 10 + 3                                  # one line per wait, waits up to 10 min
    radio.script = []                                                        # the radio is back
    clock[0] += timedelta(minutes=11)
    assert d.drain().sent == 5
    assert all(kinds(ledger, f"d-{i}:L{i}:1:0")[-1] == "sent" for i in range(5))


def test_each_tick_plans_again_only_the_debtors_whose_decisions_may_have_changed():
    """The dispatcher plans with its :class:`~scheduler.planner.Planner`: within a drain, the plan made after
    the sends decides again only the debtors sent to (their log changed); on the next tick every debtor is
    waiting for a later step and is given their decisions again — though the policy object is a new one each
    time, with a clock trust that says something else (compared by value, the trust apart)."""
    ledger = make_ledger(2)
    later = [Debtor(f"w-{i}", f"Socio {i}", phones=(Phone(f"+57300999990{i}"),)) for i in range(3)]
    ledger.import_batch(later, [Loan(f"W{i}", f"w-{i}", instalments=(Instalment(1, date(2027, 1, 20),
                                                                                Decimal(90000)),))
                                for i in range(3)], source="test", now=NOW)
    ticks = iter(range(100))
    d = Dispatcher(ledger, Radio(ledger),
                   lambda: POLICY.with_clock(ClockTrust(True, "network", f"hora de la red, ronda {next(ticks)}")),
                   clock=lambda: NOW)
    assert d.drain().sent == 2
    assert d.planner.reused == 3  # the drain's second plan: the three still waiting
    assert d.drain().sent == 0
    assert d.planner.reused == 5


def test_a_drain_longer_than_the_interval_is_not_a_warning_and_keeps_its_report(caplog):
    """Hundreds of SMS take longer than a minute: the wake-ups meanwhile find the drain busy and return, quietly,
    without replacing the running drain's report or saying the first drain is over."""
    import threading
    import time

    release = threading.Event()

    class SlowRadio(Radio):
        def send(self, number, text, *, message_id, transliterate=False):
            release.wait(5)
            return super().send(number, text, message_id=message_id)

    ledger = make_ledger(3)
    radio = SlowRadio(ledger)
    d = dispatcher(ledger, radio, interval=0.05)
    caplog.set_level("INFO")
    d.start()
    try:
        time.sleep(0.6)  # a dozen wake-ups while the first send is held
        assert not d.ticked.is_set() and d.last_report is None
        release.set()
        for _ in range(200):
            if d.last_report is not None and d.last_report.sent:
                break
            time.sleep(0.02)
    finally:
        d.close()
    assert d.last_report.sent == 3 and d.ticked.is_set()
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
