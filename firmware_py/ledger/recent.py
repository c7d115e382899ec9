"""The newest contact events, decoded and kept in memory.

The planner asks for recent history on every tick (caps per day and week,
"no second channel in the same week"); reading and decoding month partitions
each time would cost a partition scan per tick. ``RecentContacts`` keeps the
events of the two newest months (by partition, i.e. UTC month of ``at``) and
answers any query whose ``since`` is not older than ``floor``, the start of
the older of those months. Older queries go to the partitions. The ledger
fills it on the first query that needs it (so opening stays fast) and keeps
it current with every append after that.

Memory: about two months of events (a 5,000-member cooperative: ~40k events,
tens of MB); ``months`` can lower it. The events are kept in time order, so a
query for a recent window (today's numbers on the dashboard) finds its slice by
binary search instead of walking two months of events.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from firmware_py.ledger.contactlog import partition_for
from scheduler.model import ContactEvent

EVERYTHING = datetime(1, 1, 1, tzinfo=timezone.utc)


def month_start(name: str) -> datetime:
    year, month = int(name[:4]), int(name[5:7])
    return datetime(year, month, 1, tzinfo=timezone.utc)


def previous_month(name: str) -> str:
    year, month = int(name[:4]), int(name[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


class RecentContacts:
    """Events with ``at >= floor`` (see module docstring); not thread-safe (the ledger locks)."""

    def __init__(self, months: int = 2):
        self.months = max(1, months)
        self.floor: datetime = EVERYTHING
        self.newest: str = ""
        self.events: list[ContactEvent] = []
        self._times: list[datetime] = []  # events[i].at, for bisect
        self.loaded = False

    def load(self, names: list[str], read: Callable[[str], Iterable[ContactEvent]]) -> None:
        """Fill from the newest ``months`` partitions (``names`` oldest first)."""
        self.events = []
        self.floor = EVERYTHING
        self.newest = names[-1] if names else ""
        keep = names[-self.months:]
        if len(names) > len(keep):
            self.floor = month_start(keep[0])
        for name in keep:
            self.events.extend(read(name))
        self.events.sort(key=lambda e: e.at)
        self._times = [e.at for e in self.events]
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
                cut = bisect.bisect_left(self._times, floor)
                del self.events[:cut]
                del self._times[:cut]
        if event.at >= self.floor:
            if not self._times or event.at >= self._times[-1]:
                self.events.append(event)
                self._times.append(event.at)
            else:  # an event stamped earlier than the newest (a driver's report time): keep the order
                index = bisect.bisect_right(self._times, event.at)
                self.events.insert(index, event)
                self._times.insert(index, event.at)

    def covers(self, since: datetime | None) -> bool:
        return self.floor == EVERYTHING or (since is not None and since >= self.floor)

    def select(self, debtor_id: str | None, since: datetime | None = None,
               until: datetime | None = None) -> Iterator[ContactEvent]:
        """Events (of one debtor, or all) with since <= at < until, in time order."""
        start = bisect.bisect_left(self._times, since) if since is not None else 0
        stop = bisect.bisect_left(self._times, until) if until is not None else len(self.events)
        for index in range(start, stop):
            event = self.events[index]
            if debtor_id is None or event.debtor_id == debtor_id:
                yield event

    def __len__(self) -> int:
        return len(self.events)
