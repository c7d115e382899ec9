"""The contact events cache (``firmware_py/ledger/eventcache.py``): exact round trip, the ledger's window
read from caches equals the partitions, unusable caches are ignored, and SIGKILLs at random instants
(cache reads and writes, appends, closes) never lose an acknowledged event nor make the window differ."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger, eventcache
from firmware_py.ledger.recent import StringPool
from scheduler.model import CONTACT_CHANNELS, CONTACT_DIRECTIONS, CONTACT_KINDS, ContactEvent

T0 = datetime(2026, 7, 1, tzinfo=timezone.utc)
HELPER = Path(__file__).with_name("ledger_eventcache_helper.py")

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
offsets = st.sampled_from([0, -5 * 3600, 5 * 3600 + 1800, -3 * 3600 - 1800, 14 * 3600, 59])
ids = st.one_of(st.just(""), texts, st.uuids().map(lambda u: u.hex), st.uuids().map(lambda u: u.hex.upper()))


@st.composite
def events(draw):
    micros = draw(st.integers(0, 2 * 365 * 86400 * 10**6))
    tz = timezone(timedelta(seconds=draw(offsets)))
    at = (T0 + timedelta(microseconds=micros)).astimezone(timezone.utc if tz.utcoffset(None) == timedelta(0) else tz)
    return ContactEvent(at=at, debtor_id=draw(texts), kind=draw(st.sampled_from(sorted(CONTACT_KINDS))),
                        channel=draw(st.sampled_from(sorted(CONTACT_CHANNELS))),
                        direction=draw(st.sampled_from(sorted(CONTACT_DIRECTIONS))), phone=draw(texts),
                        contact_id=draw(texts), loan_external_id=draw(texts), text=draw(texts), detail=draw(texts),
                        reference=draw(texts), id=draw(ids))


@settings(max_examples=100, deadline=None)
@given(st.lists(events(), max_size=30), st.integers(0, 1 << 40), st.integers(0, (1 << 32) - 1))
def test_round_trip_is_exact(items, size, fingerprint):
    got_size, got_fingerprint, got = eventcache.decode(eventcache.encode(items, size, fingerprint), StringPool().share)
    assert (got_size, got_fingerprint) == (size, fingerprint)
    assert got == items
    for a, b in zip(got, items):
        assert a.at.utcoffset() == b.at.utcoffset() and a.at.isoformat() == b.at.isoformat()
        assert a.schema_version == b.schema_version


@settings(max_examples=150, deadline=None)
@given(st.lists(events(), min_size=1, max_size=10), st.data())
def test_any_damage_is_refused_never_misread(items, data):
    raw = bytearray(eventcache.encode(items, 1000, 7))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    else:
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    try:
        size, fingerprint, got = eventcache.decode(bytes(raw))
    except eventcache.CacheUnreadable:
        return
    # a change the checksum cannot see is one that changes nothing decoded (e.g. header whitespace)
    assert (size, fingerprint, got) == (1000, 7, items)


@pytest.mark.parametrize("field, value", [("kind", "sentt"), ("channel", "fax"), ("direction", "sideways")])
def test_a_value_the_event_would_refuse_makes_the_cache_unreadable(field, value):
    """Decoding builds the events without their per-event checks, having checked each distinct value once: a
    cache whose checksum is right but whose text says what no event may hold is refused, not decoded."""
    good = contact(1, 0)
    fields = {name: getattr(good, name) for name in ContactEvent.__dataclass_fields__}
    bad = SimpleNamespace(**{**fields, field: value})  # what ContactEvent itself would refuse to hold
    data = eventcache.encode([good, bad], 100, 1)
    with pytest.raises(eventcache.CacheUnreadable, match=value):
        eventcache.decode(data)
    assert eventcache.decode(eventcache.encode([good, good], 100, 1))[2] == [good, good]


def contact(i: int, days: float) -> ContactEvent:
    return ContactEvent(at=T0 + timedelta(days=days), debtor_id=f"d-{i % 5}", kind="sent", phone=f"+5730{i % 5}",
                        contact_id=f"c{i}", text="Su cuota vence hoy")


def window(ledger: Ledger) -> tuple:
    return ledger.contacts(since=T0 + timedelta(days=60))


def partitions(ledger: Ledger) -> tuple:
    return tuple(ledger.iter_contacts(since=T0 + timedelta(days=60)))


def caches(directory: Path) -> list[str]:
    return sorted(p.name for p in (directory / "ledger" / "contacts").glob("*.events"))


def test_window_from_caches_equals_the_partitions_and_appends_after_the_cache_are_read(tmp_path):
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))  # Jul .. Oct
        first = window(ledger)  # fills the window: the complete months' caches are saved at once
        assert first == partitions(ledger)
        assert caches(tmp_path) == ["2026-09.events"]
    assert caches(tmp_path) == ["2026-09.events", "2026-10.events"]  # the newest one at close
    contacts = tmp_path / "ledger" / "contacts"
    saved = {name: (contacts / name).read_bytes() for name in caches(tmp_path)}
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        assert window(ledger) == first
        late = [ledger.append_contact(contact(1000 + i, days)) for i, days in enumerate((75, 95, 108))]
    for name, data in saved.items():  # as a power cut before the close leaves them: older than the partitions
        (contacts / name).write_bytes(data)
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        got = window(ledger)
        assert got == partitions(ledger) and all(e in got for e in late)


def test_a_caches_rows_are_taken_as_they_are_and_what_was_appended_after_it_follows(tmp_path):
    """The window takes a cache's rows without building events; events appended after the cache follow them —
    in time order whether they are later than the cache's last event or (a late report) earlier."""
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))  # Jul .. Oct
        window(ledger)
    contacts = tmp_path / "ledger" / "contacts"
    saved = {name: (contacts / name).read_bytes() for name in caches(tmp_path)}
    for days in ((109.5, 110.0), (100.0, 109.5)):  # after the October cache's last event; then one before it
        with Ledger.open(tmp_path, recent_months=2) as ledger:
            for i, day in enumerate(days):
                ledger.append_contact(contact(2000 + i, day))
        for name, data in saved.items():  # the caches as they were: the appends are after them
            (contacts / name).write_bytes(data)
        with Ledger.open(tmp_path, recent_months=2) as ledger:
            got = window(ledger)
            assert got == partitions(ledger) and [e.at for e in got] == sorted(e.at for e in got)


def test_todays_events_at_start_up_read_one_partition_not_the_window(tmp_path):
    """The appliance counts today's SMS when it starts: that must not wait for the whole recent window to be
    decoded (and its caches written) — the newest partition answers it, exactly as the window would."""
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))  # Jul .. Oct
    since = T0 + timedelta(days=100)  # in October, the newest partition
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        early = ledger.contacts(since=since, kinds=("sent", "reply"))
        assert caches(tmp_path) == []  # the window was not loaded (it saves the complete months' caches)
        assert ledger.contacts(since=T0 + timedelta(days=60)) == partitions(ledger)  # now it is
        assert caches(tmp_path) != []
        assert early == ledger.contacts(since=since, kinds=("sent", "reply")) and early
        assert {e.kind for e in early} <= {"sent", "reply"}


def test_the_window_is_decoded_outside_the_lock_and_keeps_what_was_appended_meanwhile(tmp_path, monkeypatch):
    """Decoding a large recent window takes seconds: appends (the modem's events, the web page) go on
    meanwhile, and the window installed afterwards holds them too."""
    import threading

    with Ledger.open(tmp_path, recent_months=3) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))  # Jul .. Oct
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        reading, appended = threading.Event(), threading.Event()
        read_month = type(ledger)._read_month

        def slow_read_month(self, month, pool, **options):
            reading.set()
            assert appended.wait(10), "an append waited for the window to be decoded"
            yield from read_month(self, month, pool, **options)

        monkeypatch.setattr(type(ledger), "_read_month", slow_read_month)
        got = {}
        reader = threading.Thread(target=lambda: got.setdefault("window", window(ledger)))
        reader.start()
        assert reading.wait(10)
        late = [ledger.append_contact(contact(500 + i, days)) for i, days in enumerate((70, 95, 101))]
        appended.set()
        reader.join(10)
        assert all(event in got["window"] for event in late)
        assert got["window"] == window(ledger) == partitions(ledger)
    assert caches(tmp_path) == ["2026-08.events", "2026-09.events", "2026-10.events"]


def test_unusable_caches_are_ignored(tmp_path, caplog):
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))
        expected = window(ledger)
    contacts = tmp_path / "ledger" / "contacts"
    damaged = bytearray((contacts / "2026-09.events").read_bytes())
    damaged[-5] ^= 0xFF
    (contacts / "2026-09.events").write_bytes(bytes(damaged))
    # a cache made from other bytes: October's cache put in place of... October with other content
    other = tmp_path / "other"
    with Ledger.open(other, recent_months=2) as ledger:
        ledger.append_contacts(contact(i + 7, i * 1.1) for i in range(100))
        window(ledger)
    (contacts / "2026-10.events").write_bytes((other / "ledger" / "contacts" / "2026-10.events").read_bytes())
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        assert window(ledger) == expected == partitions(ledger)
    assert "unusable" in caplog.text
    # a cut partition (an administrator restored an older copy): its cache covers more than it holds
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        window(ledger)
    october = contacts / "2026-10.jsonl"
    lines = october.read_bytes().splitlines(keepends=True)
    october.write_bytes(b"".join(lines[:len(lines) // 2]))
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        assert window(ledger) == partitions(ledger)
        assert len(window(ledger)) < len(expected)


def test_read_only_ledger_uses_caches_and_writes_none(tmp_path):
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        ledger.append_contacts(contact(i, i * 1.1) for i in range(100))
    assert caches(tmp_path) == []
    with Ledger.open(tmp_path, recent_months=2, read_only=True) as ledger:
        expected = window(ledger)
    assert caches(tmp_path) == []
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        assert window(ledger) == expected
    with Ledger.open(tmp_path, recent_months=2, read_only=True) as ledger:
        assert window(ledger) == expected == partitions(ledger)


def _run_and_kill(data_dir: Path, run: int, rng: random.Random) -> list[str]:
    proc = subprocess.Popen([sys.executable, str(HELPER), str(data_dir), str(run), str(rng.randrange(1 << 30))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.strip() == "ready", f"helper did not start: {first!r} {proc.stderr.read()}"
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines = out.splitlines()
    if out and not out.endswith("\n"):
        lines = lines[:-1]
    assert "Traceback" not in err, err
    return [line.split()[1] for line in lines if line.startswith("ack ")]


@pytest.mark.slow
def test_sigkill_while_caches_are_read_and_written_keeps_every_event_and_the_window_exact(tmp_path):
    rng = random.Random(int(os.environ.get("COBRADOR_KILL_SEED", "11")))
    acked: set[str] = set()
    for run in range(25):
        acked.update(_run_and_kill(tmp_path, run, rng))
        with Ledger.open(tmp_path, recent_months=2) as ledger:
            stored = {e.id for e in ledger.iter_contacts()}
            assert acked <= stored
            newest = max(ledger.iter_contacts(), key=lambda e: e.at, default=None)
            if newest is not None:
                for days in (10, 40):
                    since = newest.at - timedelta(days=days)
                    assert ledger.contacts(since=since) == tuple(
                        e for e in ledger.iter_contacts(since=since)), (run, days)
    assert len(acked) > 50
