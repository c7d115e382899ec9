"""The wired appliance, in-process: ledger + simulated modem + driver + recorder + web.

The web page sees the services the appliance hands it (real HTTP is covered by
test_run_command.py). What a debtor's phone sends reaches the contact log, linked to the debtor,
and leaves the SIM only after it is on disk; a restart neither loses nor
duplicates it.
"""

import time
from datetime import datetime, timezone

import pytest

from firmware_py.app import Appliance
from firmware_py.config import Config
from webui import create_app

pytestmark = pytest.mark.slow


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def config(tmp_path):
    return Config().with_overrides(data_dir=tmp_path / "data", port=0)


NIGHT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)  # 03:00 in Bogotá: no reminder goes out


def start(config, **kwargs):
    """An appliance whose engine lives at night: these tests check the radio and the recorder, and a reminder
    (with a demo phone's automatic reply) sent in the middle of them would depend on the hour CI runs."""
    kwargs.setdefault("clock", lambda: NIGHT)
    appliance = Appliance(config, simulate=True, **kwargs)
    appliance.start()
    return appliance


def test_demo_ledger_modem_and_status_page(config):
    with start(config, demo=True) as appliance:
        wait_until(lambda: appliance.link.status().state == "connected")
        from tests.webui.webclient import Client

        client = Client(create_app(appliance.services(), testing=True))
        health = client.get("/healthz").get_json()
        assert health["modem"]["state"] == "connected" and health["modem"]["simulated"] is True
        assert health["debtors"] == health["loans"] > 0
        assert client.get("/").status_code == 302  # nobody sees the data before the administrator exists
        client.setup_admin()
        page = client.get("/").get_data(as_text=True)
        assert "módem simulado" in page and 'data-state="connected"' in page
        # the test-mode notice: the demo's loans, and why nothing goes out at 03:00 in Bogotá
        assert appliance.simulation == {"why": "requested", "demo": "loaded", "loans": health["loans"]}
        assert f"Se cargaron {health['loans']} préstamos de demostración" in page
        assert "Ahora los recordatorios esperan (fuera del horario permitido para contactar) hasta el 26/11 a las 07:00." \
            in " ".join(page.split())


def test_reply_from_a_debtor_is_recorded_then_deleted_from_the_sim(config):
    with start(config, demo=True) as appliance:
        wait_until(lambda: appliance.link.status().state == "connected")
        debtor = appliance.ledger.debtors()[0]
        number = debtor.phones[0].number
        appliance.link.simulator.network.phone(number).send("SALDO por favor")
        replies = wait_until(lambda: appliance.ledger.contacts(debtor_id=debtor.id, kinds=["reply"]))
        assert [(r.text, r.phone, r.direction) for r in replies] == [("SALDO por favor", number, "inbound")]
        wait_until(lambda: not [m for m in appliance.link.simulator.storage if m.memory != "SR"])


def test_message_from_an_unknown_number_is_kept_too(config):
    with start(config) as appliance:
        wait_until(lambda: appliance.link.status().state == "connected")
        appliance.link.simulator.network.phone("+573009999999").send("Hola, ¿quién es?")
        replies = wait_until(lambda: appliance.ledger.contacts(kinds=["reply"]))
        assert replies[0].debtor_id == "" and replies[0].text == "Hola, ¿quién es?"


def test_demo_is_not_loaded_into_a_ledger_that_has_data(config):
    with start(config, demo=True) as appliance:
        first = appliance.ledger.stats()["loans"]
    with start(config, demo=True) as appliance:
        assert appliance.ledger.stats()["loans"] == first
        assert appliance.simulation == {"why": "requested", "demo": "skipped", "loans": 0}  # the page says so


def test_delivery_report_of_a_sent_sms_reaches_the_contact_log(config):
    with start(config, demo=True) as appliance:
        wait_until(lambda: appliance.link.status().state == "connected")
        debtor = appliance.ledger.debtors()[1]
        number = debtor.phones[0].number
        appliance.link.simulator.network.phone(number).outcome = "failed"
        sent = appliance.link.modem.send_sms(number, "Recordatorio: su cuota vence mañana.")
        assert sent.state == "sent"
        failed = wait_until(lambda: appliance.ledger.contacts(debtor_id=debtor.id, kinds=["failed"]))
        assert failed[0].reference == sent.message_id
        # the driver saves its matching state soon after a change (a writer thread), not within the send
        wait_until(lambda: (config.data_dir / "modem-driver.json").exists())
