"""A deletion whose ``AT+CMGD`` answer was lost, end to end through the pty.

The modem may or may not have deleted: the slot leaves ``offered`` (a new SMS
stored there is offered, not skipped), and the pending deletion remembers the
acked PDU, checks the slot with ``AT+CMGR``/the sweep's listing first and only
deletes that PDU — a different message in the slot is offered, never deleted unread.
"""

from __future__ import annotations

import time

import pytest

from _driver_support import PHONE, EventLog, assert_no_driver_threads, make_modem, wait_until
from modem.events import IncomingSms, ModemStateChanged
from modem.simulator import Simulator
from modem.transaction import Timeouts


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


FAST_TIMEOUTS = Timeouts(default=1.0, prompt=3.0, send=10.0, read=5.0, ussd=5.0, liveness=1.0, sim_ready=5.0)


def _incoming(log, text, timeout=8.0):
    return log.wait(lambda e: isinstance(e, IncomingSms) and e.text == text, timeout)


@pytest.mark.slow
def test_lost_cmgd_answer_then_new_sms_in_freed_slot_is_offered_and_kept(tmp_path):
    with Simulator("sim800", link=tmp_path / "tty", boot_time=0.05) as sim:
        with make_modem(sim, "sim800", timeouts=FAST_TIMEOUTS, sim_sweep_interval=0.5) as m:
            log = EventLog(m.events)
            phone = sim.network.phone(PHONE)
            phone.send("primero")
            first = _incoming(log, "primero")
            (index,) = first.sim_indexes
            sim.fail_next("AT+CMGD", "")               # the modem deletes, but its answer is lost
            with sim.lock:
                sim.device.stores["SM"].delete(index)
            first.ack()                                # times out: deletion pending
            phone.send("segundo, no se debe perder")   # lands in the freed slot
            second = _incoming(log, "segundo, no se debe perder")
            assert second.sim_indexes == (index,)
            sim.unplug()
            time.sleep(0.3)
            sim.replug()
            log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == "reinitialised", 15.0)
            time.sleep(1.0)                            # deferred deletions and a sweep ran
            assert [(s.memory, s.index) for s in sim.storage] == [("SM", index)]   # not deleted unread
            second.ack()
            wait_until(lambda: sim.storage == [])


@pytest.mark.slow
def test_lost_cmgd_that_did_not_delete_is_completed_without_a_second_offer(tmp_path):
    with Simulator("sim800", link=tmp_path / "tty", boot_time=0.05) as sim:
        with make_modem(sim, "sim800", timeouts=FAST_TIMEOUTS, sim_sweep_interval=0.3) as m:
            log = EventLog(m.events)
            sim.network.phone(PHONE).send("solo una vez")
            first = _incoming(log, "solo una vez")
            sim.fail_next("AT+CMGD", "")               # no answer and nothing deleted
            first.ack()
            wait_until(lambda: sim.storage == [], timeout=5.0)    # a sweep finds the same PDU and deletes it
            time.sleep(0.8)
            assert [e.text for e in log.of(IncomingSms)] == ["solo una vez"]
