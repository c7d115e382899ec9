"""What a command handler can answer besides plain information lines.

A handler returns ``None`` / a list of information lines (then ``OK``),
raises one of the :class:`Reject` errors (then ``ERROR``, ``+CME ERROR`` or
``+CMS ERROR`` per ``AT+CMEE``), or returns :class:`Prompt` (the ``> ``
prompt; the body goes to ``on_body``) or :class:`Later` (the final result
comes after ``delay`` seconds: network latency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

CME_TEXT = {
    3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    16: "incorrect password", 20: "memory full", 21: "invalid index", 22: "not found",
    30: "no network service", 31: "network timeout", 50: "Incorrect parameters", 100: "unknown",
}
CMS_TEXT = {
    300: "ME failure", 302: "operation not allowed", 303: "operation not supported",
    304: "invalid PDU mode parameter", 305: "invalid text mode parameter", 310: "SIM not inserted",
    311: "SIM PIN required", 316: "SIM PUK required", 321: "invalid memory index", 322: "memory full",
    330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
    340: "no +CNMA acknowledgement expected", 500: "unknown error",
}


class Reject(Exception):
    """The command fails with plain ``ERROR``."""

    def final(self, cmee: int) -> str:
        return "ERROR"


class Unknown(Reject):
    """An unknown command: ``ERROR``, or the profile's own words (Huawei: ``COMMAND NOT SUPPORT``)."""

    def __init__(self, reply: str = "ERROR"):
        super().__init__(reply)
        self.reply = reply

    def final(self, cmee: int) -> str:
        return self.reply


class CmeReject(Reject):
    """``+CME ERROR: <code>`` (plain ERROR when ``AT+CMEE=0``)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code

    def final(self, cmee: int) -> str:
        if cmee == 0:
            return "ERROR"
        if cmee == 2:
            return f"+CME ERROR: {CME_TEXT.get(self.code, 'unknown')}"
        return f"+CME ERROR: {self.code}"


class CmsReject(Reject):
    """``+CMS ERROR: <code>``: numeric unless ``AT+CMEE=2`` (TS 27.005 reports it regardless of CMEE)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code

    def final(self, cmee: int) -> str:
        if cmee == 2:
            return f"+CMS ERROR: {CMS_TEXT.get(self.code, 'unknown error')}"
        return f"+CMS ERROR: {self.code}"


@dataclass(frozen=True)
class Prompt:
    """Show ``\\r\\n> `` and hand the text typed up to Ctrl-Z to ``on_body`` (which answers like a handler).

    ``forced_reply``: a scripted fault reply (``fail_next``) given after the body instead of running it.
    ``length``: a raw upload (SIM800 ``AT+FSWRITE``, Quectel ``AT+QFUPL``): exactly this many bytes,
    any values, no echo and no Ctrl-Z; ``on_body`` then gets them as ``bytes``. ``text``: what the
    modem prints as the prompt (``"> "``; Quectel uploads: ``"CONNECT\r\n"``).
    """

    on_body: Callable[[str], object]
    forced_reply: str | None = None
    length: int | None = None
    text: str = "> "


@dataclass(frozen=True)
class Later:
    """The final result comes after ``delay`` seconds: ``finish()`` then answers like a handler."""

    delay: float
    finish: Callable[[], object]
