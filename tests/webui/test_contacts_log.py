"""Messages and calls (/mensajes): filters, newest first, pages of 100, escaping, debtor links, the CSV export."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from flask import Blueprint

from scheduler.model import ContactEvent, Debtor, Phone
from webui import create_app
from webclient import Client

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # 10:00 in Bogotá


def event(hours_ago, debtor_id="d-ana", kind="sent", **kw):
    kw.setdefault("phone", "+573001112233")
    return ContactEvent(at=NOW - timedelta(hours=hours_ago), debtor_id=debtor_id, kind=kind, **kw)


@pytest.fixture
def seeded(ledger):
    ledger.import_batch([
        Debtor("d-ana", "Ana María Ríos", document="1020304", phones=(Phone("+573001112233"),)),
        Debtor("d-luis", "Luis <b>Pérez</b>", document="5566", phones=(Phone("+573109998877"),)),
    ], [], source="prueba")
    ledger.append_contact(event(1, kind="reply", direction="inbound", text="<script>alert(1)</script> ya pagué"))
    ledger.append_contact(event(2, kind="delivered", text="Hola Ana, su cuota vence mañana"))
    ledger.append_contact(event(3, debtor_id="d-luis", kind="failed", phone="+573109998877", detail="holiday"))
    ledger.append_contact(event(4, debtor_id="d-luis", kind="delivered", channel="call", phone="+573109998877"))
    ledger.append_contact(event(5, debtor_id="", kind="reply", direction="inbound", phone="+573205554444",
                                text="¿quién es?"))
    ledger.append_contact(event(24 * 40, kind="sent", text="mensaje viejo"))  # outside the default 30 days
    return ledger


def body(response):
    return response.get_data(as_text=True)


def read_csv(response, delimiter=";"):
    raw = response.data
    assert raw.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=delimiter))


def test_needs_login(app, seeded):
    anonymous = Client(app)
    anonymous.setup_admin()
    anonymous.logout()
    for url in ("/mensajes", "/mensajes.csv"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/entrar" in response.headers["Location"]


def test_read_only_user_sees_the_log_and_the_menu_entry(seeded, make_user):
    reader = make_user("lectura")
    response = reader.get("/mensajes")
    assert response.status_code == 200
    assert 'href="/mensajes"' in body(response) and "Mensajes y llamadas" in body(response)
    assert reader.get("/mensajes.csv").status_code == 200


def test_newest_first_with_spanish_words_and_escaped_texts(seeded, admin):
    page = body(admin.get("/mensajes"))
    assert page.index("ya pagué") < page.index("su cuota vence") < page.index("quién es")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; ya pagué" in page
    assert "Luis &lt;b&gt;Pérez&lt;/b&gt;" in page and "<b>Pérez</b>" not in page
    assert "respuesta" in page and "entregado" in page and "contestada" in page and "fallido" in page
    assert "entrante" in page and "llamada" in page
    assert "26/11/2026 09:00" in page  # 14:00 UTC in the cooperative's zone
    assert "día festivo" in page  # a planner's reason code as its sentence
    assert "número desconocido" in page and "320 5554444" in page
    assert "mensaje viejo" not in page  # older than the default 30 days


def test_whole_history_with_an_empty_start(seeded, admin):
    assert "mensaje viejo" in body(admin.get("/mensajes?desde="))


def test_links_to_the_debtor_page(seeded, admin):
    page = body(admin.get("/mensajes"))
    assert 'href="/deudores/d-ana"' in page and 'href="/deudores/d-luis"' in page


def test_links_through_the_debtor_page_endpoint_when_it_exists(services, seeded):
    app = create_app(services, testing=True)
    other = Blueprint("debtor_pages_test", __name__)
    other.add_url_rule("/deudores/<path:debtor_id>/ficha", "show", lambda debtor_id: debtor_id)
    other.add_url_rule("/deudores/<debtor_id>", "detail", lambda debtor_id: debtor_id)
    app.register_blueprint(other)
    client = Client(app)
    client.setup_admin()
    assert 'href="/deudores/d-ana"' in body(client.get("/mensajes"))


@pytest.mark.parametrize("query,present,absent", [
    ("tipo=reply", ["ya pagué", "quién es"], ["su cuota vence"]),
    ("tipo=reply&tipo=delivered", ["ya pagué", "su cuota vence", "contestada"], ["fallido"]),
    ("canal=call", ["contestada"], ["ya pagué", "su cuota vence"]),
    ("direccion=inbound", ["ya pagué", "quién es"], ["su cuota vence", "fallido"]),
    ("buscar=maria+rios", ["ya pagué", "su cuota vence"], ["Luis", "quién es"]),
    ("buscar=MARÍA", ["ya pagué"], ["Luis"]),
    ("buscar=5566", ["Luis"], ["Ana María"]),
    ("buscar=310+999", ["Luis"], ["Ana María"]),
    ("buscar=5554444", ["quién es"], ["Ana María", "Luis"]),
    ("desde=2026-11-26&hasta=2026-11-26", ["ya pagué"], ["mensaje viejo"]),
    ("desde=&hasta=20/10/2026", ["mensaje viejo"], ["ya pagué"]),
], ids=["kind", "two-kinds", "channel", "direction", "name", "accents", "document", "phone-digits",
        "unknown-sender", "dates", "until-only"])
def test_filters(seeded, admin, query, present, absent):
    response = admin.get("/mensajes?" + query)
    assert response.status_code == 200
    page = body(response)
    for text in present:
        assert text in page, text
    rows = page[page.find("<tbody>"):]
    for text in absent:
        assert text not in rows, text


def test_days_are_the_cooperatives(ledger, admin):
    ledger.import_batch([Debtor("d-ana", "Ana", phones=(Phone("+573001112233"),))], [], source="t")
    # 04:30 UTC on the 26th is 23:30 on the 25th in Bogotá
    ledger.append_contact(ContactEvent(datetime(2026, 11, 26, 4, 30, tzinfo=timezone.utc), "d-ana", "sent",
                                       text="tarde del 25"))
    assert "tarde del 25" in body(admin.get("/mensajes?desde=2026-11-25&hasta=2026-11-25"))
    assert "tarde del 25" not in body(admin.get("/mensajes?desde=2026-11-26&hasta=2026-11-26"))


def test_pages_of_one_hundred_newest_first(ledger, admin):
    ledger.import_batch([Debtor("d-ana", "Ana", phones=(Phone("+573001112233"),))], [], source="t")
    ledger.append_contacts([event(i * 0.1, text=f"mensaje número {i:03d}.") for i in range(250)])
    first = body(admin.get("/mensajes"))
    assert "250 eventos" in first and "Página 1 de 3" in first
    assert "mensaje número 000." in first and "mensaje número 099." in first and "mensaje número 100." not in first
    third = body(admin.get("/mensajes?pagina=3"))
    assert "mensaje número 249." in third and "mensaje número 200." in third and "mensaje número 199." not in third
    assert third.count("<tr class=") == 50
    beyond = admin.get("/mensajes?pagina=9")
    assert beyond.status_code == 302 and "pagina=3" in beyond.headers["Location"]


@pytest.mark.parametrize("query,message", [
    ("desde=2026-02-30", "no es una fecha válida"),
    ("hasta=30/02/2026", "no es una fecha válida"),
    ("desde=mañana", "no es una fecha válida"),
    ("desde=9999-12-31", "entre los años"),
    ("hasta=9999-12-31", "entre los años"),
    ("desde=2026-11-20&hasta=2026-11-01", "anterior"),
    ("tipo=borrado", "tipos de la lista"),
    ("canal=fax", "canal de la lista"),
    ("direccion=arriba", "dirección de la lista"),
    ("buscar=" + "x" * 10_000, "demasiado larga"),
    ("pagina=-1", "página debe ser un número"),
    ("pagina=abc", "página debe ser un número"),
    ("pagina=%C2%B2", "página debe ser un número"),
    ("pagina=" + "9" * 30, "página debe ser un número"),
    ("desde=" + "<script>" * 2000, "no es una fecha válida"),
], ids=["impossible-iso", "impossible-dmy", "word", "year-9999", "until-9999", "reversed", "kind", "channel",
        "direction", "10k-search", "negative-page", "word-page", "superscript-page", "huge-page", "script-date"])
def test_bad_filters_are_a_spanish_400(seeded, admin, query, message):
    for url in ("/mensajes?", "/mensajes.csv?"):
        response = admin.get(url + query)
        assert response.status_code == 400, (url, query)
        page = body(response)
        assert message in page and "<script><script>" not in page


def test_csv_export_follows_the_office_conventions(seeded, admin):
    seeded.append_contact(event(0.5, kind="reply", direction="inbound", text="=cmd|' /C calc'!A0"))
    response = admin.get("/mensajes.csv?tipo=reply")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Fecha y hora", "Documento", "Nombre", "Teléfono", "Canal", "Dirección", "Tipo", "Crédito",
                       "Texto", "Detalle", "Referencia", "Contacto"]
    data = [dict(zip(rows[0], row)) for row in rows[1:]]
    assert [d["Texto"] for d in data] == ["¿quién es?", "<script>alert(1)</script> ya pagué",
                                          "'=cmd|' /C calc'!A0"]  # oldest first, the formula neutralised
    ana = data[1]
    assert ana["Fecha y hora"] == "26/11/2026 09:00" and ana["Documento"] == "1020304"
    assert ana["Nombre"] == "Ana María Ríos" and ana["Teléfono"] == "300 1112233"
    assert (ana["Canal"], ana["Dirección"], ana["Tipo"]) == ("SMS", "entrante", "respuesta")


def test_csv_export_with_a_dot_decimal_country_uses_commas(services, seeded, admin):
    services.country = "MX"
    rows = read_csv(admin.get("/mensajes.csv"), delimiter=",")
    assert rows[0][:3] == ["Fecha y hora", "Documento", "Nombre"] and len(rows) == 6
    assert "'+57 300 1112233" in [r[3] for r in rows]  # a foreign number, international and neutralised


def test_csv_export_streams_the_whole_history_when_asked(ledger, admin):
    ledger.import_batch([Debtor("d-ana", "Ana", phones=(Phone("+573001112233"),))], [], source="t")
    ledger.append_contacts([event(24 * i, text=f"día {i}") for i in range(0, 1200, 1)])
    rows = read_csv(admin.get("/mensajes.csv?desde="))
    assert len(rows) == 1201 and rows[1][8] == "día 1199" and rows[-1][8] == "día 0"


def test_long_texts_are_folded(ledger, admin):
    ledger.import_batch([Debtor("d-ana", "Ana", phones=(Phone("+573001112233"),))], [], source="t")
    ledger.append_contact(event(1, kind="reply", direction="inbound", text="a" * 10_000))
    page = body(admin.get("/mensajes"))
    assert "<details>" in page and "a" * 10_000 in page


def test_english(seeded, admin):
    admin.post("/idioma/en", {"next": "/mensajes"}, page="/mensajes")
    page = body(admin.get("/mensajes"))
    assert "Messages and calls" in page and "reply" in page and "inbound" in page and "answered" in page
    assert "public holiday" in page or "holiday" in page
    rows = read_csv(admin.get("/mensajes.csv"))
    assert rows[0][0] == "Date and time" and "reply" in [r[6] for r in rows]


def test_the_csv_cells_module_reads_numbers_as_the_importer_does():
    from firmware_py.importer import cells
    from firmware_py.importer.parsing import COMMA_DECIMAL_COUNTRIES
    from scheduler import csvcells

    assert csvcells.COMMA_DECIMAL_COUNTRIES == COMMA_DECIMAL_COUNTRIES
    assert cells.neutralise is csvcells.neutralise and cells.spreadsheet_conventions("CO") == (";", ",")
