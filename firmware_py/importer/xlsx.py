"""Reading ``.xlsx`` workbooks with openpyxl (read-only, streamed).

The first worksheet that has any value is read; cells keep their types
(text, numbers, dates), which the parsers accept directly. Formulas give
their last computed value. Raises :class:`ImportFileError` for a damaged
or encrypted workbook.
"""

from __future__ import annotations

import logging
import zipfile
from typing import BinaryIO

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.reading import FileFormat, RawRow, Table

log = logging.getLogger("cobrador.importer.xlsx")


def open_xlsx(stream: BinaryIO, *, owned: bool) -> Table:
    """A :class:`Table` over the workbook in ``stream`` (seekable)."""
    import openpyxl

    size = stream.seek(0, 2)
    stream.seek(0)
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ImportFileError(f"El libro de Excel está dañado o protegido y no se puede leer ({exc}). Ábralo en la "
                              "hoja de cálculo y guárdelo de nuevo como .xlsx o como CSV.", reason="unreadable") from None
    except Exception as exc:  # openpyxl raises assorted errors on hostile workbooks
        raise ImportFileError(f"No se puede leer el libro de Excel ({type(exc).__name__}). Guárdelo como CSV e "
                              "impórtelo de nuevo.", reason="unreadable") from None
    sheet = next((ws for ws in book.worksheets if ws.max_row and ws.max_row > 0), None)
    if sheet is None:
        book.close()
        raise ImportFileError("El libro de Excel está vacío: no tiene ni encabezados ni filas.", reason="empty")
    fmt = FileFormat("xlsx", "xlsx", False, "", False, "\r\n")
    log.debug("xlsx: reading sheet %r (%s rows)", sheet.title, sheet.max_row)
    state = {"row": 0, "max": max(sheet.max_row or 1, 1)}

    def rows():
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                state["row"] = number
                cells = list(values)
                while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
                    cells.pop()
                yield RawRow(number, cells, None)
        except ImportFileError:
            raise
        except Exception as exc:
            raise ImportFileError(f"El libro de Excel está dañado cerca de la fila {state['row'] + 1} "
                                  f"({type(exc).__name__}).", reason="unreadable") from None

    def close():
        book.close()
        if owned:
            stream.close()

    return Table(fmt, rows(), size=size, position=lambda: int(size * state["row"] / state["max"]), closer=close,
                 lines=sheet.max_row or 0)
