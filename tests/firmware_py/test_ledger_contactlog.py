"""The contact log: monthly append-only partitions, torn lines, the per-debtor index."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger
from firmware_py.ledger.contactlog import partition_for
from firmware_py.ledger.journal import encode_line
from ledger_factories import T0, contact

BOGOTA = timezone(timedelta(hours=-5))


def test_partition_is_the_utc_month():
    assert partition_for(datetime(2026, 11, 30, 20, 0, tzinfo=BOGOTA)) == "2026-12"
    assert partition_for(datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)) == "2026-01"


def test_events_land_in_monthly_files_and_are_never_rewritten(tmp_path):
    with Ledger.open(tmp_path) as ledger:
        first = ledger.append_contact(contact("d-a", T0))
        ledger.append_contact(contact("d-a", T0 + timedelta(days=40)))
        directory = tmp_path / "ledger" / "contacts"
        november = (directory / "2026-11.jsonl").read_bytes()
        ledger.append_contact(contact("d-b", T0 + timedelta(days=1)))
        assert (directory / "2026-11.jsonl").read_bytes().startswith(november)  # append only
        assert sorted(p.name for p in directory.iterdir()) == ["2026-11.jsonl", "2026-12.jsonl"]
        assert first.id in november.decode()


def test_torn_last_line_is_cut_and_appending_continues(tmp_path):
    with Ledger.open(tmp_path) as ledger:
        kept = [ledger.append_contact(contact("d-a", T0 + timedelta(hours=i))) for i in range(3)]
    partition = tmp_path / "ledger" / "contacts" / "2026-11.jsonl"
    with partition.open("ab") as fh:
        fh.write(encode_line({"debtor_id": "d-a", "kind": "sent"})[:25])  # power cut mid-append
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="d-a") == tuple(kept)
        kept.append(ledger.append_contact(contact("d-a", T0 + timedelta(hours=5))))
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="d-a") == tuple(kept)
        assert ledger.stats()["damaged_lines"] == 0


def test_damaged_middle_line_is_skipped_and_counted(tmp_path):
    with Ledger.open(tmp_path) as ledger:
        events = [ledger.append_contact(contact("d-a", T0 + timedelta(hours=i))) for i in range(3)]
    partition = tmp_path / "ledger" / "contacts" / "2026-11.jsonl"
    lines = partition.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"sent", b"sEnt")
    partition.write_bytes(b"".join(lines))
    with Ledger.open(tmp_path) as ledger:  # the saved index still points at it: the read skips it
        assert ledger.contacts(debtor_id="d-a") == (events[0], events[2])
        assert ledger.contacts() == (events[0], events[2])
    (tmp_path / "ledger" / "contacts" / "2026-11.idx").unlink()
    with Ledger.open(tmp_path) as ledger:  # a rescan finds and counts it
        assert ledger.contacts(debtor_id="d-a") == (events[0], events[2])
        assert ledger.stats()["damaged_lines"] == 1


def test_saved_indexes_cover_a_prefix_and_are_only_a_cache(tmp_path):
    directory = tmp_path / "ledger" / "contacts"
    with Ledger.open(tmp_path) as ledger:
        first = [ledger.append_contact(contact("d-a", T0 + timedelta(days=i * 20))) for i in range(4)]
    assert sorted(p.name for p in directory.glob("*.idx")) == ["2026-11.idx", "2026-12.idx"]
    saved = (directory / "2026-12.idx").read_bytes()
    with Ledger.open(tmp_path) as ledger:
        more = ledger.append_contact(contact("d-a", T0 + timedelta(days=45)))
    # as after a power cut: the index on disk covers only the start of the partition
    (directory / "2026-12.idx").write_bytes(saved)
    expected = tuple(sorted(first + [more], key=lambda e: e.at))
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="d-a") == expected
    (directory / "2026-12.idx").write_bytes(b"damaged")
    (directory / "2026-11.idx").unlink()
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="d-a") == expected and ledger.contact_count == 5


def test_bulk_history_load_is_indexed_like_single_appends(tmp_path):
    events = [contact(f"d-{i % 5}", T0 + timedelta(days=i * 3)) for i in range(60)]
    with Ledger.open(tmp_path) as ledger:
        assert ledger.append_contacts(events) == 60
        loaded = ledger.contacts()
        assert len(loaded) == 60 and all(e.id for e in loaded)
        by_debtor = ledger.contacts(debtor_id="d-3")
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="d-3") == by_debtor
        assert ledger.contact_count == 60


events_strategy = st.lists(
    st.tuples(st.sampled_from(["d-1", "d-2", "d-3"]), st.integers(0, 400 * 24), st.sampled_from(["sent", "reply"])),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events_strategy, st.integers(0, 400 * 24), st.integers(0, 400 * 24))
def test_indexed_queries_match_a_full_scan(tmp_path_factory, rows, a, b):
    since, until = T0 + timedelta(hours=min(a, b)), T0 + timedelta(hours=max(a, b))
    with Ledger.open(tmp_path_factory.mktemp("log")) as ledger:
        for debtor_id, hours, kind in rows:
            ledger.append_contact(contact(debtor_id, T0 + timedelta(hours=hours), kind=kind))
        everything = ledger.contacts()
        assert len(everything) == len(rows)
        for debtor_id in ("d-1", "d-2", "d-3"):
            expected = tuple(e for e in everything if e.debtor_id == debtor_id and since <= e.at < until)
            assert ledger.contacts(debtor_id=debtor_id, since=since, until=until) == expected
        assert ledger.contacts(since=since, until=until) == tuple(e for e in everything if since <= e.at < until)


def test_messages_from_unknown_numbers_are_kept_under_an_empty_debtor(tmp_path):
    with Ledger.open(tmp_path) as ledger:
        stray = ledger.append_contact(contact("", T0, kind="reply", direction="inbound", phone="+573209999999",
                                              text="Quién es?"))
    with Ledger.open(tmp_path) as ledger:
        assert ledger.contacts(debtor_id="") == (stray,)


def test_iter_contacts_streams_the_whole_history_in_order(tmp_path):
    events = [contact(f"d-{i % 3}", T0 + timedelta(days=(i * 37) % 200, minutes=i),
                      kind="reply" if i % 4 == 0 else "sent") for i in range(50)]
    with Ledger.open(tmp_path) as ledger:
        for event in events:
            ledger.append_contact(event)
        everything = ledger.contacts()
        assert tuple(ledger.iter_contacts()) == everything
        assert [e.at for e in everything] == sorted(e.at for e in events)
        since, until = T0 + timedelta(days=30), T0 + timedelta(days=90)
        assert tuple(ledger.iter_contacts(since=since, until=until, kinds=["reply"])) == tuple(
            e for e in everything if since <= e.at < until and e.kind == "reply")
    with Ledger.memory() as memory:
        for event in events:
            memory.append_contact(event)
        assert [e.at for e in memory.iter_contacts()] == [e.at for e in everything]


def test_a_partition_cut_at_any_byte_keeps_exactly_the_whole_events(tmp_path):
    source = tmp_path / "source"
    with Ledger.open(source) as ledger:
        events = [ledger.append_contact(contact("d-a", T0 + timedelta(hours=i), text="x" * i)) for i in range(5)]
    data = (source / "ledger" / "contacts" / "2026-11.jsonl").read_bytes()
    ends = [sum(len(line) for line in data.splitlines(keepends=True)[: n + 1]) for n in range(5)]
    for cut in range(0, len(data) + 1, 7):
        target = tmp_path / f"cut{cut}" / "ledger" / "contacts"
        target.mkdir(parents=True)
        (target / "2026-11.jsonl").write_bytes(data[:cut])
        whole = sum(1 for end in ends if end <= cut)
        with Ledger.open(tmp_path / f"cut{cut}") as ledger:
            assert ledger.contacts(debtor_id="d-a") == tuple(events[:whole])
            ledger.append_contact(events[-1])
        with Ledger.open(tmp_path / f"cut{cut}") as ledger:
            assert ledger.contacts(debtor_id="d-a") == tuple(events[:whole]) + (events[-1],)


def test_recent_history_from_memory_matches_the_partitions(tmp_path):
    """Queries served from the in-memory recent months agree with reading the files."""
    events = [contact(f"d-{i % 4}", T0 + timedelta(days=i * 4, minutes=i)) for i in range(40)]  # ~5 months
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        for event in events[:20]:
            ledger.append_contact(event)
    with Ledger.open(tmp_path, recent_months=2) as ledger:
        ledger.contacts(since=T0 + timedelta(days=70))  # first recent query: the two newest months are read
        for event in events[20:]:
            ledger.append_contact(event)  # and kept up to date (months roll over) by appends
        late = ledger.append_contact(contact("d-1", T0 + timedelta(days=1)))  # an old event, appended late
        every = ledger.contacts(since=T0 - timedelta(days=1))  # older than the window: from files
        newest = max(e.at for e in every)
        for days in (1, 7, 20, 40, 70, 200):
            since = newest - timedelta(days=days)
            assert ledger.contacts(since=since) == tuple(e for e in every if e.at >= since), days
        assert late in every
    with Ledger.open(tmp_path, recent_months=1) as ledger:
        since = newest - timedelta(days=10)
        assert ledger.contacts(since=since) == tuple(e for e in every if e.at >= since)


def test_recent_months_cache_prunes_when_months_roll_over():
    from firmware_py.ledger.recent import EVERYTHING, RecentContacts

    recent = RecentContacts(months=2)
    recent.load([], lambda month: [])
    assert recent.covers(None) and recent.floor == EVERYTHING
    for days in (0, 35, 70):  # Nov, Dec, Jan
        recent.add(contact("d-a", T0 + timedelta(days=days)))
    assert recent.floor == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert [e.at.month for e in recent.select(None)] == [12, 1]
    recent.add(contact("d-a", T0 + timedelta(days=1)))  # a late event older than the window: not kept
    assert len(recent) == 2 and not recent.covers(T0) and recent.covers(T0 + timedelta(days=31))


def test_recent_history_is_kept_in_time_order_and_sliced_by_time():
    """Events appended out of order (a report stamped by the modem's clock) still come back in time order,
    and a window query sees exactly its slice."""
    from datetime import datetime, timedelta, timezone

    from firmware_py.ledger import Ledger
    from scheduler.model import ContactEvent

    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    with Ledger.memory(clock=lambda: t0) as ledger:
        for minutes in (0, 30, 10, 50, 20, 40):
            ledger.append_contact(ContactEvent(t0 + timedelta(minutes=minutes), "d-1", "sent", contact_id=f"c{minutes}"))
        assert [e.contact_id for e in ledger.contacts(since=t0)] == ["c0", "c10", "c20", "c30", "c40", "c50"]
        window = ledger.contacts(since=t0 + timedelta(minutes=15), until=t0 + timedelta(minutes=45))
        assert [e.contact_id for e in window] == ["c20", "c30", "c40"]
