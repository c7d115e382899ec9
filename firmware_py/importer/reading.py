"""Reading a loan list: bytes in, numbered rows of cells out, streamed.

``open_table(source)`` accepts a path or a binary stream (the web upload) and
returns a :class:`Table`: the detected :class:`FileFormat` and an iterator of
:class:`RawRow` (spreadsheet row number, cells, encoding problem if any,
problems of single cells). Nothing here knows what a loan is.

How the format is decided (deterministic, documented in examples/README.md):

* ``PK\\x03\\x04`` at the start: a zip. Its members decide (:func:`check_zip`):
  an ``.xlsx``/``.xlsm`` workbook (``[Content_Types].xml``) is read by
  :mod:`.xlsx` (which sheet: see there; ``FileFormat.sheet`` names it); an
  OpenDocument spreadsheet (``.ods``: a ``mimetype`` member
  ``application/vnd.oasis.opendocument.spreadsheet``), another OpenDocument
  file, a Word or PowerPoint document, a binary ``.xlsb`` workbook, a plain
  ``.zip`` or a damaged zip are refused with a Spanish message that says
  what to do (never a library's English text).
  ``\\xD0\\xCF\\x11\\xE0``: an old binary ``.xls`` (refused with a Spanish hint).
* A UTF-8 BOM means UTF-8; a UTF-16 BOM means UTF-16 ("Texto Unicode").
* Otherwise the whole file is scanned once, in 1 MiB chunks: if it is valid
  UTF-8 it is UTF-8; if it has no valid multi-byte UTF-8 sequence it is
  Windows-1252; if it has both (a UTF-8 file with a few cp1252 bytes) the
  majority wins and each line that does not decode is decoded as the other
  encoding and *flagged* (``RawRow.encoding_issue``), so the row is rejected
  with a clear reason instead of importing a garbled name.
* NUL bytes or many control bytes mean a binary file (refused).
* The delimiter is the one among ``; , TAB |`` that splits the header and the
  first 50 lines into the same number (> 1) of columns most consistently; ties
  go to ``;`` (Spanish-locale spreadsheets). A first line ``sep=;`` wins.

Memory: one line at a time (a line longer than :data:`MAX_LINE_BYTES` is a
file error); a non-seekable stream is spooled to a temporary file first.
Raises :class:`~firmware_py.importer.errors.ImportFileError` only.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Mapping

from firmware_py.importer.errors import ImportFileError

log = logging.getLogger("cobrador.importer.reading")

CHUNK = 1 << 20
MAX_LINE_BYTES = 1 << 20
SNIFF_LINES = 50
DELIMITERS = (";", ",", "\t", "|")
_SURROGATE = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x19\x1b-\x1f]")

csv.field_size_limit(MAX_LINE_BYTES)


@dataclass(frozen=True)
class FileFormat:
    """What the reader decided about the file.

    ``kind`` is ``"csv"`` or ``"xlsx"``; ``encoding`` a Python codec name
    (``"utf-8"``, ``"cp1252"``, ``"utf-16"``) or ``"xlsx"``; ``bom`` whether the
    file started with a byte-order mark; ``delimiter`` the CSV delimiter;
    ``mixed_encoding`` whether some lines were in another encoding;
    ``line_terminator`` what the file used (kept for the rejects file);
    ``sheet`` the workbook sheet read (``""`` for CSV), to be named in messages.
    """

    kind: str
    encoding: str
    bom: bool = False
    delimiter: str = ";"
    mixed_encoding: bool = False
    line_terminator: str = "\r\n"
    sheet: str = ""


@dataclass(frozen=True)
class RawRow:
    """One record of the file: ``number`` is the spreadsheet row number (the
    first record is row 1), ``cells`` the raw values (``str`` for CSV; ``str``,
    numbers, dates or ``None`` for XLSX), ``encoding_issue`` a Spanish note when
    the row's bytes were not in the file's encoding, ``cell_issues`` Spanish
    problems of single cells ``{column index (0-based): problem}`` (a workbook
    formula without a saved value), or ``None``."""

    number: int
    cells: list
    encoding_issue: str | None = None
    cell_issues: Mapping[int, str] | None = None

    def cell_problem(self, headers: Mapping[int, str]) -> str | None:
        """The row's reason when cells of used columns have problems (``headers``: used column index ->
        header), e.g. "columna «Monto» (celda E7): la celda tiene una fórmula...", else ``None``."""
        if not self.cell_issues:
            return None
        problems = [f"columna «{headers[i]}» (celda {column_letter(i)}{self.number}): {problem}"
                    for i, problem in sorted(self.cell_issues.items()) if i in headers]
        return "; ".join(problems) or None


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based column index: 0 -> "A", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class _Scan:
    size: int = 0
    lines: int = 0
    invalid_utf8: int = 0
    valid_non_ascii: int = 0
    has_nul: bool = False
    has_lf: bool = False
    has_cr: bool = False


class Table:
    """An open loan list. Iterate :meth:`rows`; ``bytes_read``/``size`` give progress; ``lines`` is the
    number of line breaks (0 when unknown), an upper bound hint of the row count.

    A context manager; ``close()`` is safe twice.
    """

    def __init__(self, fmt: FileFormat, rows: Iterator[RawRow], *, size: int, position, closer, lines: int = 0):
        self.format = fmt
        self.lines = lines
        self._rows = rows
        self.size = size
        self._position = position
        self._closer = closer
        self._closed = False

    def rows(self) -> Iterator[RawRow]:
        return self._rows

    @property
    def bytes_read(self) -> int:
        try:
            return self._position()
        except (OSError, ValueError):
            return self.size

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closer()

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_binary(source) -> tuple[BinaryIO, bool]:
    """Return a seekable binary stream for ``source`` and whether we own it.

    ``source`` is a path (``str``/``os.PathLike``) or a binary file object.
    """
    if isinstance(source, (str, os.PathLike)):
        try:
            return open(source, "rb"), True
        except IsADirectoryError:
            raise ImportFileError(f"«{source}» es una carpeta, no un archivo.", reason="unreadable") from None
        except FileNotFoundError:
            raise ImportFileError(f"No se encuentra el archivo «{source}».", reason="unreadable") from None
        except OSError as exc:
            raise ImportFileError(f"No se puede leer el archivo «{source}»: {exc.strerror}.", reason="unreadable") from None
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(bytes(source)), True
    if not hasattr(source, "read"):
        raise TypeError(f"source must be a path or a binary stream, not {type(source).__name__}")
    try:
        seekable = source.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if seekable:
        return source, False
    spool = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)
    shutil.copyfileobj(source, spool, CHUNK)
    spool.seek(0)
    return spool, True


def open_table(source, *, name: str = "", mapping: Mapping | None = None, sheet: str | None = None) -> Table:
    """Open ``source`` (path or binary stream) as a table of rows.

    For a workbook, ``mapping`` (the explicit column mapping) also counts when
    looking for the sheet with a header, and ``sheet`` names the sheet to read
    (the rejects pass re-reads the sheet the import read). Raises
    :class:`ImportFileError` for an empty, binary or unreadable file.
    """
    stream, owned = open_binary(source)
    try:
        stream.seek(0)
        head = stream.read(8)
        stream.seek(0)
        if head.startswith(b"PK\x03\x04"):
            from firmware_py.importer.xlsx import open_xlsx

            check_zip(stream)
            return open_xlsx(stream, owned=owned, mapping=mapping, sheet=sheet)
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileError(
                "El archivo es un libro de Excel antiguo (.xls). Ábralo en la hoja de cálculo y guárdelo como "
                "«CSV (delimitado por comas)» o como libro .xlsx, y vuelva a importarlo.", reason="excel_binary")
        return _open_csv(stream, owned)
    except BaseException:
        if owned:
            stream.close()
        raise


_SAVE_AS = "guárdela como libro de Excel (.xlsx) o como CSV, y vuelva a importarla."


def check_zip(stream: BinaryIO) -> None:
    """Return if the zip in ``stream`` looks like an ``.xlsx`` workbook; else raise :class:`ImportFileError`
    with a Spanish message for what it is (``.ods``, ``.docx``, ``.xlsb``, plain or damaged zip)."""
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(200).strip()
    except Exception as exc:  # BadZipFile, truncated data, unsupported compression...
        log.warning("zip: cannot open: %s: %s", type(exc).__name__, exc)
        raise ImportFileError("El libro de Excel está dañado o incompleto (¿se copió solo una parte?) y no se "
                              "puede leer. Abra la lista de préstamos en la hoja de cálculo y " + _SAVE_AS,
                              reason="unreadable") from None
    finally:
        stream.seek(0)
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        raise ImportFileError("El archivo es una hoja de cálculo de LibreOffice u OpenOffice (.ods), que no se puede "
                              "importar directamente. Ábrala en LibreOffice Calc, elija «Archivo > Guardar como» y "
                              "guárdela como «Libro de Excel 2007-365 (.xlsx)» o como «Texto CSV» (.csv), y "
                              "vuelva a importarla.", reason="unreadable")
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        raise ImportFileError("El archivo es un documento de LibreOffice u OpenOffice que no es una hoja de cálculo "
                              "(por ejemplo un texto .odt). Abra la lista de préstamos en la hoja de cálculo y "
                              + _SAVE_AS, reason="unreadable")
    if "[Content_Types].xml" not in names:
        raise ImportFileError("El archivo es un archivo comprimido (.zip), no un libro de Excel: descomprímalo e "
                              "importe el libro .xlsx o el archivo CSV que contiene.", reason="unreadable")
    if any(n.startswith("word/") for n in names):
        raise ImportFileError("El archivo es un documento de Word (.docx), no un libro de Excel. Abra la lista de "
                              "préstamos en la hoja de cálculo y " + _SAVE_AS, reason="unreadable")
    if any(n.startswith("ppt/") for n in names):
        raise ImportFileError("El archivo es una presentación de PowerPoint (.pptx), no un libro de Excel. Abra la "
                              "lista de préstamos en la hoja de cálculo y " + _SAVE_AS, reason="unreadable")
    if any(n.endswith("workbook.bin") for n in names):
        raise ImportFileError("El archivo es un libro binario de Excel (.xlsb). Ábralo en Excel y guárdelo "
                              "como «Libro de Excel (.xlsx)» o como «CSV (delimitado por comas)», y vuelva a "
                              "importarlo.",
                              reason="unreadable")


def _open_csv(stream: BinaryIO, owned: bool) -> Table:
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _open_utf16(stream, owned)
    bom = head.startswith(codecs.BOM_UTF8)
    scan = _scan(stream)
    if scan.size - (3 if bom else 0) == 0 or _blank(stream, bom):
        raise ImportFileError("El archivo está vacío: no tiene ni encabezados ni filas.", reason="empty")
    if scan.has_nul or _looks_binary(stream):
        raise ImportFileError(
            "El archivo no es un texto CSV (parece un archivo binario o dañado). Exporte la lista desde la hoja de "
            "cálculo como «CSV» y vuelva a importarla.", reason="binary")
    if scan.invalid_utf8 == 0 or bom:
        encoding = "utf-8"
    elif scan.valid_non_ascii == 0 or scan.invalid_utf8 > scan.valid_non_ascii:
        encoding = "cp1252"
    else:
        encoding = "utf-8"
    mixed = (encoding == "utf-8" and scan.invalid_utf8 > 0) or (encoding == "cp1252" and scan.valid_non_ascii > 0)
    mac = scan.has_cr and not scan.has_lf
    terminator = "\r" if mac else ("\r\n" if scan.has_cr else "\n")
    stream.seek(3 if bom else 0)
    sample = []
    for _ in range(SNIFF_LINES):
        line = _readline(stream, mac)
        if not line:
            break
        sample.append(_decode_line(line, encoding)[0])
    explicit, delimiter = _sniff(sample)
    stream.seek(3 if bom else 0)
    if explicit:
        _readline(stream, mac)  # the "sep=;" line
    fmt = FileFormat("csv", encoding, bom, delimiter, mixed, terminator)
    log.debug("csv format %s (%d bytes, %d lines)", fmt, scan.size, scan.lines)
    rows = _csv_rows(stream, fmt, mac, first_number=2 if explicit else 1)
    return Table(fmt, rows, size=scan.size, position=stream.tell,
                 closer=stream.close if owned else (lambda: None), lines=scan.lines)


def _scan(stream: BinaryIO) -> _Scan:
    """One pass over the bytes: size, line count, UTF-8 validity."""
    scan = _Scan()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    stream.seek(0)
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        scan.size += len(chunk)
        scan.lines += chunk.count(b"\n")
        scan.has_nul = scan.has_nul or b"\x00" in chunk
        scan.has_lf = scan.has_lf or b"\n" in chunk
        scan.has_cr = scan.has_cr or b"\r" in chunk
        if chunk.isascii():
            continue
        text = decoder.decode(chunk)
        bad = len(_SURROGATE.findall(text))
        scan.invalid_utf8 += bad
        scan.valid_non_ascii += len(_NON_ASCII.findall(text)) - bad
    tail = decoder.decode(b"", final=True)
    scan.invalid_utf8 += len(_SURROGATE.findall(tail))
    stream.seek(0)
    return scan


def _blank(stream: BinaryIO, bom: bool) -> bool:
    stream.seek(3 if bom else 0)
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            stream.seek(0)
            return True
        if chunk.strip(b" \t\r\n;,\x1a"):
            stream.seek(0)
            return False


def _looks_binary(stream: BinaryIO) -> bool:
    stream.seek(0)
    sample = stream.read(64 * 1024)
    stream.seek(0)
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 100)


def _readline(stream: BinaryIO, mac: bool) -> bytes:
    if not mac:
        line = stream.readline(MAX_LINE_BYTES + 1)
    else:  # classic-Mac line endings: read up to the next CR
        parts = []
        while True:
            chunk = stream.read(4096)
            if not chunk:
                break
            cut = chunk.find(b"\r")
            if cut >= 0:
                parts.append(chunk[:cut + 1])
                stream.seek(cut + 1 - len(chunk), io.SEEK_CUR)
                break
            parts.append(chunk)
            if sum(map(len, parts)) > MAX_LINE_BYTES:
                break
        line = b"".join(parts)
        line = line[:-1] + b"\n" if line.endswith(b"\r") else line
    if len(line) > MAX_LINE_BYTES:
        raise ImportFileError(
            "El archivo tiene una línea de más de 1 MB: no parece una lista de préstamos en CSV.", reason="binary")
    return line


def _decode_line(line: bytes, encoding: str, mixed: bool = False) -> tuple[str, str | None]:
    if mixed and encoding == "cp1252" and not line.isascii():
        try:  # a UTF-8 line in a Windows-1252 file: "JosÃ©" would be imported garbled
            return line.decode("utf-8"), ("la fila está en UTF-8 pero el resto del archivo en Windows-1252 (el "
                                          "archivo mezcla codificaciones); revise el texto, guarde el archivo como "
                                          "«CSV UTF-8» y vuelva a importarlo")
        except UnicodeDecodeError:
            pass
    try:
        return line.decode(encoding), None
    except UnicodeDecodeError:
        pass
    if encoding == "utf-8":
        text = line.decode("cp1252", errors="replace")
        return text, ("la fila tiene caracteres que no son UTF-8 (el archivo mezcla codificaciones); se leyó como "
                      "Windows-1252: revise el texto, guarde el archivo como «CSV UTF-8» y vuelva a importarlo")
    text = line.decode("cp1252", errors="replace")
    return text, "la fila tiene bytes que no son texto válido; corrija los caracteres extraños y vuelva a importarla"


def _sniff(sample: list[str]) -> tuple[bool, str]:
    """Return (explicit ``sep=`` line?, delimiter) for the first lines."""
    first = sample[0].strip().lower() if sample else ""
    if first.startswith("sep=") and len(first) == 5:
        return True, first[4]
    best = None
    for preference, delimiter in enumerate(DELIMITERS):
        try:
            records = [r for r in csv.reader(sample, delimiter=delimiter) if any(c.strip() for c in r)]
        except csv.Error:  # e.g. a quoted line break read with the wrong delimiter
            continue
        if not records:
            continue
        counts = [len(r) for r in records]
        mode = max(set(counts), key=lambda c: (counts.count(c), c))
        consistency = counts.count(mode) / len(counts)
        header_agrees = any(len(r) == mode for r in records[:10])
        score = (mode > 1, header_agrees, round(consistency, 2), -preference)
        if best is None or score > best[0]:
            best = (score, delimiter)
    return False, (best[1] if best and best[0][0] else ";")


def _csv_rows(stream: BinaryIO, fmt: FileFormat, mac: bool, first_number: int) -> Iterator[RawRow]:
    issue: list[str | None] = [None]

    def lines():
        while True:
            line = _readline(stream, mac)
            if not line:
                return
            text, problem = _decode_line(line, fmt.encoding, fmt.mixed_encoding)
            if problem and issue[0] is None:
                issue[0] = problem
            yield text

    reader = csv.reader(lines(), delimiter=fmt.delimiter, quotechar='"', doublequote=True, strict=False)
    number = first_number - 1
    try:
        for record in reader:
            number += 1
            problem, issue[0] = issue[0], None
            yield RawRow(number, record, problem)
    except csv.Error as exc:
        raise ImportFileError(f"El archivo CSV está mal formado cerca de la fila {number + 1} ({exc}). "
                              "Ábralo en la hoja de cálculo, guárdelo de nuevo como CSV e impórtelo.",
                              reason="unreadable") from None


def _open_utf16(stream: BinaryIO, owned: bool) -> Table:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-16", errors="strict", newline="")
    try:
        sample = [text.readline() for _ in range(SNIFF_LINES)]
    except UnicodeDecodeError:
        raise ImportFileError("El archivo dice ser Unicode (UTF-16) pero no se puede leer. Guárdelo como «CSV UTF-8».",
                              reason="unreadable") from None
    sample = [s for s in sample if s]
    if not any(s.strip() for s in sample):
        raise ImportFileError("El archivo está vacío: no tiene ni encabezados ni filas.", reason="empty")
    explicit, delimiter = _sniff(sample)
    text.seek(0)
    if explicit:
        text.readline()
    fmt = FileFormat("csv", "utf-16", True, delimiter, False, "\r\n")

    def rows():
        number = 1 if explicit else 0
        try:
            for record in csv.reader(text, delimiter=delimiter):
                number += 1
                yield RawRow(number, record, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ImportFileError(f"El archivo Unicode está dañado cerca de la fila {number + 1} ({exc}).",
                                  reason="unreadable") from None

    return Table(fmt, rows(), size=size, position=stream.tell,
                 closer=(lambda: (text.detach(), stream.close())) if owned else text.detach)
