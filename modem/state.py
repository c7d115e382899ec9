"""The driver's durable state and the thread that writes it behind the send path.

:class:`DriverState` owns the report tracker (:mod:`modem.reports`), the
multipart reassembler (:mod:`modem.reassembly`) and the inline inbox (``+CMT``
messages not stored on any SIM, kept until acked), guarded by one ``lock``.
It loads them once from a :class:`modem.stores.DriverStore` and saves the
whole dict after changes:

- :meth:`persist` marks the state dirty and wakes the store thread, which
  saves within ``delay`` seconds and coalesces bursts — so an fsync never sits
  in the dead time between two sends;
- ``persist(now=True)`` saves before returning (inline messages: they exist
  nowhere else);
- :meth:`stop` ends the thread and flushes.

A store that cannot be read starts an empty state (logged); a failed save is
logged and retried on the next change — the modem keeps working.
"""

from __future__ import annotations

import logging
import threading

from modem.reassembly import Reassembler
from modem.reports import ReportTracker
from modem.stores import DriverStore

log = logging.getLogger("cobrador.modem.state")

SCHEMA_VERSION = 1


class DriverState:
    def __init__(self, store: DriverStore, *, report_expiry: float, report_retention: float | None,
                 reassembly_timeout: float, delay: float = 0.05):
        self.store = store
        self.delay = delay
        self.lock = threading.RLock()
        saved = self._load()
        self.tracker = ReportTracker(expiry=report_expiry, retention=report_retention, state=saved.get("reports"))
        self.reassembler = Reassembler(timeout=reassembly_timeout, state=saved.get("reassembly"))
        self.inline: dict[str, dict] = dict(saved.get("inline") or {})
        self._dirty = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cobrador-modem-store", daemon=True)

    def _load(self) -> dict:
        try:
            state = self.store.load()
            return state if isinstance(state, dict) else {}
        except Exception as exc:      # a broken store must not keep the modem down
            log.error("driver store unreadable (%s); starting with empty state", exc)
            return {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the writer thread and save what is pending; safe to call twice."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self.flush()

    def persist(self, *, now: bool = False) -> None:
        """The state changed (call with ``lock`` held): save it soon, or before returning with ``now``."""
        self._dirty = True
        if now or self.delay <= 0 or not self._thread.is_alive():
            self.flush()
        else:
            self._wake.set()

    @property
    def unsaved(self) -> bool:
        """True while a change is not on the store yet (e.g. the last save failed)."""
        return self._dirty

    def flush(self) -> None:
        """Write the state if it changed since the last save."""
        with self.lock:
            if not self._dirty:
                return
            self._dirty = False
            try:
                self.store.save({"schema_version": SCHEMA_VERSION, "reports": self.tracker.to_dict(),
                                 "reassembly": self.reassembler.to_dict(), "inline": self.inline})
            except Exception as exc:
                self._dirty = True
                log.error("cannot save driver state: %s", exc)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.wait(self.delay):
                break
            self.flush()
