"""The rejects file: the rejected rows, as they were, plus an ``error`` column.

Written in a second pass over the source (so no row's raw text is kept in
memory), in row order, with the input's conventions: same delimiter, same
encoding (UTF-8 keeps or omits its BOM like the input; Windows-1252 stays
Windows-1252); an ``.xlsx`` input gives an ``.xlsx`` workbook with the
cells' types kept and text cells stored as text (never as formulas), re-read
from the same sheet (merged values filled in, as the import read them) into
a sheet of the same name.
The user fixes the rows in the spreadsheet and imports this file again.
Cells that a spreadsheet would run as formulas are neutralised
(:func:`.cells.neutralise`).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from typing import BinaryIO

from firmware_py.importer.cells import neutralise
from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.reading import FileFormat, open_table

ERROR_COLUMN = "error"


def rejects_encoding(fmt: FileFormat) -> tuple[str, bytes]:
    """``(codec, prefix bytes)`` for the rejects file of an input in ``fmt``."""
    if fmt.kind == "xlsx":
        return "utf-8", codecs.BOM_UTF8
    if fmt.encoding == "cp1252":
        return "cp1252", b""
    if fmt.encoding == "utf-16":
        return "utf-16-le", codecs.BOM_UTF16_LE
    return "utf-8", codecs.BOM_UTF8 if fmt.bom else b""


def write_rejects(source_stream: BinaryIO, fmt: FileFormat, header_row: int, reasons: dict[int, str],
                  target) -> int:
    """Re-read ``source_stream`` and write the header and every row in ``reasons`` to ``target``.

    ``target`` is a path or a binary stream. Returns the number of rows
    written. Raises :class:`ImportFileError` if the target cannot be written.
    """
    if fmt.kind == "xlsx":
        return _write_xlsx_rejects(source_stream, header_row, reasons, target, fmt.sheet)
    codec, prefix = rejects_encoding(fmt)
    delimiter = ";" if fmt.kind == "xlsx" else fmt.delimiter
    owned = isinstance(target, (str, os.PathLike))
    try:
        raw = open(target, "wb") if owned else target
    except OSError as exc:
        raise ImportFileError(f"No se puede escribir el archivo de filas rechazadas «{target}»: {exc.strerror}.",
                              reason="rejects_unwritable") from None
    written = 0
    try:
        raw.write(prefix)
        text = io.TextIOWrapper(raw, encoding=codec, errors="replace", newline="")
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        source_stream.seek(0)
        with open_table(source_stream) as table:
            width = 0
            for row in table.rows():
                if row.number < header_row:
                    continue
                if row.number == header_row:
                    header = [neutralise(_cell(c)) for c in row.cells]
                    width = len(header)
                    writer.writerow(header + [ERROR_COLUMN])
                    continue
                reason = reasons.get(row.number)
                if reason is None:
                    continue
                cells = [neutralise(_cell(c)) for c in row.cells]
                cells += [""] * (width - len(cells))
                writer.writerow(cells + [f"fila {row.number}: {reason}"])
                written += 1
        text.flush()
        text.detach()
        if owned:
            raw.flush()
            os.fsync(raw.fileno())
    except OSError as exc:
        raise ImportFileError(f"No se puede escribir el archivo de filas rechazadas «{target}»: {exc.strerror}.",
                              reason="rejects_unwritable") from None
    finally:
        if owned:
            raw.close()
    return written


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _write_xlsx_rejects(source_stream: BinaryIO, header_row: int, reasons: dict[int, str], target,
                        sheet_name: str = "") -> int:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name or "rechazados")

    def cell(value):
        out = WriteOnlyCell(sheet, value=None)
        if isinstance(value, str):
            out.value = value
            out.data_type = "s"  # a string that looks like "=..." stays text, never a formula
        else:
            out.value = value
        return out

    written = 0
    source_stream.seek(0)
    with open_table(source_stream, sheet=sheet_name or None) as table:
        width = 0
        for row in table.rows():
            if row.number == header_row:
                width = len(row.cells)
                sheet.append([cell(c) for c in row.cells] + [cell(ERROR_COLUMN)])
            elif row.number in reasons:
                cells = list(row.cells) + [None] * (width - len(row.cells))
                sheet.append([cell(c) for c in cells] + [cell(f"fila {row.number}: {reasons[row.number]}")])
                written += 1
    try:
        book.save(target)
    except OSError as exc:
        raise ImportFileError(f"No se puede escribir el archivo de filas rechazadas «{target}»: {exc.strerror}.",
                              reason="rejects_unwritable") from None
    return written
