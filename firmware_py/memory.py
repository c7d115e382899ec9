"""The daemon's memory: large freed blocks go back to the system at once.

glibc's ``malloc`` serves a block of 128 KiB or more with its own ``mmap`` and unmaps it when freed — until such
a block is freed: then it raises that threshold (up to 32 MiB) to the freed block's size, and later large blocks
come from the heap, where what is freed stays resident whenever anything above it is still in use. The daemon's
start and every planner pass allocate and free many large blocks (the contact log's caches and columns, lists of
a hundred thousand events, the snapshot's text), so with the sliding threshold the process kept ~15 MB of freed
memory resident for good (10,000 debtors, 250,000 contacts). :func:`return_large_blocks` fixes the threshold at
its default, which also stops the sliding (``mallopt(3)``: ``M_MMAP_THRESHOLD``). Only ``cobrador run`` calls it;
elsewhere (another C library, no ``libc``) it does nothing.

Smaller blocks freed inside the heaps (a planner pass, the window's load, the debtor list's build — each thread
allocates from a heap of its own) stay resident too, page by page: :class:`FreeMemoryReturner` gives the whole
free pages of every heap back every few seconds (``malloc_trim(3)``; about a millisecond): ~5 MB less resident
once the daemon has started with 10,000 debtors and 250,000 contacts. Python's own small-object arenas are not
concerned (they are returned when empty).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

log = logging.getLogger("cobrador.memory")

M_MMAP_THRESHOLD = -3
"""``mallopt``'s parameter number (glibc's ``malloc.h``)."""

MMAP_THRESHOLD = 128 * 1024
"""glibc's default threshold: blocks this large or larger are mapped on their own and unmapped when freed."""


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (see the module docstring); False when not possible."""
    try:
        mallopt = _libc().mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt), or no C library to load
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
    return done


def free_memory_returner():
    """A function giving the heaps' free pages back to the system (``malloc_trim(0)``; True when it did), or None
    when not possible (not glibc)."""
    try:
        trim = _libc().malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return lambda: trim(0) == 1


class FreeMemoryReturner:
    """Gives the heaps' free pages back every ``every`` seconds in a daemon thread (see the module docstring);
    ``start()`` returns it (doing nothing where ``malloc_trim`` is missing), ``stop()`` ends it."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.rounds = 0
        self._stop = threading.Event()
        self._trim = free_memory_returner()

    def start(self) -> "FreeMemoryReturner":
        if self._trim is not None:
            threading.Thread(target=self._run, name="cobrador-memory", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._trim()
            self.rounds += 1
