"""The prepaid balance in an operator's USSD answer: text in, amount out (pure).

``parse_balance(text, country=None) -> Balance`` reads answers such as::

    Su saldo es $1.250,50                              -> 1250.50 "$" (COP with country="CO")
    Saldo: S/ 3.20                                     -> 3.20 PEN
    Tu saldo principal es de 2500 pesos vence 15/12    -> 2500 "$"
    Saldo recarga: $0.00. Bono: $5.000 vence 01/12     -> 0.00 (the first balance named, not the bonus)
    Bs. 12,50 de saldo; 300MB hasta las 23:59          -> 12.50 BOB

Rules: dates (``15/12``, ``15-12-2026``), times (``23:59``), codes (``*611#``), menu item numbers, phone-length
digit runs and quantities with a unit (``300MB``, ``100 min``, ``50 SMS``, ``10%``) are never amounts. Among the amounts
left, the first one with a currency after the word *saldo* (or *crédito*/*balance*) wins, then the first bare
number after it; without that word, the first amount with a currency. Separators: both ``.`` and ``,`` present
-> the last is the decimal mark; one of them once with exactly three digits after it -> thousands (``$1.234``
is 1234: Latin American balances are not written with three decimals); otherwise decimal. "No tiene saldo"
and "saldo insuficiente" with no amount read as 0.

``currency`` is an ISO 4217 code when the answer shows an unambiguous one (``S/`` PEN, ``Bs`` BOB, ``Gs``
PYG, ``Q`` GTQ, ``₡`` CRC, ``C$`` NIO, ``RD$`` DOP, ``US$``/``USD`` USD, or the words *soles*, *bolivianos*...);
``$`` and *pesos* give ``"$"``, or the country's peso when ``country`` is given (CO COP, MX MXN, CL CLP, AR
ARS, UY UYU, DO DOP). An answer without an amount gives ``amount=None`` and ``understood=False``; ``raw``
always keeps the text as received, so a person can read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PESO_COUNTRIES = {"CO": "COP", "MX": "MXN", "CL": "CLP", "AR": "ARS", "UY": "UYU", "DO": "DOP", "CU": "CUP"}

_SYMBOLS = {"us$": "USD", "usd": "USD", "rd$": "DOP", "c$": "NIO", "s/": "PEN", "s/.": "PEN", "bs": "BOB",
            "bs.": "BOB", "gs": "PYG", "gs.": "PYG", "₲": "PYG", "₡": "CRC", "q": "GTQ", "q.": "GTQ", "$": "$",
            "cop": "COP", "mxn": "MXN", "pen": "PEN", "clp": "CLP", "bob": "BOB", "pyg": "PYG", "gtq": "GTQ",
            "ars": "ARS", "crc": "CRC", "hnl": "HNL", "nio": "NIO", "dop": "DOP", "uyu": "UYU"}
_WORDS = {"pesos": "$", "peso": "$", "soles": "PEN", "sol": "PEN", "bolivianos": "BOB", "guaranies": "PYG",
          "guaraníes": "PYG", "quetzales": "GTQ", "colones": "CRC", "cordobas": "NIO", "córdobas": "NIO",
          "lempiras": "HNL", "dolares": "USD", "dólares": "USD", "usd": "USD", "cop": "COP", "mxn": "MXN",
          "pen": "PEN", "clp": "CLP", "bob": "BOB", "pyg": "PYG", "gtq": "GTQ", "ars": "ARS", "crc": "CRC"}

_NUMBER = r"\d(?:[\d.,]*\d)?"
_BEFORE = r"(?<![A-Za-z0-9])(?P<cur>US\$|RD\$|C\$|S/\.?|Bs\.?|Gs\.?|₲|₡|Q\.?|\$|USD|COP|MXN|PEN|CLP|BOB|PYG|GTQ|ARS|" \
          r"CRC|HNL|NIO|DOP|UYU)\s?(?P<num>" + _NUMBER + r")"
_AFTER = r"(?P<num2>" + _NUMBER + r")\s?(?P<word>" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) \
         + r")(?![A-Za-z])"
_MONEY = re.compile(_BEFORE + "|" + _AFTER, re.IGNORECASE)
_BARE = re.compile(r"(?<![\d*#.,])" + _NUMBER + r"(?![\d*#])")
_UNIT = re.compile(r"\s?(?:MB|GB|KB|megas|gigas|min\b|minutos|seg|segundos|SMS|mensajes|d[ií]as|horas|hrs|%|x\b)",
                   re.IGNORECASE)
_BLANK = [re.compile(p) for p in (
    r"\d{1,4}[/-]\d{1,2}(?:[/-]\d{2,4})?",       # dates
    r"\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?",  # times
    r"[*#][\d*#]*#?",                            # USSD codes
    r"\+?\d{9,}",                                # phone numbers
    r"(?m)^\s*\d{1,2}[.)-](?=\s)",                 # menu items ("1. Consultar saldo")
)]
_KEYWORD = re.compile(r"saldo|cr[eé]dito|balance", re.IGNORECASE)
_NONE_LEFT = re.compile(r"(?:no\s+(?:tiene|tienes|cuenta\s+con|cuentas\s+con)\s+saldo|sin\s+saldo|"
                        r"saldo\s+insuficiente|saldo\s+agotado)", re.IGNORECASE)


@dataclass(frozen=True)
class Balance:
    """What an answer says: ``amount`` (None when not understood), ``currency`` (ISO code, ``"$"`` or None),
    ``raw`` (the text as received), ``understood``."""

    amount: Decimal | None
    currency: str | None
    raw: str

    @property
    def understood(self) -> bool:
        return self.amount is not None

    def as_dict(self) -> dict:
        return {"amount": None if self.amount is None else str(self.amount), "currency": self.currency,
                "raw": self.raw, "understood": self.understood}


def to_decimal(number: str) -> Decimal | None:
    """``"1.250,50"`` -> 1250.50, ``"1,250.50"`` -> 1250.50, ``"3.20"`` -> 3.20, ``"1.234"`` -> 1234 (see the
    module docstring); None for a shape that is no amount (``"1.2.3,4,5"``)."""
    dots, commas = number.count("."), number.count(",")
    if dots and commas:
        decimal_mark = "." if number.rfind(".") > number.rfind(",") else ","
        thousands = "," if decimal_mark == "." else "."
        whole, _, fraction = number.rpartition(decimal_mark)
        if decimal_mark in whole or not re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*", whole):
            return None
        digits = whole.replace(thousands, "") + "." + fraction
    elif dots + commas == 0:
        digits = number
    else:
        mark = "." if dots else ","
        parts = number.split(mark)
        if len(parts) > 2:   # 1.234.567: thousands only
            if not (1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])):
                return None
            digits = "".join(parts)
        elif len(parts[1]) == 3:
            digits = "".join(parts)
        else:
            digits = parts[0] + "." + parts[1]
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def _currency(found: str | None, country: str | None) -> str | None:
    if found is None:
        return None
    code = _SYMBOLS.get(found.lower()) or _WORDS.get(found.lower())
    if code == "$" and country:
        return PESO_COUNTRIES.get(country.upper(), "$")
    return code


def parse_balance(text: str, country: str | None = None) -> Balance:
    """The balance in an operator's answer (see the module docstring)."""
    raw = text if isinstance(text, str) else ""
    work = raw
    for pattern in _BLANK:   # blank out what is never an amount, keeping positions
        work = pattern.sub(lambda m: " " * len(m.group(0)), work)
    candidates: list[tuple[int, Decimal, str | None]] = []
    taken: list[tuple[int, int]] = []
    for match in _MONEY.finditer(work):
        number = match.group("num") or match.group("num2")
        start = match.start("num") if match.group("num") else match.start("num2")
        end = start + len(number)
        if _UNIT.match(work, end) and not match.group("word"):
            continue
        amount = to_decimal(number)
        if amount is not None:
            candidates.append((match.start(), amount, _currency(match.group("cur") or match.group("word"), country)))
            taken.append((start, end))
    for match in _BARE.finditer(work):
        if any(s <= match.start() < e for s, e in taken) or _UNIT.match(work, match.end()):
            continue
        amount = to_decimal(match.group(0))
        if amount is not None:
            candidates.append((match.start(), amount, None))
    candidates.sort(key=lambda c: c[0])
    keyword = _KEYWORD.search(work)
    chosen = None
    if keyword is not None:
        after = [c for c in candidates if c[0] >= keyword.start()]
        chosen = next((c for c in after if c[2] is not None), None) or (after[0] if after else None)
        before = [c for c in candidates if c[0] < keyword.start() and c[2] is not None]
        if chosen is None and before:   # "Bs. 12,50 de saldo": the amount comes first
            chosen = before[-1]
    else:
        chosen = next((c for c in candidates if c[2] is not None), None)
    if chosen is None:
        if _NONE_LEFT.search(raw):
            return Balance(Decimal("0"), None, raw)
        return Balance(None, None, raw)
    return Balance(chosen[1], chosen[2], raw)


def is_low(balance: Balance | None, threshold: Decimal | float | int | str | None) -> bool:
    """True when the balance was understood and is below ``threshold`` (no threshold: never low)."""
    if balance is None or balance.amount is None or threshold is None:
        return False
    limit = Decimal(str(threshold))
    return limit > 0 and balance.amount < limit
