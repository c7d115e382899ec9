"""What a debtor's SMS reply means: :func:`understand` (pure: no I/O, no clock).

``understand(text, today=..., words=...)`` reads one inbound SMS and returns a
:class:`Reply`: ``intent`` (one of :data:`INTENTS`), ``amount`` (a
:class:`~decimal.Decimal` or ``None``), ``date`` (or ``None``),
``valid_date`` (the date can be used: a promise from today to 90 days ahead, a
payment from 90 days ago to today), ``matched`` (the words recognised, as the
debtor wrote them, for staff) and ``reason`` (a short Spanish sentence:
"palabra clave BAJA", "fecha «el viernes» = 27/11/2026"). It never raises on
any text: emoji, HTML, "=HYPERLINK(...)", thousands of characters, nothing.
``today`` is given by the caller; the module never reads the clock (its CLI
does: ``python -m scheduler.replies TEXT [--today YYYY-MM-DD]`` prints one
JSON object).

Reading
-------
The text is folded (NFKD, accents dropped, casefold, ñ → n, letters repeated
three times or more written once, punctuation kept only where dates, amounts
and sentence breaks need it) and split into words, numbers and dates;
WhatsApp abbreviations are expanded (q/k → que, xq → porque, porfa/xfa →
por favor, msj → mensajes, d → de, pa → para...). Keywords of 5 letters or
more tolerate one typo (one letter added, dropped, changed or two swapped:
"pagé", "promeza", "sladp" is two typos and is not read); shorter words must
be exact, so "alto" is not "algo" and "pago" is not "paso". Real words one
typo away from a keyword ("cuando"/cuanto, "salgo"/saldo, "vienes"/viernes,
"junto"/junio, "apague"/pague...) are never corrected, and a typo equally
close to two different keywords is not read.

Precedence (several intents in one message)
--------------------------------------------
====  ====================================  =========================================
rank  intent                                why
====  ====================================  =========================================
1     ``opt_out``                           the law requires honouring it, whatever else
                                            the message says ("BAJA ya pagué" → opt_out)
2     ``promise`` with a date               a dated commitment is what staff act on
3     ``payment_claim``                     to be checked against the bank
4     ``balance``                           answered automatically
5     ``promise`` without a date            "voy a pagar, ¿cuánto debo?" → balance
6     ``help``                              only when the message is just the help word
7     ``other``                             everything else goes to the staff inbox
====  ====================================  =========================================

Decisions on ambiguous phrasings
--------------------------------
- Opt-out words that are also ordinary Spanish count only when the message is
  (nearly) just that word, or starts with it: "ALTO", "Salir", "Cancelar",
  "Basta", "No más", "No más, ya pagué". "el interés es muy alto", "voy a
  salir a pagar", "pagué 20 mil no más" (Colombian "only") are not opt-outs.
  BAJA, STOP, UNSUBSCRIBE, QUIT, END, CANCEL, REVOKE, OPT OUT, "no me manden
  (más)", "no me escriban", "dejen de escribirme", "no quiero recibir",
  "sáquenme de la lista", "cancelar (los) mensajes", "salir de la lista",
  "no más mensajes" count anywhere.
- "cancelé" / "ya cancelé" is a payment (Latin-American "cancelar una
  deuda"); "cancelar mensajes" is an opt-out.
- "no puedo pagar", "no tengo plata", "no he pagado" are ``other`` (a negated
  verb is no promise and no payment; the reason says so). "ya no debo
  nada" / "no debo nada" / "paz y salvo" / "estoy al día" are
  ``payment_claim`` without amount: the debtor says the debt is paid.
- "pago", "abono", "consigno", "deposito" (present tense, ambiguous) are a
  promise when a date goes with them ("pago el viernes", "el 15 pago"), a
  payment claim when they start the message or come with "ya" or an amount
  ("PAGO 50000", "ya pago"), and nothing otherwise ("¿dónde hago el pago?").
  With a past date ("pagó ayer") they are a payment claim.
- Past verbs ("pagué", "consigné") take past dates: "pagué el viernes" is the
  last Friday before today, "pagué el 20" the last 20th. "pagué mañana", or
  "pague el 15/12" whose last 15/12 was more than 90 days ago while the next
  is within 90 days, is read as a promise (an unaccented "pague" said about
  the future); with "ya" it stays a claim.
- A reply that is only a date ("el viernes", "mañana sin falta", "15/12",
  "15/12 50 mil") answers the reminder: a ``promise``. "le llevo la cuota",
  "paso a pagar", "le cumplo", "sin falta" with a date are promises too.
  "ahorita", "ahora mismo", "en un rato", "más tarde", "esta tarde" are today.
- "Dios le pague" is a thank-you, not a payment claim.
- "AYUDA" is ``help`` only when the message is just that (with greetings or
  "por favor"); "ayúdeme que no puedo pagar" is a person for staff: ``other``.
  A message of only "?" is ``help``.
- "saldo" negated ("no tengo saldo", phone credit) is not a balance request.
- Amounts: "." and "," followed by exactly three digits are thousands
  separators ("50.000", "50,000", "1.200.000"); followed by one or two
  digits they are the decimal mark ("50,5" = 50,50 and "50.5" = 50,50 — the
  currency may be dollars or soles, and pesos never have such decimals, so
  staff will see it); "120.000,50" and "120,000.50" are read with the last
  separator as decimal; any other grouping ("5.0000") is not an amount.
  "50 mil", "50mil", "50k", "50 lucas", "1,5 millones", "un millón
  doscientos mil", "cincuenta mil" are read; "$" and "pesos" are allowed.
  Numbers that are a document, reference, phone (10 digits or more), time
  ("a las 3", "3pm", "3:30"), count ("2 cuotas", "3 días") or ordinal
  ("1ra") are not amounts. A message with several amounts gives the one
  nearest to the verb that won (a written "$", "mil" or thousands
  separator preferred).
- Dates: ``15/12``, ``15-12``, ``15/12/2026``, ``15-12-26``, ``2026-12-15``,
  "15 de diciembre (de 2026)", "15 dic", "diciembre 15", "el 15", "el día
  15", "el quince", "el viernes", "este viernes", "el viernes pasado",
  "hoy", "mañana" (but "en la mañana" is a time of day), "pasado mañana",
  "ayer", "anteayer", "fin de mes", "fin de semana" (Saturday), "la
  quincena" (the 15th or the last day of the month, whichever comes
  first), "en 3 días", "en una semana", "la próxima semana" (its Monday).
  For a promise, a date without a year is the next occurrence on or after
  today (15/01 in December is next January; "el viernes" is the next Friday
  after today, a week ahead on a Friday); for a payment claim, the last one
  on or before today. An impossible date ("31/02") is no date, and the
  reason says so.

Words of the cooperative
------------------------
:class:`ReplyWords` adds words per intent (Quechua, Guaraní, local slang),
built from the ``[replies]`` table by :func:`words_from_config`; they are
folded like the message and count like the built-in words of their intent
(opt-out and balance anywhere, payment and promise as verbs that a "no"
cancels, help only alone; longer phrases are read first). Refused, naming
the key: an unknown intent, a value that is not a list of texts, a text
without letters, a single word too common to decide anything ("no", "si",
"el", "q"), a word the built-in rules already read as another intent
(``balance = ["baja"]``), and the same word under two intents.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import datetime as _dt
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

from scheduler.errors import PolicyError

INTENTS = ("balance", "payment_claim", "promise", "opt_out", "help", "other")
#: intents a cooperative may add words to (``other`` is everything else).
CONFIGURABLE_INTENTS = ("opt_out", "promise", "payment_claim", "balance", "help")
#: a promise more than this many days ahead, or a payment claimed more than this many days ago,
#: is unusual: still read, but ``valid_date`` is false.
HORIZON_DAYS = 90
#: keywords this long or longer tolerate one typo; shorter ones must be exact.
FUZZY_MIN_LENGTH = 5
MAX_AMOUNT = Decimal(10) ** 12

_INTENT_NAMES = {"promise": "la promesa", "payment_claim": "el pago", "balance": "la consulta de saldo",
                 "help": "la ayuda", "opt_out": "la baja"}


# ---------------------------------------------------------------------------------------------
# public types


@dataclass(frozen=True)
class Reply:
    """What one SMS means. ``to_dict()`` is its JSON form (amount as a string, date ISO)."""

    intent: str
    amount: Decimal | None = None
    date: _dt.date | None = None
    valid_date: bool = False
    matched: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``intent``, ``amount`` (``"50000"``, ``"50.50"`` or None), ``date`` (ISO or None),
        ``valid_date``, ``matched``, ``reason``."""
        return {
            "intent": self.intent,
            "amount": None if self.amount is None else format(self.amount, "f"),
            "date": None if self.date is None else self.date.isoformat(),
            "valid_date": self.valid_date,
            "matched": self.matched,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ReplyWords:
    """Extra words or phrases per intent that a cooperative adds to the built-in ones.

    Each field is a tuple of texts (lists are accepted and made tuples). Invalid content (see
    :func:`words_from_config`) raises :class:`~scheduler.errors.PolicyError` naming the key
    (``replies.opt_out[0]``)."""

    opt_out: tuple[str, ...] = ()
    promise: tuple[str, ...] = ()
    payment_claim: tuple[str, ...] = ()
    balance: tuple[str, ...] = ()
    help: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for f in fields(self):
            items = _check_words(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, items)
            for index, item in enumerate(items):
                key = " ".join(tok.raw for tok in _tokenize(_fold(item)[0]) if tok.kind == "word")
                here = f"replies.{f.name}[{index}]"
                if key in seen and not seen[key].startswith(f"replies.{f.name}["):
                    raise PolicyError(f"«{here}» («{item}») ya está en «{seen[key]}»: una palabra significa una "
                                      "sola cosa.", key=here)
                seen.setdefault(key, here)


def words_from_config(raw: Mapping[str, Any] | None) -> ReplyWords:
    """The cooperative's words from the ``[replies]`` table of the configuration, e.g.
    ``{"opt_out": ["chau"], "balance": ["cuanto falta"]}``; ``None`` or ``{}`` gives
    :data:`DEFAULT_WORDS`.

    Raises :class:`~scheduler.errors.PolicyError` naming the key for an unknown intent
    (``replies.otro``), a value that is not a list of texts (``replies.balance``), or an item that
    is not a text, holds no letter, is too common, is already read as another intent or is
    repeated under two intents (``replies.opt_out[0]``)."""
    if raw is None:
        return DEFAULT_WORDS
    if not isinstance(raw, Mapping):
        raise PolicyError("«replies» debe ser una sección [replies] con listas de palabras por intención.",
                          key="replies")
    for name in raw:
        if name not in CONFIGURABLE_INTENTS:
            raise PolicyError(f"«replies.{name}» no existe; intenciones posibles: "
                              f"{', '.join(CONFIGURABLE_INTENTS)}.", key=f"replies.{name}")
    return ReplyWords(**raw)


def _check_words(name: str, items: Any) -> tuple[str, ...]:
    key = f"replies.{name}"
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)):
        raise PolicyError(f"«{key}» debe ser una lista de palabras entre comillas, por ejemplo "
                          f"{name} = [\"chau\"].", key=key)
    for index, item in enumerate(items):
        item_key = f"{key}[{index}]"
        if not isinstance(item, str):
            raise PolicyError(f"«{item_key}» debe ser una palabra entre comillas, no {item!r}.", key=item_key)
        folded, _ = _fold(item)
        if not any(tok.kind == "word" for tok in _tokenize(folded)):
            raise PolicyError(f"«{item_key}» («{item}») debe tener al menos una letra.", key=item_key)
        if len(item) > 80:
            raise PolicyError(f"«{item_key}» es demasiado larga (máximo 80 caracteres).", key=item_key)
        words = [tok.raw for tok in _tokenize(folded) if tok.kind == "word"]
        if len(words) == 1 and (len(words[0]) < 3 or words[0] in _FILLERS or words[0] in _NEGATIONS
                                or _ABBREV.get(words[0], "") in _FILLERS):
            raise PolicyError(f"«{item_key}» («{item}») es una palabra demasiado común para decidir una "
                              "respuesta; use una frase más larga.", key=item_key)
        if _DEFAULT_READY:
            already = _understand(item, _dt.date(2000, 1, 1), DEFAULT_WORDS).intent
            if already not in ("other", name):
                raise PolicyError(f"«{item_key}» («{item}») ya se entiende como «{already}» sin configurarla; "
                                  f"quítela o póngala en «replies.{already}».", key=item_key)
    return tuple(items)


_DEFAULT_READY = False
DEFAULT_WORDS = ReplyWords()


# ---------------------------------------------------------------------------------------------
# folding and tokens

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"}


def _fold(text: str) -> tuple[str, list[int]]:
    """Casefold, NFKD, drop combining marks; each folded character's index in ``text``."""
    out: list[str] = []
    where: list[int] = []
    for index, ch in enumerate(text):
        ch = _APOSTROPHES.get(ch, ch)
        for c in unicodedata.normalize("NFKD", ch.casefold()):
            if unicodedata.combining(c):
                continue
            out.append(c)
            where.append(index)
    return "".join(out), where


_TOKEN = re.compile(r"""
    (?P<iso>(?<![0-9])[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?![0-9]))
  | (?P<dmy>(?<![0-9])[0-9]{1,2}[/-][0-9]{1,2}(?:[/-](?:[0-9]{4}|[0-9]{2}))?(?![0-9/-]))
  | (?P<time>(?<![0-9])[0-9]{1,2}:[0-9]{2}(?![0-9]))
  | (?P<num>[0-9]+(?:[.,][0-9]+)*)
  | (?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)
  | (?P<sym>[$?%\#])
  | (?P<stop>[,.;:!\u00a1\u00bf\n\r])
""", re.X)
_RUNS = re.compile(r"([^\W\d_])\1{2,}")


@dataclass(frozen=True)
class _Tok:
    kind: str  # word num date time sym stop
    raw: str
    start: int
    end: int
    glued: bool  # touches the previous token


def _tokenize(folded: str) -> list[_Tok]:
    toks: list[_Tok] = []
    last_end = -1
    for m in _TOKEN.finditer(folded):
        kind = m.lastgroup or "stop"
        raw = m.group()
        if kind in ("iso", "dmy"):
            kind = "date"
        elif kind == "word":
            raw = _RUNS.sub(r"\1", raw)
        toks.append(_Tok(kind, raw, m.start(), m.end(), m.start() == last_end))
        last_end = m.end()
    return toks


# ---------------------------------------------------------------------------------------------
# vocabulary

_ABBREV = {
    "q": "que", "k": "que", "ke": "que", "xq": "porque", "pq": "porque", "xk": "porque", "porq": "porque",
    "porfa": "porfavor", "porfis": "porfavor", "xfa": "porfavor", "xfavor": "porfavor", "pf": "porfavor",
    "plis": "porfavor", "pls": "porfavor", "please": "porfavor", "x": "por", "d": "de", "dl": "del",
    "pa": "para", "pal": "para", "tmb": "tambien", "tb": "tambien", "oy": "hoy", "hoi": "hoy",
    "mnn": "manana", "mna": "manana", "mnana": "manana", "mnna": "manana", "msj": "mensajes",
    "msjs": "mensajes", "mjs": "mensajes", "mnsj": "mensajes", "sms": "mensajes", "mensaje": "mensajes",
    "mensajitos": "mensajes", "sld": "saldo", "cnto": "cuanto", "cuant": "cuanto", "dbo": "debo",
    "nd": "nada", "nda": "nada", "ud": "usted", "uds": "ustedes", "ps": "pues", "ok": "ok", "okey": "ok",
    "okay": "ok", "sr": "senor", "sra": "senora", "stopp": "stop", "antier": "anteayer", "tqm": "gracias",
    "grs": "gracias", "grax": "gracias", "grcs": "gracias",
    # a pronoun glued to the verb: "pagarle" is "pagar"
    "pagarle": "pagar", "pagarles": "pagar", "pagarte": "pagar", "consignarle": "consignar",
    "consignarles": "consignar", "abonarle": "abonar", "abonarles": "abonar", "cancelarle": "cancelar",
    "depositarle": "depositar", "transferirle": "transferir", "girarle": "girar",
}

_WEEKDAYS = {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6}
_WEEKDAY_ABBR = {"lun": 0, "mar": 1, "mie": 2, "mier": 2, "jue": 3, "vie": 4, "vier": 4, "sab": 5, "dom": 6}
_MONTHS = {"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
           "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12}
_MONTH_ABBR = {"ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sep": 9,
               "sept": 9, "set": 9, "oct": 10, "nov": 11, "dic": 12}
_NUMBER_WORDS = {
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiun": 21, "veintiuno": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28,
    "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200,
    "trescientos": 300, "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500,
    "quinientas": 500, "seiscientos": 600, "seiscientas": 600, "setecientos": 700, "setecientas": 700,
    "ochocientos": 800, "ochocientas": 800, "novecientos": 900, "novecientas": 900,
}
_DAY_WORDS = {w: v for w, v in _NUMBER_WORDS.items() if 1 <= v <= 31 and w not in ("un", "una")}
_DAY_WORDS["primero"] = 1
_ORDINAL = {"ro", "ero", "o", "er"}
_MULTIPLIERS = {"mil": 1000, "k": 1000, "luca": 1000, "lucas": 1000, "millon": 10 ** 6, "millones": 10 ** 6,
                "palo": 10 ** 6, "palos": 10 ** 6}
_CURRENCY_AFTER = {"pesos", "peso", "cop", "usd", "dolares", "dolar", "soles", "sol", "lempiras", "quetzales",
                   "bolivianos", "guaranies", "mxn", "pen", "clp", "dollars"}
_CURRENCY_BEFORE = {"$", "cop", "usd", "us"}
_NOT_AMOUNT_BEFORE = {"ref", "referencia", "comprobante", "recibo", "nro", "numero", "cc", "cedula",
                      "documento", "nit", "cuenta", "codigo", "tel", "telefono", "cel", "celular", "whatsapp",
                      "guia", "pin", "clave", "operacion", "transaccion", "aprobacion", "factura", "credito",
                      "prestamo", "radicado", "ticket", "id", "ci", "dni", "rut", "curp"}
_WEAK_NOT_AMOUNT_BEFORE = {"cuota", "cuotas", "las", "la", "hace", "en", "dentro", "unos", "unas"}
_NOT_AMOUNT_AFTER = {"cuotas", "cuota", "dias", "dia", "semanas", "semana", "meses", "mes", "anos", "ano",
                     "horas", "hora", "hrs", "hr", "h", "minutos", "min", "am", "pm", "veces", "personas",
                     "hijos", "%", "x", "ra", "da", "er", "ro", "do", "to", "vo", "mo"}
_FILLERS = {
    "hola", "ola", "holi", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "porfavor", "por",
    "favor", "gracias", "muchas", "ok", "vale", "si", "senor", "senora", "senorita", "don", "dona", "quiero",
    "deseo", "solicito", "necesito", "que", "ya", "mi", "me", "el", "la", "los", "las", "de", "un", "una", "a",
    "al", "y", "e", "o", "le", "lo", "amigo", "amiga", "joven", "saludos", "bendiciones", "dios", "att",
    "atentamente", "disculpe", "perdon", "pues", "bueno", "usted", "ustedes", "entonces", "listo", "dale",
    "claro", "acuerdo", "perfecto", "bien", "esta", "este", "|", "?", "%", "$", "~",
}
_NEGATIONS = {"no", "nunca", "tampoco", "ni", "jamas"}
_NEGATION_SKIP = {"le", "les", "lo", "la", "los", "las", "me", "te", "se", "nos", "he", "hemos", "ha", "han",
                  "e", "yo", "aun", "todavia", "tengo", "tenia", "tenemos", "hay", "puedo", "pude", "podido",
                  "podemos", "he", "ah", "a", "su", "mi", "el", "se", "lo"}

#: words that tolerate one typo, each with its canonical word (all 5 letters or more)
_FUZZY_BUILTIN = {
    "saldo": "saldo", "pague": "pague", "promesa": "promesa", "prometo": "prometo", "consigne": "consigne",
    "consigno": "consigno", "deposite": "deposite", "deposito": "deposito", "transferi": "transferi",
    "ayuda": "ayuda", "cuanto": "cuanto", "manana": "manana", "unsubscribe": "unsubscribe",
    "unsuscribe": "unsubscribe", "mensajes": "mensajes", "comprobante": "comprobante",
    "consignacion": "consignacion", "transferencia": "transferencia", "recordatorios": "recordatorios",
    "porfavor": "porfavor", "quincena": "quincena", "semana": "semana", "comprometo": "comprometo",
    "compromiso": "compromiso", "balance": "balance", "pagare": "pagare", "diciembre": "diciembre",
    "noviembre": "noviembre", "octubre": "octubre", "septiembre": "septiembre", "setiembre": "septiembre",
    "agosto": "agosto", "julio": "julio", "junio": "junio", "abril": "abril", "marzo": "marzo",
    "febrero": "febrero", "enero": "enero", "lunes": "lunes", "martes": "martes", "miercoles": "miercoles",
    "jueves": "jueves", "viernes": "viernes", "sabado": "sabado", "domingo": "domingo",
    "desuscribir": "desuscribir", "desuscribirme": "desuscribirme", "gracias": "gracias",
}
#: real words one typo away from a keyword: read as themselves, never corrected
_PROTECTED = {
    "cuando", "cuento", "canto", "cuanta", "salgo", "salto", "salud", "salio", "salia", "caldo", "marco", "mazo",
    "junto", "julia", "abrir", "abri", "entero", "manzana", "manada", "pegue", "apague", "pagues", "vienes",
    "viene", "salado", "domino", "lunas", "marte", "promesas", "pagaste", "pagase", "pagara", "semanal",
    "semanas", "mensaje", "depositar", "consignar", "pagar", "pagan", "pagas", "pague", "sabados", "domingos",
    "lunes", "enera", "ayude", "ayudo", "ayudas", "deposita", "consigna", "trasfer", "mercedes", "jugos",
    "juegos", "nueves", "martas", "marta", "octubres", "agosta", "banana", "manas", "mamana", "hermana",
    "semanita", "saldar", "salda", "saldos", "sueldo", "gracia", "pagare", "prometi", "juan", "jueves",
    "paguen", "paque", "genero", "sabido", "junior", "mario",
}


def _vocabulary_from_patterns(patterns: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for pattern in patterns:
        words.update(re.findall(r"[a-z]+", re.sub(r"\\.", " ", pattern)))
    return words


# ---------------------------------------------------------------------------------------------
# rules: (intent, kind, label, pattern over the canonical words)
#   kind: any (anywhere), start (the message starts with it and it ends there or at a break),
#         alone (the message is only this and fillers), claim / promise / neutral / rest (verbs that a
#         preceding "no" cancels), balance_neg (balance that a "no" cancels)

_VOS = r"(?:le |les |te |nos |se lo |se la |se los )?"
_PAY_NOUN = r"(?:pago|pagos|abono|abonos|consignacion|deposito|transferencia|giro|plata|dinero|cuota|platica)"
_MSG = r"(?:mensajes|recordatorios|llamadas|cobros|spam|molestias|notificaciones|alertas|envios)"

_BUILTIN_RULES: list[tuple[str, str, str, str]] = [
    # set phrases that only look like keywords ("Dios le pague" is a thank-you)
    ("other", "ignore", "", r"dios (?:se lo |se la |le |les |te |me |nos )?(?:pague|paguen|bendiga|premie)"),
    # opt-out, anywhere
    ("opt_out", "any", "palabra clave {KW}", r"baja|bajas|debaja"),
    ("opt_out", "any", "palabra clave {KW}", r"stop|stopall|unsubscribe|quit|end|cancel|revoke|optout|opt out"),
    ("opt_out", "any", "palabra clave {KW}",
     r"desuscribir|desuscribirme|desuscribanme|desuscribame|desuscribirse|desuscripcion|desinscribir|"
     r"desinscribirme|desafiliar|desafiliarme"),
    ("opt_out", "any", "frase «{W}»",
     r"no (?:me |nos )(?:manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas|llamen|llame|llames|"
     r"molesten|moleste|molestes|contacten|contacte|contactes|jodan|joda|jodas|fastidien|fastidie|sigan|vuelvan|"
     r"insistan|insista)(?: mas)?"),
    ("opt_out", "any", "frase «{W}»",
     r"no (?:manden|envien|escriban|llamen|molesten|contacten|jodan|fastidien|insistan) (?:mas|" + _MSG[3:]),
    ("opt_out", "any", "frase «{W}»",
     r"(?:dejen|deje|dejar|dejes|paren|pare) de (?:escribir|escribirme|escribirnos|mandar|mandarme|mandarnos|"
     r"enviar|enviarme|enviarnos|molestar|molestarme|molestarnos|llamar|llamarme|llamarnos|fastidiar|"
     r"fastidiarme|joder|joderme|contactar|contactarme|insistir)"),
    ("opt_out", "any", "frase «{W}»",
     r"no (?:quiero|queremos|deseo|deseamos) (?:recibir|seguir recibiendo|mas " + _MSG + r"|" + _MSG[3:-1]
     + r"|que me (?:escriban|manden|envien|llamen|molesten|contacten|sigan))"),
    ("opt_out", "any", "frase «{W}»",
     r"(?:saquenme|sacarme|sacame|sacarnos|saquen|borrenme|borrarme|borrame|borren|eliminenme|eliminarme|"
     r"eliminen|quitenme|quitarme|quiten|retirenme|retirarme|salir|salirme|salgo|salirnos) (?:de|del) "
     r"(?:la |su |sus |esta |este |el |los |las |esa |ese )?(?:lista|listas|base|sistema|mensajes|servicio|"
     r"grupo|programa|datos|registro|recordatorios)"),
    ("opt_out", "any", "frase «{W}»",
     r"(?:saquen|borren|eliminen|quiten|retiren) mi (?:numero|celular|telefono|contacto|cel|dato|datos)"),
    ("opt_out", "any", "frase «{W}»", r"no mas " + _MSG),
    ("opt_out", "any", "frase «{W}»",
     r"(?:cancelar|cancelo|cancele|cancela|cancelen|suspender|suspendan|suspenda|detener|detengan|parar|paren|"
     r"desactivar|desactiven) (?:los |las |el |la |mis |sus |estos |esos |este |ese |todo |todos los |"
     r"todas las )?(?:mensajes|suscripcion|recordatorios|servicio|notificaciones|alertas|envios|llamadas)"),
    # opt-out words that are also ordinary Spanish: at the start, then a break or the end
    ("opt_out", "start", "palabra clave {KW}",
     r"alto|salir|cancelar|basta|ya basta|paren|no mas|detener|suspender|desactivar"),
    # balance questions that contain a payment verb (before the verbs are read)
    ("balance", "any", "pregunta «{W}»",
     r"cuanto (?:es |seria |sera |fue )?(?:lo que |que )?(?:le |me |les |te |nos )?(?:debo|debemos|adeudo|pago|"
     r"pagamos|pagar|falta|faltan|queda|quedan|quedo|es|va|sale|tengo|llevo|seria|sera|vale|hay|debia|cuesta)"),
    ("balance", "any", "pregunta «{W}»", r"(?:cual|como) (?:es|esta|va) (?:mi|el) (?:saldo|deuda|cuenta|credito)"),
    # payment claims
    ("payment_claim", "claim", "palabra clave PAGUÉ", r"(?:ya )?" + _VOS + r"pague"),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?" + _VOS + r"(?:consigne|deposite|transferi|abone|cancele|gire|pagamos ya)"),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?(?:hice|hicimos|realice|realizamos|efectue|efectuamos|envie|enviamos|mande|mandamos|deje|"
     r"dejamos|consigne|transferi) (?:el |un |la |una |los |las |mi |su )?" + _PAY_NOUN),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?(?:le |les )?(?:mande|envie|pase|gire|transferi|consigne|deposite) (?:por|a|al|en) "
     r"(?:nequi|daviplata|bancolombia|efecty|yape|plin|transferencia|consignacion|gana|baloto|oxxo|banco)"),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?(?:esta|estan|quedo|quedaron|queda) (?:pago|pagado|pagada|pagados|cancelado|cancelada|"
     r"saldado|saldada|al dia)"),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?(?:estoy|estamos|quede|quedamos|me puse|nos pusimos) al dia"),
    ("payment_claim", "claim", "frase «{W}»", r"paz y salvo"),
    ("payment_claim", "claim", "frase «{W}»",
     r"(?:ya )?(?:le |les |te )?(?:envie|mande|pase|adjunto|adjunte|enviamos|mandamos|aqui va|aqui esta) "
     r"(?:el |la |los |las |un |una )?(?:comprobante|comprobantes|recibo|soporte|pantallazo|captura|voucher|"
     r"foto del recibo|foto del comprobante)"),
    ("payment_claim", "claim", "frase «{W}»", r"(?:ya )?no " + _VOS + r"(?:debo|debemos|adeudo)(?: nada)?"),
    ("payment_claim", "claim", "frase «{W}»", r"(?:ya )?(?:pagado|pagada)"),
    ("payment_claim", "claim", "frase «{W}»",
     _PAY_NOUN + r" (?:realizado|realizada|hecho|hecha|efectuado|efectuada|enviado|enviada)"),
    ("payment_claim", "claim", "frase «{W}»", r"(?:i |we )?(?:paid|already paid)"),
    # promises
    ("promise", "promise", "palabra clave PROMESA", r"promesa(?: de pago)?|promesas"),
    ("promise", "promise", "frase «{W}»",
     r"prometo|prometi|prometemos|prometimos|(?:me|nos) (?:comprometo|comprometemos)|compromiso(?: de pago)?"),
    ("promise", "promise", "frase «{W}»",
     r"(?:voy|vamos|va|ire|iremos) a (?:salir a |ir a )?(?:pagar|consignar|abonar|depositar|transferir|cancelar|"
     r"girar|saldar|"
     r"ponerme al dia|ponernos al dia|hacer (?:el |un |la )?" + _PAY_NOUN + r"|mandar (?:el |la )?" + _PAY_NOUN
     + r"|enviar (?:el |la )?" + _PAY_NOUN + r")"),
    ("promise", "promise", "frase «{W}»",
     r"(?<!ya )(?:le|les|te|se lo|se la) (?:pago|consigno|abono|deposito|transfiero|cancelo|giro|pagare|"
     r"consignare|abonare|cancelare|transferire|depositare|hago (?:el |un |la )?" + _PAY_NOUN
     + r"|mando (?:el |la )?" + _PAY_NOUN + r")"),
    ("promise", "promise", "frase «{W}»",
     r"(?:puedo|podria|podemos|podriamos|alcanzo a|alcanzaria a|quisiera|quiero|pienso|planeo|espero|esperamos|"
     r"tratare de|intentare|debo|tengo que|toca) (?:pagar|consignar|abonar|depositar|transferir|cancelar|saldar|"
     r"ponerme al dia|hacer (?:el |un |la )?" + _PAY_NOUN + r")"),
    ("promise", "promise", "frase «{W}»",
     r"pagare|pagaremos|consignare|abonare|depositare|transferire|cancelare|pagaria|consignaria|abonaria|"
     r"me pongo al dia|nos ponemos al dia"),
    ("promise", "promise", "frase «{W}»",
     r"(?:le |les |te )?(?:llevo|traigo|llevamos|traemos|acerco|arrimo|dejo|alisto) (?:el |la |los |las |lo |mi |"
     r"su |sus )?" + _PAY_NOUN + r"|(?:paso|pasamos|salgo|salimos|voy|vamos|me acerco|nos acercamos|me paso) "
     r"(?:a |por la oficina a |a la oficina a )(?:pagar|consignar|abonar|cancelar|depositar)|(?:le |les |te )?cumplo"),
    ("promise", "rest", "frase «{W}»", r"sin falta|seguro|si dios quiere|primero dios|dios mediante"),
    ("promise", "rest", "frase «{W}»",
     r"el resto|lo restante|lo que falta|lo que resta|lo demas|la diferencia|el faltante|la otra mitad|"
     r"la otra parte|la otra cuota|el saldo restante"),
    # present-tense verbs: promise with a date, claim when keyword-like
    ("payment_claim", "neutral", "«{W}»",
     r"(?:ya )?" + _VOS + r"(?:pago|pagamos|abono|abonamos|consigno|consignamos|deposito|depositamos|transfiero|"
     r"transferimos|cancelo|cancelamos|pagas|paga)|(?:hago|hacemos|realizo|realizamos) (?:el |un |la )?"
     + _PAY_NOUN),
    # balance, the rest
    ("balance", "balance_neg", "palabra clave SALDO", r"saldo|saldos|balance"),
    ("balance", "any", "frase «{W}»",
     r"estado de (?:mi |la )?cuenta|valor a pagar|valor de (?:la |mi )?cuota|total a pagar|debo algo|"
     r"que debo|lo que debo|cuanto (?:le |te )?(?:debo|debemos)|de cuanto (?:es|era)"),
    ("balance", "start", "pregunta «{W}»", r"cuanto|mi deuda|deuda|la deuda|mi cuenta|cuenta|cuota|mi cuota"),
    # help, alone
    ("help", "alone", "palabra clave {KW}",
     r"ayuda|ayudame|ayudeme|ayudenme|help|info|informacion|menu|opciones|comandos|instrucciones"),
    ("help", "alone", "signo «?»", r"\?(?: \?)*"),
]

# phrases that explain an ``other`` to staff
_HINTS: list[tuple[str, str]] = [
    ("dificultad para pagar «{W}»",
     r"no (?:tengo|tenemos|hay|tengo con que|tenemos con que) (?:plata|dinero|con que|trabajo|como pagar|"
     r"para pagar|platica|empleo|recursos)|(?:estoy|estamos|quede|quedamos|ando|andamos) sin (?:plata|dinero|"
     r"trabajo|empleo|platica)|no (?:puedo|podemos|alcanzo a|alcanzamos a|podre|voy a poder) (?:pagar|consignar|"
     r"abonar|cancelar)|(?:no|nunca) (?:he|hemos) (?:podido )?(?:pagado|pagar)"),
    ("«{W}»: ¿número equivocado o persona desconocida?",
     r"numero equivocado|se equivocaron|equivocado de numero|equivocados|no (?:soy|conozco)|quien (?:es|habla|"
     r"me escribe|me escriben|eres)|no se quien"),
]

_RULE_VOCABULARY = _vocabulary_from_patterns([r[3] for r in _BUILTIN_RULES] + [h[1] for h in _HINTS])


@dataclass(frozen=True)
class _Rule:
    intent: str
    kind: str
    label: str
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(r"(?<![^ ])(?:" + pattern + r")(?![^ ])")


_COMPILED_BUILTIN = tuple(_Rule(i, k, lab, _compile(p)) for i, k, lab, p in _BUILTIN_RULES)
_COMPILED_HINTS = tuple((lab, _compile(p)) for lab, p in _HINTS)
_DEFAULT_READY = True  # from here on, the cooperative's words are checked against the built-in reading
_CONFIG_KIND = {"opt_out": "any", "balance": "any", "payment_claim": "claim", "promise": "promise",
                "help": "alone"}


@lru_cache(maxsize=None)
def _one_typo_matcher() -> Callable[[str, list[str]], list[str]]:
    """``match(word, keys)``: the ``keys`` at most one edit (insertion, deletion, substitution or
    transposition of adjacent letters: optimal string alignment distance <= 1) from ``word``.

    ``rapidfuzz`` (several MB once imported) is imported on the first call only: most replies
    are exact keywords and never need it.
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    def match(word: str, keys: list[str]) -> list[str]:
        return [key for key, _score, _i in process.extract(word, keys, scorer=OSA.distance, score_cutoff=1,
                                                            limit=None)]

    return match


class _Lexicon:
    """The vocabulary (built-in + the cooperative's words) and the rules, with a cache of corrections."""

    def __init__(self, words: ReplyWords):
        self.fuzzy: dict[str, str] = dict(_FUZZY_BUILTIN)
        self.known: set[str] = (set(_RULE_VOCABULARY) | set(_FILLERS) | set(_NUMBER_WORDS) | set(_MULTIPLIERS)
                                | set(_WEEKDAYS) | set(_WEEKDAY_ABBR) | set(_MONTHS) | set(_MONTH_ABBR)
                                | set(_PROTECTED) | set(_FUZZY_BUILTIN) | _CURRENCY_AFTER | _NOT_AMOUNT_BEFORE
                                | {w for w in _NOT_AMOUNT_AFTER if w.isalpha()} | _NEGATIONS | _NEGATION_SKIP
                                | {"hoy", "ayer", "anteayer", "pasado", "proximo", "proxima", "este", "esta",
                                   "fin", "final", "finales", "ultimo", "semana", "quincena", "dentro", "hace",
                                   "siguiente", "otro", "otra", "viene", "primero", "mes", "ano"})
        self._cache: dict[str, str] = {}
        phrases: list[tuple[str, str, list[str]]] = []
        for intent in CONFIGURABLE_INTENTS:
            for phrase in getattr(words, intent):
                folded, _ = _fold(phrase)
                words_of = [t.raw for t in _tokenize(folded) if t.kind == "word"]
                phrases.append((intent, phrase, words_of))
                for w in words_of:
                    if w not in _ABBREV:
                        self.known.add(w)
                        if len(w) >= FUZZY_MIN_LENGTH:
                            self.fuzzy.setdefault(w, w)
        self._fuzzy_keys = list(self.fuzzy)
        # longer phrases first, so that "xyz abc" is not read as its first word "xyz"
        phrases.sort(key=lambda item: -len(item[2]))
        extra = [_Rule(intent, _CONFIG_KIND[intent], f"palabra de la cooperativa «{phrase.strip()}»",
                       _compile(re.escape(" ".join(self.canon(w) for w in words_of))))
                 for intent, phrase, words_of in phrases]
        # the cooperative's words are read first: they are more specific than the built-in ones
        self.rules: tuple[_Rule, ...] = tuple(extra) + _COMPILED_BUILTIN

    def canon(self, word: str) -> str:
        """The canonical form of one folded word: abbreviation, exact word, or a one-typo correction."""
        if word in _ABBREV:
            return _ABBREV[word]
        if word in self.fuzzy:
            return self.fuzzy[word]
        if word in self.known or len(word) < FUZZY_MIN_LENGTH - 1 or len(word) > 40:
            return word
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        found = {self.fuzzy[key] for key in _one_typo_matcher()(word, self._fuzzy_keys)}
        result = found.pop() if len(found) == 1 else word
        if len(self._cache) > 20000:
            self._cache.clear()
        self._cache[word] = result
        return result


@lru_cache(maxsize=32)
def _lexicon(words: ReplyWords) -> _Lexicon:
    return _Lexicon(words)


# ---------------------------------------------------------------------------------------------
# dates


def _add(day: _dt.date, days: int) -> _dt.date | None:
    try:
        return day + _dt.timedelta(days=days)
    except OverflowError:
        return None


def _make(year: int, month: int, day: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _last_of_month(year: int, month: int) -> _dt.date | None:
    if not 1 <= year <= 9999:
        return None
    return _make(year, month, calendar.monthrange(year, month)[1])


def _month_steps(today: _dt.date, step: int) -> Iterable[tuple[int, int]]:
    year, month = today.year, today.month
    for _ in range(14):
        yield year, month
        month += step
        if month > 12:
            year, month = year + 1, 1
        elif month < 1:
            year, month = year - 1, 12


def _day_of_month(today: _dt.date, day: int, forward: bool) -> _dt.date | None:
    for year, month in _month_steps(today, 1 if forward else -1):
        found = _make(year, month, day)
        if found is not None and ((found >= today) if forward else (found <= today)):
            return found
    return None


def _day_month(today: _dt.date, day: int, month: int, forward: bool) -> _dt.date | None:
    for offset in range(9):
        found = _make(today.year + (offset if forward else -offset), month, day)
        if found is not None and ((found >= today) if forward else (found <= today)):
            return found
    return None


def _weekday(today: _dt.date, weekday: int, forward: bool) -> _dt.date | None:
    if forward:
        return _add(today, (weekday - today.weekday() - 1) % 7 + 1)
    return _add(today, -((today.weekday() - weekday - 1) % 7 + 1))


def _end_of_month(today: _dt.date, forward: bool) -> _dt.date | None:
    last = _last_of_month(today.year, today.month)
    if forward or last == today:
        return last
    first = _make(today.year, today.month, 1)
    return None if first is None else _add(first, -1)


def _quincena(today: _dt.date, forward: bool) -> _dt.date | None:
    options = []
    for year, month in _month_steps(today, 1 if forward else -1):
        for day in (_make(year, month, 15), _last_of_month(year, month)):
            if day is not None and ((day >= today) if forward else (day <= today)):
                options.append(day)
        if options:
            return min(options) if forward else max(options)
    return None


@dataclass(frozen=True)
class _DateHit:
    i: int
    j: int
    forward: _dt.date | None
    backward: _dt.date | None
    past: bool = False  # said as past ("ayer", "el viernes pasado")
    future: bool = False  # said as future ("mañana", "el próximo viernes")
    sensitive: bool = False  # its reading depends on whether it is a promise or a payment
    problem: str = ""  # why no date could be read ("no existe")

    def value(self, forward: bool) -> _dt.date | None:
        return self.forward if forward else self.backward


def _fixed(i: int, j: int, value: _dt.date | None, **flags: Any) -> _DateHit:
    return _DateHit(i, j, value, value, **flags)


def _sensitive(i: int, j: int, resolve: Callable[[bool], _dt.date | None]) -> _DateHit:
    return _DateHit(i, j, resolve(True), resolve(False), sensitive=True)


def _plain_int(tok: _Tok) -> int | None:
    if tok.kind == "num" and tok.raw.isdigit() and len(tok.raw) <= 4:
        return int(tok.raw)
    return None


def _scan_dates(toks: list[_Tok], canon: list[str], today: _dt.date) -> list[_DateHit]:
    hits: list[_DateHit] = []
    n = len(toks)
    used: set[int] = set()

    def c(k: int) -> str:
        return canon[k] if 0 <= k < n else ""

    def month_at(k: int) -> int | None:
        if toks[k].kind != "word" if 0 <= k < n else True:
            return None
        word = toks[k].raw
        return _MONTHS.get(c(k)) or _MONTH_ABBR.get(word)

    def day_at(k: int) -> int | None:
        if not 0 <= k < n:
            return None
        tok = toks[k]
        value = _plain_int(tok) if tok.kind == "num" else _DAY_WORDS.get(c(k)) if tok.kind == "word" else None
        if value is None or not 1 <= value <= 31:
            return None
        after = k + 1
        if after < n and toks[after].glued and toks[after].kind == "word" and toks[after].raw in _ORDINAL:
            after += 1  # "1ro", "1º"
        elif after < n and toks[after].glued and toks[after].kind == "word" and c(after) not in ("de", "del"):
            return None  # "15mil", "1ra"
        if c(after) in _MULTIPLIERS or c(after) in ("%", "$") or c(after) in _CURRENCY_AFTER:
            return None
        if c(after) in {"cuotas", "cuota", "dias", "semanas", "meses", "anos", "horas", "hrs", "am", "pm", "h",
                        "minutos", "veces"}:
            return None
        return value

    def year_at(k: int) -> tuple[int, int] | None:
        """A year after a day and month: "de 2026", "del 26", "2026"."""
        start = k
        if c(k) in ("de", "del"):
            k += 1
        value = _plain_int(toks[k]) if 0 <= k < n else None
        if value is None:
            return None
        if len(toks[k].raw) == 4:
            return value, k + 1
        if len(toks[k].raw) == 2 and start != k:
            return 2000 + value, k + 1
        return None

    def month_date(i: int, day: int, month: int, end: int) -> None:
        year = year_at(end)
        text_end = end
        if year is not None:
            value = _make(year[0], month, day) if year[0] >= 1 else None
            text_end = year[1]
            hit = _fixed(i, text_end, value, future=value is not None and value > today,
                         problem="" if value else "no existe")
        elif _make(2000, month, day) is None:
            hit = _fixed(i, text_end, None, problem="no existe")
        else:
            hit = _sensitive(i, text_end, lambda fwd: _day_month(today, day, month, fwd))
        hits.append(hit)
        used.update(range(i, text_end))

    k = 0
    while k < n:
        if k in used:
            k += 1
            continue
        tok, word = toks[k], c(k)
        start = k - 1 if c(k - 1) in ("el", "del", "este", "esta", "para", "hasta") else k
        if tok.kind == "date":
            parts = [int(p) for p in re.split(r"[/-]", tok.raw)]
            if re.match(r"[0-9]{4}-", tok.raw):  # ISO (not "9/12", which is also four characters long)
                value = _make(parts[0], parts[1], parts[2])
                hit = _fixed(start, k + 1, value, future=bool(value and value > today),
                             problem="" if value else "no existe")
            elif len(parts) == 3:
                year = parts[2] + 2000 if parts[2] < 100 else parts[2]
                value = _make(year, parts[1], parts[0])
                hit = _fixed(start, k + 1, value, future=bool(value and value > today),
                             problem="" if value else "no existe")
            elif _make(2000, parts[1], parts[0]) is None:
                hit = _fixed(start, k + 1, None, problem="no existe")
            else:
                day, month = parts[0], parts[1]
                hit = _sensitive(start, k + 1, lambda fwd, d=day, m=month: _day_month(today, d, m, fwd))
            hits.append(hit)
            used.update(range(start, k + 1))
            k += 1
            continue
        if tok.kind != "word" and tok.kind != "num":
            k += 1
            continue
        # "15 de diciembre", "15 dic", "el 15", "el día 15", "el viernes 4"
        day = day_at(k)
        if day is not None:
            if k + 1 < n and toks[k + 1].glued and toks[k + 1].raw in _ORDINAL:
                toks_after = k + 2
            else:
                toks_after = k + 1
            month_k = toks_after + 1 if c(toks_after) in ("de", "del") else toks_after
            month = month_at(month_k)
            if month is not None:
                month_date(start, day, month, month_k + 1)
                k = month_k + 1
                continue
            a = toks_after
            if c(a) in ("de", "del") and (c(a + 1) == "mes" or (c(a + 1) == "este" and c(a + 2) == "mes")):
                end = a + 2 if c(a + 1) == "mes" else a + 3
                value = _make(today.year, today.month, day)
                hits.append(_fixed(start, end, value, problem="" if value else "no existe"))
                used.update(range(start, end))
                k = end
                continue
            trigger = c(k - 1)
            if trigger in ("el", "dia", "del") or (trigger in _WEEKDAYS and tok.kind == "num") \
                    or (trigger == "para" and tok.kind == "num"):
                i = k - 1
                while i - 1 >= 0 and c(i - 1) in ("el", "del", "para", "hasta", "antes", "dia"):
                    i -= 1
                hits.append(_sensitive(i, toks_after, lambda fwd, d=day: _day_of_month(today, d, fwd)))
                used.update(range(i, toks_after))
                k = toks_after
                continue
        # "diciembre 15"
        month = _MONTHS.get(word) if tok.kind == "word" else None
        if month is None and tok.kind == "word" and toks[k].raw in _MONTH_ABBR and c(k + 1) != "de":
            month = _MONTH_ABBR[toks[k].raw] if k + 1 < n and toks[k + 1].kind == "num" else None
        if month is not None:
            after = day_at(k + 1) if k + 1 < n and toks[k + 1].kind == "num" else None
            if after is not None:
                month_date(k, after, month, k + 2)
                k += 2
                continue
        if tok.kind != "word":
            k += 1
            continue
        if word == "hoy":
            hits.append(_fixed(k, k + 1, today))
        elif word in ("ahorita", "ahoritica") or (word == "ahora" and c(k + 1) == "mismo") \
                or (word == "ya" and c(k + 1) == "mismo"):
            end = k + 2 if c(k + 1) == "mismo" else k + 1
            hits.append(_fixed(k, end, today))
            used.update(range(k, end))
        elif (word in ("tarde", "noche") and c(k - 1) == "esta") or (word == "rato" and c(k - 1) == "un"
                                                                      and c(k - 2) == "en") \
                or (word == "tarde" and c(k - 1) == "mas" and c(k - 2) != "dias"):
            i = k - 2 if word == "rato" else k - 1
            hits.append(_fixed(i, k + 1, today))
        elif word == "manana":
            if c(k - 1) == "pasado":
                hits.append(_fixed(k - 1, k + 1, _add(today, 2), future=True))
            elif c(k - 1) in ("la", "esta", "en", "por") and c(k - 2) != "pasado":
                pass  # "en la mañana": a time of day
            else:
                hits.append(_fixed(k, k + 1, _add(today, 1), future=True))
        elif word == "ayer":
            if c(k - 1) == "de" and c(k - 2) == "antes":
                hits.append(_fixed(k - 2, k + 1, _add(today, -2), past=True))
            else:
                hits.append(_fixed(k, k + 1, _add(today, -1), past=True))
        elif word == "anteayer":
            hits.append(_fixed(k, k + 1, _add(today, -2), past=True))
        elif word in _WEEKDAYS or (toks[k].raw in _WEEKDAY_ABBR and c(k - 1) in ("el", "este", "proximo")):
            weekday = _WEEKDAYS.get(word, _WEEKDAY_ABBR.get(toks[k].raw, 0))
            i = k - 1 if c(k - 1) in ("el", "este", "proximo", "otro", "para") else k
            if c(i - 1) == "el" and c(i) == "proximo":
                i -= 1
            if c(k + 1) == "pasado":
                hits.append(_fixed(i, k + 2, _weekday(today, weekday, False), past=True))
                used.update(range(i, k + 2))
            elif c(k - 1) in ("proximo", "otro") or (c(k + 1) == "que" and c(k + 2) == "viene"):
                end = k + 3 if c(k + 1) == "que" else k + 1
                hits.append(_fixed(i, end, _weekday(today, weekday, True), future=True))
                used.update(range(i, end))
            elif c(k + 1) == "proximo":
                hits.append(_fixed(i, k + 2, _weekday(today, weekday, True), future=True))
                used.update(range(i, k + 2))
            elif day_at(k + 1) is None:
                hits.append(_sensitive(i, k + 1, lambda fwd, w=weekday: _weekday(today, w, fwd)))
        elif word in ("fin", "final", "finales", "ultimo") and c(k + 1) in ("de", "del"):
            j = k + 2
            if c(j) in ("este", "esta"):
                j += 1
            if c(j) == "mes":
                i = k - 1 if c(k - 1) in ("a", "el", "para", "al") else k
                hits.append(_sensitive(i, j + 1, lambda fwd: _end_of_month(today, fwd)))
                used.update(range(i, j + 1))
            elif c(j) == "semana":
                i = k - 1 if c(k - 1) in ("el", "este", "para") else k
                hits.append(_sensitive(i, j + 1, lambda fwd: _weekday(_add(today, -1) or today, 5, fwd)
                                       if fwd else _weekday(today, 5, False)))
                used.update(range(i, j + 1))
        elif word == "ultimo" and c(k + 1) == "dia" and c(k + 2) in ("de", "del") and c(k + 3) == "mes":
            hits.append(_sensitive(k, k + 4, lambda fwd: _end_of_month(today, fwd)))
        elif word == "quincena":
            i = k - 1 if c(k - 1) in ("la", "esta", "proxima") else k
            hits.append(_sensitive(i, k + 1, lambda fwd: _quincena(today, fwd)))
        elif word == "semana" and (c(k - 1) in ("proxima", "otra", "siguiente")
                                   or (c(k + 1) == "que" and c(k + 2) == "viene")):
            i = k - 2 if c(k - 2) == "la" and c(k - 1) != "semana" else k - 1 if c(k - 1) == "la" else k
            if c(k - 1) in ("proxima", "otra", "siguiente"):
                i = k - 2 if c(k - 2) == "la" else k - 1
            end = k + 3 if c(k + 1) == "que" else k + 1
            hits.append(_fixed(i, end, _weekday(today, 0, True), future=True))
            used.update(range(i, end))
        elif word in ("dias", "dia", "semanas", "semana") and k >= 1:
            count = _plain_int(toks[k - 1]) if toks[k - 1].kind == "num" else _NUMBER_WORDS.get(c(k - 1))
            lead = c(k - 2)
            if count is not None and 0 < count <= 366 and lead in ("en", "de", "hace"):
                i = k - 3 if lead == "de" and c(k - 3) == "dentro" else k - 2
                if lead == "de" and c(k - 3) != "dentro":
                    k += 1
                    continue
                days = count * (7 if word.startswith("semana") else 1)
                if lead == "hace":
                    hits.append(_fixed(i, k + 1, _add(today, -days), past=True))
                else:
                    hits.append(_fixed(i, k + 1, _add(today, days), future=True))
                used.update(range(i, k + 1))
        k += 1
    hits.sort(key=lambda h: h.i)
    return hits


# ---------------------------------------------------------------------------------------------
# amounts


def _parse_number(raw: str) -> tuple[Decimal, bool] | None:
    """A written number and whether it had thousands separators; None if the grouping is not one
    of the rules in the module docstring."""
    parts = re.split(r"([.,])", raw)
    digits = parts[0::2]
    seps = parts[1::2]
    if not seps:
        return Decimal(raw), False
    decimals = ""
    if len(digits[-1]) in (1, 2):
        decimals = digits.pop()
        decimal_sep = seps.pop()
        if decimal_sep in seps:
            return None
    elif len(digits[-1]) != 3:
        return None
    if seps and (len(set(seps)) != 1 or not 1 <= len(digits[0]) <= 3
                 or any(len(group) != 3 for group in digits[1:])):
        return None
    try:
        value = Decimal("".join(digits) + ("." + decimals if decimals else ""))
    except InvalidOperation:
        return None
    return value, bool(seps)


@dataclass(frozen=True)
class _AmountHit:
    i: int
    j: int
    value: Decimal
    strong: bool


def _scan_amounts(toks: list[_Tok], canon: list[str], used: set[int]) -> list[_AmountHit]:
    hits: list[_AmountHit] = []
    n = len(toks)

    def c(k: int) -> str:
        return canon[k] if 0 <= k < n else ""

    k = 0
    while k < n:
        tok = toks[k]
        starts = k not in used and (tok.kind == "num" or (tok.kind == "word" and c(k) in _NUMBER_WORDS
                                                          and tok.raw not in _ABBREV))
        if not starts or (tok.kind == "num" and k > 0 and tok.glued and toks[k - 1].kind == "word"
                          and c(k - 1) not in _CURRENCY_BEFORE):
            k += 1
            continue
        total = Decimal(0)
        current: Decimal | None = None
        grouped = multiplied = digits = False
        last = ""
        j = k
        while j < n and j not in used:
            t, word = toks[j], c(j)
            if t.kind == "num" and last in ("", "mult"):
                parsed = _parse_number(t.raw)
                if parsed is None:
                    break
                current = (current or 0) + parsed[0]
                grouped = grouped or parsed[1]
                digits = True
                last = "num"
                if len(t.raw) >= 10 and not parsed[1]:
                    current = None  # a phone or document number
                    break
            elif (t.kind == "word" and word in _NUMBER_WORDS and t.raw not in _ABBREV
                  and last in ("", "mult", "word", "y")):
                if last == "word" and _NUMBER_WORDS[word] >= (current or 0) and current:
                    break  # "dos tres": two numbers
                current = (current or 0) + _NUMBER_WORDS[word]
                last = "word"
            elif t.kind == "word" and word == "y" and last == "word" and j + 1 < n and c(j + 1) in _NUMBER_WORDS:
                last = "y"
            elif t.kind == "word" and (t.raw in _MULTIPLIERS or word in _MULTIPLIERS) and last in ("num", "word"):
                factor = _MULTIPLIERS.get(t.raw) or _MULTIPLIERS[word]
                if factor == 1000:
                    total += (current if current is not None else 1) * factor
                else:
                    total = (total + (current if current is not None else 1)) * factor
                current = None
                multiplied = True
                last = "mult"
            else:
                break
            j += 1
        if j == k or (current is None and not multiplied):
            k = max(j, k + 1)
            continue
        value = total + (current or 0)
        end = j
        before, after = c(k - 1), c(end)
        back = k - 1
        while back >= 0 and k - back <= 3 and c(back) in ("es", "de", "del", "|", "mi", "su", "el", "la", "nro",
                                                           "numero", "no", "con", "a"):
            back -= 1
        if back >= 0 and k - back <= 4 and c(back) in _NOT_AMOUNT_BEFORE:
            before = c(back)
        glued_after = end < n and toks[end].glued and toks[end].kind == "word"
        currency = before in _CURRENCY_BEFORE or after in _CURRENCY_AFTER
        strong = multiplied or grouped or currency or (digits and value >= 1000)
        refused = (
            before in _NOT_AMOUNT_BEFORE and before != "$"
            or (glued_after and not currency)
            or after in _NOT_AMOUNT_AFTER and not (multiplied or grouped) and after not in _CURRENCY_AFTER
            or (not strong and before in _WEAK_NOT_AMOUNT_BEFORE)
            or (not digits and not multiplied and value < 100)
            or (before in _MONTHS and 1900 <= value <= 2100)
            or value <= 0 or value >= MAX_AMOUNT
        )
        if not refused:
            if value == value.to_integral_value():
                value = value.quantize(Decimal(1))
            else:
                value = value.quantize(Decimal("0.01"))
            i = k - 1 if before in _CURRENCY_BEFORE else k
            hits.append(_AmountHit(i, end + (1 if after in _CURRENCY_AFTER else 0), value, strong))
        k = end
    return hits


# ---------------------------------------------------------------------------------------------
# understanding


@dataclass
class _Hit:
    intent: str
    kind: str
    label: str
    i: int
    j: int
    negated: bool = False
    has_ya: bool = False


def _fmt_date(day: _dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def _fmt_money(value: Decimal) -> str:
    if value == value.to_integral_value():
        return f"{int(value):,}".replace(",", ".")
    whole, cents = f"{value.quantize(Decimal('0.01')):f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + "," + cents


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, a[0] - b[1], b[0] - a[1])


def understand(text: str, *, today: _dt.date, words: ReplyWords = DEFAULT_WORDS) -> Reply:
    """What the SMS ``text`` means on ``today`` (the cooperative's date), with the cooperative's
    ``words`` added to the built-in ones. Never raises on any ``text``: a message that cannot be
    read is ``other``, for staff. ``today`` must be a :class:`datetime.date` (TypeError otherwise)."""
    if isinstance(today, _dt.datetime):
        today = today.date()
    if not isinstance(today, _dt.date):
        raise TypeError("today debe ser una fecha (datetime.date)")
    if not isinstance(words, ReplyWords):
        raise TypeError("words debe ser un ReplyWords (words_from_config)")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    try:
        return _understand(text, today, words)
    except Exception:  # a safety net: the rules above are meant never to get here
        return Reply("other", reason="no se pudo interpretar el mensaje: va a la bandeja del personal")


def _understand(text: str, today: _dt.date, words: ReplyWords) -> Reply:
    if not text.strip():
        return Reply("other", reason="mensaje vacío")
    lexicon = _lexicon(words)
    folded, where = _fold(text)
    toks = _tokenize(folded)
    canon: list[str] = []
    for tok in toks:
        if tok.kind == "word":
            canon.append(lexicon.canon(tok.raw))
        elif tok.kind == "num":
            canon.append("#")
        elif tok.kind == "date":
            canon.append("@")
        elif tok.kind == "time":
            canon.append("~")
        elif tok.kind == "stop":
            canon.append("|")
        else:
            canon.append("nro" if tok.raw == "#" else tok.raw)
    if not toks:
        return Reply("other", reason="mensaje sin palabras: va a la bandeja del personal")
    positions: list[int] = []
    offset = 0
    for word in canon:
        positions.append(offset)
        offset += len(word) + 1
    line = " ".join(canon)
    n = len(toks)

    def written(i: int, j: int) -> str:
        if i >= j or j > n:
            return ""
        start, end = where[toks[i].start], where[toks[j - 1].end - 1] + 1
        return text[start:end].strip()[:80]

    # how many words that are not fillers come before each position (with and without "?")
    plain = [0]
    marks = [0]
    for word in canon:
        plain.append(plain[-1] + (word not in _FILLERS))
        marks.append(marks[-1] + (word not in _FILLERS or word == "?"))

    def only_fillers(i: int, j: int, keyword_is_mark: bool) -> bool:
        count = marks if keyword_is_mark else plain
        return count[i] == 0 and count[n] - count[j] == 0

    def starts_message(i: int, j: int) -> bool:
        if plain[i]:
            return False
        return j >= n or canon[j] in ("|", "?", "que", "ya", "porfavor", "por", "gracias")

    def negated(i: int) -> bool:
        k = i - 1
        skipped = 0
        while k >= 0 and skipped <= 3:
            if canon[k] in _NEGATIONS:
                return True
            if canon[k] not in _NEGATION_SKIP:
                return False
            k -= 1
            skipped += 1
        return False

    # rules, in order; a later rule cannot take tokens an earlier one took
    taken = [False] * n
    hits: list[_Hit] = []
    for rule in lexicon.rules:
        for m in rule.regex.finditer(line):
            i = bisect.bisect_left(positions, m.start())
            j = bisect.bisect_left(positions, m.end())
            if i >= j or any(taken[i:j]):
                continue
            if rule.kind == "start" and not starts_message(i, j):
                continue
            if rule.kind == "alone" and not only_fillers(i, j, rule.label.startswith("signo")):
                continue
            has_ya = canon[i] == "ya"
            neg = rule.kind in ("claim", "promise", "neutral", "rest", "balance_neg") and not has_ya and negated(i)
            label = rule.label.replace("{KW}", " ".join(canon[i:j]).upper()).replace("{W}", written(i, j))
            hits.append(_Hit(rule.intent, rule.kind, label, i, j, neg, has_ya))
            for k in range(i, j):
                taken[k] = True
    hits.sort(key=lambda h: h.i)
    live = [h for h in hits if not h.negated and h.kind != "ignore"]

    def others_than(intent: str, present: Iterable[str]) -> str:
        names = []
        for other in present:
            name = _INTENT_NAMES.get(other)
            if other != intent and name and name not in names:
                names.append(name)
        return f" (prevalece sobre {', '.join(names)})" if names else ""

    opt_out = [h for h in live if h.intent == "opt_out"]
    if opt_out:
        h = opt_out[0]
        present = [x.intent for x in live if x.kind != "rest"]
        return Reply("opt_out", matched=written(h.i, h.j), reason=h.label + others_than("opt_out", present))

    dates = _scan_dates(toks, canon, today)
    used = {k for d in dates for k in range(d.i, d.j)}
    amounts = _scan_amounts(toks, canon, used)
    verbs = [h for h in live if h.kind in ("claim", "promise", "neutral", "rest")]

    verb_starts = [h.i for h in verbs]

    def nearest(span: tuple[int, int]) -> _Hit | None:
        """The verb closest to ``span`` (verbs do not overlap, so it is one of its two neighbours); on a
        tie, a promise."""
        at = bisect.bisect_left(verb_starts, span[0])
        best: tuple[int, int, _Hit] | None = None
        for h in verbs[max(0, at - 1):at + 1]:
            rank = (_gap(span, (h.i, h.j)), 0 if h.kind in ("promise", "rest") else 1)
            if best is None or rank < best[:2]:
                best = (rank[0], rank[1], h)
        return None if best is None else best[2]

    own_dates: dict[int, list[_DateHit]] = {}
    own_amounts: dict[int, list[_AmountHit]] = {}
    for d in dates:
        h = nearest((d.i, d.j))
        if h is not None:
            own_dates.setdefault(id(h), []).append(d)
    for a in amounts:
        h = nearest((a.i, a.j))
        if h is not None:
            own_amounts.setdefault(id(h), []).append(a)

    def closest(items: list[Any], h: _Hit) -> Any:
        return min(items, key=lambda x: (_gap((x.i, x.j), (h.i, h.j)), x.i)) if items else None

    # each verb becomes a promise, a claim, or nothing
    promises: list[tuple[_Hit, _DateHit | None, bool]] = []  # (verb, date, read forward)
    claims: list[tuple[_Hit, _DateHit | None, str]] = []
    for h in verbs:
        d = closest(own_dates.get(id(h), []), h)
        if h.kind == "promise":
            promises.append((h, d, True))
        elif h.kind == "rest":
            if d is not None:
                promises.append((h, d, True))
        elif h.kind == "neutral":
            if d is not None:
                if d.past:
                    claims.append((h, d, ""))
                else:
                    promises.append((h, d, True))
            elif (h.has_ya or own_amounts.get(id(h))
                  or plain[h.i] == 0):
                claims.append((h, None, ""))
        else:  # claim
            if d is None:
                claims.append((h, None, ""))
            elif d.future and not h.has_ya:
                promises.append((h, d, True))
            elif (d.sensitive and not h.has_ya and d.forward is not None
                  and today <= d.forward <= (_add(today, HORIZON_DAYS) or d.forward)
                  and (d.backward is None or d.backward < (_add(today, -HORIZON_DAYS) or d.backward))):
                promises.append((h, d, True))
            else:
                claims.append((h, d, ""))

    present = (["promise"] * bool(promises) + ["payment_claim"] * bool(claims)
               + [h.intent for h in live if h.intent in ("balance", "help")])

    def amount_for(chosen: _Hit, group: list[_Hit]) -> _AmountHit | None:
        mine = own_amounts.get(id(chosen), [])
        pool = mine or [a for g in group for a in own_amounts.get(id(g), [])]
        strong = [a for a in pool if a.strong]
        return closest(strong or pool, chosen)

    def money_note(a: _AmountHit | None) -> str:
        return "" if a is None else f"; monto «{written(a.i, a.j)}» = {_fmt_money(a.value)}"

    dated = [p for p in promises if p[1] is not None]
    if dated:
        h, d, _ = dated[0]
        a = amount_for(h, [p[0] for p in promises])
        value = d.forward
        if value is None:
            reason = f"{_promise_label(h)}; la fecha «{written(d.i, d.j)}» no existe: promesa sin fecha válida"
            return Reply("promise", a.value if a else None, None, False, written(h.i, h.j),
                         reason + money_note(a))
        valid, note = _window(value, today, promise=True)
        reason = f"{_promise_label(h)}; fecha «{written(d.i, d.j)}» = {_fmt_date(value)}{note}{money_note(a)}"
        if h.kind == "claim":
            reason += "; verbo en pasado con fecha futura: se lee como promesa"
        return Reply("promise", a.value if a else None, value, valid, written(h.i, h.j),
                     reason + others_than("promise", present))

    if claims:
        with_amount = [c for c in claims if own_amounts.get(id(c[0]))]
        h, d, _ = (with_amount or claims)[0]
        a = amount_for(h, [c[0] for c in claims])
        reason = f"dice que ya pagó: {h.label}"
        value = None
        valid = False
        if d is not None:
            value = d.backward
            if value is None:
                reason += f"; la fecha «{written(d.i, d.j)}» no existe"
            else:
                valid, note = _window(value, today, promise=False)
                reason += f"; fecha «{written(d.i, d.j)}» = {_fmt_date(value)}{note}"
        reason += money_note(a)
        return Reply("payment_claim", a.value if a else None, value, valid, written(h.i, h.j),
                     reason + others_than("payment_claim", present))

    balance = [h for h in live if h.intent == "balance"]
    if balance:
        h = balance[0]
        return Reply("balance", matched=written(h.i, h.j), reason=f"pide el saldo: {h.label}")

    if promises:
        h = promises[0][0]
        a = amount_for(h, [p[0] for p in promises])
        return Reply("promise", a.value if a else None, None, False, written(h.i, h.j),
                     f"{_promise_label(h)} sin fecha{money_note(a)}")

    # a reply that is only a date ("el viernes", "mañana sin falta", "15/12") answers the reminder: a promise
    if dates and all(h.kind == "rest" for h in hits):
        inside = [False] * n
        for span in [(d.i, d.j) for d in dates] + [(h.i, h.j) for h in hits] + [(a.i, a.j) for a in amounts]:
            for k in range(span[0], span[1]):
                inside[k] = True
        firsts = [d for d in dates if not d.past and d.forward is not None]
        if firsts and all(inside[k] or canon[k] in _FILLERS for k in range(n)):
            d = firsts[0]
            valid, note = _window(d.forward, today, promise=True)
            a = closest([x for x in amounts if x.strong] or amounts, _Hit("promise", "rest", "", d.i, d.j))
            return Reply("promise", a.value if a else None, d.forward, valid, written(d.i, d.j),
                         f"solo una fecha, se lee como promesa; fecha «{written(d.i, d.j)}» = "
                         f"{_fmt_date(d.forward)}{note}{money_note(a)}")

    helps = [h for h in live if h.intent == "help"]
    if helps:
        h = helps[0]
        return Reply("help", matched=written(h.i, h.j), reason=f"pide ayuda: {h.label}")

    return _other(line, positions, hits, written)


def _promise_label(h: _Hit) -> str:
    if h.label.startswith("palabra clave PROMESA") or h.label.startswith("palabra de la cooperativa"):
        return h.label
    return "promesa de pago: " + h.label.replace("frase ", "")


def _window(value: _dt.date, today: _dt.date, *, promise: bool) -> tuple[bool, str]:
    ahead = (value - today).days
    if promise:
        if ahead < 0:
            return False, " (fecha inusual: ya pasó)"
        if ahead > HORIZON_DAYS:
            return False, f" (fecha inusual: a más de {HORIZON_DAYS} días)"
        return True, ""
    if ahead > 0:
        return False, " (fecha inusual: todavía no llega)"
    if -ahead > HORIZON_DAYS:
        return False, f" (fecha inusual: hace más de {HORIZON_DAYS} días)"
    return True, ""


def _other(line: str, positions: list[int], hits: list[_Hit], written: Callable[[int, int], str]) -> Reply:
    for label, regex in _COMPILED_HINTS:
        m = regex.search(line)
        if m:
            i = bisect.bisect_left(positions, m.start())
            j = bisect.bisect_left(positions, m.end())
            return Reply("other", matched=written(i, j),
                         reason=label.replace("{W}", written(i, j)) + ": va a la bandeja del personal")
    negated = [h for h in hits if h.negated]
    if negated:
        h = negated[0]
        return Reply("other", matched=written(h.i, h.j),
                     reason=f"«{written(h.i, h.j)}» está negado: va a la bandeja del personal")
    return Reply("other", reason="sin palabra clave reconocida: va a la bandeja del personal")


# ---------------------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    """``python -m scheduler.replies TEXT... [--today YYYY-MM-DD] [--config FILE]``: prints the
    reply's JSON (one object, one line). ``TEXT`` ``-`` reads the message from standard input;
    ``--config`` reads the ``[replies]`` table of a TOML file. Exit 0; 2 for a bad argument or
    configuration."""
    parser = argparse.ArgumentParser(prog="python -m scheduler.replies",
                                     description="Qué significa la respuesta SMS de un deudor (JSON).")
    parser.add_argument("text", nargs="+", help="el mensaje (varias palabras se unen con espacios; - lee la entrada)")
    parser.add_argument("--today", type=_iso_date, default=None,
                        help="la fecha de hoy, AAAA-MM-DD (por omisión, la del reloj)")
    parser.add_argument("--config", default=None, help="archivo TOML con una sección [replies]")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
    words = DEFAULT_WORDS
    if args.config:
        import tomllib
        try:
            with open(args.config, "rb") as handle:
                words = words_from_config(tomllib.load(handle).get("replies"))
        except (OSError, tomllib.TOMLDecodeError, PolicyError) as error:
            print(f"No se pudo leer la configuración «{args.config}»: {error}", file=sys.stderr)
            return 2
    today = args.today or _dt.date.today()
    out = json.dumps(understand(text, today=today, words=words).to_dict(), ensure_ascii=False)
    try:
        print(out)
    except UnicodeEncodeError:
        print(json.dumps(json.loads(out)))
    return 0


def _iso_date(value: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{value}» no es una fecha AAAA-MM-DD") from None


if __name__ == "__main__":
    sys.exit(main())
