"""Caller-chosen message ids (``Modem.send_sms(..., message_id=...)``), end to end over the simulator pty.

The id the caller gives is the one in :class:`SentSms`, in every DeliveryUpdate
and in the durable report-matching state: a report that arrives after the
driver was closed and a new one opened on the same store still carries it.
Invalid ids are refused before anything is sent.
"""

from __future__ import annotations

import time

import pytest

from _driver_support import PHONE, EventLog, assert_no_driver_threads, make_modem
from modem.events import DeliveryUpdate
from modem.sending import MAX_MESSAGE_ID, check_message_id
from modem.simulator import Simulator
from modem.stores import AtomicJsonFileStore, MemoryStore


@pytest.fixture(autouse=True)
def _no_threads_left():
    yield
    assert_no_driver_threads()


@pytest.fixture(params=["generic", pytest.param("sim800", marks=pytest.mark.slow)])
def profile(request):
    return request.param       # generic: reports stored (+CDSI); sim800: printed inline (+CDS)


@pytest.fixture
def sim(profile, tmp_path):
    with Simulator(profile, link=tmp_path / "ttyGSM", boot_time=0.05) as simulator:
        yield simulator


def delivered(log, message_id, timeout=10.0):
    return log.wait(lambda e: isinstance(e, DeliveryUpdate) and e.message_id == message_id
                    and e.state == "delivered", timeout)


def test_chosen_id_in_result_and_reports(sim, profile):
    with make_modem(sim, profile) as modem:
        log = EventLog(modem.events)
        sent = modem.send_sms(PHONE, "Hola Ana, su cuota vence mañana.", message_id="c-1")
        assert sent.message_id == "c-1" and sent.state == "sent"
        update = delivered(log, "c-1")
        assert update.final and update.parts[0].mr == sent.parts[0].mr
        # without an id: a random one, as before
        other = modem.send_sms(PHONE, "sin id")
        assert other.message_id != "c-1" and len(other.message_id) == 32
        delivered(log, other.message_id)


@pytest.mark.parametrize("store_kind", ["memory", "file"])
def test_chosen_id_survives_a_restart(sim, profile, tmp_path, store_kind):
    """Send as "c-1", close the driver before the report comes, open a new Modem on the same store."""
    store = MemoryStore() if store_kind == "memory" else AtomicJsonFileStore(tmp_path / "driver.json")
    sim.network.phone(PHONE).report_delay = 1.0           # the report comes after the restart
    with make_modem(sim, profile, store=store) as first:
        sent = first.send_sms(PHONE, "Recordatorio antes del corte de luz " * 5, message_id="c-1")   # multipart
        assert sent.state == "sent" and sent.segments >= 2
    assert "c-1" in store.load()["reports"]["messages"]
    with make_modem(sim, profile, store=store) as second:
        update = delivered(EventLog(second.events), "c-1")
        assert update == DeliveryUpdate(message_id="c-1", number=update.number, state="delivered",
                                        parts=update.parts, final=True, at=update.at)
        assert [p.mr for p in update.parts] == [p.mr for p in sent.parts]
    assert "c-1" not in store.load()["reports"]["messages"]


def test_report_stored_while_closed_keeps_the_id(tmp_path):
    """generic stores reports on the SIM (+CDSI): the report arrives while no driver listens."""
    store = AtomicJsonFileStore(tmp_path / "driver.json")
    with Simulator("generic", link=tmp_path / "ttyGSM", boot_time=0.05) as sim:
        sim.network.phone(PHONE).report_delay = 0.1
        with make_modem(sim, "generic", store=store) as first:
            first.send_sms(PHONE, "apagón", message_id="contacto-42")
        time.sleep(0.5)                               # the report lands on the SIM while the port is closed
        with make_modem(sim, "generic", store=store) as second:
            delivered(EventLog(second.events), "contacto-42")


@pytest.mark.parametrize("bad", ["", "a" * (MAX_MESSAGE_ID + 1), "c-1\n", "tab\there", "nul\x00", "del\x7f",
                                 "c1\x85", 42, b"c-1"])
def test_invalid_ids_refused_before_sending(sim, profile, bad):
    with make_modem(sim, profile) as modem:
        before = len(sim.network.submitted)
        with pytest.raises(ValueError):
            modem.send_sms(PHONE, "no sale", message_id=bad)
        assert len(sim.network.submitted) == before
        assert not any(c.startswith("AT+CMGS") for c in sim.commands)


def test_valid_ids():
    for good in ["c-1", "a" * MAX_MESSAGE_ID, "contacto 7/ñandú", "💬"]:
        assert check_message_id(good) == good


def test_id_still_awaiting_reports_is_refused(sim, profile):
    sim.network.phone(PHONE).outcome = "never"           # no report: "c-1" stays tracked
    with make_modem(sim, profile) as modem:
        assert modem.send_sms(PHONE, "primero", message_id="c-1").state == "sent"
        with pytest.raises(ValueError, match="still waiting"):
            modem.send_sms(PHONE, "segundo", message_id="c-1")
        assert [s.text for s in sim.network.submitted] == ["primero"]


def test_id_reusable_once_final(sim, profile):
    with make_modem(sim, profile) as modem:
        log = EventLog(modem.events)
        modem.send_sms(PHONE, "primero", message_id="c-1")
        delivered(log, "c-1")
        assert modem.send_sms(PHONE, "segundo", message_id="c-1").state == "sent"
        log.wait(lambda e: isinstance(e, DeliveryUpdate) and e.message_id == "c-1" and e.state == "delivered",
                 10.0, skip=1)
        assert len([e for e in log.of(DeliveryUpdate) if e.message_id == "c-1" and e.state == "delivered"]) == 2
