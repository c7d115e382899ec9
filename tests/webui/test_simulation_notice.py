"""The test-mode notice on every page while the appliance runs on its simulated modem: that no real phone gets a
message, why the modem is simulated, what became of the demo loans, and — when the cooperative's rules forbid
contacting now — until when reminders wait. Read over HTTP, in Spanish and in English."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from scheduler.clock import ClockTrust
from scheduler.policy import load_policy
from webui import create_app
from webui.services import Services

from webclient import Client

POLICY = load_policy({"rules": {"profile": "CO"}}, country="CO", cooperative_name="Coop",
                     clock=ClockTrust(True, "given", "test"))
TUESDAY_10 = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)   # 10:00 in Bogotá: contact allowed
TUESDAY_21 = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)    # 21:00 in Bogotá: after 19:00
SATURDAY_16 = datetime(2026, 11, 28, 21, 0, tzinfo=timezone.utc)  # Saturday 16:00: Saturdays end at 15:00


def admin_for(ledger, now, simulation, policy=POLICY) -> Client:
    services = Services(ledger=ledger, cooperative="Coop", version="test", now=lambda: now, simulation=simulation,
                        policy=(lambda: policy) if policy is not None else None)
    client = Client(create_app(services, testing=True))
    client.setup_admin()
    return client


def notice(client, url="/") -> str:
    text = client.get(url).get_data(as_text=True)
    start = text.index('id="simulation"')
    return " ".join(text[start:text.index("</div>", start)].split())


def test_a_real_modem_shows_no_notice(admin):
    assert 'id="simulation"' not in admin.get("/").get_data(as_text=True)


def test_the_demo_loaded_at_night_says_until_when_reminders_wait(ledger):
    client = admin_for(ledger, TUESDAY_21, {"why": "requested", "demo": "loaded", "loans": 24})
    text = notice(client)
    assert "Modo de prueba: módem simulado." in text and "Ningún mensaje llega a un teléfono real." in text
    assert "Se cargaron 24 préstamos de demostración" in text
    assert "No hay ningún módem conectado" not in text
    assert "Ahora los recordatorios esperan (fuera del horario permitido para contactar) hasta el 25/11" in text
    assert "hasta el 25/11 a las 07:00." in text  # Wednesday morning, in the cooperative's zone
    assert "cobrador plan" in text
    assert notice(client, "/usuarios") == text  # every page


def test_in_hours_the_notice_says_nothing_about_waiting(ledger):
    text = notice(admin_for(ledger, TUESDAY_10, {"why": "no_modem", "demo": "skipped", "loans": 0}))
    assert "No hay ningún módem conectado." in text
    assert "El registro ya tenía datos: no se cargó la demostración." in text
    assert "los recordatorios esperan" not in text and "Se cargaron" not in text


def test_a_saturday_afternoon_waits_until_monday(ledger):
    text = notice(admin_for(ledger, SATURDAY_16, {"why": "requested", "demo": "off", "loans": 0}))
    assert "hasta el 30/11 a las 07:00." in text  # Sunday is closed in Colombia
    assert "demostración" not in text


@pytest.mark.parametrize("simulation", [{"why": "nonsense", "demo": 3}, {"demo": "loaded"}])
def test_an_incomplete_record_still_shows_a_notice(ledger, simulation):
    text = notice(admin_for(ledger, TUESDAY_10, simulation))
    assert "Modo de prueba" in text and "No hay ningún módem conectado" not in text


def test_without_a_policy_the_notice_still_shows(ledger):
    text = notice(admin_for(ledger, TUESDAY_21, {"why": "requested", "demo": "loaded", "loans": 3}, policy=None))
    assert "Se cargaron 3 préstamos" in text and "los recordatorios esperan" not in text


def test_the_notice_in_english(ledger):
    client = admin_for(ledger, TUESDAY_21, {"why": "no_modem", "demo": "loaded", "loans": 24})
    client.post("/idioma/en", {"next": "/"}, page="/")
    text = notice(client)
    assert "Test mode: simulated modem." in text and "No message reaches a real phone." in text
    assert "No modem is connected." in text and "24 demo loans were loaded" in text
    assert "Reminders wait now (outside the permitted contact hours) until 25/11 at 07:00." in text
    assert "Modo de prueba" not in text
