"""The planner with a memory (:class:`scheduler.planner.Planner`) decides exactly as :func:`plan`.

A ``Planner`` keeps each debtor's decisions and gives them again while they cannot have changed. Over
random worlds (the property tests' ``worlds()`` and crowded ones) and random sequences of what happens
to an appliance between two plans — the clock moving forwards by a second, minutes, hours, days, to a
``wait``'s instant or a second or less before it, to a debtor's midnight, backwards; the dispatcher
sending what was due (``sending`` then ``sent`` or ``failed`` logged); a reply, a payment, a promise, an opt-out; sending paused
or resumed, the clock's trust lost or found, the SIM's daily cap changed — every plan it makes equals
:func:`plan`'s for the same inputs. A plan of some debtors only, then of all, too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from test_planner_fastpaths import crowded_worlds
from test_planner_properties import PROPERTY, worlds

from firmware_py.ledger.results import LedgerSnapshot
from scheduler.clock import ClockTrust
from scheduler.model import ContactEvent, Payment, Phone, Promise, Settings
from scheduler.planner import SEND, WAIT, Planner, plan

STEPS = st.sampled_from(["second", "minute", "minutes", "hour", "hours", "day", "back_minutes", "back_hours",
                         "to_wait", "before_wait", "just_before_wait", "midnight", "before_midnight", "same",
                         "dispatch", "dispatch", "reply", "payment", "promise", "opt_out",
                         "pause", "trust", "cap"])


def _snapshot(snapshot: LedgerSnapshot, **changes) -> LedgerSnapshot:
    return LedgerSnapshot(**{"seq": snapshot.seq + 1, "debtors": snapshot.debtors, "loans": snapshot.loans,
                             "payments": snapshot.payments, "promises": snapshot.promises,
                             "opted_out": snapshot.opted_out, "settings": snapshot.settings,
                             "contacts": snapshot.contacts, **changes})


def _step(draw, kind: str, snapshot, policy, now, decisions):
    """The world after one thing happened."""
    rnd = draw(st.randoms(use_true_random=False))
    debtor = rnd.choice(snapshot.debtors)
    zone = ZoneInfo(debtor.timezone)
    if kind == "second":
        return snapshot, policy, now + timedelta(seconds=1)
    if kind == "minute":
        return snapshot, policy, now + timedelta(minutes=1)
    if kind == "minutes":
        return snapshot, policy, now + timedelta(minutes=rnd.randrange(2, 90))
    if kind == "hour":
        return snapshot, policy, now + timedelta(hours=1)
    if kind == "hours":
        return snapshot, policy, now + timedelta(hours=rnd.randrange(2, 20), minutes=rnd.randrange(60))
    if kind == "day":
        return snapshot, policy, now + timedelta(days=rnd.choice([1, 1, 2, 6, 8]))
    if kind == "back_minutes":
        return snapshot, policy, now - timedelta(minutes=rnd.randrange(1, 90))
    if kind == "back_hours":
        return snapshot, policy, now - timedelta(hours=rnd.randrange(1, 30))
    if kind in ("to_wait", "before_wait", "just_before_wait"):
        waits = sorted({d.at for d in decisions if d.action == WAIT and d.at > now})
        if not waits:
            return snapshot, policy, now + timedelta(hours=3)
        at = rnd.choice(waits)
        before = {"to_wait": timedelta(0), "before_wait": timedelta(seconds=1),
                  "just_before_wait": timedelta(milliseconds=rnd.choice([1, 500, 999]))}[kind]
        return snapshot, policy, at - before
    if kind in ("midnight", "before_midnight"):
        local = now.astimezone(zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
        return snapshot, policy, midnight - timedelta(seconds=1) if kind == "before_midnight" else midnight
    if kind == "same":
        return snapshot, policy, now
    if kind == "dispatch":  # the dispatcher sends what is due: some of it, logged a little later
        sends = [d for d in decisions if d.action == SEND]
        if not sends:
            return snapshot, policy, now + timedelta(minutes=5)
        events = []
        for decision in rnd.sample(sends, rnd.randrange(1, len(sends) + 1)):
            # sent, or refused by the network before it left (no sent: the SIM's budget is not spent)
            for seconds, state in ((1, "sending"), (4, rnd.choice(["sent", "sent", "failed"]))):
                events.append(ContactEvent(now + timedelta(seconds=seconds), decision.debtor_id, state,
                                           channel=decision.channel, phone=decision.phone,
                                           contact_id=decision.contact_id, loan_external_id=decision.loan))
        return (_snapshot(snapshot, contacts=tuple(sorted(snapshot.contacts + tuple(events), key=lambda e: e.at))),
                policy, now + timedelta(seconds=rnd.choice([5, 30, 61])))
    if kind == "reply":
        event = ContactEvent(now - timedelta(minutes=1), debtor.id, "reply", direction="inbound", text="SALDO",
                             phone=debtor.phones[0].number if debtor.phones else "")
        return _snapshot(snapshot, contacts=tuple(sorted(snapshot.contacts + (event,), key=lambda e: e.at))), \
            policy, now
    if kind == "payment":
        loans = snapshot.loans_of(debtor.id)
        loan = rnd.choice(loans)
        unpaid = loan.oldest_unpaid()
        if unpaid is None:
            return snapshot, policy, now
        paid = Payment(f"pay-memo-{snapshot.seq}", loan.external_id, debtor.id, unpaid.outstanding,
                       now.astimezone(zone).date(), "web", recorded_at=now)
        instalments = tuple(replace(i, paid_amount=i.amount) if i.number == unpaid.number else i
                            for i in loan.instalments)
        loans_now = tuple(replace(l, instalments=instalments) if l.external_id == loan.external_id else l
                          for l in snapshot.loans)
        return _snapshot(snapshot, loans=loans_now, payments=snapshot.payments + (paid,)), policy, now
    if kind == "promise":
        promise = Promise(f"p-memo-{snapshot.seq}", debtor.id, now.date() + timedelta(days=rnd.randrange(0, 6)),
                          Decimal(50_000), "sms", now)
        return _snapshot(snapshot, promises=snapshot.promises + (promise,)), policy, now
    if kind == "opt_out":
        if not debtor.phones:
            return snapshot, policy, now
        number = debtor.phones[0].number
        debtors = tuple(replace(d, phones=tuple(Phone(p.number, p.personal, p.channels, True)
                                                if p.number == number else p for p in d.phones))
                        for d in snapshot.debtors)
        return _snapshot(snapshot, debtors=debtors, opted_out=snapshot.opted_out | {number}), policy, now
    if kind == "pause":
        return snapshot, replace(policy, paused=not policy.paused), now
    if kind == "trust":
        trusted = not policy.clock.trusted
        return snapshot, policy.with_clock(ClockTrust(trusted, "given" if trusted else "no_source",
                                                      f"cambio {snapshot.seq}")), now
    if kind == "cap":
        return snapshot, replace(policy, daily_sms_cap=rnd.choice([None, 0, 1, 3, 50])), now
    raise AssertionError(kind)


@st.composite
def histories(draw, world_strategy):
    """A world and what happens to it over a few plans: ``[(snapshot, policy, now), ...]``."""
    snapshot, policy, now = draw(world_strategy)
    sequence = [(snapshot, policy, now)]
    decisions = plan(snapshot, policy, now)
    for kind in draw(st.lists(STEPS, min_size=1, max_size=8)):
        snapshot, policy, now = _step(draw, kind, snapshot, policy, now, decisions)
        decisions = plan(snapshot, policy, now)
        sequence.append((snapshot, policy, now))
    return sequence


def _check(sequence) -> None:
    planner = Planner()
    for index, (snapshot, policy, now) in enumerate(sequence):
        assert planner.plan(snapshot, policy, now) == plan(snapshot, policy, now), f"plan {index} at {now}"


@PROPERTY
@given(histories(worlds()))
def test_a_planner_decides_as_plan_whatever_happens_between_plans(sequence):
    _check(sequence)


@PROPERTY
@given(histories(crowded_worlds()))
def test_a_planner_decides_as_plan_in_crowded_worlds(sequence):
    _check(sequence)


@PROPERTY
@given(histories(worlds()), st.data())
def test_a_plan_of_some_debtors_then_of_all(sequence, data):
    planner = Planner()
    for snapshot, policy, now in sequence:
        ids = [d.id for d in snapshot.debtors]
        some = data.draw(st.lists(st.sampled_from(ids), max_size=len(ids), unique=True))
        assert planner.plan(snapshot, policy, now, debtor_ids=some) == plan(snapshot, policy, now, debtor_ids=some)
        assert planner.plan(snapshot, policy, now) == plan(snapshot, policy, now)


def test_the_memory_is_used_and_forgotten():
    snapshot, policy, now = _one_world()
    planner = Planner()
    first = planner.plan(snapshot, policy, now)
    assert planner.reused == 0
    again = planner.plan(snapshot, policy, now + timedelta(minutes=1))
    assert again == plan(snapshot, policy, now + timedelta(minutes=1))
    waiting = {d.debtor_id for d in first} - {d.debtor_id for d in first if d.action == SEND}
    assert planner.reused == len(waiting) > 0
    planner.plan(snapshot, replace(policy, step_validity_days=policy.step_validity_days + 1), now)
    assert planner.reused == 0  # another policy: decided anew
    planner.forget()
    planner.plan(snapshot, policy, now)
    assert planner.reused == 0


def _one_world():
    from datetime import date, timezone

    from scheduler.model import Debtor, Instalment, Loan
    from scheduler.policy import load_policy

    now = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Bogotá
    debtors, loans = [], []
    for n, days in enumerate((20, 5, 1, 0, -40)):  # next steps days away; one due today; one long late
        debtor = Debtor(f"d-{n}", "Ana Pérez", phones=(Phone(f"+5730000000{n}"),), timezone="America/Bogota")
        debtors.append(debtor)
        due = date(2026, 3, 10) + timedelta(days=days)
        loans.append(Loan(f"L-{n}", debtor.id, instalments=(Instalment(1, due, Decimal(100_000)),)))
    snapshot = LedgerSnapshot(seq=1, debtors=tuple(debtors), loans=tuple(loans), payments=(), promises=(),
                              opted_out=frozenset(), settings=Settings({}))
    policy = load_policy({"rules": {"profile": "CO"}}, country="CO", clock=ClockTrust(True, "given"))
    return snapshot, policy, now


def test_a_debtor_kept_waiting_for_the_sims_budget_sends_once_the_budget_frees():
    """With one SMS a day, the first debtor due sends and the next ones wait for the budget; when the
    first send fails before it leaves (no ``sent``), the budget is free again: the next debtor sends."""
    snapshot, policy, now = _one_world()
    policy = replace(policy, daily_sms_cap=1)
    planner = Planner()
    first = planner.plan(snapshot, policy, now)
    sends = [d for d in first if d.action == SEND]
    capped = sorted(d.debtor_id for d in first if d.reason.value == "sim_cap")
    assert len(sends) == 1 and len(capped) >= 1
    failed = tuple(ContactEvent(now + timedelta(seconds=s), sends[0].debtor_id, kind, channel="sms",
                                phone=sends[0].phone, contact_id=sends[0].contact_id, loan_external_id=sends[0].loan)
                   for s, kind in ((1, "sending"), (3, "failed")))
    later = now + timedelta(minutes=1)
    after = _snapshot(snapshot, contacts=failed)
    second = planner.plan(after, policy, later)
    assert second == plan(after, policy, later)
    assert [d.debtor_id for d in second if d.action == SEND] == [capped[0]]
