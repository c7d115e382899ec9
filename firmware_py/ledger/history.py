"""The contact log as the Ledger shows it: append, query, stream.

``ContactHistory`` is the part of ``Ledger`` that reads and writes the
append-only contact log (a mixin: it uses the ledger's lock, its
``contactlog.ContactLog`` and its ``recent.RecentContacts``). Appends return
after the event's line is fsynced; nothing here ever deletes or rewrites an
event.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Iterable, Iterator

from firmware_py.ledger import codec
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
            self._contacts.bulk_append(items)
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
        with self._mutex:
            self._check_open()
            if debtor_id is None and self._recent_loaded().covers(since):
                # recent history of everyone: in time order, filtered before decoding
                return tuple(self._recent.select(None, since, until, kinds=wanted, contact_id=contact_id,
                                                 limit=limit))
            found = []
            # one debtor: the index reads only their lines
            source = self._decode_contacts(self._contacts.docs(debtor_id=debtor_id, since=since, until=until))
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

    def _recent_loaded(self) -> RecentContacts:
        """The recent-months cache, read from the partitions on first use (keeps opening fast)."""
        if not self._recent.loaded:
            self._recent.load(self._contacts.months(), lambda month, pool: self._decode_contacts(
                pool.share_doc(doc) for doc in self._contacts.iter_partition(month)))
        return self._recent

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
