"""The SIM's health (firmware_py.sim_health): the balance asked by USSD through our driver to the simulated
modem, the low-balance alarm on the panel, and a SIM that stopped sending."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "modem"))
from _driver_support import assert_no_driver_threads, make_modem  # noqa: E402

from firmware_py.ledger import Ledger  # noqa: E402
from firmware_py.panel_link import ApplianceStatus  # noqa: E402
from firmware_py.sim_health import SETTINGS_KEY, HealthLimits, SimHealth, sending_state  # noqa: E402
from modem.errors import ModemError  # noqa: E402
from modem.simulator import Simulator  # noqa: E402
from scheduler.model import ContactEvent  # noqa: E402

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def ledger():
    with Ledger.memory() as opened:
        yield opened


def open_modem(sim, profile):
    modem = make_modem(sim, profile)
    modem.open()
    return modem


def outbound(kind: str, at: datetime, n: int, detail: str = "") -> ContactEvent:
    return ContactEvent(at=at, debtor_id=f"d{n}", kind=kind, phone="+573001234567", contact_id=f"c{n}",
                        detail=detail)


@pytest.mark.parametrize("profile", ["huawei-e173", "sim800"])
def test_the_balance_is_asked_parsed_and_low(ledger, profile):
    with Simulator(profile, boot_time=0.05) as sim:
        sim.network.ussd["*611#"] = "Claro: Su saldo es $1.250,50. Vence 15/12/2026"
        modem = open_modem(sim, profile)
        try:
            health = SimHealth(ledger, modem=lambda: modem, country="CO", clock=lambda: NOW,
                               limits=HealthLimits(balance_code="*611#", low_balance=2000))
            assert health.balance_due(health.record(), NOW)
            record = health.tick()
        finally:
            modem.close()
    assert record["balance"]["amount"] == "1250.50" and record["balance"]["currency"] == "COP"
    assert record["balance"]["raw"] == "Claro: Su saldo es $1.250,50. Vence 15/12/2026"
    assert record["low_balance"] and record["alert"] == "Saldo bajo en la SIM (COP 1250.50); recárguela pronto."
    assert ledger.settings.get(SETTINGS_KEY) == record
    assert not health.balance_due(record, NOW + timedelta(hours=5))
    assert health.balance_due(record, NOW + timedelta(hours=6))
    panel = ApplianceStatus(SimpleNamespace(ledger=ledger, link=None, dispatcher=None))
    assert "low_balance" in panel().alerts
    assert_no_driver_threads()


def test_enough_balance_is_no_alarm_and_an_unclear_answer_keeps_the_text(ledger):
    with Simulator("sim7600", boot_time=0.05) as sim:
        sim.network.ussd["*611#"] = "Tu saldo principal es de 25.000 pesos vence 15/12"
        modem = open_modem(sim, "sim7600")
        try:
            health = SimHealth(ledger, modem=lambda: modem, country="CO", clock=lambda: NOW,
                               limits=HealthLimits(balance_code="*611#", low_balance=2000))
            record = health.check_balance()
            assert record["balance"]["amount"] == "25000" and not record["low_balance"] and record["alert"] is None
            sim.network.ussd["*611#"] = "Estimado cliente, servicio en mantenimiento"
            record = health.check_balance()
        finally:
            modem.close()
    assert record["balance"]["understood"] is False and record["balance"]["amount"] is None
    assert record["balance"]["raw"] == "Estimado cliente, servicio en mantenimiento"
    assert record["balance"]["error"] == "respuesta del operador no entendida"
    assert "low_balance" not in ApplianceStatus(SimpleNamespace(ledger=ledger, link=None, dispatcher=None))().alerts


def test_no_code_configured_never_asks(ledger):
    with Simulator("generic", boot_time=0.05) as sim:
        modem = open_modem(sim, "generic")
        try:
            health = SimHealth(ledger, modem=lambda: modem, clock=lambda: NOW, limits=HealthLimits(balance_code=""))
            health.tick()
            with pytest.raises(RuntimeError, match="balance_code"):
                health.check_balance()
            assert not any(c.startswith("AT+CUSD") for c in sim.commands)
        finally:
            modem.close()


def test_the_balance_is_asked_again_after_many_sends(ledger):
    health = SimHealth(ledger, modem=lambda: None, clock=lambda: NOW,
                       limits=HealthLimits(balance_code="*611#", balance_after_sends=3))
    record = health.check_balance()            # no modem: the error is stored, the time too
    assert record["balance"]["error"].startswith("el operador no respondió")
    assert not health.balance_due(health.record(), NOW + timedelta(minutes=5))
    ledger.append_contacts(outbound("sent", NOW + timedelta(minutes=i + 1), i) for i in range(3))
    assert health.balance_due(health.record(), NOW + timedelta(minutes=5))


@pytest.mark.parametrize("code, cause", [(50, "bloqueada"), (38, "sin red"), (500, "sin saldo")])
def test_a_sim_that_refuses_sends_is_noticed(ledger, code, cause):
    """The simulated modem answers +CMS ERROR to every send; each outcome is logged as the dispatcher logs it."""
    with Simulator("sim800", boot_time=0.05) as sim:
        sim.network.ussd["*611#"] = "Saldo recarga: $0.00. Bono: $5.000"
        modem = open_modem(sim, "sim800")
        try:
            health = SimHealth(ledger, modem=lambda: modem, clock=lambda: NOW + timedelta(hours=1),
                               registered=lambda: True, limits=HealthLimits(balance_code="*611#", stop_errors=4))
            health.check_balance()
            ledger.append_contact(outbound("sent", NOW, 0, detail="módem 1; 1 parte(s); MR 0"))
            assert health.check_sending()["sending"]["state"] == "ok"
            sim.fail_next("AT+CMGS", f"+CMS ERROR: {code}", count=10)
            for n in range(1, 5):
                at = NOW + timedelta(minutes=n)
                try:
                    sent = modem.send_sms("+573001234567", "Recordatorio de cuota", message_id=f"c{n}")
                except ModemError as exc:   # the dispatcher's retry line
                    ledger.append_contact(outbound("retry", at, n, detail=f"no salió ({exc}); intento 1 de 3"))
                else:
                    kind = "uncertain" if sent.state == "uncertain" else "failed"
                    ledger.append_contact(outbound(kind, at, n, detail=f"módem 1; rechazado: {sent.error}"))
                if n == 3:
                    assert health.check_sending()["sending"]["state"] == "ok"     # 3 < stop_errors
            record = health.check_sending()
        finally:
            modem.close()
    assert record["sending"]["state"] == "stopped" and record["sending"]["errors_in_a_row"] == 4
    assert record["sending"]["cause"] == cause
    assert record["alert"].startswith(f"La SIM dejó de enviar (causa probable: {cause})")
    assert "repeated_errors" in ApplianceStatus(SimpleNamespace(ledger=ledger, link=None, dispatcher=None))().alerts


def test_sends_accepted_but_never_reported_while_earlier_ones_were():
    limits = HealthLimits(unreported_limit=5, report_grace=timedelta(hours=2))
    events = [outbound("sent", NOW - timedelta(hours=10), 0), outbound("delivered", NOW - timedelta(hours=9), 0)]
    events += [outbound("sent", NOW - timedelta(hours=8) + timedelta(minutes=i), i) for i in range(1, 6)]
    state = sending_state(events, now=NOW, limits=limits, balance_low_or_zero=True)
    assert state["state"] == "stopped" and state["cause"] == "sin saldo" and state["unreported"] == 5
    # four unreported only, or recent ones still within the grace: fine
    assert sending_state(events[:-1], now=NOW, limits=limits)["state"] == "ok"
    assert sending_state(events, now=NOW - timedelta(hours=6) + timedelta(minutes=3), limits=limits)["state"] == "ok"
    # never any report at all (an operator without reports): not judged by this rule
    assert sending_state(events[2:], now=NOW, limits=limits)["state"] == "ok"
    # a report arrived for the newest: fine again
    late = events + [outbound("delivered", NOW - timedelta(minutes=30), 5)]
    assert sending_state(late, now=NOW, limits=limits)["state"] == "ok"
    assert sending_state(events, now=NOW, limits=limits, registered=False)["cause"] == "sin red"


def test_a_delivery_failure_report_is_not_a_send_error():
    events = [outbound("sent", NOW - timedelta(minutes=10 - i), i) for i in range(5)]
    events += [outbound("failed", NOW - timedelta(minutes=4 - i), i, detail="1:failed") for i in range(5)]
    assert sending_state(events, now=NOW, limits=HealthLimits(stop_errors=3))["errors_in_a_row"] == 0


def test_the_status_lines(ledger):
    from zoneinfo import ZoneInfo

    from firmware_py.commands.status import sim_health_lines

    zone = ZoneInfo("America/Bogota")
    record = {"balance": {"amount": "1250.50", "currency": "COP", "raw": "x", "at": NOW.isoformat(), "error": None},
              "low_balance": True, "alert": "Saldo bajo en la SIM (COP 1250.50); recárguela pronto."}
    assert sim_health_lines(record, zone) == ["Saldo: COP 1250.50 (consultado el 20/11/2026 10:00), BAJO.",
                                              "ALERTA: Saldo bajo en la SIM (COP 1250.50); recárguela pronto."]
    unclear = {"balance": {"amount": None, "raw": "Servicio en mantenimiento", "error": "no entendida"}}
    assert sim_health_lines(unclear, zone) == ["Saldo: respuesta del operador no entendida: «Servicio en "
                                               "mantenimiento»."]
    assert sim_health_lines(None, zone) == []
    assert Decimal(record["balance"]["amount"]) < 2000
