"""Status-report matching and aggregation (pure): examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.reports import Report, ReportTracker, aggregate, same_recipient, status_class

NUM = "+573001234567"


@pytest.mark.parametrize("status,cls", [(0x00, "delivered"), (0x1F, "delivered"), (0x20, "pending"),
                                        (0x3F, "pending"), (0x40, "failed"), (0x7F, "failed"), (0xFF, "failed")])
def test_status_class(status, cls):
    assert status_class(status) == cls


@pytest.mark.parametrize("a,b,same", [
    ("+573001234567", "3001234567", True),
    ("+573001234567", "573001234567", True),
    ("+573001234567", "+573001234568", False),
    ("611", "+57611", False),
    ("611", "611", True),
    ("Claro", "claro", True),
])
def test_same_recipient(a, b, same):
    assert same_recipient(a, b) is same
    assert same_recipient(b, a) is same


def test_single_part_delivered():
    t = ReportTracker(expiry=100)
    assert t.register("m1", NUM, sequence=1, total=1, mr=7, now=1000) == []
    [u] = t.on_report(Report(7, "3001234567", 0), now=1001)
    assert (u.message_id, u.state, u.final) == ("m1", "delivered", True)
    assert u.parts[0].status == 0
    assert t.message_ids() == []


def test_multipart_needs_every_part():
    t = ReportTracker(expiry=100)
    t.register("m1", NUM, sequence=1, total=2, mr=10, now=1000)
    t.register("m1", NUM, sequence=2, total=2, mr=11, now=1000)
    [u] = t.on_report(Report(11, NUM, 0), now=1001)
    assert u.state == "sent" and not u.final
    assert [p.state for p in u.parts] == ["sent", "delivered"]
    [u] = t.on_report(Report(10, NUM, 0), now=1002)
    assert u.state == "delivered" and u.final


def test_pending_then_final():
    t = ReportTracker(expiry=100)
    t.register("m1", NUM, sequence=1, total=1, mr=1, now=0)
    [u] = t.on_report(Report(1, NUM, 0x21), now=1)
    assert u.state == "pending" and not u.final
    [u] = t.on_report(Report(1, NUM, 0x00), now=2)
    assert u.state == "delivered"


def test_any_failed_part_fails_message():
    t = ReportTracker(expiry=100)
    t.register("m1", NUM, sequence=1, total=2, mr=1, now=0)
    t.register("m1", NUM, sequence=2, total=2, mr=2, now=0)
    [u] = t.on_report(Report(2, NUM, 0x41), now=1)
    assert u.state == "failed" and u.final


def test_expiry_by_sweep_and_late_report_still_counts():
    t = ReportTracker(expiry=100, retention=500)
    t.register("m1", NUM, sequence=1, total=1, mr=1, now=0)
    assert t.sweep(now=99) == []
    [u] = t.sweep(now=100)
    assert u.state == "expired" and u.final
    assert t.sweep(now=101) == []        # not re-announced
    [u] = t.on_report(Report(1, NUM, 0), now=300)
    assert u.state == "delivered"


def test_forgotten_after_retention():
    t = ReportTracker(expiry=100, retention=200)
    t.register("m1", NUM, sequence=1, total=1, mr=1, now=0)
    t.sweep(now=150)
    t.sweep(now=201)
    assert t.message_ids() == []
    assert t.on_report(Report(1, NUM, 0), now=202) == []


def test_mr_wrap_matches_recent_message_not_old_delivered_one():
    t = ReportTracker(expiry=10_000)
    t.register("old", NUM, sequence=1, total=1, mr=5, now=0)
    t.on_report(Report(5, NUM, 0), now=1)
    t.register("new", NUM, sequence=1, total=1, mr=5, now=100)
    [u] = t.on_report(Report(5, NUM, 0), now=101)
    assert u.message_id == "new"


def test_same_mr_other_recipient_does_not_match():
    t = ReportTracker(expiry=100)
    t.register("a", NUM, sequence=1, total=1, mr=5, now=0)
    t.register("b", "+573009999999", sequence=1, total=1, mr=5, now=0)
    [u] = t.on_report(Report(5, "+573009999999", 0), now=1)
    assert u.message_id == "b"


def test_sc_time_breaks_ties_between_waiting_parts():
    t = ReportTracker(expiry=10_000)
    t.register("old", NUM, sequence=1, total=1, mr=5, now=0)
    t.register("new", NUM, sequence=1, total=1, mr=5, now=1000)
    [u] = t.on_report(Report(5, NUM, 0, sc_time=2), now=1001)
    assert u.message_id == "old"


def test_report_overtaking_registration_is_buffered():
    t = ReportTracker(expiry=100, unmatched_ttl=10)
    assert t.on_report(Report(9, NUM, 0), now=1000) == []
    [u] = t.register("m1", NUM, sequence=1, total=1, mr=9, now=1000.01)
    assert u.state == "delivered"


def test_unmatched_dropped_after_ttl():
    t = ReportTracker(expiry=100, unmatched_ttl=10)
    t.on_report(Report(9, NUM, 0), now=1000)
    t.sweep(now=1011)
    assert t.register("m1", NUM, sequence=1, total=1, mr=9, now=1012) == []


def test_truncate_after_partial_send():
    t = ReportTracker(expiry=100)
    t.register("m1", NUM, sequence=1, total=3, mr=1, now=0)
    [u] = t.truncate("m1", now=1)
    assert u.state == "sent"
    [u] = t.on_report(Report(1, NUM, 0), now=2)
    assert u.state == "delivered"


def test_state_survives_round_trip_through_dict():
    t = ReportTracker(expiry=100)
    t.register("m1", NUM, sequence=1, total=2, mr=200, now=0)
    t.register("m1", NUM, sequence=2, total=2, mr=201, now=0)
    t.on_report(Report(200, NUM, 0), now=1)
    import json
    restored = ReportTracker(expiry=100, state=json.loads(json.dumps(t.to_dict())))
    [u] = restored.on_report(Report(201, NUM, 0), now=2)
    assert u.state == "delivered"


def test_bad_mr_rejected():
    with pytest.raises(ValueError):
        ReportTracker().register("m", NUM, sequence=1, total=1, mr=256, now=0)


STATES = st.sampled_from(["sent", "pending", "delivered", "failed", "expired"])


@settings(max_examples=200)
@given(st.lists(STATES, min_size=1, max_size=6))
def test_aggregate_properties(states):
    result = aggregate(states, len(states))
    if "failed" in states:
        assert result == "failed"
    elif all(s == "delivered" for s in states):
        assert result == "delivered"
    else:
        assert result not in ("delivered", "failed")
    # a message is never reported delivered while any part is not delivered
    assert (result == "delivered") == all(s == "delivered" for s in states)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.sampled_from(["+573001111111", "+573002222222"])),
                min_size=1, max_size=300),
       st.data())
def test_every_report_lands_on_the_part_it_belongs_to(sends, data):
    """Whatever the MR collisions, a report for a sent part updates exactly that part's message."""
    t = ReportTracker(expiry=10**6)
    for i, (mr, number) in enumerate(sends):
        t.register(f"m{i}", number, sequence=1, total=1, mr=mr, now=float(i))
    i = data.draw(st.integers(0, len(sends) - 1))
    mr, number = sends[i]
    [u] = t.on_report(Report(mr, number, 0, sc_time=float(i)), now=float(len(sends)))
    assert u.message_id == f"m{i}"
    assert u.number == number


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 0xFF), min_size=1, max_size=5))
def test_multipart_delivered_only_when_all_parts_delivered(statuses):
    t = ReportTracker(expiry=100)
    for seq in range(1, len(statuses) + 1):
        t.register("m", NUM, sequence=seq, total=len(statuses), mr=seq, now=0)
    last = None
    for seq, status in enumerate(statuses, start=1):
        updates = t.on_report(Report(seq, NUM, status), now=1)
        if updates:
            last = updates[-1]
        if last and last.state == "failed":
            break
    classes = [status_class(s) for s in statuses]
    if "failed" in classes:
        assert last.state == "failed"
    elif all(c == "delivered" for c in classes):
        assert last.state == "delivered"
    else:
        assert last.state == "pending"
