"""Retry decisions and backoff (pure).

:func:`classify` says what to do after a failed attempt:

- ``"retry"``: a temporary condition (``CmsError``/``CmeError`` whose
  ``.temporary`` is True, e.g. network congestion, SC busy) — try again after a
  backoff delay, a bounded number of times;
- ``"fail"``: permanent (unknown number, barred, SMSC unknown, bad PDU) — fail
  this message now and let the next one go;
- ``"abort"``: the link itself is gone or hung (``ModemDisconnected``,
  ``CommandTimeout``) — stop; the supervisor recovers the link and the caller
  must not blindly resend (the message may have left).

:class:`Backoff` yields the delays: ``base * factor**n`` capped at ``cap``,
``attempts`` tries in all (so ``attempts - 1`` delays). No randomness: the
driver has one modem per instance, so there is no herd to spread.
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.errors import CommandError, CommandTimeout, ModemDisconnected

RETRY = "retry"
FAIL = "fail"
ABORT = "abort"


def classify(exc: BaseException) -> str:
    """``"retry" | "fail" | "abort"`` for an exception raised by a modem command."""
    if isinstance(exc, (ModemDisconnected, CommandTimeout)):
        return ABORT
    if isinstance(exc, CommandError):
        return RETRY if exc.temporary else FAIL
    return FAIL


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff: ``attempts`` tries, delays ``base*factor**n`` capped at ``cap``."""

    attempts: int = 3
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def __post_init__(self):
        if self.attempts < 1 or self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError("invalid backoff parameters")

    def delay(self, failures: int) -> float:
        """Delay before the next try after ``failures`` consecutive failures (≥ 1)."""
        return min(self.cap, self.base * self.factor ** max(0, failures - 1))

    def delays(self) -> list[float]:
        """The delays between the ``attempts`` tries (``attempts - 1`` values)."""
        return [self.delay(n) for n in range(1, self.attempts)]
