"""Logging, set up once for the whole process.

Loggers are dotted under ``cobrador`` (``cobrador.modem.driver``,
``cobrador.ledger``...). Lines are plain ``LEVEL logger: message`` so journald,
which stamps its own time, stores them cleanly; on an interactive terminal a
timestamp is added.
"""

from __future__ import annotations

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
