"""Matching SMS status reports to sent segments, and aggregating them per message (pure).

A status report carries only the TP-Message-Reference (0-255, wrapping), the
recipient and the service-centre timestamp, so matching by MR alone is wrong
after 256 sends. :class:`ReportTracker` matches on **(MR, recipient, send-time
window)**: the part must have that MR, a recipient equal to the report's
(national and international spellings compare equal), be still waiting for a
final report, and have been sent no longer than ``retention`` seconds ago.
Among several candidates, the one sent closest to the report's service-centre
time wins (the most recent when the report has none).

Part states: ``sent`` → ``pending`` (TP-Status 0x20-0x3F, SC still trying) →
``delivered`` (0x00-0x1F) | ``failed`` (0x40-0x7F and anything else). A part
with no final report ``expiry`` seconds after it was sent becomes ``expired``
on :meth:`ReportTracker.sweep`; a late final report still updates it until
``retention`` has passed.

Message state (:func:`aggregate`): ``failed`` if any part failed, else
``delivered`` if every part was delivered, else ``expired`` if any part
expired, else ``pending`` if any part is pending, else ``sent``.

Time is always passed in (``now``, epoch seconds). The whole state is a
JSON-able dict (:meth:`ReportTracker.to_dict`) the driver saves through its
DriverStore after each change, so a restart still matches reports for
messages sent before it. A report that matches nothing yet (it can overtake
the registration of its MR by a few milliseconds) is buffered for
``unmatched_ttl`` seconds and retried on each registration.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from modem.events import DeliveryUpdate, PartStatus

log = logging.getLogger("cobrador.modem.reports")

SCHEMA_VERSION = 1
TERMINAL_PART_STATES = frozenset({"delivered", "failed"})
FINAL_MESSAGE_STATES = frozenset({"delivered", "failed", "expired"})


def status_class(status: int) -> str:
    """TS 23.040 §9.2.3.15: 0x00-0x1F delivered, 0x20-0x3F pending (SC still trying), else failed."""
    if 0x00 <= status <= 0x1F:
        return "delivered"
    if 0x20 <= status <= 0x3F:
        return "pending"
    return "failed"


def aggregate(part_states: list[str], total: int) -> str:
    """The message state from its parts' states (``total`` = segments the message has)."""
    if any(s == "failed" for s in part_states):
        return "failed"
    if len(part_states) >= total and part_states and all(s == "delivered" for s in part_states):
        return "delivered"
    if any(s == "expired" for s in part_states):
        return "expired"
    if any(s == "pending" for s in part_states):
        return "pending"
    return "sent"


def same_recipient(a: str, b: str) -> bool:
    """True when two spellings name the same subscriber.

    Digits only are compared; "+573001234567" equals "3001234567" (the shorter
    one, at least 7 digits, is a suffix of the other). Short codes and
    alphanumeric addresses must match exactly.
    """
    da = "".join(ch for ch in a if ch.isdigit())
    db = "".join(ch for ch in b if ch.isdigit())
    if not da or not db:
        return a.strip().lower() == b.strip().lower()
    if da == db:
        return True
    n = min(len(da), len(db))
    return n >= 7 and da[-n:] == db[-n:]


@dataclass(frozen=True)
class Report:
    """What the driver extracts from an SMS-STATUS-REPORT."""

    mr: int
    recipient: str
    status: int
    sc_time: float | None = None   # service-centre timestamp, epoch seconds


class ReportTracker:
    """Durable matching state for status reports.

    ``expiry``: seconds without a final report before a part is ``expired``.
    ``retention``: seconds after sending during which a report may still match
    (must be ≥ ``expiry``). ``unmatched_ttl``: how long an unmatched report waits
    for its registration. ``skew``: tolerance for a report stamped slightly
    before the registration time.
    """

    def __init__(self, *, expiry: float = 2 * 86400.0, retention: float | None = None,
                 unmatched_ttl: float = 120.0, skew: float = 5.0, state: dict | None = None):
        self.expiry = float(expiry)
        self.retention = float(retention if retention is not None else 2 * expiry)
        if self.retention < self.expiry:
            raise ValueError("retention must be >= expiry")
        self.unmatched_ttl = float(unmatched_ttl)
        self.skew = float(skew)
        self._messages: dict[str, dict] = {}
        self._unmatched: list[dict] = []
        if state:
            self._load(state)

    # -- persistence -----------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able snapshot of the whole state."""
        return {"schema_version": SCHEMA_VERSION,
                "messages": {mid: {**m, "parts": [dict(p) for p in m["parts"]]} for mid, m in self._messages.items()},
                "unmatched": [dict(u) for u in self._unmatched]}

    def _load(self, state: dict) -> None:
        version = state.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            log.warning("report state schema %s unknown; starting empty", version)
            return
        for mid, m in (state.get("messages") or {}).items():
            try:
                parts = [{"seq": int(p["seq"]), "mr": int(p["mr"]), "sent_at": float(p["sent_at"]),
                          "state": str(p["state"]), "status": p.get("status")} for p in m["parts"]]
                self._messages[str(mid)] = {"number": str(m["number"]), "total": int(m["total"]),
                                            "sent_at": float(m["sent_at"]), "parts": parts}
            except (KeyError, TypeError, ValueError) as exc:
                log.error("dropping unreadable report state for message %s: %s", mid, exc)
        self._unmatched = [u for u in (state.get("unmatched") or []) if isinstance(u, dict)]

    # -- queries -----------------------------------------------------------
    def message_ids(self) -> list[str]:
        return list(self._messages)

    def state_of(self, message_id: str) -> str | None:
        m = self._messages.get(message_id)
        return None if m is None else aggregate([p["state"] for p in m["parts"]], m["total"])

    def parts_of(self, message_id: str) -> tuple[PartStatus, ...]:
        m = self._messages.get(message_id)
        if m is None:
            return ()
        return tuple(PartStatus(p["seq"], p["mr"], p["state"], p["status"]) for p in m["parts"])

    # -- changes -------------------------------------------------------------
    def register(self, message_id: str, number: str, *, sequence: int, total: int, mr: int,
                 now: float) -> list[DeliveryUpdate]:
        """A segment was accepted by the SC with message reference ``mr``.

        Returns the updates caused by buffered reports that now match.
        """
        if not 0 <= mr <= 255:
            raise ValueError(f"message reference out of range: {mr}")
        m = self._messages.setdefault(message_id, {"number": number, "total": int(total), "sent_at": now, "parts": []})
        m["parts"] = [p for p in m["parts"] if p["seq"] != sequence]
        m["parts"].append({"seq": sequence, "mr": mr, "sent_at": now, "state": "sent", "status": None})
        m["parts"].sort(key=lambda p: p["seq"])
        waiting, self._unmatched = self._unmatched, []
        updates: list[DeliveryUpdate] = []
        for u in waiting:
            updates.extend(self.on_report(Report(u["mr"], u["recipient"], u["status"], u.get("sc_time")),
                                          now=u["at"], buffer=True))
        return updates

    def truncate(self, message_id: str, now: float) -> list[DeliveryUpdate]:
        """The send stopped early: the message has only the parts registered so far."""
        m = self._messages.get(message_id)
        if m is None:
            return []
        m["total"] = len(m["parts"])
        if not m["parts"]:
            del self._messages[message_id]
            return []
        return self._emit_and_prune(message_id, now)

    def on_report(self, report: Report, *, now: float, buffer: bool = True) -> list[DeliveryUpdate]:
        """Apply a status report received at ``now``; returns the update (empty if unmatched).

        An unmatched report is buffered (``buffer``) for ``unmatched_ttl`` seconds.
        """
        best: tuple[float, str, dict] | None = None
        for mid, m in self._messages.items():
            if not same_recipient(m["number"], report.recipient):
                continue
            for p in m["parts"]:
                if p["mr"] != report.mr or p["state"] in TERMINAL_PART_STATES:
                    continue
                if not (p["sent_at"] - self.skew <= now <= p["sent_at"] + self.retention):
                    continue
                if report.sc_time is not None:
                    score = abs(p["sent_at"] - report.sc_time)
                else:
                    score = -p["sent_at"]
                if best is None or score < best[0]:
                    best = (score, mid, p)
        if best is None:
            if buffer:
                self._unmatched.append({"mr": report.mr, "recipient": report.recipient, "status": report.status,
                                        "sc_time": report.sc_time, "at": now})
            return []
        _, mid, part = best
        part["status"] = int(report.status)
        part["state"] = status_class(report.status)
        return self._emit_and_prune(mid, now)

    def sweep(self, now: float) -> list[DeliveryUpdate]:
        """Expire parts with no final report after ``expiry``; forget old messages and unmatched reports."""
        updates: list[DeliveryUpdate] = []
        for mid in list(self._messages):
            m = self._messages[mid]
            changed = False
            for p in m["parts"]:
                if p["state"] in ("sent", "pending") and now - p["sent_at"] >= self.expiry:
                    p["state"] = "expired"
                    changed = True
            if changed:
                updates.extend(self._emit_and_prune(mid, now))
            elif mid in self._messages and now - m["sent_at"] > self.retention:
                log.info("forgetting message %s (no report within retention)", mid)
                del self._messages[mid]
        kept = []
        for u in self._unmatched:
            if now - u["at"] <= self.unmatched_ttl:
                kept.append(u)
            else:
                log.warning("status report MR %s for %s matched no sent message", u["mr"], u["recipient"])
        self._unmatched = kept
        return updates

    def _emit_and_prune(self, mid: str, now: float) -> list[DeliveryUpdate]:
        m = self._messages[mid]
        state = aggregate([p["state"] for p in m["parts"]], m["total"])
        update = DeliveryUpdate(message_id=mid, number=m["number"], state=state, parts=self.parts_of(mid),
                                final=state in FINAL_MESSAGE_STATES, at=now)
        if state in ("delivered", "failed"):
            del self._messages[mid]
        return [update]
