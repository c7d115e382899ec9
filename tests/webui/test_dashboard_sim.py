"""The SIM's health on the dashboard and in /healthz: the record ``firmware_py.sim_health`` keeps in the ledger
setting ``sim_health`` — balance and how long ago it was asked, low balance, a SIM that stopped sending — read
over HTTP from a real ledger."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from firmware_py.sim_health import SETTINGS_KEY, HealthLimits, SimHealth
from scheduler.model import ContactEvent

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the conftest's clock


def page(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(text: str, element_id: str) -> str:
    start = text.index(f'id="{element_id}"')
    return text[start:text.index("</p>", start)]


def record(amount="3200", currency="COP", hours=2, low=False, sending=None, raw="Su saldo es $3.200", **more):
    return {"balance": {"amount": amount, "currency": currency, "raw": raw, "understood": amount is not None,
                        "at": (NOW - timedelta(hours=hours)).isoformat(), "error": None},
            "low_balance": low, "threshold": more.get("threshold"),
            "sending": sending or {"state": "ok", "cause": None, "errors_in_a_row": 0, "last_error": None,
                                   "unreported": 0},
            "alert": more.get("alert"), "checked_at": NOW.isoformat()}


def test_the_balance_and_how_long_ago_it_was_asked(admin, ledger):
    ledger.settings.set(SETTINGS_KEY, record())
    text = page(admin)
    assert "Saldo de la SIM: $ 3.200" in section(text, "sim-balance")
    assert "(consultado hace 2 h)" in section(text, "sim-balance")
    assert 'id="sim-low"' not in text and 'id="sim-stopped"' not in text
    ledger.settings.set(SETTINGS_KEY, record(amount="1250.50", hours=0.1))
    assert "$ 1.250,50" in section(page(admin), "sim-balance") and "hace 6 min" in page(admin)


def test_a_low_balance_is_a_warning_that_says_recharge(admin, ledger):
    ledger.settings.set(SETTINGS_KEY, record(amount="800", low=True, threshold="1000", hours=30))
    text = page(admin)
    warning = section(text, "sim-low")
    assert 'class="flash warn"' in warning and "Saldo bajo." in warning
    assert "Quedan menos de $ 1.000." in warning and "Recargue la SIM" in warning
    assert "(consultado hace 30 h)" in section(text, "sim-balance")


def test_a_sim_that_stopped_sending_says_why_and_what_to_do(admin, ledger):
    ledger.settings.set(SETTINGS_KEY, record(amount="0", sending={
        "state": "stopped", "cause": "sin saldo", "errors_in_a_row": 6, "last_error": "+CMS ERROR: 500",
        "unreported": 0}))
    text = page(admin)
    alarm = section(text, "sim-stopped")
    assert 'class="flash error"' in alarm and "La SIM dejó de enviar." in alarm
    assert "Causa probable: sin saldo." in alarm and "Recargue la SIM" in alarm
    assert "+CMS ERROR: 500" in section(text, "sim-last-error")


def test_the_record_the_appliance_writes_is_shown(admin, ledger):
    """The record as firmware_py.sim_health writes it: five SMS refused in a row with a barred-line error."""
    ledger.append_contacts(ContactEvent(NOW - timedelta(minutes=30 - n), f"d-{n}", "failed", phone="+573001112233",
                                        direction="outbound", contact_id=f"d-{n}:L:1:s1",
                                        detail="rechazado por la red: +CMS ERROR: 21") for n in range(5))
    SimHealth(ledger, modem=lambda: None, limits=HealthLimits(stop_errors=5), clock=lambda: NOW).check_sending()
    alarm = section(page(admin), "sim-stopped")
    assert "Causa probable: la línea está suspendida o bloqueada para SMS." in alarm
    assert "Revise la SIM y llame al operador" in alarm


def test_an_answer_not_understood_is_shown_as_the_operator_wrote_it_escaped(admin, ledger):
    ledger.settings.set(SETTINGS_KEY, record(amount=None, currency=None, raw="Servicio <b>no</b> disponible"))
    shown = section(page(admin), "sim-balance")
    assert "El operador respondió: «Servicio &lt;b&gt;no&lt;/b&gt; disponible»" in shown and "<b>" not in shown


def test_no_record_no_sim_health(admin):
    text = page(admin)
    assert 'id="sim-health"' not in text and 'id="sim-balance"' not in text


def test_english(admin, ledger):
    ledger.settings.set(SETTINGS_KEY, record(low=True, threshold="5000", sending={
        "state": "stopped", "cause": "sin red", "errors_in_a_row": 5, "last_error": None, "unreported": 0}))
    admin.post("/idioma/en", {"next": "/"}, page="/")
    text = page(admin)
    assert "SIM balance: $ 3.200" in text and "(checked 2 h ago)" in text
    assert "The SIM stopped sending." in text and "Likely cause: no mobile network signal." in text
    assert "Low balance." in text and "Top up the SIM soon" in text


def test_every_sim_text_is_in_the_english_catalogue():
    from test_message_templates import untranslated

    po = "webui/translations/dashboard/en/LC_MESSAGES/messages.po"
    assert untranslated(po, "webui/dashboard.py", "webui/templates/dashboard/index.html") == []
    from babel.messages.pofile import read_po
    from webui.dashboard import SIM_ADVICE, SIM_ADVICE_OTHER, SIM_CAUSES
    with open(po, "rb") as handle:
        known = {m.id for m in read_po(handle) if m.id and m.string}
    assert {*SIM_CAUSES.values(), *SIM_ADVICE.values(), SIM_ADVICE_OTHER} - known == set()


def test_healthz_includes_the_sim(client, ledger):
    assert json.loads(client.get("/healthz").data)["sim"] is None
    ledger.settings.set(SETTINGS_KEY, record(amount="800", low=True, threshold="1000", alert="Saldo bajo en la SIM",
                                             raw="Saldo $800 para el 3001112233"))
    data = json.loads(client.get("/healthz").data)
    assert data["sim"] == {"balance": "800", "currency": "COP", "balance_at": (NOW - timedelta(hours=2)).isoformat(),
                           "low_balance": True, "sending": "ok", "cause": None, "alert": "Saldo bajo en la SIM",
                           "checked_at": NOW.isoformat()}
    assert "3001112233" not in client.get("/healthz").get_data(as_text=True)  # no login: not the operator's text
