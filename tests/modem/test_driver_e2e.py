"""The driver end to end against modem.simulator through a real pty, for every profile.

Covers init, queries, sending with status reports (delivered / failed / pending /
expired), receiving (single, multipart in and out of order, a dropped part),
ack-before-delete, storage full, USSD, CMS error classification, garbage on the
line and SIM PIN errors. Recovery scenarios live in test_driver_recovery.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from _driver_support import assert_no_driver_threads, PHONE, PROFILE_NAMES, EventLog, FakeClock, make_modem, wait_until
from modem.errors import CommandError, ModemDisconnected, PduError, SimPinRequired, SimPukRequired, WrongPin
from modem.events import (DeliveryUpdate, IncomingSms, ModemStateChanged, ProtocolNoise, SignalChanged,
                          StorageFull)
from modem.profiles import get_profile
from modem.simulator import Simulator

LONG = ("Estimado cliente, le recordamos que su cuota del crédito vence el 30/11. "
        "Puede pagar en la oficina de la cooperativa o por corresponsal. Responda SALDO para conocer "
        "su saldo o PAGUÉ si ya pagó. Gracias.")        # "É" makes it UCS-2: 4 parts of 67


# The generic profile runs in the quick suite; every other profile is marked slow (CI runs them all).
@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


@pytest.fixture(params=[p if p == "generic" else pytest.param(p, marks=pytest.mark.slow) for p in PROFILE_NAMES])
def profile(request):
    return request.param


@pytest.fixture
def sim(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "ttyGSM", boot_time=0.05) as simulator:
        yield simulator


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def modem(sim, profile, clock):
    m = make_modem(sim, profile, clock=clock, report_expiry=600.0, reassembly_timeout=300.0)
    m.open()
    yield m
    m.close()


@pytest.fixture
def log(modem):
    return EventLog(modem.events)


def delivery(log, message_id, state, timeout=5.0):
    return log.wait(lambda e: isinstance(e, DeliveryUpdate) and e.message_id == message_id and e.state == state,
                    timeout)


# -- init and queries ---------------------------------------------------------------
def test_init_sends_profile_setup(modem, sim, profile, log):
    p = get_profile(profile)
    sent = sim.commands
    assert "ATE0" in sent
    assert any(c.startswith("AT+CMEE=") for c in sent)
    assert "AT+CMGF=0" in sent
    assert f"AT+CNMI={p.cnmi}" in sent
    assert p.cpms_command in sent
    assert log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == "connected")


def test_identity_signal_registration_operator(modem, sim, profile):
    p = get_profile(profile)
    ident = modem.identity()
    imei, imsi, iccid, manufacturer, model = ident
    assert imei == p.imei and manufacturer == p.manufacturer and model == p.model
    assert imsi.isdigit() and iccid[:2] == "89"
    sim.set_signal(10)
    signal = modem.signal()
    assert (signal.rssi, signal.dbm) == (10, -93)
    sim.set_signal(99)
    assert modem.signal().dbm is None
    reg = modem.registration()
    assert reg.registered and set(reg.stats) == set(p.registration_commands)
    sim.set_registration(5)
    assert modem.registration().roaming
    sim.set_registration(1)
    assert modem.operator() == "Claro CO"
    sim.set_registration(2)
    assert not modem.registration().registered
    assert modem.operator() is None


def test_network_time_rejects_default_then_accepts_nitz(modem, sim, profile):
    when = datetime(2026, 11, 23, 9, 30, 0, tzinfo=timezone(timedelta(hours=-5)))
    sim.set_network_time(when)
    got = None

    def read():
        nonlocal got
        got = modem.network_time()
        return got is not None

    if get_profile(profile).network_time.needs_restart:
        # SIM800 keeps its factory clock (04/01/01) until CLTS=1 was saved and the modem restarted
        assert modem.network_time() is None
        sim.reboot()
        wait_until(lambda: modem.ready.is_set() and modem.supervisor.reinitialisations >= 1, 10)
        sim.set_network_time(when)
    wait_until(read, 5)
    assert abs((got - when).total_seconds()) < 120
    assert got.utcoffset() == timedelta(hours=-5)


def test_ussd(modem, sim):
    sim.network.ussd["*611#"] = "Su saldo es $1.234 - SPRING RING"
    assert modem.ussd("*611#") == "Su saldo es $1.234 - SPRING RING"
    with pytest.raises(CommandError):
        modem.ussd("*999#")       # the simulated network has no such service


# -- sending -----------------------------------------------------------------------------
def test_send_single_delivered(modem, sim, log):
    sent = modem.send_sms(PHONE, "Hola Ana, su cuota de $50.000 vence mañana.")
    assert sent.state == "sent" and sent.segments == 1 and len(sent.parts) == 1
    assert sim.network.submitted[-1].text == "Hola Ana, su cuota de $50.000 vence mañana."
    assert sim.network.submitted[-1].message_reference == sent.parts[0].mr
    update = delivery(log, sent.message_id, "delivered")
    assert update.final and update.parts[0].status == 0


@pytest.mark.parametrize("outcome,state", [("delivered", "delivered"), ("failed", "failed"), ("pending", "pending")])
def test_send_multipart_reports(modem, sim, log, outcome, state):
    sim.network.phone(PHONE).outcome = outcome
    sent = modem.send_sms(PHONE, LONG)
    assert sent.state == "sent" and sent.segments >= 2 and len(sent.parts) == sent.segments
    assert len({p.mr for p in sent.parts}) == sent.segments
    update = delivery(log, sent.message_id, state)
    assert len(update.parts) == sent.segments
    if state == "pending":
        assert not update.final
    else:
        assert update.final
    assert "AT+CMMS=2" in sim.commands and "AT+CMMS=0" in sim.commands
    texts = [s.text for s in sim.network.submitted[-sent.segments:]]
    assert "".join(texts) == LONG


def test_pending_then_delivered(modem, sim, log):
    phone = sim.network.phone(PHONE)
    phone.outcome, phone.late_delay = "pending", 0.3
    sent = modem.send_sms(PHONE, "pendiente")
    assert not delivery(log, sent.message_id, "pending").final
    assert delivery(log, sent.message_id, "delivered").final


def test_no_report_expires_by_sweep(modem, sim, log, clock):
    sim.network.phone(PHONE).outcome = "never"
    sent = modem.send_sms(PHONE, LONG)
    with pytest.raises(AssertionError):
        delivery(log, sent.message_id, "expired", timeout=0.3)
    clock.advance(601)
    update = delivery(log, sent.message_id, "expired")
    assert update.final and all(p.state == "expired" for p in update.parts)


def test_mr_wrap_does_not_confuse_reports(modem, sim, log):
    sim.next_message_reference = 254
    ids = [modem.send_sms(PHONE, f"m{i}").message_id for i in range(4)]   # MRs 254, 255, 0, 1
    for message_id in ids:
        delivery(log, message_id, "delivered")


def test_temporary_cms_error_retried(modem, sim, log):
    sim.fail_next("AT+CMGS", "+CMS ERROR: 42", count=2)      # network congestion (not accepted), twice
    sent = modem.send_sms(PHONE, "reintento")
    assert sent.state == "sent"
    assert [s.text for s in sim.network.submitted] == ["reintento"]
    delivery(log, sent.message_id, "delivered")


def test_temporary_error_bounded(modem, sim):
    sim.fail_next("AT+CMGS", "+CMS ERROR: 42", count=10)
    sent = modem.send_sms(PHONE, "nunca")
    assert sent.state == "failed" and sent.error.code == 42
    assert sum(1 for c in sim.commands if c.startswith("AT+CMGS")) == 3    # the bound, then give up
    sim.fail_next("AT+CMGS", "+CMS ERROR: 42", count=0)


@pytest.mark.parametrize("code", [332, 500])     # network timeout, unknown: the SMSC may have the message
def test_outcome_unknown_error_after_body_is_uncertain_never_retried(modem, sim, log, code):
    sim.fail_next("AT+CMGS", f"+CMS ERROR: {code}", count=1)
    sent = modem.send_sms(PHONE, "una sola vez")
    assert sent.state == "uncertain" and sent.error.code == code and sent.uncertain_sequence == 1
    assert sum(1 for c in sim.commands if c.startswith("AT+CMGS")) == 1    # no retry: no duplicate reminder
    after = modem.send_sms(PHONE, "siguiente")
    assert after.state == "sent"
    delivery(log, after.message_id, "delivered")


def test_permanent_error_fails_fast_next_message_goes(modem, sim, log):
    sim.fail_next("AT+CMGS", "+CMS ERROR: 330", count=1)     # SMSC unknown: permanent
    bad = modem.send_sms(PHONE, "primero")
    assert bad.state == "failed" and bad.error.code == 330 and not bad.error.temporary
    assert sum(1 for c in sim.commands if c.startswith("AT+CMGS")) == 1
    good = modem.send_sms(PHONE, "segundo")
    assert good.state == "sent"
    assert [s.text for s in sim.network.submitted] == ["segundo"]
    delivery(log, good.message_id, "delivered")


def test_unencodable_input_is_typed(modem):
    with pytest.raises(PduError):
        modem.send_sms("not a number", "hola")


def test_unregistered_is_temporary_then_fails(modem, sim):
    sim.set_registration(2)
    sent = modem.send_sms(PHONE, "sin red")
    assert sent.state == "failed" and sent.error.code == 331 and sent.error.temporary
    sim.set_registration(1)
    assert modem.send_sms(PHONE, "con red").state == "sent"


# -- receiving --------------------------------------------------------------------------
def _incoming(log, text=None, **kw):
    return log.wait(lambda e: isinstance(e, IncomingSms) and (text is None or e.text == text), **kw)


def test_incoming_single_ack_deletes(modem, sim, log):
    sim.network.phone("+573005550000").send("SALDO")
    sms = _incoming(log, "SALDO")
    assert sms.sender == "+573005550000" and sms.complete and sms.timestamp.tzinfo is not None
    assert len(sim.storage) == 1                      # still on the SIM until acked
    assert sms.ack() is True
    wait_until(lambda: sim.storage == [])
    assert sms.ack() is True                          # safe twice


@pytest.mark.parametrize("order", [None, [3, 1, 2], [2, 3, 1]])
def test_incoming_multipart_any_order(modem, sim, log, order):
    sim.network.phone("+573005550000").send(LONG, parts_order=order)
    sms = _incoming(log, LONG)
    assert sms.complete and sms.parts_total == sms.parts_received >= 2
    assert len(sms.sim_indexes) == sms.parts_total
    sms.ack()
    wait_until(lambda: sim.storage == [])


def test_incoming_dropped_part_delivered_incomplete_after_timeout(modem, sim, log, clock):
    sim.network.phone("+573005550000").send(LONG, drop_parts=(2,))
    wait_until(lambda: len(modem.reassembler) == 1)
    with pytest.raises(AssertionError):
        _incoming(log, timeout=0.3)
    clock.advance(301)
    sms = _incoming(log)
    assert not sms.complete and sms.parts_received == sms.parts_total - 1
    assert sms.text.startswith(LONG[:60]) and sms.text.endswith(LONG[-20:]) and "[…]" in sms.text
    sms.ack()
    wait_until(lambda: sim.storage == [])


def test_unacked_message_stays_and_is_reoffered_after_restart(sim, profile, tmp_path):
    from modem.stores import AtomicJsonFileStore
    store = AtomicJsonFileStore(tmp_path / "driver.json")
    with make_modem(sim, profile, store=store) as first:
        sim.network.phone("+573005550000").send("PAGUÉ")
        sms = _incoming(EventLog(first.events), "PAGUÉ")      # never acked
        first.sweep_sim()                                        # a sweep does not offer it twice
        assert len(EventLog(first.events).of(IncomingSms)) == 0
    assert len(sim.storage) == 1
    with make_modem(sim, profile, store=store) as second:
        again = _incoming(EventLog(second.events), "PAGUÉ")
        assert again.message_key == sms.message_key
        again.ack()
        wait_until(lambda: sim.storage == [])


def test_storage_full_reported(modem, sim, log):
    sim.fill_storage()
    sim.network.phone("+573005550000").send("hola")
    full = log.wait(lambda e: isinstance(e, StorageFull))
    assert full.storage


def test_cmgs_memory_full_error_reported(modem, sim, log):
    sim.fail_next("AT+CMGS", "+CMS ERROR: 322", count=3)
    assert modem.send_sms(PHONE, "lleno").state == "failed"
    log.wait(lambda e: isinstance(e, StorageFull) and "322" in e.source)


# -- bad input -------------------------------------------------------------------------
def test_garbage_and_unknown_urcs_do_not_hurt(modem, sim, log):
    sim.inject(b"\xff\xfe\x00garbage\x80\r\n+WEIRD: 1,2\r\nhalf a li")
    sim.inject(b"ne\r\n+CMT: ,12\r\nZZZZ-not-a-pdu\r\n")
    sim.inject(b'\r\n+CMTI: "SM",abc\r\n')
    sent = modem.send_sms(PHONE, "sigo vivo")
    assert sent.state == "sent" and sim.network.submitted[-1].text == "sigo vivo"
    sim.network.phone("+573005550000").send("BAJA")
    _incoming(log, "BAJA").ack()
    assert modem._reader.is_alive() and modem.supervisor._thread.is_alive()
    assert log.of(ProtocolNoise)


def test_malformed_pdu_in_storage_becomes_undecodable_event(modem, sim, log):
    from modem.events import UndecodableSms
    with sim.lock:
        store = sim.device.stores[sim.device.settings.cpms[2]]
        msg = store.add("0791ABCDEF", 4, 0)
    sim.urc(f'+CMTI: "{store.name}",{msg.index}')
    bad = log.wait(lambda e: isinstance(e, UndecodableSms))
    assert bad.sim_index == msg.index and bad.pdu.upper().startswith("0791")
    sim.network.phone("+573005550000").send("después")
    _incoming(log, "después").ack()
    bad.ack()
    wait_until(lambda: sim.storage == [])


def test_signal_urc_becomes_event(modem, sim, log, profile):
    if profile != "huawei-e173":
        pytest.skip("only the Huawei profile prints ^RSSI signal URCs")
    sim.set_signal(7)
    assert log.wait(lambda e: isinstance(e, SignalChanged) and e.rssi == 7).dbm == -99


# -- SIM PIN -----------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["sim800", "quectel-ec25"])
def test_pin_accepted(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", pin="4321", boot_time=0.05) as sim:
        with make_modem(sim, profile, pin="4321") as m:
            assert m.send_sms(PHONE, "con pin").state == "sent"


def test_pin_errors_typed_and_wrong_pin_not_retried(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", pin="4321", boot_time=0.05) as sim:
        with pytest.raises(SimPinRequired):
            make_modem(sim, profile).open()
        for attempt in range(3):
            m = make_modem(sim, profile, pin="0000")
            with pytest.raises(WrongPin):
                m.open()
            assert sum(1 for c in sim.commands if c.startswith("AT+CPIN=")) == attempt + 1   # one try per open
            assert m.closed
        with pytest.raises(SimPukRequired):
            make_modem(sim, profile, pin="4321").open()


def test_closed_modem_raises_disconnected(modem):
    modem.close()
    modem.close()
    with pytest.raises(ModemDisconnected):
        modem.send_sms(PHONE, "x")


# -- network time and call URCs ----------------------------------------------------------
def test_nitz_urc_becomes_network_time_event(modem, sim, profile, log):
    from modem.events import NetworkTime
    if get_profile(profile).network_time.needs_restart:
        pytest.skip("SIM800 applies network time only after AT+CLTS=1;&W and a restart (see the time test)")
    when = datetime(2026, 11, 23, 9, 30, 0, tzinfo=timezone(timedelta(hours=-5)))
    sim.set_network_time(when)
    event = log.wait(lambda e: isinstance(e, NetworkTime))
    assert abs((event.when - when).total_seconds()) < 120


def test_call_urcs_routed_to_the_profile_style_handler(modem, sim, profile, log):
    from modem.events import CallUrc
    sim.urc("RING")
    ring = log.wait(lambda e: isinstance(e, CallUrc))
    assert ring.name == "RING" and ring.style == get_profile(profile).call_urc_style
    seen = []
    modem.call_handlers[get_profile(profile).call_urc_style] = seen.append     # the voice layer's seam
    sim.urc('+CLIP: "+573001234567",145,"",0,"",0')
    wait_until(lambda: seen)
    assert seen[0].name == "+CLIP"
    sim.network.ussd["*777#"] = "Promo SPRING: RING RING"
    assert modem.ussd("*777#") == "Promo SPRING: RING RING"
    assert len(seen) == 1 and len(log.of(CallUrc)) == 1      # USSD text is never a call


def test_inline_cmt_kept_durably_until_ack(sim, profile, tmp_path):
    """With new-message routing (+CMT, CNMI mt=2) the SMS is on no SIM: the driver store keeps it until ack."""
    from modem.stores import AtomicJsonFileStore
    store = AtomicJsonFileStore(tmp_path / "driver.json")
    with make_modem(sim, profile, store=store) as first:
        first.command("AT+CNMI=2,2,0,1,0")
        sim.network.phone("+573005550000").send("PAGUÉ 15/12")
        sms = _incoming(EventLog(first.events), "PAGUÉ 15/12")
        assert sms.sim_indexes == () and sim.storage == []
        assert len(store.load()["inline"]) == 1           # saved before it was offered
    with make_modem(sim, profile, store=store) as second:      # never acked: offered again
        again = _incoming(EventLog(second.events), "PAGUÉ 15/12")
        assert again.message_key == sms.message_key
        again.ack()
    assert store.load()["inline"] == {}
