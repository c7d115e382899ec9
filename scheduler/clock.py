"""Whether the appliance may trust its clock — a pure policy the planner consults.

A Raspberry Pi has no battery-backed clock: after a power cut without
internet it may boot in the past (the last time it saved) until a source
tells it the time. Sending reminders on a wrong clock breaks the law's hours
and the ladder's dates, so nothing is planned as ``send`` while the time is
not trusted.

:func:`assess_clock` weighs the sources the appliance has (the modem's
network time — NITZ or ``AT+CCLK?`` —, the system's own synchronisation, a
confirmation by staff on the web page) against the system clock and returns
a :class:`ClockTrust` naming why. The appliance feeds it; nothing here
reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

RELEASE_FLOOR = datetime(2026, 1, 1, tzinfo=timezone.utc)
"""No correct clock reads earlier than this: this version did not exist before it."""

MAX_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ClockTrust:
    """``trusted`` and why: ``source`` is ``"network"``, ``"system"``, ``"staff"`` when trusted, or the
    problem (``"before_release"``, ``"skew"``, ``"no_source"``); ``detail`` a Spanish sentence."""

    trusted: bool
    source: str
    detail: str = ""

    @classmethod
    def trusted_for_tests(cls) -> "ClockTrust":
        """A trusted clock, for tests and tools that pass explicit instants (``cobrador plan --at``)."""
        return cls(True, "given", "hora indicada explícitamente")


def assess_clock(system_now: datetime, *, network_now: datetime | None = None, synchronised: bool = False,
                 confirmed_by_staff: bool = False, floor: datetime = RELEASE_FLOOR,
                 max_skew: timedelta = MAX_SKEW) -> ClockTrust:
    """Judge ``system_now`` (aware).

    ``network_now``: the time the mobile network gave (read at ``system_now``);
    ``synchronised``: the system says its clock is synchronised (NTP, RTC);
    ``confirmed_by_staff``: someone checked the time on the web page since boot.
    A clock before ``floor`` is never trusted; a network time that disagrees
    by more than ``max_skew`` makes it untrusted whatever else says yes.
    """
    if system_now.tzinfo is None:
        raise ValueError("system_now must be aware")
    if system_now < floor:
        return ClockTrust(False, "before_release",
                          f"el reloj marca {system_now:%d/%m/%Y}, antes de que existiera esta versión: falta la hora real")
    if network_now is not None:
        skew = abs(system_now - network_now)
        if skew > max_skew:
            return ClockTrust(False, "skew", f"el reloj difiere de la hora de la red en {_minutes(skew)}")
        return ClockTrust(True, "network", "hora confirmada por la red móvil")
    if synchronised:
        return ClockTrust(True, "system", "reloj sincronizado")
    if confirmed_by_staff:
        return ClockTrust(True, "staff", "hora confirmada por el personal")
    return ClockTrust(False, "no_source", "ninguna fuente confirmó la hora (sin red móvil ni sincronización)")


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutos"
    return f"{minutes // 60} horas"
