"""One process owns a data directory: an exclusive ``flock`` on ``ledger.lock``.

The kernel releases the lock when the process dies (SIGKILL, power cut), so a
stale lock file never blocks a restart. ``DirectoryLock.acquire`` raises
``LedgerLocked`` when another open file description holds it (another
process, or a second ``Ledger.open`` in the same process).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from firmware_py.errors import LedgerLocked, LedgerWriteError


class DirectoryLock:
    """Exclusive lock on ``directory/ledger.lock``; ``release()`` is safe twice."""

    NAME = "ledger.lock"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / self.NAME
        self._fd: int | None = None

    def acquire(self) -> "DirectoryLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LedgerWriteError(self.path, exc.strerror or str(exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerLocked(self.directory) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
