"""The cooperative's name edited in Ajustes is the one every page and export shows (Services.cooperative_name):
the header, the board pack, the reports CSV, the printed visit list, the Settings form, the call script."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the conftest's clock
CONFIGURED = "Cooperativa La Esperanza"   # the conftest's services.cooperative
EDITED = "Coop. Nueva Luz & Cía"
SETTINGS = {"cooperative_name": EDITED, "callback_number": "+57 604 444 5566",
            "payment_methods": "en la oficina", "daily_sms_cap": "250", "promise_grace_days": "2", "language": "es"}


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def edited(admin, ledger):
    """A debtor due a visit, and the name changed on the Settings page as staff do it."""
    from decimal import Decimal

    ledger.import_batch([Debtor("d-rosa", "Rosa Quispe", document="1020304", loan_officer="Asesor Norte",
                                phones=(Phone("+573001112233"),))],
                        [Loan("L-ROSA", "d-rosa", instalments=(Instalment(1, date(2026, 10, 1), Decimal(150000)),))],
                        source="test", now=NOW - timedelta(days=90))
    ledger.append_contact(ContactEvent(NOW - timedelta(days=1), "d-rosa", "sent", channel="visit",
                                       contact_id="d-rosa:L-ROSA:1:s4", loan_external_id="L-ROSA",
                                       detail="en la lista de visitas del asesor"))
    assert admin.post("/ajustes", SETTINGS, page="/ajustes").status_code == 302
    assert ledger.settings.get("cooperative_name") == EDITED
    return admin


@pytest.mark.parametrize("url", ["/", "/informes/junta", "/visitas/imprimir", "/visitas", "/ajustes",
                                 "/deudores/d-rosa/guion"])
def test_every_page_shows_the_edited_name(edited, url):
    page = text(edited.get(url))
    assert "Coop. Nueva Luz &amp; Cía" in page, url
    assert CONFIGURED not in page, url


def test_the_board_pack_heads_with_the_edited_name(edited):
    page = text(edited.get("/informes/junta"))
    assert '<p class="board-head"><strong>Coop. Nueva Luz &amp; Cía</strong>' in page


def test_the_reports_csv_names_the_edited_cooperative(edited):
    data = edited.get("/informes/csv").get_data().decode("utf-8-sig")
    first = data.splitlines()[0]
    assert first.startswith("Informe de cobranza") and EDITED in first and CONFIGURED not in data


def test_the_placeholder_name_gives_back_the_configurations(edited, ledger):
    ledger.settings.set("cooperative_name", "Cooperativa")
    assert f"<strong>{CONFIGURED}</strong>" in text(edited.get("/informes/junta"))
    assert CONFIGURED in edited.get("/informes/csv").get_data().decode("utf-8-sig").splitlines()[0]


def test_a_ledger_that_cannot_be_read_leaves_the_configurations_name(services, ledger):
    ledger.settings.set("cooperative_name", EDITED)
    assert services.cooperative_name() == EDITED
    ledger.close()
    assert services.cooperative_name() == CONFIGURED
