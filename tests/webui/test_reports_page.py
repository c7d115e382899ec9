"""The reports: the period's figures on the page, the board pack and the CSV — on the small portfolio of
tests/scheduler/test_kpis.py (hand-computed there: PAR30 60 %, PAR90 36 %, collected 400 of 300 due,
recovered 300 of 950), stored in a ledger the way the appliance stores it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone
from webui.services import Services
from webclient import Client

from conftest import NOW


def at(day: str, hour: int = 15) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00").replace(tzinfo=timezone.utc)


def inst(number, due, amount, paid=0):
    return Instalment(number, date.fromisoformat(f"2026-{due}"), Decimal(amount), Decimal(paid))


def send(contact_id, debtor, when, template, *, outcome="sent", delivered=False):
    events = [ContactEvent(when, debtor, "sending", contact_id=contact_id, detail=f"paso +3, plantilla {template}")]
    if outcome:
        events.append(ContactEvent(when + timedelta(seconds=5), debtor, outcome, contact_id=contact_id))
    if delivered:
        events.append(ContactEvent(when + timedelta(minutes=1), debtor, "delivered", contact_id=contact_id))
    return events


@pytest.fixture
def portfolio(ledger):
    """Five loans of four debtors, payments, promises and a month of reminders (see the module docstring)."""
    debtors = [Debtor(f"d{i}", name, phones=(Phone(f"+57300111000{i}"),))
               for i, name in enumerate(["Ana Ruiz", "Beto <b>Paz</b>", "Carla Díaz", "Dora Gil"], start=1)]
    loans = [Loan("L1", "d1", instalments=(inst(1, "09-01", 100), inst(2, "10-01", 100), inst(3, "12-01", 100))),
             Loan("L2", "d2", instalments=(inst(1, "11-20", 200), inst(2, "12-20", 200))),
             Loan("L3", "d3", instalments=(inst(1, "07-01", 500, 50),)),
             Loan("L4", "d4", instalments=(inst(1, "11-10", 100), inst(2, "12-10", 100))),
             Loan("L5", "d4", instalments=(inst(1, "10-15", 300),), status="paid")]
    ledger.import_batch(debtors, loans, source="prueba",
                        payments=[Payment("p3", "L3", "d3", Decimal(50), date(2026, 10, 1), "import")])
    ledger.record_payment("L5", Decimal(300), date(2026, 11, 5), now=at("11-05"))
    ledger.record_payment("L4", Decimal(100), date(2026, 11, 9), now=at("11-09"))
    ledger.record_payment("L1", Decimal(50), date(2026, 11, 15), source="sms", now=at("11-15"))  # pending claim
    ledger.record_promise("d2", date(2026, 11, 23), Decimal(200), now=at("11-20"))
    ledger.record_promise("d4", date(2026, 11, 9), Decimal(100), source="web", now=at("11-05"))
    events = (send("c1", "d1", at("11-02"), "mora_amable", delivered=True)
              + [ContactEvent(at("11-03"), "d1", "reply", direction="inbound", text="ya voy")]
              + send("c2", "d2", at("11-18"), "recordatorio_manana")
              + send("c3", "d3", at("11-19"), "mora_firme", outcome="failed")
              + send("c5", "d3", at("11-20", 10), "=SUM(A1:A9)", delivered=True))
    ledger.append_contacts(events)
    return ledger


def text(response):
    return response.get_data(as_text=True)


# -- the page --------------------------------------------------------------------------------------------------------
def test_reports_need_login_and_any_role_reads_them(app, make_user, portfolio):
    anonymous = Client(app)
    for url in ("/informes", "/informes/junta", "/informes/csv"):
        assert anonymous.get(url).status_code == 302
    reader = make_user("lectura")
    for url in ("/informes", "/informes/junta", "/informes/csv"):
        assert reader.get(url).status_code == 200, url


def test_default_period_figures(admin, portfolio):
    response = admin.get("/informes")
    body = text(response)
    assert response.status_code == 200
    assert "Del 28/10/2026 al 26/11/2026" in body
    assert 'value="2026-10-28"' in body and 'value="2026-11-26"' in body  # the form shows the period's days
    assert "60,0 %" in body and "36,0 %" in body                          # PAR30, PAR90
    assert "133,3 %" in body and "$ 400 / $ 300" in body                  # collected vs due
    assert "31,6 %" in body and "$ 300 / $ 950" in body                   # recovery
    assert "66,7 %" in body                                               # 2 of 3 reminders delivered
    assert "1 cumplidas, 1 incumplidas, 0 pendientes" in body
    assert "Mora grave" in body and "Mora temprana" in body and "Al día" in body
    assert "mora_amable" in body and "recordatorio_manana" in body


def test_charts_are_server_drawn_accessible_svg(admin, portfolio):
    body = text(admin.get("/informes"))
    assert body.count('<svg class="chart"') == 4 and 'role="img"' in body
    assert '<title id="grafico-mora-title">Saldo por días de atraso</title>' in body
    assert "Más de 90 días: $ 450" in body                                 # the description lists every value
    assert "<script>" not in body and "style=" not in body
    assert "Beto <b>Paz" not in body


def test_a_chosen_period(admin, portfolio):
    body = text(admin.get("/informes?desde=2026-11-01&hasta=2026-11-08"))
    assert "Del 01/11/2026 al 08/11/2026" in body and "saldos y atrasos al 08/11/2026" in body
    body = text(admin.get("/informes?desde=01/10/2026&hasta=31/10/2026"))
    assert "Del 01/10/2026 al 31/10/2026" in body


@pytest.mark.parametrize("query,message", [
    ("desde=2026-02-30", "no existe"), ("hasta=mañana", "no existe"), ("desde=2026-12-01&hasta=2026-11-01", "posterior"),
    ("desde=2020-01-01&hasta=2026-11-01", "demasiado largo"), ("desde=" + "9" * 10_000, "AAAA-MM-DD"),
    ("desde=<script>alert(1)</script>", "AAAA-MM-DD"), ("desde=-5", "no existe"),
])
def test_bad_periods_are_refused_with_a_message(admin, portfolio, query, message):
    for url in ("/informes", "/informes/junta", "/informes/csv"):
        response = admin.get(f"{url}?{query}")
        body = text(response)
        assert response.status_code == 400 and message in body, (url, body[-1500:])
        assert "<script>alert(1)" not in body


def test_an_empty_ledger_has_no_rates(admin):
    response = admin.get("/informes")
    body = text(response)
    assert response.status_code == 200 and "—" in body and "No se enviaron recordatorios" in body


def test_reports_work_without_the_engine_services(ledger, portfolio):
    from webui import create_app
    client = Client(create_app(Services(ledger=ledger, now=lambda: NOW), testing=True))
    client.setup_admin()
    assert "60,0 %" in text(client.get("/informes"))


# -- board pack --------------------------------------------------------------------------------------------------------
def test_board_pack_is_printable(admin, portfolio):
    response = admin.get("/informes/junta?desde=2026-10-28&hasta=2026-11-26")
    body = text(response)
    assert response.status_code == 200
    assert "Informe para la junta directiva" in body and "Cooperativa La Esperanza" in body
    assert "data-print" in body and "templates.js" in body and "<script>" not in body and "onclick" not in body
    assert "60,0 %" in body and body.count('<svg class="chart"') == 4
    assert "(30 días)" in body


def test_print_button_script_is_served(admin):
    script = admin.get("/static/templates.js")
    assert script.status_code == 200 and b"window.print()" in script.data


# -- CSV ---------------------------------------------------------------------------------------------------------------
def read_csv(response):
    raw = response.data
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_csv_export(admin, portfolio):
    response = admin.get("/informes/csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="informe-cobranza-2026-10-28-a-2026-11-26.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Informe de cobranza", "Cooperativa La Esperanza"]
    assert rows[1] == ["Periodo", "28/10/2026", "26/11/2026"]
    header = rows[5]
    total = dict(zip(header, rows[6]))
    assert total["Grupo"] == "Total" and total["PAR30 (%)"] == "60,0" and total["PAR90 (%)"] == "36,0"
    assert total["Saldo"] == "1250" and total["Cobrado en el periodo"] == "400"
    assert total["Recuperación (%)"] == "31,6" and total["Entrega (%)"] == "66,7"
    templates = {row[0]: dict(zip(header, row)) for row in rows[7:] if len(row) > 1 and row[1] == "plantilla"}
    assert templates["mora_amable"]["Respuesta (%)"] == "100,0"
    # a template name that a spreadsheet would run as a formula is neutralised
    assert "'=SUM(A1:A9)" in templates and "=SUM(A1:A9)" not in templates
    aging = {row[0]: row for row in rows if row and row[0] in ("Al día", "Más de 90 días")}
    assert aging["Más de 90 días"][1:] == ["1", "450", "36,0"]


def test_csv_in_a_dot_decimal_country(ledger, portfolio):
    from webui import create_app
    client = Client(create_app(Services(ledger=ledger, now=lambda: NOW, country="US", timezone="America/New_York"),
                               testing=True))
    client.setup_admin()
    raw = client.get("/informes/csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw), delimiter=","))
    total = dict(zip(rows[5], rows[6]))
    assert total["PAR30 (%)"] == "60.0"
    assert "60.0 %" in text(client.get("/informes"))


# -- English ---------------------------------------------------------------------------------------------------------
def test_english_page_and_csv(admin, portfolio):
    admin.post("/idioma/en", {"next": "/informes"}, page="/informes")
    body = text(admin.get("/informes"))
    assert "Collection reports" in body and "By segment" in body and "More than 90 days" in body
    assert "Board pack" in text(admin.get("/informes/junta"))
    rows = read_csv(admin.get("/informes/csv"))
    assert rows[0][0] == "Collection report" and rows[5][0] == "Group"


def test_every_text_of_the_page_is_in_the_english_catalogue():
    from glob import glob
    from scheduler.kpis import AGING_BUCKETS
    from babel.messages.pofile import read_po
    from test_message_templates import untranslated

    po = "webui/translations/reports/en/LC_MESSAGES/messages.po"
    files = ["webui/reports.py", "webui/reports_forms.py", "webui/svg.py", *glob("webui/templates/reports/*.html")]
    assert untranslated(po, *files) == []
    with open(po, "rb") as handle:
        known = {m.id for m in read_po(handle)}
    assert {b.label for b in AGING_BUCKETS} <= known and "Informes" in known


# -- the chart helper --------------------------------------------------------------------------------------------------
def test_bar_chart_escapes_and_scales():
    from webui.svg import Bar, bar_chart
    chart = str(bar_chart("prueba", "<Título>", [Bar("<b>uno</b>", 5, "5 & más"), Bar("dos", 10, "10"),
                                                   Bar("negativo", -3, "-3", kind="bad; x")]))
    assert "<b>uno" not in chart and "&lt;b&gt;uno&lt;/b&gt;" in chart and "5 &amp; más" in chart
    assert 'width="200.0"' in chart and 'width="400.0"' in chart and 'width="0.0"' in chart
    assert 'class="bar "' in chart  # an unsafe class is dropped
    with pytest.raises(ValueError):
        bar_chart('x" onload="alert(1)', "t", [])
    empty = str(bar_chart("vacio", "Nada", [], description="sin datos"))
    assert "sin datos" in empty
