"""Commands clients probe with (gammu, python-gsmmodem, minicom users): plausible, minimal answers.

An empty phonebook (+CPBS/+CPBR/+CPBW), activity status (+CPAS), battery
(+CBC), indicators (+CIND), packet attach (+CGATT), cell broadcast (+CSCB),
and capability lists (+GCAP). None of these change what the simulator does.
"""

from __future__ import annotations

from modem.simulator.handlers import handles
from modem.simulator.results import CmeReject, Reject


@handles("+CPBS", needs_sim=True)
def cpbs(dev, cmd):
    if cmd.form == "test":
        return ['+CPBS: ("SM","ME","ON")']
    if cmd.form == "read":
        return [f'+CPBS: "{dev.settings.flags.get("+CPBS", "SM")}",0,250']
    if cmd.form == "set" and cmd.args and cmd.args[0].upper() in ("SM", "ME", "ON"):
        dev.settings.flags["+CPBS"] = cmd.args[0].upper()
        return []
    raise CmeReject(3)


@handles("+CPBR", needs_sim=True)
def cpbr(dev, cmd):
    if cmd.form == "test":
        return ["+CPBR: (1-250),40,14"]
    if cmd.form == "set":
        return []          # every entry empty
    raise Reject()


@handles("+CPBW", needs_sim=True)
def cpbw(dev, cmd):
    if cmd.form == "test":
        return ['+CPBW: (1-250),40,(129,145,161),14']
    raise CmeReject(20)    # memory full: the simulated phonebook takes no entries


@handles("+CPAS")
def cpas(dev, cmd):
    return ["+CPAS: 0"] if cmd.form == "exec" else ["+CPAS: (0-5)"]


@handles("+CBC")
def cbc(dev, cmd):
    return ["+CBC: 0,100,4200"] if cmd.form == "exec" else []


@handles("+CIND")
def cind(dev, cmd):
    if cmd.form == "test":
        return ['+CIND: ("battchg",(0-5)),("signal",(0-5)),("service",(0,1)),("message",(0,1)),'
                '("call",(0,1)),("roam",(0,1)),("smsfull",(0,1))']
    if cmd.form == "read":
        signal = min(5, dev.rssi // 6) if dev.rssi != 99 else 0
        full = int(dev.stores[dev.settings.cpms[2]].full)
        return [f"+CIND: 5,{signal},{int(dev.registered)},0,0,0,{full}"]
    return []


@handles("+CGATT")
def cgatt(dev, cmd):
    if cmd.form == "read":
        return [f"+CGATT: {int(dev.registered)}"]
    if cmd.form == "test":
        return ["+CGATT: (0,1)"]
    return []


@handles("+CSCB")
def cscb(dev, cmd):
    if cmd.form == "read":
        return ['+CSCB: 0,"",""']
    return []


@handles("+GCAP")
def gcap(dev, cmd):
    return ["+GCAP: +CGSM"]
