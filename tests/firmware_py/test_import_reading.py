"""Reading files: encodings, delimiters, line endings, hostile files."""

import codecs
import io

import pytest

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.reading import open_table

TEXT = "Nombre;Cédula;Teléfono\r\nJosé Muñoz;123;300 123 4567\r\nÑusta Quispe;456;310 765 4321\r\n"


def rows_of(data: bytes):
    with open_table(io.BytesIO(data)) as table:
        return table.format, [(r.number, r.cells, r.encoding_issue) for r in table.rows()]


@pytest.mark.parametrize("encoding,bom,expected", [
    ("utf-8", b"", "utf-8"), ("utf-8", codecs.BOM_UTF8, "utf-8"), ("cp1252", b"", "cp1252"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"), ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
])
def test_encodings(encoding, bom, expected):
    fmt, rows = rows_of(bom + TEXT.encode(encoding))
    assert fmt.encoding == expected
    assert fmt.bom == bool(bom)
    assert rows[1][1] == ["José Muñoz", "123", "300 123 4567"]
    assert rows[2][1][0] == "Ñusta Quispe"
    assert all(issue is None for *_, issue in rows)


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiters_are_sniffed(delimiter):
    fmt, rows = rows_of(TEXT.replace(";", delimiter).encode())
    assert fmt.delimiter == delimiter
    assert rows[0][1] == ["Nombre", "Cédula", "Teléfono"]


def test_semicolon_file_with_decimal_commas_is_not_mistaken_for_commas():
    data = "Nombre;Monto;Teléfono\nAna;1.234,50;300 123 4567\nBeto;12,5;300 123 4568\n".encode()
    fmt, rows = rows_of(data)
    assert fmt.delimiter == ";"
    assert rows[1][1] == ["Ana", "1.234,50", "300 123 4567"]


def test_comma_file_with_quoted_decimal_commas():
    data = 'Nombre,Monto,Teléfono\nAna,"1.234,50",300 123 4567\nBeto,"12,5",300 123 4568\n'.encode()
    fmt, rows = rows_of(data)
    assert fmt.delimiter == ","
    assert rows[1][1][1] == "1.234,50"


def test_excel_sep_line_is_honoured_and_skipped():
    fmt, rows = rows_of(b"sep=,\nNombre,Monto\nAna,5\n")
    assert fmt.delimiter == ","
    assert rows[0] == (2, ["Nombre", "Monto"], None)


def test_multiline_quoted_cell_keeps_spreadsheet_row_numbers():
    fmt, rows = rows_of('Nombre;Nota\n"Ana";"línea 1\nlínea 2"\nBeto;x\n'.encode())
    assert rows[1] == (2, ["Ana", "línea 1\nlínea 2"], None)
    assert rows[2][0] == 3


def test_classic_mac_line_endings():
    fmt, rows = rows_of(b"Nombre;Monto\rAna;5\rBeto;6\r")
    assert [r[1] for r in rows] == [["Nombre", "Monto"], ["Ana", "5"], ["Beto", "6"]]


def test_mixed_encoding_flags_only_the_bad_line():
    data = TEXT.encode("utf-8") + "Andrés Peña;789;300 000 0000\r\n".encode("cp1252")
    fmt, rows = rows_of(data)
    assert fmt.encoding == "utf-8" and fmt.mixed_encoding
    assert rows[1][2] is None and rows[2][2] is None
    assert rows[3][1][0] == "Andrés Peña"  # shown as Windows-1252 so the user recognises it
    assert "UTF-8" in rows[3][2]


def test_utf8_line_in_a_mostly_cp1252_file_is_flagged_not_garbled():
    data = TEXT.encode("cp1252") * 3 + "Andrés Peña;789;300 000 0000\r\n".encode("utf-8")
    fmt, rows = rows_of(data)
    assert fmt.encoding == "cp1252" and fmt.mixed_encoding
    assert rows[-1][1][0] == "Andrés Peña" and "UTF-8" in rows[-1][2]
    assert all(issue is None for *_, issue in rows[:-1])


def test_mostly_cp1252_file_is_cp1252():
    data = TEXT.encode("cp1252") * 3
    fmt, rows = rows_of(data)
    assert fmt.encoding == "cp1252" and not fmt.mixed_encoding


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"), (codecs.BOM_UTF8, "empty"), (b"\r\n\r\n  \n", "empty"), (b";;;\n;;\n", "empty"),
    (bytes(range(256)) * 100, "binary"), (b"Nombre;Monto\n\x00\x01\x02\x03garbage", "binary"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "excel_binary"),
    (b"PK\x03\x04" + b"\x00" * 100, "unreadable"), (b"A" * (2 << 20), "binary"),
])
def test_hostile_files_are_clear_file_errors(data, reason):
    with pytest.raises(ImportFileError) as info:
        rows_of(data)
    assert info.value.reason == reason
    assert str(info.value)[0].isupper() and str(info.value).endswith(".")


def test_non_seekable_stream_is_spooled():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self._inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    with open_table(Pipe(TEXT.encode())) as table:
        assert [r.cells[0] for r in table.rows()] == ["Nombre", "José Muñoz", "Ñusta Quispe"]


def test_missing_file_is_a_spanish_error(tmp_path):
    with pytest.raises(ImportFileError, match="No se encuentra"):
        open_table(tmp_path / "no-existe.csv")


def test_close_is_safe_twice(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(TEXT.encode())
    table = open_table(path)
    table.close()
    table.close()
