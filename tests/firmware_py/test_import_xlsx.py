"""Reading real ``.xlsx`` workbooks: which sheet, untrusted dimensions, merged cells, formulas without a saved
value, and zips that are not workbooks (``.ods``...). Workbooks are built with openpyxl; what openpyxl cannot
produce (no ``<dimension>``, a formula without ``<v>``) is made by editing the sheet XML inside the zip."""

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from firmware_py.importer import ImportFileError, ImportOptions, import_loans
from firmware_py.importer.reading import open_table
from firmware_py.ledger import Ledger
from scheduler.model import debtor_id_for

openpyxl = pytest.importorskip("openpyxl")

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Vence"]
DUE = datetime(2027, 1, 15)
LOANS = [HEADER, ["CR-1", "Ana Ríos", 1020304, "3001234567", 100000, DUE],
         ["CR-2", "Beto Peña", 55, "3107654321", 200000, DUE]]
FORMULA_MESSAGE = "la celda tiene una fórmula sin valor guardado: abra y guarde el archivo en Excel"
ENGLISH = ("There is", "named", "File is", "not a zip", "zip file", "Error", "Exception", "[Content_Types]",
           "KeyError", "keyword", "workbook.xml")


@dataclass
class Sheet:
    title: str
    rows: list
    state: str = "visible"
    merges: tuple = field(default_factory=tuple)


def workbook(path, *sheets: Sheet):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for spec in sheets:
        sheet = book.create_sheet(spec.title)
        sheet.sheet_state = spec.state
        for row in spec.rows:
            sheet.append(row)
        for ref in spec.merges:
            sheet.merge_cells(ref)
    book.save(path)
    return path


def edit_member(path, member: str, edit) -> None:
    """Rewrite one member of the zip at ``path`` with ``edit(bytes) -> bytes``."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, content in items:
            target.writestr(info, edit(content) if info.filename == member else content)


def run(path, ledger=None, **options):
    options.setdefault("dry_run", ledger is None)
    return import_loans(path, ledger, now=NOW, options=ImportOptions(**options))


def rows_of(path):
    with open_table(path) as table:
        return table, [(r.number, r.cells) for r in table.rows()]


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as led:
        yield led


# -- 5. which sheet ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("before", [
    pytest.param([Sheet("Vacía", [])], id="empty-first-sheet"),
    pytest.param([Sheet("Portada", [["Cooperativa La Esperanza"], ["Cartera al 30/11/2026"]])], id="cover-sheet"),
    pytest.param([Sheet("Listas", [["Frecuencia", "Días"], ["mensual", 30], ["quincenal", 15]], "hidden")],
                 id="hidden-lookup-sheet"),
    pytest.param([Sheet("Listas", [["Frecuencia", "Días"], ["mensual", 30]])], id="visible-lookup-sheet"),
    pytest.param([Sheet("Vieja", [HEADER, ["CR-9", "Zoe", 9, "3009999999", 1, DUE]], "hidden")],
                 id="hidden-sheet-with-header-loses-to-a-visible-one"),
    pytest.param([Sheet("Vacía", []), Sheet("Portada", [["Cartera"]]),
                  Sheet("Listas", [["Frecuencia"], ["mensual"]], "veryHidden")], id="several-sheets-before"),
])
def test_the_first_sheet_with_a_recognisable_header_is_read(tmp_path, before):
    path = workbook(tmp_path / "cartera.xlsx", *before, Sheet("Cartera", LOANS), Sheet("Notas", [["Nombre", "x"]]))
    report = run(path)
    assert (report.sheet, report.loans_in_file, report.rejected) == ("Cartera", 2, 0)


def test_a_hidden_sheet_is_read_only_when_no_visible_sheet_has_a_header(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Portada", [["Cartera al 30/11/2026"]]),
                    Sheet("Datos", LOANS, "hidden"))
    report = run(path)
    assert (report.sheet, report.loans_in_file) == ("Datos", 2)


def test_an_explicit_mapping_counts_when_choosing_the_sheet(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Resumen", [["Total", 5]]),
                    Sheet("Datos", [["Op.", "Asociado X", "Doc X", "Tel X", "Plata", "Fecha X"],
                                    ["OP-1", "Ana Ríos", 10, "3001234567", 320000, DUE]]))
    mapping = {"Op.": "loan_id", "Asociado X": "name", "Doc X": "document", "Tel X": "phone", "Plata": "amount",
               "Fecha X": "due_date"}
    report = run(path, mapping=mapping)
    assert (report.sheet, report.loans_in_file) == ("Datos", 1)


def test_without_any_header_the_first_non_empty_visible_sheet_is_read_and_named(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Vacía", []), Sheet("Oculta", [["Nada", 1]], "hidden"),
                    Sheet("Datos", [["Socio", "Cel. socio", "Plata"], ["Ana", "3001234567", 5]]))
    with pytest.raises(ImportFileError) as info:
        run(path)
    message = str(info.value)
    assert info.value.reason == "missing_columns"
    assert "faltan las columnas" in message and "«Plata»" in message and "«Datos»" in message


def test_a_workbook_with_only_empty_sheets_is_empty(tmp_path):
    path = workbook(tmp_path / "vacio.xlsx", Sheet("Hoja1", []), Sheet("Hoja2", [[None, "  "]]))
    with pytest.raises(ImportFileError) as info:
        run(path)
    assert info.value.reason == "empty" and str(info.value).endswith(".")


def test_the_sheet_is_named_in_the_report_the_cli_and_the_rejects_workbook(tmp_path, ledger, capsys):
    from firmware_py.commands.import_ import _print_human

    rows = LOANS + [["CR-3", None, 56, "3001234569", 1000, DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Portada", [["Cartera"]]), Sheet("Cartera", rows))
    rejects = tmp_path / "cartera-rechazados.xlsx"
    report = run(path, ledger, rejects=rejects)
    assert report.sheet == "Cartera" and report.to_dict()["sheet"] == "Cartera"
    assert [(r.row, r.reason) for r in report.rejections] == [(4, "falta el nombre")]
    _print_human(report)
    assert "  hoja «Cartera», fila 4: falta el nombre" in capsys.readouterr().out.splitlines()
    book = openpyxl.load_workbook(rejects)
    assert book.sheetnames == ["Cartera"]
    assert list(book["Cartera"].iter_rows(values_only=True))[1][-1] == "fila 4: falta el nombre"


def test_file_errors_name_the_sheet(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Portada", [["Cartera"]]), Sheet("Cartera", [HEADER]))
    with pytest.raises(ImportFileError) as info:
        run(path)
    assert info.value.reason == "no_rows" and "«Cartera»" in str(info.value)


def test_a_damaged_cell_names_the_sheet_and_the_row(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", LOANS))
    edit_member(path, "xl/worksheets/sheet1.xml",
                lambda xml: xml.replace(b'<c r="E3" t="n"><v>200000</v>', b'<c r="E3" t="n"><v>doscientos</v>'))
    with pytest.raises(ImportFileError) as info:
        run(path)
    assert info.value.reason == "unreadable"
    assert "hoja «Cartera»" in str(info.value) and "fila 3" in str(info.value)


# -- 6. the <dimension> tag is not trusted --------------------------------------------------------------------------
@pytest.mark.parametrize("dimension", [
    pytest.param(b"", id="no-dimension-tag"),
    pytest.param(b'<dimension ref="A1"/>', id="dimension-A1"),
    pytest.param(b'<dimension ref="A1:B2"/>', id="dimension-too-small"),
    pytest.param(b'<dimension ref="A1:XFD1048576"/>', id="dimension-too-large"),
])
def test_the_dimension_tag_is_not_trusted(tmp_path, dimension):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", LOANS))
    edit_member(path, "xl/worksheets/sheet1.xml", lambda xml: re.sub(rb"<dimension [^>]*/>", dimension, xml))
    table, rows = rows_of(path)
    assert [cells for _, cells in rows] == [HEADER, LOANS[1], LOANS[2]]
    assert 0 <= table.lines <= 10  # never the dimension's row count
    report = run(path, max_rows=5)  # a lying dimension does not trigger the early "too many rows" refusal
    assert (report.sheet, report.loans_in_file) == ("Cartera", 2)


# -- 7. merged cells -------------------------------------------------------------------------------------------------
def test_cells_merged_down_over_a_debtors_loans_are_read_on_every_row(tmp_path, ledger):
    rows = [HEADER, ["CR-1", "Ana Ríos", 1020304, "3001234567", 100000, DUE],
            ["CR-2", None, None, None, 200000, datetime(2027, 2, 15)],
            ["CR-3", None, None, None, 300000, datetime(2027, 3, 15)],
            ["CR-4", "Beto Peña", 55, "3107654321", 400000, DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows, merges=("B2:B4", "C2:C4", "D2:D4")))
    report = run(path, ledger)
    assert (report.imported, report.rejected) == (4, 0), report.rejections
    assert {ledger.loan(f"CR-{i}").debtor_id for i in (1, 2, 3)} == {debtor_id_for("1020304")}
    assert ledger.debtor(debtor_id_for("1020304")).name == "Ana Ríos"


def test_a_merged_block_fills_down_its_first_column_only(tmp_path):
    rows = [["Cartera al 30/11/2026"], HEADER, ["CR-1", "Ana Ríos", 1020304, "3001234567", 100000, DUE],
            ["CR-2", None, None, None, 200000, DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows, merges=("A1:F1", "B3:C4")))
    _, read = rows_of(path)
    assert read[0] == (1, ["Cartera al 30/11/2026"])  # a title merged across is not repeated
    assert read[3] == (4, ["CR-2", "Ana Ríos", None, None, 200000, DUE])


def test_a_rejected_row_under_a_merge_keeps_the_merged_value_in_the_rejects_workbook(tmp_path, ledger):
    rows = [HEADER, ["CR-1", "Ana Ríos", 1020304, "3001234567", 100000, DUE],
            ["CR-2", None, None, None, None, DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows, merges=("B2:B3", "C2:C3", "D2:D3")))
    rejects = tmp_path / "rechazados.xlsx"
    report = run(path, ledger, rejects=rejects)
    assert [r.row for r in report.rejections] == [3] and "monto" in report.rejections[0].reason
    row = list(openpyxl.load_workbook(rejects).active.iter_rows(values_only=True))[1]
    assert row[:4] == ("CR-2", "Ana Ríos", 1020304, "3001234567")


def test_too_many_merged_ranges_are_refused_naming_merged_cells(tmp_path, monkeypatch):
    from firmware_py.importer import xlsx

    monkeypatch.setattr(xlsx, "MAX_MERGED_RANGES", 2)
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", LOANS, merges=("B2:B3", "C2:C3", "D2:D3")))
    with pytest.raises(ImportFileError, match="celdas combinadas") as info:
        run(path)
    assert "«Cartera»" in str(info.value)


# -- 8. zips that are not workbooks ------------------------------------------------------------------------------------
def zip_bytes(members, *, stored_first=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(zipfile.ZipInfo(stored_first[0]), stored_first[1], compress_type=zipfile.ZIP_STORED)
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def xlsx_bytes(tmp_path) -> bytes:
    return workbook(tmp_path / "ok.xlsx", Sheet("Cartera", LOANS)).read_bytes()


@pytest.mark.parametrize("make,words", [
    pytest.param(lambda _: zip_bytes({"content.xml": "<office:document-content/>", "META-INF/manifest.xml": "<m/>"},
                                     stored_first=("mimetype", "application/vnd.oasis.opendocument.spreadsheet")),
                 (".ods", "LibreOffice", ".xlsx", "CSV"), id="ods"),
    pytest.param(lambda _: zip_bytes({"content.xml": "<x/>"},
                                     stored_first=("mimetype", "application/vnd.oasis.opendocument.text")),
                 ("no es una hoja de cálculo", ".xlsx", "CSV"), id="odt"),
    pytest.param(lambda _: zip_bytes({"cartera.csv": "Crédito;Nombre\n"}), ("comprimido", "descomprímalo"),
                 id="plain-zip"),
    pytest.param(lambda _: zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"}),
                 ("Word", ".xlsx", "CSV"), id="docx"),
    pytest.param(lambda _: zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "x"}),
                 (".xlsb", ".xlsx", "CSV"), id="xlsb"),
    pytest.param(lambda _: zip_bytes({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<<no xml"}),
                 ("dañado", ".xlsx", "CSV"), id="workbook-with-broken-xml"),
    pytest.param(lambda tmp: xlsx_bytes(tmp)[:1500], ("dañado", "CSV"), id="truncated-xlsx"),
    pytest.param(lambda _: b"PK\x03\x04" + b"\x00" * 100, ("dañado",), id="zip-signature-only"),
])
def test_zips_that_are_not_workbooks_get_a_spanish_message(tmp_path, make, words):
    with pytest.raises(ImportFileError) as info:
        run(io.BytesIO(make(tmp_path)))
    message = str(info.value)
    assert all(word in message for word in words), message
    assert not any(word in message for word in ENGLISH), message
    assert message[0].isupper() and message.endswith(".")


# -- 9. formulas without a saved value ---------------------------------------------------------------------------------
def _drop_empty_values(xml: bytes) -> bytes:
    return xml.replace(b"<v />", b"").replace(b"<v/>", b"")


@pytest.mark.parametrize("edit", [
    pytest.param(lambda xml: xml, id="empty-v-as-openpyxl-writes-it"),
    pytest.param(_drop_empty_values, id="no-v-at-all"),
    pytest.param(lambda xml: re.sub(rb"<c ([^>]*)><f>", rb"<x:c \1><x:f>", xml).replace(b"</f><v /></c>",
                                                                                            b"</x:f></x:c>")
                 .replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/'
                                          b'2006/main" '), id="prefixed-tags"),
])
def test_a_formula_without_a_saved_value_rejects_its_row_naming_the_column(tmp_path, ledger, edit):
    rows = LOANS + [["CR-3", "Carla Soto", 56, "3001234569", "=1000*2", DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows))
    edit_member(path, "xl/worksheets/sheet1.xml", edit)
    report = run(path, ledger)
    assert report.imported == 2
    assert [r.row for r in report.rejections] == [4]
    assert "«Monto»" in report.rejections[0].reason and FORMULA_MESSAGE in report.rejections[0].reason
    assert "falta el monto" not in report.rejections[0].reason


def test_formulas_with_saved_values_and_on_unused_columns_are_fine(tmp_path, ledger):
    rows = [HEADER + ["Notas"], ["CR-1", "Ana Ríos", 1020304, "3001234567", "=50000*2", DUE, "=A2&\"!\""],
            ["CR-2", "Beto Peña", 55, "3107654321", "=1+1", DUE, None]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows))

    def save_values(xml: bytes) -> bytes:  # as Excel saves them: cached value after the formula
        xml = xml.replace(b"<f>50000*2</f><v />", b"<f>50000*2</f><v>100000</v>")
        return xml.replace(b"<f>1+1</f><v />", b'<f>1+1</f><v>2</v>')  # G2 keeps no saved value

    edit_member(path, "xl/worksheets/sheet1.xml", save_values)
    report = run(path, ledger)
    assert (report.imported, report.rejected) == (2, 0), report.rejections
    assert ledger.loan("CR-1").total == 100000


def test_a_formula_whose_saved_result_is_empty_text_is_an_empty_cell(tmp_path, ledger):
    rows = LOANS + [["CR-3", "Carla Soto", 56, "3001234569", '=""', DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows))
    edit_member(path, "xl/worksheets/sheet1.xml",
                lambda xml: xml.replace(b'<c r="E4"><f>""</f><v /></c>', b'<c r="E4" t="str"><f>""</f><v></v></c>'))
    report = run(path, ledger)
    assert [r.row for r in report.rejections] == [4] and "falta el monto" in report.rejections[0].reason


def test_a_formula_without_value_under_a_merge_is_reported_on_every_covered_row(tmp_path, ledger):
    rows = [HEADER, ["CR-1", "=\"Ana\"", 1020304, "3001234567", 100000, DUE],
            ["CR-2", None, None, None, 200000, DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows, merges=("B2:B3", "C2:C3", "D2:D3")))
    report = run(path, ledger)
    assert [r.row for r in report.rejections] == [2, 3]
    assert all("«Nombre»" in r.reason and FORMULA_MESSAGE in r.reason for r in report.rejections)


def test_too_many_formulas_without_value_are_one_file_error(tmp_path, monkeypatch):
    from firmware_py.importer import xlsx

    monkeypatch.setattr(xlsx, "MAX_UNSAVED_FORMULAS", 1)
    rows = LOANS + [["CR-3", "=\"Carla\"", 56, "3001234569", "=1000*2", DUE]]
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", rows))
    with pytest.raises(ImportFileError) as info:
        run(path)
    assert "fórmulas sin valor guardado" in str(info.value) and "«Cartera»" in str(info.value)
    assert "Excel" in str(info.value)


# -- the sheet scan (merged ranges, unsaved formulas, rows) at any chunk size -------------------------------------
@pytest.mark.parametrize("chunk,carry,overlap", [
    pytest.param(7, 300, 200, id="tiny-chunks"),
    pytest.param(64, 100, 100, id="long-rows-scanned-with-overlap"),
    pytest.param(1 << 20, 4 << 20, 64 * 1024, id="defaults"),
])
def test_the_sheet_scan_finds_the_same_at_any_chunk_size(tmp_path, monkeypatch, chunk, carry, overlap):
    from firmware_py.importer import xlsx

    monkeypatch.setattr(xlsx, "SCAN_CHUNK", chunk)
    monkeypatch.setattr(xlsx, "SCAN_CARRY", carry)
    monkeypatch.setattr(xlsx, "SCAN_OVERLAP", overlap)
    rows = [HEADER] + [[f"CR-{i}", "=\"x\"" if i % 7 == 0 else f"Nombre {i}", i, "3001234567", 1000 + i, DUE]
                       for i in range(1, 41)]
    path = workbook(tmp_path / "cartera.xlsx",
                    Sheet("Cartera", rows, merges=("C2:C4", "D10:D20", "A30:B30", "F35:F41")))
    with zipfile.ZipFile(path) as archive, archive.open("xl/worksheets/sheet1.xml") as source:
        scan = xlsx.scan_sheet(source, "Cartera")
    assert scan.rows == 41
    assert scan.merges == {(2, 3, 4, 3), (10, 4, 20, 4), (35, 6, 41, 6)}  # A30:B30 fills nothing
    assert scan.unsaved == {(i + 1, 2) for i in range(7, 41, 7)} and not scan.unlocated


def test_rows_of_formatted_empty_cells_do_not_count_as_lines(tmp_path):
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Cartera", LOANS))
    empty = b"".join(b'<row r="%d"><c r="A%d" s="1"/><c r="F%d" s="1"/></row>' % (n, n, n) for n in range(4, 104))
    edit_member(path, "xl/worksheets/sheet1.xml",
                lambda xml: re.sub(rb"<dimension [^>]*/>", b'<dimension ref="A1:F103"/>', xml)
                .replace(b"</sheetData>", empty + b"</sheetData>"))
    with open_table(path) as table:
        assert table.lines == 3
    report = run(path, max_rows=5)  # the 100 formatted rows are not data rows: no early refusal
    assert report.loans_in_file == 2


def test_sheets_found_through_relative_relationship_targets(tmp_path):
    """Excel writes ``Target="worksheets/sheet1.xml"`` (relative to xl/); openpyxl writes absolute ones."""
    path = workbook(tmp_path / "cartera.xlsx", Sheet("Portada", [["Cartera"]]),
                    Sheet("Cartera", LOANS, merges=("B2:B3",)))
    edit_member(path, "xl/_rels/workbook.xml.rels", lambda xml: xml.replace(b'Target="/xl/', b'Target="'))
    from firmware_py.importer.xlsx import sheet_parts

    with zipfile.ZipFile(path) as archive:
        assert sheet_parts(archive) == {"Portada": "xl/worksheets/sheet1.xml", "Cartera": "xl/worksheets/sheet2.xml"}
    _, read = rows_of(path)
    assert read[2] == (3, ["CR-2", "Ana Ríos", 55, "3107654321", 200000, DUE])
