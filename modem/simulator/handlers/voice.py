"""Call commands: the place where voice goes (ATD, ATA, ATH, +CLCC, +CHUP, +VTS).

Voice is not simulated yet: there is never a call, so ``ATH``/``+CHUP`` and
``+CLCC`` answer OK with nothing, ``ATA`` answers ``NO CARRIER`` and ``ATD``
answers ``NO CARRIER`` (no voice bearer in this simulator). The caller-id
settings (+CLIP, +CRC, +COLP, +CLCC=1) are stored so clients can set them.
To add calls: keep a ``calls`` list on the device, make ``ATD`` return OK and
schedule ring/answer/hang-up URCs per ``persona`` (``+CLCC`` with or without
SIM800's alpha field, ``^ORIG/^CONN/^CEND``, ``VOICE CALL: BEGIN``), driven by
the virtual phone's answer behaviour in :mod:`modem.simulator.network`.
"""

from __future__ import annotations

from modem.simulator.handlers import handles
from modem.simulator.results import Reject


class NoCarrier(Reject):
    """Final result ``NO CARRIER``."""

    def final(self, cmee: int) -> str:
        return "NO CARRIER"


@handles("D", needs_sim=True)
def dial(dev, cmd):
    raise NoCarrier()


@handles("A")
def answer(dev, cmd):
    raise NoCarrier()


@handles("H", "+CHUP")
def hang_up(dev, cmd):
    return []


@handles("+CLCC")
def clcc(dev, cmd):
    if cmd.form == "set":
        dev.settings.flags["+CLCC"] = cmd.arg
        return []
    if cmd.form == "read":
        return [f"+CLCC: {dev.settings.flags.get('+CLCC', '0')}"]
    return []


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
