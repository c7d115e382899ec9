"""The appliance's radio: retries until a modem appears, stops for a SIM that needs a person."""

import queue
import time

import pytest

from firmware_py.modem_link import CONNECTED, DISCONNECTED, NEEDS_ATTENTION, STOPPED, ModemLink
from firmware_py.radio import RadioChoice
from modem.simulator import Simulator

pytestmark = pytest.mark.slow


def wait_state(link, state, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if link.status().state == state:
            return link.status()
        time.sleep(0.05)
    raise AssertionError(f"still {link.status()}")


def test_modem_plugged_in_after_boot_is_picked_up(tmp_path):
    path = tmp_path / "ttyGSM"
    link = ModemLink(RadioChoice("serial", str(path), "test"), profile="sim800", pin=None, store=None,
                     events=queue.Queue(), sim_link=tmp_path / "unused", retry_cap=0.5)
    with link:
        status = wait_state(link, DISCONNECTED)
        assert "se reintenta" in status.detail and not status.simulated
        with Simulator("sim800", link=path):
            wait_state(link, CONNECTED)
            assert link.modem.identity().imei
    assert link.status().state == STOPPED


@pytest.mark.parametrize("configured, words, tries", [("0000", "rechazó el PIN", 1), (None, "pide un PIN", 0)],
                         ids=["wrong-pin", "missing-pin"])
def test_sim_that_needs_a_person_stops_the_retries(tmp_path, configured, words, tries):
    path = tmp_path / "ttyGSM"
    with Simulator("generic", pin="1234", link=path) as sim:
        link = ModemLink(RadioChoice("serial", str(path), "test"), profile="generic", pin=configured, store=None,
                         events=queue.Queue(), sim_link=tmp_path / "unused", retry_cap=0.2)
        with link:
            status = wait_state(link, NEEDS_ATTENTION)
            assert words in status.detail
            time.sleep(1.0)
            assert link.status().state == NEEDS_ATTENTION   # no retry that could lock the SIM
        assert sim.transcript(last=10_000).count("AT+CPIN=") == tries


def test_simulator_choice_runs_the_built_in_modem(tmp_path):
    link = ModemLink(RadioChoice("simulator", None, "test"), profile="auto", pin=None, store=None,
                     events=queue.Queue(), sim_link=tmp_path / "sim")
    with link:
        status = wait_state(link, CONNECTED)
        assert status.simulated and status.profile == "quectel-ec25"
        assert link.port == str(tmp_path / "sim")


def test_status_poll_fills_signal_and_clears_storage_full_once_the_sim_is_emptied(tmp_path):
    events = queue.Queue()
    link = ModemLink(RadioChoice("simulator", None, "test"), profile="sim800", pin=None, store=None,
                     events=events, sim_link=tmp_path / "sim", poll_interval=0.2)
    with link:
        wait_state(link, CONNECTED)
        deadline = time.monotonic() + 10
        while link.status().signal_dbm is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert link.status().signal_dbm is not None and link.status().operator
        link.simulator.fill_storage()
        deadline = time.monotonic() + 10
        while not link.status().storage_full and time.monotonic() < deadline:
            time.sleep(0.05)
        assert link.status().storage_full
        # the driver's SIM sweep offers what the SIM holds; acking (what the recorder does once stored) frees it
        link.modem.sweep_sim()
        deadline = time.monotonic() + 20
        while link.status().storage_full and time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                continue
            if hasattr(event, "ack"):
                event.ack()
        assert not link.status().storage_full


def test_a_malformed_port_url_is_retried_not_fatal(tmp_path):
    link = ModemLink(RadioChoice("serial", "nosuchscheme://x", "test"), profile="generic", pin=None, store=None,
                     events=queue.Queue(), sim_link=tmp_path / "unused", retry_cap=0.2)
    with link:
        assert "se reintenta" in wait_state(link, DISCONNECTED).detail
