"""The contact log as the Ledger shows it: append, query, stream.

``ContactHistory`` is the part of ``Ledger`` that reads and writes the
append-only contact log (a mixin: it uses the ledger's lock, its
``contactlog.ContactLog`` and its ``recent.RecentContacts``). Appends return
after the event's line is fsynced; nothing here ever deletes or rewrites an
event.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Sequence

from firmware_py.ledger import codec, eventcache, recent
from firmware_py.ledger.contactlog import partition_for
from firmware_py.ledger.recent import RecentContacts
from scheduler.model import ContactEvent

log = logging.getLogger("cobrador.ledger.history")


class ContactHistory:
    """Every planned, sent, delivered, failed or uncertain contact and every reply."""

    def append_contact(self, event: ContactEvent) -> ContactEvent:
        """Append one event to the contact log durably; returns it with its id set."""
        if not isinstance(event, ContactEvent):
            raise TypeError(f"append_contact expects ContactEvent, got {type(event).__name__}")
        with self._mutex:
            self._check_open()
            if not event.id:
                event = replace(event, id=uuid.uuid4().hex)
            self._contacts.append(codec.encode(event), event.at)
            if self._recent.loaded:
                self._recent.add(event)
            return event

    def append_contacts(self, events: Iterable[ContactEvent]) -> int:
        """Bulk-load history (one fsync per month partition). Not for live traffic:
        a failure may leave a prefix stored. Returns the number appended."""
        with self._mutex:
            self._check_open()
            items, stored = [], []
            for event in events:
                if not event.id:
                    event = replace(event, id=uuid.uuid4().hex)
                items.append((codec.encode(event), event.at))
                stored.append(event)
            try:
                self._contacts.bulk_append(items)
            except BaseException:
                # a prefix may be stored: the window is read again from the partitions when next needed
                self._recent.loaded = False
                raise
            if self._recent.loaded:
                for event in stored:
                    self._recent.add(event)
            return len(items)

    def contacts(self, *, debtor_id: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, kinds: Iterable[str] | None = None,
                 contact_id: str | None = None, limit: int | None = None) -> tuple[ContactEvent, ...]:
        """Events with since <= at < until (each bound optional), oldest first
        (``limit`` keeps the newest ``limit``). One debtor's history uses the index;
        everyone's recent history (``since`` within the newest months) comes from memory."""
        wanted = frozenset(kinds) if kinds is not None else None
        if debtor_id is None:
            self._ensure_recent(since)
        with self._mutex:
            self._check_open()
            if debtor_id is None and not self._recent.loaded and self._within_newest_month(since):
                pass  # today's events at start-up (the SIM's daily count): one partition, not the whole window
            elif debtor_id is None and self._recent_loaded().covers(since):
                # recent history of everyone: in time order, filtered before decoding
                return tuple(self._recent.select(None, since, until, kinds=wanted, contact_id=contact_id,
                                                 limit=limit))
            found = []
            # one debtor: the index reads only their lines
            docs = self._contacts.docs(debtor_id=debtor_id, since=since, until=until)
            if wanted is not None:  # the kind is read before the whole event is decoded
                docs = (doc for doc in docs if doc.get("kind") in wanted)
            source = self._decode_contacts(docs)
            for event in source:
                if debtor_id is not None and event.debtor_id != debtor_id:
                    continue
                if since is not None and event.at < since:
                    continue
                if until is not None and event.at >= until:
                    continue
                if wanted is not None and event.kind not in wanted:
                    continue
                if contact_id is not None and event.contact_id != contact_id:
                    continue
                found.append(event)
        found.sort(key=lambda e: e.at)
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return tuple(found)

    def _contacts_for_snapshot(self, since: datetime) -> Sequence[ContactEvent]:
        """``contacts(since=since)`` for a snapshot, under the lock: a view of the recent window's rows when it
        covers ``since`` (events built when read), else the events themselves."""
        if self._recent_days:
            self._snapshot_asked = since if self._snapshot_asked is None else min(self._snapshot_asked, since)
        if (self._recent.loaded or not self._within_newest_month(since)) and self._recent_loaded().covers(since):
            self._trim_window(self._recent)
            return self._recent.view(since)
        return self.contacts(since=since)

    # -- the window's oldest days --------------------------------------------------------------------------------
    # ``recent_days`` (Ledger.open): the window keeps the ``recent_months`` months only from the UTC day
    # ``recent_days`` before now (the ledger's clock) on: the days before are dropped, once a day
    # (``RecentContacts.trim``). The oldest ``contacts_since`` the snapshots asked for since the day before is
    # kept too (a clock set back), and a snapshot asking for rows a trim dropped from the window's months loads
    # the window again (``_ensure_recent``): the planner's history never comes from the partitions.
    _recent_days: int | None = None
    _snapshot_asked: datetime | None = None   # the oldest ``contacts_since`` of the snapshots (see _trim_window)
    _trim_day: datetime | None = None         # the day ``recent_days`` before now, when last trimmed

    def _trim_floor(self, keep_from: datetime | None = None) -> datetime | None:
        """The window's first instant: the UTC day ``recent_days`` before now, or the day of ``keep_from`` or of
        the oldest since the snapshots asked for since the last trim, if older; None: whole months."""
        if not self._recent_days:
            return None
        floor = _day(self._clock() - timedelta(days=self._recent_days))
        for since in (keep_from, self._snapshot_asked):
            if since is not None:
                floor = min(floor, _day(since))
        return floor

    def _trim_window(self, window: RecentContacts, keep_from: datetime | None = None, *, new: bool = False) -> None:
        """Drop the window's rows before :meth:`_trim_floor`. Under the lock; does something once a day at
        most (the floor is a day), but for a ``new`` window (just loaded: already cut there, usually)."""
        if not self._recent_days:
            return
        today = _day(self._clock() - timedelta(days=self._recent_days))
        if today == self._trim_day and not new:
            return
        floor = self._trim_floor(keep_from)
        self._trim_day = today
        self._snapshot_asked = None
        window.trim(floor)

    def iter_contacts(self, *, since: datetime | None = None, until: datetime | None = None,
                      kinds: Iterable[str] | None = None) -> Iterator[ContactEvent]:
        """Every event with since <= at < until, oldest first, one month partition in
        memory at a time (exports of the whole history). Each partition is read under
        the lock; events appended to a month not yet reached are included."""
        wanted = frozenset(kinds) if kinds is not None else None
        with self._mutex:
            self._check_open()
            months = self._contacts.months(since, until)
        for month in months:
            with self._mutex:
                self._check_open()
                docs = self._contacts.partition_docs(month)
            events = [e for e in self._decode_contacts(docs)
                      if (since is None or e.at >= since) and (until is None or e.at < until)
                      and (wanted is None or e.kind in wanted)]
            events.sort(key=lambda e: e.at)
            yield from events

    def _within_newest_month(self, since: datetime | None) -> bool:
        """``since`` falls in the newest month partition (or after it): a query from there on reads one
        partition at most, cheaper than loading the whole recent window for it."""
        if since is None:
            return False
        months = self._contacts.months()
        return not months or partition_for(since) >= months[-1]

    def _ensure_recent(self, since: datetime | None, *, snapshot: bool = False) -> None:
        """Load the recent-months window if a query of everyone's history is about to need it, decoding
        it *outside* the lock: seconds for a large log, during which the web page, the modem's events and
        the dispatcher must not wait. The partitions only grow, so what they held when the load began
        (their sizes then: the cut) is read without the lock — caches are made from exactly those bytes
        and saved, also without it — and what was appended meanwhile is read under the lock when the
        window is installed. Called without the lock held (with it held, :meth:`_recent_loaded` loads
        under it instead). ``snapshot``: for a snapshot, which loads the window again when a trim dropped the
        rows it asks for (:meth:`_trim_window`)."""
        while True:
            with self._mutex:
                self._check_open()
                if self._recent.loaded:
                    if not (snapshot and self._recent.trimmed_away(since)):
                        return
                elif self._within_newest_month(since):
                    return
                loading = getattr(self, "_window_loading", None)
                if loading is None:  # this thread loads it; the others wait for it (without the lock)
                    loading = self._window_loading = threading.Event()
                    months = self._contacts.months()
                    cuts = {month: self._contacts.size_of(month) for month in months}
                    read_only = self._read_only
                    keep_from = since if snapshot else None
                    floor = self._trim_floor(keep_from)
                    break
            loading.wait(60)
        try:
            self._load_window(months, cuts, read_only, keep_from=keep_from, floor=floor)
        finally:
            with self._mutex:
                self._window_loading = None
            loading.set()

    def _load_window(self, months: list[str], cuts: dict[str, int], read_only: bool, *,
                     keep_from: datetime | None = None, floor: datetime | None = None) -> None:
        window = RecentContacts(self._recent.months)
        covered: dict[str, int] = {}   # month -> bytes its cache on disk covers
        complete = set(months[:-1]) if not read_only else set()  # the newest month's cache is saved at close
        window.load(months, lambda month, pool: self._read_month(month, pool, end=cuts[month], covered=covered,
                                                                 save=month in complete), floor)
        with self._mutex:
            self._check_open()
            if self._recent.loaded and not (keep_from is not None and self._recent.trimmed_away(keep_from)):
                return  # another thread installed one meanwhile
            self._trim_window(window, keep_from, new=True)
            for month in self._contacts.months():  # appended while the window was read (new months too)
                for event in self._decode_contacts(self._contacts.iter_partition(month, cuts.get(month, 0))):
                    window.add(event)
            for month, size in covered.items():
                self._contacts.note_cache(month, size)
            self._recent = window

    def _recent_loaded(self) -> RecentContacts:
        """The recent-months window, read on first use (keeps opening fast): from each month's events
        cache (``eventcache``) plus the records appended after it, or from the partition. The caches of
        complete months read from their partitions are saved as they are read; the newest month's at close.
        Under the lock: :meth:`_ensure_recent` has usually loaded it already, without the lock."""
        if not self._recent.loaded:
            months = self._contacts.months()
            complete = set(months[:-1]) if not self._read_only else set()
            self._recent.load(months, lambda month, pool: self._read_month(month, pool, save=month in complete),
                              self._trim_floor())
            self._trim_window(self._recent, new=True)
        return self._recent

    def _read_month(self, month: str, pool, *, end: int | None = None, covered: dict[str, int] | None = None,
                    save: bool = False) -> Iterator[ContactEvent | eventcache.Columns]:
        """The events of one month partition (up to byte ``end``): its events cache's rows, when it is made
        from those bytes, plus the records after it — as rows too (``recent.columns_from_docs``) when they are
        plain current records, else decoded one by one. The bytes the cache covers go to ``covered`` when given
        (the caller notes them under the lock), else are noted at once. ``save`` (a complete month): a month
        without a cache of all of it is read whole, and its cache saved (the next start reads no JSON)."""
        start = 0
        limit = self._contacts.size_of(month) if end is None else end
        data = self._contacts.read_cache(month)
        if data is not None:
            try:
                size, fingerprint, columns = eventcache.decode_columns(data, pool.share)
                if size > limit or fingerprint != self._contacts.fingerprint(month, size):
                    raise eventcache.CacheUnreadable("made from other bytes than the partition's")
            except eventcache.CacheUnreadable as exc:
                log.warning("events cache of %s unusable (%s): reading the partition", month, exc)
            else:
                if not save or size == limit:
                    if covered is None:
                        self._contacts.note_cache(month, size)
                    else:
                        covered[month] = size
                    start = size
                    yield columns  # its rows as they are (the window takes them without building events)
                del columns  # (a complete month's cache older than its partition: read whole, saved again)
        rows = recent.columns_from_docs(self._contacts.iter_partition(month, start, end), pool)
        if rows is not None:
            if save and start == 0:
                self._save_cache(month, lambda crc: eventcache.encode_columns(rows, limit, crc), limit,
                                 covered)
            yield rows
            return
        events = list(self._decode_contacts(pool.share_doc(doc)
                                            for doc in self._contacts.iter_partition(month, start, end)))
        if save and start == 0:
            self._save_cache(month, lambda crc: eventcache.encode(sorted(events, key=_at), limit, crc), limit,
                             covered)
        yield from events

    def _save_cache(self, month: str, encode, size: int, covered: dict[str, int] | None) -> None:
        """Write the events cache of ``month``'s first ``size`` bytes (``encode(fingerprint)`` its bytes)."""
        fingerprint = self._contacts.fingerprint(month, size)
        if fingerprint is None:
            return
        try:
            data = encode(fingerprint)
        except ValueError as exc:
            log.warning("events cache of %s not saved: %s", month, exc)
            return
        if self._contacts.write_cache(month, data, size):
            if covered is None:
                self._contacts.note_cache(month, size)
            else:
                covered[month] = size

    def save_event_caches(self, *, skip: Iterable[str] = ()) -> int:
        """Save the events cache of every month of the recent window whose cache does not cover its
        partition (but those in ``skip``); returns how many were written. Never raises for the disk."""
        with self._mutex:
            if self._read_only or not self._recent.loaded:
                return 0
            skipped = set(skip)
            present = set(self._contacts.months())
            written = 0
            for month in self._recent.kept_months():
                if month in skipped or month not in present or self._contacts.cache_is_current(month):
                    continue
                size = self._contacts.size_of(month)
                fingerprint = self._contacts.fingerprint(month, size)
                if fingerprint is None:
                    continue
                try:
                    data = eventcache.encode_columns(self._recent.month_columns(month), size, fingerprint)
                except ValueError as exc:
                    log.warning("events cache of %s not saved: %s", month, exc)
                    continue
                written += self._contacts.write_cache(month, data, size)
            return written

    @staticmethod
    def _decode_contacts(docs: Iterable[dict]) -> Iterator[ContactEvent]:
        for doc in docs:
            try:
                yield codec.decode("contact", doc)
            except ValueError as exc:
                log.error("unreadable contact event skipped: %s", exc)

    @property
    def contact_count(self) -> int:
        """Number of events in the contact log."""
        with self._mutex:
            return self._contacts.count


def _day(at: datetime) -> datetime:
    """The start of ``at``'s UTC day."""
    return at.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def _at(event: ContactEvent) -> datetime:
    return event.at
