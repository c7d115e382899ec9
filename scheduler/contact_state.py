"""The life of one contact, read back from its events in the contact log.

A planned contact moves ``sending`` → ``sent`` / ``failed`` / ``uncertain``
(and later ``delivered`` / ``failed`` / ``expired`` from a status report).
``sending`` is written *before* the modem is asked, so after a power cut a
contact whose last event is ``sending`` may or may not have left: it is
*in doubt* and must never be sent again by itself. ``retry`` is written when
the radio certainly sent nothing (no modem, link down before the body was
written): the contact may be sent again.

:func:`outcomes` folds a debtor's events into one :class:`Outcome` per
contact id; :meth:`Outcome.settled` says the planner must never plan it again,
:meth:`Outcome.attempted` that it counts toward the contact caps (it may have
reached the debtor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from scheduler.model import ContactEvent

REACHED = frozenset({"sent", "delivered", "uncertain", "expired"})
"""Kinds that mean the message (or call) may have reached the debtor."""

FINAL_KINDS = frozenset({"sent", "delivered", "failed", "uncertain", "expired"})
OUTBOUND_KINDS = FINAL_KINDS | {"sending", "retry"}


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
        items.sort(key=lambda e: (e.at, _RANK[e.kind]))
        last = items[-1]
        out[contact_id] = Outcome(contact_id, items[0].at, items[0].channel, frozenset(e.kind for e in items),
                                  last.kind, last.at, sum(1 for e in items if e.kind == "retry"))
    return out


# Within the same instant, a later stage wins (sending, then retry or a result, then a report).
_RANK = {"sending": 0, "retry": 1, "sent": 2, "failed": 3, "uncertain": 3, "delivered": 4, "expired": 4}
