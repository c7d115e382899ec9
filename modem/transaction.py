"""The pieces of one AT transaction: per-command timeouts and the in-flight record.

:class:`Transaction` is the single command in flight; the reader thread fills
``prompt`` / ``response`` (or the link code sets ``lost``) and sets
``changed``; the caller waits on it. :class:`SendProgress` records whether an
SMS body was written, which is what separates "nothing sent, safe to resend"
from "uncertain".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from modem.at import Response

__all__ = ["SendProgress", "Timeouts", "Transaction"]


@dataclass(frozen=True)
class Timeouts:
    """Per-command bounds in seconds (real time, not the injected clock)."""

    default: float = 10.0          # short commands: AT, CSQ, CPIN?, CMGD ...
    prompt: float = 10.0           # AT+CMGS=<len> until "> "
    send: float = 60.0             # body + Ctrl-Z until +CMGS / error (network round trip)
    read: float = 15.0             # AT+CMGR, AT+CMGL
    ussd: float = 30.0             # AT+CUSD until the +CUSD answer
    liveness: float = 5.0          # the supervisor's "AT" probe
    sim_ready: float = 15.0        # after the PIN, until +CPIN: READY

    def for_command(self, line: str) -> float:
        upper = line.upper()
        if upper.startswith(("AT+CMGL", "AT+CMGR", "AT+COPS=?")):
            return self.read
        if upper.startswith("AT+CUSD"):
            return self.ussd
        return self.default


class Transaction:
    """The one command in flight: filled by the reader thread, awaited by the caller."""

    __slots__ = ("command", "changed", "prompt", "response", "lost", "final_at")

    def __init__(self, command: str):
        self.command = command
        self.changed = threading.Event()
        self.prompt = False
        self.response: Response | None = None
        self.lost: ModemDisconnected | None = None
        self.final_at = 0.0


class SendProgress:
    """What a CMGS transaction got as far as (to tell "nothing sent" from "maybe sent")."""

    __slots__ = ("body_written",)

    def __init__(self):
        self.body_written = False
