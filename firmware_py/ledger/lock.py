"""One process owns a data directory: an exclusive ``flock`` on ``ledger.lock``.

The kernel releases the lock when the process dies (SIGKILL, power cut), so a
stale lock file never blocks a restart. ``DirectoryLock.acquire`` raises
``LedgerLocked`` when another open file description holds it (another
process, or a second ``Ledger.open`` in the same process).

Readers (``Ledger.open(..., read_only=True)``, e.g. an export) use
``acquire_shared``: a shared ``flock`` on the existing lock file, opened
read-only and never created or written, so it works on a read-only SD card.
While readers hold it a writer cannot start (``LedgerLocked``); readers do
not exclude each other. When the shared lock cannot be had — the lock file
is missing or cannot be opened, or the service (a writer) holds it — the
reader goes on without a lock: what it reads is consistent anyway (the
journal and the contact log only grow and a torn last line is skipped; a
compaction that replaces the snapshot while it reads makes it read again:
``hotstate.FileHotState.load``), so an export works while the appliance
runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from firmware_py.errors import LedgerLocked, LedgerWriteError

log = logging.getLogger("cobrador.ledger.lock")


class DirectoryLock:
    """Lock on ``directory/ledger.lock``; ``release()`` is safe twice."""

    NAME = "ledger.lock"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / self.NAME
        self._fd: int | None = None
        self.shared = False

    def acquire(self) -> "DirectoryLock":
        """Take the exclusive (writer's) lock, creating the lock file; raises LedgerLocked / LedgerWriteError."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LedgerWriteError.from_os_error(self.path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerLocked(self.directory) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def acquire_shared(self) -> "DirectoryLock":
        """Take a reader's shared lock if possible, without creating or writing anything; else go on
        without one (see module docstring). Never raises."""
        self.shared = True
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            log.debug("reading %s without a lock (%s)", self.directory, exc.strerror or exc)
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # a writer (the running service) holds it
            os.close(fd)
            log.debug("%s is open for writing elsewhere: reading without a lock", self.directory)
            return self
        except OSError as exc:  # a filesystem without flock: read without it
            os.close(fd)
            log.debug("reading %s without a lock (%s)", self.directory, exc.strerror or exc)
            return self
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
