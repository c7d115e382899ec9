"""The newest contact events, kept in memory as compact columns.

The planner asks for recent history on every tick (caps per day and week,
"no second channel in the same week"); reading and decoding month partitions
each time would cost a partition scan per tick. ``RecentContacts`` keeps the
events of the ``months`` newest months (by partition, i.e. UTC month of
``at``) and answers any query whose ``since`` is not older than ``floor``, the
start of the oldest of those months. Older queries go to the partitions. The
ledger fills it on the first query that needs it and keeps it current with
every append after that.

Memory. The appliance keeps 120 days of everyone's history (100,000 events and
more): as ``ContactEvent`` objects that cost ~270 bytes each beyond their shared
strings (the object, its instant, its 32-character id). Here an event is a row
of columns — its instant (UTC microseconds, ``array('q')``, sorted: queries
bisect it) and UTC offset, one reference per text field into a table of
distinct strings (debtor ids and phones through ``sys.intern``, the same
objects as the ledger's debtor records), its id (16 raw bytes for a
``uuid4().hex`` id, else a string reference), its schema version and a serial
number — about 90 bytes. Events are built from their rows when a query asks
(:meth:`RecentContacts.select`); a :class:`ContactsView` (what
``Ledger.snapshot`` hands the planner) shares the rows of its time range with
the window (which copies them before changing them otherwise than by
appending), reads what the planner needs of a debtor's events from the rows
(``digest``) and builds one debtor's events at a time, with a token that
changes exactly when that debtor's events do, so a planner that remembers its
decisions need not build the events of debtors it does not decide again.
"""


from __future__ import annotations

import bisect
import functools
import itertools
import sys
from operator import itemgetter
from array import array
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone
from collections.abc import Sequence
from typing import Callable, Iterable, Iterator, Mapping

from firmware_py.ledger.contactlog import partition_for
from firmware_py.ledger.eventcache import HEX_ID, Columns
from scheduler.fastbuild import frozen_builder
from scheduler.contact_state import OUTBOUND_KINDS, STAGE_RANK, Digest
from scheduler.model import ContactEvent

_new_event = frozen_builder(ContactEvent, checked_by_caller=True)
"""``ContactEvent(...)`` without its checks: every row was an event once (checked when it was made)."""

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


class _Rows:
    """Contact events as columns (see the module docstring); ``serials`` number the rows in the order they
    were added to their window (never reused: a row's serial identifies it for as long as the window lives)."""

    __slots__ = ("times", "offsets", "texts", "id_refs", "raw_ids", "schemas", "serials")

    def __init__(self) -> None:
        self.times = array("q")
        self.offsets = array("i")
        self.texts = tuple(array("I") for _ in SHARED_FIELDS)
        self.id_refs = array("I")
        self.raw_ids = bytearray()
        self.schemas = array("H")
        self.serials = array("Q")

    def __len__(self) -> int:
        return len(self.times)

    def sliced(self, start: int, stop: int) -> "_Rows":
        """A copy of rows ``start:stop``."""
        rows = _Rows()
        rows.times, rows.offsets = self.times[start:stop], self.offsets[start:stop]
        rows.texts = tuple(column[start:stop] for column in self.texts)
        rows.id_refs, rows.raw_ids = self.id_refs[start:stop], self.raw_ids[16 * start:16 * stop]
        rows.schemas, rows.serials = self.schemas[start:stop], self.serials[start:stop]
        return rows

    def delete_before(self, stop: int) -> None:
        for column in (self.times, self.offsets, *self.texts, self.id_refs, self.schemas, self.serials):
            del column[:stop]
        del self.raw_ids[:16 * stop]

    def insert(self, index: int, at: int, offset: int, refs: list[int], id_ref: int, raw_id: bytes, schema: int,
               serial: int) -> None:
        """Put a row at ``index`` (``len(self)``: at the end)."""
        if index == len(self.times):
            self.times.append(at)
            self.offsets.append(offset)
            for column, ref in zip(self.texts, refs):
                column.append(ref)
            self.id_refs.append(id_ref)
            self.raw_ids += raw_id
            self.schemas.append(schema)
            self.serials.append(serial)
            return
        self.times.insert(index, at)
        self.offsets.insert(index, offset)
        for column, ref in zip(self.texts, refs):
            column.insert(index, ref)
        self.id_refs.insert(index, id_ref)
        self.raw_ids[16 * index:16 * index] = raw_id
        self.schemas.insert(index, schema)
        self.serials.insert(index, serial)

    def events(self, strings: list[str], rows: Sequence[int]) -> list[ContactEvent]:
        """The events of ``rows`` (indices, in the order given), built a column at a time."""
        count = len(rows)
        if not count:
            return []
        if isinstance(rows, range) and rows.step == 1:
            first, end = rows.start, rows.stop

            def pick(column):
                return column[first:end]
        elif count == 1:
            only = rows[0]

            def pick(column):
                return (column[only],)
        else:
            pick = itemgetter(*rows)
        offsets = pick(self.offsets)
        bases = {offset: _base(offset) for offset in set(offsets)}
        micro = _MICROSECOND
        instants = [bases[offset] + micro * us for offset, us in zip(offsets, pick(self.times))]
        text = strings.__getitem__
        raw = self.raw_ids
        ids = [raw[16 * i:16 * i + 16].hex() if ref == HEX_ID else text(ref)
               for i, ref in zip(rows, pick(self.id_refs))]
        return list(map(_new_event, instants, *[map(text, pick(column)) for column in self.texts], ids,
                        pick(self.schemas)))


@functools.lru_cache(maxsize=64)
def _base(offset: int) -> datetime:
    """The epoch in the UTC offset of ``offset`` seconds (an instant in that offset is this plus its micros)."""
    return _EPOCH.astimezone(timezone.utc if offset == 0 else timezone(timedelta(seconds=offset)))


def _raw_id(ident: str) -> bytes | None:
    """The 16 bytes of a ``uuid4().hex`` id (lowercase hex), ``None`` for any other id (kept as a string)."""
    if len(ident) != 32:
        return None
    try:
        raw = bytes.fromhex(ident)
    except ValueError:
        return None
    return raw if raw.hex() == ident else None


_NO_RAW_ID = bytes(16)
_new_digest = frozen_builder(Digest)
_EMPTY = frozenset({""})
_NO_DIGEST = Digest(frozenset(), False, {}, (), None, tuple, lambda days: ())
_DAY_MICROS = 86_400_000_000
_EPOCH_DAY = date(1970, 1, 1)
_KIND = SHARED_FIELDS.index("kind")
_DEBTOR = SHARED_FIELDS.index("debtor_id")
_CONTACT = SHARED_FIELDS.index("contact_id")
_DIRECTION = SHARED_FIELDS.index("direction")
_CHANNEL_COLUMN = SHARED_FIELDS.index("channel")
_windows = itertools.count(1)


class RecentContacts:
    """Events with ``at >= floor`` (see module docstring); not thread-safe (the ledger locks)."""

    def __init__(self, months: int = 2):
        self.months = max(1, months)
        self.floor: datetime = EVERYTHING
        self.newest: str = ""
        self.loaded = False
        self.uid = next(_windows)  # tells this window's serials from another's
        self._rows = _Rows()
        self._strings: list[str] = []
        self._index: dict[str, int] = {}  # string -> reference, for the strings of appended events
        self._serial = 0
        self._shared = False  # a view holds self._rows

    @property
    def _times(self) -> array:
        return self._rows.times

    def load(self, names: list[str], read: Callable[[str, StringPool], Iterable[ContactEvent]]) -> None:
        """Fill from the newest ``months`` partitions (``names`` oldest first); ``read(name, pool)`` yields the
        partition's events — or its events cache's :class:`~firmware_py.ledger.eventcache.Columns`, then the
        events appended after it —, their strings shared through ``pool`` (``StringPool.share``/``share_doc``)."""
        self.floor = EVERYTHING
        self.newest = names[-1] if names else ""
        pool = StringPool()
        keep = names[-self.months:]
        if len(names) > len(keep):
            self.floor = month_start(keep[0])
        self._rows, self._strings, self._index, self._serial, self._shared = _Rows(), [], {}, 0, False
        for name in keep:  # a month's events at a time: the months do not overlap in time
            items = list(read(name, pool))
            cached = [item for item in items if isinstance(item, Columns)]
            events = [item for item in items if not isinstance(item, Columns)]
            events.sort(key=_at)
            if len(cached) == 1 and (not events or not len(cached[0])
                                     or micros(events[0].at) >= cached[0].times[-1]):
                self._append_columns(cached[0])  # a cache's rows, in order, before what was appended after it
            else:  # (a report appended after the cache and stamped before its last event: sort them all)
                events = [event for block in cached for event in block.events()] + events
                events.sort(key=_at)
            for event in events:
                self._append_row(event)
        # the pool's and the index's dicts cost ~50 bytes per distinct string: keep one only for what is
        # appended from now on
        self._index = {}
        self.loaded = True

    def _append_columns(self, block: Columns) -> None:
        """Append a cache's rows (in the window's order already) as they are, their strings referenced anew."""
        remap = [self._ref(value, False) for value in block.strings]  # shared (interned) by the cache's reader
        rows, count = self._rows, len(block)
        rows.times.extend(block.times)
        rows.offsets.extend(block.offsets)
        for column, refs in zip(rows.texts, block.texts):
            column.extend([remap[ref] for ref in refs])
        rows.id_refs.extend([ref if ref == HEX_ID else remap[ref] for ref in block.id_refs])
        rows.raw_ids += block.ids
        rows.schemas.extend(block.schemas)
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
        raw = _raw_id(event.id)
        id_ref = HEX_ID if raw is not None else ref(event.id, False)
        offset = event.at.utcoffset()
        self._serial += 1
        self._rows.insert(len(self._rows) if index is None else index, micros(event.at),
                          offset.days * 86400 + offset.seconds, refs, id_ref, raw or _NO_RAW_ID,
                          event.schema_version, self._serial)

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

    def _compact_strings(self) -> None:
        """Forget the strings only the dropped months used (a new table: views keep the old one)."""
        rows, old = self._rows, self._strings
        used = sorted(set().union(*(set(column) for column in rows.texts),
                                  set(r for r in rows.id_refs if r != HEX_ID)))
        renumber = {ref: new for new, ref in enumerate(used)}
        self._strings = [old[ref] for ref in used]
        rows.texts = tuple(array("I", [renumber[r] for r in column]) for column in rows.texts)
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
        rows = _matching(self._rows, self._strings, range(start, stop), debtor_id=debtor_id, kinds=kinds,
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


def _matching(rows: _Rows, strings: list[str], span: Iterable[int], *, debtor_id: str | None = None,
              kinds: Iterable[str] | None = None, contact_id: str | None = None) -> list[int]:
    """The row indices of ``span`` whose debtor, kind and contact id are those asked (``None``: any)."""
    found = list(span)
    for column, wanted in ((_DEBTOR, None if debtor_id is None else {debtor_id}),
                           (_CONTACT, None if contact_id is None else {contact_id}),
                           (_KIND, None if kinds is None else set(kinds))):
        if wanted is None or not found:
            continue
        refs = rows.texts[column]
        good = {ref for ref in set(refs[i] for i in found) if strings[ref] in wanted}
        found = [i for i in found if refs[i] in good]
    return found


class _Refs:
    """The string references of a view's rows that stand for the values :meth:`ContactsView.digest` tests (a
    value may have more than one reference: strings appended after the window's load are not looked up)."""

    __slots__ = ("outbound", "inbound", "tried_kinds", "retry", "reply")

    def __init__(self, strings: list[str], rows: _Rows, start: int, stop: int) -> None:
        directions = set(rows.texts[_DIRECTION][start:stop])
        kinds = set(rows.texts[_KIND][start:stop])
        self.outbound = frozenset(r for r in directions if strings[r] == "outbound")
        self.inbound = frozenset(r for r in directions if strings[r] == "inbound")
        self.tried_kinds = frozenset(r for r in kinds if strings[r] in OUTBOUND_KINDS)
        self.retry = frozenset(r for r in kinds if strings[r] == "retry")
        self.reply = frozenset(r for r in kinds if strings[r] == "reply")


class ContactsView(Sequence):
    """An immutable sequence of contact events (a snapshot's ``contacts``): the window's rows
    ``start:stop``, events built when read. ``of(debtor_id)`` gives one debtor's events; ``token(debtor_id)``
    is equal for two views of the same window exactly when that debtor's events in them are the same
    (``()`` when the view holds none of theirs)."""

    def __init__(self, rows: _Rows, start: int, stop: int, strings: list[str], window: int) -> None:
        self._rows, self._start, self._stop = rows, start, stop
        self._strings, self._window = strings, window
        self._grouped: dict[str, list[int]] | None = None
        self._known: _Refs | None = None

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index):
        span = range(self._start, self._stop)
        if isinstance(index, slice):
            return tuple(self._rows.events(self._strings, span[index]))
        if not -len(span) <= index < len(span):
            raise IndexError("contacts view index out of range")
        return self._rows.events(self._strings, (span[index],))[0]

    def __iter__(self) -> Iterator[ContactEvent]:
        step = 4096  # built a batch at a time: iterating needs no list of every event
        for start in range(self._start, self._stop, step):
            yield from self._rows.events(self._strings, range(start, min(start + step, self._stop)))

    def __eq__(self, other) -> bool:
        if isinstance(other, ContactsView):
            return tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ContactsView({len(self)} events)"

    def _groups(self) -> dict[str, list[int]]:
        if self._grouped is None:
            grouped: dict[int, list[int]] = {}
            strings = self._strings
            for i, ref in enumerate(self._rows.texts[_DEBTOR][self._start:self._stop], self._start):
                rows = grouped.get(ref)
                if rows is None:
                    grouped[ref] = [i]
                else:
                    rows.append(i)
            by_debtor: dict[str, list[int]] = {}
            for ref, rows in grouped.items():  # a string appended after the load may have a second reference
                debtor = strings[ref]
                found = by_debtor.get(debtor)
                by_debtor[debtor] = rows if found is None else sorted(found + rows)
            self._grouped = by_debtor
        return self._grouped

    def debtors(self) -> set[str]:
        """The debtors with events here."""
        return set(self._groups())

    def of(self, debtor_id: str) -> tuple[ContactEvent, ...]:
        """The debtor's events, in time order."""
        rows = self._groups().get(debtor_id)
        return tuple(self._rows.events(self._strings, rows)) if rows else ()

    def digest(self, debtor_id: str) -> Digest:
        """The debtor's :class:`~scheduler.contact_state.Digest`, read from the rows: only their replies are
        built (the rest of their events when ``events()`` is called)."""
        rows = self._groups().get(debtor_id)
        if not rows:
            return _NO_DIGEST
        strings, texts, refs = self._strings, self._rows.texts, self._refs()
        times, offsets = self._rows.times, self._rows.offsets
        if len(rows) == 1:
            only = rows[0]

            def pick(column):
                return (column[only],)
        else:
            pick = itemgetter(*rows)
        outbound, tried_kinds, retry, reply, inbound = (refs.outbound, refs.tried_kinds, refs.retry, refs.reply,
                                                        refs.inbound)
        tried_refs: set[int] = set()
        last: dict[int, int] = {}  # channel reference -> the last day (since the epoch, in the event's own offset)
        replies: list[int] = []
        retried = False
        for i, direction, kind, channel, contact, us, offset in zip(
                rows, pick(texts[_DIRECTION]), pick(texts[_KIND]), pick(texts[_CHANNEL_COLUMN]),
                pick(texts[_CONTACT]), pick(times), pick(offsets)):
            if direction in outbound:
                day = (us + offset * 1_000_000) // _DAY_MICROS
                if day > last.get(channel, -1 << 62):
                    last[channel] = day
                if kind in tried_kinds:
                    tried_refs.add(contact)
                    if kind in retry:
                        retried = True
            elif direction in inbound and kind in reply:
                replies.append(i)
        tried = frozenset([strings[ref] for ref in tried_refs]) - _EMPTY
        written: dict[str, date] = {}
        for ref, day in last.items():  # a channel may have more than one reference (appended after the load)
            channel, on = strings[ref], _EPOCH_DAY + timedelta(days=day)
            if on > written.get(channel, date.min):
                written[channel] = on
        newest = max(rows, key=times.__getitem__)
        return _new_digest(tried, retried, written, tuple(self._rows.events(strings, replies)) if replies else (),
                           _base(offsets[newest]) + _MICROSECOND * times[newest],
                           functools.partial(self.of, debtor_id), functools.partial(self._outbound_from, rows))

    def _refs(self) -> "_Refs":
        if self._known is None:
            self._known = _Refs(self._strings, self._rows, self._start, self._stop)
        return self._known

    def _outbound_from(self, rows: list[int], days: Mapping[str, date]) -> list[tuple[datetime, str]]:
        """``(at, channel)`` of the outbound events among ``rows`` written on or after their channel's day in
        ``days`` (see :class:`~scheduler.contact_state.Digest`)."""
        strings, texts = self._strings, self._rows.texts
        directions, channels = texts[_DIRECTION], texts[_CHANNEL_COLUMN]
        times, offsets = self._rows.times, self._rows.offsets
        firsts = {channel: (day - _EPOCH_DAY).days for channel, day in days.items()}
        wanted = []
        for i in rows:
            if strings[directions[i]] == "outbound":
                channel = strings[channels[i]]
                first = firsts.get(channel)
                if first is not None and (times[i] + offsets[i] * 1_000_000) // _DAY_MICROS >= first:
                    wanted.append((_base(offsets[i]) + _MICROSECOND * times[i], channel))
        return wanted

    def in_doubt(self) -> list[ContactEvent]:
        """:func:`scheduler.contact_state.in_doubt` of the view's events, read from the rows (only the
        ``sending`` events it returns are built)."""
        strings, texts, start, stop = self._strings, self._rows.texts, self._start, self._stop
        refs = self._refs()
        outbound = refs.outbound
        ranks = {ref: STAGE_RANK[strings[ref]] for ref in refs.tried_kinds}  # the outbound kinds of contact_state
        sending = {ref for ref in refs.tried_kinds if strings[ref] == "sending"}
        last: dict[str, tuple[int, int, bool]] = {}  # contact -> (instant, rank, sending) of its last event
        last_sending: dict[str, int] = {}            # contact -> row of its last sending event
        for i, direction, kind, contact, us in zip(
                range(start, stop), texts[_DIRECTION][start:stop], texts[_KIND][start:stop],
                texts[_CONTACT][start:stop], self._rows.times[start:stop]):
            if direction not in outbound or kind not in ranks:
                continue
            contact_id = strings[contact]
            if not contact_id:
                continue
            key = (us, ranks[kind], kind in sending)
            found = last.get(contact_id)
            if found is None or key[:2] >= found[:2]:
                last[contact_id] = key
            if key[2]:
                last_sending[contact_id] = i
        rows = [last_sending[contact_id] for contact_id, key in last.items() if key[2]]
        return self._rows.events(strings, rows)

    def token(self, debtor_id: str):
        rows = self._groups().get(debtor_id)
        if not rows:
            return ()  # as a tuple snapshot's token for no events (LedgerSnapshot.contacts_token)
        serials = self._rows.serials
        if len(rows) == 1:
            serial = serials[rows[0]]
            return (self._window, 1, serial, serial)
        return (self._window, len(rows), serials[rows[0]], max(itemgetter(*rows)(serials)))

    def matching(self, *, since: datetime | None = None, until: datetime | None = None,
                 kinds: Iterable[str] | None = None, contact_ids: Iterable[str] | None = None,
                 contact_prefix: str | None = None) -> tuple[ContactEvent, ...]:
        """The events with since <= at < until, of ``kinds``, of ``contact_ids`` and with a contact id that
        starts with ``contact_prefix`` (``None``: any), in time order; only those are built."""
        times, low, high = self._rows.times, self._start, self._stop
        start = bisect.bisect_left(times, micros(since), low, high) if since is not None else low
        stop = bisect.bisect_left(times, micros(until), low, high) if until is not None else high
        rows = _matching(self._rows, self._strings, range(start, stop), kinds=kinds)
        if contact_ids is not None or contact_prefix is not None:
            wanted = None if contact_ids is None else set(contact_ids)
            refs, strings = self._rows.texts[_CONTACT], self._strings
            good = {ref for ref in set(refs[i] for i in rows)
                    if (wanted is None or strings[ref] in wanted)
                    and (contact_prefix is None or strings[ref].startswith(contact_prefix))}
            rows = [i for i in rows if refs[i] in good]
        return tuple(self._rows.events(self._strings, rows))


def _at(event: ContactEvent) -> datetime:
    return event.at
