"""Reassembly of concatenated (multipart) incoming SMS (pure, durable as a dict).

Parts are grouped by **(sender, reference, total)** — the concatenation
reference alone is only 8 (or 16) bits and is chosen per sender. Parts may
arrive in any order and more than once (a stored part is re-read by the SIM
sweep after a restart): a repeated sequence number replaces the earlier copy
and keeps the SIM index set. A group is complete when every sequence 1..total
is present; :meth:`Reassembler.add` then returns the whole message.
:meth:`Reassembler.sweep` gives up on groups older than ``timeout`` and returns
what arrived, marked incomplete, so nothing received is ever withheld for good.

Each part records where it lives (``sim_index`` for messages stored on the
SIM, ``None`` for ``+CMT`` inline deliveries), so the consumer's ack can
delete every part. Time is passed in (``now``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("cobrador.modem.reassembly")

SCHEMA_VERSION = 1
MISSING_PART_MARK = "[…]"   # placed where a missing part's text would be in an incomplete message


@dataclass(frozen=True)
class Assembled:
    """A reassembled message: ``complete`` False when parts were missing at timeout."""

    sender: str
    reference: int
    total: int
    text: str
    timestamp: datetime | None
    sequences: tuple[int, ...]
    sim_indexes: tuple[int, ...]
    complete: bool
    tokens: tuple[str, ...] = ()     # opaque per-part tokens given to add() (e.g. inline-inbox keys)

    @property
    def key(self) -> str:
        return group_key(self.sender, self.reference, self.total)


def group_key(sender: str, reference: int, total: int) -> str:
    return f"{sender}|{reference}|{total}"


class Reassembler:
    """Holds partial groups; ``timeout`` seconds after a group's first part it is delivered incomplete."""

    def __init__(self, *, timeout: float = 24 * 3600.0, state: dict | None = None):
        self.timeout = float(timeout)
        self._groups: dict[str, dict] = {}
        if state:
            self._load(state)

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION,
                "groups": {k: {**g, "parts": {str(s): dict(p) for s, p in g["parts"].items()}}
                           for k, g in self._groups.items()}}

    def _load(self, state: dict) -> None:
        if state.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            log.warning("reassembly state schema unknown; starting empty")
            return
        for key, g in (state.get("groups") or {}).items():
            try:
                parts = {str(int(s)): {"text": str(p["text"]), "sim_index": p.get("sim_index"),
                                       "token": p.get("token"), "timestamp": p.get("timestamp")}
                         for s, p in g["parts"].items()}
                self._groups[key] = {"sender": str(g["sender"]), "reference": int(g["reference"]),
                                     "total": int(g["total"]), "first_seen": float(g["first_seen"]),
                                     "parts": parts}
            except (KeyError, TypeError, ValueError) as exc:
                log.error("dropping unreadable reassembly group %s: %s", key, exc)

    def __len__(self) -> int:
        return len(self._groups)

    def pending_keys(self) -> list[str]:
        return list(self._groups)

    def known_sim_indexes(self) -> set[int]:
        """SIM indexes of parts currently held (the SIM sweep must not re-add them as new)."""
        return {p["sim_index"] for g in self._groups.values() for p in g["parts"].values()
                if p["sim_index"] is not None}

    def add(self, *, sender: str, reference: int, total: int, sequence: int, text: str,
            timestamp: datetime | None, sim_index: int | None, now: float,
            token: str | None = None) -> Assembled | None:
        """Add one part; returns the assembled message when the group is complete, else None.

        Raises ``ValueError`` for an impossible part (total < 1, sequence outside 1..total);
        the caller hands such a part over on its own.
        """
        if total < 1 or not 1 <= sequence <= total:
            raise ValueError(f"bad concatenation info: part {sequence} of {total}")
        key = group_key(sender, reference, total)
        group = self._groups.setdefault(key, {"sender": sender, "reference": int(reference), "total": int(total),
                                              "first_seen": now, "parts": {}})
        previous = group["parts"].get(str(sequence))
        if previous is not None and sim_index is None:
            sim_index = previous["sim_index"]
        if previous is not None and token is None:
            token = previous.get("token")
        group["parts"][str(sequence)] = {"text": text, "sim_index": sim_index, "token": token,
                                         "timestamp": timestamp.isoformat() if timestamp else None}
        if len(group["parts"]) == total:
            del self._groups[key]
            return _assemble(group, complete=True)
        return None

    def sweep(self, now: float) -> list[Assembled]:
        """Deliver (incomplete) every group whose first part is older than ``timeout``."""
        out = []
        for key in list(self._groups):
            group = self._groups[key]
            if now - group["first_seen"] >= self.timeout:
                del self._groups[key]
                log.warning("multipart from %s ref %s: %d of %d parts after timeout, delivering incomplete",
                            group["sender"], group["reference"], len(group["parts"]), group["total"])
                out.append(_assemble(group, complete=False))
        return out


def _assemble(group: dict, *, complete: bool) -> Assembled:
    seqs = sorted(int(s) for s in group["parts"])
    pieces = []
    for n in range(1, group["total"] + 1):
        part = group["parts"].get(str(n))
        if part is not None:
            pieces.append(part["text"])
        elif not complete:
            pieces.append(MISSING_PART_MARK)
    stamps = [group["parts"][str(s)]["timestamp"] for s in seqs if group["parts"][str(s)]["timestamp"]]
    try:
        timestamp = min((datetime.fromisoformat(s) for s in stamps), default=None)
    except (TypeError, ValueError):   # mixed naive/aware stamps: keep the first part's
        timestamp = datetime.fromisoformat(stamps[0]) if stamps else None
    indexes = tuple(sorted(group["parts"][str(s)]["sim_index"] for s in seqs
                           if group["parts"][str(s)]["sim_index"] is not None))
    tokens = tuple(group["parts"][str(s)].get("token") for s in seqs if group["parts"][str(s)].get("token"))
    return Assembled(sender=group["sender"], reference=group["reference"], total=group["total"],
                     text="".join(pieces), timestamp=timestamp, sequences=tuple(seqs), sim_indexes=indexes,
                     complete=complete, tokens=tokens)
