"""The dashboard's figures kept until the ledger changes, and the header's cooperative name (Settings wins)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.model import ContactEvent, Debtor, Phone
from webui.dashboard import figures_key, recent_figures
from webui.inbox import HANDLED_SUFFIX, INBOX_MARK

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # conftest's clock
BOGOTA = ZoneInfo("America/Bogota")


def body(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def debtor(ledger):
    ledger.import_batch([Debtor("d-1", "Rosa Quispe", phones=(Phone("+573001112233"),))], [], source="test",
                        now=NOW)
    return "d-1"


def test_figures_are_reused_until_the_ledger_changes(app, ledger, debtor):
    with app.test_request_context("/"):
        first = recent_figures(ledger, NOW, BOGOTA)
        assert recent_figures(ledger, NOW + timedelta(minutes=5), BOGOTA) is first  # same day, nothing new
        ledger.append_contact(ContactEvent(NOW - timedelta(minutes=1), debtor, "sent", phone="+573001112233",
                                           contact_id="d-1:L:1:a"))
        second = recent_figures(ledger, NOW, BOGOTA)
        assert second is not first and second.numbers["sent"] == 1 and first.numbers["sent"] == 0
        ledger.settings.set("sending_paused", True)  # any record or setting moves the journal's sequence
        assert recent_figures(ledger, NOW, BOGOTA) is not second


def test_figures_key_moves_with_the_day_and_the_window():
    from firmware_py.ledger import Ledger

    with Ledger.memory(clock=lambda: NOW) as ledger:
        today = figures_key(ledger, NOW, BOGOTA)
        assert figures_key(ledger, NOW + timedelta(hours=1), BOGOTA) == today
        assert figures_key(ledger, NOW + timedelta(hours=15), BOGOTA) != today  # 01:00 next day in Bogotá
        assert figures_key(ledger, datetime(2026, 12, 1, 12, tzinfo=timezone.utc), BOGOTA)[-1] != today[-1]


def test_page_shows_what_was_written_after_the_last_load(admin, ledger, debtor):
    page = body(admin.get("/"))
    assert 'id="n-sent">0<' in page and "Ninguna respuesta espera" in page and "Rosa Quispe" not in page
    at = NOW - timedelta(hours=1)
    for kind in ("sending", "uncertain"):
        ledger.append_contact(ContactEvent(at, debtor, kind, phone="+573001112233", contact_id="d-1:L:1:s1",
                                           text="Hola Rosa" if kind == "sending" else ""))
    ledger.append_contact(ContactEvent(at, debtor, "reply", direction="inbound", phone="+573001112233",
                                       contact_id="sms-in:1", text="¿cuánto debo?"))
    ledger.append_contact(ContactEvent(at, debtor, "note", direction="internal", phone="+573001112233",
                                       contact_id="sms-in:1" + HANDLED_SUFFIX, text=INBOX_MARK))
    page = body(admin.get("/"))
    assert 'id="n-uncertain">1<' in page and 'id="n-replies">1<' in page and 'id="n-waiting">1<' in page
    assert "Rosa Quispe" in page and "Hola Rosa" in page
    doubt = next(e for e in ledger.contacts(kinds=("uncertain",)))
    response = admin.post(f"/envios/dudoso/{doubt.id}", {"outcome": "no_salio"}, page="/")
    assert response.status_code == 302
    assert "Hola Rosa" not in body(admin.get("/"))  # the decision is seen at once


def test_header_shows_the_name_edited_in_settings(admin, ledger):
    assert 'class="coop">Cooperativa La Esperanza<' in body(admin.get("/"))  # the configuration's
    ledger.settings.set("cooperative_name", "Coop. Nueva Luz")
    for url in ("/", "/mensajes"):
        page = body(admin.get(url))
        assert 'class="coop">Coop. Nueva Luz<' in page and "— Coop. Nueva Luz</title>" in page, url
        assert "La Esperanza" not in page, url
    ledger.settings.set("cooperative_name", "Cooperativa")  # the placeholder: the configuration's again
    assert 'class="coop">Cooperativa La Esperanza<' in body(admin.get("/"))


def test_header_name_from_the_settings_page_and_escaped(admin, ledger):
    page = body(admin.get("/ajustes"))
    assert 'class="coop">Cooperativa La Esperanza<' in page
    ledger.settings.set("cooperative_name", "<b>Coop</b> & Cía")
    page = body(admin.get("/"))
    assert "<b>Coop</b>" not in page and 'class="coop">&lt;b&gt;Coop&lt;/b&gt; &amp; Cía<' in page


def test_login_page_header_uses_settings_too(client, ledger):
    ledger.settings.set("cooperative_name", "Coop. Nueva Luz")
    assert "Coop. Nueva Luz" in body(client.get("/configurar"))


def test_the_planned_count_is_the_same_with_the_appliances_planner():
    """Given the appliance's :class:`~scheduler.planner.Planner`, the count plans with it (its memory is used
    from the second count on) and counts what :func:`~scheduler.planner.plan` would."""
    from datetime import date

    from firmware_py.ledger import Ledger
    from scheduler.clock import ClockTrust
    from scheduler.model import Instalment, Loan
    from scheduler.planner import Planner
    from scheduler.policy import load_policy
    from webui.dashboard import count_planned

    policy = load_policy({"rules": {"profile": "CO"}}, country="CO", clock=ClockTrust(True, "given"))
    with Ledger.memory(clock=lambda: NOW) as ledger:
        debtors = [Debtor(f"d-{n}", "Rosa Quispe", phones=(Phone(f"+57300111220{n}"),)) for n in range(4)]
        loans = [Loan(f"L-{n}", f"d-{n}", instalments=(Instalment(1, date(2026, 11, 26) + timedelta(days=d), 90_000),))
                 for n, d in enumerate((0, 1, 9, 30))]
        ledger.import_batch(debtors, loans, source="test", now=NOW - timedelta(days=20))
        planner = Planner()
        expected = count_planned(ledger, policy, NOW, BOGOTA)
        assert expected > 0
        assert count_planned(ledger, policy, NOW, BOGOTA, planner) == expected
        assert count_planned(ledger, policy, NOW + timedelta(minutes=1), BOGOTA, planner) == expected
        assert planner.reused > 0
