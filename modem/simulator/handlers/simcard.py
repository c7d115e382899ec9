"""The SIM: PIN/PUK (+CPIN), IMSI (+CIMI), ICCID (+CCID / ^ICCID / +QCCID / +CICCID), own number.

Wrong PIN -> ``+CME ERROR: 16``; the third wrong PIN blocks the SIM
(``+CPIN: SIM PUK``); ``AT+CPIN="<puk>","<new pin>"`` unblocks it.
"""

from __future__ import annotations

from modem.simulator.handlers import handles
from modem.simulator.results import CmeReject, Reject


@handles("+CPIN")
def cpin(dev, cmd):
    if cmd.form == "read":
        return [f"+CPIN: {dev.sim_state}"]
    if cmd.form == "test":
        return []
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    if dev.sim_state == "READY":
        raise CmeReject(3)           # operation not allowed: nothing to unlock
    args = cmd.args
    if dev.sim_state == "SIM PUK":
        if len(args) < 2 or args[0] != dev.puk:
            raise CmeReject(16)
        dev.pin, dev.sim_state, dev.pin_tries = args[1], "READY", 3
    elif args[0] != dev.pin:
        dev.pin_tries -= 1
        if dev.pin_tries <= 0:
            dev.sim_state = "SIM PUK"
            dev.host.call_later(0.01, lambda: dev.urc("+CPIN: SIM PUK"))
        raise CmeReject(16)
    else:
        dev.sim_state, dev.pin_tries = "READY", 3
    dev.host.call_later(0.05, _unlocked, dev, dev.generation)


def _unlocked(dev, generation):
    if generation == dev.generation:
        dev.sim_unlocked()


@handles("+CIMI", needs_sim=True)
def cimi(dev, cmd):
    if cmd.form == "test":
        return []
    return [dev.persona.imsi]


def _iccid(dev, cmd):
    if cmd.form not in ("exec", "read"):
        raise Reject()
    prefix = dev.persona.iccid_commands.get(cmd.name)
    if prefix is None:
        raise Reject()
    return [f"{prefix}{dev.persona.iccid}"]


for _name in ("+CCID", "+ICCID", "^ICCID", "+QCCID", "+CICCID"):
    handles(_name, vendor=True)(_iccid)


@handles("+CNUM", needs_sim=True)
def cnum(dev, cmd):
    number = dev.host.network.own_number
    if number:
        return [f'+CNUM: "","{number}",145']
    return []
