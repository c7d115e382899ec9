"""A partition without an events cache goes straight into the window's rows (``recent.columns_from_docs``):
the rows give exactly the events ``codec.decode`` makes of the documents, in the window's order (time, then
file order); a document that is not a plain current event (an older schema, a bad value) sends the whole
partition through ``codec.decode`` one document at a time, as before (bad ones logged and skipped)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger, codec
from firmware_py.ledger.recent import StringPool, columns_from_docs
from scheduler.model import ContactEvent

from test_ledger_eventcache import events as any_events

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def decoded_in_order(docs: list) -> list[ContactEvent]:
    """What the window held of ``docs`` before: each decoded, then sorted by instant (stable)."""
    return sorted((codec.decode("contact", doc) for doc in docs), key=lambda event: event.at)


@settings(max_examples=150, deadline=None)
@given(st.lists(any_events(), max_size=25), st.randoms(use_true_random=False))
def test_rows_give_the_events_decode_gives_in_the_windows_order(items, rng):
    docs = [codec.encode(event) for event in items]
    if docs:  # equal instants keep the file's order
        docs.insert(rng.randrange(len(docs) + 1), dict(docs[rng.randrange(len(docs))], text="igual"))
    columns = columns_from_docs(iter(docs), StringPool())
    assert columns is not None
    assert columns.events() == decoded_in_order(docs)
    assert list(columns.times) == sorted(columns.times)


def test_debtor_ids_and_phones_are_shared_with_the_pool():
    pool = StringPool()
    phone = "".join(["+57", "3001234567"])  # built: not the literal's object
    docs = [codec.encode(ContactEvent(T0 + timedelta(minutes=i), "d-1", "sent", phone=phone)) for i in range(3)]
    columns = columns_from_docs(docs, pool)
    assert pool.share(phone) is columns.strings[columns.texts[4][0]]
    assert pool.share(phone) is pool.share(phone, True)


def plain(i: int, **changes) -> dict:
    return dict(codec.encode(ContactEvent(T0 + timedelta(hours=i), f"d-{i % 3}", "sent", contact_id=f"c{i}",
                                          id=f"{i:032x}")), **changes)


def test_anything_but_plain_current_events_is_left_to_decode():
    good = [plain(i) for i in range(3)]
    assert columns_from_docs(good, StringPool()) is not None
    for odd in (plain(9, schema_version=0, timestamp=plain(9)["at"]),   # an older schema: migrated by decode
                {k: v for k, v in plain(9).items() if k != "schema_version"},
                plain(9, schema_version=True), plain(9, schema_version=2),
                plain(9, kind="inventado"), plain(9, channel="fax"), plain(9, direction="sideways"),
                plain(9, phone=573001234567), plain(9, text=None), plain(9, id=7), plain(9, debtor_id=None),
                {k: v for k, v in plain(9).items() if k != "kind"},
                plain(9, at="2026-10-01T10:00:00"), plain(9, at="ayer"), plain(9, at=12),
                plain(9, at="2026-10-01T10:00:00+24:00"),
                ["not", "a", "document"]):
        assert columns_from_docs(good + [odd], StringPool()) is None, odd


def test_a_partition_with_odd_documents_reads_as_before(tmp_path, caplog):
    older = {"debtor_id": "d-1", "timestamp": (T0 + timedelta(hours=30)).isoformat(), "status": "delivered",
             "contact_id": "c-viejo", "schema_version": 0}
    with Ledger.open(tmp_path) as ledger:
        ledger.append_contacts(ContactEvent(T0 + timedelta(hours=i), f"d-{i % 3}", "sent", contact_id=f"c{i}")
                               for i in range(40))
        ledger._contacts.append(older, T0 + timedelta(hours=30))
        ledger._contacts.append(plain(50, kind="inventado"), T0 + timedelta(hours=50))
    with caplog.at_level(logging.ERROR), Ledger.open(tmp_path) as ledger:
        window = ledger.contacts(since=T0 - timedelta(days=40))
        assert window == tuple(ledger.iter_contacts(since=T0 - timedelta(days=40))) and len(window) == 41
        assert any(e.contact_id == "c-viejo" and e.kind == "delivered" for e in window)
        assert "unreadable contact event skipped" in caplog.text
    with Ledger.open(tmp_path) as ledger:  # and from the caches saved then
        assert ledger.contacts(since=T0 - timedelta(days=40)) == window


def test_a_cache_and_the_records_after_it_both_as_rows(tmp_path):
    """After a power cut the newest month's cache is older than its partition: the records after it come as
    rows too, after the cache's (or, a report stamped earlier than the cache's last event, sorted with them)."""
    with Ledger.open(tmp_path) as ledger:
        ledger.append_contacts(ContactEvent(T0 + timedelta(hours=i), "d-1", "sent", contact_id=f"c{i}")
                               for i in range(30))
        ledger.contacts(since=T0 - timedelta(days=40))
    cache = tmp_path / "ledger" / "contacts" / "2026-10.events"
    saved = cache.read_bytes()
    for hours in (40, 10.5):
        with Ledger.open(tmp_path) as ledger:
            ledger.append_contacts(ContactEvent(T0 + timedelta(hours=hours + k), "d-2", "delivered",
                                                contact_id=f"x{hours}-{k}") for k in range(3))
        cache.write_bytes(saved)  # as a power cut leaves it
        with Ledger.open(tmp_path) as ledger:
            window = ledger.contacts(since=T0 - timedelta(days=40))
            assert window == tuple(sorted(ledger.iter_contacts(since=T0 - timedelta(days=40)), key=lambda e: e.at))
            assert [e.at for e in window] == sorted(e.at for e in window)
