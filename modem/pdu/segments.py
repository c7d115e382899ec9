"""Choosing the alphabet, splitting text into segments, and the cost planner ``plan()``.

Rules (TS 23.038/23.040):
- GSM-7 when every character is in the basic or extension table, else UCS-2 for the
  WHOLE message (UTF-16-BE, so emoji take two units).
- A single message holds 160 septets / 70 UCS-2 units. Concatenated parts hold
  153 / 67 with an 8-bit reference and 152 / 66 with a 16-bit one.
- A GSM-7 escape pair (ESC + code) and a UTF-16 surrogate pair are never split
  across segments.

Transliteration (opt-in) is "smart": after Unicode NFC composition it maps only
á í ó ú Á Í Ó Ú -> a i o u A I O U and ‘ ’ “ ” – — … -> ' ' " " - - ..., and is used
only if the result fits GSM-7; otherwise the original text is kept (it goes UCS-2
anyway, so stripping accents would lose information for nothing). ñ Ñ ¿ ¡ é É ü Ü
are GSM-7 characters and are never touched.
"""

from __future__ import annotations

import unicodedata

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.model import GSM7, UCS2, Plan
from modem.pdu.udh import header_length

SINGLE_SEPTETS = 160
SINGLE_UCS2_UNITS = 70
USER_DATA_OCTETS = 140
MAX_SEGMENTS = 255

_TRANSLITERATION = str.maketrans({
    "á": "a", "í": "i", "ó": "o", "ú": "u",
    "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...",
})


def transliterate(text: str) -> str:
    """Apply the smart transliteration described in the module docstring."""
    candidate = unicodedata.normalize("NFC", text).translate(_TRANSLITERATION)
    return candidate if gsm7.is_gsm7(candidate) else text


def multipart_capacity(encoding: str, reference_bits: int = 8) -> int:
    """Units per part of a concatenated message: 153/152 septets, 67/66 UCS-2 units."""
    udh = header_length(reference_bits)
    if encoding == GSM7:
        return SINGLE_SEPTETS - (udh * 8 + 6) // 7
    return (USER_DATA_OCTETS - udh) // 2


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise PduError(f"text must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-16-be")
    except UnicodeEncodeError:
        raise PduError("text contains a lone surrogate code point; it cannot be sent") from None


def _units(text: str, encoding: str) -> list[tuple[str, int]]:
    """(character, units) pairs."""
    if encoding == GSM7:
        return [(char, len(gsm7.char_septets(char))) for char in text]
    return [(char, 2 if ord(char) > 0xFFFF else 1) for char in text]


def split(text: str, reference_bits: int = 8, *, transliterate_text: bool = False) -> tuple[str, list[str]]:
    """Return (encoding, segment texts) for ``text``; always at least one segment.

    Raises PduError for non-str text, lone surrogates, a bad ``reference_bits`` or
    more than 255 segments.
    """
    _check_text(text)
    if reference_bits not in (8, 16):
        raise PduError(f"reference_bits must be 8 or 16, not {reference_bits!r}")
    if transliterate_text:
        text = transliterate(text)
    encoding = GSM7 if gsm7.is_gsm7(text) else UCS2
    units = _units(text, encoding)
    single = SINGLE_SEPTETS if encoding == GSM7 else SINGLE_UCS2_UNITS
    if sum(n for _, n in units) <= single:
        return encoding, [text]
    capacity = multipart_capacity(encoding, reference_bits)
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char, n in units:
        if used + n > capacity:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += n
    parts.append("".join(current))
    if len(parts) > MAX_SEGMENTS:
        raise PduError(f"text needs {len(parts)} segments; at most {MAX_SEGMENTS} can be concatenated")
    return encoding, parts


def plan(text: str, transliterate: bool = False, *, reference_bits: int = 8) -> Plan:
    """What sending ``text`` costs: encoding, segments, units used and units left in the last
    segment, and the text actually sent (after optional transliteration).

    The segment count always equals ``len(encode_submit(number, text, ...))`` with the
    same ``transliterate`` and ``reference_bits``. Empty text: 1 segment, 160 left.
    Raises PduError like :func:`split`.
    """
    encoding, parts = split(text, reference_bits, transliterate_text=transliterate)
    sent = "".join(parts)
    counts = [sum(n for _, n in _units(part, encoding)) for part in parts]
    if len(parts) == 1:
        capacity = SINGLE_SEPTETS if encoding == GSM7 else SINGLE_UCS2_UNITS
    else:
        capacity = multipart_capacity(encoding, reference_bits)
    return Plan(encoding=encoding, segments=len(parts), chars_left=capacity - counts[-1], text=sent,
                units=sum(counts))
