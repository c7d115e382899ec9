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
