"""Keeping the appliance's time without internet: the last known time, the network's time, one narrow setter.

A Raspberry Pi has no battery clock. Three rules keep its time honest:

1. **Never backwards across reboots.** The daemon saves the current time to
   ``DATA/clock.json`` every minute (:meth:`ClockKeeper.remember`, atomic). At
   boot, before Cobrador starts, a root one-shot unit runs
   ``cobrador clock restore``: if the system clock is behind the saved time it
   is moved forward to it (:func:`restore`). Restored time is a floor, not a
   trusted time: nothing is sent on it.
2. **The network decides.** When the modem gives network time (NITZ, ``AT+CCLK``)
   and it disagrees with the system clock, the daemon (which may not set the
   clock itself: its unit has ``ProtectClock=yes``) writes a *request*
   ``DATA/clock-request.json`` (:meth:`ClockKeeper.request`); a root path unit
   runs ``cobrador clock apply``, which checks the request (fresh, later than
   the saved floor, plausible) and sets the clock (:func:`apply_request`).
3. **Trusted only after network time or a person's confirmation** — that is
   :func:`scheduler.clock.assess_clock`'s job, fed by the daemon.

Setting the clock is one function, :func:`set_system_clock`
(``clock_settime(CLOCK_REALTIME)``), called only by those two commands.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger("cobrador.clockkeeper")

STATE_FILE = "clock.json"
REQUEST_FILE = "clock-request.json"
REQUEST_MAX_AGE = timedelta(minutes=5)
MAX_STEP = timedelta(days=3650)


class ClockError(Exception):
    """A clock request was refused; ``str`` is a Spanish sentence."""


def _atomic_write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _instant(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class ClockKeeper:
    """The daemon's side, in ``data_dir``: remembers the time and asks for corrections."""

    data_dir: Path

    def remember(self, now: datetime) -> None:
        """Save ``now`` as the last known time, unless an even later one is saved (never backwards)."""
        known = self.last_known()
        if known is not None and known >= now:
            return
        _atomic_write(Path(self.data_dir) / STATE_FILE, {"last_known": now.astimezone(timezone.utc).isoformat()})

    def last_known(self) -> datetime | None:
        data = _read(Path(self.data_dir) / STATE_FILE)
        return _instant(data.get("last_known")) if data else None

    def request(self, network_now: datetime, *, now: datetime, source: str) -> None:
        """Ask the privileged setter to move the clock to ``network_now`` (read at system time ``now``)."""
        _atomic_write(Path(self.data_dir) / REQUEST_FILE,
                      {"network_time": network_now.astimezone(timezone.utc).isoformat(),
                       "requested_at": now.astimezone(timezone.utc).isoformat(),
                       "requested_monotonic": time.monotonic(), "source": source})


def set_system_clock(moment: datetime) -> None:
    """Set the system clock (needs CAP_SYS_TIME: the root one-shot commands only)."""
    time.clock_settime(time.CLOCK_REALTIME, moment.timestamp())


def restore(data_dir: Path, *, now: datetime, setter=set_system_clock) -> datetime | None:
    """At boot: move the clock forward to the last known time if it is behind. Returns the new time, or None
    when nothing had to change."""
    known = ClockKeeper(Path(data_dir)).last_known()
    if known is None or now >= known:
        return None
    setter(known)
    log.warning("clock was %s, behind the last known time: set to %s", now.isoformat(), known.isoformat())
    return known


def apply_request(data_dir: Path, *, now: datetime, setter=set_system_clock) -> datetime:
    """Apply the daemon's clock request after checking it. Returns the time set; raises :class:`ClockError`.

    Refused: no request or a malformed one; a request older than :data:`REQUEST_MAX_AGE` by the system
    clock's monotonic counter (same boot) — or, from another boot, at all; a network time earlier than
    the last known time; a step larger than :data:`MAX_STEP`. The request is removed once handled."""
    path = Path(data_dir) / REQUEST_FILE
    data = _read(path)
    if data is None:
        raise ClockError("No hay ninguna solicitud de hora para aplicar.")
    try:
        network = _instant(data.get("network_time"))
        requested = float(data.get("requested_monotonic"))
        if network is None:
            raise ClockError("La solicitud de hora está dañada; se ignora.")
        age = time.monotonic() - requested
        if not 0 <= age <= REQUEST_MAX_AGE.total_seconds():
            raise ClockError("La solicitud de hora es vieja o de otro arranque; se ignora.")
        target = network + timedelta(seconds=age)
        known = ClockKeeper(Path(data_dir)).last_known()
        if known is not None and target < known:
            raise ClockError(f"La hora de la red ({target:%d/%m/%Y %H:%M}) es anterior a la última hora conocida "
                             f"({known:%d/%m/%Y %H:%M}); no se retrocede el reloj.")
        if abs(target - now) > MAX_STEP:
            raise ClockError("La hora de la red difiere más de diez años del reloj; no se aplica.")
        setter(target)
        log.info("clock set from %s network time: %s", data.get("source", "?"), target.isoformat())
        return target
    except (TypeError, ValueError) as exc:
        raise ClockError(f"La solicitud de hora está dañada ({exc}); se ignora.") from None
    finally:
        path.unlink(missing_ok=True)
