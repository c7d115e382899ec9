"""Numbers as real spreadsheet exports write them: thousands separators in counts, the ambiguous "Cuota"
column, float noise of XLSX cells, scientific-notation loan ids, the accounting zero ``$ -`` and how
reasons show numbers."""

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from firmware_py.importer import ImportOptions, import_loans
from firmware_py.importer.headers import resolve_columns
from firmware_py.importer.parsing import ParseError, parse_count
from firmware_py.ledger import Ledger

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as led:
        yield led


def csv_bytes(lines, delimiter=";") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(lines)
    return buffer.getvalue().encode("utf-8")


def run(source, ledger, **options):
    options.setdefault("source_name", "prueba.csv")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    return import_loans(source, ledger, now=NOW, options=ImportOptions(**options))


def reasons(report) -> dict[int, str]:
    return {r.row: r.reason for r in report.rejections}


# -- 1. counts written with a thousands separator; the ambiguous "Cuota" column ----------------------------------
@pytest.mark.parametrize("text", ["1.000", "100.000", "2,000", "1.000.000", " 3.000 "])
def test_a_count_with_a_thousands_separator_is_refused(text):
    with pytest.raises(ParseError, match="separador de miles"):
        parse_count(text)


@pytest.mark.parametrize("value,expected", [(3.0, 3), ("3.0", 3), ("3,00", 3), ("12", 12), (600, 600),
                                            ("3.0000", 3)],
                         ids=["xlsx float", "3.0", "3,00", "12", "int", "3.0000"])
def test_counts_without_a_thousands_separator_still_read(value, expected):
    assert parse_count(value) == expected


def test_number_of_instalments_1000_is_refused_not_read_as_one(ledger):
    header = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Número de cuotas", "Primera cuota"]
    report = run(csv_bytes([header, ["CR-1", "Ana Pérez", "123456", "3001234567", "1.200.000", "1.000",
                                     "15/01/2027"]]), ledger)
    assert report.imported == 0 and report.rejected == 1
    assert reasons(report)[2].startswith("Número de cuotas: ") and "separador de miles" in reasons(report)[2]


CUOTA_HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Saldo", "Cuota", "Vence"]


def test_bare_cuota_holding_money_is_the_instalment_amount(ledger):
    report = run(csv_bytes([CUOTA_HEADER, ["CR-1", "Ana Pérez", "123456", "3001234567", "1.200.000", "100.000",
                                           "15/01/2027"]]), ledger)
    assert report.columns["instalment_amount"] == "Cuota" and "instalment_number" not in report.columns
    assert (report.layout, report.imported, report.rejected) == ("loan", 1, 0)
    [instalment] = ledger.loan("CR-1").instalments
    assert (instalment.number, instalment.amount, instalment.due_date) == (1, 100000, date(2027, 1, 15))


def test_bare_cuota_holding_small_whole_numbers_stays_the_instalment_number(ledger):
    lines = [CUOTA_HEADER] + [["CR-1", "Ana Pérez", "123456", "3001234567", "100.000", str(n), f"15/0{n}/2027"]
                              for n in (1, 2, 3)]
    report = run(csv_bytes(lines), ledger)
    assert report.layout == "instalment" and report.imported == 1
    assert [i.number for i in ledger.loan("CR-1").instalments] == [1, 2, 3]


@pytest.mark.parametrize("values,field", [
    (["100.000", "100.000"], "instalment_amount"),
    (["1.250,50"], "instalment_amount"),
    (["$ 90"], "instalment_amount"),
    ([150000, 150000.0], "instalment_amount"),  # xlsx numbers too large for an instalment number
    ([12.5], "instalment_amount"),
    (["1", "2", "3"], "instalment_number"),
    ([1, 2.0, 3], "instalment_number"),
    (["1", "2", "3,0", "1.000"], "instalment_number"),  # one odd value does not turn the whole column
    ([None, ""], "instalment_number"),
], ids=["thousands", "decimals", "currency", "large xlsx numbers", "fraction", "counts", "xlsx counts",
        "mostly counts", "blank"])
def test_the_ambiguous_cuota_column_is_decided_by_its_values(values, field):
    header = ["Crédito", "Saldo", "Cuota", "Vence"]
    columns = resolve_columns(header, samples=[["CR-1", "1.000.000", v, "15/01/2027"] for v in values])
    assert columns.columns[field] == 2


# -- 3. floating-point noise of spreadsheet cells is rounded to the cent; real extra decimals are refused ----------
NOISE = [
    # value, style, expected (exact text of the Decimal: whole amounts stay whole)
    (150000.30000000002, "comma", "150000.30"),
    (100000 / 3, "comma", "33333.33"),
    (120000.00000000001, "comma", "120000"),
    (0.1 + 0.2, "comma", "0.30"),
    (200000 / 3, "comma", "66666.67"),
    (150000, "comma", "150000"),
    (150000.0, "comma", "150000"),
    (1234.5, "comma", "1234.5"),
    ("150000.30000000002", "dot", "150000.30"),
    ("33.333,333333333336", "comma", "33333.33"),
    ("120.000,00000000001", "comma", "120000"),
    ("1234567890,125", "comma", "1234567890.13"),  # a computed value exactly on the half: ROUND_HALF_UP
    ("-1234567890,125", "comma", "-1234567890.13"),
    ("0,500", "comma", "0.50"),  # three decimals that are zeros: nothing to refuse
    ("1100.000", "dot", "1100"),
    ("150.000,00", "comma", "150000.00"),  # as written: two decimals are kept
]


@pytest.mark.parametrize("value,style,expected", NOISE, ids=[f"{v!r}|{s}" for v, s, _ in NOISE])
def test_float_noise_is_rounded_half_up_to_the_cent(value, style, expected):
    from firmware_py.importer.parsing import parse_amount
    assert str(parse_amount(value, style)) == expected


@pytest.mark.parametrize("value,style,shown", [
    (1234.567, "comma", "«1.234,567»"), (1234.567, "dot", "«1,234.567»"), (0.125, "comma", "«0,125»"),
    ("1234,567", "comma", "«1234,567»"), ("1.234,567", "comma", "«1.234,567»"), ("1234.5678", "dot", "«1234.5678»"),
], ids=["float", "float dot file", "half cent", "text", "text grouped", "text dot"])
def test_typed_amounts_with_more_than_two_decimals_are_refused(value, style, shown):
    from firmware_py.importer.parsing import parse_amount
    with pytest.raises(ParseError, match="tiene más de dos decimales") as info:
        parse_amount(value, style)
    assert shown in str(info.value)


XLSX_HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Número de cuotas", "Primera cuota", "Pagado"]


def xlsx_file(tmp_path, rows, header=XLSX_HEADER):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "cartera.xlsx"
    book.save(path)
    return path


def test_xlsx_float_noise_is_rounded_and_real_decimals_refused(tmp_path, ledger):
    first = datetime(2027, 1, 15)
    path = xlsx_file(tmp_path, [
        ["CR-1", "Ana Pérez", 111, 3001234567, 120000, 1, first, 120000.00000000001],  # paid in full, not over
        ["CR-2", "Beto Ruiz", 222, 3001234568, 150000.30000000002, 1, first, 0],
        ["CR-3", "Carla Soto", 333, 3001234569, 100000, 3, first, 100000 / 3],
        ["CR-4", "Dora Vélez", 444, 3001234560, 1234.567, 1, first, 0],
    ])
    report = run(path, ledger, source_name="cartera.xlsx")
    assert (report.imported, report.rejected) == (3, 1), report.rejections
    cr1 = ledger.loan("CR-1").instalments[0]
    assert (str(cr1.amount), str(cr1.paid_amount)) == ("120000", "120000")
    assert str(ledger.loan("CR-2").total) == "150000.30"
    assert str(sum(i.paid_amount for i in ledger.loan("CR-3").instalments)) == "33333.33"
    assert reasons(report)[5] == "Monto: el valor «1.234,567» tiene más de dos decimales: escriba el valor con dos " \
                                 "decimales como máximo"


def test_csv_float_noise_is_rounded_and_real_decimals_refused(ledger):
    header = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Primera cuota", "Pagado"]
    lines = [header, ["CR-1", "Ana Pérez", "111", "3001234567", "120.000", "15/01/2027", "120.000,00000000001"],
             ["CR-2", "Beto Ruiz", "222", "3001234568", "150.000,30000000002", "15/01/2027", "0"],
             ["CR-3", "Carla Soto", "333", "3001234569", "1.234,567", "15/01/2027", "0"]]
    report = run(csv_bytes(lines), ledger)
    assert (report.imported, report.rejected) == (2, 1)
    assert ledger.loan("CR-1").instalments[0].paid_amount == 120000
    assert str(ledger.loan("CR-2").total) == "150000.30"
    assert "Monto: el valor «1.234,567» tiene más de dos decimales" in reasons(report)[4]


# -- 4. a loan id in scientific notation is refused (a corrected file would create a second loan) ------------------
LOAN_HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Primera cuota", "Pagado"]


def loan(loan_id="CR-1", amount="100.000", paid="0", doc="111", phone="3001234567"):
    return [loan_id, "Ana Pérez", doc, phone, amount, "15/01/2027", paid]


@pytest.mark.parametrize("loan_id", ["1,23457E+11", "1.23457E+11", "1,23457e+11", "1E+11", "9,99999E+14"])
def test_a_loan_id_in_scientific_notation_is_refused(loan_id, ledger):
    report = run(csv_bytes([LOAN_HEADER, loan(loan_id)]), ledger)
    assert (report.imported, report.rejected) == (0, 1) and ledger.loans() == ()
    assert reasons(report)[2] == (f"el número de crédito «{loan_id}» está en notación científica (se perdieron "
                                  "dígitos): dé a la columna formato de número sin decimales o de texto y "
                                  "exporte de nuevo")


@pytest.mark.parametrize("loan_id", ["123457000000", "CR-1E+5", "12E3", "2024-E1"])
def test_loan_ids_that_only_resemble_scientific_notation_are_kept(loan_id, ledger):
    report = run(csv_bytes([LOAN_HEADER, loan(loan_id)]), ledger)
    assert report.imported == 1 and ledger.loan(loan_id) is not None


# -- 10. Excel's accounting zero "$ -"; every amount reason names its column -------------------------------------
@pytest.mark.parametrize("paid", ["$ -", "-", "$ - ", "-   ", " $-", "$   -   ", "COP -", "\u2212"],
                         ids=["$ -", "-", "$ - ", "-   ", " $-", "wide", "COP -", "minus sign"])
def test_the_accounting_zero_is_read_as_zero_where_the_amount_may_be_zero(paid, ledger):
    report = run(csv_bytes([LOAN_HEADER, loan(paid=paid)]), ledger)
    assert (report.imported, report.rejected) == (1, 0), report.rejections
    assert ledger.loan("CR-1").instalments[0].paid_amount == 0


@pytest.mark.parametrize("header,value,reason", [
    ("Monto", "$ -", "Monto: «$ -» es un guion (el cero del formato contable): escriba el valor"),
    ("Monto", "-", "Monto: «-» es un guion (el cero del formato contable): escriba el valor"),
    ("Valor cuota", "$ - ", "Valor cuota: «$ -» es un guion (el cero del formato contable): escriba el valor"),
], ids=["Monto $ -", "Monto -", "Valor cuota"])
def test_the_accounting_zero_is_refused_where_an_amount_is_needed(header, value, reason, ledger):
    lines = [[header if h == "Monto" else h for h in LOAN_HEADER], loan(amount=value)]
    report = run(csv_bytes(lines), ledger)
    assert (report.imported, report.rejected) == (0, 1) and reasons(report)[2] == reason


def test_the_accounting_zero_in_the_instalment_layout(ledger):
    header = ["Crédito", "Cuota", "Vence", "Valor", "Pagado", "Nombre", "Documento", "Teléfono"]
    lines = [header, ["CR-1", "1", "15/01/2027", "100.000", "$ -", "Ana Pérez", "111", "3001234567"],
             ["CR-2", "1", "15/01/2027", "$ -", "0", "Beto Ruiz", "222", "3001234568"]]
    report = run(csv_bytes(lines), ledger)
    assert report.layout == "instalment" and (report.imported, report.rejected) == (1, 1)
    assert ledger.loan("CR-1").instalments[0].paid_amount == 0
    assert reasons(report)[3] == "Monto: «$ -» es un guion (el cero del formato contable): escriba el valor"


@pytest.mark.parametrize("changes,reason", [
    ({"paid": "abc"}, "Pagado: el valor «abc» no es un número"),
    ({"amount": "mucho"}, "Monto: el valor «mucho» no es un número"),
    ({"amount": "1,5E+06"}, "Monto: el valor «1,5E+06» está en notación científica"),
    ({"paid": "12,345"}, "Pagado: el valor «12,345» tiene más de dos decimales"),
], ids=["paid", "amount", "scientific", "decimals"])
def test_every_amount_reason_names_its_column(changes, reason, ledger):
    report = run(csv_bytes([LOAN_HEADER, loan(**changes)]), ledger)
    assert reasons(report)[2].startswith(reason)


# -- 11. reasons show numbers the way the office writes them ------------------------------------------------------
FORMATS = [
    (Decimal("120000"), "120.000", "120,000"),
    (Decimal("120000.00"), "120.000", "120,000"),
    (Decimal("120000.5"), "120.000,50", "120,000.50"),
    (Decimal("1234567.89"), "1.234.567,89", "1,234,567.89"),
    (Decimal("-5000"), "-5.000", "-5,000"),
    (Decimal("0.5"), "0,50", "0.50"),
    (Decimal("1E+3"), "1.000", "1,000"),
    (Decimal("999"), "999", "999"),
    (1234.567, "1.234,567", "1,234.567"),
    (150000.0, "150.000", "150,000"),
    (7, "7", "7"),
]


@pytest.mark.parametrize("value,comma,dot", FORMATS, ids=[repr(f[0]) for f in FORMATS])
def test_format_number(value, comma, dot):
    from firmware_py.importer.parsing import format_number
    assert (format_number(value, "comma"), format_number(value, "dot")) == (comma, dot)


def test_paid_more_than_owed_shows_the_amounts_as_the_office_writes_them(ledger):
    report = run(csv_bytes([LOAN_HEADER, loan(amount="120.000", paid="130.000")]), ledger)
    assert reasons(report)[2] == "el valor pagado (130.000) es mayor que el monto (120.000)"


def test_reasons_in_a_decimal_point_file_use_its_marks(ledger):
    lines = [LOAN_HEADER, loan(amount="120,000.50", paid="130,000.25"), loan("CR-2", amount="-5,000.75", doc="222",
                                                                             phone="3001234568")]
    report = run(csv_bytes(lines), ledger, country="MX")
    assert report.number_style == "dot"
    assert reasons(report)[2] == "el valor pagado (130,000.25) es mayor que el monto (120,000.50)"
    assert reasons(report)[3] == "monto negativo (-5,000.75)"


def test_instalment_reasons_show_formatted_numbers(ledger):
    header = ["Crédito", "Cuota", "Vence", "Valor", "Pagado", "Nombre", "Documento", "Teléfono"]
    lines = [header, ["CR-1", "1", "15/01/2027", "100.000", "150.000,5", "Ana Pérez", "111", "3001234567"],
             ["CR-2", "1", "15/01/2027", "100.000", "-1.000", "Beto Ruiz", "222", "3001234568"]]
    report = run(csv_bytes(lines), ledger)
    assert reasons(report)[2] == "el valor pagado (150.000,50) es mayor que el valor de la cuota (100.000)"
    assert reasons(report)[3] == "valor pagado negativo (-1.000)"


def test_xlsx_reasons_never_show_python_reprs(tmp_path, ledger):
    first = datetime(2027, 1, 15)
    path = xlsx_file(tmp_path, [["CR-1", "Ana Pérez", 111, 3001234567, 120000, 1, first, 130000.5],
                                ["CR-2", "Beto Ruiz", 222, 3001234568, 100000, 2.5, first, 0],
                                ["CR-3", "Carla Soto", 333, 3001234569, 100000, -2, first, 0]])
    report = run(path, ledger, source_name="cartera.xlsx")
    assert reasons(report) == {2: "el valor pagado (130.000,50) es mayor que el monto (120.000)",
                               3: "Número de cuotas: «2,5» no es un número entero",
                               4: "Número de cuotas: «-2» no puede ser negativo"}
