"""The life of one contact, read back from its events in the contact log.

A planned contact moves ``sending`` → ``sent`` / ``failed`` / ``uncertain``
(and later ``delivered`` / ``failed`` / ``expired`` from a status report).
``sending`` is written *before* the modem is asked, so after a power cut a
contact whose last event is ``sending`` may or may not have left: it is
*in doubt* and must never be sent again by itself. ``retry`` is written when
the radio certainly sent nothing (no modem, link down before the body was
written): the contact may be sent again.

:func:`outcomes` folds a debtor's events into one :class:`Outcome` per
contact id (:func:`in_doubt`: those a stop left ``sending``); :meth:`Outcome.settled` says the planner must
never plan it again,
:meth:`Outcome.attempted` that it counts toward the contact caps (it may have
reached the debtor). :class:`Digest` is what the planner reads of a debtor's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Mapping, Sequence

from scheduler.model import ContactEvent

REACHED = frozenset({"sent", "delivered", "uncertain", "expired"})
"""Kinds that mean the message (or call) may have reached the debtor."""

FINAL_KINDS = frozenset({"sent", "delivered", "failed", "uncertain", "expired"})
OUTBOUND_KINDS = FINAL_KINDS | {"sending", "retry"}
ATTEMPT_KINDS = frozenset({"sending", "sent", "delivered", "uncertain", "expired"})
"""Contact-log kinds that may mean a contact reached the debtor. A contact counts toward caps when
:attr:`Outcome.attempted`: it went out or is in doubt — not one the modem refused before it left
(``failed`` with no ``sent``) nor one the radio never sent (``retry``). An outbound event without a
contact id (an automatic answer, a manual note of a call) counts when its kind is one of these."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one contact: first and last event, every kind seen, how many retries."""

    contact_id: str
    first_at: datetime
    channel: str
    kinds: frozenset[str]
    last_kind: str
    last_at: datetime
    retries: int

    @property
    def attempted(self) -> bool:
        """It may have reached the debtor: it counts toward caps."""
        return bool(self.kinds & REACHED) or self.last_kind == "sending"

    @property
    def settled(self) -> bool:
        """Never plan it again: it went out, failed for good, or is in doubt.

        Only a contact whose every attempt certainly sent nothing (its last event is ``retry`` and
        no result was ever recorded) may be planned again: a ``retry`` recorded after a result —
        impossible from the dispatcher, but possible in a log edited or merged by hand — never
        reopens a contact that may have reached the debtor.
        """
        return self.last_kind != "retry" or bool(self.kinds & FINAL_KINDS)

    @property
    def in_doubt(self) -> bool:
        """``sending`` with nothing after it: a power cut or a crash in the middle of a send."""
        return self.last_kind == "sending"


def outcomes(events: Iterable[ContactEvent]) -> dict[str, Outcome]:
    """One :class:`Outcome` per contact id among the outbound events (in any order)."""
    grouped: dict[str, list[ContactEvent]] = {}
    for event in events:
        if event.contact_id and event.direction == "outbound" and event.kind in OUTBOUND_KINDS:
            grouped.setdefault(event.contact_id, []).append(event)
    out = {}
    for contact_id, items in grouped.items():
        items.sort(key=lambda e: (e.at, STAGE_RANK[e.kind]))
        last = items[-1]
        out[contact_id] = Outcome(contact_id, items[0].at, items[0].channel, frozenset(e.kind for e in items),
                                  last.kind, last.at, sum(1 for e in items if e.kind == "retry"))
    return out


def attempt_times(events: Iterable[ContactEvent], known: Mapping[str, Outcome] | None = None) -> list[tuple[datetime, str]]:
    """``(at, channel)`` of the debtor's attempts, sorted: one per contact :attr:`Outcome.attempted` (its
    first event's), one per outbound event without a contact id of :data:`ATTEMPT_KINDS`. ``known``:
    ``outcomes(events)``, when the caller already has it."""
    events = list(events)
    found = [(o.first_at, o.channel) for o in (outcomes(events) if known is None else known).values() if o.attempted]
    found.extend((e.at, e.channel) for e in events
                 if not e.contact_id and e.direction == "outbound" and e.kind in ATTEMPT_KINDS)
    found.sort()
    return found


def in_doubt(events: Iterable[ContactEvent]) -> list[ContactEvent]:
    """The contacts in doubt among ``events`` (in time order): for each contact whose last event is
    ``sending`` (:attr:`Outcome.in_doubt`), its last ``sending`` event — in the order the contacts first
    appear."""
    events = list(events)
    sending = {e.contact_id: e for e in events if e.kind == "sending"}
    return [sending[contact_id] for contact_id, outcome in outcomes(events).items() if outcome.in_doubt]


# Within the same instant, a later stage wins (sending, then retry or a result, then a report): an outbound
# kind's place among the events of one contact.
STAGE_RANK = {"sending": 0, "retry": 1, "sent": 2, "failed": 3, "uncertain": 3, "delivered": 4, "expired": 4}


@dataclass(frozen=True, slots=True)
class Digest:
    """What the planner reads of one debtor's contact events for every debtor; the events themselves
    (``events()``, built when called) it reads only for a few (a retry to fold, a cap that may count a
    recent attempt, a step that waits for a reply).

    - ``tried``: the contact ids with an outbound event of :data:`OUTBOUND_KINDS` — every one of them is
      settled unless ``retried`` (then :func:`outcomes` decides);
    - ``last_outbound``: per channel, the latest instant of an outbound event (no attempt on that channel
      is later: in any zone, no attempt falls on a later local day);
    - ``replies``: the instants of the inbound replies, in the events' order;
    - ``latest``: the latest instant among the events (``None``: no events);
    - ``attempts()``: :func:`attempt_times` of the events in time order (worked out when called).

    :meth:`of` makes one from the events; a ledger snapshot's view of its recent window makes the same
    from its rows without building the events (a property test holds them equal)."""

    tried: frozenset[str]
    retried: bool
    last_outbound: dict[str, datetime]
    replies: tuple[datetime, ...]
    latest: datetime | None
    events: Callable[[], Sequence[ContactEvent]]
    attempts: Callable[[], list[tuple[datetime, str]]]

    @classmethod
    def of(cls, events: Sequence[ContactEvent]) -> "Digest":
        tried: set[str] = set()
        last_outbound: dict[str, datetime] = {}
        replies = []
        retried = False
        latest = None
        for event in events:
            at = event.at
            if latest is None or at > latest:
                latest = at
            if event.direction == "outbound":
                channel = event.channel
                last = last_outbound.get(channel)
                if last is None or at > last:
                    last_outbound[channel] = at
                if event.contact_id and event.kind in OUTBOUND_KINDS:
                    tried.add(event.contact_id)
                    if event.kind == "retry":
                        retried = True
            elif event.kind == "reply" and event.direction == "inbound":
                replies.append(at)
        return cls(frozenset(tried), retried, last_outbound, tuple(replies), latest, lambda: events,
                   lambda: attempt_times(sorted(events, key=_at)))

    def facts(self) -> tuple:
        """Everything but ``events`` (what two digests of the same events share)."""
        return self.tried, self.retried, self.last_outbound, self.replies, self.latest


def _at(event: ContactEvent) -> datetime:
    return event.at
