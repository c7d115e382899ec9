"""Queries: USSD, signal, registration, operator, network time, identity (used by ``Modem``).

Each function takes the modem and returns plain values; AT errors surface as
the typed errors of :mod:`modem.errors`, garbled answers as AtProtocolError.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from modem.errors import CommandError, CommandTimeout
from modem.queries import (decode_ussd, find_line, parse_cclk, parse_cops, parse_csq, parse_cusd, parse_reg,
                           rssi_to_dbm)
from modem.urcs import UssdWaiter

log = logging.getLogger("cobrador.modem.info")

USSD_STATUS = {0: "no further action", 1: "further action required", 2: "terminated by network",
               3: "other local client responded", 4: "operation not supported", 5: "network time out"}


class Identity(NamedTuple):
    imei: str
    imsi: str
    iccid: str
    manufacturer: str
    model: str


@dataclass(frozen=True)
class Signal:
    rssi: int
    dbm: int | None


@dataclass(frozen=True)
class Registration:
    """``stats`` maps "CREG"/"CEREG" to the 27.007 stat; ``registered`` when any is home (1) or roaming (5)."""

    stats: dict
    registered: bool
    roaming: bool


def _value(lines, prefix: str | None = None) -> str:
    if prefix:
        line = find_line(lines, prefix)
        return line.split(":", 1)[1].strip().strip('"')
    for line in lines:
        if line.strip():
            return line.strip().strip('"')
    return ""


def signal(m) -> Signal:
    rssi = parse_csq(find_line(m.command("AT+CSQ").lines, "+CSQ"))
    return Signal(rssi, rssi_to_dbm(rssi))


def registration(m) -> Registration:
    stats = {}
    for name in m.profile.registration_commands:
        stats[name] = parse_reg(find_line(m.command(f"AT+{name}?").lines, f"+{name}"), name)
    values = set(stats.values())
    return Registration(stats, bool(values & {1, 5}), 5 in values and 1 not in values)


def operator(m) -> str | None:
    return parse_cops(find_line(m.command("AT+COPS?").lines, "+COPS"))


def network_time(m) -> datetime | None:
    """The modem clock as an aware datetime, or None when it shows a factory default (no network time)."""
    response = m.command(m.profile.network_time.query_command)
    return parse_cclk(find_line(response.lines, "+CCLK"))


#: Commands that read the ICCID, most standard first (vendors disagree: SIMCom +CCID/+CICCID, Huawei ^ICCID?,
#: Quectel +QCCID).
ICCID_COMMANDS = ("AT+CCID", "AT+ICCID", "AT^ICCID?", "AT+QCCID", "AT+CICCID")


def _strip_prefix(value: str) -> str:
    head, sep, tail = value.partition(":")
    if sep and head.strip()[:1] in "+^$*":
        value = tail
    return value.strip().strip('"')


def identity(m) -> Identity:
    """(imei, imsi, iccid, manufacturer, model); ``iccid`` is "" when no known command reads it."""
    imei = _strip_prefix(_value(m.command("AT+CGSN").lines))
    imsi = _strip_prefix(_value(m.command("AT+CIMI").lines))
    iccid = ""
    for command in ICCID_COMMANDS:
        try:
            iccid = _strip_prefix(_value(m.command(command).lines))
        except CommandError:
            continue
        if iccid:
            break
    else:
        log.warning("no ICCID command worked on %s", m.profile.name)
    manufacturer = _strip_prefix(_value(m.command("AT+CGMI").lines))
    model = _strip_prefix(_value(m.command("AT+CGMM").lines))
    return Identity(imei, imsi, iccid, manufacturer, model)


def encode_ussd_request(code: str, encoding: str) -> str:
    if encoding != "hex":
        return code
    from modem.pdu.gsm7 import pack, to_septets
    return pack(to_septets(code)).hex().upper()


def ussd(m, code: str, *, timeout: float | None = None) -> str:
    """Send a USSD code; returns the network's answer text.

    Raises CommandError when the network refuses (``+CUSD: 4`` not supported,
    ``2`` terminated without text, ``5`` timed out), CommandTimeout when no
    ``+CUSD`` arrives within ``timeout`` (default ``timeouts.ussd``).
    """
    router = m.supervisor.router
    limit = timeout if timeout is not None else m.timeouts.ussd
    with m.ussd_lock:
        waiter = UssdWaiter()
        router.ussd_waiter = waiter
        try:
            request = encode_ussd_request(code, m.profile.ussd_encoding)
            started = time.monotonic()
            m.command(f'AT+CUSD=1,"{request}",{m.profile.ussd_dcs}')
            if not waiter.done.wait(max(0.0, limit - (time.monotonic() - started))):
                try:
                    m.command("AT+CUSD=2")
                except (CommandError, CommandTimeout):
                    pass
                raise CommandTimeout(f"AT+CUSD {code}", limit)
        finally:
            router.ussd_waiter = None
    status, text, dcs = parse_cusd(waiter.value or "")
    if text is None or status in (4, 5) or (status == 2 and not text):
        raise CommandError("AT+CUSD", status, f"USSD {code}: {USSD_STATUS.get(status, 'unknown status')}")
    answer = decode_ussd(text, dcs, m.profile.ussd_encoding)
    if status == 1:
        try:
            m.command("AT+CUSD=2")      # close the session: we never answer menus
        except (CommandError, CommandTimeout):
            pass
    return answer
