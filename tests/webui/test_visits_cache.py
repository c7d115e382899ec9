"""Visits (/visitas) kept between page loads: the list and each debtor's drawn block are reused only while the
ledger, the day and the page's language stay the same, and the "Visita hecha" form always carries the
session's own CSRF token."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the conftest's clock


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def block(page: str, debtor_id: str) -> str:
    start = page.index(f'id="visit-{debtor_id}"')
    return page[start:page.index("</article>", start)]


def form_token(page: str, debtor_id: str) -> str:
    found = re.search(r'action="/visitas/' + debtor_id + r'/hecha"[^>]*>\s*<input type="hidden" name="csrf_token" '
                      r'value="([^"]+)"', page)
    assert found, "no visit form"
    return found.group(1)


@pytest.fixture
def seeded(ledger):
    """Rosa (officer Norte) and Tomás (no officer) are due a visit."""
    ledger.import_batch(
        [Debtor("d-rosa", "Rosa Quispe", document="1020304", loan_officer="Asesor Norte", group="Barrio Norte",
                phones=(Phone("+573001112233"),)),
         Debtor("d-tomas", "Tomás Ríos", document="99", group="Vereda Alta", phones=(Phone("+573004445566"),))],
        [Loan("L-ROSA", "d-rosa", instalments=(Instalment(1, date(2026, 10, 1), Decimal(150000)),)),
         Loan("L-TOMAS", "d-tomas", instalments=(Instalment(1, date(2026, 11, 1), Decimal(90000)),))],
        source="test", now=NOW - timedelta(days=90))
    for debtor_id, loan in (("d-rosa", "L-ROSA"), ("d-tomas", "L-TOMAS")):
        ledger.append_contact(ContactEvent(NOW - timedelta(days=2), debtor_id, "sent", channel="visit",
                                           direction="outbound", contact_id=f"{debtor_id}:{loan}:1:s4",
                                           loan_external_id=loan, detail="en la lista de visitas del asesor"))
    return ledger


def test_blocks_follow_the_pages_language(admin, seeded):
    assert "Teléfonos" in block(body(admin.get("/visitas")), "d-rosa")
    admin.post("/idioma/en", {"next": "/visitas"}, page="/visitas")
    english = block(body(admin.get("/visitas")), "d-rosa")
    assert "Phones" in english and "Teléfonos" not in english and "Days late" in english
    admin.post("/idioma/es", {"next": "/visitas"}, page="/visitas")
    spanish = block(body(admin.get("/visitas")), "d-rosa")
    assert "Teléfonos" in spanish and "Phones" not in spanish


def test_a_new_contact_or_a_new_day_draws_the_block_again(admin, seeded, services):
    before = block(body(admin.get("/visitas")), "d-rosa")
    assert "Sin contactos recientes." in before and '<dd class="visit-late">56</dd>' in before
    seeded.append_contact(ContactEvent(NOW - timedelta(hours=1), "d-rosa", "delivered", phone="+573001112233",
                                       contact_id="d-rosa:L-ROSA:1:s3", text="Rosa, su cuota sigue vencida."))
    after = block(body(admin.get("/visitas")), "d-rosa")
    assert "Rosa, su cuota sigue vencida." in after and "Sin contactos recientes." not in after
    services.now = lambda: NOW + timedelta(days=1)
    assert '<dd class="visit-late">57</dd>' in block(body(admin.get("/visitas")), "d-rosa")


def test_a_debtor_changed_in_the_ledger_shows_the_change(admin, seeded):
    assert "Rosa Quispe" in block(body(admin.get("/visitas")), "d-rosa")
    rosa = seeded.debtor("d-rosa")
    seeded.import_batch([Debtor("d-rosa", "Rosa Quispe de Mamani", document=rosa.document,
                                loan_officer=rosa.loan_officer, group=rosa.group, phones=rosa.phones)],
                        [], source="test", now=NOW)
    assert "Rosa Quispe de Mamani" in block(body(admin.get("/visitas")), "d-rosa")


def test_every_session_gets_its_own_token_in_the_drawn_list(admin, make_user, seeded):
    operator = make_user("operador")
    admin_page, operator_page = body(admin.get("/visitas")), body(operator.get("/visitas"))
    mine, theirs = form_token(admin_page, "d-rosa"), form_token(operator_page, "d-rosa")
    assert mine != theirs
    response = operator.post("/visitas/d-rosa/hecha", {"result": "pago", "csrf_token": theirs}, token=False)
    assert response.status_code == 302
    assert 'id="visit-d-rosa"' not in body(admin.get("/visitas"))


def test_filter_choices_name_the_debtors_without_officer(admin, seeded):
    page = body(admin.get("/visitas"))
    assert '<option value="">Sin asesor</option>' in page and '<option value="Asesor Norte">' in page
    assert '<option value="Vereda Alta">Vereda Alta</option>' in page
    chosen = body(admin.get("/visitas?zona=Vereda+Alta"))
    assert '<option value="Vereda Alta" selected>' in chosen and 'id="visit-d-rosa"' not in chosen
    assert 'id="visit-d-tomas"' in chosen
