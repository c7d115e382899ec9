"""The newest contact events, decoded and kept in memory, sharing their strings.

The planner asks for recent history on every tick (caps per day and week,
"no second channel in the same week"); reading and decoding month partitions
each time would cost a partition scan per tick. ``RecentContacts`` keeps the
events of the ``months`` newest months (by partition, i.e. UTC month of
``at``) and answers any query whose ``since`` is not older than ``floor``, the
start of the oldest of those months. Older queries go to the partitions. The
ledger fills it on the first query that needs it and keeps it current with
every append after that.

Memory. Events are held decoded, as the ``ContactEvent`` objects every query
returns: the planner and the dispatcher read HISTORY_DAYS (120 days) of
everyone's history on every pass and keep all of it while they plan, so
decoding it per query (a compact form decoded on demand) would cost the same
objects again on every pass, and at once for each of the passes that overlap
(the dispatcher, the status file, a web page) — more memory at the peak and a
decode per pass. What is not paid twice is the strings: an event decoded from
JSON owns a copy of every string (kind, channel, debtor id, phone, contact
id, message text...), about 1.2 KB per event. Here every text field is shared
through a pool (one object per distinct debtor id, phone, kind, contact id,
message text...; debtor ids and phones through ``sys.intern``, the same
objects as the ledger's debtor records), so an event costs what is its own:
the object (~190 bytes), its instant (48) and its id (81) — about 320 bytes
(100k events ~34 MB instead of ~120 MB). The pool lives while the window is
read; appended events get a new one (emptied when months roll over).

The events are kept in time order (their instants also as UTC microseconds,
``array('q')``, for binary search), so a query for a recent window (today's
numbers on the dashboard) finds its slice without walking months of events;
``select`` filters by debtor, kind and contact id.
"""

from __future__ import annotations

import bisect
import sys
from array import array
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from firmware_py.ledger.contactlog import partition_for
from scheduler.model import ContactEvent

EVERYTHING = datetime(1, 1, 1, tzinfo=timezone.utc)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# fields shared between events (everything but the instant, the id and the schema version)
SHARED_FIELDS = tuple(f.name for f in fields(ContactEvent) if f.name not in ("at", "id", "schema_version"))
# shared with the whole program (the ledger's debtor records use the same objects)
_INTERNED = frozenset({"debtor_id", "phone"})


def month_start(name: str) -> datetime:
    year, month = int(name[:4]), int(name[5:7])
    return datetime(year, month, 1, tzinfo=timezone.utc)


def previous_month(name: str) -> str:
    year, month = int(name[:4]), int(name[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def micros(at: datetime) -> int:
    """Microseconds since the epoch (UTC) of an aware instant (exact: no floating point)."""
    return (at - _EPOCH) // _MICROSECOND


class StringPool:
    """One object per distinct string value (``share``); debtor ids and phones through ``sys.intern``."""

    def __init__(self) -> None:
        self._pool: dict[str, str] = {}

    def share(self, value: str, interned: bool = False) -> str:
        """The pooled object equal to ``value`` (``interned``: a debtor id or phone, first seen here)."""
        found = self._pool.get(value)
        if found is None:
            found = self._pool[value] = sys.intern(value) if interned else value
        return found

    def share_doc(self, doc: dict) -> dict:
        """``doc`` (a stored contact document) with its text fields replaced by the pooled objects."""
        pool = self._pool
        for name in SHARED_FIELDS:
            value = doc.get(name)
            if type(value) is str:
                found = pool.get(value)
                if found is None:
                    found = pool[value] = sys.intern(value) if name in _INTERNED else value
                doc[name] = found
        return doc

    def share_event(self, event: ContactEvent) -> ContactEvent:
        """``event`` itself when its strings are already the pooled ones, else an equal event that uses them."""
        pool = self._pool
        changes = {}
        for name in SHARED_FIELDS:
            value = getattr(event, name)
            found = pool.get(value)
            if found is None:
                found = pool[value] = sys.intern(value) if name in _INTERNED else value
            if found is not value:
                changes[name] = found
        if not changes:
            return event
        values = {f: getattr(event, f) for f in ("at", "id", "schema_version", *SHARED_FIELDS)}
        values.update(changes)
        return ContactEvent(**values)


class RecentContacts:
    """Events with ``at >= floor`` (see module docstring); not thread-safe (the ledger locks)."""

    def __init__(self, months: int = 2):
        self.months = max(1, months)
        self.floor: datetime = EVERYTHING
        self.newest: str = ""
        self.events: list[ContactEvent] = []
        self._times = array("q")  # micros(events[i].at), for bisect
        self._pool = StringPool()
        self.loaded = False

    def load(self, names: list[str], read: Callable[[str, StringPool], Iterable[ContactEvent]]) -> None:
        """Fill from the newest ``months`` partitions (``names`` oldest first); ``read(name, pool)`` yields the
        partition's events, their strings shared through ``pool`` (``StringPool.share``/``share_doc``)."""
        self.floor = EVERYTHING
        self.newest = names[-1] if names else ""
        self._pool = pool = StringPool()
        keep = names[-self.months:]
        if len(names) > len(keep):
            self.floor = month_start(keep[0])
        events: list[ContactEvent] = []
        for name in keep:
            events.extend(read(name, pool))
        events.sort(key=_at)
        self.events = events
        # the pool's dict costs ~50 bytes per distinct string: keep it only for what is appended from now on
        self._pool = StringPool()
        self._times = array("q", [micros(e.at) for e in events])
        self.loaded = True

    def add(self, event: ContactEvent) -> None:
        month = partition_for(event.at)
        if month > self.newest:
            self.newest = month
            oldest_kept = month
            for _ in range(self.months - 1):
                oldest_kept = previous_month(oldest_kept)
            floor = month_start(oldest_kept)
            if floor > self.floor:
                self.floor = floor
                cut = bisect.bisect_left(self._times, micros(floor))
                del self.events[:cut]
                del self._times[:cut]
                self._pool = StringPool()  # forget the strings of the months dropped
        if event.at >= self.floor:
            event = self._pool.share_event(event)
            at = micros(event.at)
            if not self._times or at >= self._times[-1]:
                self.events.append(event)
                self._times.append(at)
            else:  # an event stamped earlier than the newest (a driver's report time): keep the order
                index = bisect.bisect_right(self._times, at)
                self.events.insert(index, event)
                self._times.insert(index, at)

    def kept_months(self) -> list[str]:
        """Names of the partitions whose events are all here (oldest first)."""
        if not self.newest:
            return []
        names = [self.newest]
        while len(names) < self.months and month_start(previous_month(names[-1])) >= self.floor:
            names.append(previous_month(names[-1]))
        return names[::-1]

    def month_events(self, name: str) -> list[ContactEvent]:
        """The events of one partition (UTC month), in the order kept."""
        start = month_start(name)
        end = month_start(f"{int(name[:4]) + 1:04d}-01" if name[5:7] == "12" else
                          f"{name[:4]}-{int(name[5:7]) + 1:02d}")
        return self.events[bisect.bisect_left(self._times, micros(start)):
                           bisect.bisect_left(self._times, micros(end))]

    def covers(self, since: datetime | None) -> bool:
        return self.floor == EVERYTHING or (since is not None and since >= self.floor)

    def select(self, debtor_id: str | None, since: datetime | None = None, until: datetime | None = None, *,
               kinds: Iterable[str] | None = None, contact_id: str | None = None,
               limit: int | None = None) -> list[ContactEvent]:
        """Events (of one debtor, or all; of ``kinds``; of one contact id) with since <= at < until, in time
        order (``limit``: only the newest ``limit`` of them)."""
        start = bisect.bisect_left(self._times, micros(since)) if since is not None else 0
        stop = bisect.bisect_left(self._times, micros(until)) if until is not None else len(self.events)
        found = self.events[start:stop]
        if debtor_id is not None:
            found = [e for e in found if e.debtor_id == debtor_id]
        if contact_id is not None:
            found = [e for e in found if e.contact_id == contact_id]
        if kinds is not None:
            wanted = frozenset(kinds)
            found = [e for e in found if e.kind in wanted]
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found

    def __len__(self) -> int:
        return len(self.events)


def _at(event: ContactEvent) -> datetime:
    return event.at
