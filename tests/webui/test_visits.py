"""Visits (/visitas): the officers' list of debtors due a visit — roles, filters, the visit recorded (the debtor
leaves the list), CSRF, the print view, the CSV (columns, BOM, ;), escaping, English, and the USB stick's copy."""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scheduler import visits
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # 10:00 in Bogotá (conftest's clock)
HOSTILE = '=HYPERLINK("http://evil")<script>alert("x")</script>'


def body(response) -> str:
    return response.get_data(as_text=True)


def visit(debtor_id, loan, days_ago=2, step="s4"):
    return ContactEvent(NOW - timedelta(days=days_ago), debtor_id, "sent", channel="visit", direction="outbound",
                        contact_id=f"{debtor_id}:{loan}:1:{step}", loan_external_id=loan,
                        detail="en la lista de visitas del asesor")


def loan(external_id, debtor_id, *dues):
    return Loan(external_id, debtor_id, instalments=tuple(
        Instalment(n + 1, due, Decimal(150000), paid) for n, (due, paid) in enumerate(dues)))


@pytest.fixture
def seeded(ledger):
    """Rosa (officer Norte, zone Barrio Norte) and a hostile name (officer Sur) are due a visit; Carlos was
    visited already; Ana never reached a visit step."""
    debtors = [
        Debtor("d-rosa", "Rosa Quispe Ñañez", document="1020304", loan_officer="Asesor Norte", group="Barrio Norte",
               phones=(Phone("+573001112233"), Phone("+573104445566", personal=False))),
        Debtor("d-evil", HOSTILE, document="=1+2", loan_officer="Asesor Sur", group="Centro <b>",
               phones=(Phone("+573007778899"),)),
        Debtor("d-carlos", "Carlos Díaz", document="555", loan_officer="Asesor Norte", group="Barrio Norte",
               phones=(Phone("+573001231234"),)),
        Debtor("d-ana", "Ana Ríos", document="777", loan_officer="Asesor Sur", phones=(Phone("+573009990000"),)),
    ]
    loans = [loan("L-ROSA", "d-rosa", (date(2026, 10, 1), Decimal(0)), (date(2026, 12, 1), Decimal(0))),
             loan("L-EVIL", "d-evil", (date(2026, 11, 16), Decimal(50000))),
             loan("L-CARLOS", "d-carlos", (date(2026, 9, 1), Decimal(0))),
             loan("L-ANA", "d-ana", (date(2026, 11, 20), Decimal(0)))]
    ledger.import_batch(debtors, loans, source="test", now=NOW - timedelta(days=90))
    ledger.append_contact(ContactEvent(NOW - timedelta(days=9), "d-rosa", "delivered", phone="+573001112233",
                                       contact_id="d-rosa:L-ROSA:1:s2", text="Rosa, su cuota venció hace 47 días."))
    ledger.append_contact(ContactEvent(NOW - timedelta(days=8), "d-rosa", "reply", direction="inbound",
                                       phone="+573001112233", contact_id="sms-in:1", text="<i>mañana</i> pago"))
    ledger.record_promise("d-rosa", date(2026, 11, 20), 100000, source="sms", now=NOW - timedelta(days=8))
    ledger.append_contact(visit("d-rosa", "L-ROSA"))
    ledger.append_contact(visit("d-evil", "L-EVIL", days_ago=1))
    carlos = visit("d-carlos", "L-CARLOS", days_ago=5)
    ledger.append_contact(carlos)
    ledger.append_contact(ContactEvent(NOW - timedelta(days=4), "d-carlos", "note", channel="visit",
                                       direction="internal", contact_id=carlos.contact_id + visits.DONE_SUFFIX,
                                       reference="no_estaba", detail="visita hecha (x): no estaba"))
    ledger.append_contact(ContactEvent(NOW - timedelta(days=1), "d-ana", "delivered", phone="+573009990000",
                                       contact_id="d-ana:L-ANA:1:s1", text="Ana, su cuota venció."))
    return ledger


def blocks(page: str) -> list[str]:
    return re.findall(r'data-debtor="([^"]+)"', page)


# -- the list ---------------------------------------------------------------------------------------------------------
def test_the_list_shows_who_is_due_a_visit_grouped_by_officer(admin, seeded):
    page = body(admin.get("/visitas"))
    assert blocks(page) == ["d-rosa", "d-evil"]  # Norte before Sur; Carlos visited, Ana never due
    rosa = page[page.index('id="visit-d-rosa"'):page.index('id="visit-d-evil"')]
    assert "Rosa Quispe Ñañez" in rosa and "1020304" in rosa and "Barrio Norte" in rosa
    assert "300 1112233" in rosa and "310 4445566" in rosa  # both phones, national format
    assert '<dd class="visit-late">56</dd>' in rosa  # due 1 Oct, today 26 Nov in Bogotá
    assert "$ 150.000" in rosa and "$ 300.000" in rosa  # overdue, total balance
    assert "L-ROSA" in rosa and "24/11/2026" in rosa
    assert "Rosa, su cuota venció hace 47 días." in rosa and "&lt;i&gt;mañana&lt;/i&gt; pago" in rosa
    assert "$ 100.000" in rosa and "20/11/2026" in rosa and "incumplida" in rosa  # the promise, broken
    assert page.index("Asesor: Asesor Norte") < page.index("Asesor: Asesor Sur")
    assert 'href="/deudores/d-rosa"' in page
    assert "Deudores por visitar: 2." in page


def test_menu_entry_for_everyone_who_can_log_in(admin, make_user):
    reader = make_user("lectura")
    for who in (admin, reader):
        assert 'href="/visitas"' in body(who.get("/"))


def test_filters_by_officer_and_zone(admin, seeded):
    assert blocks(body(admin.get("/visitas?asesor=Asesor+Sur"))) == ["d-evil"]
    assert blocks(body(admin.get("/visitas?zona=Barrio+Norte"))) == ["d-rosa"]
    assert blocks(body(admin.get("/visitas?asesor=Asesor+Sur&zona=Barrio+Norte"))) == []
    page = body(admin.get("/visitas?asesor=Nadie"))
    assert blocks(page) == [] and "No hay visitas pendientes" in page
    page = body(admin.get("/visitas?asesor=Asesor+Norte"))
    assert '<option value="Asesor Norte" selected>' in page and '<option value="Asesor Sur">' in page
    assert 'href="/visitas.csv?asesor=Asesor+Norte"' in page
    assert admin.get("/visitas?asesor=" + "x" * 5000).status_code == 200


def test_hostile_names_are_escaped_everywhere(admin, seeded):
    for url in ("/visitas", "/visitas/imprimir"):
        page = body(admin.get(url))
        assert "<script>" not in page and "&lt;script&gt;" in page, url
        assert "<b>" not in page and "Centro &lt;b&gt;" in page, url


def test_login_required(client, seeded):
    client.setup_admin()
    client.logout()
    for url in ("/visitas", "/visitas/imprimir", "/visitas.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/entrar" in response.headers["Location"], url


# -- recording a visit ------------------------------------------------------------------------------------------------
def test_a_recorded_visit_takes_the_debtor_off_the_list(admin, seeded):
    response = admin.post("/visitas/d-rosa/hecha", {"result": "promesa", "note": "Paga el viernes\r\nen la tienda"},
                          page="/visitas")
    assert response.status_code == 302 and response.headers["Location"].endswith("/visitas")
    page = body(admin.get("/visitas"))
    assert blocks(page) == ["d-evil"]
    assert "Visita a Rosa Quispe Ñañez anotada: Prometió pagar." in page
    note = [e for e in seeded.contacts(debtor_id="d-rosa") if e.kind == "note"]
    assert len(note) == 1
    assert (note[0].channel, note[0].direction, note[0].reference) == ("visit", "internal", "promesa")
    assert note[0].contact_id == "d-rosa:L-ROSA:1:s4" + visits.DONE_SUFFIX and note[0].loan_external_id == "L-ROSA"
    assert note[0].text == "Paga el viernes\nen la tienda" and "gerente" in note[0].detail
    assert note[0].at == NOW
    # again: nothing pending any more
    again = admin.post("/visitas/d-rosa/hecha", {"result": "pago"}, page="/visitas")
    assert again.status_code == 409 and "ya estaba anotada" in body(again)
    assert len([e for e in seeded.contacts(debtor_id="d-rosa") if e.kind == "note"]) == 1


def test_a_new_visit_step_puts_the_debtor_back(admin, seeded):
    admin.post("/visitas/d-rosa/hecha", {"result": "no_estaba"}, page="/visitas")
    assert "d-rosa" not in blocks(body(admin.get("/visitas")))
    seeded.append_contact(visit("d-rosa", "L-ROSA", days_ago=0, step="s5"))
    assert "d-rosa" in blocks(body(admin.get("/visitas")))


def test_the_filter_is_kept_after_recording(admin, seeded):
    response = admin.post("/visitas/d-evil/hecha?asesor=Asesor+Sur", {"result": "pago"}, page="/visitas")
    assert response.status_code == 302 and response.headers["Location"].endswith("/visitas?asesor=Asesor+Sur")


@pytest.mark.parametrize("data,message", [
    ({"result": "regalo"}, "Elija el resultado de la visita"),
    ({}, "Elija el resultado de la visita"),
    ({"result": "pago", "note": "x" * 501}, "como máximo 500 caracteres"),
    ({"result": "pago", "note": "hola\x00"}, "caracteres invisibles"),
], ids=["unknown-result", "no-result", "long-note", "control-char"])
def test_bad_forms_are_refused_and_nothing_is_written(admin, seeded, data, message):
    response = admin.post("/visitas/d-rosa/hecha", data, page="/visitas")
    assert response.status_code == 400 and message in body(response)
    assert "d-rosa" in blocks(body(response))
    assert not [e for e in seeded.contacts(debtor_id="d-rosa") if e.kind == "note"]


def test_unknown_debtor_is_404(admin, seeded):
    assert admin.post("/visitas/d-nadie/hecha", {"result": "pago"}, page="/visitas").status_code == 404


def test_csrf_is_required(admin, seeded):
    response = admin.post("/visitas/d-rosa/hecha", {"result": "pago"}, token=False)
    assert response.status_code == 400
    response = admin.post("/visitas/d-rosa/hecha", {"result": "pago", "csrf_token": "forged"}, token=False)
    assert response.status_code == 400
    assert "d-rosa" in blocks(body(admin.get("/visitas")))


def test_read_only_users_see_no_button_and_cannot_post(make_user, seeded):
    reader = make_user("lectura")
    page = body(reader.get("/visitas"))
    assert blocks(page) == ["d-rosa", "d-evil"] and "Visita hecha" not in page and "/hecha" not in page
    response = reader.post("/visitas/d-rosa/hecha", {"result": "pago"}, page="/visitas")
    assert response.status_code == 403
    assert "d-rosa" in blocks(body(reader.get("/visitas")))


def test_operators_record_visits(make_user, seeded):
    operator = make_user("operador")
    page = body(operator.get("/visitas"))
    assert page.count(">Visita hecha</button>") == 2
    assert operator.post("/visitas/d-evil/hecha", {"result": "otro", "note": "se mudó"},
                         page="/visitas").status_code == 302
    assert blocks(body(operator.get("/visitas"))) == ["d-rosa"]


# -- print view and CSV ------------------------------------------------------------------------------------------------
def test_print_view_has_no_menu_and_no_forms(admin, seeded):
    page = body(admin.get("/visitas/imprimir?asesor=Asesor+Norte"))
    assert "<nav" not in page and 'class="menu"' not in page and "<form" not in page
    assert blocks(page) == ["d-rosa"] and "Asesor: Asesor Norte" in page
    assert 'href="/static/visits.css"' in page and 'src="/static/visits.js"' in page
    assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style
    assert "Preparada el 26/11/2026 10:00" in page


def read_csv(response) -> list[list[str]]:
    data = response.data
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline=""), delimiter=";"))


def test_csv_columns_encoding_and_safety(admin, seeded):
    response = admin.get("/visitas.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="visitas-20261126-1000.csv"' in response.headers["Content-Disposition"]
    assert b"\r\n" in response.data
    rows = read_csv(response)
    assert rows[0] == list(visits.CSV_COLUMNS)
    assert rows[0][:7] == ["Fecha", "Asesor", "Deudor", "Documento", "Teléfono", "Crédito", "Detalle"]
    rosa, evil = rows[1], rows[2]
    assert rosa == ["24/11/2026", "Asesor Norte", "Rosa Quispe Ñañez", "1020304", "300 1112233", "L-ROSA",
                    "en la lista de visitas del asesor", "Barrio Norte", "300 1112233 / 310 4445566", "56",
                    "150000", "300000"]
    assert evil[2] == "'" + HOSTILE and evil[3] == "'=1+2" and evil[10] == "100000"
    assert len(rows) == 3
    only = read_csv(admin.get("/visitas.csv?zona=Centro+%3Cb%3E"))
    assert [r[2] for r in only[1:]] == ["'" + HOSTILE]


def test_csv_is_the_usb_sticks_visit_list(tmp_path, seeded):
    """The stick's visitas.csv and the page's download are one implementation (headers in Spanish there)."""
    from firmware_py.config import Config
    from firmware_py.usb import process_stick

    mount = tmp_path / "sdb1"
    mount.mkdir()
    report = process_stick(mount, seeded, Config(), now=NOW)
    data = (report.results / "visitas.csv").read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))
    assert rows[0] == list(visits.CSV_COLUMNS) and [r[2] for r in rows[1:]] == ["Rosa Quispe Ñañez", "'" + HOSTILE]


# -- English ------------------------------------------------------------------------------------------------------------
def test_english(admin, seeded):
    admin.post("/idioma/en", {"next": "/visitas"}, page="/visitas")
    page = body(admin.get("/visitas"))
    assert ">Visits<" in page and "Debtors to visit: 2." in page and "Visit done" in page
    assert "Days late" in page and "broken" in page and "Print version" in page
    rows = read_csv(admin.get("/visitas.csv"))
    assert rows[0][:3] == ["Date", "Loan officer", "Debtor"]


def test_every_text_of_the_area_is_in_the_english_catalogue():
    from glob import glob
    from test_message_templates import untranslated

    po = "webui/translations/visits/en/LC_MESSAGES/messages.po"
    files = ["webui/visits.py", "webui/visits_forms.py", *glob("webui/templates/visits/*.html")]
    assert untranslated(po, *files) == []
    from babel.messages.pofile import read_po
    with open(po, "rb") as handle:
        known = {m.id for m in read_po(handle) if m.id and m.string}
    dynamic = set(visits.CSV_COLUMNS) | {"pendiente", "cumplida", "incumplida"}
    assert dynamic - known == set()


# -- the pure list ----------------------------------------------------------------------------------------------------
def test_pending_visits_without_records_and_with_two_loans():
    events = [visit("d-x", "L1", days_ago=3), visit("d-x", "L2", days_ago=1), visit("", "L3")]
    found = visits.pending_visits(events, debtor=lambda d: None, loans=lambda d: (), payments=lambda d: (),
                                  promises=lambda d: (), today=date(2026, 11, 26))
    assert len(found) == 1 and found[0].loans == ("L1", "L2") and found[0].name == "d-x"
    assert found[0].visit.loan_external_id == "L2" and found[0].days_late == 0
    done = visits.done_events(found[0], "pago", "", "ana", NOW)
    assert [e.contact_id for e in done] == ["d-x:L1:1:s4:visita", "d-x:L2:1:s4:visita"]
    assert visits.pending_visits(events + done, debtor=lambda d: None, loans=lambda d: (), payments=lambda d: (),
                                 promises=lambda d: (), today=date(2026, 11, 26)) == []
    with pytest.raises(ValueError):
        visits.done_events(found[0], "regalo", "", "ana", NOW)


def test_old_visit_steps_are_not_listed(ledger):
    ledger.import_batch([Debtor("d-old", "Vieja", phones=(Phone("+573001110000"),))], [], source="t", now=NOW)
    ledger.append_contact(visit("d-old", "L", days_ago=visits.WINDOW_DAYS + 1))
    from zoneinfo import ZoneInfo
    assert visits.gather(ledger, NOW, ZoneInfo("America/Bogota")) == []
    ledger.append_contact(visit("d-old", "L", days_ago=visits.WINDOW_DAYS - 1, step="s5"))
    assert [v.debtor_id for v in visits.gather(ledger, NOW, ZoneInfo("America/Bogota"))] == ["d-old"]



def test_a_long_list_comes_in_pages_and_prints_whole(admin, ledger):
    from webui.visits import PER_PAGE

    count = PER_PAGE + 7
    ledger.import_batch([Debtor(f"d-{n:03d}", f"Socia {n:03d}", loan_officer="Asesor Único",
                                phones=(Phone(f"+5730011{n:05d}"),)) for n in range(count)], [], source="t", now=NOW)
    ledger.append_contacts(visit(f"d-{n:03d}", f"L{n}") for n in range(count))
    first = body(admin.get("/visitas"))
    assert len(blocks(first)) == PER_PAGE and f"Deudores por visitar: {count}." in first
    assert "Página 1 de 2" in first and 'href="/visitas?pagina=2"' in first
    second = body(admin.get("/visitas?pagina=2"))
    assert len(blocks(second)) == 7 and set(blocks(first)).isdisjoint(blocks(second))
    assert blocks(body(admin.get("/visitas?pagina=999"))) == blocks(second)  # the last page
    assert blocks(body(admin.get("/visitas?pagina=x"))) == blocks(first)
    assert len(blocks(body(admin.get("/visitas/imprimir")))) == count
    assert len(read_csv(admin.get("/visitas.csv"))) == count + 1
    # a visit recorded from the second page comes back to the second page's filters (none) and leaves
    assert admin.post("/visitas/d-056/hecha", {"result": "pago"}, page="/visitas").status_code == 302
    assert "d-056" not in blocks(body(admin.get("/visitas?pagina=2")))
