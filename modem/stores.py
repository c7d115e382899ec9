"""Durable state for the driver: a two-method seam (``load`` / ``save``).

The driver keeps a small JSON-able dict (report-matching state, partial
multipart messages, ``+CMT`` messages waiting for an ack). It hands the
whole dict to ``save`` after each change and reads it once with ``load`` at
start. Two implementations live here:

- :class:`MemoryStore` for tests and for runs that need no durability;
- :class:`AtomicJsonFileStore`, crash-safe on a power cut: temp file in the
  same directory, write, flush, fsync, ``os.replace``, fsync the directory.
  A file that cannot be parsed (it should never happen, but an SD card can
  rot) is moved aside as ``<name>.corrupt-<n>`` and an empty state is used,
  so the driver still starts; the bad file is kept for a person to inspect.

The appliance may plug its ledger in later: anything with ``load() -> dict``
and ``save(dict)`` works.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

log = logging.getLogger("cobrador.modem.stores")


@runtime_checkable
class DriverStore(Protocol):
    """Where the driver persists its state. ``save`` must be durable when it returns."""

    def load(self) -> dict: ...

    def save(self, state: dict) -> None: ...


class MemoryStore:
    """In-memory store; ``save`` keeps a deep copy (so later mutations do not leak in)."""

    def __init__(self, initial: dict | None = None):
        self._state = copy.deepcopy(initial) if initial else {}
        self._lock = threading.Lock()
        self.saves = 0

    def load(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._state)

    def save(self, state: dict) -> None:
        # Round-trip through JSON so a MemoryStore rejects exactly what the file store rejects.
        snapshot = json.loads(json.dumps(state))
        with self._lock:
            self._state = snapshot
            self.saves += 1


class AtomicJsonFileStore:
    """A JSON file replaced atomically on every save.

    ``path`` is the file; its directory is created if missing. Raises
    ``OSError`` from ``save`` when the disk refuses the write (the previous
    file is then untouched), ``TypeError``/``ValueError`` for non-JSON state.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self) -> dict:
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return {}
            try:
                state = json.loads(raw.decode("utf-8"))
                if not isinstance(state, dict):
                    raise ValueError("top level is not an object")
                return state
            except (ValueError, UnicodeDecodeError) as exc:
                aside = self._move_aside()
                log.error("driver state %s unreadable (%s); moved to %s, starting empty", self.path, exc, aside)
                return {}

    def save(self, state: dict) -> None:
        data = json.dumps(state, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        with self._lock:
            directory = self.path.parent
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise
            _fsync_dir(directory)

    def _move_aside(self) -> Path:
        n = 1
        while True:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{n}")
            if not aside.exists():
                os.replace(self.path, aside)
                return aside
            n += 1


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory entry (no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
