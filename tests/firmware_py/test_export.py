"""CSV export: spreadsheet conventions, formula-injection safety, round trip through the importer."""

import codecs
import csv
import io
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.importer import ImportOptions, import_loans
from firmware_py.importer.cells import neutralise
from firmware_py.importer.export import export_csv
from firmware_py.ledger import Ledger
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"


def read_export(ledger, what, country="CO"):
    out = io.BytesIO()
    count = export_csv(ledger, what, out, country=country)
    raw = out.getvalue()
    assert raw.startswith(codecs.BOM_UTF8)
    delimiter = ";" if country == "CO" else ","
    return count, list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=delimiter))


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as led:
        yield led


def seed(ledger, name="Ana Ríos", product="Microcrédito"):
    debtor = Debtor(id=debtor_id_for("1020304"), name=name, document="1020304",
                    phones=(Phone("+573001234567"), Phone("+525512345678")))
    loan = Loan(external_id="CR-1", debtor_id=debtor.id, product=product,
                instalments=(Instalment(1, date(2027, 1, 15), Decimal("1234.50"), Decimal("100")),))
    ledger.import_batch([debtor], [loan], source="prueba")
    return debtor


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ana", "Ana"), ("", ""), (None, ""), ("-1234,50", "-1234,50"),
    ("+573001234567", "+573001234567"), ("+57 300 123 4567", "'+57 300 123 4567"), ("a=b", "a=b"),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@settings(max_examples=300)
@given(st.text())
def test_property_no_exported_cell_can_start_a_formula(text):
    cell = neutralise(text)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert cell.lstrip("+-").replace(",", "").replace(".", "").isdigit()
    assert cell == text or cell == "'" + text


def test_loans_export_uses_spanish_conventions(ledger):
    seed(ledger)
    count, rows = read_export(ledger, "loans")
    assert count == 1
    header, row = rows
    values = dict(zip(header, row))
    assert values["Valor"] == "1234,50" and values["Pagado"] == "100" and values["Pendiente"] == "1134,50"
    assert values["Fecha de vencimiento"] == "15/01/2027" and values["Estado"] == "activo"
    assert values["Teléfono"] == "300 1234567" and values["Teléfono 2"] == "'+52 55 1234 5678"


def test_loans_export_in_a_dot_decimal_country(ledger):
    seed(ledger)
    _, rows = read_export(ledger, "loans", country="MX")
    values = dict(zip(*rows))
    assert values["Valor"] == "1234.50"


def test_formula_injection_in_names_is_neutralised(ledger):
    seed(ledger, name="=HYPERLINK(\"http://evil\",\"x\")", product="@SUM(1)")
    _, rows = read_export(ledger, "loans")
    values = dict(zip(*rows))
    assert values["Nombre"] == "'=HYPERLINK(\"http://evil\",\"x\")" and values["Producto"] == "'@SUM(1)"


def test_payments_export(ledger):
    debtor = seed(ledger)
    ledger.record_payment("CR-1", Decimal("50.25"), date(2026, 11, 20), source="web")
    count, rows = read_export(ledger, "payments")
    values = dict(zip(*rows))
    assert count == 1 and values["Valor"] == "50,25" and values["Fecha"] == "20/11/2026"
    assert values["Documento"] == debtor.document and values["Origen"] == "oficina"


def test_contacts_export(ledger):
    debtor = seed(ledger)
    ledger.append_contact(ContactEvent(at=NOW, debtor_id=debtor.id, kind="reply", direction="inbound",
                                       phone="+573001234567", text="=PAGUÉ 5000"))
    count, rows = read_export(ledger, "contacts")
    values = dict(zip(*rows))
    assert count == 1 and values["Texto"] == "'=PAGUÉ 5000" and values["Tipo"] == "respuesta"
    assert values["Fecha y hora"] == "23/11/2026 07:00"  # the cooperative's time (America/Bogota by default)


def test_empty_exports_have_headers(ledger):
    for what in ("loans", "payments", "contacts"):
        count, rows = read_export(ledger, what)
        assert count == 0 and len(rows) == 1


def test_export_of_an_import_imports_back_identically(ledger):
    for name in ("prestamos_una_fila_por_credito.csv", "cuotas_una_fila_por_cuota.csv"):
        import_loans(EXAMPLES / name, ledger, now=NOW, options=ImportOptions())
    out = io.BytesIO()
    export_csv(ledger, "loans", out, country="CO")
    with Ledger.memory(clock=lambda: NOW) as other:
        report = import_loans(io.BytesIO(out.getvalue()), other, now=NOW, options=ImportOptions(source_name="x"))
        assert report.rejected == 0 and report.unknown_columns == []
        assert other.loans() == ledger.loans()
        assert other.debtors() == ledger.debtors()


def test_export_command_writes_a_file(tmp_path):
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "firmware_py", "import", str(EXAMPLES / "cuotas_una_fila_por_cuota.csv"),
                    "--data", str(data), "--rejects", str(tmp_path / "r.csv")], check=True, cwd=ROOT,
                   capture_output=True, timeout=60)
    out = tmp_path / "prestamos.csv"
    result = subprocess.run([sys.executable, "-m", "firmware_py", "export", "loans", "--out", str(out), "--data",
                             str(data)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0 and "5 filas" in result.stderr
    assert out.read_bytes().startswith(codecs.BOM_UTF8)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".prestamos")]  # no temporary left behind
    stdout = subprocess.run([sys.executable, "-m", "firmware_py", "export", "payments", "--data", str(data)],
                            capture_output=True, cwd=ROOT, timeout=60)
    assert stdout.returncode == 0 and stdout.stdout.startswith(codecs.BOM_UTF8 + "Pago;".encode())
    bad = subprocess.run([sys.executable, "-m", "firmware_py", "export", "deudas", "--data", str(data)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2


_amounts = st.decimals(min_value=0, max_value=10**9, places=2)


@st.composite
def _portfolio(draw):
    debtors, loans = [], []
    used_phones = set()
    for d in range(draw(st.integers(1, 6))):
        document = str(draw(st.integers(1, 10**10)))
        if any(x.document == document for x in debtors):
            continue
        phone = f"+57300{draw(st.integers(0, 9_999_999)):07d}"
        if phone in used_phones:
            continue
        used_phones.add(phone)
        name = draw(st.sampled_from(["Ana Ríos", "José Peña", "Ñusta Quispe", "Óscar Zúñiga", "O'Neill Díaz"]))
        debtor = Debtor(id=debtor_id_for(document), name=name, document=document, phones=(Phone(phone),),
                        loan_officer=draw(st.sampled_from(["", "Ana Gómez"])), group=draw(st.sampled_from(["", "G1"])))
        debtors.append(debtor)
        for k in range(draw(st.integers(1, 3))):
            instalments = []
            for n in range(1, draw(st.integers(1, 6)) + 1):
                amount = draw(_amounts)
                paid = min(draw(_amounts), amount)
                due = draw(st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31)))
                instalments.append(Instalment(n, due, amount, paid))
            loans.append(Loan(external_id=f"{document}-{k}", debtor_id=debtor.id, instalments=tuple(instalments),
                              product=draw(st.sampled_from(["", "Microcrédito", "Agro"])),
                              status=draw(st.sampled_from(["active", "paid", "written_off", "cancelled"]))))
    return debtors, loans


@settings(max_examples=60, deadline=None)
@given(_portfolio(), st.sampled_from(["CO", "MX"]))
def test_property_export_then_import_reproduces_the_portfolio(portfolio, country):
    """What the office exports, opens and imports back is the same portfolio (per-country conventions)."""
    debtors, loans = portfolio
    with Ledger.memory(clock=lambda: NOW) as source, Ledger.memory(clock=lambda: NOW) as target:
        source.import_batch(debtors, loans, source="prueba")
        out = io.BytesIO()
        export_csv(source, "loans", out, country=country)
        timezone_name = "America/Bogota" if country == "CO" else "America/Mexico_City"
        report = import_loans(io.BytesIO(out.getvalue()), target, now=NOW,
                              options=ImportOptions(source_name="x", country=country, timezone=timezone_name))
        assert report.rejected == 0
        assert target.loans() == source.loans()
        expected = [d if country == "CO" else replace(d, timezone=timezone_name, jurisdiction="MX") for d in source.debtors()]
        assert list(target.debtors()) == expected
