"""``DATA/status.json``: what the running service publishes about itself for the ``cobrador`` command.

While the service runs, the command can open neither the modem (the service holds the port) nor the ledger
for writing (its lock is exclusive). So the appliance writes a small JSON file every :data:`INTERVAL`
seconds (:class:`StatusPublisher`, atomic: temporary file, fsync, rename) and ``cobrador status`` /
``cobrador doctor`` read it (:func:`read_status`). A file older than :data:`STALE_AFTER` seconds, one whose
process is gone, or one marked ``"state": "stopped"`` (written when the service stops) means the service is
not running.

Contents (every part may be ``null`` when it could not be read)::

    {"state": "running" | "stopped", "version", "pid", "started_at", "written_at", "web": URL,
     "modem": {"state", "detail", "simulated", "port", "profile", "storage_full", "since"},
     "sim": {"operator", "signal_dbm", "registered", "smsc"},
     "sending_paused": bool,
     "queue": {"due_now", "waiting", "planned_at"},          # the planner's sends due now (every 60 s)
     "last_send": {"at", "kind", "channel"},                  # the newest outbound outcome
     "clock": {"trusted", "source", "detail", "network_time"},
     "disk": {"path", "free_bytes", "total_bytes"},
     "sim_health": {"balance", "low_balance", "sending", "alert", ...}}   # firmware_py.sim_health's record

The publisher also runs the SIM's health checks (:mod:`firmware_py.sim_health`: the balance by USSD every few
hours and after many sends, and whether the SIM stopped sending) on their own thread, for as long as it runs.

Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from firmware_py.control import read_json, write_json

log = logging.getLogger("cobrador.status_file")

STATUS_FILE = "status.json"
INTERVAL = 10.0
STALE_AFTER = 60.0
QUEUE_EVERY = 60.0
LAST_SEND_DAYS = 31
OUTCOMES = ("sent", "failed", "uncertain", "retry")
LAST_SEND_PEEK = 64  # the newest outcomes read first (one is enough when it is outbound)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def parse_time(value) -> datetime | None:
    """An ISO 8601 instant from the file (aware), or None."""
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


# -- reading (the command) ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedStatus:
    """The service's last status file: ``data`` as written, ``age`` seconds since it was written,
    ``running`` when it is fresh, not marked stopped and its process is alive."""

    data: dict
    age: float
    running: bool


def _process_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # alive, another user's (the service runs as cobrador)
        return True
    except (TypeError, ValueError, OSError):
        return False
    return True


def read_status(data_dir, *, now: datetime | None = None, stale_after: float = STALE_AFTER) -> PublishedStatus | None:
    """The status the service published in ``data_dir``, or None when there is none (never ran here)."""
    data = read_json(Path(data_dir) / STATUS_FILE)
    if data is None:
        return None
    written = parse_time(data.get("written_at"))
    now = now or _utcnow()
    age = (now - written).total_seconds() if written is not None else float("inf")
    running = (abs(age) <= stale_after and data.get("state") == "running" and _process_alive(data.get("pid")))
    return PublishedStatus(data, age, running)


def running_service(data_dir, *, now: datetime | None = None) -> PublishedStatus | None:
    """The published status when the service is running, else None."""
    status = read_status(data_dir, now=now)
    return status if status is not None and status.running else None


def smsc_of(modem) -> str | None:
    """The SIM's SMS centre number (``AT+CSCA?``), "" when the SIM has none, None when it cannot be read."""
    from modem.errors import ModemError

    try:
        response = modem.command("AT+CSCA?")
    except ModemError:
        return None
    for line in response.lines:
        if line.startswith("+CSCA:"):
            value = line.split(":", 1)[1].strip()
            number = value.split(",", 1)[0].strip().strip('"')
            return number
    return None


def free_space(path) -> tuple[int, int] | None:
    """(free bytes, total bytes) of the filesystem holding ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                usage = shutil.disk_usage(candidate)
            except OSError:
                return None
            return usage.free, usage.total
    return None


# -- writing (the appliance) -------------------------------------------------------------------------------------
class StatusPublisher:
    """Writes ``DATA/status.json`` for a running :class:`firmware_py.app.Appliance` every ``interval``
    seconds (first at :meth:`start`) and a last one marked ``stopped`` at :meth:`close`. Each part is read
    safely: one that fails is ``null`` (logged at DEBUG), never the end of the publisher."""

    def __init__(self, appliance, *, interval: float = INTERVAL, queue_every: float = QUEUE_EVERY,
                 now: Callable[[], datetime] = _utcnow):
        self.appliance = appliance
        self.data_dir = Path(appliance.data_dir)
        self.interval = interval
        self.queue_every = queue_every
        self.now = now
        self.started_at = now()
        self._queue: dict | None = None
        self._queue_at = -float("inf")
        self._last: dict | None = None  # the last send, as last read
        self._smsc: tuple[object, str | None] | None = None   # (modem object, its SMSC)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sim_health = None    # firmware_py.sim_health.SimHealth, started with the publisher

    @property
    def path(self) -> Path:
        return self.data_dir / STATUS_FILE

    def start(self) -> None:
        if getattr(self.appliance, "config", None) is not None and getattr(self.appliance, "ledger", None) is not None:
            from firmware_py.sim_health import for_appliance

            self.sim_health = for_appliance(self.appliance).start()
        self.publish(plan=False)   # at once, without the planner's pass nor the log: the thread's first round reads them
        self._thread = threading.Thread(target=self._run, name="cobrador-status", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self.sim_health is not None:
            self.sim_health.close()
        self.publish(state="stopped")

    def _run(self) -> None:
        self.publish()
        while not self._stop.wait(self.interval):
            self.publish()

    def publish(self, state: str = "running", *, plan: bool = True) -> None:
        """Write the status file; ``plan=False`` leaves the queue and the last send as last read (None before
        the first round), so the appliance is ready without waiting for a planner pass nor for a month of the
        contact log to be decoded."""
        try:
            data = self.collect(state, plan=plan)
            write_json(self.path, data)
        except Exception as exc:   # a full card must not stop the appliance: the next round tries again
            log.warning("cannot write %s: %s", self.path, exc)

    def collect(self, state: str = "running", *, plan: bool = True) -> dict:
        from firmware_py import __version__

        now = self.now()
        running = state == "running"
        app = self.appliance
        return {
            "state": state, "version": __version__, "pid": os.getpid(), "started_at": _iso(self.started_at),
            "written_at": _iso(now),
            "web": self._part(lambda: app.url if getattr(app, "_server", None) is not None else None),
            "modem": self._part(self._modem),
            "sim": self._part(self._sim) if running else None,
            "sending_paused": self._part(lambda: bool(app.ledger.settings.get("sending_paused"))),
            "queue": (self._part(lambda: self._queue_now(now)) if plan else self._queue) if running else None,
            "last_send": self._part(lambda: self._last_send(now)) if plan else self._last,
            "clock": self._part(self._clock) if running else None,
            "disk": self._part(self._disk),
            "sim_health": self._part(lambda: app.ledger.settings.get("sim_health")),
        }

    @staticmethod
    def _part(read: Callable[[], object]):
        try:
            return read()
        except Exception as exc:
            log.debug("status part unreadable: %s", exc)
            return None

    def _modem(self) -> dict | None:
        link = self.appliance.link
        if link is None:
            return None
        status = link.status()
        return {"state": status.state, "detail": status.detail, "simulated": status.simulated,
                "port": status.port, "profile": status.profile, "storage_full": status.storage_full,
                "since": _iso(datetime.fromtimestamp(status.since, timezone.utc)) if status.since else None}

    def _sim(self) -> dict | None:
        link = self.appliance.link
        if link is None:
            return None
        status = link.status()
        modem = link.modem
        if modem is None or modem.closed:
            self._smsc = None
        elif self._smsc is None or self._smsc[0] is not modem or self._smsc[1] is None:
            self._smsc = (modem, smsc_of(modem))   # once per connection: the SIM's SMSC does not change
        return {"operator": status.operator, "signal_dbm": status.signal_dbm,
                "registered": status.state == "connected" and bool(status.operator),
                "smsc": self._smsc[1] if self._smsc else None}

    def _queue_now(self, now: datetime) -> dict | None:
        """The planner's decisions now, counted (planned at most every ``queue_every`` seconds)."""
        if time.monotonic() - self._queue_at < self.queue_every and self._queue is not None:
            return self._queue
        from scheduler.planner import HISTORY_DAYS, plan

        app = self.appliance
        engine_now = app.clock() if callable(getattr(app, "clock", None)) else now   # the dispatcher's time
        snapshot = app.ledger.snapshot(contacts_since=engine_now - timedelta(days=HISTORY_DAYS))
        policy = app.policy().with_settings(snapshot.settings)
        planner = getattr(getattr(app, "dispatcher", None), "planner", None)   # the dispatcher's memory
        decisions = (planner.plan if planner is not None else plan)(snapshot, policy, engine_now)
        self._queue = {"due_now": sum(1 for d in decisions if d.action == "send"),
                       "waiting": sum(1 for d in decisions if d.action == "wait"), "planned_at": _iso(now)}
        self._queue_at = time.monotonic()
        return self._queue

    def _last_send(self, now: datetime) -> dict | None:
        since = now - timedelta(days=LAST_SEND_DAYS)
        events = self.appliance.ledger.contacts(since=since, kinds=OUTCOMES, limit=LAST_SEND_PEEK)
        outbound = [e for e in events if e.direction == "outbound"]
        if not outbound and len(events) == LAST_SEND_PEEK:  # the newest are all inbound: read them all
            events = self.appliance.ledger.contacts(since=since, kinds=OUTCOMES)
            outbound = [e for e in events if e.direction == "outbound"]
        if not outbound:
            self._last = None
            return None
        last = outbound[-1]
        self._last = {"at": _iso(last.at), "kind": last.kind, "channel": last.channel}
        return self._last

    def _clock(self) -> dict:
        trust = self.appliance.policy().clock
        link = self.appliance.link
        network = link.network_now() if link is not None else None
        return {"trusted": trust.trusted, "source": trust.source, "detail": trust.detail,
                "network_time": _iso(network)}

    def _disk(self) -> dict | None:
        space = free_space(self.data_dir)
        if space is None:
            return None
        return {"path": str(self.data_dir.resolve()), "free_bytes": space[0], "total_bytes": space[1]}
