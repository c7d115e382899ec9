"""A temporary refusal of the SIM PIN (+CME ERROR: 14 SIM busy) is retried, end to end through the pty.

Only "incorrect password" (CME 16) is a wrong PIN (fatal, never retried: three
tries lock the SIM); a busy SIM did not judge the PIN, so no try was used.
"""

from __future__ import annotations

import pytest

from _driver_support import PHONE, EventLog, assert_no_driver_threads, make_modem
from modem.errors import CmeError, WrongPin
from modem.events import ModemStateChanged
from modem.simulator import Simulator


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


def test_sim_busy_on_pin_at_open_is_temporary_not_wrong_pin(tmp_path):
    with Simulator("generic", link=tmp_path / "tty", pin="1234", boot_time=0.05) as sim:
        sim.fail_next('AT+CPIN="', "+CME ERROR: 14")
        with pytest.raises(CmeError) as raised:
            make_modem(sim, "generic", pin="1234").open()
        assert raised.value.temporary and not isinstance(raised.value, WrongPin)
        with make_modem(sim, "generic", pin="1234") as m:            # the caller's retry gets through
            assert m.send_sms(PHONE, "con pin").state == "sent"


@pytest.mark.slow
def test_sim_busy_on_pin_after_reboot_is_retried_with_backoff(tmp_path):
    with Simulator("sim800", link=tmp_path / "tty", pin="1234", boot_time=0.05) as sim:
        with make_modem(sim, "sim800", pin="1234") as m:
            log = EventLog(m.events)
            sim.fail_next('AT+CPIN="', "+CME ERROR: 14", count=2)
            sim.reboot()                                       # the SIM is locked again and busy twice
            log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == "reinitialised", 15.0)
            assert not [e for e in log.drain() if isinstance(e, ModemStateChanged) and e.state == "failed"]
            assert sum(1 for c in sim.commands if c.startswith("AT+CPIN=")) == 4   # open, 2 busy, accepted
            assert m.send_sms(PHONE, "tras reinicio").state == "sent"

