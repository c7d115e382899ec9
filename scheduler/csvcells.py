"""Cells that a spreadsheet will open: formula-injection safety and the office's CSV conventions.

Pure functions shared by every CSV the appliance writes — the importer's
rejects file and exports (``firmware_py.importer``, which re-exports them
from ``firmware_py.importer.cells``) and the web page's downloads
(``webui``, which never imports ``firmware_py``).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return may be run as a formula by a spreadsheet (CSV injection, OWASP).
:func:`neutralise` prefixes such a cell with an apostrophe, so the
spreadsheet shows it as text. A plain signed number (``-1234,50``,
``+573001234567``) is left alone: it cannot call anything. Anything else,
even ``+57 300 123 4567`` (a space is Excel's intersection operator), gets
the apostrophe; the importer reads ``'+57…`` phones back unchanged.

:func:`spreadsheet_conventions` gives the list separator and decimal mark a
country's spreadsheets expect (``;`` and ``,`` where the decimal mark is a
comma), so a double-click opens the file in columns.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*$")

# Countries whose spreadsheets use a decimal comma and dot thousands by default (the importer reads numbers
# with the same list: firmware_py.importer.parsing.COMMA_DECIMAL_COUNTRIES; a test keeps them equal).
COMMA_DECIMAL_COUNTRIES = frozenset({"AR", "BO", "BR", "CL", "CO", "CR", "EC", "ES", "PY", "UY", "VE", "CU",
                                     "DE", "FR", "IT", "PT"})


def neutralise(value) -> str:
    """The cell text, made safe to open in a spreadsheet (see module docstring); ``None`` is ``""``."""
    text = "" if value is None else str(value)
    if text.startswith(DANGEROUS_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def spreadsheet_conventions(country: str) -> tuple[str, str]:
    """``(delimiter, decimal mark)`` the country's spreadsheets expect: ``(";", ",")`` or ``(",", ".")``."""
    return (";", ",") if (country or "").upper() in COMMA_DECIMAL_COUNTRIES else (",", ".")


def format_amount(amount: Decimal, decimal_mark: str) -> str:
    """A money amount with no thousands separator and the given decimal mark (``1234,50``)."""
    text = format(amount, "f")
    return text.replace(".", decimal_mark) if decimal_mark != "." else text


def format_date(value) -> str:
    """``dd/mm/yyyy`` for dates; ``dd/mm/yyyy HH:MM:SS`` for datetimes; ``""`` for ``None``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)
