"""Reading ``.xlsx`` workbooks with openpyxl (read-only, streamed).

``open_xlsx(stream, owned=..., mapping=None, sheet=None)`` returns a
:class:`~firmware_py.importer.reading.Table` over one worksheet; cells keep
their types (text, numbers, dates), which the parsers accept directly, and
formulas give their last saved value. The sheet read is named in
``FileFormat.sheet`` and in every file error raised here.

Which sheet (unless ``sheet`` names one: the rejects pass re-reads the same):

* the first *visible* sheet with a recognisable header: a row among its first
  :data:`HEADER_SEARCH_ROWS` non-blank rows naming >= 2 known columns
  (:func:`~firmware_py.importer.headers.recognised_count`, plus the cells
  naming a key of the explicit ``mapping``: the importer's own rule), so empty,
  cover and lookup sheets are skipped;
* else the first hidden sheet with such a header;
* else the first non-empty visible sheet (then the importer's "missing
  columns" error says what is missing, and names the sheet); else the first
  non-empty sheet; a workbook with no value at all is "empty".

What openpyxl's read-only mode does not do, and is done here:

* The ``<dimension>`` tag is not trusted (missing, ``A1`` or wrong in files
  written by other programs): dimensions are reset and every ``<row>`` is
  read; ``Table.lines`` (progress, the early "too many rows" refusal) is the
  number of rows with a value found by the scan below (rows of formatted
  empty cells do not count), never the dimension's.
* Merged cells: ``<mergeCells>`` comes after the rows in the sheet XML, so one
  streaming byte scan of the sheet (:func:`scan_sheet`; the sheet part found
  through the workbook's relationships) collects the ranges first. While rows
  are streamed, a range's top-left value is repeated down its first column on
  every row it covers (a debtor's name, document and phone merged over their
  loan rows); the other columns of the range stay empty, as the spreadsheet
  shows them, so a title merged across a row is not repeated in every column.
  At most :data:`MAX_MERGED_RANGES` ranges (else a file error that says
  "celdas combinadas").
* A formula without a saved value (``<f>`` and no ``<v>``, or an empty
  ``<v/>`` that is not a text result: a workbook written by a program and
  never opened in Excel) reads as ``None`` with ``data_only``; the same scan
  collects those cells (at most :data:`MAX_UNSAVED_FORMULAS`, else one file
  error) and each row gets ``RawRow.cell_issues`` ``{column index: Spanish
  problem}``, which the importer turns into the row's reason when the column
  is used. A formula under a merge carries its problem down with its value.

The scan looks at the raw bytes: in XML a ``<`` inside text or attribute
values is always escaped, so ``<c``, ``<f``, ``<mergeCell`` and ``</row>``
found in the stream are markup (namespace prefixes allowed). It holds a 1 MiB
chunk plus an unfinished row (at most 4 MiB, then a 64 KiB overlap), and is
fast (a 50,000-row sheet: about 0.3 s). Memory stays bounded: one row at a
time, the merged ranges and the unsaved-formula coordinates (both capped).

Raises :class:`ImportFileError` (Spanish, no library text) for a damaged or
encrypted workbook, an empty one, or a damaged row.
"""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator, Mapping
from xml.etree import ElementTree

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.headers import normalise_header, recognised_count
from firmware_py.importer.reading import FileFormat, RawRow, Table

log = logging.getLogger("cobrador.importer.xlsx")

HEADER_SEARCH_ROWS = 10  # the importer's importer.HEADER_SEARCH_ROWS
MAX_MERGED_RANGES = 50_000
MAX_UNSAVED_FORMULAS = 10_000
SCAN_CHUNK = 1 << 20
SCAN_CARRY = 4 << 20  # the longest unfinished row kept whole between chunks
SCAN_OVERLAP = 64 * 1024  # longer than any element the scan matches (Excel caps formulas at 8,192 characters)
UNSAVED_FORMULA_ES = "la celda tiene una fórmula sin valor guardado: abra y guarde el archivo en Excel"

_P = rb"(?:[A-Za-z_][\w.-]*:)?"  # an optional namespace prefix
_ROW_END = re.compile(rb"</" + _P + rb"row\s*>")
_MERGE = re.compile(rb"<" + _P + rb"mergeCell\b([^>]*)>")
_VALUE = re.compile(rb"<" + _P + rb"(?:v|is)\b[^>]*(?<!/)>")  # a cell's value (<v/> is none)
_REF = re.compile(rb"""\sref\s*=\s*["']([^"']*)["']""")
_UNSAVED = re.compile(
    rb"<" + _P + rb"c\b([^>]*?)(?<!/)>\s*"  # <c r="E4" ...>
    rb"<" + _P + rb"f\b(?:[^>]*?/>|[^>]*>[^<]*</" + _P + rb"f\s*>)\s*"  # <f>...</f> or <f .../>
    rb"(<" + _P + rb"v\s*/>|<" + _P + rb"v\s*>\s*</" + _P + rb"v\s*>)?\s*"  # no <v>, or an empty one
    rb"</" + _P + rb"c\s*>")
_COORDINATE = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?([0-9]{1,7})["']""")
_TEXT_RESULT = re.compile(rb"""\st\s*=\s*["']str["']""")
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Za-z]{1,3})\$?([0-9]{1,7}))?$")
_NS_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NS_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


@dataclass
class SheetScan:
    """What one byte scan of a sheet's XML found: ``rows`` (rows with a value: an upper bound of the data
    rows), ``merges`` as ``(first row, first column, last row, last column)`` (1-based; only ranges over
    several rows), ``unsaved`` the ``(row, column)`` of formulas without a saved value, ``unlocated`` whether
    such a formula had no cell reference."""

    rows: int = 0
    merges: set = field(default_factory=set)
    unsaved: set = field(default_factory=set)
    unlocated: bool = False


def open_xlsx(stream: BinaryIO, *, owned: bool, mapping: Mapping | None = None, sheet: str | None = None) -> Table:
    """A :class:`Table` over the chosen sheet of the workbook in ``stream`` (seekable). See the module docstring."""
    size = stream.seek(0, 2)
    stream.seek(0)
    book = _load(stream)
    try:
        worksheet = _choose_sheet(book, mapping, sheet)
        title = worksheet.title
        scan = _scan(stream, worksheet)
    except BaseException:
        book.close()
        raise
    fmt = FileFormat("xlsx", "xlsx", False, "", False, "\r\n", sheet=title)
    log.debug("xlsx: reading sheet %r (%d rows, %d merged ranges, %d unsaved formulas)", title, scan.rows,
              len(scan.merges), len(scan.unsaved))
    state = {"row": 0}
    lines = scan.rows

    def close():
        book.close()
        if owned:
            stream.close()

    def position() -> int:
        return min(size, int(size * state["row"] / lines)) if lines else 0

    return Table(fmt, _rows(worksheet, scan, state), size=size, position=position, closer=close, lines=lines)


def _load(stream: BinaryIO):
    import openpyxl

    try:
        return openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises assorted errors (KeyError, ValueError, XML errors...) on bad files
        log.warning("xlsx: cannot open the workbook: %s: %s", type(exc).__name__, exc)
        raise ImportFileError("El libro de Excel está dañado o protegido con contraseña y no se puede leer. Ábralo "
                              "en la hoja de cálculo, quite la contraseña si la tiene y guárdelo de nuevo como "
                              ".xlsx o como CSV.", reason="unreadable") from None


def _blank(cells) -> bool:
    return not any(c is not None and str(c).strip() for c in cells)


def header_score(cells, mapping: Mapping | None) -> int:
    """How strongly ``cells`` look like a header row: known column names, plus cells naming a key of the
    explicit ``mapping`` (the importer's rule)."""
    score = recognised_count(cells)
    if mapping:
        keys = {normalise_header(k) for k in mapping}
        score += sum(1 for c in cells if normalise_header(c) in keys)
    return score


def _probe(worksheet, mapping) -> tuple[bool, bool]:
    """``(has a recognisable header, has any value)`` from the sheet's first non-blank rows."""
    seen = 0
    rows = worksheet.iter_rows(values_only=True)
    try:
        for cells in rows:
            if _blank(cells):
                continue
            seen += 1
            if header_score(cells, mapping) >= 2:
                return True, True
            if seen >= HEADER_SEARCH_ROWS:
                break
    except Exception as exc:  # a damaged sheet: chosen only as a last resort, where reading it says so
        log.warning("xlsx: sheet %r cannot be probed: %s: %s", worksheet.title, type(exc).__name__, exc)
        return False, True
    finally:
        getattr(rows, "close", lambda: None)()  # stop reading the sheet's XML
    return False, seen > 0


def _choose_sheet(book, mapping, wanted: str | None):
    sheets = list(book.worksheets)  # chart sheets excluded
    for worksheet in sheets:
        worksheet.reset_dimensions()  # the <dimension> tag may be missing or wrong
    if wanted is not None:
        for worksheet in sheets:
            if worksheet.title == wanted:
                return worksheet
        raise ImportFileError(f"El libro de Excel ya no tiene la hoja «{wanted}».", reason="unreadable")
    hidden_with_header = visible_with_values = with_values = None
    for worksheet in sheets:
        header, values = _probe(worksheet, mapping)
        visible = worksheet.sheet_state == "visible"
        if header and visible:
            return worksheet
        if header and hidden_with_header is None:
            hidden_with_header = worksheet
        if values and visible and visible_with_values is None:
            visible_with_values = worksheet
        if values and with_values is None:
            with_values = worksheet
    chosen = hidden_with_header or visible_with_values or with_values
    if chosen is None:
        raise ImportFileError("El libro de Excel está vacío: ninguna hoja tiene encabezados ni filas.",
                              reason="empty")
    if chosen is not hidden_with_header:
        log.info("xlsx: no sheet has a recognisable header; reading %r", chosen.title)
    return chosen


def _scan(stream: BinaryIO, worksheet) -> SheetScan:
    """Find the sheet's part through the workbook's relationships and scan it (see :func:`scan_sheet`)."""
    title = worksheet.title
    try:
        with zipfile.ZipFile(stream) as archive:
            try:
                part = sheet_parts(archive).get(title)
            except (KeyError, ElementTree.ParseError) as exc:
                log.warning("xlsx: cannot resolve the sheet parts: %s: %s", type(exc).__name__, exc)
                part = None
            part = part or getattr(worksheet, "_worksheet_path", None)  # else where openpyxl found it
            if part is None:
                raise KeyError(title)
            with archive.open(part) as source:
                scan = scan_sheet(source, title)
    except ImportFileError:
        raise
    except Exception as exc:
        log.warning("xlsx: cannot scan sheet %r: %s: %s", title, type(exc).__name__, exc)
        raise ImportFileError(f"La hoja «{title}» del libro de Excel está dañada y no se puede leer. Ábralo en la "
                              "hoja de cálculo y guárdelo de nuevo como .xlsx o como CSV.",
                              reason="unreadable") from None
    finally:
        stream.seek(0)
    if scan.unlocated or len(scan.unsaved) > MAX_UNSAVED_FORMULAS:
        count = "" if scan.unlocated else "más de " + f"{MAX_UNSAVED_FORMULAS:,}".replace(",", ".") + " "
        raise ImportFileError(
            f"La hoja «{title}» del libro tiene {count}fórmulas sin valor guardado (el libro lo creó un programa y "
            "nunca se abrió en Excel): abra el archivo en Excel, guárdelo y vuelva a importarlo.", reason="unreadable")
    return scan


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """``{sheet name: zip member}`` of a workbook, through ``_rels/.rels`` and the workbook's relationships."""
    main = None
    for rel in ElementTree.parse(archive.open("_rels/.rels")).getroot().iter(f"{_NS_REL}Relationship"):
        if rel.get("Type", "").endswith("/officeDocument"):
            main = _resolve("", rel.get("Target", ""))
            break
    if main is None:
        raise KeyError("officeDocument")
    folder, name = posixpath.split(main)
    targets = {rel.get("Id"): _resolve(folder, rel.get("Target", "")) for rel in
               ElementTree.parse(archive.open(posixpath.join(folder, "_rels", name + ".rels"))).getroot()
               .iter(f"{_NS_REL}Relationship")}
    parts = {}
    for element in ElementTree.parse(archive.open(main)).getroot().iter():
        if element.tag.rsplit("}", 1)[-1] == "sheet" and element.get(f"{_NS_DOC_REL}id") in targets:
            parts.setdefault(element.get("name", ""), targets[element.get(f"{_NS_DOC_REL}id")])
    return parts


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(folder, target))


def scan_sheet(source: BinaryIO, title: str = "") -> SheetScan:
    """One streaming pass over the XML bytes of the sheet ``title``: rows with a value, merged ranges,
    formulas without a saved value (collecting stops past :data:`MAX_UNSAVED_FORMULAS`).

    The buffer is cut after the last ``</row>`` so no cell is split; a stretch longer than
    :data:`SCAN_CARRY` without one (a giant row, or what follows ``</sheetData>``) is scanned whole and only
    its last :data:`SCAN_OVERLAP` bytes are kept (what is found twice is kept in sets).
    Raises :class:`ImportFileError` past :data:`MAX_MERGED_RANGES`.
    """
    scan = SheetScan()
    carry = b""
    row_has_value = False  # the unfinished row at the start of ``carry`` had a value before it was cut
    while True:
        chunk = source.read(SCAN_CHUNK)
        buffer = carry + chunk
        start = 0
        for match in _ROW_END.finditer(buffer):
            if row_has_value or _VALUE.search(buffer, start, match.start()):
                scan.rows += 1  # rows of empty formatted cells do not count
            row_has_value = False
            start = match.end()
        if not chunk:
            cut = len(buffer)
        elif len(buffer) - start > SCAN_CARRY:
            row_has_value = row_has_value or _VALUE.search(buffer, start) is not None
            cut = len(buffer)
        else:
            cut = start
        if _cells_and_merges(scan, buffer[:cut] if cut < len(buffer) else buffer, title):
            return scan
        if not chunk:
            return scan
        carry = buffer[cut:] if cut < len(buffer) else buffer[max(start, len(buffer) - SCAN_OVERLAP):]


def _cells_and_merges(scan: SheetScan, data: bytes, title: str) -> bool:
    """Collect merged ranges and unsaved formulas in ``data``; ``True`` once there are too many formulas."""
    if b"mergeCell" in data:
        for match in _MERGE.finditer(data):
            ref = _REF.search(b" " + match.group(1))
            bounds = _range(ref.group(1).decode("ascii", "replace")) if ref else None
            if bounds and bounds[2] > bounds[0]:  # only ranges over several rows fill anything
                scan.merges.add(bounds)
        if len(scan.merges) > MAX_MERGED_RANGES:
            limit = f"{MAX_MERGED_RANGES:,}".replace(",", ".")
            raise ImportFileError(
                f"La hoja «{title}» del libro tiene más de {limit} rangos de celdas combinadas: separe las "
                "celdas combinadas (Inicio > Combinar y centrar) y vuelva a importarla.", reason="unreadable")
    if b"<f" in data or b":f" in data:
        for match in _UNSAVED.finditer(data):
            attributes = b" " + match.group(1)
            if match.group(2) and _TEXT_RESULT.search(attributes):
                continue  # <v></v> of a text formula: its saved result is the empty text
            where = _COORDINATE.search(attributes)
            if where is None:
                scan.unlocated = True
                return True
            scan.unsaved.add((int(where.group(2)), _column(where.group(1).decode("ascii"))))
            if len(scan.unsaved) > MAX_UNSAVED_FORMULAS:
                return True
    return False


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _range(ref: str) -> tuple[int, int, int, int] | None:
    match = _RANGE.match(ref.strip())
    if match is None:
        return None
    first_col, first_row = _column(match.group(1)), int(match.group(2))
    last_col, last_row = (_column(match.group(3)), int(match.group(4))) if match.group(3) else (first_col, first_row)
    return min(first_row, last_row), min(first_col, last_col), max(first_row, last_row), max(first_col, last_col)


def _rows(worksheet, scan: SheetScan, state: dict) -> Iterator[RawRow]:
    """Stream the sheet's rows, filling merged ranges down and attaching cell problems."""
    starts: dict[int, list[tuple[int, int]]] = {}
    for first_row, first_col, last_row, _ in scan.merges:
        starts.setdefault(first_row, []).append((first_col - 1, last_row))
    issues: dict[int, dict[int, str]] = {}
    for row, column in scan.unsaved:
        issues.setdefault(row, {})[column - 1] = UNSAVED_FORMULA_ES
    active: list[tuple[int, int, object, str | None]] = []  # (column, last row, value, problem)
    title = worksheet.title
    try:
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            state["row"] = number
            cells = list(values)
            problems = issues.pop(number, None)
            if active:
                for column, _, value, problem in active:
                    if column >= len(cells):
                        cells.extend([None] * (column + 1 - len(cells)))
                    cells[column] = value
                    if problems is not None:
                        problems.pop(column, None)
                    if problem is not None:
                        problems = problems if problems is not None else {}
                        problems[column] = problem
                active = [a for a in active if a[1] > number]
            for column, last_row in starts.pop(number, ()):
                value = cells[column] if column < len(cells) else None
                active.append((column, last_row, value, (problems or {}).get(column)))
            while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
                cells.pop()
            yield RawRow(number, cells, None, problems or None)
    except ImportFileError:
        raise
    except Exception as exc:
        log.warning("xlsx: sheet %r row %d: %s: %s", title, state["row"] + 1, type(exc).__name__, exc)
        raise ImportFileError(f"La hoja «{title}» del libro de Excel está dañada cerca de la fila "
                              f"{state['row'] + 1}. Ábralo en la hoja de cálculo, guárdelo de nuevo como .xlsx o "
                              "como CSV e impórtelo.",
                              reason="unreadable") from None
