"""A month of reminders for 200 debtors through the whole engine, in simulated time.

ledger (on disk) -> planner -> Dispatcher -> ModemPool -> real ``modem.driver.Modem`` -> ``modem.simulator``
on a pty, with the recorder and the reply handler fed synchronously. One :class:`SimClock` is the
dispatcher's, the reply handler's, the ledger's and the driver's clock (so report expiry and the
times of replies are simulated time too) and the simulated network's time: it jumps from tick to
tick (every hour from 06:00 to 22:00, and at 00:00 and 03:00) and flows in real time within a tick.

The debtors' virtual phones behave in different ways (delivered, refused by the network, never
reporting, replying SALDO / PROMESA <date> / BAJA / gibberish, two debtors sharing one phone, messages
sent at night). What must happen is derived *independently* (:func:`expected_plan`: the ladder's
offsets, each due date, the Ley 2300 hours written out here, the three holidays of the month listed
by hand, the daily cap, promises and replies) rather than by running the planner again, and the test
asserts exactly that:

- every reminder the model expects went out once, at the tick it expects, and nothing else did;
- every contact has exactly one final state (delivered / failed / expired, by phone behaviour);
- no phone got the same contact twice: each submission the simulated network accepted is attributed
  to the contact id the driver sent it with, and its number and text are those of the contact's
  ``sending`` event;
- no SMS left outside the contact hours (each submission's network time, which is simulated time),
  except the opt-out confirmation, which the law wants at once;
- an opted-out number gets nothing after its one confirmation (even when it answers BAJA again);
- a promise pauses the ladder until its date (plus the grace day);
- balances are answered only to personal phones (a shared one gets no amount);
- a shared phone's delivery report lands on one contact, of the right debtor.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from firmware_py.ledger import Ledger
from firmware_py.recorder import EventRecorder
from firmware_py.responder import ReplyHandler
from modem import events as ev
from modem.driver import Modem, Timeouts
from modem.pool import ModemPool, PoolMember
from modem.retry import Backoff
from modem.simulator import Simulator
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BOGOTA = ZoneInfo("America/Bogota")
START = datetime(2026, 3, 9, 0, 0, tzinfo=BOGOTA)          # a Monday
END = datetime(2026, 4, 10, 0, 0, tzinfo=BOGOTA)
TICK_HOURS = (0, 3) + tuple(range(6, 23))

# Ley 2300 de 2023 as this test reads it (written out here, not taken from scheduler.rules):
# Monday-Friday 07:00-19:00, Saturday 08:00-15:00, never Sundays or holidays, one contact a day.
WINDOWS = {0: (dtime(7), dtime(19)), 1: (dtime(7), dtime(19)), 2: (dtime(7), dtime(19)), 3: (dtime(7), dtime(19)),
           4: (dtime(7), dtime(19)), 5: (dtime(8), dtime(15))}
HOLIDAYS = {date(2026, 3, 23): "San José (trasladado)", date(2026, 4, 2): "Jueves Santo",
            date(2026, 4, 3): "Viernes Santo"}
STEPS = ((-3, "-3"), (0, "0"), (3, "+3"), (7, "+7"))       # the ladder below, at 09:00
VALIDITY_DAYS = 7                                            # the last step's life (policy default)
GRACE_DAYS = 1                                               # promise grace (policy default)
PROMISE_AFTER_DAYS = 4                                       # "PROMESA <reply day + 4>"

LADDER = {"mes": {"steps": [
    {"offset": -3, "channel": "sms", "template": "recordatorio_previo", "use_best_hour": False},
    {"offset": 0, "channel": "sms", "template": "vence_hoy", "use_best_hour": False},
    {"offset": 3, "channel": "sms", "template": "mora_amable", "use_best_hour": False},
    {"offset": 7, "channel": "sms", "template": "mora_amable", "use_best_hour": False,
     "when": ["unpaid", "no_promise", "no_reply"]},
]}}
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "mes"}], "ladders": LADDER}, country="CO",
                     cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))

GIBBERISH = "jajaja ok xkq zzv"


class SimClock:
    """Simulated time: :meth:`jump` sets it; between jumps it flows with the real monotonic clock."""

    def __init__(self, start: datetime):
        self._lock = threading.Lock()
        self._base, self._mono = start, time.monotonic()

    def jump(self, moment: datetime) -> None:
        with self._lock:
            assert moment >= self._base + timedelta(seconds=time.monotonic() - self._mono), "time went backwards"
            self._base, self._mono = moment, time.monotonic()

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def epoch(self) -> float:
        return self.now().timestamp()


# -- the debtors and their phones ----------------------------------------------------------------------------------
@dataclass
class Spec:
    index: int
    behaviour: str        # delivered failed never saldo promesa baja gibberish night_baja shared_saldo shared
    number: str
    due: date
    personal: bool = True

    @property
    def id(self) -> str:
        return f"d{self.index:03d}"

    @property
    def loan(self) -> str:
        return f"L{self.index:03d}"

    def contact(self, step_id: str) -> str:
        return f"{self.id}:{self.loan}:1:{step_id}"


def specs() -> list[Spec]:
    out = []
    for i in range(200):
        if i < 10:                                # five pairs of debtors, each pair on one shared phone
            pair = i // 2
            out.append(Spec(i, "shared_saldo" if pair == 0 else "shared", f"+5732000000{pair:02d}",
                            START.date() + timedelta(days=4 + (pair * 5) % 17), personal=False))
            continue
        behaviour = ("failed" if i < 25 else "never" if i < 40 else "saldo" if i < 52 else "promesa" if i < 64
                     else "baja" if i < 70 else "gibberish" if i < 80 else "night_baja" if i == 80 else "delivered")
        out.append(Spec(i, behaviour, f"+5731{i:08d}", START.date() + timedelta(days=4 + (i * 7) % 17)))
    return out


def phone_outcome(spec: Spec) -> str:
    return {"failed": "failed", "never": "never"}.get(spec.behaviour, "delivered")


def auto_reply(spec: Spec) -> str | None:
    """What the simulated phone itself answers to *every* message (the simulator's auto_reply)."""
    return {"baja": "BAJA", "gibberish": GIBBERISH}.get(spec.behaviour)


# -- the independent model -----------------------------------------------------------------------------------------
def ticks() -> list[datetime]:
    out, day = [], START.date()
    while datetime.combine(day, dtime(0), tzinfo=BOGOTA) < END:
        out.extend(datetime.combine(day, dtime(h), tzinfo=BOGOTA) for h in TICK_HOURS)
        day += timedelta(days=1)
    return out


TICKS = ticks()


def in_hours(moment: datetime) -> bool:
    local = moment.astimezone(BOGOTA)
    window = WINDOWS.get(local.weekday())
    return (window is not None and local.date() not in HOLIDAYS and window[0] <= local.time() < window[1])


def first_tick(earliest: datetime, busy_days: set[date]) -> datetime | None:
    """The first tick at or after ``earliest`` inside the hours, on a day without another contact."""
    return next((t for t in TICKS if t >= earliest and in_hours(t) and t.date() not in busy_days), None)


@dataclass
class Expected:
    sends: dict[str, datetime] = field(default_factory=dict)      # contact id -> tick
    skipped: set[str] = field(default_factory=set)
    replies: list[datetime] = field(default_factory=list)


def night_baja_at(spec: Spec) -> datetime:
    """The night_baja phone sends BAJA at 22:00 on the day of its first reminder."""
    return datetime.combine(spec.due - timedelta(days=3), dtime(22), tzinfo=BOGOTA)


def night_shared_saldo_at(spec: Spec) -> datetime:
    """The shared_saldo phone also asks SALDO at 22:00 on the eve of its +3 step."""
    return datetime.combine(spec.due + timedelta(days=2), dtime(22), tzinfo=BOGOTA)


def expected_plan(spec: Spec) -> Expected:
    """When each of the debtor's reminders goes out (or that it does not), from the ladder and the rules."""
    out = Expected()
    busy: set[date] = set()
    last_reminder: datetime | None = None
    promise_until: date | None = None
    opted_out: datetime | None = night_baja_at(spec) if spec.behaviour == "night_baja" else None
    times = [datetime.combine(spec.due + timedelta(days=off), dtime(9), tzinfo=BOGOTA) for off, _ in STEPS]
    replies: list[datetime] = []
    if spec.behaviour == "shared_saldo":
        replies.append(night_shared_saldo_at(spec))
    for k, (_, step_id) in enumerate(STEPS):
        cid = spec.contact(step_id)
        deadline = times[k + 1] if k + 1 < len(STEPS) else times[k] + timedelta(days=VALIDITY_DAYS)
        earliest = times[k]
        if promise_until is not None and times[k].date() <= promise_until:
            earliest = max(earliest, datetime.combine(promise_until + timedelta(days=1), dtime(0), tzinfo=BOGOTA))
        tick = first_tick(earliest, busy)
        if tick is None or tick >= deadline or (opted_out is not None and tick > opted_out):
            out.skipped.add(cid)
            continue
        if step_id == "+7" and last_reminder is not None and any(last_reminder < r < tick for r in replies):
            out.skipped.add(cid)                                    # no_reply: the debtor answered
            continue
        if spec.behaviour == "baja" and out.sends:                  # it answered BAJA to its first reminder
            out.skipped.add(cid)
            continue
        out.sends[cid] = tick
        busy.add(tick.date())
        last_reminder = tick
        if spec.behaviour in ("saldo", "shared_saldo", "gibberish") or (spec.behaviour == "promesa"
                                                                        and promise_until is None):
            replies.append(tick + timedelta(seconds=1))
        if spec.behaviour == "promesa" and promise_until is None:
            promise_until = tick.date() + timedelta(days=PROMISE_AFTER_DAYS + GRACE_DAYS)
    out.replies = sorted(replies)
    return out


# -- the run ---------------------------------------------------------------------------------------------------------
@dataclass
class Sent:
    message_id: str
    number: str
    text: str
    at: datetime
    state: str
    submissions: list


class RecordingRadio:
    """The pool, plus which of the simulated network's submissions each send produced (one sender thread)."""

    def __init__(self, pool: ModemPool, sim: Simulator, clock: SimClock):
        self.pool, self.sim, self.clock = pool, sim, clock
        self.log: list[Sent] = []

    def send(self, number, text, *, message_id, transliterate=False):
        before = len(self.sim.network.submissions)
        at = self.clock.now()
        result = None
        try:
            result = self.pool.send(number, text, message_id=message_id, transliterate=transliterate)
            return result
        finally:
            with self.sim.lock:
                added = list(self.sim.network.submissions[before:])
            self.log.append(Sent(message_id, number, text, at, result.sent.state if result else "raised", added))


class Harness:
    def __init__(self, tmp_path, all_specs: list[Spec]):
        self.specs = {s.id: s for s in all_specs}
        self.by_number: dict[str, list[Spec]] = defaultdict(list)
        for s in all_specs:
            self.by_number[s.number].append(s)
        self.clock = SimClock(START - timedelta(hours=1))
        self.sim = Simulator("generic", link=tmp_path / "ttyGSM", boot_time=0.05, report_delay=0.02)
        self.sim.start()
        self.sim.network.set_time(self.clock.now())
        for s in all_specs:
            phone = self.sim.network.phone(s.number)
            phone.outcome = phone_outcome(s)
            phone.auto_reply = auto_reply(s)
        self.events: queue.Queue = queue.Queue()
        self.modem = Modem(self.sim.port, profile="generic", events=self.events, clock=self.clock.epoch,
                           timeouts=Timeouts(default=3.0, prompt=3.0, send=10.0, read=5.0, ussd=5.0, liveness=1.0,
                                             sim_ready=5.0),
                           send_backoff=Backoff(attempts=3, base=0.05, factor=2.0, cap=0.2),
                           reconnect_backoff=Backoff(attempts=1_000_000, base=0.05, factor=2.0, cap=0.5),
                           report_expiry=2 * 86400.0, maintenance_interval=0.05, boot_settle=0.3,
                           # A +CMTI for a slot whose deletion has just been answered can be ignored (the
                           # index is still in Inbox.offered: modem/incoming.py, on_stored vs _delete_now);
                           # the SIM sweep is the net that finds such a message: run it every 2 s, not 5 min.
                           sim_sweep_interval=2.0)
        self.modem.open()
        self.pool = ModemPool([PoolMember("sim1", self.modem)])
        # The dispatcher reads HISTORY_DAYS (120 days) of contacts on every drain; the ledger keeps only
        # ``recent_months`` decoded in memory (default 2) and decodes older queries from the partitions on
        # disk each time. Five months cover 120 days (without it, from April on, every drain re-reads
        # the whole log: 2/3 of this test's time).
        self.ledger = Ledger.open(tmp_path / "data", clock=self.clock.now, recent_months=5)
        self.handler = ReplyHandler(self.ledger, lambda: POLICY, clock=self.clock.now)
        self.recorder = EventRecorder(self.ledger, self.events, country="CO", on_reply=self.handler.handle)
        self.radio = RecordingRadio(self.pool, self.sim, self.clock)
        self.dispatcher = Dispatcher(self.ledger, self.radio, lambda: POLICY, clock=self.clock.now)
        self.finals: Counter = Counter()             # message id -> final DeliveryUpdates seen
        self.incoming: Counter = Counter()           # sender -> IncomingSms seen
        self.test_replies: list[tuple[datetime, str, str]] = []

    def close(self):
        self.dispatcher.close()
        self.pool.close()
        self.modem.close()
        self.sim.close()
        self.ledger.close()

    def load(self, all_specs):
        debtors = [Debtor(s.id, f"Socio{s.index} Prueba", phones=(Phone(s.number, personal=s.personal),))
                   for s in all_specs]
        loans = [Loan(s.loan, s.id, instalments=(Instalment(1, s.due, Decimal(150000)),)) for s in all_specs]
        self.ledger.import_batch(debtors, loans, source="mes.xlsx", now=self.clock.now())

    # events ---------------------------------------------------------------------------------------------
    def record(self, event) -> None:
        if isinstance(event, ev.DeliveryUpdate) and event.final:
            self.finals[event.message_id] += 1
        if isinstance(event, ev.IncomingSms):
            self.incoming[event.sender] += 1
        self.recorder.handle(event)

    def pump(self, timeout: float = 0.0) -> bool:
        try:
            event = self.events.get(timeout=timeout) if timeout else self.events.get_nowait()
        except queue.Empty:
            return False
        self.record(event)
        return True

    def settle(self, reports: set[str], incoming: Counter, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while any(self.finals[m] == 0 for m in reports) or any(self.incoming[n] < c for n, c in incoming.items()):
            if time.monotonic() > deadline:
                missing = [m for m in reports if not self.finals[m]]
                short = {n: (self.incoming[n], c) for n, c in incoming.items() if self.incoming[n] < c}
                raise AssertionError(f"{what}: reports missing {missing[:5]}, replies missing {short}; the SMSC holds "
                                     f"{self.sim.network.waiting}, the SIM {len(self.sim.storage)}; last wire "
                                     f"traffic:\n{self.sim.transcript(400)}")
            self.pump(0.05)
        while self.pump():
            pass

    def send_from(self, number: str, text: str) -> None:
        self.test_replies.append((self.clock.now(), number, text))
        self.sim.network.phone(number).send(text)

    # one tick ----------------------------------------------------------------------------------------------
    def tick(self, moment: datetime) -> None:
        self.clock.jump(moment)
        with self.sim.lock:
            self.sim.network.set_time(moment)
        while self.pump():
            pass
        injected: Counter = Counter()
        for s in self.specs.values():                   # messages the phones' owners type at night
            if s.behaviour == "night_baja" and moment == night_baja_at(s):
                self.send_from(s.number, "BAJA")
                injected[s.number] += 1
            if s.behaviour == "shared_saldo" and moment == night_shared_saldo_at(s) and s.index % 2 == 0:
                self.send_from(s.number, "SALDO")
                injected[s.number] += 1
        if injected:
            self.settle(set(), injected + self.incoming, f"night messages at {moment}")
        for round_ in range(10):
            first = len(self.radio.log)
            self.dispatcher.drain()
            new = self.radio.log[first:]
            if not new:
                return
            reports, incoming = set(), Counter()
            promised: set[str] = set()
            answered: set[str] = set()          # a person answers two messages that came together once
            for sent in new:
                owners = self.by_number.get(sent.number, [])
                assert sent.state == "sent", sent
                outcome = phone_outcome(owners[0]) if owners else "delivered"
                if outcome != "never":
                    reports.add(sent.message_id)
                if owners and auto_reply(owners[0]) and outcome != "failed":
                    incoming[sent.number] += 1
                if sent.message_id.startswith("auto:") or not owners:
                    continue
                spec = self.specs[sent.message_id.split(":", 1)[0]]
                reply = None
                if spec.behaviour in ("saldo", "shared_saldo") and spec.number not in answered:
                    reply = "SALDO"
                    answered.add(spec.number)
                elif spec.behaviour == "promesa" and spec.id not in promised and not self._promised(spec):
                    day = moment.date() + timedelta(days=PROMISE_AFTER_DAYS)
                    reply = f"PROMESA {day:%d/%m}"
                    promised.add(spec.id)
                if reply:
                    self.send_from(spec.number, reply)
                    incoming[spec.number] += 1
            self.settle(reports, incoming + self.incoming, f"tick {moment:%Y-%m-%d %H:%M} round {round_}")
        raise AssertionError(f"tick {moment}: answers keep going back and forth after 10 rounds: "
                             f"{[(s.number, s.message_id) for s in self.radio.log[-6:]]}")

    def _promised(self, spec: Spec) -> bool:
        return any(n == spec.number and t.startswith("PROMESA") for _, n, t in self.test_replies)


# -- the test ----------------------------------------------------------------------------------------------------------
def test_a_month_of_reminders_for_200_debtors(tmp_path):
    started = time.monotonic()
    all_specs = specs()
    h = Harness(tmp_path, all_specs)
    try:
        h.load(all_specs)
        for moment in TICKS:
            h.tick(moment)
        # the last reports ("never" phones expire two simulated days after their last message)
        h.clock.jump(END + timedelta(days=3))
        deadline = time.monotonic() + 10
        never = {s.number for s in all_specs if phone_outcome(s) == "never"}
        outstanding = lambda: [s for s in h.radio.log if s.number in never and not h.finals[s.message_id]]
        while outstanding() and time.monotonic() < deadline:
            h.pump(0.05)
        while h.pump():
            pass
        check_month(h, all_specs)
    finally:
        h.close()
    elapsed = time.monotonic() - started
    reminders = sum(1 for s in h.radio.log if not s.message_id.startswith("auto:"))
    skipped = sum(len(expected_plan(s).skipped) for s in all_specs)
    print(f"month: {len(all_specs)} debtors, {reminders} reminders ({skipped} steps rightly not sent), "
          f"{len(h.radio.log) - reminders} answers, {len(h.sim.network.submissions)} submissions, "
          f"{sum(h.incoming.values())} replies, {len(TICKS)} ticks, {elapsed:.1f} s")
    assert elapsed < 180


def check_month(h: Harness, all_specs: list[Spec]) -> None:
    contacts = h.ledger.contacts(since=START - timedelta(days=1))
    by_contact: dict[str, list] = defaultdict(list)
    for e in contacts:
        if e.contact_id and e.direction == "outbound":
            by_contact[e.contact_id].append(e)
    log = {s.message_id: s for s in h.radio.log}
    assert len(log) == len(h.radio.log), "a contact id was handed to the radio twice"

    # 1. the reminders: exactly the expected ones, at the expected ticks
    expected = {s.id: expected_plan(s) for s in all_specs}
    want = {cid: tick for e in expected.values() for cid, tick in e.sends.items()}
    got = {m: s.at for m, s in log.items() if not m.startswith("auto:")}
    assert sorted(got) == sorted(want), (sorted(set(got) - set(want))[:10], sorted(set(want) - set(got))[:10])
    late = {cid: (got[cid], want[cid]) for cid in want if not want[cid] <= got[cid] < want[cid] + timedelta(minutes=10)}
    assert not late, list(late.items())[:5]

    # 2. one final state each, the one the phone's behaviour gives; on the contact that caused it
    final_kind = {"delivered": "delivered", "failed": "failed", "never": "expired"}
    for cid, sent in log.items():
        events = by_contact[cid]
        kinds = Counter(e.kind for e in events)
        owners = h.by_number[sent.number]
        planned = ["planned"] if cid.startswith("auto:") else []       # an answer is planned by the responder
        assert kinds == Counter(planned + ["sending", "sent", final_kind[phone_outcome(owners[0])]]), (cid, kinds)
        debtor_ids = {e.debtor_id for e in events}
        if not cid.startswith("auto:"):
            assert debtor_ids == {cid.split(":")[0]}, (cid, debtor_ids)   # a shared phone's report: one contact
        assert h.finals[cid] == 1, (cid, h.finals[cid])
    stray = [e for e in contacts if e.kind in ("delivered", "failed", "expired") and e.contact_id not in log]
    assert not stray, stray[:3]

    # 3. no contact twice at the network; each submission is its contact's number and text
    for cid, sent in log.items():
        assert sent.submissions, cid
        text = "".join(sub.message.text for sub in sent.submissions)
        numbers = {sub.message.number for sub in sent.submissions}
        sending = [e for e in by_contact[cid] if e.kind == "sending"]
        assert len(sending) == 1 and numbers == {sending[0].phone} and text == sending[0].text, cid
    attributed = sum(len(s.submissions) for s in h.radio.log)
    assert attributed == len(h.sim.network.submissions)                 # nothing reached the network unseen

    # 4. contact hours, by the network's (simulated) clock; only the opt-out confirmation may go at night
    for sent in h.radio.log:
        for sub in sent.submissions:
            if not in_hours(sub.when):
                assert sent.message_id.endswith(":opt_out"), (sent.message_id, sub.when, sent.text)

    # 5. the opted-out numbers get nothing after their one confirmation
    for s in all_specs:
        if s.behaviour not in ("baja", "night_baja"):
            continue
        mine = [x for x in h.radio.log if x.number == s.number]
        confirmations = [i for i, x in enumerate(mine) if x.message_id.endswith(":opt_out")]
        assert len(confirmations) == 1, (s.id, [x.message_id for x in mine])
        assert confirmations[0] == len(mine) - 1, (s.id, [x.message_id for x in mine])
        assert h.ledger.opted_out(s.number)
    baja = [s for s in all_specs if s.behaviour == "baja"][0]
    assert h.incoming[baja.number] == 2            # BAJA to the reminder, BAJA again to the confirmation
    night_spec = [s for s in all_specs if s.behaviour == "night_baja"][0]
    night = [x for x in h.radio.log if x.number == night_spec.number]
    assert len(night) == 2                                               # its first reminder, the confirmation
    assert night[-1].at - night_baja_at(night_spec) < timedelta(minutes=10)   # confirmed at once, at night

    # 6. promises: recorded with the date the debtor gave; no reminder between the reply and date + grace
    for s in all_specs:
        if s.behaviour != "promesa":
            continue
        [promise] = h.ledger.promises(s.id)
        first = min(x.at for x in h.radio.log if x.number == s.number and not x.message_id.startswith("auto:"))
        assert promise.due_date == first.date() + timedelta(days=PROMISE_AFTER_DAYS), s.id
        paused_until = datetime.combine(promise.due_date + timedelta(days=GRACE_DAYS + 1), dtime(0), tzinfo=BOGOTA)
        during = [x for x in h.radio.log if x.number == s.number and not x.message_id.startswith("auto:")
                  and first < x.at < paused_until]
        assert not during, (s.id, [(x.message_id, x.at) for x in during])
        answers = [x for x in h.radio.log if x.number == s.number and x.message_id.endswith(":promise")]
        assert len(answers) == 1 and f"{promise.due_date:%d/%m}" in answers[0].text

    # 7. balances: one answer per SALDO; amounts only to personal phones
    for s in all_specs:
        asked = sum(1 for _, n, t in h.test_replies if n == s.number and t == "SALDO")
        answers = [x for x in h.radio.log if x.number == s.number and x.message_id.startswith("auto:")]
        if s.behaviour == "saldo":
            assert len(answers) == asked == len(expected[s.id].sends)
            assert all(x.message_id.endswith(":balance") and "$" in x.text for x in answers)
        elif s.behaviour == "shared_saldo":
            assert len(answers) == asked
            assert all(x.message_id.endswith(":balance_shared") and "$" not in x.text for x in answers)
    for x in h.radio.log:
        if not all(o.personal for o in h.by_number.get(x.number, [])):
            assert "$" not in x.text, (x.message_id, x.text)
    # the night SALDO from the shared phone is answered at the next contact hour, not at night
    pair = [s for s in all_specs if s.behaviour == "shared_saldo"][0]
    asked_at = night_shared_saldo_at(pair)
    after = [x for x in h.radio.log if x.number == pair.number and x.message_id.startswith("auto:") and x.at > asked_at]
    assert after and after[0].at.astimezone(BOGOTA).date() > asked_at.date()
    assert after[0].at - first_tick(asked_at, set()) < timedelta(minutes=10), after[0].at

    # 8. gibberish goes to a person (the inbox) and gets no answer
    for s in all_specs:
        if s.behaviour == "gibberish":
            assert not [x for x in h.radio.log if x.number == s.number and x.message_id.startswith("auto:")]
            notes = [e for e in h.ledger.contacts(debtor_id=s.id) if e.kind == "note"]
            assert notes and all(n.text == "bandeja" for n in notes)
