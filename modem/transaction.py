"""The pieces of one AT transaction: per-command timeouts and the in-flight record.

:class:`Transaction` is the single command in flight; the reader thread fills
``prompt`` / ``response`` (or the link code sets ``lost``) and sets
``changed``; the caller waits on it. :class:`SendProgress` records whether an
SMS body was written, which is what separates "nothing sent, safe to resend"
from "uncertain".
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

from modem.at import Response

__all__ = ["FairLock", "SendProgress", "Timeouts", "Transaction"]


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


class FairLock:
    """A first-come, first-served lock (context manager).

    ``threading.Lock`` lets a thread that releases and immediately re-acquires
    (a sender in a tight loop) win again and again, starving the supervisor
    that waits to read a new message. Here waiters are served in arrival
    order, so a ``+CMTI`` read gets the next slot between two sends.
    Not re-entrant.
    """

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._waiting: collections.deque = collections.deque()
        self._held = False

    def acquire(self) -> None:
        ticket = object()
        with self._cond:
            if not self._held and not self._waiting:
                self._held = True
                return
            self._waiting.append(ticket)
            while self._held or self._waiting[0] is not ticket:
                self._cond.wait()
            self._waiting.popleft()
            self._held = True

    def release(self) -> None:
        with self._cond:
            if not self._held:
                raise RuntimeError("release of an unheld FairLock")
            self._held = False
            if self._waiting:
                self._cond.notify_all()

    def locked(self) -> bool:
        return self._held

    def __enter__(self) -> "FairLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
