"""Parsers for the information lines of AT answers and URCs (pure, no I/O).

Each function takes the text after the ``+XXX:`` prefix (or the whole line;
the prefix is stripped when present) and returns plain values. They raise
:class:`modem.errors.AtProtocolError` for lines that break the grammar, so the
driver can report a garbled answer as a typed error instead of crashing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from modem.errors import AtProtocolError

#: ``+CCLK`` years before this are a modem's factory default ("04/01/01", "80/01/06"), not network time.
MIN_PLAUSIBLE_YEAR = 2024


def fields(value: str, prefix: str | None = None) -> list[str]:
    """Split a comma-separated answer, honouring double quotes; strips ``prefix:`` if present."""
    text = value.strip()
    if prefix and text.upper().startswith(prefix.upper() + ":"):
        text = text[len(prefix) + 1:].strip()
    elif prefix and text.upper().startswith(prefix.upper()):
        text = text[len(prefix):].lstrip(": ")
    try:
        return [f.strip() for f in next(csv.reader([text], skipinitialspace=True))] if text else []
    except (csv.Error, StopIteration) as exc:
        raise AtProtocolError(f"unparseable answer {value!r}") from exc


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError) as exc:
        raise AtProtocolError(f"{what}: not a number: {text!r}") from exc


def find_line(lines: tuple[str, ...] | list[str], prefix: str) -> str:
    """The first line starting with ``prefix`` (e.g. "+CSQ"), or AtProtocolError."""
    for line in lines:
        if line.upper().startswith(prefix.upper()):
            return line
    raise AtProtocolError(f"no {prefix} line in answer {list(lines)!r}")


def rssi_to_dbm(rssi: int) -> int | None:
    """TS 27.007 +CSQ rssi → dBm: 0 → -113, 31 → -51; 99 (unknown) → None."""
    if rssi == 99 or not 0 <= rssi <= 31:
        return None
    return -113 + 2 * rssi


def parse_csq(line: str) -> int:
    """``+CSQ: <rssi>,<ber>`` → rssi."""
    f = fields(line, "+CSQ")
    if not f:
        raise AtProtocolError(f"empty +CSQ: {line!r}")
    return _int(f[0], "+CSQ rssi")


REGISTRATION_STATES = {0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}


def parse_reg(line: str, name: str) -> int:
    """``+CREG: <n>,<stat>[,...]`` (answer) or ``+CREG: <stat>[,...]`` (URC) → stat."""
    f = fields(line, "+" + name)
    if not f:
        raise AtProtocolError(f"empty +{name}: {line!r}")
    # Answer to "?" has n first; a URC has stat first. With ≥2 fields and a quoted 2nd (lac), it is a URC.
    if len(f) >= 2 and not line.split(",")[1].strip().startswith('"'):
        return _int(f[1], f"+{name} stat")
    return _int(f[0], f"+{name} stat")


def parse_cops(line: str) -> str | None:
    """``+COPS: <mode>[,<format>,"<oper>"[,<act>]]`` → operator name, or None when not registered."""
    f = fields(line, "+COPS")
    return f[2] if len(f) >= 3 and f[2] else None


_CCLK = re.compile(r'"?(\d{2,4})/(\d{1,2})/(\d{1,2}),(\d{1,2}):(\d{1,2}):(\d{1,2})([+-]\d{1,2})?"?')


def parse_cclk(line: str, *, min_year: int = MIN_PLAUSIBLE_YEAR) -> datetime | None:
    """``+CCLK: "yy/MM/dd,hh:mm:ss±zz"`` (zz in quarter hours) → aware datetime.

    Returns None for a factory default / implausible year (earlier than
    ``min_year``) — the modem has no network time then. Raises AtProtocolError
    when the line is not a clock at all.
    """
    text = line.split(":", 1)[1] if line.upper().startswith("+CCLK") else line
    m = _CCLK.search(text)
    if not m:
        raise AtProtocolError(f"unparseable +CCLK: {line!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if year < 100:
        year += 1900 if year >= 70 else 2000   # "80/01/06" is a 1980 default, not 2080
    quarters = int(m.group(7)) if m.group(7) else 0
    try:
        moment = datetime(year, month, day, hour, minute, second,
                          tzinfo=timezone(timedelta(minutes=15 * quarters)))
    except ValueError as exc:
        raise AtProtocolError(f"impossible +CCLK time: {line!r}") from exc
    if year < min_year:
        return None
    return moment


def parse_cpms(line: str) -> list[tuple[str | None, int, int]]:
    """``+CPMS: "SM",used,total,...`` (query) or ``+CPMS: used,total,...`` (set) → [(mem, used, total)]."""
    f = fields(line, "+CPMS")
    out: list[tuple[str | None, int, int]] = []
    i = 0
    while i < len(f):
        if f[i].isdigit():            # answer to a set command: used,total pairs
            if i + 1 >= len(f):
                break
            out.append((None, _int(f[i], "+CPMS used"), _int(f[i + 1], "+CPMS total")))
            i += 2
        else:                         # answer to a query: "mem",used,total triples
            if i + 2 >= len(f):
                break
            out.append((f[i], _int(f[i + 1], "+CPMS used"), _int(f[i + 2], "+CPMS total")))
            i += 3
    if not out:
        raise AtProtocolError(f"unparseable +CPMS: {line!r}")
    return out


def parse_index_urc(value: str) -> tuple[str | None, int]:
    """``+CMTI: "SM",3`` / ``+CDSI: "SR",1`` (value part) → (memory, index)."""
    f = fields(value)
    if not f:
        raise AtProtocolError(f"empty index URC {value!r}")
    if len(f) == 1:
        return None, _int(f[0], "index")
    return f[0], _int(f[-1], "index")


@dataclass(frozen=True)
class StoredHeader:
    """``+CMGL: <index>,<stat>,[<alpha>],<length>`` / ``+CMGR: <stat>,[<alpha>],<length>`` in PDU mode."""

    index: int | None
    stat: int
    length: int


def parse_cmgl_header(line: str) -> StoredHeader:
    f = fields(line, "+CMGL")
    if len(f) < 3:
        raise AtProtocolError(f"unparseable +CMGL: {line!r}")
    return StoredHeader(_int(f[0], "+CMGL index"), _int(f[1], "+CMGL stat"), _int(f[-1], "+CMGL length"))


def parse_cmgr_header(line: str) -> StoredHeader:
    f = fields(line, "+CMGR")
    if len(f) < 2:
        raise AtProtocolError(f"unparseable +CMGR: {line!r}")
    return StoredHeader(None, _int(f[0], "+CMGR stat"), _int(f[-1], "+CMGR length"))


_HEX = re.compile(r"^(?:[0-9A-Fa-f]{2})+$")


def decode_ussd(text: str, dcs: int | None, encoding: str) -> str:
    """The text of a ``+CUSD`` answer.

    ``encoding`` is the profile's ``ussd_encoding``: ``"text"`` (the modem
    already decoded it into the TE character set) or ``"hex"`` (hex octets: packed
    GSM-7 septets for DCS 0x0F-style values, UTF-16BE for UCS-2 DCS 0x48/0x72).
    Text that does not look like hex is returned as is even in ``"hex"`` mode.
    """
    if encoding != "hex" or not _HEX.match(text):
        return text
    raw = bytes.fromhex(text)
    if dcs is not None and (dcs & 0x0C) == 0x08 or dcs in (0x48, 0x72, 0x11):
        return raw.decode("utf-16-be", errors="replace")
    from modem.pdu.gsm7 import from_septets, unpack
    count = len(raw) * 8 // 7
    septets = unpack(raw, count)
    # 7 spare bits at the end are filled with CR (TS 23.038 §6.1.2.3.1) or left zero ("@"): padding, not text
    if len(raw) % 7 == 0 and septets and septets[-1] in (0x0D, 0x00):
        septets = septets[:-1]
    return from_septets(septets)


def parse_cusd(value: str) -> tuple[int, str | None, int | None]:
    """``+CUSD: <m>[,"<str>"[,<dcs>]]`` (value part) → (m, str, dcs)."""
    f = fields(value, "+CUSD")
    if not f:
        raise AtProtocolError(f"empty +CUSD: {value!r}")
    m = _int(f[0], "+CUSD m")
    text = f[1] if len(f) >= 2 else None
    dcs = _int(f[2], "+CUSD dcs") if len(f) >= 3 and f[2] else None
    return m, text, dcs
