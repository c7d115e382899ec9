"""A partition without an events cache goes straight into the window's rows (``recent.columns_from_docs``):
the rows give exactly the events ``codec.decode`` makes of the documents, in the window's order (time, then
file order); a document that is not a plain current event (an older schema, a bad value) sends the whole
partition through ``codec.decode`` one document at a time, as before (bad ones logged and skipped)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger, codec
from firmware_py.ledger.contactlog import parse_bodies
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


_BODIES = st.one_of(
    st.builds(lambda doc: json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
              st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=8)),
                              max_size=4)),
    st.sampled_from([b"", b" ", b'{"a":1} ', b' {"a":1}', b'{"a":1}\r', b'{"a":1}{"b":2}', b'{"a":1},{"b":2}',
                     b"1,2", b'"x"', b"[1,2]", b"\xef\xbb\xbf{}", '{"a":"é"}'.encode("utf-16"), b"1\x00",
                     b'{"a":"\xed\xa0\x80"}', b'{"a":', b"}", b'{"a":"\\ud800"}', b"nul", b"NaN", b"-0"]),
    st.binary(max_size=12).filter(lambda b: b"\n" not in b),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_BODIES, max_size=12))
def test_line_bodies_read_in_a_batch_as_json_loads_reads_each(bodies):
    expected = []
    for body in bodies:
        try:
            expected.append(json.loads(body))
        except ValueError:
            pass
    got = parse_bodies(bodies)
    assert json.dumps(got) == json.dumps(expected)  # (NaN != NaN)


def test_a_complete_months_cache_older_than_its_partition_is_saved_again(tmp_path):
    """A late report appended to an older month (or a stop without a close): that month is read whole once and
    its cache saved again, so the next start reads no JSON for it."""
    first = T0 - timedelta(days=31)  # September
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        ledger.append_contacts(ContactEvent(first + timedelta(hours=13 * i), f"d-{i % 3}", "sent",
                                            contact_id=f"c{i}") for i in range(120))  # September .. November
        ledger.contacts(since=first)
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        late = ledger.append_contact(ContactEvent(first + timedelta(days=3), "d-1", "delivered", contact_id="c5"))
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        assert not ledger._contacts.cache_is_current("2026-09")
        window = ledger.contacts(since=first)
        assert window == tuple(sorted(ledger.iter_contacts(since=first), key=lambda e: e.at)) and late in window
        assert ledger._contacts.cache_is_current("2026-09") and ledger._contacts.cache_is_current("2026-10")
    with Ledger.open(tmp_path, recent_months=3) as ledger:
        assert ledger.contacts(since=first) == window
