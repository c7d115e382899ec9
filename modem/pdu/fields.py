"""TP fields shared by every PDU type: a bounds-checked reader, addresses,
service-centre time stamps and the validity period (TS 23.040 §9.1.2, §9.2.3).

Every decoder here raises PduError (never IndexError/ValueError) on malformed input.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from modem.errors import PduError
from modem.pdu import gsm7

TOA_INTERNATIONAL = 0x91
TOA_UNKNOWN = 0x81
TOA_ALPHANUMERIC = 0xD0
TON_INTERNATIONAL = 1
TON_ALPHANUMERIC = 5

_BCD_DIGITS = "0123456789*#abc"  # nibble 0xF is the filler
MAX_ADDRESS_DIGITS = 20
MAX_ALPHANUMERIC_SEPTETS = 11


class Reader:
    """A cursor over PDU octets; every read checks bounds and names what was being read."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, count: int, what: str) -> bytes:
        if count > self.remaining:
            raise PduError(
                f"PDU truncated: {what} needs {count} octet(s) at offset {self.pos}, only {self.remaining} left"
            )
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]


# --- addresses -------------------------------------------------------------------------------

def _bcd_encode(digits: str) -> bytes:
    nibbles = [_BCD_DIGITS.index(d) for d in digits]
    if len(nibbles) % 2:
        nibbles.append(0xF)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def _bcd_decode(raw: bytes, count: int, what: str) -> str:
    out = []
    for i in range(count):
        nibble = (raw[i // 2] >> (4 * (i % 2))) & 0xF
        if nibble == 0xF:
            raise PduError(f"{what}: filler nibble F inside the digits")
        out.append(_BCD_DIGITS[nibble])
    return "".join(out)


def _split_number(number: str, what: str) -> tuple[int, str]:
    if not isinstance(number, str):
        raise PduError(f"{what} must be a string, got {type(number).__name__}")
    toa, digits = (TOA_INTERNATIONAL, number[1:]) if number.startswith("+") else (TOA_UNKNOWN, number)
    if not digits or len(digits) > MAX_ADDRESS_DIGITS or any(d not in "0123456789*#" for d in digits):
        raise PduError(f"{what} {number!r} is not a phone number (1-{MAX_ADDRESS_DIGITS} digits, optional '+')")
    return toa, digits


def is_phone_number(value: str) -> bool:
    """True for "+<digits>" or "<digits>" (also * and #): what encode_address treats as numeric."""
    try:
        _split_number(value, "address")
    except PduError:
        return False
    return True


def encode_address(number: str, what: str = "number", *, allow_alphanumeric: bool = False) -> bytes:
    """TP-DA/TP-OA/TP-RA: length in digits (semi-octets), type of address, swapped BCD.

    "+573001234567" -> international (0x91); plain digits -> unknown TON (0x81, what
    modems use for national numbers). With ``allow_alphanumeric`` a non-numeric
    value of at most 11 GSM-7 septets becomes an alphanumeric address (0xD0).
    Raises PduError for anything else.
    """
    if allow_alphanumeric and isinstance(number, str) and not is_phone_number(number) and number:
        septets = gsm7.to_septets(number)
        if len(septets) > MAX_ALPHANUMERIC_SEPTETS:
            raise PduError(f"alphanumeric {what} {number!r} is longer than {MAX_ALPHANUMERIC_SEPTETS} septets")
        return bytes([math.ceil(len(septets) * 7 / 4), TOA_ALPHANUMERIC]) + gsm7.pack(septets)
    toa, digits = _split_number(number, what)
    return bytes([len(digits), toa]) + _bcd_encode(digits)


def decode_address(reader: Reader, what: str) -> str:
    """Read an address field; returns "+digits", "digits" or alphanumeric text (see module doc)."""
    length = reader.octet(f"{what} length")
    if length > MAX_ADDRESS_DIGITS:
        raise PduError(f"{what} length {length} semi-octets is more than {MAX_ADDRESS_DIGITS}")
    toa = reader.octet(f"{what} type")
    raw = reader.take((length + 1) // 2, what)
    ton = (toa >> 4) & 0x7
    if ton == TON_ALPHANUMERIC:
        count = length * 4 // 7
        septets = gsm7.unpack(raw, count)
        # A sender of 8n septets exactly fills its octets; one more zero septet would be padding ('@').
        if count and septets[-1] == 0 and (count * 7) % 8 == 0 and (length * 4) % 7 == 0:
            septets = septets[:-1]
        return gsm7.from_septets(septets)
    digits = _bcd_decode(raw, length, what)
    return "+" + digits if ton == TON_INTERNATIONAL else digits


def encode_smsc(number: str | None) -> bytes:
    """The SMSC field before the TPDU: b"\\x00" (use the SIM's SMSC) for None/"", else
    length-in-octets, type, BCD. Raises PduError for a bad number."""
    if not number:
        return b"\x00"
    toa, digits = _split_number(number, "SMSC")
    body = bytes([toa]) + _bcd_encode(digits)
    return bytes([len(body)]) + body


def decode_smsc(reader: Reader) -> str | None:
    """Read the SMSC field; None when its length is 0."""
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    if length > 11:
        raise PduError(f"SMSC length {length} octets is more than 11")
    toa = reader.octet("SMSC type")
    raw = reader.take(length - 1, "SMSC")
    digits = "".join(_BCD_DIGITS[n] for b in raw for n in (b & 0xF, b >> 4) if n != 0xF)
    return "+" + digits if (toa >> 4) & 0x7 == TON_INTERNATIONAL else digits


# --- time stamps ------------------------------------------------------------------------------

def _swap(value: int) -> int:
    return ((value % 10) << 4) | (value // 10)


def encode_timestamp(moment: datetime, what: str = "timestamp") -> bytes:
    """TP-SCTS format: 7 swapped-BCD octets, the last one the UTC offset in quarter hours
    (bit 3 = negative). ``moment`` must be aware, in 2000-2099, with an offset that is a
    whole number of quarter hours (|offset| < 20 h). Seconds' fractions are dropped."""
    if not isinstance(moment, datetime):
        raise PduError(f"{what} must be a datetime, got {type(moment).__name__}")
    offset = moment.utcoffset()
    if offset is None:
        raise PduError(f"{what} must be timezone-aware")
    if not 2000 <= moment.year <= 2099:
        raise PduError(f"{what} year {moment.year} is outside 2000-2099")
    quarters, rest = divmod(offset, timedelta(minutes=15))
    if rest or abs(quarters) > 79:
        raise PduError(f"{what} UTC offset {offset} is not a whole number of quarter hours below 20 h")
    zone = _swap(abs(quarters)) | (0x08 if quarters < 0 else 0)
    fields = (moment.year - 2000, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return bytes(_swap(v) for v in fields) + bytes([zone])


def decode_timestamp(reader: Reader, what: str) -> datetime:
    """Read a 7-octet time stamp; raises PduError for non-BCD digits or impossible dates."""
    raw = reader.take(7, what)
    values = []
    for index, octet in enumerate(raw):
        low, high = octet & 0xF, octet >> 4
        if index == 6:
            low &= 0x7  # bit 3 is the sign of the time zone
        if low > 9 or high > 9:
            raise PduError(f"{what}: octet {index} ({octet:02X}) is not BCD")
        values.append(low * 10 + high)
    year, month, day, hour, minute, second, quarters = values
    if raw[6] & 0x08:
        quarters = -quarters
    try:
        return datetime(2000 + year, month, day, hour, minute, second,
                        tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError as exc:
        raise PduError(f"{what}: impossible date/time {raw.hex().upper()} ({exc})") from None


# --- validity period --------------------------------------------------------------------------

def relative_validity_octet(period: timedelta) -> int:
    """Smallest TP-VP (relative format) covering ``period``, capped at 255 (63 weeks).

    0-143: (VP+1)*5 min; 144-167: 12 h + (VP-143)*30 min; 168-196: (VP-166) days;
    197-255: (VP-192) weeks. Raises PduError for a negative or non-timedelta period.
    """
    if not isinstance(period, timedelta):
        raise PduError(f"validity must be a timedelta, got {type(period).__name__}")
    if period < timedelta(0):
        raise PduError(f"validity {period} is negative")
    minutes = math.ceil(period / timedelta(minutes=1))
    if minutes <= 12 * 60:
        return max(0, math.ceil(minutes / 5) - 1)
    if minutes <= 24 * 60:
        return 143 + math.ceil((minutes - 12 * 60) / 30)
    days = math.ceil(minutes / (24 * 60))
    if days <= 30:
        return 166 + days
    return min(255, 192 + math.ceil(days / 7))


def relative_validity(octet: int) -> timedelta:
    """The period a relative TP-VP octet stands for (inverse of relative_validity_octet)."""
    if octet <= 143:
        return timedelta(minutes=(octet + 1) * 5)
    if octet <= 167:
        return timedelta(hours=12, minutes=(octet - 143) * 30)
    if octet <= 196:
        return timedelta(days=octet - 166)
    return timedelta(weeks=octet - 192)
