"""Notes written beside a phone in a loan list: ``300 123 4567 (vecina)``, ``3101234567 - tienda Don José``.

Offices without a second column for it write whose phone a number is right after the number. A note that
says nothing else than that the number is the debtor's own (``celular``, ``WhatsApp``, ``personal``) keeps
it personal; any other note (a neighbour, a child, a shop, "recados", "llamar en la tarde") makes it *not
personal*: reminders to it then disclose no amount and no debt, and the import says so with the note, so
staff can correct the phone on the debtor's page. Marking a personal phone shared by mistake only makes its
messages less specific; the other mistake would tell a neighbour about a debt.

:func:`split_note` separates the number from its note; :func:`note_is_personal` reads the note;
:func:`merge_phones` adds phones to a debtor's list without repeating a number (the first note kept).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Iterable

_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_EXTENSION = re.compile(r"(?i)\bext\.?\s*\d+\s*$")
_BEFORE_NOTE = " \t-–—:,;/|("

PERSONAL_WORDS = frozenset({
    "personal", "propio", "propia", "suyo", "suya", "celular", "cel", "cell", "movil", "mobile", "whatsapp", "wsp",
    "wa", "principal", "titular", "socio", "socia", "own", "de", "del", "el", "la", "su", "y", "mi", "numero",
})
"""Words of a note that says the number is the debtor's own (accents and case ignored). A note made only of
these keeps the phone personal."""


def split_note(text: str) -> tuple[str, str]:
    """``(number, note)`` of one phone cell part: the number is what comes before the first letter (without
    the separator or opening parenthesis before the note), the note the rest (without a closing parenthesis).
    A part with no letter, an extension (``ext. 12``) or a letter before any digit is left whole, note ``""``:
    the phone parser judges it."""
    first = _LETTER.search(text)
    if first is None or _EXTENSION.search(text):
        return text, ""
    number = text[:first.start()].rstrip(_BEFORE_NOTE)
    if not _DIGIT.search(number):
        return text, ""
    note = " ".join(text[first.start():].strip().rstrip(")").split())
    return number, note


def note_is_personal(note: str) -> bool:
    """True when ``note`` only says the number is the debtor's own (see :data:`PERSONAL_WORDS`); an empty
    note is personal."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", note) if not unicodedata.combining(c)).casefold()
    words = re.findall(r"[^\W\d_]+", folded)
    return all(word in PERSONAL_WORDS for word in words)


def merge_phones(phones: list, new: Iterable) -> None:
    """Append each phone of ``new`` (``ParsedPhone``) whose number is not in ``phones`` yet; a number already
    there without a note takes the note of the later one (the same phone written twice, once annotated)."""
    for phone in new:
        for index, known in enumerate(phones):
            if known.e164 == phone.e164:
                if phone.note and not known.note:
                    phones[index] = replace(known, note=phone.note)
                break
        else:
            phones.append(phone)
