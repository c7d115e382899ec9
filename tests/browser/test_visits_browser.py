"""Visitas in a real headless Chromium against a real appliance (simulated modem), at a phone's width: the
debtor whose ladder reached a visit step is on the list, the print view has no menu and hides nothing of the
debtor when printed, and «Visita hecha» takes the debtor off the list. Every step checks the page's guards
(no console or script error, no CSP violation, no request leaving the box, no server error, no sideways
scroll)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from harness import ZONE

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

PASSWORD = "una frase larga para la cooperativa"
NAME = "Rosa <b>Quispe</b> Ñañez"


def seed(box) -> None:
    from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone

    ledger = box.appliance.ledger
    now = box.clock()
    ledger.import_batch([Debtor("d-rosa", NAME, document="1020304", loan_officer="Asesor Norte", group="Barrio Norte",
                                phones=(Phone("+573001112233"),))],
                        [Loan("L-ROSA", "d-rosa", instalments=(Instalment(1, box.day - timedelta(days=40),
                                                                          Decimal(150000)),))],
                        source="test", now=now - timedelta(days=60))
    ledger.append_contact(ContactEvent(now - timedelta(days=1), "d-rosa", "sent", channel="visit",
                                       contact_id="d-rosa:L-ROSA:1:s4", loan_external_id="L-ROSA",
                                       detail="en la lista de visitas del asesor"))


def test_visit_list_print_view_and_visit_done(ui_factory, box):
    seed(box)
    ui = ui_factory(360, 740)
    page = ui.page

    with ui.step("administrador"):
        ui.goto("/")
        form = page.locator("#setup-form")
        form.locator("[name=name]").fill("gerente")
        form.locator("[name=password]").fill(PASSWORD)
        form.locator("[name=confirm]").fill(PASSWORD)
        ui.click(ui.button("Crear administrador", form), "the «Crear administrador» button")
        ui.expect_path(r"/", "after creating the administrator")

    with ui.step("lista de visitas"):
        ui.menu("Visitas")
        ui.expect_path(r"/visitas", "the menu's Visitas")
        block = page.locator("article.visit[data-debtor='d-rosa']")
        assert block.count() == 1, ui.main_text()
        assert NAME in block.locator(".visit-name").inner_text()  # shown as text, not markup
        assert "Barrio Norte" in block.inner_text() and "300 1112233" in block.inner_text()
        today = box.clock().astimezone(ZONE).date()
        assert block.locator(".visit-late").inner_text().strip() == str((today - (box.day - timedelta(days=40))).days)

    with ui.step("vista para imprimir"):
        ui.click(page.locator("#print-link"), "the print link")
        ui.expect_path(r"/visitas/imprimir", "the print link")
        assert page.locator("nav").count() == 0 and page.locator("header.top").count() == 0
        assert page.locator("form").count() == 0
        assert page.locator("[data-print]").is_visible(), "the print button (static script) is not shown"
        page.emulate_media(media="print")
        assert not page.locator("[data-print]").is_visible(), "the print button is printed"
        printed = page.locator("article.visit[data-debtor='d-rosa']")
        assert printed.is_visible() and NAME in printed.inner_text()
        assert page.evaluate("() => getComputedStyle(document.querySelector('article.visit')).breakInside") \
            == "avoid"
        page.emulate_media(media="screen")

    with ui.step("visita hecha"):
        ui.goto("/visitas")
        block = page.locator("article.visit[data-debtor='d-rosa']")
        block.locator("select[name=result]").select_option("no_estaba")
        block.locator("textarea[name=note]").fill("Vuelvo el lunes")
        ui.click(ui.button("Visita hecha", block), "the «Visita hecha» button")
        ui.expect_path(r"/visitas", "after recording the visit")
        assert "anotada" in ui.flash_text(), ui.flash_text()
        assert page.locator("article.visit").count() == 0
        assert "No hay visitas pendientes" in ui.main_text()

    assert ui.hosts == {box.netloc}
    assert not ui.layout_problems, "\n".join(ui.layout_problems)
