"""The recent window's rows and the snapshot's view of them (``firmware_py/ledger/recent.py``).

The window keeps events as columns and builds ``ContactEvent`` objects when asked; a snapshot gets a
``ContactsView``. Over random sequences of appends (in order, stamped earlier than the newest, in later
months that push old months out) and snapshots, every view gives exactly the events the ledger held in
its range when it was taken — whatever was appended afterwards —, a debtor's digest read from the rows is
the one made from their events, and a debtor's token is the same in two views exactly when that debtor's
events are.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger
from firmware_py.ledger.contactsview import ContactsView, _Folded
from scheduler.contact_state import Digest, attempt_times, in_doubt
from scheduler.model import ContactEvent

T0 = datetime(2026, 9, 20, 12, 0, tzinfo=timezone.utc)
DEBTORS = ("d-1", "d-2", "d-3")
ZONES = (timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)))

appends = st.tuples(
    st.sampled_from(DEBTORS),
    st.sampled_from(("planned", "sending", "retry", "sent", "delivered", "failed", "uncertain", "reply", "note")),
    st.sampled_from(("sms", "call")),
    st.integers(-3 * 24 * 60, 50 * 24 * 60),  # minutes from the newest instant so far (earlier: a late report)
    st.sampled_from(ZONES),
    st.sampled_from(("", "hex", "text")),      # no id (the ledger gives a uuid4 hex), or one given
    st.sampled_from(("", "Su cuota vence", "SALDO")),
)
snapshots = st.integers(0, 40).map(lambda days: ("snapshot", days))  # of the last ``days`` days before the newest
steps = st.lists(st.one_of(snapshots, appends), min_size=1, max_size=40)


def _event(step, newest: datetime, n: int) -> ContactEvent:
    debtor, kind, channel, minutes, zone, ident, text = step
    direction = {"reply": "inbound", "note": "internal"}.get(kind, "outbound")
    given_id = {"": "", "hex": f"{n:032x}", "text": f"evento-{n}"}[ident]
    contact = f"{debtor}:L1:1:{n % 4}" if n % 5 else ""  # now and then an event of no contact (a manual note)
    return ContactEvent((newest + timedelta(minutes=minutes)).astimezone(zone), debtor, kind, channel=channel,
                        direction=direction, phone=f"+57300{DEBTORS.index(debtor)}", contact_id=contact, text=text,
                        id=given_id)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_views_are_exact_immutable_and_their_tokens_change_exactly_with_the_events(sequence):
    with Ledger.memory(clock=lambda: T0) as ledger:
        ledger.append_contact(ContactEvent(T0 - timedelta(days=400), "d-1", "sent", contact_id="x"))  # 2 partitions
        stored: list[ContactEvent] = []
        newest = T0
        taken: list[tuple[ContactsView, dict[str, tuple]]] = []
        for n, step in enumerate(sequence):
            if step[0] == "snapshot":
                since = newest - timedelta(days=step[1])
                snapshot = ledger.snapshot(contacts_since=since)
                expected = tuple(sorted((e for e in stored if e.at >= since), key=lambda e: e.at))
                if isinstance(snapshot.contacts, ContactsView):
                    taken.append((snapshot.contacts, {d: tuple(e for e in expected if e.debtor_id == d)
                                                      for d in DEBTORS}))
                assert tuple(snapshot.contacts) == expected
                continue
            event = ledger.append_contact(_event(step, newest, n))
            stored.append(event)
            newest = max(newest, event.at)
        for view, expected in taken:  # still what they were when taken
            every_debtor = _Folded(view, range(view._start, view._stop))
            assert view.in_doubt() == in_doubt(view)  # read from the rows, as from the events
            for debtor, events in expected.items():
                assert view.of(debtor) == events
                # read from the debtor's rows, and from every debtor's at once: the same as from the events
                for digest in (view.digest(debtor), every_debtor.digest(debtor)):
                    assert digest.facts() == Digest.of(events).facts() and tuple(digest.events()) == events
                    assert digest.attempts() == Digest.of(events).attempts() == attempt_times(events)
        for first, first_events in taken:
            for second, second_events in taken:
                for debtor in DEBTORS:
                    same = first_events[debtor] == second_events[debtor]
                    assert (first.token(debtor) == second.token(debtor)) == same, debtor


def test_a_view_answers_the_planners_questions_building_only_what_they_ask():
    with Ledger.memory(clock=lambda: T0) as ledger:
        for minutes, (debtor, kind, cid) in enumerate([("d-1", "planned", "auto:1"), ("d-1", "sent", "d-1:L1:1:0"),
                                                       ("d-2", "reply", ""), ("d-2", "planned", "d-2:L1:1:0"),
                                                       ("d-3", "sent", "auto:1")]):
            ledger.append_contact(ContactEvent(T0 + timedelta(minutes=minutes), debtor, kind,
                                               direction="inbound" if kind == "reply" else "outbound",
                                               contact_id=cid))
        ledger.contacts(since=T0 - timedelta(days=40))
        snapshot = ledger.snapshot(contacts_since=T0 - timedelta(days=1))
        assert isinstance(snapshot.contacts, ContactsView) and len(snapshot.contacts) == 5
        every = tuple(snapshot.contacts)
        assert snapshot.contacts_of("d-2") == tuple(e for e in every if e.debtor_id == "d-2")
        assert snapshot.contacts_of("nobody") == () and snapshot.contacts_token("nobody") == ()
        assert snapshot.contacts_matching(kinds=("planned",), contact_prefix="auto:") == every[:1]
        assert snapshot.contacts_matching(contact_ids={"auto:1"}) == (every[0], every[4])
        assert snapshot.contacts_matching(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4),
                                          kinds=("reply", "planned")) == every[2:4]
        assert snapshot.contacts[1] == every[1] and snapshot.contacts[-1] == every[-1]
        assert snapshot.contacts[1:3] == every[1:3] and snapshot.contacts == every
