"""import_loans end to end against a real (in-memory) ledger: layouts, formats, re-import, warnings."""

import codecs
import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.importer import ImportFileError, ImportOptions, import_loans, load_mapping
from firmware_py.ledger import Ledger
from scheduler.model import debtor_id_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_py" / "importer" / "examples"


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as led:
        yield led


def csv_bytes(lines, *, delimiter=";", encoding="utf-8", bom=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(lines)
    text = buffer.getvalue()
    prefix = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE}.get(encoding, b"") if bom else b""
    return prefix + text.encode(encoding)


def run(data, ledger, **options):
    options.setdefault("source_name", "prueba.csv")
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return import_loans(source, ledger, now=NOW, options=ImportOptions(**options))


LOAN_HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Cuotas", "Frecuencia", "Primera cuota", "Pagado"]


def loan_line(loan="CR-1", name="Ana Ríos", doc="1.020.304", phone="300 123 4567", amount="1.200.000", count="12",
              freq="mensual", first="15/01/2027", paid="0"):
    return [loan, name, doc, phone, amount, count, freq, first, paid]


# -- layouts -------------------------------------------------------------------------------------------------------
def test_one_row_per_loan_builds_the_schedule(ledger):
    report = run(csv_bytes([LOAN_HEADER, loan_line(paid="250.000"),
                            loan_line("CR-2", "Beto Peña", "55", "310 765 4321", "$ 450.000", "6", "quincenal",
                                      "31/01/2027", "")]), ledger)
    assert (report.layout, report.imported, report.rejected, report.ok) == ("loan", 2, 0, True)
    loan = ledger.loan("CR-1")
    assert [i.due_date for i in loan.instalments][:3] == [date(2027, 1, 15), date(2027, 2, 15), date(2027, 3, 15)]
    assert all(i.amount == 100000 for i in loan.instalments) and len(loan.instalments) == 12
    assert [i.paid_amount for i in loan.instalments[:4]] == [100000, 100000, 50000, 0]
    assert loan.debtor_id == debtor_id_for("1020304")
    debtor = ledger.debtor(loan.debtor_id)
    assert debtor.name == "Ana Ríos" and debtor.phones[0].number == "+573001234567" and debtor.phones[0].personal
    assert debtor.timezone == "America/Bogota" and debtor.jurisdiction == "CO"
    other = ledger.loan("CR-2")
    assert [i.due_date for i in other.instalments][:3] == [date(2027, 1, 31), date(2027, 2, 15), date(2027, 3, 2)]
    assert other.total == 450000


def test_monthly_schedule_keeps_the_day_and_clamps_to_month_end(ledger):
    run(csv_bytes([LOAN_HEADER, loan_line(amount="1.000", count="4", first="31/01/2027")]), ledger)
    dates = [i.due_date for i in ledger.loan("CR-1").instalments]
    assert dates == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert [i.amount for i in ledger.loan("CR-1").instalments] == [250, 250, 250, 250]


def test_uneven_split_puts_the_remainder_on_the_last_instalment(ledger):
    run(csv_bytes([LOAN_HEADER, loan_line(amount="1.000.000", count="3")]), ledger)
    assert [i.amount for i in ledger.loan("CR-1").instalments] == [333333, 333333, 333334]


def test_single_due_date_loan_and_instalment_amount_column(ledger):
    data = csv_bytes([["Crédito", "Nombre", "Documento", "Teléfono", "Valor cuota", "Plazo", "Vence"],
                      ["A", "Ana", "1", "3001234567", "50.000", "3", "10/02/2027"],
                      ["B", "Beto", "2", "3001234568", "", "", "10/02/2027"]])
    report = run(data, ledger)
    assert [i.amount for i in ledger.loan("A").instalments] == [50000] * 3
    assert report.rejections[0].row == 3 and "falta el monto" in report.rejections[0].reason


def test_one_row_per_instalment(ledger):
    report = run((EXAMPLES / "cuotas_una_fila_por_cuota.csv").read_bytes(), ledger)
    assert (report.layout, report.imported, report.rejected) == ("instalment", 2, 0)
    loan = ledger.loan("CR-2001")
    assert [(i.number, i.amount, i.paid_amount) for i in loan.instalments] == [
        (1, 100000, 100000), (2, 100000, Decimal("40000.50")), (3, 100000, 0)]
    # the last row of CR-2002 left the debtor blank: it is taken from the loan's earlier row
    assert len(ledger.loan("CR-2002").instalments) == 2


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.csv")))
def test_every_example_file_imports_cleanly(name, ledger):
    mapping = load_mapping(EXAMPLES / "mapeo_ejemplo.json") if name == "con_mapeo.csv" else None
    report = import_loans(EXAMPLES / name, ledger, now=NOW, options=ImportOptions(mapping=mapping))
    assert report.rejected == 0 and report.imported > 0 and report.ok


def test_english_file_with_comma_delimiter_and_decimal_point(ledger):
    report = import_loans(EXAMPLES / "loans_one_row_per_loan_english.csv", ledger, now=NOW, options=ImportOptions())
    assert (report.delimiter, report.number_style) == (",", "dot")
    assert ledger.loan("L-3001").total == Decimal("1234.50")


# -- encodings, delimiters, number and date styles --------------------------------------------------------------
@pytest.mark.parametrize("encoding,bom", [("utf-8", False), ("utf-8", True), ("cp1252", False), ("utf-16-le", True)])
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_every_encoding_and_delimiter(encoding, bom, delimiter, ledger):
    lines = [LOAN_HEADER, loan_line(name="Ñusta Güiza Peña", amount="1200000")]
    report = run(csv_bytes(lines, delimiter=delimiter, encoding=encoding, bom=bom), ledger)
    assert report.imported == 1 and report.delimiter == delimiter
    assert ledger.debtor(debtor_id_for("1020304")).name == "Ñusta Güiza Peña"


def test_ambiguous_thousands_follow_the_country_when_the_file_gives_no_evidence(ledger):
    run(csv_bytes([LOAN_HEADER, loan_line(amount="150.000", count="1")]), ledger, country="CO")
    assert ledger.loan("CR-1").total == 150000


def test_ambiguous_thousands_follow_the_file_evidence(ledger):
    lines = [LOAN_HEADER, loan_line("A", amount="1,234.50", count="1"),
             loan_line("B", "Beto", "2", "3001234568", amount="150.000", count="1")]
    report = run(csv_bytes(lines), ledger, country="CO")
    assert report.number_style == "dot"
    assert ledger.loan("B").total == Decimal("150.000")


def test_mexican_file_reads_dot_decimals_and_local_phones(ledger):
    lines = [LOAN_HEADER, loan_line(phone="(55) 1234-5678", amount="1,500.50", count="1")]
    run(csv_bytes(lines, delimiter=","), ledger, country="MX", timezone="America/Mexico_City")
    debtor = ledger.debtor(debtor_id_for("1020304"))
    assert debtor.phones[0].number == "+525512345678" and debtor.jurisdiction == "MX"
    assert ledger.loan("CR-1").total == Decimal("1500.50")


def test_month_first_dates_are_detected_per_file(ledger):
    lines = [LOAN_HEADER, loan_line("A", first="01/31/2027", count="1"),
             loan_line("B", "Beto", "2", "3001234568", first="02/03/2027", count="1")]
    report = run(csv_bytes(lines), ledger)
    assert report.date_order == "mdy"
    assert ledger.loan("B").instalments[0].due_date == date(2027, 2, 3)


def test_iso_dates_and_serial_numbers(ledger):
    lines = [LOAN_HEADER, loan_line("A", first="2027-01-15", count="1"),
             loan_line("B", "Beto", "2", "3001234568", first="46402", count="1")]
    run(csv_bytes(lines), ledger)
    assert ledger.loan("A").instalments[0].due_date == date(2027, 1, 15)
    assert ledger.loan("B").instalments[0].due_date == date(2027, 1, 15)


def test_title_rows_before_the_header_are_skipped(ledger):
    data = csv_bytes([["Cartera al 30/11/2026"], [""], LOAN_HEADER, loan_line()])
    report = run(data, ledger)
    assert report.imported == 1
    assert any("antes de los encabezados" in w.message for w in report.warnings)


def test_xlsx_workbook_with_typed_cells(tmp_path, ledger):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(LOAN_HEADER)
    sheet.append(["CR-1", "Ana Ríos", 1020304, 3001234567, 1200000, 12, "mensual", datetime(2027, 1, 15), 0])
    sheet.append(["CR-2", "placeholder", 55, 3001234568, 1000, 1, "", datetime(2027, 1, 15), None])
    sheet["B3"].value, sheet["B3"].data_type = '=HYPERLINK("http://x")', "s"  # text that looks like a formula
    sheet.append(["CR-3", "=1+1", 56, 3001234569, 1000, 1, "", datetime(2027, 1, 15), None])  # a real formula
    path = tmp_path / "cartera.xlsx"
    book.save(path)
    rejects = tmp_path / "rechazados.xlsx"
    report = import_loans(path, ledger, now=NOW, options=ImportOptions(rejects=rejects))
    assert report.encoding == "xlsx" and report.imported == 1 and report.rejected == 2
    assert "fórmula" in report.rejections[0].reason
    assert "fórmula sin valor guardado" in report.rejections[1].reason  # never computed: no cached value
    assert ledger.loan("CR-1").instalments[0].due_date == date(2027, 1, 15)
    assert ledger.debtor(debtor_id_for("1020304")).phones[0].number == "+573001234567"
    rows = list(openpyxl.load_workbook(rejects).active.iter_rows(values_only=True))
    assert rows[0] == tuple(LOAN_HEADER) + ("error",)
    assert rows[1][1] == '=HYPERLINK("http://x")' and rows[1][-1].startswith("fila 3: ")
    cell = openpyxl.load_workbook(rejects).active["B2"]
    assert cell.data_type == "s"  # stored as text: opening the file runs nothing
    assert rows[1][2] == 55 and rows[1][7].date() == date(2027, 1, 15)  # types kept
    # the rejects workbook, once fixed, imports like any other workbook
    book = openpyxl.load_workbook(rejects)
    book.active["B2"].value, book.active["B3"].value = "Bea Soto", "Carlos Soto"
    book.save(rejects)
    again = import_loans(rejects, ledger, now=NOW, options=ImportOptions())
    assert again.imported == 2 and again.rejected == 0


# -- re-import -----------------------------------------------------------------------------------------------------
def test_reimport_is_idempotent_and_updates_by_loan_id(ledger):
    first = csv_bytes([LOAN_HEADER, loan_line(), loan_line("CR-2", "Beto", "55", "310 765 4321", "900", "1")])
    assert run(first, ledger).imported == 2
    again = run(first, ledger)
    assert (again.imported, again.updated, again.unchanged, again.ok) == (0, 0, 2, True)
    updated = csv_bytes([LOAN_HEADER, loan_line(amount="2.400.000"),
                         loan_line("CR-3", "Carla", "77", "310 765 4329", "500", "1")])
    report = run(updated, ledger)
    assert (report.imported, report.updated) == (1, 1)
    assert len(ledger.loans()) == 3 and len(ledger.debtors()) == 3
    assert ledger.loan("CR-1").total == 2400000


def test_dry_run_writes_nothing():
    with Ledger.memory(clock=lambda: NOW) as led:
        report = run(csv_bytes([LOAN_HEADER, loan_line()]), led, dry_run=True)
        assert report.ok and report.loans_in_file == 1 and report.imported == 1  # would import
        assert led.loans() == () and led.imports() == ()
    report = run(csv_bytes([LOAN_HEADER, loan_line()]), None, dry_run=True)
    assert report.ok


# -- warnings ------------------------------------------------------------------------------------------------------
def test_shared_phone_is_marked_not_personal(ledger):
    lines = [LOAN_HEADER, loan_line("A", "Ana", "1", "300 123 4567"), loan_line("B", "Beto", "2", "3001234567"),
             loan_line("C", "Carla", "3", "310 765 4321")]
    report = run(csv_bytes(lines), ledger)
    assert not ledger.debtor(debtor_id_for("1")).phones[0].personal
    assert not ledger.debtor(debtor_id_for("2")).phones[0].personal
    assert ledger.debtor(debtor_id_for("3")).phones[0].personal
    assert any("lo comparten 2 deudores" in w.message for w in report.warnings)


def test_phone_shared_with_a_debtor_already_in_the_ledger(ledger):
    run(csv_bytes([LOAN_HEADER, loan_line("A", "Ana", "1", "300 123 4567")]), ledger)
    report = run(csv_bytes([LOAN_HEADER, loan_line("B", "Beto", "2", "300 123 4567")]), ledger)
    assert not ledger.debtor(debtor_id_for("2")).phones[0].personal
    assert any("+573001234567" in w.message for w in report.warnings)


def test_debtor_changing_phone_is_judged_by_the_new_file(ledger):
    run(csv_bytes([LOAN_HEADER, loan_line("A", "Ana", "1", "300 123 4567")]), ledger)
    # Ana moves to a new number and Beto gets her old one: nobody shares a phone any more
    report = run(csv_bytes([LOAN_HEADER, loan_line("A", "Ana", "1", "310 765 4321"),
                            loan_line("B", "Beto", "2", "300 123 4567")]), ledger)
    assert [p.number for p in ledger.debtor(debtor_id_for("1")).phones] == ["+573107654321"]
    assert ledger.debtor(debtor_id_for("2")).phones[0].personal
    assert not any("comparten" in w.message for w in report.warnings)


def test_old_due_date_and_zero_amount_are_warnings_not_rejections(ledger):
    lines = [LOAN_HEADER, loan_line("A", first="15/01/2020", count="1"),
             loan_line("B", "Beto", "2", "3001234568", amount="0", count="1")]
    report = run(csv_bytes(lines), ledger)
    assert report.imported == 2 and report.rejected == 0
    messages = {w.row: w.message for w in report.warnings}
    assert "hace más de 180 días" in messages[2] and "monto es cero" in messages[3]


@pytest.mark.parametrize("count,warned", [("0", True), ("0,00", True), ("", False), ("1", False)],
                         ids=["zero", "zero-decimals", "blank", "one"])
def test_a_count_of_zero_is_one_payment_and_says_so(ledger, count, warned):
    report = run(csv_bytes([LOAN_HEADER, loan_line(count=count)]), ledger)
    assert report.imported == 1 and len(ledger.loan("CR-1").instalments) == 1
    said = [w.message for w in report.warnings if w.row == 2]
    assert said == (["el número de cuotas es 0: se toma como un solo pago"] if warned else [])


def test_landline_gets_the_call_channel(ledger):
    report = run(csv_bytes([LOAN_HEADER, loan_line(phone="601 234 5678")]), ledger)
    phone = ledger.debtor(debtor_id_for("1020304")).phones[0]
    assert phone.channels == frozenset({"call"})
    assert any("es fijo" in w.message for w in report.warnings)


# -- file errors: nothing imported ---------------------------------------------------------------------------------
def test_headers_only(ledger):
    with pytest.raises(ImportFileError) as info:
        run(csv_bytes([LOAN_HEADER]), ledger)
    assert info.value.reason == "no_rows" and ledger.loans() == ()


def test_unknown_columns_explain_what_is_missing_and_suggest_a_mapping(ledger):
    with pytest.raises(ImportFileError) as info:
        run(csv_bytes([["Socio", "Cel. socio", "Plata"], ["Ana", "3001234567", "5"]]), ledger)
    message = str(info.value)
    assert info.value.reason == "missing_columns"
    assert "nombre" in message and "«Plata»" in message and "--map" in message


def test_too_many_rows_is_refused_before_anything_is_imported(ledger):
    lines = [LOAN_HEADER] + [loan_line(f"CR-{i}", doc=str(1000 + i)) for i in range(25)]
    with pytest.raises(ImportFileError) as info:
        run(csv_bytes(lines), ledger, max_rows=20)  # passes the line-count precheck, stops in the stream
    assert info.value.reason == "too_many_rows" and "20" in str(info.value)
    with pytest.raises(ImportFileError):
        run(csv_bytes(lines), ledger, max_rows=5)  # refused by the line-count precheck
    assert ledger.loans() == () and ledger.imports() == ()


# -- preview (the web page's mapping step) ---------------------------------------------------------------------------
def test_preview_explains_what_is_missing_and_accepts_a_mapping_then_imports_the_same_stream(ledger):
    from firmware_py.importer.preview import preview_file

    stream = io.BytesIO(csv_bytes([["Nro. Operación", "Socio", "Identificación", "Cel. socio", "Saldo", "Próximo pago"],
                                   ["OP-1", "Ana Ríos", "10", "300 123 4567", "320.000", "10/03/2027"]]))
    first = preview_file(stream)
    assert first.layout == "" and "falta" in first.missing and "Cel. socio" in first.unknown
    assert first.sample == [["OP-1", "Ana Ríos", "10", "300 123 4567", "320.000", "10/03/2027"]]
    assert first.fields["phone"] == "teléfono"
    mapping = {"Nro. Operación": "loan_id", "Socio": "name", "Cel. socio": "phone", "Próximo pago": "due_date"}
    second = preview_file(stream, mapping)
    assert second.layout == "loan" and second.missing == "" and second.columns["phone"] == "Cel. socio"
    report = import_loans(stream, ledger, now=NOW, options=ImportOptions(mapping=mapping, source_name="web"))
    assert report.imported == 1 and ledger.loan("OP-1").total == 320000


def test_preview_of_a_hostile_file_is_the_same_file_error():
    from firmware_py.importer.preview import preview_file

    with pytest.raises(ImportFileError) as info:
        preview_file(io.BytesIO(b"\x00\x01" * 500))
    assert info.value.reason == "binary"


def test_separate_name_and_surname_columns_are_joined(ledger):
    data = csv_bytes([["Crédito", "Nombres", "Primer apellido", "Segundo apellido", "Tipo de documento", "Cédula",
                       "Celular", "Saldo", "Vence"],
                      ["A", "María José", "Pérez", "Quispe", "CC", "1", "3001234567", "100", "15/01/2027"]])
    report = run(data, ledger)
    assert report.unknown_columns == [] and report.imported == 1
    assert ledger.debtor(debtor_id_for("1")).name == "María José Pérez Quispe"


def test_preview_decides_the_ambiguous_cuota_column_like_the_import():
    import io

    from firmware_py.importer import preview_file
    data = ("Crédito;Nombre;Cédula;Celular;Saldo;Cuota;Vence\n"
            "CR-1;Ana Pérez;123456;3001234567;1.200.000;100.000;15/01/2027\n")
    assert preview_file(io.BytesIO(data.encode())).columns.get("instalment_amount") == "Cuota"
