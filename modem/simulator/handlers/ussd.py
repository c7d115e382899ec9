"""USSD: ``AT+CUSD=1,"*611#",15`` -> ``OK``, then ``+CUSD: 0,"<answer>",15``.

Answers come from ``network.ussd`` after ``device.latency`` (at least 50 ms).
Text profiles answer the text as is; with ``AT+CSCS="UCS2"`` requests and
answers are UTF-16 hex (answers with DCS 72), as gammu uses them.

Huawei (``ussd_encoding == "hex"``) models the E173's two ``^USSDMODE`` modes:

- ``1`` (the default at power-on, "transparent"): the host encodes and decodes.
  The request is GSM-7 packed hex (what gammu sends for its ``ENCODED_USSD``
  Huawei models, and our driver); anything else is refused with ``+CME ERROR:
  100``, as python-gsmmodem's E1752 capture shows for a plain-text request. The
  answer is the network's raw string as hex: packed GSM-7 with DCS 15, or
  UTF-16 with DCS 72 when the text needs UCS-2. ``AT+CSCS`` plays no part.
- ``0`` ("non-transparent", what python-gsmmodem sets): the modem encodes and
  decodes; requests and answers are text in the ``AT+CSCS`` character set, as
  on the text profiles. A hex request is taken literally, i.e. an unknown code.

An unknown code answers ``+CUSD: 4`` (operation not supported); ``AT+CUSD=2``
cancels a session.
"""

from __future__ import annotations

import binascii

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from modem.simulator.handlers import handles, int_arg
from modem.simulator.results import CmeReject, Reject


def pack_gsm7(text: str) -> bytes:
    """GSM 7-bit default alphabet, packed (TS 23.038 §6.1.2.1.1); escapes for extension characters."""
    septets = text.encode("gsm03.38", errors="replace")
    out, acc, bits = bytearray(), 0, 0
    for septet in septets:
        acc |= (septet & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_gsm7(data: bytes) -> str:
    """Inverse of :func:`pack_gsm7` (a trailing 0 septet from padding is dropped)."""
    septets, acc, bits = bytearray(), 0, 0
    for octet in data:
        acc |= octet << bits
        bits += 8
        while bits >= 7:
            septets.append(acc & 0x7F)
            acc >>= 7
            bits -= 7
    if septets and septets[-1] == 0 and (len(data) * 8) % 7 == 0:
        septets.pop()
    return bytes(septets).decode("gsm03.38", errors="replace").rstrip("\r")


def _hex_mode(dev) -> bool:
    return dev.persona.ussd_encoding == "hex"


@handles("+CUSD", needs_sim=True)
def cusd(dev, cmd):
    if cmd.form == "read":
        return [f"+CUSD: {dev.settings.cusd}"]
    if cmd.form == "test":
        return ["+CUSD: (0,1,2)"]
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    n = int_arg(cmd.args[0] or "0", 0, 2)
    if n == 2:
        dev.settings.cusd = 0
        return []
    dev.settings.cusd = n
    if len(cmd.args) < 2:
        return []
    if not dev.registered:
        raise CmeReject(30)
    request = cmd.args[1]
    transparent = _hex_mode(dev) and dev.settings.ussdmode != 0
    if transparent:
        request = _unpacked(request)
        if request is None:
            raise CmeReject(100)
    elif dev.settings.cscs == "UCS2":
        try:
            request = binascii.unhexlify(request).decode("utf-16-be")
        except (binascii.Error, ValueError):
            raise CmeReject(100) from None
    answer = dev.host.network.ussd_answer(request)
    dev.host.call_later(max(dev.latency, 0.05), _reply, dev, dev.generation, answer, transparent)
    return []


def _unpacked(request: str) -> str | None:
    """The text of a GSM-7 packed hex request, or None when it is not one (odd length, not hex, no code)."""
    try:
        text = unpack_gsm7(binascii.unhexlify(request))
    except (binascii.Error, ValueError):
        return None
    return text if text and all(ch in "0123456789*#+" for ch in text) else None


def _gsm7_safe(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def _reply(dev, generation: int, answer: str | None, transparent: bool) -> None:
    if generation != dev.generation:
        return
    if answer is None:
        dev.urc("+CUSD: 4")
        return
    if transparent:
        if _gsm7_safe(answer):
            dev.urc(f'+CUSD: 0,"{pack_gsm7(answer).hex().upper()}",15')
        else:
            dev.urc(f'+CUSD: 0,"{answer.encode("utf-16-be").hex().upper()}",72')
    elif dev.settings.cscs == "UCS2":
        dev.urc(f'+CUSD: 0,"{answer.encode("utf-16-be").hex().upper()}",72')
    else:
        dev.urc(f'+CUSD: 0,"{answer}",15')


@handles("^USSDMODE", vendor=True)
def ussdmode(dev, cmd):
    if cmd.form == "read":
        return [f"^USSDMODE: {dev.settings.ussdmode}"]
    if cmd.form == "test":
        return ["^USSDMODE: (0-1)"]
    if cmd.form != "set":
        raise Reject()
    dev.settings.ussdmode = int_arg(cmd.args[0] if cmd.args else "", 0, 1)
