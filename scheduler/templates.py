"""Message templates: whitelisted placeholders, per-language text, a safe variant for shared phones.

A template is plain text with placeholders in braces — ``{nombre}``,
``{monto}``… — from :data:`PLACEHOLDERS` only. Rendering is a substitution,
never the evaluation of a template language: staff-written text cannot reach
attributes, call functions or loop (``{{`` and ``}}`` write literal braces).

Each :class:`Template` has, per language, a ``personal`` text and a
``shared`` text. The shared text goes to a phone not marked personal (a
neighbour's, a shop's, a group leader's): it may not use any placeholder
that discloses the debt (:data:`DEBT_PLACEHOLDERS`) nor words that name it
(:data:`DEBT_WORDS`). Every text must name the creditor (``{cooperativa}``).
All of this is checked when templates are loaded (:class:`TemplateError`
naming the key), not when a message is sent.

Values are formatted for the debtor's country with Babel (CLDR data,
offline): ``$ 150.000`` in Colombia, ``S/ 150,000`` in Peru; dates as
``15/12`` (``Dec 15`` in English).

:func:`preview` gives a text's encoding, segments and characters left (from
``modem.pdu.plan``), and :func:`worst_case` the most expensive rendering
over many debtors.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping

from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_symbol

from modem.pdu import plan as pdu_plan
from modem.pdu.gsm7 import is_gsm7
from scheduler.errors import TemplateError

PLACEHOLDERS: Mapping[str, str] = {
    "nombre": "nombre de pila del deudor",
    "monto": "valor pendiente de la cuota",
    "cuota": "número de la cuota y total (3/12)",
    "saldo": "saldo pendiente del crédito",
    "vence": "fecha de vencimiento de la cuota (15/12)",
    "dias_mora": "días de atraso de la cuota",
    "asesor": "nombre del asesor del crédito",
    "cooperativa": "nombre de la cooperativa",
    "telefono_cooperativa": "teléfono de la cooperativa",
    "referencia_pago": "referencia para pagar (número del crédito)",
    "medios_pago": "dónde y cómo pagar",
}
"""The only placeholders a template may use (name -> what it shows)."""

DEBT_PLACEHOLDERS = frozenset({"monto", "cuota", "saldo", "vence", "dias_mora", "referencia_pago", "medios_pago"})
"""Placeholders that disclose a debt: never in a text for a shared phone."""

DEBT_WORDS = ("deuda", "debe", "mora", "saldo", "cuota", "vence", "vencid", "pago", "pagar", "cobr", "credito",
              "prestamo", "atras", "$")
"""Fragments (accent-free, lower case) a shared-phone text may not contain."""

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
LANGUAGES = ("es", "en")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


@functools.lru_cache(maxsize=1024)
def placeholders_in(text: str, key: str = "plantilla") -> tuple[str, ...]:
    """The placeholders ``text`` uses, in order. Raises :class:`TemplateError` for an unknown
    placeholder or a lone brace."""
    found = []
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(f"«{key}»: llave «{token}» sin cerrar; para escribir una llave use «{token * 2}».",
                                key=key)
        if name not in PLACEHOLDERS:
            raise TemplateError(f"«{key}»: el campo «{{{name}}}» no existe; campos posibles: "
                                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + ".", key=key)
        found.append(name)
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def _pieces(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``text`` cut the way :func:`substitute` reads it: the literal runs (``{{``/``}}`` already made
    braces) and the placeholder names between them (``""`` for a lone brace: it becomes nothing)."""
    literals: list[str] = []
    names: list[str] = []
    run: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        run.append(text[position:match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            run.append(token[0])
        else:
            literals.append("".join(run))
            names.append(match.group(1) or "")
            run = []
        position = match.end()
    run.append(text[position:])
    literals.append("".join(run))
    return tuple(literals), tuple(names)


def _substituted(text: str, values: Mapping[str, str]) -> str:
    """:func:`substitute`, with ``text`` cut once (:func:`_pieces`) for every message that uses it."""
    literals, names = _pieces(text)
    parts = [literals[0]]
    for name, literal in zip(names, literals[1:]):
        parts.append(values.get(name, ""))
        parts.append(literal)
    return "".join(parts)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each placeholder with ``values[name]`` (already formatted text); ``{{``/``}}`` become braces."""
    def one(match: re.Match) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values.get(match.group(1) or "", "")
    return _PLACEHOLDER.sub(one, text)


@dataclass(frozen=True)
class TemplateText:
    """The two variants of one language: for a personal phone and for a shared one."""

    personal: str
    shared: str


@dataclass(frozen=True)
class Template:
    """A named message: ``tone`` (``amable``, ``firme``, ``positivo``…) and texts per language."""

    name: str
    texts: Mapping[str, TemplateText]
    tone: str = ""

    def text(self, language: str, personal: bool, fallback: str = "es") -> str:
        variant = self.texts.get(language) or self.texts.get(fallback) or next(iter(self.texts.values()))
        return variant.personal if personal else variant.shared


def check_template(template: Template, *, key: str) -> None:
    """Validate every text of ``template``; raises :class:`TemplateError` naming the key."""
    if not template.texts:
        raise TemplateError(f"«{key}» no tiene ningún texto.", key=key)
    for language, variant in template.texts.items():
        for kind, text in (("personal", variant.personal), ("shared", variant.shared)):
            where = f"{key}.{language}" + ("" if kind == "personal" else "_compartido")
            if not isinstance(text, str) or not text.strip():
                raise TemplateError(f"«{where}» está vacío.", key=where)
            used = placeholders_in(text, where)
            if "cooperativa" not in used:
                raise TemplateError(f"«{where}»: todo mensaje debe nombrar a la cooperativa con {{cooperativa}}.",
                                    key=where)
            if kind == "shared":
                leaked = sorted(set(used) & DEBT_PLACEHOLDERS)
                if leaked:
                    raise TemplateError(f"«{where}»: el texto para teléfonos compartidos no puede mostrar "
                                        f"{{{leaked[0]}}} (revelaría la deuda a otra persona).", key=where)
                literal = _fold(_PLACEHOLDER.sub(" ", text))
                words = [w for w in DEBT_WORDS if w in literal]
                if words:
                    raise TemplateError(f"«{where}»: el texto para teléfonos compartidos no puede mencionar "
                                        f"«{words[0]}» (revelaría la deuda a otra persona).", key=where)


# -- formatting --------------------------------------------------------------------------------------------------------
_LOCALES = {"CO": "es_CO", "MX": "es_MX", "PE": "es_PE", "EC": "es_EC", "CL": "es_CL", "AR": "es_AR", "BO": "es_BO",
            "GT": "es_GT", "HN": "es_HN", "NI": "es_NI", "SV": "es_SV", "PY": "es_PY", "UY": "es_UY", "DO": "es_DO",
            "CR": "es_CR", "PA": "es_PA", "VE": "es_VE", "ES": "es_ES", "US": "en_US"}


@functools.lru_cache(maxsize=64)
def _locale(country: str) -> str:
    return _LOCALES.get(country.upper(), "es_419")


@functools.lru_cache(maxsize=64)
def _symbol(currency: str, locale: str) -> str:
    symbol = get_currency_symbol(currency, locale)
    return "$" if symbol in ("US$", "COL$", "MX$", "CLP$") else symbol


@functools.lru_cache(maxsize=64)
def _separators(locale: str) -> tuple[str, str]:
    """(decimal mark, group separator) of ``locale``, read from CLDR through Babel once."""
    sample = format_decimal(Decimal("1234.5"), "#,##0.0", locale=locale)
    return sample[-2], sample[1]


def format_money(amount: Decimal, currency: str, country: str) -> str:
    """``$ 150.000`` (whole amounts without decimals), ``$ 1.234,50`` otherwise, in the country's style
    (symbols and separators from CLDR; the digits grouped by three, as every Latin American locale does)."""
    locale = _locale(country)
    decimal_mark, group = _separators(locale)
    whole = amount == amount.to_integral_value()
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    number = text.replace(",", "\x00").replace(".", decimal_mark).replace("\x00", group)
    return f"{_symbol(currency, locale)} {number}"


def format_day(day: date, language: str) -> str:
    """``15/12`` (``Dec 15`` in English)."""
    if language == "en":
        return format_date(day, "MMM d", locale="en")
    return f"{day.day:02d}/{day.month:02d}"


def first_name(name: str) -> str:
    """The first word of the name (what an SMS says: "Ana", not "Ana María Pérez Gómez")."""
    words = name.split()
    return words[0] if words else name


@dataclass(frozen=True)
class Cooperative:
    """What every message may say about the creditor."""

    name: str = "Cooperativa"
    phone: str = ""
    payment_methods: str = ""
    country: str = "CO"


@dataclass(frozen=True)
class MessageFacts:
    """The facts of one reminder, before formatting."""

    name: str
    amount_due: Decimal
    instalment_number: int
    instalment_count: int
    balance: Decimal
    due_date: date
    days_late: int
    officer: str
    loan_id: str
    currency: str


def _other(language: str, english: str, spanish: str) -> str:
    return english if language == "en" else spanish


_FORMATTERS: Mapping[str, Callable[[MessageFacts, Cooperative, str], str]] = {
    "nombre": lambda facts, coop, language: first_name(facts.name),
    "monto": lambda facts, coop, language: format_money(facts.amount_due, facts.currency, coop.country),
    "cuota": lambda facts, coop, language: f"{facts.instalment_number}/{facts.instalment_count}",
    "saldo": lambda facts, coop, language: format_money(facts.balance, facts.currency, coop.country),
    "vence": lambda facts, coop, language: format_day(facts.due_date, language),
    "dias_mora": lambda facts, coop, language: str(max(facts.days_late, 0)),
    "asesor": lambda facts, coop, language: facts.officer or _other(language, "your loan officer", "su asesor"),
    "cooperativa": lambda facts, coop, language: coop.name,
    "telefono_cooperativa": lambda facts, coop, language: coop.phone or _other(language, "the office", "la oficina"),
    "referencia_pago": lambda facts, coop, language: facts.loan_id,
    "medios_pago": lambda facts, coop, language: coop.payment_methods or _other(language, "the office", "la oficina"),
}


def placeholder_values(facts: MessageFacts, cooperative: Cooperative, language: str,
                       names: Iterable[str] = PLACEHOLDERS) -> dict[str, str]:
    """The formatted text of each placeholder in ``names`` (default: every one) for these facts."""
    return {name: _FORMATTERS[name](facts, cooperative, language) for name in names if name in _FORMATTERS}


@dataclass(frozen=True)
class TemplateSet:
    """Templates by name, validated. ``render`` is what the planner calls."""

    templates: Mapping[str, Template]
    default_language: str = "es"

    def names(self) -> set[str]:
        return set(self.templates)

    def __contains__(self, name: str) -> bool:
        return name in self.templates

    def render(self, name: str, language: str, personal: bool, facts: MessageFacts,
               cooperative: Cooperative) -> str:
        template = self.templates[name]
        text = template.text(language, personal, self.default_language)
        lang = language if language in template.texts else self.default_language
        return _substituted(text, placeholder_values(facts, cooperative, lang, _pieces(text)[1]))


# -- preview -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preview:
    """A rendered text and what it costs: ``encoding`` (``gsm7``/``ucs2``), ``segments``, ``chars_left``
    in the last segment; ``sent`` is the text as sent (after optional transliteration)."""

    text: str
    encoding: str
    segments: int
    chars_left: int
    sent: str


_SEGMENTS_NEVER_EXCEEDED = 8000
"""A sent text this long fits 255 segments in either alphabet (16,000 septets or UTF-16 units at most)."""


@functools.lru_cache(maxsize=4096)
def transliterated(text: str) -> str:
    """``text`` as it is sent with transliteration on (``modem.pdu``: á í ó ú lose their accent only when
    that makes the whole text fit the GSM alphabet).

    That is ``modem.pdu.plan(text, True).text``: the transliterated text, split into segments and
    joined again. Only what ``plan`` could refuse (not a text, a lone surrogate, more than 255
    segments) goes through it; the rest skips counting segments. An ASCII text is sent as it is:
    it is already composed and nothing in it is transliterated."""
    if isinstance(text, str) and text.isascii() and len(text) <= _SEGMENTS_NEVER_EXCEEDED:
        return text
    try:
        text.encode("utf-16-be")
    except (AttributeError, UnicodeEncodeError):
        return pdu_plan(text, True).text  # raises PduError, as it always did
    # modem.pdu.transliterate, with the GSM alphabet as a set
    candidate = unicodedata.normalize("NFC", text).translate(_TRANSLITERATION)
    sent = candidate if _gsm7_alphabet().issuperset(candidate) else text
    return sent if len(sent) <= _SEGMENTS_NEVER_EXCEEDED else pdu_plan(text, True).text


_TRANSLITERATION = str.maketrans({
    "á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...",
})
"""``modem.pdu``'s transliteration table (a test checks :func:`transliterated` against ``plan``)."""


@functools.cache
def _gsm7_alphabet() -> frozenset[str]:
    """Every character of the GSM-7 basic and extension tables (``modem.pdu.gsm7.is_gsm7``); none is
    outside the Basic Multilingual Plane."""
    return frozenset(c for c in map(chr, range(0x10000)) if is_gsm7(c))


def preview(text: str, *, transliterate: bool = False) -> Preview:
    """What sending ``text`` costs (``modem.pdu.plan``)."""
    cost = pdu_plan(text, transliterate)
    return Preview(text, cost.encoding, cost.segments, cost.chars_left, cost.text)


def worst_case(texts: Iterable[str], *, transliterate: bool = False) -> Preview | None:
    """The most expensive of ``texts`` (most segments, then fewest characters left), or ``None``."""
    worst: Preview | None = None
    for text in texts:
        candidate = preview(text, transliterate=transliterate)
        if worst is None or (candidate.segments, -candidate.chars_left) > (worst.segments, -worst.chars_left):
            worst = candidate
    return worst


# -- defaults and configuration ----------------------------------------------------------------------------------------
def _t(name: str, tone: str, es: str, es_shared: str, en: str, en_shared: str) -> Template:
    return Template(name, {"es": TemplateText(es, es_shared), "en": TemplateText(en, en_shared)}, tone)


_SHARED_ES = "{cooperativa}: mensaje para {nombre}. Por favor comuníquese con nosotros. Info: {telefono_cooperativa}."
_SHARED_EN = "{cooperativa}: a message for {nombre}. Please get in touch with us. Info: {telefono_cooperativa}."

DEFAULT_TEMPLATES: Mapping[str, Template] = {t.name: t for t in (
    _t("recordatorio_previo", "amable",
       "{cooperativa}: Hola {nombre}, le recordamos que su cuota {cuota} de {monto} vence el {vence}. "
       "Medios de pago: {medios_pago}. Ref {referencia_pago}.",
       _SHARED_ES,
       "{cooperativa}: Hi {nombre}, a reminder that your instalment {cuota} of {monto} is due on {vence}. "
       "Ways to pay: {medios_pago}. Ref {referencia_pago}.",
       _SHARED_EN),
    _t("recordatorio_manana", "amable",
       "{cooperativa}: {nombre}, mañana {vence} vence su cuota {cuota} de {monto}. Ref {referencia_pago}. "
       "Info: {telefono_cooperativa}.",
       _SHARED_ES,
       "{cooperativa}: {nombre}, your instalment {cuota} of {monto} is due tomorrow, {vence}. Ref {referencia_pago}. "
       "Info: {telefono_cooperativa}.",
       _SHARED_EN),
    _t("vence_hoy", "amable",
       "{cooperativa}: {nombre}, hoy vence su cuota {cuota} de {monto}. Medios de pago: {medios_pago}. "
       "Si ya pagó, gracias.",
       _SHARED_ES,
       "{cooperativa}: {nombre}, your instalment {cuota} of {monto} is due today. Ways to pay: {medios_pago}. "
       "If you already paid, thank you.",
       _SHARED_EN),
    _t("mora_amable", "amable",
       "{cooperativa}: {nombre}, su cuota de {monto} tiene {dias_mora} días de atraso. Póngase al día "
       "({medios_pago}) o responda PROMESA y la fecha. Info: {telefono_cooperativa}.",
       _SHARED_ES,
       "{cooperativa}: {nombre}, your instalment of {monto} is {dias_mora} days late. Please pay ({medios_pago}) "
       "or reply PROMESA and a date. Info: {telefono_cooperativa}.",
       _SHARED_EN),
    _t("mora_firme", "firme",
       "{cooperativa}: {nombre}, su crédito {referencia_pago} tiene {dias_mora} días de atraso y un saldo de "
       "{saldo}. Comuníquese hoy con {asesor}. Info: {telefono_cooperativa}.",
       _SHARED_ES,
       "{cooperativa}: {nombre}, your loan {referencia_pago} is {dias_mora} days late with a balance of {saldo}. "
       "Please contact {asesor} today. Info: {telefono_cooperativa}.",
       _SHARED_EN),
    _t("mora_grave", "firme",
       "{cooperativa}: {nombre}, su crédito {referencia_pago} sigue en mora ({dias_mora} días, saldo {saldo}). "
       "Acérquese a la oficina para acordar el pago. Info: {telefono_cooperativa}.",
       _SHARED_ES,
       "{cooperativa}: {nombre}, your loan {referencia_pago} is still overdue ({dias_mora} days, balance "
       "{saldo}). Please visit the office to agree on a payment. Info: {telefono_cooperativa}.",
       _SHARED_EN),
    _t("visita", "firme",
       "Visita de {asesor} a {nombre}: cuota {cuota} de {monto}, {dias_mora} días de atraso, saldo {saldo}, "
       "crédito {referencia_pago} ({cooperativa}).",
       "Visita de {asesor} a {nombre} ({cooperativa}).",
       "Visit by {asesor} to {nombre}: instalment {cuota} of {monto}, {dias_mora} days late, balance {saldo}, "
       "loan {referencia_pago} ({cooperativa}).",
       "Visit by {asesor} to {nombre} ({cooperativa})."),
    _t("gracias_pago", "positivo",
       "{cooperativa}: ¡Gracias, {nombre}! Recibimos su pago a tiempo. Su saldo es {saldo}.",
       "{cooperativa}: ¡Gracias, {nombre}! Lo esperamos pronto.",
       "{cooperativa}: Thank you, {nombre}! We received your payment on time. Your balance is {saldo}.",
       "{cooperativa}: Thank you, {nombre}! We look forward to seeing you."),
)}
"""Default templates: every ladder step and tone, in Spanish and English, with shared-phone variants."""


def templates_from_config(raw: Mapping[str, Any] | None, *, key: str = "templates",
                          default_language: str = "es") -> TemplateSet:
    """The default templates, replaced or extended by ``raw``.

    ``raw`` is ``{name: {tone, es, es_compartido, en, en_compartido}}``; a
    language given without its ``_compartido`` text uses the default shared
    text. Every text is validated (:func:`check_template`).
    """
    templates = dict(DEFAULT_TEMPLATES)
    for name, body in (raw or {}).items():
        where = f"{key}.{name}"
        if not isinstance(body, Mapping):
            raise TemplateError(f"«{where}» debe ser una tabla con los textos (es = \"...\").", key=where)
        texts: dict[str, TemplateText] = {}
        base = templates.get(name)
        for field_name in body:
            language = field_name.removesuffix("_compartido")
            if field_name != "tone" and language not in LANGUAGES:
                raise TemplateError(f"«{where}.{field_name}» no existe; use es, es_compartido, en, en_compartido o "
                                    "tone.", key=f"{where}.{field_name}")
        for language in LANGUAGES:
            personal = body.get(language)
            shared = body.get(f"{language}_compartido")
            if personal is None and shared is None:
                if base is not None and language in base.texts:
                    texts[language] = base.texts[language]
                continue
            if personal is None:
                personal = base.texts[language].personal if base and language in base.texts else None
                if personal is None:
                    raise TemplateError(f"«{where}.{language}» falta.", key=f"{where}.{language}")
            if shared is None:
                shared = _SHARED_EN if language == "en" else _SHARED_ES
            texts[language] = TemplateText(str(personal), str(shared))
        tone = body.get("tone", base.tone if base else "")
        templates[name] = Template(name, texts, str(tone))
    for name, template in templates.items():
        check_template(template, key=f"{key}.{name}")
    if default_language not in LANGUAGES:
        raise TemplateError(f"«{key}»: idioma por defecto desconocido «{default_language}».", key=key)
    return TemplateSet(templates, default_language)
