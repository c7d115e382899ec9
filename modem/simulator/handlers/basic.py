"""V.250 basics, identity and error reporting: E, V, Q, Z, &F, &W, I, S-registers, +CGMI..., +CMEE, +CLAC."""

from __future__ import annotations

import copy

from modem.simulator.handlers import REGISTRY, handles, int_arg
from modem.simulator.results import Reject


@handles("E")
def echo(dev, cmd):
    dev.settings.echo = int_arg(cmd.arg or "0", 0, 1) == 1


@handles("V")
def verbose(dev, cmd):
    if int_arg(cmd.arg or "0", 0, 1) != 1:
        raise Reject()   # numeric result codes are not simulated


@handles("Q")
def quiet(dev, cmd):
    if int_arg(cmd.arg or "0", 0, 1) != 0:
        raise Reject()


@handles("X", "L", "M", "&C", "&D", "&K", "+IFC", "+ICF", "+IPR", "+CVHU")
def accepted(dev, cmd):
    if cmd.form == "read":
        return [f"{cmd.name}: {dev.settings.flags.get(cmd.name, '0')}"]
    if cmd.form == "set":
        dev.settings.flags[cmd.name] = cmd.arg


@handles("Z")
def reset(dev, cmd):
    dev.settings = copy.deepcopy(dev.saved)


@handles("&F")
def factory(dev, cmd):
    dev.settings = copy.deepcopy(dev.factory)


@handles("&W")
def save(dev, cmd):
    dev.saved = copy.deepcopy(dev.settings)


@handles("&V")
def view(dev, cmd):
    s = dev.settings
    return [f"E: {int(s.echo)} Q: 0 V: 1 +CMEE: {s.cmee} +CMGF: {s.cmgf} +CNMI: {','.join(map(str, s.cnmi))}"]


@handles("I")
def identify(dev, cmd):
    p = dev.persona
    number = int(cmd.arg or "0")
    if number == 0:
        return list(p.ati)
    if number in (1, 3):
        return [p.revision]
    if number == 2:
        return [p.model]
    return [p.manufacturer]


def _identity(value_of):
    def handler(dev, cmd):
        if cmd.form == "test":
            return []
        if cmd.form != "exec":
            raise Reject()
        return [value_of(dev.persona)]
    return handler


for names, getter in ((("+CGMI", "+GMI"), lambda p: p.manufacturer),
                      (("+CGMM", "+GMM"), lambda p: p.model),
                      (("+CGMR", "+GMR"), lambda p: p.revision),
                      (("+CGSN", "+GSN"), lambda p: p.imei)):
    handles(*names)(_identity(getter))


@handles("+CMEE")
def cmee(dev, cmd):
    if cmd.form == "read":
        return [f"+CMEE: {dev.settings.cmee}"]
    if cmd.form == "test":
        return ["+CMEE: (0-2)"]
    dev.settings.cmee = int_arg(cmd.args[0] if cmd.args else "0", 0, 2)


@handles("+CLAC")
def clac(dev, cmd):
    names = sorted(n for n, e in REGISTRY.items() if n[0] in "+^" and e.offered_by(dev.persona, n)
                   and (n != "+CEREG" or dev.persona.supports_cereg))
    return ["AT" + n for n in names]


@handles("+CSCS")
def cscs(dev, cmd):
    if cmd.form == "read":
        return [f'+CSCS: "{dev.settings.cscs}"']
    if cmd.form == "test":
        return ['+CSCS: ("IRA","GSM","UCS2")']
    if cmd.form != "set" or not cmd.args or cmd.args[0].upper() not in ("IRA", "GSM", "UCS2"):
        raise Reject()
    dev.settings.cscs = cmd.args[0].upper()


def _sreg(dev, cmd):
    if cmd.form == "read":
        return [f"{int(dev.settings.flags.get(cmd.name, '0')):03d}"]
    if cmd.form == "set":
        dev.settings.flags[cmd.name] = cmd.arg or "0"


for _n in range(0, 13):
    handles(f"S{_n}")(_sreg)
