"""Parsing cell values the way Spanish-locale spreadsheets write them.

Pure functions; each raises :class:`ParseError` whose ``str`` is a short
Spanish reason for the rejects file.

Numbers (``parse_amount``): ``1.234,50``, ``1,234.50``, ``1234.5``, ``$ 1.234``,
``COP 150.000``, ``(1.234)`` (negative), ``1 234,50``. When both separators
appear, the last one is the decimal mark. A single separator followed by
other than exactly three digits is the decimal mark. Only one case is
ambiguous: a single separator followed by exactly three digits (``150.000``,
``150,000``; also ``1100.000``, which is malformed as thousands). It is read
with the file's *number style*: ``"comma"`` (decimal
comma, dot thousands: 150.000 = 150000) or ``"dot"`` (the English way). The
importer decides the style once per file from the first unambiguous values
(:func:`number_evidence`), falling back to the country's convention
(:func:`default_number_style`). Scientific notation (``1,5E+06``, what a
spreadsheet writes for a narrow column) is refused: digits were lost.

Amounts are rounded to the cent as they are read (:func:`to_cents`): XLSX
cells hold doubles, so ``150000.30000000002`` or ``=100000/3``
(``33333.333333333336``) arrive with noise. A value with more than two
decimals and at least 12 significant digits is a computed one: rounded
``ROUND_HALF_UP`` to the cent (what the spreadsheet shows and people do);
with fewer digits the extra decimals were typed (``1234,567``, or ``1.234``
in a decimal-point file): refused, "tiene más de dos decimales". Whole
amounts stay whole (``150000``, not ``150000.00``).

Excel's accounting format writes zero as a dash (``$ -``, ``-``): it is 0
for a paid amount (``parse_amount(..., dash_is_zero=True)``) and refused
where a value is needed (the loan or instalment amount).

Reasons show numbers the way the office writes them (:func:`format_number`:
``120.000`` or ``120.000,50`` in a decimal-comma file, ``120,000.50`` in a
decimal-point file), never Python's repr.

Counts (``parse_count``: number of instalments, instalment number): ``12``,
``3.0`` (an XLSX number), ``"3.0"``/``"3,00"`` (a CSV export of a number
cell). A count written with a thousands separator (``1.000``, ``100.000``,
``2,000``) is refused: it may be one or a thousand, and such a cell most
likely holds an amount (:func:`looks_like_money` lets the importer see that
an ambiguous "Cuota" column holds amounts).

Dates (``parse_date``): ``dd/mm/yyyy`` (also ``-`` and ``.``, one-digit day or
month, two-digit year = 20yy if yy < 70 else 19yy), ``yyyy-mm-dd`` (also with a
time), ``yyyymmdd``, ``15-ene-2024``/``15 de enero de 2024``, and spreadsheet
serial numbers (Excel 1900 system: 45306 = 2024-01-15). ``mm/dd/yyyy`` is used
only when the file's *date order* is ``"mdy"``, decided once per file from the
first unambiguous value (a first part > 12 means day first); default day first.

Phones (``parse_phones``): local formats (``300 123 4567``, ``(55) 1234-5678``),
``0057…``/``+57…`` international forms, several numbers in one cell
separated by ``/``, ``;``, ``|`` or `` y ``; normalised to E.164 with
``phonenumbers`` for the configured country.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers

from firmware_py.importer.phone_notes import merge_phones, split_note

# Countries whose spreadsheets use a decimal comma and dot thousands by default.
COMMA_DECIMAL_COUNTRIES = frozenset({"AR", "BO", "BR", "CL", "CO", "CR", "EC", "ES", "PY", "UY", "VE", "CU",
                                     "DE", "FR", "IT", "PT"})


class ParseError(ValueError):
    """A cell could not be read; ``str(error)`` is a Spanish reason."""


def default_number_style(country: str) -> str:
    """``"comma"`` or ``"dot"``: the usual decimal mark of ``country``'s spreadsheets."""
    return "comma" if (country or "").upper() in COMMA_DECIMAL_COUNTRIES else "dot"


def blank(value) -> bool:
    """True for ``None`` and cells holding only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


# -- numbers ---------------------------------------------------------------------------------------------------------
_CURRENCY = re.compile(r"^(?:US\$|COP|MXN|USD|PEN|CLP|ARS|BOB|GTQ|HNL|NIO|PYG|UYU|EUR|CRC|DOP|S/\.?|Bs\.?|Gs\.?"
                       r"|Q|\$|€|₲|₡)\s*|\s*(?:COP|MXN|USD|PEN|CLP|ARS|BOB|GTQ|HNL|NIO|PYG|UYU|EUR|CRC|DOP|\$|€)$",
                       re.IGNORECASE)
_NUMBER = re.compile(r"^\d[\d.,]*$")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
MAX_INSTALMENTS = 600  # the largest count (instalments of a loan, instalment number) a row may hold
_ZERO_DECIMALS = re.compile(r"(?<=\d)[.,]0+$")
_NON_DIGIT = re.compile(r"\D")
_NOT_PHONE_CHAR = re.compile(r"[^\d\s()+.\-]")
_EXTENSION = re.compile(r"(?i)ext\.?\s*\d+$")
_SPACES = re.compile(r"(?<=\d)[\s\u00a0\u202f']+(?=\d)")


@dataclass(frozen=True)
class _Split:
    integer: str
    fraction: str
    evidence: str | None  # "comma" / "dot" when the value alone tells the style


def _strip_number(text: str) -> tuple[str, bool]:
    text = text.strip().replace("\u2212", "-")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    for _ in range(2):
        text = _CURRENCY.sub("", text).strip()
        if text.startswith("-"):
            negative, text = not negative, text[1:].strip()
        elif text.startswith("+"):
            text = text[1:].strip()
        if text.endswith("-"):
            negative, text = not negative, text[:-1].strip()
    return _SPACES.sub("", text), negative


def _grouped(parts: list[str]) -> bool:
    return 1 <= len(parts[0]) <= 3 and not parts[0].startswith("0") and all(len(p) == 3 for p in parts[1:])


def _split(text: str, style: str) -> _Split:
    dots, commas = text.count("."), text.count(",")
    if not dots and not commas:
        return _Split(text, "", None)
    if dots and commas:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        integer, _, fraction = text.rpartition(decimal)
        if integer.count(decimal) or not _grouped(integer.split(thousands)) or not fraction:
            raise ParseError(f"número mal escrito «{text}»")
        return _Split(integer.replace(thousands, ""), fraction, "comma" if decimal == "," else "dot")
    sep = "." if dots else ","
    parts = text.split(sep)
    if len(parts) > 2:
        if not _grouped(parts):
            raise ParseError(f"número mal escrito «{text}»")
        return _Split("".join(parts), "", "comma" if sep == "." else "dot")
    integer, fraction = parts
    if not integer or not fraction:
        raise ParseError(f"número mal escrito «{text}»")
    if len(fraction) != 3:
        return _Split(integer, fraction, "comma" if sep == "," else "dot")
    # exactly three digits after a single separator: the file's style decides (no evidence either way)
    thousands_sep = "." if style == "comma" else ","
    if sep != thousands_sep:
        return _Split(integer, fraction, None)
    if not _grouped(parts):  # "1100.000" or "0.500" where "." is the thousands separator
        raise ParseError(f"número mal escrito «{text}»")
    return _Split(integer + fraction, "", None)


def format_number(value, style: str = "comma", min_decimals: int = 2) -> str:
    """``value`` the way the office writes it, for reasons: ``120.000`` / ``120.000,50`` in a ``"comma"``
    file, ``120,000`` / ``120,000.50`` in a ``"dot"`` file. Whole values have no decimals; others at least
    ``min_decimals`` (2: money; more only when the value has them: ``1.234,567``). Never Python's repr
    (``120000.00000000001``, ``Decimal('120000')``). Accepts ``Decimal``, ``int`` and finite ``float``;
    anything else is returned as ``str``."""
    if isinstance(value, float):
        value = Decimal(repr(value)) if math.isfinite(value) else value
    if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
        return str(value)
    number = Decimal(value)
    if not number.is_finite():
        return str(value)
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number == number.to_integral_value():
        integer, fraction = f"{number.to_integral_value():f}", ""
    else:
        integer, _, fraction = f"{number.normalize():f}".partition(".")
        fraction = fraction.ljust(min_decimals, "0")
    thousands, mark = (".", ",") if style == "comma" else (",", ".")
    groups = []
    while len(integer) > 3:
        integer, group = integer[:-3], integer[-3:]
        groups.insert(0, group)
    text = thousands.join([integer] + groups)
    return sign + text + (mark + fraction if fraction else "")


def looks_like_money(value) -> bool:
    """True for a cell that can only be an amount, never a count: a number above :data:`MAX_INSTALMENTS`
    or with a fraction, a text with a currency sign, a thousands separator or decimals (``100.000``,
    ``1.250,50``, ``$ 90``). ``"3"``, ``3.0`` and ``"3,00"`` may be counts: False."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float, Decimal)):
        return not math.isfinite(value) or value != int(value) or value > MAX_INSTALMENTS
    text = str(value).strip()
    if not text:
        return False
    stripped, _ = _strip_number(text)
    if stripped != text.lstrip("+-").strip() and _NUMBER.match(stripped):
        return True  # a currency sign (or the accounting parentheses) around a number
    if not _NUMBER.match(stripped):
        return False
    if stripped.isdigit():
        return int(stripped) > MAX_INSTALMENTS
    integer, _, fraction = stripped.replace(",", ".").rpartition(".")
    return not (integer.isdigit() and fraction.strip("0") == "" and len(fraction) != 3)


def number_evidence(value) -> str | None:
    """``"comma"``/``"dot"`` if this value alone shows the file's number style, else ``None``."""
    if not isinstance(value, str):
        return None
    text, _ = _strip_number(value)
    if not _NUMBER.match(text):
        return None
    try:
        return _split(text, "comma").evidence
    except ParseError:
        return None


def is_accounting_zero(value) -> bool:
    """True for the dash Excel's accounting format writes for zero: ``-``, ``$ -``, ``$ - ``, ``-   ``."""
    if not isinstance(value, str) or "-" not in value and "\u2212" not in value:
        return False
    text = value.strip().replace("\u2212", "-")
    for _ in range(2):
        text = _CURRENCY.sub("", text).strip()
    return text == "-"


def parse_amount(value, style: str = "comma", *, dash_is_zero: bool = False) -> Decimal:
    """Read a money amount (may be negative: callers decide), rounded to the cent. See the module docstring.

    The accounting format's zero (a dash, :func:`is_accounting_zero`) is 0 when ``dash_is_zero`` (a paid
    amount); otherwise it is refused: where a value is needed a dash more likely means "no data".

    Rounding (:func:`to_cents`): a value with more than two decimals that has at least
    :data:`COMPUTED_DIGITS` significant digits is a computed one (a formula, or a double's noise:
    ``150000.30000000002``, ``100000/3`` = ``33333.333333333336``) and is rounded to the cent with
    ``ROUND_HALF_UP`` (what spreadsheets show and people do: ``0,125`` -> ``0,13``). With fewer digits
    the decimals were typed (``1234,567``): refused, "tiene más de dos decimales". Whole amounts stay
    whole (``150000``, not ``150000.00``); an amount with up to two decimals is kept as written."""
    if isinstance(value, bool):
        raise ParseError(f"valor inválido «{value}»")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParseError(f"valor inválido «{value}»")
        return to_cents(value, format_number(value, style))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ParseError(f"valor inválido «{value}»")
        if value.is_integer():
            return Decimal(int(value))
        return to_cents(Decimal(repr(value)), format_number(value, style))
    if blank(value):
        raise ParseError("falta el valor")
    return _parse_amount_text(str(value).strip(), style, dash_is_zero)


@functools.lru_cache(maxsize=8192)  # amounts repeat within a file (the same loan sizes, "0" paid on every row)
def _parse_amount_text(raw: str, style: str, dash_is_zero: bool) -> Decimal:
    if is_accounting_zero(raw):
        if dash_is_zero:
            return Decimal(0)
        raise ParseError(f"«{raw}» es un guion (el cero del formato contable): escriba el valor")
    text, negative = _strip_number(raw)
    if _SCIENTIFIC.match(text):
        raise ParseError(f"el valor «{raw}» está en notación científica (se perdieron dígitos): dé a la columna "
                         "formato de número y exporte de nuevo")
    if not _NUMBER.match(text):
        raise ParseError(f"el valor «{raw}» no es un número")
    split = _split(text, style)
    try:
        amount = Decimal(f"{split.integer}.{split.fraction}" if split.fraction else split.integer)
    except InvalidOperation:
        raise ParseError(f"el valor «{raw}» no es un número") from None
    amount = to_cents(amount, raw)
    return -amount if negative else amount


COMPUTED_DIGITS = 12  # a typed amount never has this many significant digits; a double from a formula has 15-17
_CENT = Decimal("0.01")
_UNIT = Decimal(1)


def to_cents(amount: Decimal, shown: str) -> Decimal:
    """``amount`` with at most two decimals (``shown``: the value as the reason should quote it).

    Up to two decimals: unchanged. More, all zeros (``0,500``): the same value with two (``0.50``), or none
    when whole (``1100.000`` -> ``1100``). More, with :data:`COMPUTED_DIGITS` or more significant digits:
    a computed value or float noise, rounded ``ROUND_HALF_UP`` to the cent, whole when it lands on a whole
    amount (``120000.00000000001`` -> ``120000``). Otherwise :class:`ParseError`: typed decimals beyond the
    cent are a mistake the office must see, not something to round away.
    """
    if amount.as_tuple().exponent >= -2:
        return amount
    normal = amount.normalize()
    if normal.as_tuple().exponent < -2 and len(normal.as_tuple().digits) < COMPUTED_DIGITS:
        raise ParseError(f"el valor «{shown}» tiene más de dos decimales: escriba el valor con dos decimales como "
                         "máximo")
    try:
        cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
        return cents.quantize(_UNIT) if cents == cents.to_integral_value() else cents
    except InvalidOperation:
        raise ParseError(f"el valor «{shown}» es demasiado grande") from None


_GROUPED_COUNT = re.compile(r"^\d{1,3}(?:([.,])\d{3})+$")


def parse_count(value, style: str = "comma") -> int:
    """A whole positive-or-zero count (number of instalments, instalment number).

    ``12``, an XLSX number ``3.0`` and the text ``"3.0"``/``"3,00"`` (what a CSV export writes for a number
    cell) are read. A count written with a thousands separator (``"1.000"``, ``"100.000"``, ``"2,000"``) is
    refused: ``1.000`` may be one or a thousand, and no loan has a thousand instalments, so the cell most
    likely holds an amount. ``style`` only shapes the numbers shown in reasons.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = "" if value is None else str(value).strip()
        if _GROUPED_COUNT.match(text):
            raise ParseError(f"«{text}» parece llevar separador de miles: escriba el número entero sin puntos ni "
                             "comas")
        text = _ZERO_DECIMALS.sub("", text)
        if not text.isdigit():
            shown = format_number(value, style, 0) if isinstance(value, float) and math.isfinite(value) else text
            raise ParseError(f"«{shown}» no es un número entero")
        number = int(text)
    if number < 0:
        raise ParseError(f"«{format_number(number, style)}» no puede ser negativo")
    return number


# -- dates -----------------------------------------------------------------------------------------------------------
_EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {"ene": 1, "enero": 1, "jan": 1, "january": 1, "feb": 2, "febrero": 2, "february": 2, "mar": 3,
           "marzo": 3, "march": 3, "abr": 4, "abril": 4, "apr": 4, "april": 4, "may": 5, "mayo": 5, "jun": 6,
           "junio": 6, "june": 6, "jul": 7, "julio": 7, "july": 7, "ago": 8, "agosto": 8, "aug": 8, "august": 8,
           "sep": 9, "sept": 9, "set": 9, "septiembre": 9, "setiembre": 9, "september": 9, "oct": 10,
           "octubre": 10, "october": 10, "nov": 11, "noviembre": 11, "november": 11, "dic": 12, "diciembre": 12,
           "dec": 12, "december": 12}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_COMPACT = re.compile(r"^((?:19|20)\d{2})(\d{2})(\d{2})$")
_NAMED = re.compile(r"^(\d{1,2})(?:\s*de\s*|[-/.\s]+)([a-záéíóú]+)\.?(?:\s*de\s*|[-/.\s]+)(\d{2}|\d{4})$")
_TIME = re.compile(r"[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[ap]\.?\s?m\.?)?(?:Z|[+-]\d{2}:?\d{2})?$",
                   re.IGNORECASE)
_SERIAL = re.compile(r"^(\d{4,5})(?:[.,]\d+)?$")


def excel_serial_to_date(serial: float) -> date:
    """Excel 1900 date system (with its fictitious 29/02/1900): serial 61 = 1900-03-01."""
    if not 61 <= serial < 2958466:
        shown = int(serial) if isinstance(serial, float) and serial.is_integer() else serial  # 12, not 12.0
        raise ParseError(f"número de fecha fuera de rango «{shown}»")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def date_evidence(value) -> str | None:
    """``"dmy"``/``"mdy"`` if this value alone shows the file's date order, else ``None``."""
    if not isinstance(value, str):
        return None
    text = _TIME.sub("", value.strip())
    match = _DMY.match(text)
    if not match:
        return None
    first, second = int(match.group(1)), int(match.group(2))
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return None


def parse_date(value, order: str = "dmy") -> date:
    """Read a date. See module docstring. Raises :class:`ParseError`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return excel_serial_to_date(value)
    if blank(value):
        raise ParseError("falta la fecha")
    return _parse_date_text(str(value).strip(), order)


@functools.lru_cache(maxsize=4096)  # due dates repeat a lot within a file
def _parse_date_text(raw: str, order: str) -> date:
    text = _TIME.sub("", raw).strip().lower()
    try:
        if match := _ISO.match(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _DMY.match(text):
            first, second = int(match.group(1)), int(match.group(2))
            day, month = (second, first) if order == "mdy" else (first, second)
            return date(_year(match.group(3)), month, day)
        if match := _COMPACT.match(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _NAMED.match(text):
            month = _MONTHS.get(match.group(2).replace("á", "a").replace("é", "e"))
            if month:
                return date(_year(match.group(3)), month, int(match.group(1)))
        if match := _SERIAL.match(text):
            return excel_serial_to_date(int(match.group(1)))
    except ValueError:
        pass
    raise ParseError(f"fecha inválida «{raw}» (use dd/mm/aaaa)")


# -- phones ----------------------------------------------------------------------------------------------------------
_PHONE_SPLIT = re.compile(r"\s*(?:/|;|\||,|\s+y\s+|\s+o\s+)\s*", re.IGNORECASE)
_PHONE_SPLIT_KEEP = re.compile(f"({_PHONE_SPLIT.pattern})", re.IGNORECASE)  # the same, keeping the separators
_DIGIT = re.compile(r"\d")
_PHONE_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")


@dataclass(frozen=True)
class ParsedPhone:
    """``e164`` like ``+573001234567``; ``mobile`` False for numbers known to be landlines; ``note`` what the
    cell said beside the number (``vecina``: see :mod:`firmware_py.importer.phone_notes`)."""

    e164: str
    mobile: bool
    note: str = ""


def parse_phone(value, country: str) -> ParsedPhone:
    """One phone number in any local or international form -> E.164."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _parse_phone_text(str(value).strip(), country)


@functools.lru_cache(maxsize=4096)  # instalment rows repeat the debtor's phone on every row
def _parse_phone_text(raw: str, country: str) -> ParsedPhone:
    if _PHONE_SCIENTIFIC.match(raw):
        raise ParseError(f"teléfono en notación científica «{raw}» (se perdieron dígitos): dé a la columna formato "
                         "de texto o número sin decimales")
    text = raw.lstrip("'").strip()
    text = _ZERO_DECIMALS.sub("", text)
    digits = _NON_DIGIT.sub("", text)
    if not digits or len(digits) > 17 or _NOT_PHONE_CHAR.search(_EXTENSION.sub("", text)):
        raise ParseError(f"teléfono inválido «{raw}»")
    if not text.startswith("+") and digits[0] != "0" and not _EXTENSION.search(text):
        fast = national_fast_path(digits, country.upper())
        if fast is not None:
            return fast
    return library_parse(text, digits, country, raw)


def national_fast_path(digits: str, region: str) -> ParsedPhone | None:
    """The common case, a national number with no prefix, checked against the same ``phonenumbers``
    metadata without ``parse()``'s normalisation (it costs most of an import's time). ``None`` when
    the number is not valid as is or ``parse()`` could transform it (national prefix / carrier code);
    the caller then uses :func:`library_parse`. A differential test holds the two to the same answers."""
    pattern = _national_prefix(region)
    if pattern is False or (pattern is not None and pattern.match(digits)):
        return None
    code = phonenumbers.country_code_for_region(region)
    mobile = _classifier(code)(digits)
    if mobile is None:
        return None
    return ParsedPhone(f"+{code}{digits}", mobile)


_TYPE_ORDER = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")


@functools.lru_cache(maxsize=64)
def _classifier(code: int):
    """``digits -> None | mobile?`` for national significant numbers of calling code ``code``: exactly
    ``phonenumbers.number_type`` (``None`` for UNKNOWN, else ``kind != FIXED_LINE``), from the same metadata
    with the patterns compiled once. ``number_type`` re-looks up the region, the metadata and every pattern
    for each number; on a 10,000-row file that was most of the phone time. A calling code shared by several
    regions (+1, +7, +44...) needs the library's region choice: the library is used there (a differential
    test holds the two to the same answers)."""
    regions = phonenumbers.region_codes_for_country_code(code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(regions[0]) if len(regions) == 1 else None
    if meta is None:
        def by_library(digits: str) -> bool | None:
            kind = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=code, national_number=int(digits)))
            return None if kind == phonenumbers.PhoneNumberType.UNKNOWN else kind != phonenumbers.PhoneNumberType.FIXED_LINE
        return by_library

    def desc(d):
        """(possible lengths or None for any, compiled pattern) of a PhoneNumberDesc; None: matches nothing."""
        if d is None or not d.national_number_pattern:
            return None
        return (frozenset(d.possible_length) or None, re.compile(d.national_number_pattern))

    def matches(entry, digits):
        return entry is not None and (entry[0] is None or len(digits) in entry[0]) and \
            entry[1].fullmatch(digits) is not None

    general = desc(meta.general_desc)
    others = [e for e in (desc(getattr(meta, name)) for name in _TYPE_ORDER) if e is not None]
    fixed, mobile, same = desc(meta.fixed_line), desc(meta.mobile), bool(meta.same_mobile_and_fixed_line_pattern)

    def classify(digits: str) -> bool | None:
        if not matches(general, digits):
            return None
        if any(matches(e, digits) for e in others):
            return True  # premium, toll-free... : not FIXED_LINE
        if matches(fixed, digits):
            return same or matches(mobile, digits)  # FIXED_LINE_OR_MOBILE, else FIXED_LINE
        if not same and matches(mobile, digits):
            return True
        return None
    return classify


@functools.lru_cache(maxsize=64)
def _national_prefix(region: str):
    """The region's national-prefix pattern (compiled), ``None`` if it has none, ``False`` if unknown region."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return False
    return re.compile(meta.national_prefix_for_parsing) if meta.national_prefix_for_parsing else None


def library_parse(text: str, digits: str, country: str, raw: str) -> ParsedPhone:
    """Any form, through ``phonenumbers.parse`` (``00`` + country code is tried as international first)."""
    candidates = []
    if text.startswith("+"):
        candidates.append("+" + digits)
    elif digits.startswith("00"):
        candidates.append("+" + digits[2:])
    candidates.append(text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, country.upper())
        except phonenumbers.NumberParseException:
            continue
        # number_type() is UNKNOWN exactly when is_valid_number() is False (same metadata test): one check.
        kind = phonenumbers.number_type(number)
        if kind != phonenumbers.PhoneNumberType.UNKNOWN:
            return ParsedPhone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                               kind != phonenumbers.PhoneNumberType.FIXED_LINE)
    raise ParseError(f"teléfono inválido «{raw}»")


def parse_phones(value, country: str) -> list[ParsedPhone]:
    """Every phone in a cell (``"300 123 4567 / 310 765 4321"``), each with the note written after it
    (``"300 123 4567 (vecina)"``); raises on the first bad one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [parse_phone(value, country)]
    if blank(value):
        return []
    text = str(value).strip()
    if _PHONE_SCIENTIFIC.match(text):
        return [parse_phone(text, country)]  # raises with the scientific-notation reason
    parts: list[str] = []
    pieces = _PHONE_SPLIT_KEEP.split(text)  # part, separator, part, ...
    for index in range(0, len(pieces), 2):
        part = pieces[index]
        if parts and not _DIGIT.search(part):  # no number: the rest of a note ("(vecina o hija)")
            parts[-1] += pieces[index - 1] + part
        elif part.strip():
            parts.append(part)
    out: list[ParsedPhone] = []
    for part in parts:
        number, note = split_note(part)
        try:
            phone = parse_phone(number, country)
        except ParseError:
            if note:  # say what was read as the number
                raise ParseError(f"teléfono inválido «{part.strip()}» (se leyó el número «{number}» y la nota "
                                 f"«{note}»)") from None
            raise
        merge_phones(out, [replace(phone, note=note) if note else phone])
    return out
