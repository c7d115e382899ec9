"""Recovery and concurrency, end to end over the simulator pty, for every profile.

Unplug + replug, a hung modem, a modem reboot: the driver reopens the same
path (the simulator's stable ``link``, like /dev/serial/by-id), re-runs init
and the next send succeeds, without a new Modem. A send in flight when the
port dies ends "uncertain", never silently lost or resent. Concurrent signal
polls never land inside an SMS body. Report matching survives a restart.
"""

from __future__ import annotations

import threading
import time

import pytest

from _driver_support import assert_no_driver_threads, PHONE, PROFILE_NAMES, EventLog, make_modem, wait_until
from modem.driver import Timeouts
from modem.errors import ModemDisconnected
from modem.events import DeliveryUpdate, IncomingSms, ModemStateChanged
from modem.simulator import Simulator
from modem.stores import AtomicJsonFileStore

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


@pytest.fixture(params=PROFILE_NAMES)
def profile(request):
    return request.param


@pytest.fixture
def sim(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "ttyGSM", boot_time=0.05) as simulator:
        yield simulator


def state(log, name, timeout=15.0, skip=0):
    return log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == name, timeout, skip=skip)


def delivered(log, message_id, timeout=5.0):
    return log.wait(lambda e: isinstance(e, DeliveryUpdate) and e.message_id == message_id
                    and e.state == "delivered", timeout)


def test_unplug_replug_recovers_same_path(sim, profile):
    with make_modem(sim, profile) as m:
        log = EventLog(m.events)
        before = m.send_sms(PHONE, "antes")
        delivered(log, before.message_id)
        sim.unplug()
        assert "read" in state(log, "disconnected").reason or state(log, "disconnected")
        with pytest.raises(ModemDisconnected):
            m.send_sms(PHONE, "sin puerto")          # nothing sent: safe to resend later
        time.sleep(0.3)                              # a few failed reopen attempts while unplugged
        sim.replug()
        state(log, "reinitialised")
        after = m.send_sms(PHONE, "después")
        assert after.state == "sent"
        delivered(log, after.message_id)
        assert [s.text for s in sim.network.submitted] == ["antes", "después"]
        sim.network.phone("+573005550000").send("PROMESA 15/12")      # incoming works after re-init
        log.wait(lambda e: isinstance(e, IncomingSms) and e.text == "PROMESA 15/12").ack()


def test_hang_detected_and_recovered(sim, profile):
    timeouts = Timeouts(default=1.0, prompt=1.0, send=5.0, read=2.0, ussd=2.0, liveness=0.5)
    with make_modem(sim, profile, timeouts=timeouts, liveness_interval=0.3) as m:
        log = EventLog(m.events)
        sim.hang(None)                               # silent until unhang()
        state(log, "disconnected", timeout=5)
        with pytest.raises(ModemDisconnected):
            m.send_sms(PHONE, "colgado")            # refused at once while recovering, nothing sent
        sim.unhang()
        state(log, "reinitialised", timeout=15)
        sent = m.send_sms(PHONE, "tras el cuelgue")
        assert sent.state == "sent"
        delivered(log, sent.message_id)


def test_reboot_reinitialises(sim, profile):
    with make_modem(sim, profile) as m:
        log = EventLog(m.events)
        sim.reboot()
        state(log, "reinitialised", timeout=10)
        wait_until(m.ready.is_set, 5)
        # the reboot reset CNMI/CMGF in the modem: incoming and sending work only if init re-ran
        sent = m.send_sms(PHONE, "tras reinicio")
        assert sent.state == "sent"
        delivered(log, sent.message_id)
        sim.network.phone("+573005550000").send("SALDO")
        log.wait(lambda e: isinstance(e, IncomingSms) and e.text == "SALDO").ack()


def test_send_in_flight_when_port_dies_is_uncertain(sim, profile):
    sim.latency = 1.0                               # +CMGS answers 1 s after the body
    with make_modem(sim, profile) as m:
        log = EventLog(m.events)
        result = {}
        sender = threading.Thread(target=lambda: result.setdefault("sent", m.send_sms(PHONE, "en vuelo")))
        sender.start()
        wait_until(lambda: any(d == "in" and b.endswith(b"\x1a") for d, b in list(sim.traffic)), 5)
        sim.unplug()
        sender.join(10)
        sent = result["sent"]
        assert sent.state == "uncertain" and sent.uncertain_sequence == 1 and sent.parts == ()
        assert isinstance(sent.error, ModemDisconnected)
        sim.latency = 0.0
        sim.replug()
        state(log, "reinitialised")
        assert m.send_sms(PHONE, "siguiente").state == "sent"
        # the uncertain one was not resent by the driver
        assert sum(1 for s in sim.network.submitted if s.text == "en vuelo") <= 1


def test_concurrent_polls_never_corrupt_bodies(sim, profile):
    with make_modem(sim, profile) as m:
        log = EventLog(m.events)
        stop = threading.Event()
        polls = {"signal": 0, "registration": 0}
        errors = []

        def poll(name, fn):
            while not stop.is_set():
                try:
                    fn()
                    polls[name] += 1
                except Exception as exc:      # noqa: BLE001 - recorded and asserted below
                    errors.append(exc)

        pollers = [threading.Thread(target=poll, args=("signal", m.signal)),
                   threading.Thread(target=poll, args=("registration", m.registration))]
        for t in pollers:
            t.start()
        texts = [f"Recordatorio {i}: cuota {i * 1000} vence pronto" for i in range(45)]
        texts[7] = "Mensaje largo " * 20        # a multipart in the middle
        results = []
        try:
            for text in texts:
                results.append(m.send_sms(PHONE, text))
        finally:
            stop.set()
            for t in pollers:
                t.join()
        assert errors == []
        assert polls["signal"] > 10 and polls["registration"] > 10
        assert all(r.state == "sent" for r in results)
        submitted = sim.network.submitted
        assert [s.text for s in submitted if s.concat is None] == [t for t in texts if t != texts[7]]
        assert "".join(s.text for s in submitted if s.concat is not None) == texts[7]
        for r in results:
            delivered(log, r.message_id)


def test_two_threads_sending_keep_multiparts_together(sim, profile):
    with make_modem(sim, profile) as m:
        long_a, long_b = "A" * 300, "B" * 300
        threads = [threading.Thread(target=m.send_sms, args=(PHONE, t)) for t in (long_a, long_b) * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        parts = [s for s in sim.network.submitted]
        assert len(parts) == 6 * 2
        for i in range(0, len(parts), 2):      # each message's 2 segments are consecutive
            assert parts[i].concat.reference == parts[i + 1].concat.reference
            assert {parts[i].text[0], parts[i + 1].text[0]} in ({"A"}, {"B"})


def test_report_matching_survives_restart(sim, profile, tmp_path):
    store = AtomicJsonFileStore(tmp_path / "driver-state.json")
    sim.network.phone(PHONE).report_delay = 0.8
    with make_modem(sim, profile, store=store) as first:
        sent = first.send_sms(PHONE, "antes del reinicio " * 10)    # multipart
    with make_modem(sim, profile, store=store) as second:
        update = delivered(EventLog(second.events), sent.message_id, timeout=10)
        assert [p.mr for p in update.parts] == [p.mr for p in sent.parts]


def test_reports_stored_while_closed_are_swept(sim, profile, tmp_path):
    if sim.profile.status_report_delivery != "cdsi":
        pytest.skip("inline +CDS reports are printed, not stored: a closed port cannot see them")
    store = AtomicJsonFileStore(tmp_path / "driver-state.json")
    sim.network.phone(PHONE).report_delay = 0.1
    with make_modem(sim, profile, store=store) as first:
        sent = first.send_sms(PHONE, "cerrado")
        first.close()
        time.sleep(0.5)                       # the report is stored while nobody listens
    with make_modem(sim, profile, store=store) as second:
        delivered(EventLog(second.events), sent.message_id)
        wait_until(lambda: sim.storage == [])


def test_multipart_reassembly_survives_restart(sim, profile, tmp_path):
    store = AtomicJsonFileStore(tmp_path / "driver-state.json")
    text = "Parte de un mensaje largo del deudor. " * 12     # 456 GSM-7 characters: 3 parts
    with make_modem(sim, profile, store=store) as first:
        sim.network.phone("+573005550000").send(text, drop_parts=(2,))
        wait_until(lambda: len(first.reassembler) == 1)
    assert store.load()["reassembly"]["groups"]
    with make_modem(sim, profile, store=store, reassembly_timeout=0.5) as second:
        sms = EventLog(second.events).wait(lambda e: isinstance(e, IncomingSms), timeout=5)
        assert not sms.complete and sms.parts_received == sms.parts_total - 1
        sms.ack()
        wait_until(lambda: sim.storage == [])


@pytest.mark.parametrize("profile", ["sim800", "quectel-ec25"])
def test_reboot_with_sim_pin_reenters_pin(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", pin="4321", boot_time=0.05) as sim:
        with make_modem(sim, profile, pin="4321") as m:
            log = EventLog(m.events)
            sim.reboot()
            state(log, "reinitialised", timeout=10)
            assert sum(1 for c in sim.commands if c.startswith("AT+CPIN=")) == 2
            assert m.send_sms(PHONE, "con pin tras reinicio").state == "sent"


def test_noisy_modem_urcs_inside_answers(tmp_path):
    """Huawei prints ^RSSI/^BOOT/^MODE at random, also inside answers (python-gsmmodem bug 1, b47)."""
    with Simulator("huawei-e173", link=tmp_path / "tty", boot_time=0.05, noise_interval=0.003) as sim:
        with make_modem(sim, "huawei-e173") as m:
            log = EventLog(m.events)
            for i in range(30):
                assert m.send_sms(PHONE, f"ruido {i}").state == "sent"
                assert m.signal().rssi == 20
                sim.network.phone("+573005550000").send(f"respuesta {i}")
            got = set()
            while len(got) < 30:
                sms = log.wait(lambda e: isinstance(e, IncomingSms) and e.text not in got, timeout=10)
                got.add(sms.text)
                sms.ack()
            assert got == {f"respuesta {i}" for i in range(30)}
            assert [s.text for s in sim.network.submitted] == [f"ruido {i}" for i in range(30)]
            wait_until(lambda: sim.storage == [], 5)


def test_modem_hangs_after_the_body_is_uncertain_then_recovers(sim, profile):
    timeouts = Timeouts(default=1.0, prompt=1.0, send=1.0, read=2.0, ussd=2.0, liveness=0.5)
    sim.latency = 0.5
    with make_modem(sim, profile, timeouts=timeouts, liveness_interval=0.3) as m:
        log = EventLog(m.events)
        result = {}
        sender = threading.Thread(target=lambda: result.setdefault("sent", m.send_sms(PHONE, "colgado en vuelo")))
        sender.start()
        wait_until(lambda: any(d == "in" and b.endswith(b"\x1a") for d, b in list(sim.traffic)), 5)
        sim.hang(None)                                  # the +CMGS answer never comes
        sender.join(10)
        sent = result["sent"]
        assert sent.state == "uncertain" and sent.uncertain_sequence == 1
        state(log, "disconnected", timeout=5)           # the liveness probe found the hang
        sim.unhang()
        sim.latency = 0.0
        state(log, "reinitialised", timeout=15)
        assert m.send_sms(PHONE, "siguiente").state == "sent"


def test_registration_change_lines_are_not_taken_for_a_reboot(tmp_path):
    """Huawei prints ^SRVST (one of its boot lines) on every registration change: only
    ``Profile.reboot_urcs`` (^SYSSTART) means a restart, so no re-init and no failed command."""
    with Simulator("huawei-e173", link=tmp_path / "tty", boot_time=0.05, service_urcs=True) as sim:
        with make_modem(sim, "huawei-e173") as m:
            log = EventLog(m.events)
            for lost in (2, 0, 3):          # searching, not registered, denied: then back on the network
                sim.set_registration(lost)
                sim.set_registration(1)
                assert m.send_sms(PHONE, f"tras registro {lost}").state == "sent"
            time.sleep(0.5)
            assert "^SRVST" in sim.transcript(last=10_000)
            assert [e.state for e in log.of(ModemStateChanged)] == ["connected"]   # no re-init, no drop
