"""Regressions found by the month-long engine test (tests/e2e/test_engine_month.py), each reduced to
the smallest case that shows it. Fast: in-memory ledger, no modem."""

from __future__ import annotations

import queue
from datetime import datetime, timedelta, timezone

import pytest

from firmware_py.ledger import Ledger
from firmware_py.recorder import EventRecorder
from modem.events import DeliveryUpdate, PartStatus
from scheduler.model import ContactEvent, Debtor, Phone

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
SHARED = "+573200000000"
PERSONAL = "+573100000081"


def shared_and_personal_ledger():
    ledger = Ledger.memory()
    ledger.import_batch([Debtor("d000", "Ana", phones=(Phone(SHARED, personal=False),)),
                         Debtor("d001", "Luis", phones=(Phone(SHARED, personal=False),)),
                         Debtor("d081", "Marta", phones=(Phone(PERSONAL),))], [], source="t", now=NOW)
    return ledger


@pytest.mark.parametrize("debtor,number", [("", SHARED), ("d081", PERSONAL)], ids=["shared-number", "personal"])
def test_an_answers_delivery_report_lands_on_the_answer(debtor, number):
    """Automatic answers travel with their own contact id (``auto:…``), which does not start with a debtor id:
    their reports fell back to "every debtor on the number", as contact-less events (one per debtor of a shared
    phone, each counted as one more contact toward the daily cap)."""
    ledger = shared_and_personal_ledger()
    cid = "auto:sms-in:abc:balance_shared"
    ledger.append_contact(ContactEvent(NOW, debtor, "sending", phone=number, contact_id=cid, text="Coop: ..."))
    update = DeliveryUpdate(message_id=cid, number=number, state="delivered", parts=(PartStatus(1, 7, "delivered", 0),),
                            final=True, at=(NOW + timedelta(seconds=5)).timestamp())
    EventRecorder(ledger, queue.Queue()).handle(update)
    delivered = ledger.contacts(kinds=["delivered"])
    assert [(e.debtor_id, e.contact_id) for e in delivered] == [(debtor, cid)]


def test_an_answer_to_a_shared_number_waits_for_the_contact_hours():
    """A SALDO at 22:00 on a Sunday from a number two debtors share: the answer ("we do not send balances to
    this number") belongs to no single debtor, and went out at once, at night. It waits for Monday 07:00."""
    from firmware_py.responder import ReplyHandler
    from scheduler.clock import ClockTrust
    from scheduler.dispatcher import Dispatcher
    from scheduler.policy import load_policy
    from scheduler.responder import answer_window_ok

    policy = load_policy(country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))
    sunday_night = datetime(2026, 3, 15, 22, 0, tzinfo=NOW.tzinfo)
    monday = datetime(2026, 3, 16, 7, 0, tzinfo=NOW.tzinfo)
    assert answer_window_ok(policy, None, sunday_night) == monday

    ledger = shared_and_personal_ledger()
    sent = []

    class Radio:
        def send(self, number, text, *, message_id, transliterate=False):
            from modem.sending import PartRef, SentSms
            sent.append(message_id)
            return type("R", (), {"member": "m", "sent": SentSms(message_id, number, "sent", 1, (PartRef(1, 1, 0),))})

    reply = ledger.append_contact(ContactEvent(sunday_night, "d000", "reply", direction="inbound", phone=SHARED,
                                               text="SALDO", contact_id="sms-in:k1"))
    clock = [sunday_night]
    ReplyHandler(ledger, lambda: policy, clock=lambda: clock[0]).handle(reply)
    dispatcher = Dispatcher(ledger, Radio(), lambda: policy, clock=lambda: clock[0])
    dispatcher.drain()
    assert sent == []
    clock[0] = monday
    dispatcher.drain()
    assert sent == ["auto:sms-in:k1:balance_shared"]


def test_one_confirmation_per_opt_out_even_when_the_phone_answers_baja_again():
    """A phone that answers every SMS with BAJA (an auto-responder, or a debtor who insists) got one
    confirmation per BAJA: confirmation, BAJA, confirmation… The law asks for one. A later opt-out, after
    staff cleared the first, is confirmed again; handling the same reply twice stays idempotent."""
    from firmware_py.responder import ReplyHandler
    from scheduler.clock import ClockTrust
    from scheduler.policy import load_policy

    policy = load_policy(country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))
    ledger = shared_and_personal_ledger()
    handler = ReplyHandler(ledger, lambda: policy, clock=lambda: NOW)

    def baja(key, at):
        return ledger.append_contact(ContactEvent(at, "d081", "reply", direction="inbound", phone=PERSONAL,
                                                  text="BAJA", contact_id=f"sms-in:{key}"))

    def confirmations():
        return [e.contact_id for e in ledger.contacts(kinds=("planned",)) if e.contact_id.endswith(":opt_out")]

    first = baja("k1", NOW)
    handler.handle(first)
    assert confirmations() == ["auto:sms-in:k1:opt_out"] and ledger.opted_out(PERSONAL)
    second = baja("k2", NOW + timedelta(seconds=30))
    effects = handler.handle(second)
    assert effects.answer is None and "no se confirma otra vez" in effects.note
    assert confirmations() == ["auto:sms-in:k1:opt_out"]

    # staff clear the opt-out; a new BAJA later is a new opt-out, confirmed again
    ledger.clear_opt_out(PERSONAL)
    handler.handle(baja("k3", NOW + timedelta(days=10)))
    assert confirmations() == ["auto:sms-in:k1:opt_out", "auto:sms-in:k3:opt_out"]


def test_an_opt_out_interrupted_after_it_was_recorded_is_still_confirmed_once():
    """A crash after ``record_opt_out`` but before the confirmation was planned: handling the reply again
    (catch_up) must still plan its one confirmation, although the number is already opted out."""
    from firmware_py.responder import ReplyHandler
    from scheduler.clock import ClockTrust
    from scheduler.policy import load_policy

    policy = load_policy(country="CO", cooperative_name="Coop", clock=ClockTrust(True, "given"))
    ledger = shared_and_personal_ledger()
    ledger.append_contact(ContactEvent(NOW, "d081", "reply", direction="inbound", phone=PERSONAL, text="BAJA",
                                       contact_id="sms-in:k1"))
    ledger.record_opt_out(PERSONAL, now=NOW)                     # what the first attempt did before the crash
    assert ReplyHandler(ledger, lambda: policy, clock=lambda: NOW).catch_up() == 1
    planned = [e.contact_id for e in ledger.contacts(kinds=("planned",))]
    assert planned == ["auto:sms-in:k1:opt_out"]


def test_the_driver_connects_to_a_modem_left_at_the_sms_prompt(tmp_path):
    """The sending process was SIGKILLed after ``AT+CMGS=<n>`` got its ``> `` and before the body: the modem
    waits for the body and read the next process's ATs as part of it, so the driver could never connect
    again ("no answer to 'AT'"). It now cancels the prompt with ESC; the half-sent SMS never goes out."""
    from modem.driver import Modem
    from modem.simulator import Simulator
    from modem.simulator.wire import RawAtClient

    with Simulator("generic", link=tmp_path / "tty", boot_time=0.05) as sim:
        with RawAtClient(sim.port) as dead:
            dead.lines("ATE0")
            dead.prompt("AT+CMGS=20")                  # ... and the process dies here
        with Modem(sim.port, profile="generic", boot_settle=0.1) as modem:
            assert modem.send_sms("+573001234567", "hola", message_id="c-1").state == "sent"
        assert [s.text for s in sim.network.submitted] == ["hola"]


def test_a_stale_report_notice_never_deletes_an_sms_unread(tmp_path):
    """Profiles that store status reports with the messages (+CDSI: "SM",<i>): when a sweep had taken the
    report first, the slot could hold a debtor's SMS by the time the +CDSI was handled; the driver read it
    as a report ("+CDS carried a Deliver"), and DELETED it unread: a reply (a BAJA) lost. Now it is offered
    like any SMS and stays on the SIM until acknowledged."""
    import time

    from modem.driver import Modem
    from modem.events import IncomingSms
    from modem.pdu import encode_deliver
    from modem.simulator import Simulator

    with Simulator("generic", link=tmp_path / "tty", boot_time=0.05) as sim:
        with Modem(sim.port, profile="generic", boot_settle=0.1, sim_sweep_interval=3600) as modem:
            deliver = encode_deliver("+573009998877", "BAJA", NOW)[0]
            slot = sim.store_message(deliver.hex, deliver.tpdu_length, announce=False)
            modem.inbox.on_stored_report("SM", slot.index)          # the stale +CDSI for that slot
            deadline = time.monotonic() + 5
            found = None
            while found is None and time.monotonic() < deadline:
                event = modem.events.get(timeout=5)
                found = event if isinstance(event, IncomingSms) else None
            assert found is not None and found.text == "BAJA"
            assert [m.index for m in sim.storage] == [slot.index]      # not deleted before the ack
            found.ack()
            assert sim.storage == []
