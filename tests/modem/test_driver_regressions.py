"""Regressions found in review, each end to end through the simulator pty.

- a refused SMS body followed by a link drop during the retry backoff is
  "nothing sent" (ModemDisconnected, safe to resend), never "uncertain";
"""

from __future__ import annotations

import threading
import time

import pytest

from _driver_support import PHONE, assert_no_driver_threads, make_modem, wait_until
from modem.errors import ModemDisconnected
from modem.retry import Backoff
from modem.simulator import Simulator


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


@pytest.mark.slow
def test_refused_body_then_link_drop_during_backoff_is_safe_to_resend(tmp_path):
    with Simulator("sim800", link=tmp_path / "tty") as sim:
        with make_modem(sim, "sim800", send_backoff=Backoff(attempts=3, base=1.0, factor=1.0, cap=1.0)) as m:
            sim.fail_next("AT+CMGS", "+CMS ERROR: 42")        # congestion: refused, nothing went out
            outcome = {}

            def send():
                try:
                    outcome["result"] = m.send_sms(PHONE, "Hola")
                except ModemDisconnected as exc:
                    outcome["raised"] = exc

            thread = threading.Thread(target=send)
            thread.start()
            wait_until(lambda: any(c.startswith("AT+CMGS") for c in sim.commands))
            time.sleep(0.3)                                   # the refusal arrived; the sender is backing off
            sim.unplug()
            thread.join(10)
            assert not thread.is_alive()
            assert sim.network.submitted == []
            assert "raised" in outcome, f"expected ModemDisconnected (safe to resend), got {outcome.get('result')}"
