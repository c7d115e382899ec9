"""What the appliance knows about its own clock (the seam the running appliance will also feed
with the modem's network time).

:func:`system_clock_trust` asks the operating system whether its clock is
synchronised — systemd-timesyncd's flag file, or the kernel's
``adjtimex`` status (an RTC or NTP discipline clears ``STA_UNSYNC``) — and
hands the answer to the pure policy :func:`scheduler.clock.assess_clock`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from datetime import datetime
from pathlib import Path

from scheduler.clock import ClockTrust, assess_clock

log = logging.getLogger("cobrador.timekeeping")

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
_STA_UNSYNC = 0x0040


class _Timex(ctypes.Structure):
    # struct timex (Linux): the first fields are enough to read ``status``; the kernel writes the rest
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_byte * 256)]


def kernel_synchronised() -> bool | None:
    """True/False from ``adjtimex(2)`` (read-only call), ``None`` when it cannot be asked."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != 5 and not timex.status & _STA_UNSYNC  # 5 = TIME_ERROR: clock not synchronised


def system_clock_trust(now: datetime, *, network_now: datetime | None = None,
                       confirmed_by_staff: bool = False) -> ClockTrust:
    """:func:`scheduler.clock.assess_clock` with what this machine says about its synchronisation."""
    synchronised = TIMESYNC_FLAG.exists() or bool(kernel_synchronised())
    return assess_clock(now, network_now=network_now, synchronised=synchronised,
                        confirmed_by_staff=confirmed_by_staff)
