"""The daemon's memory: large freed blocks go back to the system at once.

glibc's ``malloc`` serves a block of 128 KiB or more with its own ``mmap`` and unmaps it when freed — until such
a block is freed: then it raises that threshold (up to 32 MiB) to the freed block's size, and later large blocks
come from the heap, where what is freed stays resident whenever anything above it is still in use. The daemon's
start and every planner pass allocate and free many large blocks (the contact log's caches and columns, lists of
a hundred thousand events, the snapshot's text), so with the sliding threshold the process kept ~15 MB of freed
memory resident for good (10,000 debtors, 250,000 contacts). :func:`return_large_blocks` fixes the threshold at
its default, which also stops the sliding (``mallopt(3)``: ``M_MMAP_THRESHOLD``). Only ``cobrador run`` calls it;
elsewhere (another C library, no ``libc``) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("cobrador.memory")

M_MMAP_THRESHOLD = -3
"""``mallopt``'s parameter number (glibc's ``malloc.h``)."""

MMAP_THRESHOLD = 128 * 1024
"""glibc's default threshold: blocks this large or larger are mapped on their own and unmapped when freed."""


def return_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (see the module docstring); False when not possible."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt), or no C library to load
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, threshold) == 1
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")
    return done
