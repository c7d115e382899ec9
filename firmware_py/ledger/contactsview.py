"""What a snapshot of the ledger holds of the recent contact log: a :class:`ContactsView` of the window's rows.

The view shares the rows of its time range with the window (``recent.py``), which copies them before changing
them otherwise than by appending, so the view never changes. Events are built when read; for each debtor the
view gives what the planner reads of their events without building most of them (``digest``: a
:class:`~scheduler.contact_state.Digest`), a token that changes exactly when their events do, and the contacts
a stop left in doubt (``in_doubt``).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Iterable, Iterator, Mapping

from firmware_py.ledger.rows import (CHANNEL, CONTACT, DEBTOR, DIRECTION, KIND, MICROSECOND, Rows, base,
                                     matching_rows, micros)
from scheduler.contact_state import OUTBOUND_KINDS, STAGE_RANK, Digest
from scheduler.fastbuild import frozen_builder
from scheduler.model import ContactEvent

_new_digest = frozen_builder(Digest)
_EMPTY = frozenset({""})
_NO_DIGEST = Digest(frozenset(), False, {}, (), None, tuple, lambda days: ())
_DAY_MICROS = 86_400_000_000
_EPOCH_DAY = date(1970, 1, 1)


class _Refs:
    """The string references of a view's rows that stand for the values :meth:`ContactsView.digest` tests (a
    value may have more than one reference: strings appended after the window's load are not looked up)."""

    __slots__ = ("outbound", "inbound", "tried_kinds", "retry", "reply")

    def __init__(self, strings: list[str], rows: Rows, start: int, stop: int) -> None:
        directions = set(rows.texts[DIRECTION][start:stop])
        kinds = set(rows.texts[KIND][start:stop])
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

    def __init__(self, rows: Rows, start: int, stop: int, strings: list[str], window: int) -> None:
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
            for i, ref in enumerate(self._rows.texts[DEBTOR][self._start:self._stop], self._start):
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
                rows, pick(texts[DIRECTION]), pick(texts[KIND]), pick(texts[CHANNEL]),
                pick(texts[CONTACT]), pick(times), pick(offsets)):
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
                           base(offsets[newest]) + MICROSECOND * times[newest],
                           functools.partial(self.of, debtor_id), functools.partial(self._outbound_from, rows))

    def _refs(self) -> "_Refs":
        if self._known is None:
            self._known = _Refs(self._strings, self._rows, self._start, self._stop)
        return self._known

    def _outbound_from(self, rows: list[int], days: Mapping[str, date]) -> list[tuple[datetime, str]]:
        """``(at, channel)`` of the outbound events among ``rows`` written on or after their channel's day in
        ``days`` (see :class:`~scheduler.contact_state.Digest`)."""
        strings, texts = self._strings, self._rows.texts
        directions, channels = texts[DIRECTION], texts[CHANNEL]
        times, offsets = self._rows.times, self._rows.offsets
        firsts = {channel: (day - _EPOCH_DAY).days for channel, day in days.items()}
        wanted = []
        for i in rows:
            if strings[directions[i]] == "outbound":
                channel = strings[channels[i]]
                first = firsts.get(channel)
                if first is not None and (times[i] + offsets[i] * 1_000_000) // _DAY_MICROS >= first:
                    wanted.append((base(offsets[i]) + MICROSECOND * times[i], channel))
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
                range(start, stop), texts[DIRECTION][start:stop], texts[KIND][start:stop],
                texts[CONTACT][start:stop], self._rows.times[start:stop]):
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
        rows = matching_rows(self._rows, self._strings, range(start, stop), kinds=kinds)
        if contact_ids is not None or contact_prefix is not None:
            wanted = None if contact_ids is None else set(contact_ids)
            refs, strings = self._rows.texts[CONTACT], self._strings
            good = {ref for ref in set(refs[i] for i in rows)
                    if (wanted is None or strings[ref] in wanted)
                    and (contact_prefix is None or strings[ref].startswith(contact_prefix))}
            rows = [i for i in rows if refs[i] in good]
        return tuple(self._rows.events(self._strings, rows))
