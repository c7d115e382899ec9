"""GSM 7-bit default alphabet (TS 23.038 §6.2.1) and septet packing.

The character table comes from the ``gsm0338`` codec (``'gsm03.38'``): the basic
table and the default extension table reached through ESC (0x1B). We only build
lookup dicts from it, and add what a codec cannot do: septet counting, packing
septets into octets (with leading fill bits after a user-data header), and a
tolerant decoder for septets received from the network.

Contract notes:
- U+001B (the ESC control character itself) is NOT encodable: in GSM-7 that code
  introduces an extension character, so text containing it goes UCS-2.
- 0x5F is "§" (python-gsmmodem wrongly had a backtick), ESC+0x0A is form feed.
- Decoding never raises on septet values: ESC followed by a code with no extension
  character gives the basic-table character (TS 23.038 §6.2.1.1), ESC ESC gives a
  space, and a trailing lone ESC is dropped.
"""

from __future__ import annotations

import codecs

import gsm0338  # noqa: F401  (registers the 'gsm03.38' codec)

from modem.errors import PduError

ESC = 0x1B
CODEC = "gsm03.38"


def _build_tables() -> tuple[tuple[str, ...], dict[int, str], dict[str, tuple[int, ...]]]:
    decode = codecs.getdecoder(CODEC)
    basic: list[str] = []
    for code in range(128):
        basic.append(" " if code == ESC else decode(bytes([code]))[0])
    extension: dict[int, str] = {}
    for code in range(128):
        if code == ESC:
            continue
        try:
            extension[code] = decode(bytes([ESC, code]))[0]
        except UnicodeDecodeError:
            continue
    encode: dict[str, tuple[int, ...]] = {}
    for code, char in extension.items():
        encode[char] = (ESC, code)
    for code, char in enumerate(basic):
        if code != ESC:
            encode[char] = (code,)
    return tuple(basic), extension, encode


BASIC, EXTENSION, _ENCODE = _build_tables()


def _spanish_single_shift() -> dict[int, str]:
    """TS 23.038 §A.2.2 Spanish single-shift table (IE 0x24, language 2), from gsm0338's charset."""
    from gsm0338.charset import SINGLE_SHIFT_CHARACTER_SET_SPANISH
    codec = gsm0338.Codec(single_shift_decode_map=SINGLE_SHIFT_CHARACTER_SET_SPANISH)
    return {code: codec.decode(bytes([ESC, code]))[0] for code in SINGLE_SHIFT_CHARACTER_SET_SPANISH}


SPANISH_SINGLE_SHIFT = 2
SINGLE_SHIFT_TABLES = {SPANISH_SINGLE_SHIFT: _spanish_single_shift()}


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` exists in the GSM-7 basic or extension table."""
    return all(char in _ENCODE for char in text)


def char_septets(char: str) -> tuple[int, ...]:
    """The septets of one character: 1 (basic table) or 2 (ESC + extension code).

    Raises PduError when ``char`` is not in GSM-7.
    """
    try:
        return _ENCODE[char]
    except KeyError:
        raise PduError(f"character {char!r} (U+{ord(char):04X}) is not in the GSM 7-bit alphabet") from None


def to_septets(text: str) -> list[int]:
    """Encode ``text`` to septet values (0-127). Raises PduError for a non-GSM-7 character."""
    out: list[int] = []
    for char in text:
        out.extend(char_septets(char))
    return out


def septet_count(text: str) -> int:
    """Number of septets ``text`` needs in GSM-7 (extension characters count 2). Raises PduError."""
    return sum(len(char_septets(char)) for char in text)


def from_septets(septets: list[int] | bytes, single_shift: int | None = None) -> str:
    """Decode septet values to text; never raises for values 0-127 (see module notes).

    ``single_shift`` is the national language of a single-shift UDH IE (0x24); only Spanish
    (2) is known, others fall back to the default extension table.
    """
    extension = SINGLE_SHIFT_TABLES.get(single_shift, EXTENSION)
    out: list[str] = []
    escaped = False
    for value in septets:
        value &= 0x7F
        if escaped:
            escaped = False
            if value == ESC:
                out.append(" ")  # reserved: "another extension table"; show a space
            else:
                out.append(extension.get(value, BASIC[value]))
        elif value == ESC:
            escaped = True
        else:
            out.append(BASIC[value])
    return "".join(out)


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB-first into octets, after ``fill_bits`` (0-6) zero bits.

    The result has ceil((fill_bits + 7*len(septets)) / 8) octets; unused high bits are zero.
    """
    total_bits = fill_bits + 7 * len(septets)
    value = 0
    shift = fill_bits
    for septet in septets:
        value |= (septet & 0x7F) << shift
        shift += 7
    return value.to_bytes((total_bits + 7) // 8, "little")


def unpack(data: bytes, count: int, start: int = 0) -> list[int]:
    """Read ``count`` septets from ``data`` beginning at septet index ``start``.

    Septet ``i`` occupies bits [7*i, 7*i+7) of ``data`` read LSB-first, so for a
    user-data header of ``h`` octets the text starts at ``start = ceil(8*h/7)``
    (that skips the fill bits). Raises PduError if ``data`` is too short.
    """
    if count < 0 or start < 0:
        raise PduError(f"negative septet count or offset ({count}, {start})")
    needed_bits = 7 * (start + count)
    if needed_bits > 8 * len(data):
        raise PduError(
            f"user data too short: {start + count} septets need {(needed_bits + 7) // 8} octets, got {len(data)}"
        )
    value = int.from_bytes(data, "little") >> (7 * start)
    out = []
    for _ in range(count):
        out.append(value & 0x7F)
        value >>= 7
    return out
