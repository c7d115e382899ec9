"""A pseudo-terminal that plays the modem's serial port.

:class:`PtyLink` owns the master end of a pty; the AT client opens the slave
path (or the stable symlink ``link``, like ``/dev/serial/by-id/...``). The
slave is put in raw mode, otherwise the line discipline would echo bytes and
turn ``\\r`` into ``\\n`` behind everybody's back.

The link keeps its own descriptor on the slave open for as long as it is
plugged: without it, the master would read EIO every time the client closes
and reopens the port. :meth:`unplug` closes both descriptors, so a client
holding the old slave gets ``EIO`` on its next read or write (pyserial turns
that into ``SerialException``), exactly like a USB modem pulled out.
:meth:`plug` makes a fresh pty and re-points the symlink atomically.

The link does no I/O scheduling itself: the simulator's serving thread
selects on :attr:`fd` and calls :meth:`read` / :meth:`flush`.
"""

from __future__ import annotations

import errno
import logging
import os
import tty
from pathlib import Path

log = logging.getLogger("cobrador.modem.simulator.pty_link")

#: Bytes kept for a client that does not read; beyond this the oldest are dropped
#: (a real modem's UART FIFO drops too, just far sooner).
MAX_PENDING_OUTPUT = 256 * 1024


class PtyLink:
    """The master end of a pty plus an optional stable symlink to its slave.

    ``link``: a path to keep pointing at the current slave (``None``: clients
    use :attr:`slave_path`, which changes on every :meth:`plug`).
    Not thread-safe by itself: the simulator calls it under its lock.
    """

    def __init__(self, link: str | Path | None = None):
        self.link = Path(link) if link is not None else None
        self.fd: int | None = None          # master end; None while unplugged
        self._slave_fd: int | None = None
        self.slave_path: str | None = None
        self._pending = bytearray()

    @property
    def plugged(self) -> bool:
        return self.fd is not None

    @property
    def port(self) -> str | None:
        """What a client should open: the symlink if any, else the slave path."""
        if self.link is not None:
            return str(self.link)
        return self.slave_path

    @property
    def has_output(self) -> bool:
        return bool(self._pending)

    def plug(self) -> None:
        """Create a new pty (raw, non-blocking master) and point the symlink at it."""
        if self.fd is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.fd, self._slave_fd = master, slave
        self.slave_path = os.ttyname(slave)
        self._pending.clear()
        if self.link is not None:
            self._point_link(self.slave_path)
        log.info("plugged: %s", self.port)

    def unplug(self) -> None:
        """Close the pty: clients get EIO. Removes the symlink. Safe to call twice."""
        fd, slave = self.fd, self._slave_fd
        self.fd = self._slave_fd = None
        self.slave_path = None
        self._pending.clear()
        for descriptor in (fd, slave):
            if descriptor is not None:
                try:
                    os.close(descriptor)
                except OSError:  # pragma: no cover - already gone
                    pass
        if fd is not None and self.link is not None:
            try:
                if self.link.is_symlink():
                    self.link.unlink()
            except OSError as exc:  # pragma: no cover - someone else removed it
                log.debug("could not remove %s: %s", self.link, exc)
        if fd is not None:
            log.info("unplugged")

    close = unplug

    def read(self) -> bytes:
        """Bytes the client wrote (b"" when none or unplugged). Never raises."""
        if self.fd is None:
            return b""
        try:
            return os.read(self.fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: no slave open (cannot happen while we hold one)
                log.warning("pty read failed: %s", exc)
            return b""

    def write(self, data: bytes) -> None:
        """Queue bytes for the client (dropped while unplugged)."""
        if self.fd is None or not data:
            return
        self._pending += data
        overflow = len(self._pending) - MAX_PENDING_OUTPUT
        if overflow > 0:
            del self._pending[:overflow]
            log.warning("client is not reading: dropped %d bytes", overflow)

    def flush(self) -> None:
        """Write as much queued output as the pty takes without blocking."""
        while self.fd is not None and self._pending:
            try:
                written = os.write(self.fd, self._pending)
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("pty write failed: %s", exc)
                self._pending.clear()
                return
            del self._pending[:written]

    def _point_link(self, target: str) -> None:
        assert self.link is not None
        self.link.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        os.symlink(target, tmp)
        os.replace(tmp, self.link)
