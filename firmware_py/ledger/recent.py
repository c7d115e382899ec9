"""The newest contact events, kept in memory in a compact form.

The planner asks for recent history on every tick (caps per day and week,
"no second channel in the same week"); reading and decoding month partitions
each time would cost a partition scan per tick. ``RecentContacts`` keeps the
events of the ``months`` newest months (by partition, i.e. UTC month of
``at``) and answers any query whose ``since`` is not older than ``floor``, the
start of the oldest of those months. Older queries go to the partitions. The
ledger fills it on the first query that needs it and keeps it current with
every append after that.

Memory: events are NOT held as ``ContactEvent`` objects (about 1 KB each with
their own datetime and strings: 100k events cost over 100 MB). Each event is a
row of parallel columns: its instant (UTC microseconds, ``array('q')``) and
UTC offset, one ``array('I')`` per text field holding an index into a shared
string table (a debtor id, a phone, a kind, a contact id or a message text is
stored once however many events repeat it), and the event id (a ``uuid4().hex``
packed into 16 bytes). About 80 bytes per event plus the distinct strings.
``select`` builds the ``ContactEvent`` of each row it yields (exactly the event
that was stored: same fields, same instant and UTC offset), filtering by
debtor, kind and contact id on the columns first so that rows nobody asked for
are never decoded. The rows are kept in time order, so a window query (today's
numbers on the dashboard) finds its slice by binary search. When months roll
over the oldest rows are cut and the string table is rebuilt from the rows
left (it does not grow forever on a box that runs for years).
"""

from __future__ import annotations

import bisect
import sys
from array import array
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Callable, Iterable, Iterator

from firmware_py.ledger.contactlog import partition_for
from scheduler.model import ContactEvent

EVERYTHING = datetime(1, 1, 1, tzinfo=timezone.utc)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# string fields of ContactEvent, in the order of its constructor after ``at``
_FIELDS = ("debtor_id", "kind", "channel", "direction", "phone", "contact_id", "loan_external_id", "text",
           "detail", "reference")
_DEBTOR, _KIND, _CONTACT = 0, 1, 5
# held once for the whole program (``sys.intern``): the ledger's debtor records use the same objects
_SHARED = frozenset({"debtor_id", "phone"})
_values = attrgetter(*_FIELDS)
_HEX_ID = 0xFFFFFFFF  # in the id column: the id is the 16 bytes of ``_ids`` (a lowercase 32-digit hex id)


def month_start(name: str) -> datetime:
    year, month = int(name[:4]), int(name[5:7])
    return datetime(year, month, 1, tzinfo=timezone.utc)


def previous_month(name: str) -> str:
    year, month = int(name[:4]), int(name[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def micros(at: datetime) -> int:
    """Microseconds since the epoch (UTC) of an aware instant (exact: no floating point)."""
    return (at - _EPOCH) // _MICROSECOND


_ZONES: dict[int, tuple] = {}


def _zone(offset: int) -> tuple:
    """(tzinfo, base) for a UTC offset in seconds: ``base + timedelta(microseconds=us)`` is the instant ``us``
    written in that offset (the tzinfo ``datetime.fromisoformat`` gives: ``timezone.utc`` for +00:00)."""
    found = _ZONES.get(offset)
    if found is None:
        tz = timezone.utc if offset == 0 else timezone(timedelta(seconds=offset))
        found = _ZONES[offset] = (tz, _EPOCH.astimezone(tz))
    return found


def _offset_of(at: datetime) -> int:
    offset = at.utcoffset()
    seconds = offset // timedelta(seconds=1)
    if timedelta(seconds=seconds) != offset:  # sub-second offsets do not exist in practice: keep the instant
        return 0
    return seconds


class RecentContacts:
    """Events with ``at >= floor`` (see module docstring); not thread-safe (the ledger locks)."""

    def __init__(self, months: int = 2):
        self.months = max(1, months)
        self.floor: datetime = EVERYTHING
        self.newest: str = ""
        self.loaded = False
        self._reset()

    def _reset(self) -> None:
        self._strings: list[str] = [""]
        self._index: dict[str, int] = {"": 0}
        self._times = array("q")       # UTC microseconds of ``at``, ascending
        self._offsets = array("i")     # UTC offset (seconds) ``at`` was written with
        self._columns = [array("I") for _ in _FIELDS]
        self._id_refs = array("I")     # string index of the id, or _HEX_ID
        self._ids = bytearray()        # 16 bytes per row (zeros unless _HEX_ID)
        self._schemas = array("H")

    # -- filling -------------------------------------------------------------------------------
    def load(self, names: list[str], read: Callable[[str], Iterable[ContactEvent]]) -> None:
        """Fill from the newest ``months`` partitions (``names`` oldest first)."""
        self._reset()
        self.floor = EVERYTHING
        self.newest = names[-1] if names else ""
        keep = names[-self.months:]
        if len(names) > len(keep):
            self.floor = month_start(keep[0])
        for name in keep:
            for event in read(name):
                self._append_row(event)
        self._sort()
        self.loaded = True

    def _intern(self, value: str) -> int:
        index = self._index.get(value)
        if index is None:
            index = self._index[value] = len(self._strings)
            self._strings.append(value)
        return index

    def _row_values(self, event: ContactEvent) -> tuple:
        intern = self._intern
        refs = tuple(intern(sys.intern(value) if name in _SHARED else value)
                     for name, value in zip(_FIELDS, _values(event)))
        packed = bytes(16)
        ident = event.id
        id_ref = None
        if len(ident) == 32:
            try:
                raw = bytes.fromhex(ident)
            except ValueError:
                raw = None
            if raw is not None and raw.hex() == ident:
                packed, id_ref = raw, _HEX_ID
        if id_ref is None:
            id_ref = intern(ident)
        return micros(event.at), _offset_of(event.at), refs, id_ref, packed, event.schema_version

    def _append_row(self, event: ContactEvent) -> None:
        at, offset, refs, id_ref, packed, schema = self._row_values(event)
        self._times.append(at)
        self._offsets.append(offset)
        for column, ref in zip(self._columns, refs):
            column.append(ref)
        self._id_refs.append(id_ref)
        self._ids += packed
        self._schemas.append(schema)

    def _insert_row(self, index: int, event: ContactEvent) -> None:
        at, offset, refs, id_ref, packed, schema = self._row_values(event)
        self._times.insert(index, at)
        self._offsets.insert(index, offset)
        for column, ref in zip(self._columns, refs):
            column.insert(index, ref)
        self._id_refs.insert(index, id_ref)
        self._ids[16 * index:16 * index] = packed
        self._schemas.insert(index, schema)

    def _sort(self) -> None:
        """Put the rows in time order (stable: events at the same instant keep their file order)."""
        times = self._times
        if all(times[i] <= times[i + 1] for i in range(len(times) - 1)):
            return
        order = sorted(range(len(times)), key=times.__getitem__)
        self._times = array("q", [times[i] for i in order])
        self._offsets = array("i", [self._offsets[i] for i in order])
        self._columns = [array("I", [column[i] for i in order]) for column in self._columns]
        self._id_refs = array("I", [self._id_refs[i] for i in order])
        ids = self._ids
        self._ids = bytearray(b"".join(ids[16 * i:16 * i + 16] for i in order))
        self._schemas = array("H", [self._schemas[i] for i in order])

    def _cut(self, rows: int) -> None:
        """Drop the ``rows`` oldest rows and rebuild the string table from what is left."""
        if rows <= 0:
            return
        del self._times[:rows]
        del self._offsets[:rows]
        for column in self._columns:
            del column[:rows]
        del self._id_refs[:rows]
        del self._ids[:16 * rows]
        del self._schemas[:rows]
        old = self._strings
        self._strings, self._index = [""], {"": 0}
        remap: dict[int, int] = {0: 0}
        for column in (*self._columns, self._id_refs):
            for i, ref in enumerate(column):
                if ref == _HEX_ID:
                    continue
                new = remap.get(ref)
                if new is None:
                    new = remap[ref] = self._intern(old[ref])
                column[i] = new

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
                self._cut(bisect.bisect_left(self._times, micros(floor)))
        if event.at >= self.floor:
            at = micros(event.at)
            if not self._times or at >= self._times[-1]:
                self._append_row(event)
            else:  # an event stamped earlier than the newest (a driver's report time): keep the order
                self._insert_row(bisect.bisect_right(self._times, at), event)

    # -- reading -------------------------------------------------------------------------------
    def covers(self, since: datetime | None) -> bool:
        return self.floor == EVERYTHING or (since is not None and since >= self.floor)

    def select(self, debtor_id: str | None, since: datetime | None = None, until: datetime | None = None, *,
               kinds: Iterable[str] | None = None, contact_id: str | None = None,
               limit: int | None = None) -> Iterator[ContactEvent]:
        """Events (of one debtor, or all; of ``kinds``; of one contact id) with since <= at < until,
        in time order (``limit``: only the newest ``limit`` of them), each decoded as it is yielded."""
        start = bisect.bisect_left(self._times, micros(since)) if since is not None else 0
        stop = bisect.bisect_left(self._times, micros(until)) if until is not None else len(self._times)
        if start >= stop:
            return
        rows: Iterable[int] = range(start, stop)
        index = self._index
        for column, value in ((_DEBTOR, debtor_id), (_CONTACT, contact_id)):
            if value is not None:
                ref = index.get(value)
                if ref is None:
                    return
                values = self._columns[column]
                rows = [i for i in rows if values[i] == ref]
        if kinds is not None:
            refs = {index[k] for k in kinds if k in index}
            if not refs:
                return
            values = self._columns[_KIND]
            rows = [i for i in rows if values[i] in refs]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else ()
        yield from self._events(rows)

    def _events(self, rows: Iterable[int]) -> Iterator[ContactEvent]:
        if isinstance(rows, range):
            def take(column):
                return column[rows.start:rows.stop]
        else:
            def take(column):
                return [column[i] for i in rows]
        text_of = self._strings.__getitem__
        ids = self._ids
        zones: dict[int, datetime] = {}
        event = ContactEvent
        micro = _MICROSECOND
        columns = [map(text_of, take(column)) for column in self._columns]
        for (i, us, offset, ref, schema, debtor, kind, channel, direction, phone, contact, loan, text, detail,
             reference) in zip(rows, take(self._times), take(self._offsets), take(self._id_refs),
                               take(self._schemas), *columns):
            base = zones.get(offset)
            if base is None:
                base = zones[offset] = _zone(offset)[1]
            ident = ids[16 * i:16 * i + 16].hex() if ref == _HEX_ID else text_of(ref)
            yield event(base + micro * us, debtor, kind, channel, direction, phone, contact, loan, text, detail,
                        reference, ident, schema)

    def __len__(self) -> int:
        return len(self._times)
