"""Class-2 SMS stored on the SIM ("SM") by a modem whose message storage is "ME", end to end through the pty.

``+CMTI: "SM",<i>`` names the memory: the driver reads there (never the ME
message at the same index), keeps the message durably, deletes it from the
SIM and offers it; the periodic sweep covers the SIM too, so an SM message
that arrived while the port was closed (no URC seen) is not left behind. If
the switch back to the message storage fails, the driver reconnects (init
restores it) before an ack can delete from the wrong memory.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from _driver_support import EventLog, assert_no_driver_threads, make_modem, wait_until
from modem.events import IncomingSms, ModemStateChanged
from modem.pdu.encode import encode_deliver
from modem.profiles import PROFILES
from modem.simulator import Simulator
from modem.stores import AtomicJsonFileStore

ME_PROFILES = sorted(name for name, p in PROFILES.items() if p.storage.upper() != "SM")
WHEN = datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


def _pdu(sender, text):
    return encode_deliver(sender, text, WHEN)[0]


def _offered(log, text, timeout=5.0):
    return log.wait(lambda e: isinstance(e, IncomingSms) and e.text == text, timeout)


def test_me_profiles_exist():
    assert ME_PROFILES, "no profile stores messages in ME: the tests below would test nothing"


@pytest.mark.parametrize("profile", ME_PROFILES)
def test_cmti_on_sm_reads_the_sim_not_me_at_the_same_index(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", boot_time=0.05) as sim:
        with make_modem(sim, profile) as m:
            log = EventLog(m.events)
            on_me, on_sm = _pdu("+573001234567", "mensaje en ME"), _pdu("+573009999999", "PAGUE (clase 2)")
            me = sim.store_message(on_me.hex, on_me.tpdu_length, memory="ME")      # +CMTI: "ME",1
            first = _offered(log, "mensaje en ME")
            sm = sim.store_message(on_sm.hex, on_sm.tpdu_length, memory="SM")      # +CMTI: "SM",1
            assert me.index == sm.index
            second = _offered(log, "PAGUE (clase 2)")
            assert second.sender == "+573009999999"
            wait_until(lambda: [(s.memory, s.index) for s in sim.storage] == [("ME", me.index)])  # kept, SIM freed
            second.ack()
            assert [(s.memory, s.index) for s in sim.storage] == [("ME", me.index)]     # the ME message stays
            assert m.inline_inbox == {}
            first.ack()
            wait_until(lambda: sim.storage == [])


@pytest.mark.parametrize("profile", ME_PROFILES)
def test_sweep_covers_the_sim_too(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", boot_time=0.05) as sim:
        pending = _pdu("+573009999999", "llegó con el puerto cerrado")
        sim.store_message(pending.hex, pending.tpdu_length, memory="SM", announce=False)
        with make_modem(sim, profile, sim_sweep_interval=0.3) as m:
            log = EventLog(m.events)
            event = _offered(log, "llegó con el puerto cerrado")
            event.ack()
            wait_until(lambda: sim.storage == [])


@pytest.mark.parametrize("profile", ME_PROFILES)
def test_storage_not_restored_forces_reinit_before_any_ack(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "tty", boot_time=0.05) as sim:
        with make_modem(sim, profile) as m:
            log = EventLog(m.events)
            on_me, on_sm = _pdu("+573001234567", "en ME"), _pdu("+573009999999", "en la SIM")
            me = sim.store_message(on_me.hex, on_me.tpdu_length, memory="ME")
            first = _offered(log, "en ME")
            sim.fail_next('AT+CPMS="ME"', "ERROR")       # the switch back to ME after reading the SIM fails
            sim.store_message(on_sm.hex, on_sm.tpdu_length, memory="SM")
            _offered(log, "en la SIM")
            log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == "reinitialised", 15.0)
            first.ack()                                  # must delete from ME, not from the SIM
            wait_until(lambda: all(s.memory != "ME" for s in sim.storage))
            assert not any(s.memory == "ME" and s.index == me.index for s in sim.storage)


@pytest.mark.parametrize("profile", ME_PROFILES)
def test_sim_message_stays_on_the_sim_while_the_store_cannot_save(profile, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    store = AtomicJsonFileStore(blocker / "modem.json")       # every save fails
    with Simulator(profile, link=tmp_path / "tty", boot_time=0.05) as sim:
        with make_modem(sim, profile, store=store) as m:
            log = EventLog(m.events)
            on_sm = _pdu("+573009999999", "sin disco")
            sim.store_message(on_sm.hex, on_sm.tpdu_length, memory="SM")
            _offered(log, "sin disco")
            assert [s.memory for s in sim.storage] == ["SM"]       # not deleted: it exists nowhere durable
