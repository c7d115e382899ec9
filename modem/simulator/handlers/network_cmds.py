"""Radio and network: +CSQ, +CREG/+CEREG/+CGREG, +COPS, +CFUN, +CCLK and network time (+CLTS, +CTZU, +CTZR)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from modem.simulator.handlers import handles, int_arg
from modem.simulator.results import CmeReject, Reject

LAC, CELL, TAC, ECI = "1A2B", "00C3D4", "2F5A", "0A1B2C3D"


def registration_value(dev, which: str, *, urc: bool = False) -> str:
    """The text after ``+CREG: `` / ``+CEREG: `` (read form starts with <n>, URC form does not)."""
    n = dev.settings.creg if which == "CREG" else dev.settings.cereg
    stat = dev.reg_stat if dev.cfun == 1 else 0
    parts = [] if urc else [str(n)]
    parts.append(str(stat))
    if n >= 2 and stat in (1, 5):
        if which == "CEREG":
            parts += [f'"{TAC}"', f'"{ECI}"', "7"]
        else:
            parts += [f'"{LAC}"', f'"{CELL}"']
            if dev.persona.cops_act is not None:
                parts.append(str(dev.persona.cops_act))
    return ",".join(parts)


@handles("+CSQ")
def csq(dev, cmd):
    if cmd.form == "test":
        return ["+CSQ: (0-31,99),(0-7,99)"]
    if cmd.form != "exec":
        raise Reject()
    rssi = dev.rssi if dev.cfun == 1 else 99
    return [f"+CSQ: {rssi},{dev.ber}"]


def _registration(which: str, attr: str):
    def handler(dev, cmd):
        if which == "CEREG" and not dev.persona.supports_cereg:
            raise Reject()
        if cmd.form == "read":
            return [f"+{which}: " + registration_value(dev, which)]
        if cmd.form == "test":
            return [f"+{which}: (0-2)"]
        if cmd.form != "set":
            raise Reject()
        setattr(dev.settings, attr, int_arg(cmd.args[0] if cmd.args else "0", 0, 2))
    return handler


handles("+CREG")(_registration("CREG", "creg"))
handles("+CEREG")(_registration("CEREG", "cereg"))


@handles("+CGREG")
def cgreg(dev, cmd):
    if cmd.form == "read":
        stat = dev.reg_stat if dev.cfun == 1 else 0
        return [f"+CGREG: {dev.settings.flags.get('+CGREG', '0')},{stat}"]
    if cmd.form == "set":
        dev.settings.flags["+CGREG"] = str(int_arg(cmd.args[0] if cmd.args else "0", 0, 2))
    if cmd.form == "test":
        return ["+CGREG: (0-2)"]


@handles("+COPS")
def cops(dev, cmd):
    net = dev.host.network
    names = (net.operator_long, net.operator_short, net.operator_numeric)
    act = dev.persona.cops_act
    if cmd.form == "read":
        if not dev.registered:
            return ["+COPS: 0"]
        fmt = dev.settings.cops_format
        line = f'+COPS: 0,{fmt},"{names[fmt]}"'
        return [line + (f",{act}" if act is not None else "")]
    if cmd.form == "test":
        tail = f",{act}" if act is not None else ""
        return [f'+COPS: (2,"{names[0]}","{names[1]}","{names[2]}"{tail}),,(0-4),(0-2)']
    if cmd.form == "set":
        args = cmd.args
        mode = int_arg(args[0] or "0", 0, 4)
        if mode == 3 and len(args) > 1:
            dev.settings.cops_format = int_arg(args[1], 0, 2)
        elif mode == 2:
            dev.reg_stat = 0
            dev.emit_registration()
        elif mode in (0, 1, 4):
            if len(args) > 1 and args[1]:
                dev.settings.cops_format = int_arg(args[1], 0, 2)
            if not dev.registered and dev.cfun == 1 and dev.reg_stat == 0:
                dev.reg_stat = 1
                dev.emit_registration()
        return []
    raise Reject()


@handles("+CFUN")
def cfun(dev, cmd):
    if cmd.form == "read":
        return [f"+CFUN: {dev.cfun}"]
    if cmd.form == "test":
        return ["+CFUN: (0,1,4),(0,1)"]
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    level = int_arg(cmd.args[0], 0, 4)
    if level not in (0, 1, 4):
        raise CmeReject(4)
    restart = len(cmd.args) > 1 and cmd.args[1] == "1"
    if restart:
        dev.host.call_later(0.02, dev.host.restart_modem)
        return []
    was, previous = dev.registered, dev.cfun
    dev.cfun = level
    if level == 1 and previous != 1:
        # radio back on: modules repeat some of their boot lines (not the reboot-only ones)
        for line in ("+CFUN: 1", "+CPIN: READY"):
            if line in dev.persona.boot_urcs and (line != "+CPIN: READY" or dev.sim_state == "READY"):
                dev.host.call_later(0.02, dev.urc, line)
    if was != dev.registered:
        dev.emit_registration()
        if dev.registered:
            dev.host.network.modem_ready()
    return []


# ---------------------------------------------------------------- clock and network time
def format_cclk(value: datetime) -> str:
    offset = value.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    return value.strftime("%y/%m/%d,%H:%M:%S") + f"{quarters:+03d}"


_CCLK = re.compile(r"(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d{1,2})")


@handles("+CCLK")
def cclk(dev, cmd):
    if cmd.form == "read":
        return [f'+CCLK: "{format_cclk(dev.clock.now())}"']
    if cmd.form == "test":
        return []
    m = _CCLK.fullmatch(cmd.args[0] if cmd.args else "")
    if cmd.form != "set" or m is None:
        raise CmeReject(50) if cmd.form == "set" else Reject()
    y, mo, d, h, mi, s, q = (int(g) for g in m.groups())
    try:
        value = datetime(2000 + y, mo, d, h, mi, s, tzinfo=timezone(timedelta(minutes=15 * q)))
    except ValueError:
        raise CmeReject(50) from None
    dev.clock.set(value)


def apply_network_time(dev, value: datetime) -> None:
    """The network sent its time (NITZ): update the clock and print the profile's URCs if enabled.

    SIM800 (``clts``): only when ``AT+CLTS=1`` was saved (``AT&W``) before the last
    restart; then ``*PSUTTZ``, ``+CTZV`` and ``DST`` lines. Others (``ctz``):
    ``AT+CTZU=1|3`` keeps the clock (modems without +CTZU always do),
    ``AT+CTZR=1`` prints ``+CTZV: <tz>,<dst>``, ``AT+CTZR=2`` prints ``+CTZE``.
    """
    style = dev.persona.nitz
    if style is None or not dev.can_receive:
        return
    quarters = int((value.utcoffset() or timedelta(0)).total_seconds() // 900)
    tz = f"{quarters:+03d}"
    v = value
    if style == "clts":
        if dev.clts_active != 1:
            return
        dev.clock.set(value)
        dev.urc(f'*PSUTTZ: {v.year % 100},{v.month},{v.day},{v.hour},{v.minute},{v.second},"{tz}",0')
        dev.urc(f"+CTZV: {tz},0")
        dev.urc("DST: 0")
        return
    if not dev.persona.has_ctzu or dev.settings.ctzu in (1, 3):
        dev.clock.set(value)
    if dev.settings.ctzr == 1:
        dev.urc(f"+CTZV: {tz},0")
    elif dev.settings.ctzr == 2:
        dev.urc(f'+CTZE: "{tz}",0,"{v.strftime("%Y/%m/%d,%H:%M:%S")}"')


def _nitz_setting(attr: str, high: int):
    def handler(dev, cmd):
        if cmd.form == "read":
            return [f"{cmd.name}: {getattr(dev.settings, attr)}"]
        if cmd.form == "test":
            return [f"{cmd.name}: (0-{high})"]
        if cmd.form != "set":
            raise Reject()
        value = int_arg(cmd.args[0] if cmd.args else "", 0, high)
        setattr(dev.settings, attr, value)
        network = dev.host.network
        if value and dev.registered and getattr(network, "broadcasts_time", False):
            # Modelled: the network's next time update (NITZ) follows soon after the host asks for them. A real
            # network sends one at attach or a location update; the boot-time one may come before any host
            # listens, and without this the host would never learn the time from a simulated network.
            dev.host.call_later(0.2, network._push_time)
        return []
    return handler


handles("+CLTS", vendor=True)(_nitz_setting("clts", 1))
handles("+CTZU", vendor=True)(_nitz_setting("ctzu", 3))
handles("+CTZR", vendor=True)(_nitz_setting("ctzr", 2))


@handles("^SYSINFO", vendor=True)
def sysinfo(dev, cmd):
    srv = 2 if dev.registered else 0
    return [f"^SYSINFO:{srv},3,0,{5 if dev.registered else 0},1,,4"]


@handles("^PORTSEL", vendor=True)
def portsel(dev, cmd):
    """Huawei: which port gets URCs (0 modem port, 1 application port). Stored, no effect here."""
    if cmd.form == "read":
        return [f"^PORTSEL: {dev.settings.flags.get('^PORTSEL', '0')}"]
    if cmd.form == "test":
        return ["^PORTSEL: (0,1)"]
    dev.settings.flags["^PORTSEL"] = str(int_arg(cmd.args[0] if cmd.args else "", 0, 1))
    return []


@handles("^CURC", vendor=True)
def curc(dev, cmd):
    if cmd.form == "read":
        return [f"^CURC: {dev.settings.curc}"]
    if cmd.form == "set":
        dev.settings.curc = int_arg(cmd.args[0] if cmd.args else "", 0, 1)
        return []
    raise Reject()
