"""The debtors area's forms and the parsing behind them: what staff type, checked on the server.

Every refusal is a Spanish sentence that says what to do (the English catalogue of the area translates the
labels; the sentences built here with values in them stay Spanish). Nothing here touches the ledger: the
views in :mod:`webui.debtors` read the validated values and write.

- Money (:func:`parse_amount`): digits with ``.`` or ``,`` as thousands separator and at most two decimals
  (``150000``, ``150.000``, ``150,000``, ``1.234,50``, ``$ 1,234.50``). One separator followed by exactly
  three digits is a thousands separator (``150,000`` is a hundred and fifty thousand everywhere); followed
  by one or two digits it is the decimal mark. Never negative, never zero, below :data:`MAX_AMOUNT`.
- Phones (:func:`normalise_phone`): any local or international form, to E.164 with ``phonenumbers`` for
  the cooperative's country (``00`` + country code is international), as the importer does.
- Instalment plans: generated (:func:`generate_plan`: the importer's rule, copied — equal parts, the
  remainder on the last, months clamp to the month's last day, counted from the first due date each time)
  or typed one ``fecha; valor`` per line (:func:`parse_plan_rows`).
- Debtor ids (:func:`new_debtor_id`): ``debtor_id_for(document)`` with a document; without one,
  ``debtor_id_for("web " + name + " " + first phone)`` — stable for the same name and number whatever
  the accents, case or punctuation, and in the same ``d-`` + 16 hex form.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FormField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField, FieldList
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from scheduler.model import Instalment, debtor_id_for, normalise_document
from scheduler.rules.profiles import BUILTIN

MAX_AMOUNT = Decimal("1000000000000")  # a trillion: more than any cooperative's loan, fewer digits than a typo
MAX_INSTALMENTS = 600  # as the importer
MAX_PHONES = 20
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_PROMISE_DAYS = 60
"""A promise to pay is for a date from today to this many days ahead."""
MAX_PAYMENT_AGE_DAYS = 5 * 366
"""A payment recorded in the office is dated at most this many days back (and never in the future)."""

FREQUENCIES = {"semanal": (0, 7), "quincenal": (0, 15), "mensual": (1, 0)}
"""Frequency word -> (months, days) per period, the importer's values for these three."""
FREQUENCY_LABELS = {"semanal": _l("Semanal (cada 7 días)"), "quincenal": _l("Quincenal (cada 15 días)"),
                    "mensual": _l("Mensual")}

LANGUAGE_LABELS = {"es": _l("Español"), "en": _l("Inglés"), "qu": _l("Quechua"), "ay": _l("Aimara"),
                   "gn": _l("Guaraní"), "pt": _l("Portugués")}

COUNTRIES = {"CO": _l("Colombia"), "MX": _l("México"), "PE": _l("Perú"), "BO": _l("Bolivia"),
             "EC": _l("Ecuador"), "GT": _l("Guatemala"), "HN": _l("Honduras"), "NI": _l("Nicaragua"),
             "SV": _l("El Salvador"), "PY": _l("Paraguay"), "CL": _l("Chile"), "AR": _l("Argentina"),
             "UY": _l("Uruguay"), "DO": _l("República Dominicana"), "CR": _l("Costa Rica"), "PA": _l("Panamá"),
             "VE": _l("Venezuela"), "ES": _l("España"), "US": _l("Estados Unidos"), "BR": _l("Brasil")}
"""Jurisdictions offered on the debtor form (ISO 3166 alpha-2)."""

CURRENCY_BY_COUNTRY = {"CO": "COP", "MX": "MXN", "PE": "PEN", "BO": "BOB", "EC": "USD", "GT": "GTQ", "HN": "HNL",
                       "NI": "NIO", "SV": "USD", "PY": "PYG", "CL": "CLP", "AR": "ARS", "UY": "UYU", "DO": "DOP",
                       "CR": "CRC", "PA": "USD", "VE": "VES", "ES": "EUR", "US": "USD", "BR": "BRL"}
"""The importer's table (copied: webui does not import firmware_py)."""
CURRENCIES = tuple(sorted(set(CURRENCY_BY_COUNTRY.values())))

LOAN_STATUS_LABELS = {"active": _l("Activo"), "paid": _l("Pagado"), "written_off": _l("Castigado"),
                      "cancelled": _l("Anulado")}

_DIGITS_ONLY = re.compile(r"[0-9]+")
_AMOUNT_CHARS = re.compile(r"^[0-9.,]+$")
_GROUPED = re.compile(r"^[0-9]{1,3}(?:([.,])[0-9]{3})+$")
_PHONE_CHARS = re.compile(r"^[0-9 ()+\-./]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")
_SYMBOLS = ("US$", "RD$", "C$", "R$", "S/", "Bs", "$", "Q", "L", "₡", "₲", "€")
_FORMULA_START = ("=", "+", "-", "@")


_LATIN = str.maketrans({c: unicodedata.normalize("NFKD", c)[0] for c in map(chr, range(0xC0, 0x250))
                        if unicodedata.normalize("NFKD", c)[0].isascii() and unicodedata.normalize("NFKD", c) != c})


def fold(text: str) -> str:
    """Accent-free, case-free, single-spaced text (what searches compare): ``"Óscar  NÚÑEZ"`` gives
    ``"oscar nunez"``. Latin letters go through a table (fast: the list folds every name); anything else
    is decomposed and its combining marks dropped."""
    text = str(text).translate(_LATIN).casefold()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


def clean_text(text: str | None) -> str:
    """``text`` stripped, inner whitespace (tabs, new lines) made single spaces."""
    return " ".join(str(text or "").split())


# -- money --------------------------------------------------------------------------------------------------------
def parse_amount(text: str | None) -> Decimal:
    """A positive amount of money from what staff typed (see the module docstring). Raises ValueError
    with a Spanish sentence."""
    raw = clean_text(text)
    value = raw
    for code in CURRENCIES:  # "COP 150.000", "150.000 COP"
        if value.upper().startswith(code + " ") or value.upper().endswith(" " + code):
            value = value[4:] if value.upper().startswith(code) else value[:-4]
            break
    for symbol in _SYMBOLS:  # longest first: "RD$" before "$"
        if value.startswith(symbol):
            value = value[len(symbol):]
            break
    value = value.replace(" ", "")
    if not value:
        raise ValueError("Escriba el valor, por ejemplo 150.000.")
    if value.startswith("-"):
        raise ValueError("El valor no puede ser negativo.")
    if not _AMOUNT_CHARS.match(value) or len(value) > 24:
        raise ValueError(f"«{raw[:40]}» no es un valor: escriba solo números, por ejemplo 150.000.")
    number = _number(value)
    if number is None:
        raise ValueError(f"«{raw[:40]}» no es un valor claro: escriba por ejemplo 150.000 o 1.234,50.")
    if number <= 0:
        raise ValueError("El valor debe ser mayor que cero.")
    if number >= MAX_AMOUNT:
        raise ValueError("El valor es demasiado grande: revise los ceros.")
    return number


def _number(value: str) -> Decimal | None:
    """Digits with separators -> Decimal, or None when the separators do not make a clear number."""
    if _DIGITS_ONLY.fullmatch(value):
        return Decimal(value)
    separators = {c for c in value if c in ".,"}
    if len(separators) == 1:
        mark = separators.pop()
        if _GROUPED.match(value):  # 150.000, 1.500.000, 150,000: thousands
            return Decimal(value.replace(mark, ""))
        head, _, decimals = value.partition(mark)
        if mark not in decimals and head.isdigit() and decimals.isdigit() and 1 <= len(decimals) <= 2:
            return Decimal(f"{head}.{decimals}")
        return None
    last = max(value.rfind("."), value.rfind(","))  # both: the last one is the decimal mark
    mark, other = value[last], ("," if value[last] == "." else ".")
    head, decimals = value[:last], value[last + 1:]
    if mark in head or not (decimals.isdigit() and 1 <= len(decimals) <= 2) or not _GROUPED.match(head):
        return None
    return Decimal(f"{head.replace(other, '')}.{decimals}")


# -- phones -------------------------------------------------------------------------------------------------------
def normalise_phone(text: str | None, country: str) -> str:
    """An E.164 number (``+573001234567``) from a local or international form. Raises ValueError (Spanish)."""
    raw = clean_text(text)
    if not raw:
        raise ValueError("Escriba el número de teléfono.")
    if len(raw) > 30 or not _PHONE_CHARS.match(raw):
        raise ValueError(f"«{raw[:30]}» no es un teléfono: escriba solo números, por ejemplo 300 123 4567.")
    digits = re.sub(r"[^0-9]", "", raw)
    candidates = []
    if raw.startswith("+"):
        candidates.append("+" + digits)
    elif digits.startswith("00"):
        candidates.append("+" + digits[2:])
    candidates.append(digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, country.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"El teléfono «{raw}» no es válido para {country.upper()}: revise los dígitos (por ejemplo "
                     "300 123 4567) o escriba el código del país con + si es de otro país.")


# -- instalment plans ---------------------------------------------------------------------------------------------
def add_period(start: date, months: int, days: int, k: int) -> date:
    """``start`` plus ``k`` periods; months clamp to the month's last day, counted from ``start`` each time
    (the importer's rule: 31/01 monthly gives 28/02 (or 29/02), 31/03, 30/04…)."""
    if months:
        total = start.month - 1 + months * k
        year, month = start.year + total // 12, total % 12 + 1
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    return start + timedelta(days=days * k)


def split_amount(total: Decimal, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` equal instalments (whole units if ``total`` is whole), remainder on the last
    (the importer's rule)."""
    quantum = Decimal(1) if total == total.to_integral_value() else Decimal("0.01")
    base = (total / parts).quantize(quantum, rounding=ROUND_DOWN)
    return [base] * (parts - 1) + [total - base * (parts - 1)]


def generate_plan(total: Decimal, count: int, first_due: date, frequency: str) -> tuple[Instalment, ...]:
    """Instalments numbered 1..``count``: :func:`split_amount` of ``total``, due every period of
    ``frequency`` (:data:`FREQUENCIES`) from ``first_due``. Raises ValueError (Spanish)."""
    if frequency not in FREQUENCIES:
        raise ValueError("Elija la frecuencia: semanal, quincenal o mensual.")
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ValueError(f"El número de cuotas debe estar entre 1 y {MAX_INSTALMENTS}.")
    amounts = split_amount(total, count)
    if amounts[0] <= 0:
        raise ValueError("El valor es demasiado pequeño para tantas cuotas: cada cuota debe ser de al menos 1.")
    months, days = FREQUENCIES[frequency]
    last = add_period(first_due, months, days, count - 1)
    if last.year > MAX_YEAR:
        raise ValueError(f"La última cuota caería después de {MAX_YEAR}: revise la fecha y el número de cuotas.")
    return tuple(Instalment(k + 1, add_period(first_due, months, days, k), amount)
                 for k, amount in enumerate(amounts))


_ROW_SPLIT = re.compile(r"\s*[;\t|]\s*")


def parse_plan_rows(text: str | None) -> tuple[Instalment, ...]:
    """Instalments from lines ``fecha; valor`` (``15/01/2027; 100.000``; ``;``, a tab or ``|`` between
    them; dates ``dd/mm/aaaa`` or ``aaaa-mm-dd``), numbered in date order. Blank lines are skipped.
    Raises ValueError with every line's problem (Spanish, one sentence per line, at most ten)."""
    lines = [(n, line.strip()) for n, line in enumerate(str(text or "").splitlines(), 1) if line.strip()]
    if not lines:
        raise ValueError("Escriba al menos una cuota: una línea por cuota con la fecha y el valor, por ejemplo "
                         "15/01/2027; 100.000")
    if len(lines) > MAX_INSTALMENTS:
        raise ValueError(f"Son {len(lines)} cuotas: el máximo es {MAX_INSTALMENTS}.")
    rows: list[tuple[date, Decimal]] = []
    problems: list[str] = []
    for number, line in lines:
        parts = _ROW_SPLIT.split(line)
        if len(parts) != 2:
            problems.append(f"Línea {number}: escriba la fecha y el valor separados por punto y coma, por ejemplo "
                            "15/01/2027; 100.000")
            continue
        try:
            day = parse_day(parts[0])
            amount = parse_amount(parts[1])
        except ValueError as exc:
            problems.append(f"Línea {number}: {exc}")
            continue
        rows.append((day, amount))
    if problems:
        shown = problems[:10]
        if len(problems) > 10:
            shown.append(f"… y {len(problems) - 10} líneas más con problemas.")
        raise ValueError("\n".join(shown))
    rows.sort(key=lambda r: r[0])
    return tuple(Instalment(k + 1, day, amount) for k, (day, amount) in enumerate(rows))


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_day(text: str) -> date:
    """A date written ``dd/mm/aaaa`` (also ``-`` or ``.``) or ``aaaa-mm-dd``. Raises ValueError (Spanish)."""
    raw = clean_text(text)
    match = _DMY.match(raw)
    try:
        if match:
            day = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        elif (match := _ISO.match(raw)) is not None:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"la fecha «{raw[:30]}» no existe o no se entiende; escríbala dd/mm/aaaa.") from None
    check_year(day)
    return day


def check_year(day: date) -> None:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"la fecha {day:%d/%m/%Y} está fuera de los años {MIN_YEAR} a {MAX_YEAR}; revise el año.")


def spread_paid(instalments: tuple[Instalment, ...], paid: Decimal) -> tuple[Instalment, ...]:
    """``instalments`` with ``paid`` set oldest first, each up to its amount (the importer's
    ``allocate_paid``); what does not fit is dropped (the caller warns)."""
    out = []
    for instalment in instalments:
        share = min(instalment.amount, paid) if paid > 0 else Decimal(0)
        paid -= share
        out.append(Instalment(instalment.number, instalment.due_date, instalment.amount, share))
    return tuple(out)


# -- ids ----------------------------------------------------------------------------------------------------------
def new_debtor_id(document: str, name: str, first_phone: str) -> str:
    """The id of a new debtor (see the module docstring). Raises ValueError for a document with no
    letters or digits."""
    if document:
        return debtor_id_for(document)
    return debtor_id_for(f"web {fold(name)} {first_phone}")


# -- fields -------------------------------------------------------------------------------------------------------
def _select_choices(pairs):
    if pairs is None:
        return None
    return [p if isinstance(p, SelectChoice) else SelectChoice(p[0], p[1]) for p in pairs]


class Choice(SelectField):
    """A select whose refusal of an unknown value (a hand-made request) is a Spanish sentence; choices may
    be given as ``(value, label)`` pairs (kept as ``SelectChoice``)."""

    def __init__(self, *args, choices=None, **kwargs):
        kwargs.setdefault("invalid_choice_message", _l("Elija una de las opciones de la lista."))
        super().__init__(*args, choices=_select_choices(choices), **kwargs)

    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, pairs):
        self._choices = _select_choices(pairs)

    def values(self) -> set[str]:
        return {c.value for c in self._choices or ()}

    def pre_validate(self, form):
        if self.data is None or str(self.data) not in self.values():
            raise ValidationError(self.invalid_choice_message)


def _date_field(label, *, required=True, **kwargs):
    validators = [InputRequired(message=_l("Escriba la fecha."))] if required else [Optional()]
    return DateField(label, validators=validators, format=["%Y-%m-%d", "%d/%m/%Y"],
                     invalid_value_message=_l("Esa fecha no existe o no se entiende: escríbala dd/mm/aaaa o use "
                                              "el calendario."), **kwargs)


def _text(label, max_length: int, *, required: str | None = None, **kwargs):
    validators = [InputRequired(message=required)] if required else [Optional()]
    validators.append(Length(max=max_length, message=_l("Demasiado largo: máximo %(max)d caracteres.",
                                                         max=max_length)))
    return StringField(label, validators=validators, filters=[clean_text], **kwargs)


def _no_control(form, field):
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Quite los caracteres especiales."))


# -- the list's filters (GET, no CSRF: it changes nothing) --------------------------------------------------------
DAYS_LATE_BUCKETS = {"0": (_l("Al día"), 0, 0), "1-7": (_l("1 a 7 días"), 1, 7), "8-30": (_l("8 a 30 días"), 8, 30),
                     "31-90": (_l("31 a 90 días"), 31, 90), "90+": (_l("Más de 90 días"), 91, None)}
SORTS = {"nombre": _l("Nombre"), "atraso": _l("Mayor atraso"), "saldo": _l("Mayor saldo")}


class SearchForm(FlaskForm):
    """The list's search and filters, read from the query string."""

    class Meta:
        csrf = False

    q = _text(_l("Buscar"), 100)
    segmento = Choice(_l("Segmento"), default="")
    estado = Choice(_l("Estado del crédito"), default="",
                    choices=[("", _l("Todos"))] + [(k, v) for k, v in LOAN_STATUS_LABELS.items()])
    asesor = Choice(_l("Asesor"), default="")
    atraso = Choice(_l("Días de atraso"), default="",
                    choices=[("", _l("Todos"))] + [(k, v[0]) for k, v in DAYS_LATE_BUCKETS.items()])
    orden = Choice(_l("Ordenar por"), default="nombre", choices=list(SORTS.items()))
    pagina = StringField(_l("Página"), default="1")

    def validate_pagina(self, field):
        text = str(field.data or "1").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 6 or int(text) < 1:
            raise ValidationError(_l("La página debe ser un número desde 1."))
        field.data = int(text)


# -- the debtor form ----------------------------------------------------------------------------------------------
class PhoneRow(Form):
    """One phone row: the number, personal or shared, the channels the debtor authorised."""

    number = StringField(_l("Número"), validators=[Length(max=40, message=_l("Demasiado largo."))],
                         filters=[clean_text])
    kind = Choice(_l("De quién es"), default="personal",
                  choices=[("personal", _l("Personal")), ("compartido", _l("Compartido (familiar, vecino, tienda)"))])
    sms = BooleanField(_l("SMS"), default=True)
    call = BooleanField(_l("Llamada"))


@functools.lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """The zones the form's list suggests (America, Europe/Madrid); any IANA name is accepted."""
    import zoneinfo

    return tuple(sorted(z for z in zoneinfo.available_timezones()
                        if z.startswith("America/") or z in ("Europe/Madrid", "UTC")))


class DebtorForm(FlaskForm):
    """A debtor: identity, phones, who follows it, how to contact it. ``country`` (set by the view) reads
    the phones; after :meth:`validate` ``phones_e164`` holds the phones as ``(number, personal,
    channels)``."""

    name = _text(_l("Nombre completo"), 120, required=_l("Escriba el nombre del deudor."))
    document = _text(_l("Documento (cédula, DNI)"), 30)
    phones = FieldList(FormField(PhoneRow), min_entries=2, max_entries=MAX_PHONES)
    officer = _text(_l("Asesor"), 80)
    group = _text(_l("Grupo"), 80)
    tags = _text(_l("Etiquetas"), 300)
    language = Choice(_l("Idioma de los mensajes"), default="es", choices=list(LANGUAGE_LABELS.items()))
    timezone = _text(_l("Zona horaria"), 60, required=_l("Escriba la zona horaria, por ejemplo America/Bogota."))
    jurisdiction = Choice(_l("País (reglas de contacto)"), choices=list(COUNTRIES.items()))
    profile = Choice(_l("Reglas de contacto"), default="",
                     choices=[("", _l("Las del país del deudor"))]
                     + [(code, profile.name) for code, profile in BUILTIN.items()])

    country = "CO"
    phones_e164: list[tuple[str, bool, frozenset[str]]]

    def validate_name(self, field):
        _no_control(self, field)
        if field.data and not _LETTER.search(field.data):
            raise ValidationError(_l("El nombre debe tener letras."))

    def validate_document(self, field):
        _no_control(self, field)
        if field.data:
            try:
                normalise_document(field.data)
            except ValueError:
                raise ValidationError(_l("El documento debe tener números o letras (o déjelo vacío).")) from None

    def validate_officer(self, field):
        _no_control(self, field)

    def validate_group(self, field):
        _no_control(self, field)

    def validate_tags(self, field):
        _no_control(self, field)
        for tag in self.tag_list():
            if len(tag) > 40:
                raise ValidationError(_l("Cada etiqueta puede tener hasta 40 caracteres; sepárelas con comas."))

    def validate_timezone(self, field):
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(field.data or "")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_l("Zona horaria desconocida: elija una de la lista, por ejemplo "
                                     "America/Bogota.")) from None

    def validate_phones(self, field):
        self.phones_e164 = []
        seen: set[str] = set()
        for row in field.entries:
            if not row.form.number.data:
                continue
            try:
                number = normalise_phone(row.form.number.data, self.country)
            except ValueError as exc:
                row.form.number.errors.append(str(exc))
                continue
            if number in seen:
                row.form.number.errors.append(f"El número {number} está repetido: déjelo una sola vez.")
                continue
            seen.add(number)
            channels = frozenset(c for c, on in (("sms", row.form.sms.data), ("call", row.form.call.data)) if on)
            if not channels:
                row.form.number.errors.append(f"Marque al menos un canal autorizado (SMS o llamada) para {number}.")
                continue
            self.phones_e164.append((number, row.form.kind.data != "compartido", channels))
        if any(row.form.number.errors for row in field.entries):
            raise ValidationError(_l("Revise los teléfonos marcados."))
        if not self.phones_e164:
            raise ValidationError(_l("Escriba al menos un teléfono."))

    def tag_list(self) -> tuple[str, ...]:
        """The tags typed, separated by commas (or ``;``), without repeats."""
        out: list[str] = []
        for part in re.split(r"[,;]", self.tags.data or ""):
            tag = clean_text(part)
            if tag and tag not in out:
                out.append(tag)
        return tuple(out)


# -- loans --------------------------------------------------------------------------------------------------------
class LoanForm(FlaskForm):
    """A loan and its instalment plan: ``mode`` ``generar`` (amount, count, first date, frequency) or
    ``escribir`` (one ``fecha; valor`` per line). After :meth:`validate`, ``instalments`` holds the plan."""

    loan_id = _text(_l("Número del crédito"), 64, required=_l("Escriba el número del crédito."))
    product = _text(_l("Producto"), 60)
    currency = Choice(_l("Moneda"), choices=[(c, c) for c in CURRENCIES])
    status = Choice(_l("Estado"), default="active", choices=list(LOAN_STATUS_LABELS.items()))
    mode = Choice(_l("Plan de cuotas"), default="generar",
                  choices=[("generar", _l("Calcular las cuotas")), ("escribir", _l("Escribir cuota por cuota"))])
    total = _text(_l("Valor total a pagar"), 30)
    count = _text(_l("Número de cuotas"), 6)
    first_due = _date_field(_l("Fecha de la primera cuota"), required=False)
    frequency = Choice(_l("Frecuencia"), default="mensual", choices=list(FREQUENCY_LABELS.items()))
    rows = TextAreaField(_l("Cuotas (una por línea: fecha; valor)"),
                         validators=[Length(max=30000, message=_l("Demasiado largo: escriba como máximo 600 cuotas."))])

    instalments: tuple[Instalment, ...] = ()

    def validate_loan_id(self, field):
        _no_control(self, field)
        if field.data and field.data.startswith(_FORMULA_START):
            raise ValidationError(_l("El número del crédito no puede empezar con =, +, - ni @."))

    def validate_product(self, field):
        _no_control(self, field)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.mode.data == "generar":
            ok = self._generate() and ok
        elif self.mode.data == "escribir":
            try:
                self.instalments = parse_plan_rows(self.rows.data)
            except ValueError as exc:
                self.rows.errors = list(self.rows.errors) + str(exc).split("\n")
                ok = False
        return ok

    def _generate(self) -> bool:
        ok = True
        total = count = None
        try:
            total = parse_amount(self.total.data)
        except ValueError as exc:
            self.total.errors = list(self.total.errors) + [str(exc)]
            ok = False
        text = (self.count.data or "").strip()
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_INSTALMENTS:
            self.count.errors = list(self.count.errors) + [
                f"Escriba el número de cuotas: un número entero de 1 a {MAX_INSTALMENTS}."]
            ok = False
        else:
            count = int(text)
        first = self.first_due.data
        if first is None:
            if not self.first_due.errors:
                self.first_due.errors = list(self.first_due.errors) + ["Escriba la fecha de la primera cuota."]
            ok = False
        else:
            try:
                check_year(first)
            except ValueError as exc:
                self.first_due.errors = list(self.first_due.errors) + [str(exc).capitalize()]
                ok = False
        if ok and total is not None and count is not None:
            try:
                self.instalments = generate_plan(total, count, first, self.frequency.data)
            except ValueError as exc:
                self.total.errors = list(self.total.errors) + [str(exc)]
                ok = False
        return ok


# -- actions on the debtor page -----------------------------------------------------------------------------------
class PaymentForm(FlaskForm):
    """A payment received in the office: loan, amount, date, optional reference and note."""

    loan = Choice(_l("Crédito"))
    amount = _text(_l("Valor pagado"), 30, required=_l("Escriba el valor pagado."))
    day = _date_field(_l("Fecha del pago"))
    reference = _text(_l("Referencia o recibo"), 60)
    note = _text(_l("Nota"), 300)

    value: Decimal | None = None

    def validate_amount(self, field):
        try:
            self.value = parse_amount(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_reference(self, field):
        _no_control(self, field)

    def validate_note(self, field):
        _no_control(self, field)


class PromiseForm(FlaskForm):
    """A promise to pay: by which date, how much, for which loan (or all)."""

    loan = Choice(_l("Crédito"), default="")
    amount = _text(_l("Valor prometido"), 30, required=_l("Escriba el valor que promete pagar."))
    day = _date_field(_l("Fecha prometida"))
    note = _text(_l("Nota"), 300)

    value: Decimal | None = None

    def validate_amount(self, field):
        try:
            self.value = parse_amount(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_note(self, field):
        _no_control(self, field)


class PhoneActionForm(FlaskForm):
    """Opt a phone out (``baja``) or authorise it again (``alta``)."""

    number = HiddenField(validators=[InputRequired(message=_l("Falta el número.")), Length(max=20)])
    action = Choice(choices=[("baja", "baja"), ("alta", "alta")])


class CallForm(FlaskForm):
    """A call made from the office: to which number, whether it was answered, a note."""

    number = Choice(_l("Teléfono"))
    result = Choice(_l("Resultado"), default="contestada",
                    choices=[("contestada", _l("Contestó")), ("sin_respuesta", _l("No contestó"))])
    note = _text(_l("Qué se habló"), 500)

    def validate_note(self, field):
        _no_control(self, field)


class SendNowForm(FlaskForm):
    """"Enviar ahora": only the CSRF token."""
