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
from itertools import compress
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Iterable, Iterator

from firmware_py.ledger.eventcache import base
from firmware_py.ledger.rows import (CHANNEL, CONTACT, DEBTOR, DIRECTION, KIND, MICROSECOND, Rows,
                                     matching_rows, micros)
from scheduler.contact_state import ATTEMPT_KINDS, OUTBOUND_KINDS, REACHED, STAGE_RANK, Digest
from scheduler.fastbuild import frozen_builder
from scheduler.model import ContactEvent

_new_digest = frozen_builder(Digest)
_EMPTY = frozenset({""})
_NO_DIGEST = Digest(frozenset(), False, {}, (), None, tuple, list)
_NOTHING: frozenset[str] = frozenset()
_NO_ROWS: dict[str, int] = {}
FOLD_ALL_AFTER = 64
"""How many digests a view reads from each debtor's rows before it reads every debtor's at once."""


class _Refs:
    """The string references of a view's rows that stand for the values :meth:`ContactsView.digest` tests (a
    value may have more than one reference: strings appended after the window's load are not looked up)."""

    __slots__ = ("outbound", "inbound", "tried_kinds", "retry", "reply", "ranks", "reached", "attempt_kinds",
                 "sending")

    def __init__(self, strings: list[str], rows: Rows, start: int, stop: int) -> None:
        directions = set(rows.texts[DIRECTION][start:stop])
        kinds = set(rows.texts[KIND][start:stop])
        self.outbound = frozenset(r for r in directions if strings[r] == "outbound")
        self.inbound = frozenset(r for r in directions if strings[r] == "inbound")
        self.tried_kinds = frozenset(r for r in kinds if strings[r] in OUTBOUND_KINDS)
        self.retry = frozenset(r for r in kinds if strings[r] == "retry")
        self.reply = frozenset(r for r in kinds if strings[r] == "reply")
        self.ranks = {r: STAGE_RANK[strings[r]] for r in self.tried_kinds}  # the outbound kinds of contact_state
        self.reached = frozenset(r for r in kinds if strings[r] in REACHED)
        self.attempt_kinds = frozenset(r for r in kinds if strings[r] in ATTEMPT_KINDS)
        self.sending = frozenset(r for r in kinds if strings[r] == "sending")


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
        self._folded: _Folded | None = None
        self._asked = 0

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
        """The debtor's :class:`~scheduler.contact_state.Digest`, read from the rows (their events are built when
        ``events()`` is called).

        The first few are read from each debtor's own rows; past :data:`FOLD_ALL_AFTER` calls (a planner
        deciding for every debtor, not only for those whose events changed), the rows of every debtor are
        read at once, a column at a time."""
        folded = self._folded
        if folded is None:
            self._asked += 1
            if self._asked > FOLD_ALL_AFTER:
                folded = self._folded = _Folded(self, range(self._start, self._stop))
            else:
                rows = self._groups().get(debtor_id)
                if not rows:
                    return _NO_DIGEST
                return _Folded(self, rows).digest(debtor_id)
        return folded.digest(debtor_id)

    def _refs(self) -> "_Refs":
        if self._known is None:
            self._known = _Refs(self._strings, self._rows, self._start, self._stop)
        return self._known

    def _attempts_of(self, debtor_id: str) -> list[tuple[datetime, str]]:
        """:func:`~scheduler.contact_state.attempt_times` of the debtor's events, read from their rows (in time
        order: of two events of one contact at the same instant and stage, the earlier row comes first)."""
        rows = self._groups().get(debtor_id)
        if not rows:
            return []
        strings, texts, times, offsets = self._strings, self._rows.texts, self._rows.times, self._rows.offsets
        directions, kinds, contacts, channels = texts[DIRECTION], texts[KIND], texts[CONTACT], texts[CHANNEL]
        refs = self._refs()
        outbound, ranks, reached, attempt_kinds, sending = (refs.outbound, refs.ranks, refs.reached,
                                                           refs.attempt_kinds, refs.sending)
        first: dict[str, tuple[int, int, int]] = {}  # contact -> (instant, stage, row) of its first event
        last: dict[str, tuple[int, int, int]] = {}   # contact -> (instant, stage, kind) of its last event
        went_out: set[str] = set()                   # contacts with an event of REACHED
        found: list[int] = []                        # rows of the attempts
        for i in rows:
            if directions[i] not in outbound:
                continue
            kind = kinds[i]
            contact = strings[contacts[i]]
            if not contact:
                if kind in attempt_kinds:
                    found.append(i)
                continue
            rank = ranks.get(kind)
            if rank is None:
                continue
            us = times[i]
            earliest = first.get(contact)
            if earliest is None or (us, rank) < earliest[:2]:
                first[contact] = (us, rank, i)
            latest = last.get(contact)
            if latest is None or (us, rank) >= latest[:2]:
                last[contact] = (us, rank, kind)
            if kind in reached:
                went_out.add(contact)
        found.extend(earliest[2] for contact, earliest in first.items()
                     if contact in went_out or last[contact][2] in sending)
        attempts = [(base(offsets[i]) + MICROSECOND * times[i], strings[channels[i]]) for i in found]
        attempts.sort()
        return attempts

    def in_doubt(self) -> list[ContactEvent]:
        """:func:`scheduler.contact_state.in_doubt` of the view's events, read from the rows (only the
        ``sending`` events it returns are built)."""
        strings, texts, start, stop = self._strings, self._rows.texts, self._start, self._stop
        refs = self._refs()
        outbound = refs.outbound
        ranks, sending = refs.ranks, refs.sending
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


class _Folded:
    """What :meth:`ContactsView.digest` reads of ``rows`` (indices of the view's rows, in time order), grouped
    by debtor reference: each one's last row, the last outbound row per channel, the contacts tried, whether
    one was retried, and the replies. Each is worked out a column at a time over all the rows."""

    __slots__ = ("view", "last", "outbound", "tried", "retried", "replies", "refs_of")

    def __init__(self, view: ContactsView, rows: Sequence[int]) -> None:
        self.view = view
        texts, refs, strings = view._rows.texts, view._refs(), view._strings
        debtors, directions, kinds = texts[DEBTOR], texts[DIRECTION], texts[KIND]
        channels, contacts = texts[CHANNEL], texts[CONTACT]
        if isinstance(rows, range):
            span = slice(rows.start, rows.stop)
            own_debtors, own_directions = debtors[span], directions[span]
        elif len(rows) == 1:
            own_debtors, own_directions = (debtors[rows[0]],), (directions[rows[0]],)
        else:
            pick = itemgetter(*rows)
            own_debtors, own_directions = pick(debtors), pick(directions)
        self.last: dict[int, int] = dict(zip(own_debtors, rows))  # the rows are in time order: the latest wins
        outbound_rows = list(compress(rows, map(refs.outbound.__contains__, own_directions)))
        latest = {(debtors[i], channels[i]): i for i in outbound_rows}
        # debtor -> {channel: its last outbound row}, by the channel's text (a value may have two references)
        self.outbound: dict[int, dict[str, int]] = {}
        for (debtor, channel), i in latest.items():
            found = self.outbound.get(debtor)
            channel = strings[channel]
            if found is None:
                self.outbound[debtor] = {channel: i}
            elif i > found.get(channel, -1):
                found[channel] = i
        tried_kinds, retry = refs.tried_kinds, refs.retry
        tried_rows = [i for i in outbound_rows if kinds[i] in tried_kinds]
        grouped: dict[int, set[int]] = {}  # debtor -> the contact references tried
        for debtor, contact in {(debtors[i], contacts[i]) for i in tried_rows}:
            found = grouped.get(debtor)
            if found is None:
                grouped[debtor] = {contact}
            else:
                found.add(contact)
        text = strings.__getitem__
        self.tried: dict[int, frozenset[str]] = {debtor: frozenset(map(text, contacts)) - _EMPTY
                                                 for debtor, contacts in grouped.items()}
        self.retried = {debtors[i] for i in tried_rows if kinds[i] in retry and strings[contacts[i]]}
        inbound, reply = refs.inbound, refs.reply
        self.replies: dict[int, list[int]] = {}
        for i in compress(rows, map(inbound.__contains__, own_directions)):
            if kinds[i] in reply:
                self.replies.setdefault(debtors[i], []).append(i)
        self.refs_of: dict[str, list[int]] = {}  # debtor -> their references (more than one: see _Refs)
        for ref in self.last:
            self.refs_of.setdefault(strings[ref], []).append(ref)

    def digest(self, debtor_id: str) -> Digest:
        refs = self.refs_of.get(debtor_id)
        if refs is None:
            return _NO_DIGEST
        view = self.view
        times, offsets = view._rows.times, view._rows.offsets
        if len(refs) == 1:
            ref = refs[0]
            tried = self.tried.get(ref, _NOTHING)
            replies = self.replies.get(ref)
            retried = ref in self.retried
            newest = self.last[ref]
            last_outbound = self.outbound.get(ref, _NO_ROWS)
        else:
            tried_strings: set[str] = set()
            replies = []
            last_outbound = {}  # channel -> its last outbound row
            newest = -1
            retried = False
            for ref in refs:
                tried_strings.update(self.tried.get(ref, ()))
                replies.extend(self.replies.get(ref, ()))
                retried = retried or ref in self.retried
                newest = max(newest, self.last[ref])
                for channel, i in self.outbound.get(ref, _NO_ROWS).items():
                    if i > last_outbound.get(channel, -1):
                        last_outbound[channel] = i
            replies.sort()
            tried = frozenset(tried_strings)
        return _new_digest(tried, retried,
                           {channel: base(offsets[i]) + MICROSECOND * times[i] for channel, i in last_outbound.items()},
                           tuple([base(offsets[i]) + MICROSECOND * times[i] for i in replies]) if replies else (),
                           base(offsets[newest]) + MICROSECOND * times[newest], functools.partial(view.of, debtor_id),
                           functools.partial(view._attempts_of, debtor_id))
