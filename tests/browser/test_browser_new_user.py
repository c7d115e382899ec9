"""A new cooperative's first day, in a real headless Chromium against a real appliance (simulated modem).

The path, once on a desktop screen and once at a phone's width (360×740), each on a fresh appliance:

1. the first visit leads to /configurar: the administrator's password is created;
2. a debtor is added with the form (/deudores/nuevo), then a loan with its instalment plan;
3. the example loan file is imported (/importar: upload, check the column mapping, check, confirm);
4. the debtors' pages show the planned reminders (an imported one and ours);
5. the simulated day runs: the engine's clock moves to 10:00 on the due day and «Enviar ahora» wakes the
   dispatcher; the timeline shows the SMS sent, then its delivery report;
6. the debtor's virtual phone answers «SALDO»: the timeline shows the reply understood and the answer
   sent, the phone receives the balance, /mensajes lists the answer's text;
7. a payment is recorded on the debtor's page;
8. the report (/informes) shows it.

Every step leaves a screenshot in tests/browser/artifacts/ and checks the page: no console error, no
script error, no Content-Security-Policy violation, no request leaving the box, no server error, and at
the phone's width no sideways scroll (``document.documentElement.scrollWidth`` within the viewport) and
every button used within the screen.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from harness import at, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

EXAMPLE = Path(__file__).resolve().parents[2] / "firmware_py" / "importer" / "examples" / \
    "prestamos_una_fila_por_credito.csv"
PASSWORD = "una frase larga para la cooperativa"
DEBTOR = {"name": "Marta Lucía Gómez Ríos", "document": "1.098.765.432", "phone": "300 555 0101"}
DEBTOR_E164 = "+573005550101"
LOAN = {"loan_id": "WEB-1", "product": "Microcrédito", "total": "600.000", "count": "6"}
PAYMENT = {"amount": "123.456", "reference": "REC-0001"}
EXPECTED_MAPPING = {"Crédito": "loan_id", "Nombre": "name", "Cédula": "document", "Celular": "phone",
                    "Monto": "amount", "Número de cuotas": "instalments", "Frecuencia": "frequency",
                    "Primera cuota": "first_due_date", "Pagado": "paid_amount", "Producto": "product",
                    "Asesor": "loan_officer", "Grupo": "group"}
SCREENS = {"escritorio": (1280, 800), "telefono": (360, 740)}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_new_user_first_day(ui_factory, box, screen):
    width, height = SCREENS[screen]
    ui = ui_factory(width, height)
    started = time.monotonic()
    try:
        journey(ui, box)
    except AssertionError as exc:
        if ui.layout_problems:  # say also which pages scrolled sideways before the failure
            raise AssertionError(f"{exc}\n\nand before that, at {width} px:\n" + "\n".join(ui.layout_problems)) \
                from exc
        raise
    finally:
        summary = {"screen": screen, "seconds": round(time.monotonic() - started, 1),
                   "steps": [{"step": name, "seconds": round(seconds, 2)} for name, seconds in ui.steps],
                   "hosts": sorted(ui.hosts), "pages": sorted(set(ui.visited)),
                   "layout_problems": ui.layout_problems}
        (ui.artifacts / "resumen.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                                  encoding="utf-8")
    assert ui.hosts == {box.netloc}, f"the browser talked to {sorted(ui.hosts)}, not only to the box"
    assert not ui.layout_problems, f"pages that scroll sideways at {width} px:\n" + "\n".join(ui.layout_problems)


def journey(ui, box) -> None:
    page = ui.page
    day = box.day

    with ui.step("primera configuración"):
        ui.goto("/")
        ui.expect_path(r"/configurar", "the first visit must lead to the setup page")
        form = page.locator("#setup-form")
        form.locator("[name=name]").fill("gerente")
        form.locator("[name=password]").fill(PASSWORD)
        form.locator("[name=confirm]").fill(PASSWORD)
        ui.click(ui.button("Crear administrador", form), "the «Crear administrador» button")
        ui.expect_path(r"/", "after creating the administrator")
        assert "usted es el administrador" in ui.flash_text(), ui.flash_text()

    with ui.step("deudor nuevo"):
        ui.menu("Deudores")
        ui.expect_path(r"/deudores", "the menu's Deudores")
        ui.click(page.locator("main a", has_text="Nuevo deudor"), "the «Nuevo deudor» link")
        ui.expect_path(r"/deudores/nuevo", "the «Nuevo deudor» link")
        page.locator("[name=name]").fill(DEBTOR["name"])
        page.locator("[name=document]").fill(DEBTOR["document"])
        page.locator("[name='phones-0-number']").fill(DEBTOR["phone"])
        assert page.locator("[name='phones-0-sms']").is_checked(), "SMS should be authorised by default"
        ui.click(ui.button("Guardar"), "the «Guardar» button of the debtor form")
        ui.expect_path(r"/deudores/d-[0-9a-f]+", "after saving the new debtor")
        assert "Deudor creado" in ui.flash_text(), ui.flash_text()
    debtor_path = ui.path().split("#")[0]

    with ui.step("crédito del deudor"):
        ui.click(page.locator("main a", has_text="Nuevo crédito"), "the «Nuevo crédito» link")
        ui.expect_path(r"/deudores/d-[0-9a-f]+/creditos/nuevo", "the «Nuevo crédito» link")
        page.locator("[name=loan_id]").fill(LOAN["loan_id"])
        page.locator("[name=product]").fill(LOAN["product"])
        generate = page.locator("[name=mode][value=generar]")
        if generate.count():
            generate.check()
        page.locator("[name=total]").fill(LOAN["total"])
        page.locator("[name=count]").fill(LOAN["count"])
        first_due = page.locator("[name=first_due]")
        first_due.fill(day.isoformat() if first_due.get_attribute("type") == "date" else f"{day:%d/%m/%Y}")
        page.locator("[name=frequency]").select_option("mensual")
        ui.click(ui.button("Guardar crédito"), "the «Guardar crédito» button")
        ui.expect_path(re.escape(debtor_path), "after saving the loan")
        assert f"Crédito {LOAN['loan_id']} guardado con 6 cuotas" in ui.flash_text(), ui.flash_text()
        assert LOAN["loan_id"] in page.locator("#creditos").inner_text()

    with ui.step("importar: subir el archivo"):
        ui.menu("Importar")
        ui.expect_path(r"/importar", "the menu's Importar")
        page.locator("#upload-form [name=archivo]").set_input_files(str(EXAMPLE))
        ui.click(ui.button("Subir y ver cómo se lee"), "the upload button")
        ui.expect_path(r"/importar/[^/]+", "after uploading the example file")

    with ui.step("importar: revisar las columnas"):
        assert not page.locator("main .flash.error").count(), ui.flash_text()
        chosen = {}
        for select in page.locator("#mapping-form select").all():
            label = page.locator(f"label[for='{select.get_attribute('id')}']").inner_text()
            header = label.split(". ", 1)[1].strip() if ". " in label else label.strip()
            chosen[header] = select.input_value()
        assert chosen == EXPECTED_MAPPING, f"the columns are read as {chosen}"
        ui.click(ui.button("Revisar el archivo"), "the «Revisar el archivo» button")
        ui.expect_path(r"/importar/[^/]+/revision", "after checking the file")
        assert page.locator("#rows-read").inner_text() == "4"
        assert page.locator("#rows-valid").inner_text() == "4"
        assert page.locator("#rows-rejected").inner_text() == "0"
        assert "es fijo" in page.locator("#warnings").inner_text()  # the landline of row 4

    with ui.step("importar: confirmar"):
        ui.click(ui.button("Importar ahora"), "the «Importar ahora» button")
        ui.expect_path(r"/importar/[^/]+/resultado", "after confirming the import")
        assert "la lista se importó" in ui.flash_text(), ui.flash_text()
        assert "nuevos: 4" in page.locator("#loans").inner_text()

    with ui.step("plan de un deudor importado"):
        open_debtor(ui, "CR-1001", "María Fernanda Quispe")
        plan = page.locator("#plan")
        assert "CR-1001" in plan.inner_text(), plan.inner_text()
        assert plan.locator("tbody tr").count() >= 1
        assert "Espera" in plan.inner_text(), f"the first instalment is due in 2027: {plan.inner_text()}"

    with ui.step("plan del deudor nuevo"):
        open_debtor(ui, DEBTOR["document"], DEBTOR["name"])
        plan = page.locator("#plan")
        rows = plan.locator("tbody tr")
        assert rows.count() >= 1, plan.inner_text()
        text = plan.inner_text()
        assert LOAN["loan_id"] in text and "Espera" in text, f"at 06:30 the reminder waits: {text}"

    phone = box.phone(DEBTOR_E164)
    with ui.step("día simulado: el recordatorio sale"):
        box.clock.jump(at(day, 10))
        ui.goto(debtor_path)
        assert "Sale ahora" in page.locator("#plan").inner_text(), page.locator("#plan").inner_text()
        ui.click(ui.button("Enviar ahora"), "the «Enviar ahora» button")
        ui.expect_path(re.escape(debtor_path), "after «Enviar ahora»")
        assert "Se avisó al despachador" in ui.flash_text(), ui.flash_text()
        timeline_shows(ui, debtor_path, ["SMS enviado"], "the reminder sent")
        timeline_shows(ui, debtor_path, ["SMS entregado"], "the reminder's delivery report")
        wait_until(lambda: phone.received, timeout=10, message="the debtor's phone got no SMS")
        assert "vence" in phone.received[0].text.lower() or "cuota" in phone.received[0].text.lower(), \
            phone.received[0].text

    with ui.step("el deudor responde SALDO"):
        phone.send("SALDO")
        timeline_shows(ui, debtor_path, ["Respuesta del deudor", "SALDO", "Respuesta entendida: pidió su saldo"],
                       "the reply understood")
        answer = wait_until(lambda: next((m for m in phone.received[1:] if "saldo es" in m.text), None),
                            timeout=30, message="the balance answer did not reach the debtor's phone")
        assert "600.000" in answer.text, answer.text
        timeline_shows(ui, debtor_path, ["se le respondió"], "the answer on the timeline")
        wait_until(lambda: reload_count(ui, debtor_path, "SMS entregado") >= 2, timeout=30,
                   message="the answer's delivery report is not on the timeline")

    with ui.step("mensajes: la respuesta enviada"):
        ui.menu("Mensajes y llamadas")
        ui.expect_path(r"/mensajes", "the menu's «Mensajes y llamadas»")
        text = ui.main_text()
        assert "SALDO" in text and "saldo es" in text, text[:2000]

    with ui.step("registrar un pago"):
        ui.goto(debtor_path)
        form = page.locator("#pago form")
        assert form.count(), "the debtor page has no payment form (#pago)"
        loan = form.locator("[name=loan]")
        if loan.evaluate("el => el.tagName") == "SELECT":
            loan.select_option(LOAN["loan_id"])
        form.locator("[name=amount]").fill(PAYMENT["amount"])
        form.locator("[name=reference]").fill(PAYMENT["reference"])
        ui.click(ui.button("Registrar pago", form), "the «Registrar pago» button")
        ui.expect_path(re.escape(debtor_path), "after recording the payment")
        flash = ui.flash_text()
        assert "Pago de" in flash and PAYMENT["amount"] in flash and LOAN["loan_id"] in flash, flash
        assert "Pago registrado en la oficina" in page.locator("#historial").inner_text()

    with ui.step("informe"):
        open_reports(ui)
        ui.check("informe")  # a server error says so (with the appliance's log) before the content is judged
        text = ui.main_text()
        assert PAYMENT["amount"] in text, (
            f"the report ({ui.path()}) does not show the payment of {PAYMENT['amount']}: {text[:1500]}")


# -- helpers --------------------------------------------------------------------------------------------------------
def open_debtor(ui, query: str, name: str) -> None:
    """Find a debtor from the list's search box and open their page."""
    page = ui.page
    ui.menu("Deudores")
    ui.expect_path(r"/deudores", "the menu's Deudores")
    page.locator("form[role=search] [name=q]").fill(query)
    ui.click(ui.button("Buscar", page.locator("form[role=search]")), "the «Buscar» button")
    ui.expect_path(r"/deudores", "the search")
    link = page.locator("main table a", has_text=name)
    assert link.count() == 1, f"searching «{query}» should list {name}: {ui.main_text()[:800]}"
    ui.click(link, f"the link to {name}")
    ui.expect_path(r"/deudores/d-[0-9a-f]+", f"the page of {name}")
    assert name in ui.heading()


def timeline_shows(ui, path: str, needles: list[str], what: str, timeout: float = 30.0) -> None:
    """Reload the debtor's page until its timeline (#historial) holds every one of ``needles``."""
    def found():
        if not ui.page.url.endswith(path):
            ui.goto(path)
        else:
            ui.page.reload(wait_until="load")
        text = ui.page.locator("#historial").inner_text()
        return all(n in text for n in needles)

    try:
        wait_until(found, timeout=timeout, interval=0.5, message=what)
    except AssertionError:
        raise AssertionError(f"{what}: the timeline never showed {needles}: "
                             f"{ui.page.locator('#historial').inner_text()[:1500]}") from None


def reload_count(ui, path: str, needle: str) -> int:
    ui.goto(path)
    return ui.page.locator("#historial").inner_text().count(needle)


def open_reports(ui) -> None:
    """The report, from the menu; a clear failure when the reports area is not there."""
    labels = [t.strip() for t in ui.page.locator("nav.menu a").all_inner_texts()]
    if "Informes" in labels:
        ui.menu("Informes")
        ui.expect_path(r"/informes.*", "the menu's Informes")
        return
    response = ui.goto("/informes")
    status = response.status if response is not None else None
    if status == 404:
        raise AssertionError("/informes answers 404: the reports page (webui area «reports») is not there yet; "
                             f"the menu has {labels}")
    raise AssertionError(f"/informes answers {status} but the menu has no «Informes» entry ({labels})")
