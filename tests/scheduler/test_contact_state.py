"""scheduler.contact_state: a contact's life read back from its events, in any order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.contact_state import FINAL_KINDS, OUTBOUND_KINDS, REACHED, outcomes
from scheduler.model import ContactEvent

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def _event(kind: str, minute: int) -> ContactEvent:
    return ContactEvent(T0 + timedelta(minutes=minute), "d-1", kind, contact_id="d-1:L1:1:m7")


def _outcome(*events: ContactEvent):
    return outcomes(events)["d-1:L1:1:m7"]


@pytest.mark.parametrize("kinds, settled", [
    (("sending", "retry"), False),  # the radio certainly sent nothing: plan it again
    (("sending", "retry", "sending", "retry"), False),
    (("sending",), True),  # in doubt after a power cut: never again by itself
    (("sending", "sent"), True),
    (("sending", "retry", "sending", "sent"), True),
    (("sending", "failed"), True),
    (("sending", "sent", "retry"), True),  # a retry after a result never reopens it
    (("sending", "failed", "retry"), True),
])
def test_only_a_contact_that_certainly_sent_nothing_is_open(kinds, settled):
    outcome = _outcome(*(_event(kind, minute) for minute, kind in enumerate(kinds)))
    assert outcome.settled is settled
    assert outcome.last_kind == kinds[-1]
    assert outcome.retries == kinds.count("retry")


def test_a_retry_logged_before_its_send_result_still_settles_it():
    """The case hypothesis found: ``retry`` written after ``sent`` (a log out of order) was planned again."""
    sent, retry = _event("sent", 0), _event("retry", 1)
    for order in permutations([sent, retry]):
        assert _outcome(*order).settled


def test_the_order_of_events_in_the_log_does_not_matter():
    events = [_event("sending", 0), _event("retry", 1), _event("sending", 2), _event("sent", 3), _event("delivered", 9)]
    for order in permutations(events):
        outcome = _outcome(*order)
        assert (outcome.last_kind, outcome.retries, outcome.first_at) == ("delivered", 1, T0)


@given(st.lists(st.tuples(st.sampled_from(sorted(OUTBOUND_KINDS)), st.integers(0, 30)), min_size=1, max_size=8))
def test_a_contact_that_may_have_reached_the_debtor_is_never_open(items):
    """Whatever the events and their order: once a result or a possible delivery is logged, never plan again."""
    outcome = _outcome(*(_event(kind, minute) for kind, minute in items))
    kinds = {kind for kind, _ in items}
    if kinds & (REACHED | FINAL_KINDS) or outcome.last_kind == "sending":
        assert outcome.settled
    if not outcome.settled:
        assert kinds <= {"sending", "retry"} and outcome.last_kind == "retry"
    assert outcome.attempted == bool(kinds & REACHED or outcome.last_kind == "sending")
