"""Call-progress lines of every modem family, parsed into one vocabulary (pure: no I/O).

:func:`parse` turns one unsolicited line (the driver's ``Urc`` name and value)
into zero or more :class:`Signal` objects; :func:`parse_clcc_list` does the
same for the lines of an ``AT+CLCC`` answer (polling). A line that cannot be
understood gives no signal — it never raises, whatever the bytes.

========================  =====================================================
line                      signal
========================  =====================================================
``+CLCC: id,dir,stat,..`` stat 2 dialing / 3 alerting / 0 connected /
``^DSCI: id,dir,stat,..`` 4-5 incoming / 6 ended (``direction`` from dir)
``^ORIG:id,type``         dialing
``^CONF:id``              alerting
``^CONN:id,type``         connected
``^CEND:id,dur,end,cc``   ended (``duration``, ``cause`` = cc)
``VOICE CALL: BEGIN``     connected
``VOICE CALL: END: hhmmss`` ended (``duration``)
``MO RING``               alerting
``MO CONNECTED``          connected
``BUSY`` ``NO ANSWER``    result (``word``): how a call ended on modems that
``NO CARRIER``            print result codes after the ``ATD`` OK
``NO DIALTONE``
``RING`` ``+CRING:``      incoming (number unknown)
``+CLIP: "n",type,...``   incoming (``number``)
``+CCWA: "n",...``        waiting (an incoming call while another is up)
``MISSED_CALL: t n``      missed (``number``)
``+DTMF: k[,ms]``         key ``k`` (SIM800 ``AT+DDET``)
``^DTMF:id,k`` ``^DTMF:k`` key (Huawei)
``+RXDTMF: k``            key (SIM7600)
``+QTONEDET: code``       key ``chr(code)`` (Quectel tone detection; 1400/2300 Hz tones ignored)
========================  =====================================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

__all__ = ["KEYS", "Signal", "parse", "parse_cause_text", "parse_clcc_list"]

KEYS = frozenset("0123456789*#ABCD")

_STAT = {0: "connected", 1: "connected", 2: "dialing", 3: "alerting", 4: "incoming", 5: "waiting",
         6: "ended", 7: "ended"}
_WORDS = {"BUSY", "NO ANSWER", "NO CARRIER", "NO DIALTONE"}


@dataclass(frozen=True)
class Signal:
    """One fact about a call.

    ``kind``: dialing / alerting / connected / ended / result / incoming /
    waiting / missed / key. ``index``: the modem's call id when the line gave
    one. ``direction``: "out" / "in" / None (unknown: the line does not say,
    e.g. ``^CONN``, which only outgoing calls of ours produce here).
    ``number``, ``cause`` (24.008), ``duration`` (seconds, modem-measured),
    ``word`` (the result code), ``key`` (one of 0-9 * # A-D).
    """

    kind: str
    index: int | None = None
    direction: str | None = None
    number: str | None = None
    cause: int | None = None
    duration: float | None = None
    word: str | None = None
    key: str | None = None


def _fields(value: str) -> list[str]:
    try:
        return [f.strip() for f in next(csv.reader([value], skipinitialspace=True))] if value.strip() else []
    except (csv.Error, StopIteration):
        return []


def _int(text: str) -> int | None:
    text = text.strip()
    if text.isascii() and text.lstrip("-").isdigit() and len(text) <= 9:
        return int(text)
    return None


def _number(text: str) -> str | None:
    text = text.strip().strip('"').strip()
    if text and len(text) <= 40 and all(ch.isdigit() or ch in "+*#" for ch in text) and text.isascii():
        return text
    return None


def _raw_fields(value: str) -> list[str]:
    """Like :func:`_fields` but keeps quotes, so a quoted number can be told from a type field."""
    out, current, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return out


def _list_entry(value: str) -> Signal | None:
    f = _raw_fields(value)
    if len(f) < 3:
        return None
    index, direction, stat = _int(f[0]), _int(f[1]), _int(f[2])
    if index is None or direction not in (0, 1) or stat not in _STAT:
        return None
    number = next((n for n in (_number(x) for x in f[3:] if x.startswith('"')) if n), None)
    return Signal(_STAT[stat], index, "out" if direction == 0 else "in", number)


def _hhmmss(text: str) -> float | None:
    text = text.strip()
    if len(text) == 6 and text.isascii() and text.isdigit():
        return float(int(text[:2]) * 3600 + int(text[2:4]) * 60 + int(text[4:]))
    seconds = _int(text)
    return float(seconds) if seconds is not None and seconds >= 0 else None


def _key(text: str) -> str | None:
    text = text.strip().strip('"').upper()
    return text if len(text) == 1 and text in KEYS else None


def parse(name: str, value: str) -> list[Signal]:
    """The signals of one unsolicited line (``name`` as the AT parser gives it, e.g. ``"+CLCC"``,
    ``"VOICE CALL"``, ``"BUSY"``; ``value``: the text after its colon). Never raises."""
    try:
        return _parse(str(name).strip().upper(), str(value))
    except Exception:        # noqa: BLE001 - a garbled line gives no signal, never an exception
        return []


def _parse(name: str, value: str) -> list[Signal]:
    if name in ("+CLCC", "^DSCI"):
        entry = _list_entry(value)
        return [entry] if entry else []
    if name == "^ORIG":
        f = _fields(value)
        return [Signal("dialing", _int(f[0]), "out")] if f and _int(f[0]) is not None else []
    if name == "^CONF":
        f = _fields(value)
        return [Signal("alerting", _int(f[0]), "out")] if f and _int(f[0]) is not None else []
    if name == "^CONN":
        f = _fields(value)
        return [Signal("connected", _int(f[0]))] if f and _int(f[0]) is not None else []
    if name == "^CEND":
        f = _fields(value)
        if not f or _int(f[0]) is None:
            return []
        duration = _int(f[1]) if len(f) > 1 else None
        cause = _int(f[3]) if len(f) > 3 else None
        return [Signal("ended", _int(f[0]), None, None, cause if cause is not None and cause >= 0 else None,
                       float(duration) if duration is not None and duration >= 0 else None)]
    if name == "VOICE CALL":
        text = value.strip().upper()
        if text == "BEGIN":
            return [Signal("connected")]
        if text.startswith("END"):
            return [Signal("ended", duration=_hhmmss(text[3:].lstrip(": ")))]
        return []
    if name == "MO RING":
        return [Signal("alerting", direction="out")]
    if name == "MO CONNECTED":
        return [Signal("connected", direction="out")]
    if name in _WORDS:
        return [Signal("result", word=name)]
    if name in ("RING", "+CRING"):
        return [Signal("incoming", direction="in")]
    if name == "+CLIP":
        f = _raw_fields(value)
        return [Signal("incoming", direction="in", number=_number(f[0]) if f else None)]
    if name == "+CCWA":
        f = _raw_fields(value)
        return [Signal("waiting", direction="in", number=_number(f[0]) if f else None)]
    if name == "MISSED_CALL":
        parts = value.split()
        return [Signal("missed", direction="in", number=_number(parts[-1]) if parts else None)]
    if name in ("+DTMF", "+RXDTMF"):
        f = _fields(value)
        key = _key(f[0]) if f else None
        return [Signal("key", key=key)] if key else []
    if name == "^DTMF":
        f = _fields(value)
        key = _key(f[-1]) if f else None
        return [Signal("key", _int(f[0]) if len(f) > 1 else None, key=key)] if key else []
    if name == "+QTONEDET":
        f = _fields(value)
        code = _int(f[0]) if f else None
        key = chr(code) if code is not None and 32 < code < 127 else None
        return [Signal("key", key=key)] if key in KEYS else []
    return []


def parse_clcc_list(lines) -> list[Signal]:
    """The calls of an ``AT+CLCC`` answer (lines starting ``+CLCC:``); others are skipped. Never raises."""
    out = []
    for line in lines:
        text = str(line)
        if text.upper().startswith("+CLCC:"):
            entry = parse("+CLCC", text.split(":", 1)[1])
            out.extend(entry)
    return out


#: 24.008 Annex H cause values by the words modems print in ``AT+CEER`` (lower case).
CAUSE_WORDS = {
    "unassigned": 1, "no route to destination": 3, "normal call clearing": 16, "user busy": 17,
    "no user responding": 18, "user alerting, no answer": 19, "no answer": 19, "subscriber absent": 20,
    "call rejected": 21, "number changed": 22, "destination out of order": 27,
    "invalid number format": 28, "normal, unspecified": 31, "no circuit/channel available": 34,
    "network out of order": 38, "temporary failure": 41, "switching equipment congestion": 42,
    "requested circuit/channel not available": 44, "resources unavailable": 47,
    "bearer capability not authorized": 57, "service or option not available": 63,
}


def parse_cause_text(lines) -> int | None:
    """The 24.008 cause an ``AT+CEER`` answer names (``+CEER: User busy``,
    ``+CEER: "CC INFO","User busy"``, or a number), or None. Never raises."""
    try:
        for line in lines:
            text = str(line)
            if not text.upper().startswith("+CEER"):
                continue
            body = text.split(":", 1)[1] if ":" in text else ""
            for field in reversed(_fields(body) or [body]):
                words = field.strip().strip('"').strip().lower()
                number = _int(words)
                if number is not None and 0 < number < 128:
                    return number
                for phrase, cause in CAUSE_WORDS.items():
                    if words.startswith(phrase):
                        return cause
        return None
    except Exception:        # noqa: BLE001
        return None
