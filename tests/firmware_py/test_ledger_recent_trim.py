"""The recent window keeps the days the planner reads, not whole months (``Ledger.open(recent_days=)``,
``RecentContacts.trim``): exactly the events from the UTC day ``recent_days`` before now are in memory, older
ones (the rest of the oldest month) are read from the partitions and equal what they hold, the caches still hold
whole months, the window moves on day by day, and a clock set back never sends the planner to the partitions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from firmware_py.ledger import Ledger
from scheduler.model import ContactEvent

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
HISTORY = timedelta(days=120)
DAYS = 122
START = datetime(2026, 3, 1, tzinfo=timezone.utc)  # nine months of events, one every ~7 hours


def contact(i: int) -> ContactEvent:
    return ContactEvent(at=START + timedelta(hours=7 * i, minutes=i % 50), debtor_id=f"d-{i % 7}", kind="sent",
                        phone=f"+57300{i % 7}", contact_id=f"c{i}", text="Su cuota vence hoy", id=f"{i:032x}")


EVENTS = [contact(i) for i in range(int((NOW - START) / timedelta(hours=7)))]


def day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def build(directory: Path) -> None:
    with Ledger.open(directory, clock=lambda: NOW) as ledger:
        ledger.append_contacts(EVENTS)


def caches(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "ledger" / "contacts").glob("*.events"))


def since_(at: datetime) -> tuple:
    return tuple(e for e in EVENTS if e.at >= at)


def test_the_window_keeps_exactly_the_days_asked_and_older_queries_read_the_partitions(tmp_path):
    build(tmp_path)
    clock = [NOW]
    with Ledger.open(tmp_path, clock=lambda: clock[0], recent_months=5, recent_days=DAYS) as ledger:
        snapshot = ledger.snapshot(contacts_since=NOW - HISTORY)
        assert tuple(snapshot.contacts) == since_(NOW - HISTORY)
        floor = day(NOW - timedelta(days=DAYS))
        window = ledger._recent
        assert window.floor == floor and window.month_floor == datetime(2026, 7, 1, tzinfo=timezone.utc)
        assert len(window) == len(since_(floor))  # nothing older is held
        assert window.kept_months() == ["2026-08", "2026-09", "2026-10", "2026-11"]
        # the oldest month's earlier days, and everything older, from the partitions: exactly as stored
        for at in (floor, floor - timedelta(seconds=1), datetime(2026, 7, 1, tzinfo=timezone.utc),
                   datetime(2026, 5, 10, tzinfo=timezone.utc), None):
            expected = since_(at) if at is not None else tuple(EVENTS)
            assert ledger.contacts(since=at) == expected, at
        assert ledger.contacts(since=floor - timedelta(days=3), until=floor + timedelta(days=2)) == tuple(
            e for e in EVENTS if floor - timedelta(days=3) <= e.at < floor + timedelta(days=2))
    # the caches hold whole months, the trimmed one too (written before the trim); the newest at close
    assert caches(tmp_path) == ["2026-07.events", "2026-08.events", "2026-09.events", "2026-10.events",
                                "2026-11.events"]
    with Ledger.open(tmp_path, clock=lambda: NOW, recent_months=5, recent_days=DAYS) as ledger:
        assert tuple(ledger.snapshot(contacts_since=NOW - HISTORY).contacts) == since_(NOW - HISTORY)
        assert ledger._recent.floor == floor and len(ledger._recent) == len(since_(floor))
        assert ledger.contacts(since=datetime(2026, 7, 1, tzinfo=timezone.utc)) == since_(
            datetime(2026, 7, 1, tzinfo=timezone.utc))


def test_the_window_moves_on_day_by_day_and_views_already_given_do_not_change(tmp_path):
    build(tmp_path)
    clock = [NOW]
    with Ledger.open(tmp_path, clock=lambda: clock[0], recent_months=5, recent_days=DAYS) as ledger:
        before = ledger.snapshot(contacts_since=NOW - HISTORY).contacts
        held = tuple(before)
        clock[0] = NOW + timedelta(hours=10)  # the same UTC day (NOW is 09:30): nothing dropped
        ledger.snapshot(contacts_since=clock[0] - HISTORY)
        assert ledger._recent.floor == day(NOW - timedelta(days=DAYS))
        clock[0] = NOW + timedelta(days=3)
        later = ledger.snapshot(contacts_since=clock[0] - HISTORY).contacts
        # what the snapshots asked for since the last trim is kept (the one ten hours after NOW, here)
        floor = day(min(clock[0] - timedelta(days=DAYS), NOW + timedelta(hours=10) - HISTORY))
        assert ledger._recent.floor == floor and len(ledger._recent) == len(since_(floor))
        assert tuple(later) == since_(clock[0] - HISTORY)
        assert tuple(before) == held  # a view given before the trim still gives what it gave
        clock[0] = NOW + timedelta(days=4)
        ledger.snapshot(contacts_since=clock[0] - HISTORY)
        floor = day(clock[0] - timedelta(days=DAYS))
        assert ledger._recent.floor == floor and len(ledger._recent) == len(since_(floor))
        added = ledger.append_contact(ContactEvent(clock[0], "d-1", "sent", contact_id="new"))
        assert ledger.contacts(since=clock[0] - HISTORY) == since_(clock[0] - HISTORY) + (added,)


def test_a_snapshot_older_than_the_days_kept_is_served_from_memory(tmp_path):
    """A clock set back (or a snapshot asking for more) after a trim: the window is loaded again with those days,
    and the days a snapshot asked for since the day before are not dropped."""
    build(tmp_path)
    clock = [NOW]
    with Ledger.open(tmp_path, clock=lambda: clock[0], recent_months=5, recent_days=DAYS) as ledger:
        ledger.snapshot(contacts_since=NOW - HISTORY)
        trimmed = ledger._recent
        clock[0] = NOW - timedelta(days=10)  # set back: the planner now asks for ten days more
        since = clock[0] - HISTORY
        assert trimmed.trimmed_away(since)
        snapshot = ledger.snapshot(contacts_since=since)
        assert ledger._recent is not trimmed and ledger._recent.covers(since)
        assert type(snapshot.contacts) is not tuple  # a view of the window, not events read from the partitions
        assert tuple(snapshot.contacts) == since_(since)
        clock[0] = NOW + timedelta(days=1)  # the next day's trim keeps what the snapshots asked for since
        ledger.snapshot(contacts_since=since)
        assert ledger._recent.covers(since)
    with Ledger.open(tmp_path, clock=lambda: NOW, recent_months=5, recent_days=DAYS) as ledger:
        asked = NOW - timedelta(days=140)  # a first snapshot asking for more than the days kept: all of it
        assert tuple(ledger.snapshot(contacts_since=asked).contacts) == since_(asked)
        assert ledger._recent.floor == day(asked)


def test_without_recent_days_whole_months_are_kept(tmp_path):
    build(tmp_path)
    with Ledger.open(tmp_path, clock=lambda: NOW, recent_months=5) as ledger:
        ledger.snapshot(contacts_since=NOW - HISTORY)
        first = datetime(2026, 7, 1, tzinfo=timezone.utc)
        assert ledger._recent.floor == first and len(ledger._recent) == len(since_(first))
