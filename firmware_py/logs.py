"""Logging, set up once for the whole process.

Loggers are dotted under ``cobrador`` (``cobrador.modem.driver``,
``cobrador.ledger``...). Lines are plain ``LEVEL logger: message`` so journald,
which stamps its own time, stores them cleanly; on an interactive terminal a
timestamp is added.

:class:`RecentLines` keeps the newest formatted records in memory, so the web
page can show them (the journal is not readable by the service user).
"""

from __future__ import annotations

import collections
import logging
import sys

_configured = False


def setup_logging(level: str | int = "INFO", *, stream=None) -> None:
    """Configure the root logger once; later calls only change the level.

    ``level`` is a name (``"DEBUG"``, ``"info"``) or a ``logging`` constant.
    Raises ``ValueError`` for an unknown level name.
    """
    global _configured
    if isinstance(level, str):
        numeric = logging.getLevelName(level.upper())
        if not isinstance(numeric, int):
            raise ValueError(f"unknown log level: {level!r}")
        level = numeric
    root = logging.getLogger()
    root.setLevel(level)
    if _configured:
        return
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    interactive = hasattr(stream, "isatty") and stream.isatty()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if interactive else "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    root.addHandler(handler)
    # Chatty third-party loggers stay at WARNING unless we are debugging.
    for noisy in ("waitress", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    _configured = True


class RecentLines(logging.Handler):
    """A logging handler keeping the newest ``capacity`` records as text lines, in memory only.

    Attach it to a logger (the root: ``logging.getLogger().addHandler(handler)``); :meth:`lines` returns
    them oldest first. A record with a traceback is one entry of several lines. Nothing is written to
    disk; memory is bounded by ``capacity`` (and each line by ``max_chars``). Thread-safe.
    """

    def __init__(self, capacity: int = 200, *, level: int = logging.NOTSET, max_chars: int = 4000):
        super().__init__(level)
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.max_chars = max_chars
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                                            datefmt="%Y-%m-%d %H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a bad format argument must not break the caller (logging's own rule)
            self.handleError(record)
            return
        if len(line) > self.max_chars:
            line = line[: self.max_chars] + " …"
        self._lines.append(line)

    def lines(self) -> list[str]:
        """The kept lines, oldest first (a copy)."""
        with self.lock:
            return list(self._lines)
