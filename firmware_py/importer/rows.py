"""One row of the loan list -> a validated :class:`RowRecord`, or a Spanish reason.

``read_row(values, number, layout, ctx)`` takes the row's ``{field: raw
value}`` (from :meth:`ColumnMap.pick`) and returns a :class:`RowRecord`, or
raises :class:`RowRejected` whose ``reason`` lists *every* problem of the row
("falta el nombre; teléfono inválido «123»"); a value that cannot be read
is named by its column's Spanish field name ("Pagado: el valor «x» no es un
número", see ``headers.FIELD_NAMES_ES``), and numbers in reasons are written
the way the file writes them (``parsing.format_number``: ``120.000``, not
``120000.00000000001``). Amounts are rounded to the cent as they are read
(``parsing.to_cents``); the accounting format's zero (``$ -``) is 0 in
"pagado" and refused in "monto" and "valor cuota". A loan id or document in
scientific notation (``1,23457E+11``: digits lost) is refused. Cross-row
checks (duplicates, conflicting debtor data, shared phones) live in
:mod:`.layouts`.

Layouts (``"loan"`` = one row per loan, ``"instalment"`` = one row per
instalment) are described in ``examples/README.md``. Schedules for the
loan layout: ``n`` instalments (default 1), the first due on the "primera
cuota" date (else the due date), then every period of the frequency
(default monthly; months keep the first date's day, clamped to the month's
end). The amount is split in equal parts (whole units when the amount is
whole, else cents), the remainder on the last part; a "valor cuota" column
instead gives every instalment that amount. A paid amount is applied to the
oldest instalments first.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from scheduler.model import Instalment, debtor_id_for, new_instalment, normalise_document

from firmware_py.importer.headers import FIELD_NAMES_ES
from firmware_py.importer.phone_notes import merge_phones
from firmware_py.importer.parsing import (MAX_INSTALMENTS, ParsedPhone, ParseError, blank, format_number,
                                          parse_amount, parse_count, parse_date, parse_phones)

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_LETTER = re.compile(r"[^\W\d_]")
_SCIENTIFIC = re.compile(r"\d+(?:[.,]\d+)?[eE]\+?\d+")
# What a spreadsheet shows for a long numeric loan id in a narrow column ("1,23457E+11"). Stricter than the
# document's pattern (the "+" is required): a code such as "12E3" may be a real loan id.
_SCIENTIFIC_ID = re.compile(r"\d(?:[.,]\d+)?[eE]\+\d{1,3}")
_TAG_SPLIT = re.compile(r"[,;|]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

CURRENCY_BY_COUNTRY = {"CO": "COP", "MX": "MXN", "PE": "PEN", "BO": "BOB", "EC": "USD", "GT": "GTQ", "HN": "HNL",
                       "NI": "NIO", "SV": "USD", "PY": "PYG", "CL": "CLP", "AR": "ARS", "UY": "UYU", "DO": "DOP",
                       "CR": "CRC", "PA": "USD", "VE": "VES", "ES": "EUR", "US": "USD", "BR": "BRL"}

# frequency word -> (months, days)
FREQUENCIES = {"mensual": (1, 0), "mes": (1, 0), "mensualmente": (1, 0), "monthly": (1, 0), "m": (1, 0),
               "quincenal": (0, 15), "quincena": (0, 15), "catorcenal": (0, 14), "biweekly": (0, 14),
               "fortnightly": (0, 14), "semanal": (0, 7), "semana": (0, 7), "weekly": (0, 7), "s": (0, 7),
               "diario": (0, 1), "diaria": (0, 1), "daily": (0, 1), "bimestral": (2, 0), "bimonthly": (2, 0),
               "trimestral": (3, 0), "quarterly": (3, 0), "semestral": (6, 0), "anual": (12, 0), "yearly": (12, 0),
               "annual": (12, 0)}

STATUSES = {"activo": "active", "activa": "active", "vigente": "active", "al dia": "active", "en mora": "active",
            "mora": "active", "vencido": "active", "vencida": "active", "active": "active", "current": "active",
            "overdue": "active", "pagado": "paid", "pagada": "paid", "cancelado": "paid", "cancelada": "paid",
            "saldado": "paid", "liquidado": "paid", "paid": "paid", "castigado": "written_off",
            "castigada": "written_off", "written off": "written_off", "anulado": "cancelled",
            "anulada": "cancelled", "cancelled": "cancelled", "canceled": "cancelled"}

LANGUAGES = {"es": "es", "espanol": "es", "castellano": "es", "spanish": "es", "en": "en", "ingles": "en",
             "english": "en", "qu": "qu", "quechua": "qu", "gn": "gn", "guarani": "gn", "ay": "ay", "aymara": "ay",
             "pt": "pt", "portugues": "pt"}


class RowRejected(Exception):
    """A row that cannot be imported. ``reason`` is Spanish; ``loan_id`` what could be read of it."""

    def __init__(self, reason: str, loan_id: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.loan_id = loan_id


@dataclass(frozen=True)
class RowContext:
    """Per-file reading decisions and appliance settings a row needs."""

    country: str = "CO"
    timezone: str = "America/Bogota"
    language: str = "es"
    number_style: str = "comma"
    date_order: str = "dmy"
    today: date | None = None  # passed in by the importer (from ``now``); None: no "far in the past" warnings
    past_days: int = 180
    has_document_column: bool = True
    has_loan_id_column: bool = True

    @property
    def currency(self) -> str:
        return CURRENCY_BY_COUNTRY.get(self.country.upper(), "USD")


@dataclass(frozen=True)
class DebtorData:
    """The debtor part of a row (``id`` from the document, or from the loan id when there is none)."""

    id: str
    name: str
    document: str
    phones: tuple[ParsedPhone, ...]
    language: str
    loan_officer: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowRecord:
    """A validated row: the loan id, its debtor (``None`` when an instalment row left them blank),
    the instalments it brings and warnings (Spanish)."""

    number: int
    loan_id: str
    debtor: DebtorData | None
    instalments: tuple[Instalment, ...]
    product: str = ""
    currency: str = ""
    status: str = ""
    warnings: tuple[str, ...] = field(default=())


@functools.lru_cache(maxsize=8192, typed=True)  # frequencies, statuses and names repeat down a file
def fold(text: str) -> str:
    """Accent-free, case-free, single-spaced text (to compare names and words)."""
    text = unicodedata.normalize("NFKD", str(text))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def _text(value) -> str:
    if value is None:
        return ""
    if type(value) is str:  # the common case (every CSV cell), checked first
        return " ".join(value.split())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


_FORMULA_CHECKED = (("loan_id", "número de crédito"), ("name", "nombre"), ("last_name", "apellido"),
                    ("last_name2", "apellido"), ("document", "documento"), ("product", "producto"),
                    ("loan_officer", "asesor"), ("group", "grupo"))


# a debtor's rows repeat their document (instalment layout, several loans); errors (ValueError) are not cached
_debtor_id = functools.lru_cache(maxsize=8192)(debtor_id_for)


def _looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_START)


@functools.lru_cache(maxsize=16384)  # schedules of one file share most of their dates
def add_period(start: date, months: int, days: int, k: int) -> date:
    """``start`` plus ``k`` periods (months clamp to the month's last day, from ``start`` each time)."""
    if months:
        total = start.month - 1 + months * k
        year, month = start.year + total // 12, total % 12 + 1
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    return start + timedelta(days=days * k)


def split_amount(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` equal instalments (whole units if ``total`` is whole), remainder on the last."""
    quantum = Decimal(1) if total == total.to_integral_value() else Decimal("0.01")
    base = (total / parts).quantize(quantum, rounding=ROUND_DOWN)
    return [base] * (parts - 1) + [total - base * (parts - 1)]


_ZERO = Decimal(0)


def allocate_paid(amounts: list[Decimal], paid: Decimal) -> list[Decimal]:
    """Spread ``paid`` over the instalments, oldest first (unpaid ones share one zero: lists can be long)."""
    if paid <= 0:  # the common case: nothing paid yet
        return [_ZERO] * len(amounts)
    out = []
    for amount in amounts:
        if paid <= 0:
            out.append(_ZERO)
            continue
        share = min(amount, paid)
        out.append(share)
        paid -= share
    return out


def read_row(values: dict, number: int, layout: str, ctx: RowContext) -> RowRecord:
    """Validate one row. Raises :class:`RowRejected` with every problem found."""
    problems: list[str] = []
    warnings: list[str] = []

    def take(name, parser, *args, required=None, **kwargs):
        """The parsed value of column ``name`` (``None`` when blank or refused); a refusal's reason names the
        column with its Spanish field name ("Pagado: el valor «x» no es un número")."""
        value = values.get(name)
        if blank(value):
            if required:
                problems.append(required)
            return None
        try:
            return parser(value, *args, **kwargs)
        except ParseError as exc:
            problems.append(f"{FIELD_NAMES_ES[name].capitalize()}: {exc}")
            return None

    for name, label in _FORMULA_CHECKED:
        value = values.get(name)
        if value is not None and _looks_like_formula(value):
            problems.append(f"el {label} empieza con «{str(values[name]).lstrip()[:1]}»: parece una fórmula de "
                            "hoja de cálculo; escriba solo el texto")
    loan_id = _text(values.get("loan_id"))
    name = " ".join(p for p in (_text(values.get("name")), _text(values.get("last_name")),
                                _text(values.get("last_name2"))) if p)  # "Nombres" + "Apellidos" columns
    document = _text(values.get("document"))
    raw_phones = [values.get("phone"), values.get("phone2")]
    debtor_blank = not name and not document and all(blank(p) for p in raw_phones)
    if ctx.has_loan_id_column and not loan_id:
        problems.append("falta el número de crédito")
    elif _SCIENTIFIC_ID.fullmatch(loan_id):  # accepted, it would become a second loan once the file is corrected
        problems.append(f"el número de crédito «{loan_id}» está en notación científica (se perdieron dígitos): dé a "
                        "la columna formato de número sin decimales o de texto y exporte de nuevo")
    if not ctx.has_loan_id_column and document:
        try:
            loan_id = normalise_document(document)
        except ValueError:
            pass
    inherit = layout == "instalment" and debtor_blank
    debtor = None
    if not inherit:
        debtor = _read_debtor(values, name, document, loan_id, ctx, problems, warnings)

    status = ""
    if not blank(values.get("status")):
        status = STATUSES.get(fold(values["status"]), "")
        if not status:
            problems.append(f"estado desconocido «{_text(values['status'])}» (use activo, pagado, castigado o anulado)")
    currency = _text(values.get("currency")).upper()
    if currency and not _CURRENCY_CODE.fullmatch(currency):
        problems.append(f"moneda desconocida «{currency}» (use el código de tres letras, por ejemplo COP)")

    if layout == "instalment":
        instalments = _instalment_row(values, ctx, take, problems)
    else:
        instalments = _loan_row(values, ctx, take, problems)
    if problems:
        raise RowRejected("; ".join(problems), loan_id)
    if instalments:
        if not any(i.amount for i in instalments):  # amounts are never negative: all zero
            warnings.append("el monto es cero")
        if layout == "loan" and _zero(values.get("instalments")):
            warnings.append("el número de cuotas es 0: se toma como un solo pago")
        owed = next((i for i in instalments if i.outstanding > 0), None)  # the oldest one owed
        if owed is not None and ctx.today is not None and (ctx.today - owed.due_date).days > ctx.past_days:
            warnings.append(f"la fecha de vencimiento {owed.due_date:%d/%m/%Y} es de hace más de "
                            f"{ctx.past_days} días")
    return RowRecord(number, loan_id, debtor, tuple(instalments), _text(values.get("product")), currency, status,
                     tuple(warnings))


def _zero(value) -> bool:
    """A count cell that says 0 (``0``, ``0.0``, ``"0,00"``: what ``parse_count`` reads as 0)."""
    try:
        return not blank(value) and parse_count(value) == 0
    except ParseError:
        return False


def _read_debtor(values, name, document, loan_id, ctx, problems, warnings) -> DebtorData | None:
    if not name:
        problems.append("falta el nombre")
    elif not _LETTER.search(name):
        problems.append(f"el nombre «{name}» no tiene letras")
    debtor_id = ""
    if ctx.has_document_column:
        if not document:
            problems.append("falta el documento")
        elif _SCIENTIFIC.fullmatch(document):
            problems.append(f"el documento «{document}» está en notación científica (se perdieron dígitos): dé a "
                            "la columna formato de texto")
        else:
            try:
                debtor_id = _debtor_id(document)
            except ValueError:
                problems.append(f"documento inválido «{document}»")
    elif loan_id:
        debtor_id = debtor_id_for("credito-" + loan_id)
    phones: list[ParsedPhone] = []
    for raw in (values.get("phone"), values.get("phone2")):
        try:
            merge_phones(phones, parse_phones(raw, ctx.country))
        except ParseError as exc:
            problems.append(str(exc))
    if not phones and not any("teléfono" in p for p in problems):
        problems.append("falta el teléfono")
    language = ctx.language
    if not blank(values.get("language")):
        language = LANGUAGES.get(fold(values["language"]), "")
        if not language:
            problems.append(f"idioma desconocido «{_text(values['language'])}» (use es, en, qu, gn o ay)")
    tags = tuple(t for t in (_text(x) for x in _TAG_SPLIT.split(_text(values.get("tags")))) if t) \
        if not blank(values.get("tags")) else ()
    if not debtor_id or not name or not phones:
        return None
    return DebtorData(debtor_id, name, document, tuple(phones), language, _text(values.get("loan_officer")),
                      _text(values.get("group")), tags)


def _instalment_row(values, ctx, take, problems) -> list[Instalment]:
    number = take("instalment_number", parse_count, ctx.number_style, required="falta el número de cuota")
    if number == 0:
        problems.append("el número de cuota debe ser 1 o mayor")
    due = take("due_date", parse_date, ctx.date_order, required="falta la fecha de vencimiento")
    field_name = "instalment_amount" if not blank(values.get("instalment_amount")) else "amount"
    amount = take(field_name, parse_amount, ctx.number_style, required="falta el valor de la cuota")
    paid = take("paid_amount", parse_amount, ctx.number_style, dash_is_zero=True)
    amount, paid = _non_negative(amount, paid, problems, ctx.number_style)
    if paid is not None and amount is not None and paid > amount:
        problems.append(f"el valor pagado ({format_number(paid, ctx.number_style)}) es mayor que el valor de la "
                        f"cuota ({format_number(amount, ctx.number_style)})")
    if problems or number is None or due is None or amount is None:
        return []
    return [Instalment(number, due, amount, paid or Decimal(0))]


def _loan_row(values, ctx, take, problems) -> list[Instalment]:
    has_date = not blank(values.get("due_date")) or not blank(values.get("first_due_date"))
    has_amount = not blank(values.get("amount")) or not blank(values.get("instalment_amount"))
    if not has_date and not has_amount and blank(values.get("instalments")):
        problems.append("la fila no corresponde a ningún formato: no tiene monto, fecha de vencimiento ni número de "
                        "cuotas")
        return []
    count = take("instalments", parse_count, ctx.number_style) or 1
    if count > MAX_INSTALMENTS:
        problems.append(f"número de cuotas inválido «{_text(values.get('instalments'))}» (máximo {MAX_INSTALMENTS})")
    first_field = "first_due_date" if not blank(values.get("first_due_date")) else "due_date"
    first = take(first_field, parse_date, ctx.date_order, required="falta la fecha de vencimiento")
    amount = take("amount", parse_amount, ctx.number_style)
    each = take("instalment_amount", parse_amount, ctx.number_style)
    paid = take("paid_amount", parse_amount, ctx.number_style, dash_is_zero=True)
    months, days = 1, 0
    if not blank(values.get("frequency")):
        word = fold(values["frequency"])
        if word.isdigit() and 0 < int(word) <= 366:
            months, days = 0, int(word)
        elif word in FREQUENCIES:
            months, days = FREQUENCIES[word]
        else:
            problems.append(f"frecuencia desconocida «{_text(values['frequency'])}» (use semanal, quincenal, "
                            "mensual o un número de días)")
    if blank(values.get("amount")) and blank(values.get("instalment_amount")):
        problems.append("falta el monto")
    amount, paid = _non_negative(amount, paid, problems, ctx.number_style)
    each, _ = _non_negative(each, None, problems, ctx.number_style)
    if problems or first is None or count > MAX_INSTALMENTS:
        return []
    amounts = [each] * count if each is not None else split_amount(amount, count)
    paid = paid or Decimal(0)
    if paid and paid > sum(amounts):  # (amounts are never negative: nothing paid is never too much)
        problems.append(f"el valor pagado ({format_number(paid, ctx.number_style)}) es mayor que el monto "
                        f"({format_number(sum(amounts), ctx.number_style)})")
        return []
    # every value is one Instalment accepts: numbers from 1, dates, amounts checked finite and non-negative above
    return list(map(new_instalment, range(1, count + 1), due_dates(first, months, days, count), amounts,
                    allocate_paid(amounts, paid)))


@functools.lru_cache(maxsize=4096)  # loans of one file share a few start dates, frequencies and counts
def due_dates(first: date, months: int, days: int, count: int) -> tuple[date, ...]:
    """The ``count`` due dates of a schedule: :func:`add_period` of ``first`` for ``k`` = 0..count-1."""
    return tuple(add_period(first, months, days, k) for k in range(count))


def _non_negative(amount, paid, problems, style):
    if amount is not None and amount < 0:
        problems.append(f"monto negativo ({format_number(amount, style)})")
        amount = None
    if paid is not None and paid < 0:
        problems.append(f"valor pagado negativo ({format_number(paid, style)})")
        paid = None
    return amount, paid
