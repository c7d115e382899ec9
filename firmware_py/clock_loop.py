"""The daemon's half of keeping time (:mod:`firmware_py.clockkeeper`): once a minute, while Cobrador runs.

- When the clock is trusted (:func:`scheduler.clock.assess_clock`, as the appliance judges it), the current
  time is saved as the last known time (``DATA/clock.json``, :meth:`ClockKeeper.remember`): at the next boot
  ``cobrador clock restore`` never lets the clock start behind it.
- When the modem's network time (:meth:`firmware_py.modem_link.ModemLink.network_now`) differs from the
  system clock by more than :data:`MAX_SKEW`, a correction is asked (``DATA/clock-request.json``,
  :meth:`ClockKeeper.request`); the root path unit ``cobrador-clock.path`` runs ``cobrador clock apply``,
  which checks and applies it (the service itself may not set the clock: ``ProtectClock=yes``). The same
  correction is asked again at most every :data:`REQUEST_AGAIN` (a request that was refused would
  otherwise be repeated every minute).

``ClockLoop(data_dir, trust=..., network_now=...)``: ``trust()`` returns a
:class:`scheduler.clock.ClockTrust`, ``network_now()`` an aware datetime or None. ``start()``/``close()``;
``tick()`` does one round (the thread calls it; tests call it directly).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from firmware_py.clockkeeper import ClockKeeper

log = logging.getLogger("cobrador.clock_loop")

INTERVAL = 60.0
MAX_SKEW = timedelta(minutes=2)
REQUEST_AGAIN = 600.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ClockLoop:
    """See the module docstring."""

    def __init__(self, data_dir, *, trust: Callable[[], object], network_now: Callable[[], datetime | None],
                 interval: float = INTERVAL, max_skew: timedelta = MAX_SKEW, request_again: float = REQUEST_AGAIN,
                 now: Callable[[], datetime] = _utcnow, monotonic: Callable[[], float] = time.monotonic):
        self.keeper = ClockKeeper(Path(data_dir))
        self.trust = trust
        self.network_now = network_now
        self.interval = interval
        self.max_skew = max_skew
        self.request_again = request_again
        self.now = now
        self.monotonic = monotonic
        self._requested: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cobrador-clock", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:   # a full card or a surprise: the next minute tries again
                log.exception("clock keeping")
            if self._stop.wait(self.interval):
                return

    def tick(self) -> str | None:
        """One round: returns ``"remembered"``, ``"requested"``, both joined by ``+``, or None."""
        done = []
        now = self.now()
        if getattr(self.trust(), "trusted", False):
            self.keeper.remember(now)
            done.append("remembered")
        network = self.network_now()
        if network is not None and abs(network - now) > self.max_skew:
            since = None if self._requested is None else self.monotonic() - self._requested
            if since is None or since >= self.request_again:
                self.keeper.request(network, now=now, source="modem")
                self._requested = self.monotonic()
                log.warning("system clock %s differs from the network's %s: correction requested",
                            now.isoformat(timespec="seconds"), network.isoformat(timespec="seconds"))
                done.append("requested")
        else:
            self._requested = None
        return "+".join(done) or None
