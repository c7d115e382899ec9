"""The newest contact events, kept in memory as compact columns.

The planner asks for recent history on every tick (caps per day and week,
"no second channel in the same week"); reading and decoding month partitions
each time would cost a partition scan per tick. ``RecentContacts`` keeps the
events of the ``months`` newest months (by partition, i.e. UTC month of
``at``) and answers any query whose ``since`` is not older than ``floor``, the
start of the oldest of those months. Older queries go to the partitions. The
ledger fills it on the first query that needs it and keeps it current with
every append after that. The ledger may also drop the rows before a given day
(:meth:`RecentContacts.trim`: the oldest month's days the planner never reads):
``floor`` rises to that day, and older queries go to the partitions too.

Memory. The appliance keeps 120 days of everyone's history (100,000 events and
more): as ``ContactEvent`` objects that cost ~270 bytes each beyond their shared
strings (the object, its instant, its 32-character id). Here an event is a row
of columns (``rows.py``; the instants sorted: queries bisect them), its strings
in a table of distinct strings (debtor ids and phones through ``sys.intern``,
the same objects as the ledger's debtor records) — about 90 bytes. Events are
built from their rows when a query asks (:meth:`RecentContacts.select`); a
:class:`~firmware_py.ledger.contactsview.ContactsView` (what ``Ledger.snapshot``
hands the planner) shares the rows of its time range with the window, which
copies them before changing them otherwise than by appending.
"""


from __future__ import annotations

import bisect
import itertools
import re
import sys
from array import array
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Callable, Iterable

from firmware_py.ledger.codec import encode_contact
from firmware_py.ledger.contactlog import partition_for
from firmware_py.ledger.contactsview import ContactsView
from firmware_py.ledger.eventcache import FIELDS, HEX_ID, Columns, check_values
from firmware_py.ledger.rows import EPOCH, MICROSECOND, NO_RAW_ID, SHARED_FIELDS, Rows, matching_rows, micros, raw_id
from scheduler.model import SCHEMA_VERSION, ContactEvent

EVERYTHING = datetime(1, 1, 1, tzinfo=timezone.utc)
# shared with the whole program (the ledger's debtor records use the same objects)
_INTERNED = frozenset({"debtor_id", "phone"})
_windows = itertools.count(1)


def month_start(name: str) -> datetime:
    year, month = int(name[:4]), int(name[5:7])
    return datetime(year, month, 1, tzinfo=timezone.utc)


def next_month(name: str) -> str:
    year, month = int(name[:4]), int(name[5:7])
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def previous_month(name: str) -> str:
    year, month = int(name[:4]), int(name[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


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


# A stored contact's keys (``codec.encode_contact``), and where each of the window's text fields is among them
_KEYS = tuple(encode_contact(ContactEvent(EPOCH, "", "sent")))
_TEXT_AT = tuple(_KEYS.index(name) for name in FIELDS)
_AT, _ID, _SCHEMA = _KEYS.index("at"), _KEYS.index("id"), _KEYS.index("schema_version")
_STR, _INT = frozenset({str}), frozenset({int})
_SECOND = timedelta(seconds=1)
_DAY_SECONDS = 86400
_HEX = re.compile("[0-9a-f]*")
_CHUNK = 2048   # documents read into tuples before their columns are made (the transient stays small)


def columns_from_docs(docs: Iterable[object], pool: StringPool) -> Columns | None:
    """The rows of stored contact documents (a partition's, in file order) as :class:`Columns` in the window's
    order (time order, file order among equal instants), their strings shared through ``pool`` — without
    building a ``ContactEvent`` per document, a column at a time. Only for documents ``codec.decode`` takes as
    they are: the current schema version, every field of ``codec.encode_contact`` and no other, the text fields
    and the id strings, an aware instant whose UTC offset is whole seconds (under a day); kind, channel and
    direction checked as ``ContactEvent`` checks them. None as soon as one document is anything else (the
    caller decodes them one by one then, as always: a bad one is logged and skipped)."""
    strings: list[str] = []
    index: dict[str, int] = {}
    times, offsets = array("q"), array("i")
    texts = tuple(array("I") for _ in FIELDS)
    id_refs, ids, schemas = array("I"), bytearray(), array("H")
    interned = [name in _INTERNED for name in FIELDS]
    take = itemgetter(*_KEYS)
    size = len(_KEYS)
    docs = iter(docs)
    while True:
        chunk = []
        try:
            for doc in itertools.islice(docs, _CHUNK):
                if type(doc) is not dict or len(doc) != size:
                    return None
                chunk.append(take(doc))
        except KeyError:  # another field in place of one of ours
            return None
        if not chunk:
            break
        values = list(zip(*chunk))
        del chunk
        versions, instants, idents = values[_SCHEMA], values[_AT], values[_ID]
        if set(map(type, versions)) != _INT or set(versions) != {SCHEMA_VERSION}:
            return None
        if set(map(type, instants)) != _STR or set(map(type, idents)) != _STR:
            return None
        try:
            instants = list(map(datetime.fromisoformat, instants))
        except ValueError:
            return None
        zones: dict[timedelta, int] = {}
        for offset in set(instant.utcoffset() for instant in instants):
            if offset is None:
                return None
            seconds = offset // _SECOND
            if _SECOND * seconds != offset or not -_DAY_SECONDS < seconds < _DAY_SECONDS:
                return None
            zones[offset] = seconds
        times.extend([(instant - EPOCH) // MICROSECOND for instant in instants])
        offsets.extend([zones[instant.utcoffset()] for instant in instants])
        schemas.extend(versions)
        for column, at, shared in zip(texts, _TEXT_AT, interned):
            found = values[at]
            if set(map(type, found)) != _STR:
                return None
            for value in dict.fromkeys(found):
                if value not in index:
                    index[value] = len(strings)
                    strings.append(pool.share(value, shared))
            column.extend(map(index.__getitem__, found))
        joined = "".join(idents)
        if set(map(len, idents)) == {32} and _HEX.fullmatch(joined):  # all uuid4().hex: 16 bytes each
            id_refs.extend([HEX_ID] * len(idents))
            ids += bytes.fromhex(joined)
        else:
            for ident in idents:
                raw = raw_id(ident)
                if raw is None:
                    if ident not in index:
                        index[ident] = len(strings)
                        strings.append(ident)
                    id_refs.append(index[ident])
                    ids += NO_RAW_ID
                else:
                    id_refs.append(HEX_ID)
                    ids += raw
    try:
        check_values(strings, texts, offsets, schemas)
    except ValueError:
        return None
    order = sorted(range(len(times)), key=times.__getitem__)  # stable: file order among equal instants
    if any(i != at for i, at in enumerate(order)):
        pick = itemgetter(*order) if len(order) > 1 else None
        times, offsets = array("q", pick(times)), array("i", pick(offsets))
        texts = tuple(array("I", pick(column)) for column in texts)
        id_refs, schemas = array("I", pick(id_refs)), array("H", pick(schemas))
        ids = bytearray().join([ids[16 * i:16 * i + 16] for i in order])
    return Columns(strings, times, offsets, texts, id_refs, bytes(ids), schemas)


class RecentContacts:
    """Events with ``at >= floor`` (see module docstring); not thread-safe (the ledger locks)."""

    def __init__(self, months: int = 2):
        self.months = max(1, months)
        self.floor: datetime = EVERYTHING
        self.month_floor: datetime = EVERYTHING  # the floor the months alone give (``floor`` without trims)
        self.newest: str = ""
        self.loaded = False
        self.uid = next(_windows)  # tells this window's serials from another's
        self._rows = Rows()
        self._strings: list[str] = []
        self._index: dict[str, int] = {}  # string -> reference, for the strings of appended events
        self._serial = 0
        self._shared = False  # a view holds self._rows

    @property
    def _times(self) -> array:
        return self._rows.times

    def load(self, names: list[str], read: Callable[[str, StringPool], Iterable[ContactEvent]],
             floor: datetime | None = None) -> None:
        """Fill from the newest ``months`` partitions (``names`` oldest first); ``read(name, pool)`` yields the
        partition's events — or :class:`~firmware_py.ledger.eventcache.Columns` (its events cache's, its records
        read straight into rows), then the events appended after them —, their strings shared through ``pool``
        (``StringPool.share``/``share_doc``). ``floor``: keep only the events from then on (as :meth:`trim`
        would after loading; a month wholly before it is not read)."""
        self.floor = EVERYTHING
        self.newest = names[-1] if names else ""
        pool = StringPool()
        keep = names[-self.months:]
        if len(names) > len(keep):
            self.floor = month_start(keep[0])
        self.month_floor = self.floor
        if floor is not None and floor > self.floor:
            self.floor = floor
        cut = None if self.floor == EVERYTHING else micros(self.floor)
        self._rows, self._strings, self._index, self._serial, self._shared = Rows(), [], {}, 0, False
        for name in keep:  # a month's events at a time: the months do not overlap in time
            if cut is not None and micros(month_start(next_month(name))) <= cut:
                continue  # wholly before the floor
            items = list(read(name, pool))
            cached = [item for item in items if isinstance(item, Columns)]
            events = [item for item in items if not isinstance(item, Columns)]
            events.sort(key=_at)
            blocks = [block for block in cached if len(block)]
            if all(later.times[0] >= earlier.times[-1] for earlier, later in zip(blocks, blocks[1:])) and (
                    not events or not blocks or micros(events[0].at) >= blocks[-1].times[-1]):
                for block in blocks:  # a cache's rows, in order, before what was appended after it
                    self._append_columns(block, cut)
            else:  # (a report appended after the cache and stamped before its last event: sort them all)
                events = [event for block in cached for event in block.events()] + events
                events.sort(key=_at)
            for event in events:
                if cut is None or event.at >= self.floor:
                    self._append_row(event)
        # the pool's and the index's dicts cost ~50 bytes per distinct string: keep one only for what is
        # appended from now on
        self._index = {}
        self.loaded = True

    def _append_columns(self, block: Columns, cut: int | None = None) -> None:
        """Append a cache's rows (in the window's order already) as they are, their strings referenced anew
        (``cut``: only the rows from that instant on, in UTC microseconds, and only their strings)."""
        start = 0 if cut is None else bisect.bisect_left(block.times, cut)
        rows, count = self._rows, len(block) - start
        if count <= 0:
            return
        if start == 0:
            remap = [self._ref(value, False) for value in block.strings]  # shared (interned) by the reader
            texts, id_refs = block.texts, block.id_refs
        else:
            texts = [column[start:] for column in block.texts]
            id_refs = block.id_refs[start:]
            used = sorted(set().union(*map(set, texts), set(id_refs) - {HEX_ID}))
            remap = dict(zip(used, (self._ref(block.strings[ref], False) for ref in used)))
        rows.times.extend(block.times[start:] if start else block.times)
        rows.offsets.extend(block.offsets[start:] if start else block.offsets)
        for column, refs in zip(rows.texts, texts):
            column.extend(map(remap.__getitem__, refs))
        rows.id_refs.extend([ref if ref == HEX_ID else remap[ref] for ref in id_refs])
        rows.raw_ids += block.ids[16 * start:] if start else block.ids
        rows.schemas.extend(block.schemas[start:] if start else block.schemas)
        rows.serials.extend(range(self._serial + 1, self._serial + 1 + count))
        self._serial += count

    def _ref(self, value: str, interned: bool) -> int:
        found = self._index.get(value)
        if found is None:
            found = self._index[value] = len(self._strings)
            self._strings.append(sys.intern(value) if interned else value)
        return found

    def _append_row(self, event: ContactEvent, index: int | None = None) -> None:
        ref = self._ref
        refs = [ref(getattr(event, name), name in _INTERNED) for name in SHARED_FIELDS]
        raw = raw_id(event.id)
        id_ref = HEX_ID if raw is not None else ref(event.id, False)
        offset = event.at.utcoffset()
        self._serial += 1
        self._rows.insert(len(self._rows) if index is None else index, micros(event.at),
                          offset.days * 86400 + offset.seconds, refs, id_ref, raw or NO_RAW_ID,
                          event.schema_version, self._serial)

    def add(self, event: ContactEvent) -> None:
        month = partition_for(event.at)
        if month > self.newest:
            self.newest = month
            oldest_kept = month
            for _ in range(self.months - 1):
                oldest_kept = previous_month(oldest_kept)
            floor = month_start(oldest_kept)
            self.month_floor = max(self.month_floor, floor)
            if floor > self.floor:
                self.floor = floor
                self._own_rows()
                self._rows.delete_before(bisect.bisect_left(self._rows.times, micros(floor)))
                self._compact_strings()
        if event.at >= self.floor:
            at = micros(event.at)
            times = self._rows.times
            if not times or at >= times[-1]:
                self._append_row(event)
            else:  # an event stamped earlier than the newest (a driver's report time): keep the order
                self._own_rows()
                self._append_row(event, bisect.bisect_right(self._rows.times, at))

    def trim(self, before: datetime) -> bool:
        """Drop the rows with ``at < before`` (when that is past ``floor``, which becomes ``before``): queries
        older than that go to the partitions. A month left partly here is no longer one of
        :meth:`kept_months` (its events cache is written from a whole month, before trimming). Returns
        whether anything changed."""
        if before <= self.floor:
            return False
        self._own_rows()
        self.floor = before
        self._rows.delete_before(bisect.bisect_left(self._rows.times, micros(before)))
        self._compact_strings()
        return True

    def trimmed_away(self, since: datetime | None) -> bool:
        """Whether a query from ``since`` would find here what its months held, but for a :meth:`trim`."""
        return since is not None and self.month_floor <= since < self.floor

    def _compact_strings(self) -> None:
        """Forget the strings only the dropped months used (a new table: views keep the old one)."""
        rows, old = self._rows, self._strings
        used = sorted(set().union(*(set(column) for column in rows.texts),
                                  set(r for r in rows.id_refs if r != HEX_ID)))
        renumber = {ref: new for new, ref in enumerate(used)}
        self._strings = [old[ref] for ref in used]
        rows.texts = tuple(array("I", map(renumber.__getitem__, column)) for column in rows.texts)
        rows.id_refs = array("I", [r if r == HEX_ID else renumber[r] for r in rows.id_refs])
        self._index = {}

    def kept_months(self) -> list[str]:
        """Names of the partitions whose events are all here (oldest first)."""
        if not self.newest:
            return []
        names = [self.newest]
        while len(names) < self.months and month_start(previous_month(names[-1])) >= self.floor:
            names.append(previous_month(names[-1]))
        return names[::-1]

    def _month_span(self, name: str) -> tuple[int, int]:
        start = month_start(name)
        end = month_start(f"{int(name[:4]) + 1:04d}-01" if name[5:7] == "12" else
                          f"{name[:4]}-{int(name[5:7]) + 1:02d}")
        times = self._rows.times
        return bisect.bisect_left(times, micros(start)), bisect.bisect_left(times, micros(end))

    def month_events(self, name: str) -> list[ContactEvent]:
        """The events of one partition (UTC month), in the order kept."""
        return self._rows.events(self._strings, range(*self._month_span(name)))

    def month_columns(self, name: str) -> Columns:
        """The rows of one partition (UTC month), in the order kept, with a string table of their own (what its
        events cache holds: ``eventcache.encode_columns``)."""
        start, stop = self._month_span(name)
        rows = self._rows
        texts = [column[start:stop] for column in rows.texts]
        id_refs = rows.id_refs[start:stop]
        used = sorted(set().union(*(set(column) for column in texts), set(id_refs) - {HEX_ID}))
        renumber = {ref: new for new, ref in enumerate(used)}
        return Columns([self._strings[ref] for ref in used], rows.times[start:stop], rows.offsets[start:stop],
                       tuple(array("I", [renumber[ref] for ref in column]) for column in texts),
                       array("I", [ref if ref == HEX_ID else renumber[ref] for ref in id_refs]),
                       bytes(rows.raw_ids[16 * start:16 * stop]), rows.schemas[start:stop])

    def covers(self, since: datetime | None) -> bool:
        return self.floor == EVERYTHING or (since is not None and since >= self.floor)

    def _span(self, since: datetime | None, until: datetime | None) -> tuple[int, int]:
        times = self._rows.times
        start = bisect.bisect_left(times, micros(since)) if since is not None else 0
        stop = bisect.bisect_left(times, micros(until)) if until is not None else len(times)
        return start, stop

    def select(self, debtor_id: str | None, since: datetime | None = None, until: datetime | None = None, *,
               kinds: Iterable[str] | None = None, contact_id: str | None = None,
               limit: int | None = None) -> list[ContactEvent]:
        """Events (of one debtor, or all; of ``kinds``; of one contact id) with since <= at < until, in time
        order (``limit``: only the newest ``limit`` of them)."""
        start, stop = self._span(since, until)
        rows = matching_rows(self._rows, self._strings, range(start, stop), debtor_id=debtor_id, kinds=kinds,
                         contact_id=contact_id)
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return self._rows.events(self._strings, rows)

    def view(self, since: datetime | None = None, until: datetime | None = None) -> "ContactsView":
        """The events with since <= at < until as an immutable :class:`ContactsView`. The view shares the
        window's rows: appends only add rows after it, and before anything else changes them (a row put
        among the older ones, old months dropped) the window copies its rows first (:meth:`_own_rows`)."""
        start, stop = self._span(since, until)
        self._shared = True
        return ContactsView(self._rows, start, stop, self._strings, self.uid)

    def _own_rows(self) -> None:
        """Copy the rows if a view may hold them (before changing them otherwise than by appending)."""
        if self._shared:
            self._rows = self._rows.sliced(0, len(self._rows))
            self._shared = False

    def __len__(self) -> int:
        return len(self._rows)


def _at(event: ContactEvent) -> datetime:
    return event.at
