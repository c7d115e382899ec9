"""Call commands: ATD, ATA, ATH, +CHUP, +CLCC, +CEER, +VTS and the call-URC switches.

Calls are simulated (see :mod:`modem.simulator.calls` for the far phone's
scripts and each modem family's URCs):

- ``ATD<number>;`` answers ``OK`` at once (the call then progresses by URCs);
  ``+CME ERROR: 30`` (no network service) when unregistered, ``+CME ERROR: 3``
  while another call is up; a dial string without ``;`` (a data call) answers
  ``NO CARRIER``;
- ``ATA`` takes a ringing incoming call (``OK``), else ``NO CARRIER``;
- ``ATH`` / ``AT+CHUP`` release every call (``OK``);
- ``AT+CLCC`` lists the calls (SIM800 with its alpha field); ``AT+CLCC=1``
  turns on the ``+CLCC`` URCs; ``AT+CEER`` says the last call's cause;
- ``AT+VTS=<key>`` plays a key to the far end (recorded on the call);
- ``+CLIP``, ``+CRC``, ``+COLP``, ``+CLIR``, SIM800 ``+MORING``/``+DDET``,
  Quectel ``^DSCI``/``+QTONEDET`` (only on the EC25) are stored settings that
  switch the matching URCs on.
"""

from __future__ import annotations

from modem.simulator import calls
from modem.simulator.handlers import handles
from modem.simulator.results import CmeReject, Reject


class NoCarrier(Reject):
    """Final result ``NO CARRIER``."""

    def final(self, cmee: int) -> str:
        return "NO CARRIER"


@handles("D", needs_sim=True)
def dial(dev, cmd):
    target = cmd.arg.strip()
    if not target.endswith(";"):
        raise NoCarrier()            # a data call: no data bearer in this simulator
    number = target[:-1].strip()
    if not number or not all(ch.isdigit() or ch in "+*#" for ch in number):
        raise Reject()
    if not dev.registered:
        raise CmeReject(30)
    if any(c.state != "ended" for c in dev.calls):
        raise CmeReject(3)
    calls.dial(dev, number)
    return []


@handles("A")
def answer(dev, cmd):
    if calls.answer(dev) is None:
        raise NoCarrier()
    return []


@handles("H", "+CHUP")
def hang_up(dev, cmd):
    calls.hang_up_all(dev)
    return []


@handles("+CLCC")
def clcc(dev, cmd):
    if cmd.form == "set":
        dev.settings.flags["+CLCC"] = cmd.arg
        return []
    if cmd.form == "read":
        return [f"+CLCC: {dev.settings.flags.get('+CLCC', '0')}"]
    if cmd.form == "test":
        return []
    return [calls.clcc_line(dev, c) for c in dev.calls if c.state != "ended"]


@handles("+CEER")
def ceer(dev, cmd):
    if cmd.form == "test":
        return []
    return [calls.ceer_line(dev)]


@handles("+VTS")
def vts(dev, cmd):
    if cmd.form == "test":
        return ["+VTS: (0-9,*,#,A,B,C,D)"]
    call = dev.connected_call()
    keys = "".join(cmd.args).replace(",", "")
    if cmd.form != "set" or call is None or not keys or any(k not in "0123456789*#ABCD" for k in keys):
        raise CmeReject(3)
    call.digits_sent.extend(keys)
    return []


@handles("^DSCI", "+QTONEDET")
def quectel_call_setting(dev, cmd):
    if dev.persona.profile.call_urc_style != "quectel-dsci":
        raise Reject()
    return call_setting(dev, cmd)


@handles("+DDET", "+MORING", "^CVOICE", "^DTMF", vendor=True)
@handles("+CLIP", "+CRC", "+COLP", "+CLIR")
def call_setting(dev, cmd):
    if cmd.form == "set":
        dev.settings.flags[cmd.name] = cmd.arg
        return []
    if cmd.form == "read":
        return [f"{cmd.name}: {dev.settings.flags.get(cmd.name, '0')}"]
    if cmd.form == "test":
        return [f"{cmd.name}: (0,1)"]
    raise Reject()
