"""Helpers for the driver's end-to-end tests: a controllable clock and an event log.

Every test talks to ``modem.simulator`` through a real pty; nothing of ours is mocked.
"""

from __future__ import annotations

import queue
import threading
import time

from modem.driver import Modem, Timeouts
from modem.profiles import PROFILES
from modem.retry import Backoff

PROFILE_NAMES = sorted(PROFILES)
PHONE = "+573001234567"


class FakeClock:
    """The driver's injectable clock (epoch seconds) that tests can move forward."""

    def __init__(self, start: float | None = None):
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


class EventLog:
    """Reads a driver's event queue; ``wait`` returns the first event (old or new) matching a predicate."""

    def __init__(self, q: queue.Queue):
        self.q = q
        self.seen: list = []

    def drain(self) -> list:
        while True:
            try:
                self.seen.append(self.q.get_nowait())
            except queue.Empty:
                return self.seen

    def wait(self, predicate, timeout: float = 5.0, *, skip: int = 0):
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            while index < len(self.seen):
                event = self.seen[index]
                index += 1
                if predicate(event):
                    if skip == 0:
                        return event
                    skip -= 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout} s; seen: {self.seen!r}")
            try:
                self.seen.append(self.q.get(timeout=min(remaining, 0.05)))
            except queue.Empty:
                pass

    def of(self, cls) -> list:
        self.drain()
        return [e for e in self.seen if isinstance(e, cls)]


def make_modem(sim, profile: str, **overrides) -> Modem:
    """A Modem on the simulator's port with test-friendly bounds (fast retries, short sweeps)."""
    options = dict(
        profile=profile,
        timeouts=Timeouts(default=3.0, prompt=3.0, send=10.0, read=5.0, ussd=5.0, liveness=1.0, sim_ready=5.0),
        send_backoff=Backoff(attempts=3, base=0.05, factor=2.0, cap=0.2),
        reconnect_backoff=Backoff(attempts=1_000_000, base=0.05, factor=2.0, cap=0.5),
        maintenance_interval=0.05,
        boot_settle=0.3,
    )
    options.update(overrides)
    return Modem(sim.port, **options)


def wait_until(condition, timeout: float = 5.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def driver_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("cobrador-modem-")]


def assert_no_driver_threads(timeout: float = 2.0) -> None:
    """Every Modem a test opened was closed and its threads ended (tests must not leave threads behind)."""
    deadline = time.monotonic() + timeout
    while driver_threads():
        if time.monotonic() > deadline:
            raise AssertionError(f"driver threads left behind: {driver_threads()}")
        time.sleep(0.02)
