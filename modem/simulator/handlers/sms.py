"""SMS commands (TS 27.005), PDU mode only.

+CMGF (text mode 1 answers +CMS ERROR: 303), +CSCA, +CSMP, +CSMS, +CMMS,
+CPMS (storages SM/ME/SR), +CNMI, +CMGS/+CMGW (prompt, hex PDU, Ctrl-Z),
+CMSS, +CMGR, +CMGL, +CMGD, +CNMA.

``AT+CMGS=<n>``: the body must be the SMSC octets plus exactly ``n`` TPDU
octets of an SMS-SUBMIT, else ``+CMS ERROR: 304``; unregistered ->
``+CMS ERROR: 331``; no SMSC anywhere -> 330. Accepted submits get the next
TP-MR (wrapping at 255) and reach the virtual network; ``+CMGS: <mr>`` comes
after ``device.latency`` seconds.
"""

from __future__ import annotations

import binascii
import dataclasses

from modem.errors import PduError
from modem.pdu import Submit, decode
from modem.simulator.handlers import handles, int_arg
from modem.simulator.results import CmsReject, Later, Prompt, Reject
from modem.simulator.storage import ALL, REC_READ, REC_UNREAD, STAT_NAMES, STO_UNSENT, StorageFull

MEMORIES = (("SM", "ME", "SR"), ("SM", "ME"), ("SM", "ME"))
MAX_TPDU = 176


@handles("+CMGF")
def cmgf(dev, cmd):
    if cmd.form == "read":
        return [f"+CMGF: {dev.settings.cmgf}"]
    if cmd.form == "test":
        return ["+CMGF: (0)"]
    if cmd.form != "set":
        raise Reject()
    if int_arg(cmd.args[0] if cmd.args else "0", 0, 1) != 0:
        raise CmsReject(303)          # text mode is not simulated
    dev.settings.cmgf = 0


@handles("+CSCA", needs_sim=True)
def csca(dev, cmd):
    if cmd.form == "read":
        number = dev.smsc
        shown = number.encode("utf-16-be").hex().upper() if dev.settings.cscs == "UCS2" else number
        return [f'+CSCA: "{shown}",{145 if number.startswith("+") else 129}']
    if cmd.form == "test":
        return []
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    number = cmd.args[0]
    if dev.settings.cscs == "UCS2":
        try:
            number = bytes.fromhex(number).decode("utf-16-be")
        except ValueError:
            raise CmsReject(304) from None
    dev.smsc = number


@handles("+CSMP")
def csmp(dev, cmd):
    if cmd.form == "read":
        return ["+CSMP: " + ",".join(map(str, dev.settings.csmp))]
    if cmd.form == "test":
        return []
    if cmd.form != "set":
        raise Reject()
    values = list(dev.settings.csmp)
    for i, value in enumerate(cmd.args[:4]):
        if value:
            values[i] = int_arg(value, 0, 255)
    dev.settings.csmp = tuple(values)


@handles("+CSMS")
def csms(dev, cmd):
    if cmd.form == "read":
        return [f"+CSMS: {dev.settings.csms},1,1,1"]
    if cmd.form == "test":
        return ["+CSMS: (0,1)"]
    if cmd.form != "set":
        raise Reject()
    dev.settings.csms = int_arg(cmd.args[0] if cmd.args else "", 0, 1)
    return ["+CSMS: 1,1,1"]


@handles("+CMMS")
def cmms(dev, cmd):
    if cmd.form == "read":
        return [f"+CMMS: {dev.settings.cmms}"]
    if cmd.form == "test":
        return ["+CMMS: (0-2)"]
    if cmd.form != "set":
        raise Reject()
    dev.settings.cmms = int_arg(cmd.args[0] if cmd.args else "0", 0, 2)


@handles("+CPMS", needs_sim=True)
def cpms(dev, cmd):
    if cmd.form == "test":
        return ["+CPMS: " + ",".join("(" + ",".join(f'"{m}"' for m in mems) + ")" for mems in MEMORIES)]
    mems = list(dev.settings.cpms)
    if cmd.form == "set":
        if not 1 <= len(cmd.args) <= 3:
            raise Reject()
        for i, name in enumerate(cmd.args):
            name = name.upper()
            if name not in MEMORIES[i]:
                raise CmsReject(302)
            mems[i] = name
        dev.settings.cpms = tuple(mems)
        return ["+CPMS: " + ",".join(f"{len(dev.stores[m])},{dev.stores[m].capacity}" for m in mems)]
    if cmd.form == "read":
        return ["+CPMS: " + ",".join(f'"{m}",{len(dev.stores[m])},{dev.stores[m].capacity}' for m in mems)]
    raise Reject()


@handles("+CNMI")
def cnmi(dev, cmd):
    if cmd.form == "read":
        return ["+CNMI: " + ",".join(map(str, dev.settings.cnmi))]
    if cmd.form == "test":
        return ["+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)"]
    if cmd.form != "set":
        raise Reject()
    limits = (3, 3, 3, 2, 1)
    values = list(dev.settings.cnmi)
    if len(cmd.args) > 5:
        raise Reject()
    for i, value in enumerate(cmd.args):
        if value != "":
            values[i] = int_arg(value, 0, limits[i])
    dev.settings.cnmi = tuple(values)


# ---------------------------------------------------------------- sending
def _parse_body(length: int, body: str) -> tuple[str, Submit]:
    text = "".join(body.split()).upper()
    try:
        raw = binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise CmsReject(304) from None
    if not raw or len(raw) - 1 - raw[0] != length:
        raise CmsReject(304)
    try:
        message = decode(text, smsc=True)
    except PduError:
        raise CmsReject(304) from None
    if not isinstance(message, Submit):
        raise CmsReject(304)
    return text, message


def _send(dev, pdu: str, message: Submit, answer: str):
    """Hand a SUBMIT to the network after the latency; answers ``+CMGS: <mr>`` / ``+CMSS: <mr>``."""
    if not dev.registered:
        raise CmsReject(331)
    if pdu.startswith("00") and not dev.smsc:
        raise CmsReject(330)

    def finish():
        if not dev.registered:
            raise CmsReject(331)
        mr = dev.take_message_reference()
        dev.host.network.submit(dataclasses.replace(message, message_reference=mr), pdu, dev.smsc)
        return [f"{answer}: {mr}"]

    if dev.latency > 0:
        return Later(dev.latency, finish)
    return finish()


def _length(cmd) -> int:
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    return int_arg(cmd.args[0], 1, MAX_TPDU)


@handles("+CMGS", needs_sim=True)
def cmgs(dev, cmd):
    if cmd.form == "test":
        return []
    if dev.settings.cmgf != 0:
        raise CmsReject(302)
    length = _length(cmd)

    def on_body(body: str):
        pdu, message = _parse_body(length, body)
        return _send(dev, pdu, message, "+CMGS")

    return Prompt(on_body)


@handles("+CMGW", needs_sim=True)
def cmgw(dev, cmd):
    if cmd.form == "test":
        return []
    length = _length(cmd)
    stat = int_arg(cmd.args[1], 0, 3) if len(cmd.args) > 1 and cmd.args[1] else STO_UNSENT
    store = dev.stores[dev.settings.cpms[1]]

    def on_body(body: str):
        pdu, _ = _parse_body(length, body)
        try:
            msg = store.add(pdu, length, stat)
        except StorageFull:
            raise CmsReject(322) from None
        return [f"+CMGW: {msg.index}"]

    return Prompt(on_body)


@handles("+CMSS", needs_sim=True)
def cmss(dev, cmd):
    if cmd.form == "test":
        return []
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    msg = dev.stores[dev.settings.cpms[1]].get(int_arg(cmd.args[0], 0, 9999))
    if msg is None:
        raise CmsReject(321)
    pdu, message = _parse_body(msg.length, msg.pdu)
    return _send(dev, pdu, message, "+CMSS")


# ---------------------------------------------------------------- reading and deleting
@handles("+CMGR", needs_sim=True)
def cmgr(dev, cmd):
    if cmd.form == "test":
        return []
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    msg = dev.stores[dev.settings.cpms[0]].get(int_arg(cmd.args[0], 0, 9999))
    if msg is None:
        raise CmsReject(321)
    stat = msg.status
    if msg.status == REC_UNREAD:
        msg.status = REC_READ
    return [f"+CMGR: {stat},,{msg.length}", msg.pdu]


@handles("+CMGL", needs_sim=True)
def cmgl(dev, cmd):
    if cmd.form == "test":
        return ["+CMGL: (0-4)"]
    if cmd.form == "exec":
        stat = REC_UNREAD
    elif cmd.form == "set" and cmd.args:
        value = cmd.args[0].upper()
        stat = STAT_NAMES[value] if cmd.quoted(0) and value in STAT_NAMES else int_arg(value, 0, 4)
    else:
        raise Reject()
    lines = []
    for msg in dev.stores[dev.settings.cpms[0]].messages(stat):
        lines += [f"+CMGL: {msg.index},{msg.status},,{msg.length}", msg.pdu]
        if msg.status == REC_UNREAD:
            msg.status = REC_READ
    return lines


@handles("+CMGD", needs_sim=True)
def cmgd(dev, cmd):
    memory = dev.settings.cpms[0]
    store = dev.stores[memory]
    if cmd.form == "test":
        indices = ",".join(str(m.index) for m in store.messages(ALL))
        return [f"+CMGD: ({indices}),(0-4)"]
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    index = int_arg(cmd.args[0] or "0", 0, 9999)
    flag = int_arg(cmd.args[1], 0, 4) if len(cmd.args) > 1 and cmd.args[1] else 0
    was_full = store.full
    if flag:
        store.delete_by_flag(flag)
    elif not store.delete(index) and not 1 <= index <= store.capacity:
        raise CmsReject(321)
    if was_full and not store.full and memory != "SR":
        dev.host.network.memory_available()


@handles("+CNMA")
def cnma(dev, cmd):
    if cmd.form == "test":
        return ["+CNMA: (0-2)"]
    if dev.settings.csms != 1 or not dev.cnma_waiting:
        raise CmsReject(340)
    dev.cnma_waiting.popleft()
