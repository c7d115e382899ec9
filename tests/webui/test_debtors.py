"""The debtors area: list, debtor form, loans, the debtor's page, its actions and the call script.

Each route: login required (and the generic tests in test_access), roles (a read-only user looks but gets 403
on every change and nothing changes), bad input answered with a Spanish message and a 4xx (never a 500),
the happy path changing the ledger as expected. The services here carry a real policy (the defaults, with
a trusted clock) and a ``wake`` that records calls.
"""

from __future__ import annotations

import html
import re
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from scheduler.clock import ClockTrust
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for
from scheduler.policy import load_policy
from webui import create_app
from webui.debtor_forms import new_debtor_id, parse_amount
from webui.services import Services

from conftest import NOW
from webclient import Client

TODAY = date(2026, 11, 26)  # NOW is Thursday 26/11/2026 10:00 in Bogotá
POLICY = load_policy(clock=ClockTrust.trusted_for_tests())


@pytest.fixture
def woken():
    return []


@pytest.fixture
def services(ledger, woken):
    """The conftest's services plus the engine: a policy and a dispatcher wake that records calls."""
    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                    policy=lambda: POLICY, wake=lambda: woken.append(NOW))


def text_of(response) -> str:
    """The page's visible text (tags removed, entities decoded, spaces collapsed)."""
    body = response.get_data(as_text=True)
    body = body[body.find("<main>"):] if "<main>" in body else body
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def debtor(n: int, *, name=None, phone=None, personal=True, channels=("sms",), officer="", tags=(), document=None):
    document = document or str(10_000_000 + n)
    return Debtor(debtor_id_for(document), name or f"Deudor {n}", document,
                  (Phone(phone or f"+57300{n:07d}", personal=personal, channels=frozenset(channels)),),
                  loan_officer=officer, tags=tags)


def loan(external_id: str, debtor_id: str, dues, amount=100_000, paid=0, status="active", currency="COP"):
    return Loan(external_id, debtor_id, "Microcrédito", currency,
                tuple(Instalment(k + 1, due, Decimal(amount), Decimal(paid)) for k, due in enumerate(dues)), status)


@pytest.fixture
def ana(ledger):
    """Ana Pérez: one loan, instalment 1 due 40 days ago (late), 2 due in 5 days, 3 in 35."""
    d = debtor(1, name="Ana María Pérez", officer="Luz Gómez", channels=("sms", "call"))
    ledger.import_batch([d], [loan("CR-1", d.id, [TODAY - timedelta(days=40), TODAY + timedelta(days=5),
                                                 TODAY + timedelta(days=35)])], source="t")
    return d


@pytest.fixture
def operator(make_user):
    return make_user("operador")


@pytest.fixture
def reader(make_user):
    return make_user("lectura")


def new_debtor_form(**overrides):
    data = {"name": "José Álvarez", "document": "79.456.123", "phones-0-number": "310 765 4321",
            "phones-0-kind": "personal", "phones-0-sms": "y", "officer": "Ana Gómez", "group": "Las Palmas",
            "tags": "feria, ganadero", "language": "es", "timezone": "America/Bogota", "jurisdiction": "CO",
            "profile": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# -- access -------------------------------------------------------------------------------------------------------
def test_every_page_of_the_area_needs_login(app, admin, ana):
    anonymous = Client(app)
    for url in ("/deudores", "/deudores/nuevo", f"/deudores/{ana.id}", f"/deudores/{ana.id}/editar",
                f"/deudores/{ana.id}/creditos/nuevo", f"/deudores/{ana.id}/creditos/CR-1/editar",
                f"/deudores/{ana.id}/guion"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/entrar" in response.headers["Location"], url


def test_reader_looks_but_cannot_change_anything(ledger, reader, ana, woken):
    for url in ("/deudores", f"/deudores/{ana.id}", f"/deudores/{ana.id}/guion"):
        assert reader.get(url).status_code == 200, url
    page = text_of(reader.get(f"/deudores/{ana.id}"))
    assert "Registrar un pago" not in page and "Dar de baja" not in page and "Enviar ahora" not in page
    for url in ("/deudores/nuevo", f"/deudores/{ana.id}/editar", f"/deudores/{ana.id}/creditos/nuevo",
                f"/deudores/{ana.id}/creditos/CR-1/editar"):
        assert reader.get(url).status_code == 403, url
    before = (ledger.stats(), ledger.opted_out_numbers())
    posts = {
        "/deudores/nuevo": new_debtor_form(),
        f"/deudores/{ana.id}/editar": new_debtor_form(name="Otro nombre"),
        f"/deudores/{ana.id}/creditos/nuevo": {"loan_id": "CR-9", "currency": "COP", "status": "active",
                                               "mode": "escribir", "rows": "01/12/2026; 1000"},
        f"/deudores/{ana.id}/pago": {"loan": "CR-1", "amount": "1000", "day": "2026-11-20"},
        f"/deudores/{ana.id}/promesa": {"amount": "1000", "day": "2026-11-30"},
        f"/deudores/{ana.id}/telefono": {"number": ana.phones[0].number, "action": "baja"},
        f"/deudores/{ana.id}/llamada": {"number": ana.phones[0].number, "result": "contestada"},
        f"/deudores/{ana.id}/enviar": {},
    }
    for url, data in posts.items():
        assert reader.post(url, data, page="/deudores").status_code == 403, url
    assert (ledger.stats(), ledger.opted_out_numbers()) == before and not woken
    assert ledger.contacts(debtor_id=ana.id) == ()


def test_unknown_ids_are_404(admin, ana, ledger):
    other = debtor(2)
    ledger.import_batch([other], [loan("CR-2", other.id, [TODAY])], source="t")
    for url in ("/deudores/d-0000000000000000", "/deudores/d-0000000000000000/editar",
                "/deudores/d-0000000000000000/guion", "/deudores/" + "x" * 5000,
                f"/deudores/{ana.id}/creditos/NO-EXISTE/editar",
                f"/deudores/{ana.id}/creditos/CR-2/editar"):  # a loan of another debtor
        assert admin.get(url).status_code == 404, url
    response = admin.post("/deudores/d-0000000000000000/pago", {"loan": "CR-1", "amount": "5", "day": "2026-11-20"},
                          page="/deudores")
    assert response.status_code == 404 and "no existe" in text_of(response)


# -- the list -----------------------------------------------------------------------------------------------------
@pytest.fixture
def crowd(ledger):
    """Ana (late), Óscar (current, other officer), a shared phone, a paid loan."""
    people = [
        debtor(1, name="Ana María Pérez", officer="Luz Gómez"),
        debtor(2, name="Óscar Ñúñez", officer="Pedro Ruiz", document="52.987.654"),
        debtor(3, name="Rosa Huanca", officer="Luz Gómez", phone="+573001112233"),
        debtor(4, name="Héctor Ríos", officer="Pedro Ruiz", phone="+573001112233", personal=False),
    ]
    loans = [
        loan("CR-1", people[0].id, [TODAY - timedelta(days=40)]),
        loan("CR-2", people[1].id, [TODAY + timedelta(days=10)]),
        loan("CR-3", people[2].id, [TODAY - timedelta(days=3)]),
        loan("VIV-77", people[3].id, [TODAY - timedelta(days=100)], paid=100_000, status="paid"),
    ]
    ledger.import_batch(people, loans, source="t")
    return people


def names_listed(response) -> list[str]:
    body = response.get_data(as_text=True)
    return [html.unescape(n) for n in re.findall(r'<a href="/deudores/d-[0-9a-f]+">([^<]+)</a>', body)]


@pytest.mark.parametrize("query,expected", [
    ("oscar nunez", ["Óscar Ñúñez"]),  # accents and case ignored
    ("PÉREZ", ["Ana María Pérez"]),
    ("52987654", ["Óscar Ñúñez"]),  # the document as typed without dots
    ("52.987.654", ["Óscar Ñúñez"]),
    ("300 111 2233", ["Héctor Ríos", "Rosa Huanca"]),  # a phone, formatted
    ("viv-77", ["Héctor Ríos"]),  # a loan id
    ("nadie así", []),
])
def test_list_search(admin, crowd, query, expected):
    response = admin.get("/deudores", query_string={"q": query})
    assert response.status_code == 200
    assert names_listed(response) == expected


def test_list_filters_and_columns(admin, crowd):
    late = names_listed(admin.get("/deudores?atraso=31-90"))
    assert late == ["Ana María Pérez"]
    assert names_listed(admin.get("/deudores?atraso=1-7")) == ["Rosa Huanca"]
    assert names_listed(admin.get("/deudores?atraso=0")) == ["Héctor Ríos", "Óscar Ñúñez"]
    assert names_listed(admin.get("/deudores?asesor=Pedro+Ruiz")) == ["Héctor Ríos", "Óscar Ñúñez"]
    assert names_listed(admin.get("/deudores?estado=paid")) == ["Héctor Ríos"]
    assert names_listed(admin.get("/deudores?segmento=mora_grave")) == ["Ana María Pérez"]
    assert names_listed(admin.get("/deudores?segmento=mora_temprana&asesor=Luz+G%C3%B3mez")) == ["Rosa Huanca"]
    assert names_listed(admin.get("/deudores?orden=atraso"))[:2] == ["Ana María Pérez", "Rosa Huanca"]
    page = text_of(admin.get("/deudores"))
    assert "compartido" in page and "$ 100.000" in page and "Mora grave" in page and "4 de 4 deudores" in page
    assert names_listed(admin.get("/deudores")) == ["Ana María Pérez", "Héctor Ríos", "Óscar Ñúñez", "Rosa Huanca"]


def test_list_pages_of_fifty(ledger, admin):
    people = [debtor(n, name=f"Persona {n:03d}") for n in range(120)]
    ledger.import_batch(people, [], source="t")
    first = admin.get("/deudores")
    assert len(names_listed(first)) == 50 and "Página 1 de 3" in text_of(first)
    third = admin.get("/deudores?pagina=3")
    assert names_listed(third) == [f"Persona {n:03d}" for n in range(100, 120)]
    assert names_listed(admin.get("/deudores?pagina=99")) == names_listed(third)  # past the end: the last page
    assert 'href="/deudores?pagina=2&amp;q=persona"' in admin.get("/deudores?q=persona").get_data(as_text=True)


@pytest.mark.parametrize("args,message", [
    ({"pagina": "abc"}, "La página debe ser un número"),
    ({"pagina": "-1"}, "La página debe ser un número"),
    ({"pagina": "99999999999999"}, "La página debe ser un número"),
    ({"q": "a" * 10_000}, "máximo 100 caracteres"),
    ({"segmento": "<script>"}, "Elija una de las opciones"),
    ({"atraso": "mucho"}, "Elija una de las opciones"),
    ({"orden": "id; drop"}, "Elija una de las opciones"),
])
def test_list_refuses_hostile_queries(admin, crowd, args, message):
    response = admin.get("/deudores", query_string=args)
    assert response.status_code == 400 and message in text_of(response)
    assert "<script>" not in response.get_data(as_text=True).split("<main>")[1]


def test_list_escapes_names(ledger, admin):
    ledger.import_batch([debtor(1, name="<script>alert(1)</script> Ana", officer="<b>x</b>")], [], source="t")
    body = admin.get("/deudores").get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; Ana" in body
    assert "<b>x</b>" not in body


def test_list_index_is_reused_until_the_ledger_changes(app, ledger, admin, crowd):
    admin.get("/deudores")
    index = app.extensions["cobrador.debtors.index"]
    builds, recomputed = index.builds, index.recomputed
    admin.get("/deudores?q=ana")
    admin.get("/deudores?atraso=0")
    assert (index.builds, index.recomputed) == (builds, recomputed)
    ledger.record_payment("CR-1", 100_000, TODAY, source="web")
    response = admin.get("/deudores?atraso=0")
    assert index.builds == builds + 1 and index.recomputed == recomputed + 1  # only Ana worked out again
    assert "Ana María Pérez" in names_listed(response)  # paid: no longer late



def test_list_rows_share_equal_status_sets(app, ledger, admin, crowd):
    admin.get("/deudores")
    rows = app.extensions["cobrador.debtors.index"]._built.rows
    active = [r.statuses for r in rows if r.statuses == frozenset({"active"})]
    assert len(active) == 3 and all(s is active[0] for s in active)  # one object, not one per debtor
    assert names_listed(admin.get("/deudores?estado=active")) == ["Ana María Pérez", "Óscar Ñúñez", "Rosa Huanca"]


# -- the debtor form ----------------------------------------------------------------------------------------------
def test_new_debtor(ledger, operator):
    response = operator.post("/deudores/nuevo", new_debtor_form(**{
        "phones-1-number": "0057 315 222 3344", "phones-1-kind": "compartido", "phones-1-call": "y"}),
        page="/deudores/nuevo")
    assert response.status_code == 302
    stored = ledger.debtor(debtor_id_for("79456123"))
    assert response.headers["Location"] == f"/deudores/{stored.id}"
    assert stored.name == "José Álvarez" and stored.document == "79.456.123"
    assert [(p.number, p.personal, p.channels) for p in stored.phones] == [
        ("+573107654321", True, frozenset({"sms"})), ("+573152223344", False, frozenset({"call"}))]
    assert (stored.loan_officer, stored.group, stored.tags) == ("Ana Gómez", "Las Palmas", ("feria", "ganadero"))
    assert (stored.timezone, stored.jurisdiction, stored.language) == ("America/Bogota", "CO", "es")
    assert "Deudor creado" in text_of(operator.get(response.headers["Location"]))


def test_new_debtor_without_document_gets_a_stable_id(ledger, operator):
    form = new_debtor_form(document="", name="Luz Dary Muñoz")
    assert operator.post("/deudores/nuevo", form, page="/deudores/nuevo").status_code == 302
    expected = new_debtor_id("", "Luz Dary Muñoz", "+573107654321")
    assert ledger.debtor(expected).name == "Luz Dary Muñoz"
    assert new_debtor_id("", "LUZ  dary munoz", "+573107654321") == expected  # accents, case, spaces
    again = operator.post("/deudores/nuevo", form, page="/deudores/nuevo")
    assert again.status_code == 400 and "Ya existe este deudor (Luz Dary Muñoz)" in text_of(again)
    assert ledger.stats()["debtors"] == 1


def test_new_debtor_with_a_known_document_is_refused(ledger, operator, ana):
    response = operator.post("/deudores/nuevo", new_debtor_form(document=ana.document), page="/deudores/nuevo")
    assert response.status_code == 400 and "Ya existe este deudor (Ana María Pérez)" in text_of(response)
    assert ledger.debtor(ana.id).name == "Ana María Pérez"


@pytest.mark.parametrize("overrides,message", [
    ({"name": ""}, "Escriba el nombre del deudor"),
    ({"name": "12345"}, "El nombre debe tener letras"),
    ({"name": "A" * 10_000}, "máximo 120 caracteres"),
    ({"document": "..."}, "El documento debe tener números o letras"),
    ({"phones-0-number": ""}, "Escriba al menos un teléfono"),
    ({"phones-0-number": "abc"}, "no es un teléfono"),
    ({"phones-0-number": "123"}, "no es válido para CO"),
    ({"phones-0-number": "9" * 10_000}, "Demasiado largo"),
    ({"phones-0-sms": None}, "Marque al menos un canal"),
    ({"phones-1-number": "(310) 765-4321", "phones-1-sms": "y"}, "está repetido"),
    ({"phones-0-kind": "<b>"}, "Elija una de las opciones"),
    ({"timezone": "Marte/Olympus"}, "Zona horaria desconocida"),
    ({"timezone": "x" * 10_000}, "máximo 60 caracteres"),
    ({"jurisdiction": "XX"}, "Elija una de las opciones"),
    ({"language": "klingon"}, "Elija una de las opciones"),
    ({"tags": "a" * 50}, "hasta 40 caracteres"),
    ({"officer": "Ana\x00Gómez"}, "caracteres especiales"),
])
def test_debtor_form_refuses_bad_input(ledger, operator, overrides, message):
    response = operator.post("/deudores/nuevo", new_debtor_form(**overrides), page="/deudores/nuevo")
    assert response.status_code == 400, text_of(response)[:500]
    assert message in text_of(response)
    assert ledger.stats()["debtors"] == 0


def test_html_in_the_form_is_stored_as_text_and_shown_escaped(ledger, operator):
    response = operator.post("/deudores/nuevo", new_debtor_form(name="<img src=x onerror=alert(1)> Ana"),
                             page="/deudores/nuevo")
    assert response.status_code == 302
    body = operator.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt; Ana" in body


def test_a_shared_phone_is_warned_and_marked(ledger, operator, ana):
    response = operator.post("/deudores/nuevo", new_debtor_form(**{"phones-0-number": "300 000 0001"}),
                             page="/deudores/nuevo")
    assert response.status_code == 302
    page = text_of(operator.get(response.headers["Location"]))
    assert "también lo usa Ana María Pérez" in page and "no mostrarán montos" in page
    assert "También lo usa: Ana María Pérez" in page
    assert not ledger.debtor(ana.id).phones[0].personal
    assert not ledger.debtor(debtor_id_for("79456123")).phones[0].personal


def test_edit_debtor(ledger, operator, ana):
    form = operator.get(f"/deudores/{ana.id}/editar")
    assert form.status_code == 200 and 'value="+573000000001"' in form.get_data(as_text=True)
    assert "Reglas de contacto" not in text_of(form)  # the override is the administrator's
    response = operator.post(f"/deudores/{ana.id}/editar", new_debtor_form(
        name="Ana María Pérez de Ríos", document=ana.document, timezone="America/Lima", jurisdiction="PE",
        profile="US", **{"phones-0-number": "+57 300 0000001", "phones-0-call": "y"}), page="/deudores")
    assert response.status_code == 302
    stored = ledger.debtor(ana.id)
    assert stored.name == "Ana María Pérez de Ríos" and (stored.timezone, stored.jurisdiction) == ("America/Lima", "PE")
    assert stored.phones[0].channels == frozenset({"sms", "call"})
    assert ledger.settings.get("rules.profile_overrides") is None  # ignored: not an administrator


def test_administrator_sets_and_clears_the_profile_override(ledger, admin, ana):
    assert "Reglas de contacto" in text_of(admin.get(f"/deudores/{ana.id}/editar"))
    data = new_debtor_form(name=ana.name, document=ana.document, profile="MX",
                           **{"phones-0-number": "3000000001"})
    assert admin.post(f"/deudores/{ana.id}/editar", data, page="/deudores").status_code == 302
    assert ledger.settings.get("rules.profile_overrides") == {ana.id: "MX"}
    assert "reglas fijadas: MX" in text_of(admin.get(f"/deudores/{ana.id}"))
    data["profile"] = ""
    admin.post(f"/deudores/{ana.id}/editar", data, page="/deudores")
    assert ledger.settings.get("rules.profile_overrides") == {}


# -- loans --------------------------------------------------------------------------------------------------------
def loan_form(**overrides):
    data = {"loan_id": "CR-500", "product": "Consumo", "currency": "COP", "status": "active", "mode": "generar",
            "total": "1.000", "count": "3", "first_due": "2027-01-31", "frequency": "mensual", "rows": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_new_loan_generated_monthly(ledger, operator, ana):
    response = operator.post(f"/deudores/{ana.id}/creditos/nuevo", loan_form(), page="/deudores")
    assert response.status_code == 302
    stored = ledger.loan("CR-500")
    assert stored.debtor_id == ana.id and (stored.product, stored.currency, stored.status) == ("Consumo", "COP", "active")
    assert [(i.number, i.due_date, i.amount) for i in stored.instalments] == [
        (1, date(2027, 1, 31), Decimal(333)), (2, date(2027, 2, 28), Decimal(333)), (3, date(2027, 3, 31), Decimal(334))]
    assert [i["source"] for i in ledger.imports()].count("web") == 1


@pytest.mark.parametrize("frequency,dues", [
    ("semanal", [date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 15)]),
    ("quincenal", [date(2026, 12, 1), date(2026, 12, 16), date(2026, 12, 31)]),
])
def test_new_loan_weekly_and_fortnightly(ledger, operator, ana, frequency, dues):
    response = operator.post(f"/deudores/{ana.id}/creditos/nuevo",
                             loan_form(first_due="01/12/2026", frequency=frequency, total="1.234,50"), page="/deudores")
    assert response.status_code == 302
    stored = ledger.loan("CR-500")
    assert [i.due_date for i in stored.instalments] == dues
    assert [i.amount for i in stored.instalments] == [Decimal("411.50"), Decimal("411.50"), Decimal("411.50")]


def test_new_loan_typed_row_by_row(ledger, operator, ana):
    rows = "15/02/2027; 200.000\n\n15/01/2027 ; 150.000\n2027-03-15\t250.000,50\n"
    response = operator.post(f"/deudores/{ana.id}/creditos/nuevo", loan_form(mode="escribir", rows=rows),
                             page="/deudores")
    assert response.status_code == 302
    assert [(i.number, i.due_date, i.amount) for i in ledger.loan("CR-500").instalments] == [
        (1, date(2027, 1, 15), Decimal(150000)), (2, date(2027, 2, 15), Decimal(200000)),
        (3, date(2027, 3, 15), Decimal("250000.50"))]


@pytest.mark.parametrize("overrides,message", [
    ({"loan_id": ""}, "Escriba el número del crédito"),
    ({"loan_id": "=HYPERLINK(1)"}, "no puede empezar con ="),
    ({"loan_id": "L" * 10_000}, "máximo 64 caracteres"),
    ({"loan_id": "CR-1"}, "Ya existe el crédito CR-1 (de Ana María Pérez)"),
    ({"count": "abc"}, "un número entero de 1 a 600"),
    ({"count": "0"}, "un número entero de 1 a 600"),
    ({"count": "601"}, "un número entero de 1 a 600"),
    ({"count": "-3"}, "un número entero de 1 a 600"),
    ({"total": "-5000"}, "no puede ser negativo"),
    ({"total": "cien mil"}, "no es un valor"),
    ({"total": "0"}, "mayor que cero"),
    ({"total": "9" * 10_000}, "máximo 30 caracteres"),
    ({"total": "2", "count": "3"}, "demasiado pequeño para tantas cuotas"),
    ({"first_due": "2027-02-30"}, "Esa fecha no existe"),
    ({"first_due": "31/13/2027"}, "Esa fecha no existe"),
    ({"first_due": "1999-01-01"}, "fuera de los años"),
    ({"first_due": ""}, "Escriba la fecha de la primera cuota"),
    ({"frequency": "diaria"}, "Elija una de las opciones"),
    ({"currency": "BTC"}, "Elija una de las opciones"),
    ({"status": "borrado"}, "Elija una de las opciones"),
    ({"mode": "escribir", "rows": ""}, "Escriba al menos una cuota"),
    ({"mode": "escribir", "rows": "15/01/2027; 100\n31/02/2027; 100"}, "Línea 2: la fecha «31/02/2027» no existe"),
    ({"mode": "escribir", "rows": "15/01/2027; -100"}, "Línea 1: El valor no puede ser negativo"),
    ({"mode": "escribir", "rows": "15/01/2027 100"}, "Línea 1: escriba la fecha y el valor separados"),
    ({"mode": "escribir", "rows": "15/01/2027; <script>alert(1)</script>"}, "no es un valor"),
    ({"mode": "escribir", "rows": "01/01/2027; 1\n" * 601}, "el máximo es 600"),
    ({"mode": "escribir", "rows": "x" * 40_000}, "máximo 600 cuotas"),
])
def test_loan_form_refuses_bad_input(ledger, operator, ana, overrides, message):
    response = operator.post(f"/deudores/{ana.id}/creditos/nuevo", loan_form(**overrides), page="/deudores")
    assert response.status_code == 400, text_of(response)[:300]
    assert message in text_of(response)
    assert "<script>alert" not in response.get_data(as_text=True)
    assert ledger.loan("CR-500") is None and ledger.stats()["loans"] == 1


def test_edit_loan_keeps_what_was_paid(ledger, operator):
    d = debtor(7)
    ledger.import_batch([d], [loan("CR/7", d.id, [TODAY - timedelta(days=60), TODAY - timedelta(days=30), TODAY],
                                   paid=0)], source="t")
    # the file says 60.000 were paid on the first instalment; a payment of 50.000 was recorded here since
    stored = ledger.loan("CR/7")
    ledger.import_batch([], [Loan("CR/7", d.id, "Microcrédito", "COP", (
        Instalment(1, stored.instalments[0].due_date, Decimal(100000), Decimal(60000)),
        *stored.instalments[1:]))], source="t")
    ledger.record_payment("CR/7", 50_000, TODAY - timedelta(days=1), source="web")
    assert ledger.loan("CR/7").paid == Decimal(110000)
    page = operator.get(f"/deudores/{d.id}/creditos/CR/7/editar")  # a loan id with a slash
    assert page.status_code == 200 and "100000" in page.get_data(as_text=True)
    response = operator.post(f"/deudores/{d.id}/creditos/CR/7/editar", loan_form(
        mode="escribir", rows="01/10/2026; 150.000\n01/11/2026; 150.000", product="Agro", loan_id="OTRO"),
        page="/deudores")
    assert response.status_code == 302
    edited = ledger.loan("CR/7")
    assert ledger.loan("OTRO") is None and edited.product == "Agro"
    assert [i.amount for i in edited.instalments] == [Decimal(150000), Decimal(150000)]
    assert edited.paid == Decimal(110000)  # 60.000 from the file + 50.000 recorded here, not counted twice
    assert [i.paid_amount for i in edited.instalments] == [Decimal(110000), Decimal(0)]


# -- the debtor's page --------------------------------------------------------------------------------------------
def test_debtor_page_shows_loans_segment_plan_and_timeline(ledger, admin, ana):
    at = NOW - timedelta(days=2)
    ledger.append_contacts([
        ContactEvent(at, ana.id, "planned", direction="internal", phone=ana.phones[0].number, contact_id="c1",
                     loan_external_id="CR-1"),
        ContactEvent(at + timedelta(seconds=1), ana.id, "sending", phone=ana.phones[0].number, contact_id="c1",
                     loan_external_id="CR-1"),
        ContactEvent(at + timedelta(seconds=5), ana.id, "sent", phone=ana.phones[0].number, contact_id="c1",
                     loan_external_id="CR-1", text="Hola Ana, su cuota vence"),
        ContactEvent(at + timedelta(seconds=30), ana.id, "delivered", phone=ana.phones[0].number, contact_id="c1",
                     loan_external_id="CR-1"),
        ContactEvent(at + timedelta(hours=1), ana.id, "reply", direction="inbound", phone=ana.phones[0].number,
                     text="<script>alert('x')</script> pago el viernes"),
        ContactEvent(at + timedelta(hours=1, seconds=1), ana.id, "note", direction="internal",
                     phone=ana.phones[0].number, text="bandeja", reference="other", detail="no se entendió"),
        ContactEvent(at + timedelta(hours=2), ana.id, "failed", channel="call", phone=ana.phones[0].number,
                     contact_id="c2", loan_external_id="CR-1", detail="no contestó"),
    ])
    ledger.record_payment(None, 20_000, TODAY - timedelta(days=1), debtor_id=ana.id, source="sms", now=NOW)
    ledger.record_promise(ana.id, TODAY - timedelta(days=10), 50_000, source="sms", now=NOW - timedelta(days=15))
    response = admin.get(f"/deudores/{ana.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; pago el viernes" in body
    page = text_of(response)
    # loans and instalments, money and dates the cooperative's way
    assert "1/3 17/10/2026 $ 100.000 $ 0 $ 100.000 40" in page
    # segment and risk with reasons
    assert "Mora grave" in page and "40 días de atraso (31 a 90): +35" in page
    assert "1 promesa(s) de pago incumplida(s): +15" in page
    # the planner's decision, with its reason in words
    assert "Qué se enviará" in page and "CR-1" in page
    # the timeline, newest first, with Spanish labels; "planned" and "sending" hidden once sent
    order = [page.index(label) for label in ("Pago informado por SMS", "Llamada fallida", "Respuesta no entendida",
                                             "Respuesta del deudor", "SMS entregado", "SMS enviado")]
    assert order == sorted(order)
    assert "SMS programado" not in page and "SMS en envío" not in page
    assert "pendiente de confirmar" in page and "para revisar en la bandeja" in page
    assert "Promesa de pago por SMS incumplida $ 50.000" in page


def test_the_risk_reasons_speak_the_pages_language(ledger, admin, ana):
    ledger.record_promise(ana.id, TODAY - timedelta(days=10), 50_000, source="sms", now=NOW - timedelta(days=15))
    assert "1 promesa(s) de pago incumplida(s): +15" in text_of(admin.get(f"/deudores/{ana.id}"))
    admin.post("/idioma/en", {"next": "/"}, page="/")
    page = text_of(admin.get(f"/deudores/{ana.id}"))
    assert "40 days late (31 to 90): +35" in page and "1 broken promise(s) to pay: +15" in page
    assert "días de atraso" not in page and "incumplida" not in page


def test_uncertain_and_pending_contacts_are_shown_as_such(ledger, admin, ana):
    ledger.append_contacts([
        ContactEvent(NOW - timedelta(hours=3), ana.id, "sending", phone=ana.phones[0].number, contact_id="c9"),
        ContactEvent(NOW - timedelta(hours=2), ana.id, "planned", direction="internal", contact_id="c10"),
        ContactEvent(NOW - timedelta(hours=1), ana.id, "expired", phone=ana.phones[0].number, contact_id="c11"),
    ])
    page = text_of(admin.get(f"/deudores/{ana.id}"))
    assert "SMS en envío" in page and "SMS programado" in page and "SMS sin confirmación de entrega" in page


# -- actions ------------------------------------------------------------------------------------------------------
def test_record_a_payment(ledger, operator, ana):
    response = operator.post(f"/deudores/{ana.id}/pago", {"loan": "CR-1", "amount": "$ 60.000", "day": "25/11/2026",
                                                          "reference": "Recibo 123", "note": "en caja"},
                             page=f"/deudores/{ana.id}")
    assert response.status_code == 302
    (payment,) = ledger.payments(debtor_id=ana.id)
    assert (payment.amount, payment.date, payment.source, payment.status) == (Decimal(60000), date(2026, 11, 25),
                                                                             "web", "confirmed")
    assert payment.reference == "Recibo 123" and payment.note == "en caja (registrado por u-operador)"
    assert ledger.loan("CR-1").instalments[0].outstanding == Decimal(40000)
    page = text_of(operator.get(response.headers["Location"]))
    assert "Pago de $ 60.000 registrado en el crédito CR-1" in page and "Pago registrado en la oficina" in page


@pytest.mark.parametrize("data,message", [
    ({"amount": "-100"}, "no puede ser negativo"),
    ({"amount": "mil"}, "no es un valor"),
    ({"amount": ""}, "Escriba el valor pagado"),
    ({"amount": "1" * 10_000}, "máximo 30 caracteres"),
    ({"amount": "1.5e3"}, "no es un valor"),
    ({"day": "2026-11-27"}, "no puede ser futura"),
    ({"day": "2026-02-30"}, "Esa fecha no existe"),
    ({"day": "2019-01-01"}, "más de cinco años"),
    ({"day": "x" * 10_000}, "Esa fecha no existe"),
    ({"loan": "CR-2"}, "Elija una de las opciones"),  # another debtor's loan
    ({"loan": ""}, "Elija una de las opciones"),
    ({"note": "<b>" + "n" * 400}, "máximo 300 caracteres"),
])
def test_payment_refuses_bad_input(ledger, operator, ana, data, message):
    other = debtor(2)
    ledger.import_batch([other], [loan("CR-2", other.id, [TODAY])], source="t")
    form = {"loan": "CR-1", "amount": "1000", "day": "2026-11-20", **data}
    response = operator.post(f"/deudores/{ana.id}/pago", form, page=f"/deudores/{ana.id}")
    assert response.status_code == 400 and message in text_of(response)
    assert ledger.payments() == ()


def test_record_a_promise(ledger, operator, ana):
    response = operator.post(f"/deudores/{ana.id}/promesa", {"loan": "CR-1", "amount": "100.000",
                                                             "day": "2026-12-04", "note": "por teléfono"},
                             page=f"/deudores/{ana.id}")
    assert response.status_code == 302
    (promise,) = ledger.promises(ana.id)
    assert (promise.due_date, promise.amount, promise.source, promise.loan_external_id) == (
        date(2026, 12, 4), Decimal(100000), "web", "CR-1")
    page = text_of(operator.get(f"/deudores/{ana.id}"))
    assert "Promesa registrada: $ 100.000 a más tardar el 04/12/2026" in page
    assert "Promesa de pago registrada en la oficina pendiente" in page


def test_a_promise_holds_the_reminders(ledger, operator):
    d = debtor(5, name="Marta Cárdenas")
    ledger.import_batch([d], [loan("CR-5", d.id, [TODAY])], source="t")
    assert "Sale ahora" in text_of(operator.get(f"/deudores/{d.id}"))
    operator.post(f"/deudores/{d.id}/promesa", {"loan": "", "amount": "100.000", "day": "2026-11-30"},
                  page=f"/deudores/{d.id}")
    page = text_of(operator.get(f"/deudores/{d.id}"))
    assert "Sale ahora" not in page and "hay una promesa de pago vigente (promesa hasta el 01/12/2026)" in page


@pytest.mark.parametrize("data,message", [
    ({"day": "2026-11-25"}, "ya pasó"),
    ({"day": "2027-02-01"}, "próximos 60 días"),
    ({"amount": "-1"}, "no puede ser negativo"),
    ({"amount": "0"}, "mayor que cero"),
    ({"loan": "CR-404"}, "Elija una de las opciones"),
])
def test_promise_refuses_bad_input(ledger, operator, ana, data, message):
    form = {"loan": "", "amount": "1000", "day": "2026-11-30", **data}
    response = operator.post(f"/deudores/{ana.id}/promesa", form, page=f"/deudores/{ana.id}")
    assert response.status_code == 400 and message in text_of(response)
    assert ledger.promises() == ()


def test_opt_out_and_authorise_again(ledger, operator, ana):
    number = ana.phones[0].number
    response = operator.post(f"/deudores/{ana.id}/telefono", {"number": number, "action": "baja"},
                             page=f"/deudores/{ana.id}")
    assert response.status_code == 302 and ledger.opted_out(number)
    page = text_of(operator.get(f"/deudores/{ana.id}"))
    assert "ya no recibirá mensajes" in page and "baja: no se contacta" in page
    assert "Baja: el número no recibirá más mensajes ni llamadas" in page and "por u-operador" in page
    assert "Autorizar de nuevo" in page
    operator.post(f"/deudores/{ana.id}/telefono", {"number": number, "action": "alta"}, page=f"/deudores/{ana.id}")
    assert not ledger.opted_out(number)
    assert "Número autorizado de nuevo" in text_of(operator.get(f"/deudores/{ana.id}"))


@pytest.mark.parametrize("data", [{"number": "+573009999999", "action": "baja"},
                                  {"number": ";DROP", "action": "baja"},
                                  {"number": "+573000000001", "action": "borrar"},
                                  {"action": "baja"}])
def test_phone_action_refuses_bad_input(ledger, operator, ana, data):
    response = operator.post(f"/deudores/{ana.id}/telefono", data, page=f"/deudores/{ana.id}")
    assert response.status_code == 400
    assert "teléfono" in text_of(response)
    assert ledger.opted_out_numbers() == frozenset()


def test_record_a_call(ledger, operator, ana):
    response = operator.post(f"/deudores/{ana.id}/llamada", {"number": ana.phones[0].number,
                                                            "result": "sin_respuesta", "note": "<i>buzón</i>"},
                             page=f"/deudores/{ana.id}")
    assert response.status_code == 302
    (event,) = ledger.contacts(debtor_id=ana.id)
    assert (event.kind, event.channel, event.direction, event.text) == ("expired", "call", "outbound", "<i>buzón</i>")
    body = operator.get(f"/deudores/{ana.id}").get_data(as_text=True)
    assert "Llamada sin respuesta" in body and "&lt;i&gt;buzón&lt;/i&gt;" in body
    bad = operator.post(f"/deudores/{ana.id}/llamada", {"number": "+573001234567", "result": "contestada"},
                        page=f"/deudores/{ana.id}")
    assert bad.status_code == 400 and "Elija una de las opciones" in text_of(bad)


def test_send_now_wakes_the_dispatcher_only_when_the_plan_sends(ledger, operator, woken):
    due_today = debtor(5, name="Marta Cárdenas")
    later = debtor(6, name="Wilson Rojas")
    ledger.import_batch([due_today, later], [loan("CR-5", due_today.id, [TODAY]),
                                             loan("CR-6", later.id, [TODAY + timedelta(days=20)])], source="t")
    page = text_of(operator.get(f"/deudores/{due_today.id}"))
    assert "Sale ahora" in page and "toca enviar este paso" in page
    response = operator.post(f"/deudores/{due_today.id}/enviar", {}, page=f"/deudores/{due_today.id}")
    assert response.status_code == 302 and len(woken) == 1
    assert "Se avisó al despachador: 1 mensaje(s)" in text_of(operator.get(f"/deudores/{due_today.id}"))
    assert ledger.contacts() == ()  # nothing is sent from the page itself
    response = operator.post(f"/deudores/{later.id}/enviar", {}, page=f"/deudores/{later.id}")
    assert response.status_code == 302 and len(woken) == 1
    page = text_of(operator.get(f"/deudores/{later.id}"))
    assert "Crédito CR-6: espera hasta" in page and "el paso aún no llega a su fecha y hora" in page


def test_send_now_says_why_not_when_the_rules_forbid(ledger, operator, woken):
    d = debtor(5, name="Marta Cárdenas")
    ledger.import_batch([d], [loan("CR-5", d.id, [TODAY])], source="t")
    ledger.record_opt_out(d.phones[0].number, now=NOW)
    operator.post(f"/deudores/{d.id}/enviar", {}, page=f"/deudores/{d.id}")
    assert not woken
    assert "BAJA" in text_of(operator.get(f"/deudores/{d.id}"))


def test_without_an_engine_the_page_says_so(ledger, app, client):
    bare = create_app(Services(ledger=ledger, now=lambda: NOW), testing=True)
    browser = Client(bare)
    browser.setup_admin()
    d = debtor(5)
    ledger.import_batch([d], [loan("CR-5", d.id, [TODAY])], source="t")
    page = text_of(browser.get(f"/deudores/{d.id}"))
    assert "El motor de envíos no está disponible" in page and "Al día" in page
    response = browser.post(f"/deudores/{d.id}/enviar", {}, page=f"/deudores/{d.id}")
    assert response.status_code == 302
    assert "no se puede enviar desde aquí" in text_of(browser.get(f"/deudores/{d.id}"))
    assert browser.get(f"/deudores/{d.id}/guion").status_code == 200


# -- the call script ----------------------------------------------------------------------------------------------
def test_call_script(ledger, reader, ana):
    ledger.record_promise(ana.id, TODAY - timedelta(days=10), 50_000, source="call", now=NOW - timedelta(days=15))
    ledger.append_contact(ContactEvent(NOW - timedelta(days=1), ana.id, "reply", direction="inbound",
                                       phone=ana.phones[0].number, text="<b>no tengo plata</b>"))
    response = reader.get(f"/deudores/{ana.id}/guion")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<b>no tengo plata</b>" not in body and "&lt;b&gt;no tengo plata&lt;/b&gt;" in body
    page = text_of(response)
    assert "Buenos días. ¿Hablo con Ana María Pérez?" in page
    assert "Le habla u-lectura, de Cooperativa La Esperanza." in page
    assert "Tiene pendiente la cuota 1 de 3, que venció el 17/10/2026, por $ 100.000. Lleva 40 días de atraso." in page
    assert "Prometió pagar $ 50.000 a más tardar el 16/11/2026" in page and "incumplida" in page
    assert "No amenace" in page and "Teléfono compartido" not in page
    assert "Las reglas de contacto permiten llamar ahora" in page
    assert "de hoy al 11/12/2026" in page


def test_call_script_on_a_shared_phone_and_outside_hours(ledger, app, admin):
    d = debtor(8, name="Nubia Zúñiga", personal=False, channels=("sms", "call"))
    ledger.import_batch([d], [loan("CR-8", d.id, [TODAY - timedelta(days=3)])], source="t")
    page = text_of(admin.get(f"/deudores/{d.id}/guion"))
    assert "Teléfono compartido" in page and "NO mencione la deuda" in page
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=1), d.id, "sent", channel="sms",
                                       phone=d.phones[0].number, contact_id="x"))
    page = text_of(admin.get(f"/deudores/{d.id}/guion"))
    assert "No llame ahora" in page and "Puede llamar desde el" in page


# -- English ------------------------------------------------------------------------------------------------------
def test_the_area_in_english(ledger, admin, ana):
    admin.post("/idioma/en", {"next": "/deudores"}, page="/")
    page = text_of(admin.get("/deudores"))
    assert "Debtors" in page and "Search" in page and "Days late" in page and "Segmento" not in page
    page = text_of(admin.get(f"/deudores/{ana.id}"))
    assert "Record a payment" in page and "What will be sent" in page and "Oct 17, 2026" in page
    assert "Call script" in page
    assert "Greeting" in text_of(admin.get(f"/deudores/{ana.id}/guion"))


# -- parsing ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed,value", [("150000", "150000"), ("150.000", "150000"), ("150,000", "150000"),
                                         ("1.234,50", "1234.50"), ("1,234.50", "1234.50"), ("$ 1.500.000", "1500000"),
                                         ("COP 20.000", "20000"), ("12,5", "12.5"), ("0,50", "0.50")])
def test_amounts_are_read_the_cooperatives_way(typed, value):
    assert parse_amount(typed) == Decimal(value)


@pytest.mark.parametrize("typed", ["1234.567", "1.23.4", "1,5,6", "٣٠٠", "1e5", "NaN", "Infinity", "--5", ""])
def test_unclear_amounts_are_refused(typed):
    with pytest.raises(ValueError):
        parse_amount(typed)


# -- speed --------------------------------------------------------------------------------------------------------
def test_the_list_stays_fast_with_ten_thousand_debtors(ledger, admin):
    people, loans = [], []
    for n in range(10_000):
        d = debtor(n, name=f"{('Ana', 'José', 'Óscar', 'Luz')[n % 4]} {n}", officer=f"Asesor {n % 40}")
        people.append(d)
        loans.append(loan(f"CR-{n}", d.id, [TODAY - timedelta(days=n % 120), TODAY + timedelta(days=30)]))
    ledger.import_batch(people, loans, source="t")
    assert admin.get("/deudores").status_code == 200  # builds the index once
    queries = ["", "?q=oscar", "?q=300000", "?atraso=31-90", "?segmento=mora_grave&pagina=3", "?orden=atraso",
               "?asesor=Asesor+7", "?estado=active&q=luz"]
    samples = []
    for _ in range(5):
        for query in queries:
            started = time.perf_counter()
            assert admin.get("/deudores" + query).status_code == 200
            samples.append(time.perf_counter() - started)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    assert p95 < 0.25, f"p95 {p95 * 1000:.0f} ms"  # the benchmark's target is 100 ms; CI machines vary


def test_the_appliance_keeps_the_list_warm(ledger, services):
    ledger.import_batch([debtor(1), debtor(2)], [], source="t")
    app = create_app(services)  # not testing: as the appliance starts it
    warmer = app.extensions["cobrador.debtors.warmer"]
    try:
        index = app.extensions["cobrador.debtors.index"]
        deadline = time.monotonic() + 10
        while index.builds == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert index.builds == 1 and index.recomputed == 2  # built before anyone asked
    finally:
        warmer.stop()
    assert "cobrador.debtors.warmer" not in create_app(services, testing=True).extensions


JUNK = ["", "<script>alert(1)</script>", "x" * 10_000, "-1", "1e309", "NaN", "\x00\x1f", "٣", "../../etc", "'; DROP --",
        "2026-02-30", "9" * 40]
FIELDS = ["name", "document", "phones-0-number", "phones-0-kind", "phones-0-sms", "phones-7-number", "officer", "group",
          "tags", "language", "timezone", "jurisdiction", "profile", "loan_id", "product", "currency", "status", "mode",
          "total", "count", "first_due", "frequency", "rows", "loan", "amount", "day", "reference", "note", "number",
          "action", "result"]


@pytest.mark.parametrize("path", ["/deudores/nuevo", "/editar", "/creditos/nuevo", "/creditos/CR-1/editar", "/pago",
                                  "/promesa", "/telefono", "/llamada", "/enviar"])
def test_junk_never_makes_a_500(ledger, admin, ana, path):
    url = path if path.startswith("/deudores") else f"/deudores/{ana.id}{path}"
    token = admin.token(f"/deudores/{ana.id}")
    for n, junk in enumerate(JUNK):
        data = {field: JUNK[(n + k) % len(JUNK)] for k, field in enumerate(FIELDS)}
        data["csrf_token"] = token
        response = admin.http.post(url, data=data)
        assert response.status_code < 500, (url, junk)
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_calls_rings_and_keys_on_the_timeline(ledger, admin, ana):
    phone = ana.phones[0].number
    at = NOW - timedelta(days=1)
    ledger.append_contacts([
        ContactEvent(at, ana.id, "sending", channel="ring", phone=phone, contact_id="r1", loan_external_id="CR-1"),
        ContactEvent(at + timedelta(seconds=16), ana.id, "sent", channel="ring", phone=phone, contact_id="r1",
                     detail="módem 1; llamada perdida; sonó 15 s"),
        ContactEvent(at + timedelta(seconds=16), ana.id, "delivered", channel="ring", phone=phone, contact_id="r1",
                     detail="sonó 15 s: quedó como llamada perdida"),
        ContactEvent(at + timedelta(hours=1), ana.id, "sending", channel="call", phone=phone, contact_id="c1"),
        ContactEvent(at + timedelta(hours=1, seconds=40), ana.id, "delivered", channel="call", phone=phone,
                     contact_id="c1", detail="contestó; habló 32 s; marcó 1"),
        ContactEvent(at + timedelta(hours=1, seconds=41), ana.id, "reply", channel="call", direction="inbound",
                     phone=phone, contact_id="c1:teclas", text="1", reference="teclado"),
        ContactEvent(at + timedelta(hours=3), ana.id, "reply", channel="call", direction="inbound", phone=phone,
                     contact_id="in:1", reference="llamada entrante"),
    ])
    page = text_of(admin.get(f"/deudores/{ana.id}"))
    assert "Timbrazo: el teléfono sonó" in page and "Timbrazo hecho (llamada perdida)" in page
    assert "Llamada contestada" in page and "contestó; habló 32 s; marcó 1" in page
    assert "Teclas marcadas durante la llamada" in page and "El deudor llamó al equipo" in page
