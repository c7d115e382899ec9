"""Fault: the clock jumps forwards and backwards (days, hours) between the dispatcher's drains.

A Pi without internet may boot with a wrong clock, get corrected by the network, drift or be set by hand:
the dispatcher's clock can go back to before contacts it already sent, or leap over weeks. Whatever the
jumps, for each scenario (a seed):

- no contact is ever handed to the radio twice (the contact log's ``sending`` is the memory, whatever
  ``now`` says), and no debtor gets two reminders for the same instalment step;
- every send happens inside the Colombian contact hours (Ley 2300: Mon-Fri 07-19, Sat 08-15, no Sunday,
  no official holiday) of the time the dispatcher believes at that moment (the injected clock).

The contact hours are re-derived here from the law (not from the planner's rules table).
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import holidays
import pytest

from firmware_py.ledger import Ledger
from modem.sending import PartRef, SentSms
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

BOGOTA = timezone(timedelta(hours=-5))
START = datetime(2026, 12, 1, 9, 0, tzinfo=BOGOTA)
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))
CO_HOLIDAYS = holidays.country_holidays("CO", years=range(2026, 2028))
WINDOWS = {d: (time(7), time(19)) for d in range(5)} | {5: (time(8), time(15))}


def in_contact_hours(moment: datetime) -> bool:
    local = moment.astimezone(BOGOTA)
    window = WINDOWS.get(local.weekday())
    return window is not None and local.date() not in CO_HOLIDAYS and window[0] <= local.time() < window[1]


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Radio:
    """The pool's ``send`` contract; records each call with the time the dispatcher believes."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.calls: list[tuple[str, str, datetime]] = []

    def send(self, number, text, *, message_id, transliterate=False):
        self.calls.append((message_id, number, self.clock()))

        class Result:
            member = "m1"
            sent = SentSms(message_id, number, "sent", 1, (PartRef(len(self.calls), 1, 0.0),))
        return Result()


def make_ledger(count: int, rng: random.Random) -> Ledger:
    ledger = Ledger.memory()
    debtors = [Debtor(f"d-{i}", f"Socio {i}", phones=(Phone(f"+5730012{i:05d}"),)) for i in range(count)]
    loans = [Loan(f"L{i}", f"d-{i}", instalments=tuple(
        Instalment(n + 1, date(2026, 12, 1) + timedelta(days=rng.randrange(0, 40) + 30 * n), Decimal(150000))
        for n in range(2))) for i in range(count)]
    ledger.import_batch(debtors, loans, source="test", now=START - timedelta(days=30))
    return ledger


def jump(rng: random.Random) -> timedelta:
    kind = rng.random()
    if kind < 0.35:
        return timedelta(minutes=rng.randrange(10, 6 * 60))             # ordinary time passing
    if kind < 0.65:
        return timedelta(days=rng.randrange(1, 15), hours=rng.randrange(-12, 12))  # leap forwards
    if kind < 0.9:
        return -timedelta(days=rng.randrange(1, 20), hours=rng.randrange(0, 24))   # back in time
    return timedelta(hours=rng.choice([-1, 1]) * rng.randrange(1, 48))    # a wrong time zone / hand-set


SEEDS = [1, 2, 3, 5, 8, 13, 21, 34]


@pytest.mark.slow  # ~4 s per seed on a laptop, 8 seeds
@pytest.mark.parametrize("seed", SEEDS)
def test_clock_jumping_both_ways_never_sends_twice_nor_out_of_hours(seed):
    rng = random.Random(seed)
    scenario = f"clock jumps, seed={seed}"
    ledger = make_ledger(12, rng)
    clock = Clock(START)
    radio = Radio(clock)
    dispatcher = Dispatcher(ledger, radio, lambda: POLICY, clock=clock)
    low, high = datetime(2026, 11, 1, tzinfo=BOGOTA), datetime(2027, 3, 1, tzinfo=BOGOTA)
    timeline = []
    for step in range(70):
        dispatcher.drain()
        timeline.append(clock.now)
        ids = Counter(call[0] for call in radio.calls)
        twice = [cid for cid, n in ids.items() if n > 1]
        assert not twice, f"{scenario}: step {step}, contacts sent twice {twice}; clock so far {timeline}"
        outside = [(cid, at.isoformat()) for cid, _, at in radio.calls if not in_contact_hours(at)]
        assert not outside, f"{scenario}: step {step}, sent outside contact hours {outside}"
        moved = clock.now + jump(rng)
        clock.now = min(max(moved, low), high)
    # one reminder per debtor, loan, instalment and ladder step (the contact id's parts)
    assert radio.calls, f"{scenario}: nothing was ever sent"
    sent_kinds = Counter(e.contact_id for e in ledger.contacts(kinds=("sending",)))
    assert all(n == 1 for n in sent_kinds.values()), f"{scenario}: 'sending' twice: {sent_kinds}"
    assert len(sent_kinds) == len(radio.calls), scenario
    ledger.close()
