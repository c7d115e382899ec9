"""Voice reminders end to end: ledger → planner → dispatcher → VoiceRadio (espeak-ng) → pool → the appliance's
LinkedModem → driver → simulated SIM800 on a pty, with far phones that answer and press keys, are busy,
switched off, or let a ring reminder ring out.

Checks the contact log (each call's outcome, never dialled twice), the spoken message in the simulator's
audio sink (length within 20 % of espeak-ng's rendering, not silence), and each key's effect on the ledger.
"""

from __future__ import annotations

import queue
import shutil
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.config import VoiceConfig
from firmware_py.ledger import Ledger
from firmware_py.modem_link import CONNECTED, LinkedModem, ModemLink
from firmware_py.radio import RadioChoice
from firmware_py.recorder import EventRecorder
from firmware_py.responder import ReplyHandler
from firmware_py.voice_link import VoiceRadio
from modem.pool import ModemPool, PoolMember, SimLimits
from modem.simulator import Simulator
from modem.simulator.calls import CallScript
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng or sox is missing (scripts/install-test-deps installs both)")]

BOGOTA = timezone(timedelta(hours=-5))
DUE = date(2026, 12, 8)
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)   # Tuesday, due + 7

# debtor -> (channel of their step, what their phone does)
PHONES = {
    "d-listens": ("call", CallScript(answer_after=0.5)),
    "d-promises": ("call", CallScript(answer_after=0.5, digits=(("1", 1.0),), hang_up_after=2.0)),
    "d-stop": ("call", CallScript(answer_after=0.5, digits=(("9", 1.0),), hang_up_after=2.0)),
    "d-busy": ("call", CallScript(busy=True)),
    "d-off": ("call", CallScript(off=True)),
    "d-ring": ("ring", CallScript(no_answer=True, answer_after=None)),
}


def number(i: int) -> str:
    return f"+5730012345{i:02d}"


def make_ledger():
    ledger = Ledger.memory()
    debtors, loans = [], []
    for i, (debtor_id, (channel, _)) in enumerate(PHONES.items()):
        debtors.append(Debtor(debtor_id, f"Socio {i}", phones=(Phone(number(i), channels=frozenset({"sms", "call"})),),
                              tags=(channel,)))
        loans.append(Loan(f"L{i}", debtor_id, instalments=(Instalment(1, DUE, Decimal(150000)),)))
    ledger.import_batch(debtors, loans, source="test", now=NOW)
    return ledger


POLICY = load_policy({
    "ladders": {"llamada": {"steps": [{"offset": 7, "channel": "call", "template": "mora_amable", "hour": "09:00",
                                        "fallback": "sms"}]},
                "timbre": {"steps": [{"offset": 7, "channel": "ring", "template": "mora_amable", "hour": "09:00"}]}},
    "segments": [{"name": "timbre", "ladder": "timbre", "tags": ["ring"]},
                 {"name": "llamada", "ladder": "llamada"}]},
    country="CO", cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))


def test_a_batch_of_reminder_calls_through_the_simulated_sim800(tmp_path):
    port = tmp_path / "ttyGSM"
    ledger = make_ledger()
    events: queue.Queue = queue.Queue()
    with Simulator("sim800", link=port, boot_time=0.05) as sim:
        for i, (_, (_, script)) in enumerate(PHONES.items()):
            sim.network.phone(number(i)).script = script
        link = ModemLink(RadioChoice("serial", str(port), "test"), profile="sim800", pin=None, store=None,
                         events=events, sim_link=tmp_path / "unused")
        with link:
            deadline = time.monotonic() + 20
            while link.status().state != CONNECTED and time.monotonic() < deadline:
                time.sleep(0.05)
            assert link.status().state == CONNECTED
            member = LinkedModem(link)
            pool = ModemPool([PoolMember("módem 1", member, SimLimits())])
            radio = VoiceRadio(pool, VoiceConfig(ring_seconds=5, ring_timeout=10, repeat=1),
                               can_play=member.why_no_audio)
            assert radio.channels() == {"sms", "ring", "call"}
            policy = POLICY.with_channels(radio.channels())
            handler = ReplyHandler(ledger, lambda: policy, clock=lambda: NOW, keypad_promise_days=5)
            recorder = EventRecorder(ledger, events, on_status=link.note_event, on_reply=handler.handle)
            recorder.start()
            dispatcher = Dispatcher(ledger, radio, lambda: policy, clock=lambda: NOW, on_reply=handler.handle,
                                    keypad_promise_days=5)
            started = time.monotonic()
            report = dispatcher.drain()
            elapsed = time.monotonic() - started
            again = dispatcher.drain()
            recorder.close()
            heard = list(sim.audio.played)
            spoken = radio.clip(ledger.contacts(kinds=("sending",))[0].text)
        pool.close()

    assert report.calls == 6 and again.calls == 0, (report, again)          # each dialled once, never again
    final = {}
    for event in ledger.contacts():
        if event.channel in ("call", "ring") and event.kind in ("sent", "delivered", "failed", "uncertain"):
            final.setdefault(event.debtor_id, []).append(event.kind)
    final = {debtor: sorted(kinds, key=["sent", "delivered", "failed", "uncertain"].index)
             for debtor, kinds in final.items()}
    assert final == {"d-listens": ["sent", "delivered"], "d-promises": ["sent", "delivered"],
                     "d-stop": ["sent", "delivered"], "d-busy": ["sent", "failed"], "d-off": ["sent", "failed"],
                     "d-ring": ["sent", "delivered"]}, final
    detail = {e.debtor_id: e.detail for e in ledger.contacts(kinds=("delivered", "failed"))}
    assert "ocupado" in detail["d-busy"] and "apagado" in detail["d-off"]
    assert "llamada perdida" in detail["d-ring"] and "marcó 1" in detail["d-promises"]
    # keys: 1 a promise in 5 days (from the call), 9 the number opted out
    (promise,) = ledger.promises("d-promises")
    assert promise.source == "call" and promise.due_date == NOW.date() + timedelta(days=5)
    assert ledger.opted_out(number(2)) and not ledger.opted_out(number(0))
    # the keys' answers go by SMS like those of SMS replies: the promise confirmed, the opt-out confirmed
    answers = {e.contact_id.rsplit(":", 1)[-1]: e.phone for e in ledger.contacts(kinds=("sent",))
               if e.contact_id.startswith("auto:")}
    assert answers == {"promise": number(1), "opt_out": number(2)}
    # the message the listener heard: the whole spoken reminder, not silence
    full = [h for h in heard if h.number == number(0)]
    assert len(full) == 1 and full[0].duration == pytest.approx(spoken.duration, rel=0.20)
    assert full[0].rms() > 500
    print(f"\n6 calls in {elapsed:.1f} s (spoken message {spoken.duration:.1f} s)")
