"""Following one outgoing call: the facts the modem reported, and what they add up to (no I/O).

:class:`CallWatch` is filled from :class:`modem.voice.call_urcs.Signal` objects
(on the driver's supervisor thread for URCs, on the caller's thread for
``AT+CLCC`` polls) and awaited by the thread that dialled. :func:`outcome_of`
turns the facts into an outcome of :data:`modem.voice.calls.OUTCOMES`.

Causes (3GPP TS 24.008 Annex H) and result codes, when nobody answered:

=========================  ==============================================
cause / result             outcome
=========================  ==============================================
17 user busy, ``BUSY``     busy
21 call rejected           rejected (also 16 normal clearing or ``NO CARRIER``
                           after the phone had started ringing: the person
                           ended the ringing)
19, ``NO ANSWER``          no_answer (``rang`` for a ring reminder: it rang out)
3, 18, 20, 27              unreachable (switched off, out of coverage, no
                           paging answer; also ``NO CARRIER`` before any ringing)
anything else              failed, with the cause
we hung up while ringing   no_answer (``rang`` for a ring reminder)
=========================  ==============================================
"""

from __future__ import annotations

import threading
import time

from modem.voice.call_urcs import Signal

UNREACHABLE_CAUSES = frozenset({3, 18, 20, 27})

#: Spanish-free, short English words for the causes we name in a result's ``detail``.
CAUSE_NAMES = {1: "unassigned number", 3: "no route to destination", 16: "normal call clearing",
               17: "user busy", 18: "no user responding", 19: "no answer", 20: "subscriber absent",
               21: "call rejected", 27: "destination out of order", 28: "invalid number format",
               31: "normal, unspecified", 34: "no circuit available", 38: "network out of order",
               41: "temporary failure", 42: "congestion"}


class CallWatch:
    """The state of the one outgoing call being followed (thread-safe; times are monotonic)."""

    def __init__(self, number: str):
        self.number = number
        self.cond = threading.Condition()
        self.index: int | None = None
        self.dialled_at: float | None = None     # ATD answered OK
        self.alerting_at: float | None = None
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self.cause: int | None = None
        self.word: str | None = None
        self.modem_duration: float | None = None
        self.keys: list[str] = []
        self.listed = False                      # a poll or URC showed the call in the modem's list
        self.absent_polls = 0
        self.hung_up = False                     # our hang-up command was accepted

    # -- feeding ---------------------------------------------------------------
    def feed(self, signal: Signal) -> bool:
        """Take ``signal`` if it is about this call; True if it was."""
        if signal.direction == "in" or signal.kind in ("incoming", "waiting", "missed"):
            return False
        if signal.index is not None and self.index is not None and signal.index != self.index:
            return False
        with self.cond:
            now = time.monotonic()
            if signal.index is not None and self.index is None and signal.kind in ("dialing", "alerting",
                                                                                   "connected"):
                self.index = signal.index
            if signal.kind in ("dialing", "alerting", "connected"):
                self.listed = True
                self.absent_polls = 0
            if self.ended_at is not None:
                if signal.kind == "result" and self.word is None:
                    self.word = signal.word
                if signal.kind == "ended" and signal.cause is not None and self.cause is None:
                    self.cause = signal.cause
                self.cond.notify_all()
                return True
            if signal.kind == "alerting" and self.alerting_at is None:
                self.alerting_at = now
            elif signal.kind == "connected" and self.connected_at is None:
                self.connected_at = now
                if self.alerting_at is None:
                    self.alerting_at = now
            elif signal.kind == "ended":
                self.ended_at = now
                self.cause = signal.cause
                self.modem_duration = signal.duration
            elif signal.kind == "result":
                self.ended_at = now
                self.word = signal.word
            elif signal.kind == "key" and signal.key and self.connected_at is not None:
                self.keys.append(signal.key)
            self.cond.notify_all()
            return True

    def poll(self, listed: list[Signal]) -> None:
        """An ``AT+CLCC`` answer: the call's state, or its absence (after our hang-up one absent poll,
        else two after the call was seen — or three without it ever being seen — mean it ended)."""
        ours = [s for s in listed if s.direction == "out" and (self.index is None or s.index == self.index)]
        if ours:
            for signal in ours:
                self.feed(signal)
            return
        with self.cond:
            self.absent_polls += 1
            if self.ended_at is None and (self.hung_up or self.absent_polls >= (2 if self.listed else 3)):
                self.ended_at = time.monotonic()
            self.cond.notify_all()

    # -- reading ---------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def connected(self) -> bool:
        return self.connected_at is not None

    def wait(self, timeout: float) -> None:
        with self.cond:
            self.cond.wait(max(0.0, timeout))


def outcome_of(*, connected: bool, alerted: bool, cause: int | None, word: str | None, we_hung_up: bool,
               ring_mode: bool) -> tuple[str, str]:
    """``(outcome, detail)`` of a call from its facts (see the module table)."""
    if connected:
        return "answered", ""
    named = f"cause {cause} ({CAUSE_NAMES.get(cause, 'see 24.008')})" if cause is not None else ""
    if we_hung_up:
        return ("rang" if ring_mode else "no_answer"), "hung up while it rang"
    if cause == 17 or (cause is None and word == "BUSY"):
        return "busy", named or "BUSY"
    if cause == 21:
        return "rejected", named
    if cause == 19 or (cause is None and word == "NO ANSWER"):
        return ("rang" if ring_mode else "no_answer"), named or "NO ANSWER"
    if cause in UNREACHABLE_CAUSES:
        return "unreachable", named
    if cause in (16, 31, None) and word != "NO DIALTONE":
        if alerted:
            return "rejected", (named or word or "ended") + " while ringing"
        if cause is None and word == "NO CARRIER":
            return "unreachable", "NO CARRIER before any ringing"
    if cause is None:
        return "failed", f"ended without a cause ({word or 'no result code'})"
    return "failed", named
