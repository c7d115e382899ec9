"""Talking to systemd: readiness, status, stopping, and the watchdog (``sd_notify(3)``).

systemd gives a ``Type=notify`` service a datagram socket in ``$NOTIFY_SOCKET``
(a path, or ``@name`` in the abstract namespace); a message is a few
``KEY=value`` lines. Outside systemd (development, tests without the variable)
every call is a no-op that returns False. Written by hand: the protocol is one
datagram, and the PyPI packages for it are unmaintained.

:class:`Watchdog` pings ``WATCHDOG=1`` every half ``$WATCHDOG_USEC`` from its
own thread, but only while ``healthy()`` says the appliance's parts are alive:
a stuck dispatcher or a dead recorder stops the pings and systemd restarts
the service.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Callable

log = logging.getLogger("cobrador.sdnotify")


def notify(message: str, *, environ=os.environ) -> bool:
    """Send ``message`` (e.g. ``"READY=1\\nSTATUS=Listo"``) to systemd; False when not under systemd."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", address, exc)
        return False


def watchdog_interval(environ=os.environ) -> float | None:
    """Half the watchdog period systemd asked for (seconds), or None when there is no watchdog for us."""
    usec = environ.get("WATCHDOG_USEC")
    pid = environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2_000_000, 0.5)
    except ValueError:
        return None


class Watchdog:
    """Pings systemd's watchdog while ``healthy()`` is true (context manager; ``close()`` safe twice)."""

    def __init__(self, healthy: Callable[[], bool], *, environ=os.environ):
        self.healthy = healthy
        self.environ = environ
        self.interval = watchdog_interval(environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Watchdog":
        if self.interval is not None:
            self._thread = threading.Thread(target=self._run, name="cobrador-watchdog", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                ok = self.healthy()
            except Exception:
                log.exception("health check failed")
                ok = False
            if ok:
                notify("WATCHDOG=1", environ=self.environ)
            else:
                log.error("a part of the appliance is not healthy: not feeding the watchdog")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Watchdog":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
