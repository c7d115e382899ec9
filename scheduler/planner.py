"""The planner: a pure function ``(ledger snapshot, policy, now) -> decisions``.

For every debtor (in id order) and each of their loans, the planner looks at
the loan's *oldest unpaid instalment* and at the ladder of the debtor's
segment, finds the step whose time has come (the last one at or before
``now``; earlier ones it superseded) and decides:

- ``send`` now — every rule allows it, the clock is trusted, sending is not
  paused and the SIM has budget;
- ``wait`` until an instant it names (``at``) — quiet hours, a holiday, a
  cap, a pending promise, the step's own time not come yet, the clock, the
  pause or the SIM's budget;
- ``skip`` — nothing will make it sendable: a paid instalment, a closed
  loan, an opted-out or unauthorised phone, a reply since the previous step,
  or a rule that holds until the next step takes over.

With ``policy.thank_you`` on, an instalment a payment recorded on the appliance paid in full on or
before its due date, at most ``policy.thank_you_days`` days ago, gets one thank-you SMS
(:data:`~scheduler.ladder.THANK_YOU`, step ``gracias``; the shared-phone text of ``gracias_pago``
on a shared phone) under the same rules as a reminder — hours, caps, opt-outs, authorised
channels, clock, pause — once every debtor's reminders are decided, while nothing of the debtor is
late; one per loan, for the last instalment so paid; never again once attempted.

Every decision carries a :class:`~scheduler.reasons.Reason` and a stable
``contact_id`` (debtor + loan + instalment + step) so the dispatcher sends a
contact at most once and a status report or a reply finds its contact.
Caps count the attempts in the snapshot's contact log *and* the sends this
plan already decided (two loans of one debtor due the same day: one goes
today, the other waits).

The snapshot needs ``debtors``, ``loans_of(id)``, ``payments_of(id)``,
``promises_of(id)``, ``contacts`` (events since at least
:data:`HISTORY_DAYS` before ``now``) — :class:`firmware_py.ledger.results.LedgerSnapshot` has them.
Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from operator import attrgetter
from typing import Any, Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from scheduler.clock import ClockTrust
from scheduler.collector import collector_paused
from scheduler.contact_state import REACHED, Digest, outcomes
from scheduler.fastbuild import frozen_builder
from scheduler.ladder import THANK_YOU, THANK_YOU_ID, Ladder, Occurrence, Step
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Promise, promise_status
from scheduler.policy import Policy
from scheduler.reasons import Reason, describe
from scheduler.rules.check import (Attempt, Lookback, attempts_from_events, attempts_matter, earliest_allowed,
                                   lookbacks)
from scheduler.segments import (MIN_OBSERVATIONS, NO_SEGMENT, _cover_dates, best_hour, debtor_features,
                                rules_read_amounts, segment_rule_for)
from scheduler.templates import MessageFacts, transliterated

HISTORY_DAYS = 120
"""How far back the planner needs the contact log: the longest a step can wait plus the rolling week.
A contact already attempted (see :mod:`scheduler.contact_state`: sent, failed, in doubt) is never planned
again; one the radio certainly did not send (``retry``) is planned again."""


SEND, WAIT, SKIP = "send", "wait", "skip"
_ORDER = {SEND: 0, WAIT: 1, SKIP: 2}


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision. ``at`` is aware, in the debtor's zone: when to send (``send``: now; ``wait``: the
    instant the blocking reason ends; ``skip``: when it was evaluated). ``text`` is the rendered
    message for ``send`` and ``wait`` (empty for ``skip`` and for a step whose day has not come).
    ``instalment`` is ``None`` and ``step`` empty for decisions about a whole loan.

    ``text`` may be given as a function that renders it: the planner gives a ``wait`` or ``skip``
    its text that way, since most of them are never read (a plan of 100,000 loans has some hundreds
    of sends). It is rendered the first time it is read — by equality, ``repr``, ``to_dict`` and
    ``dataclasses.replace`` too — and kept."""

    contact_id: str
    debtor_id: str
    loan: str
    instalment: int | None
    step: str
    channel: str
    phone: str
    template: str
    text: str
    at: datetime
    action: str
    reason: Reason
    segment: str
    detail: str = ""
    _text: str | Callable[[], str] = field(init=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``debtor``, ``loan``, ``channel``, ``at`` (ISO 8601 with offset), ``action``,
        ``reason`` and the rest."""
        return {"contact_id": self.contact_id, "loan": self.loan, "instalment": self.instalment, "step": self.step,
                "channel": self.channel, "phone": self.phone, "template": self.template, "text": self.text,
                "at": self.at.isoformat(), "action": self.action, "reason": self.reason.value,
                "segment": self.segment, "detail": self.detail, "debtor": self.debtor_id,
                "reason_text": describe(self.reason)}


def _text_of(decision: Decision) -> str:
    text = decision._text
    if type(text) is not str:
        text = text()  # rendered once; a race renders the same text twice
        object.__setattr__(decision, "_text", text)
    return text


def _keep_text(decision: Decision, text: str | Callable[[], str]) -> None:
    object.__setattr__(decision, "_text", text)


Decision.text = property(_text_of, _keep_text, doc="The message (see :class:`Decision`).")  # type: ignore


_new_decision = frozen_builder(Decision, attributes={"text": "_text"})
"""``Decision(...)``, several times faster (:func:`~scheduler.fastbuild.frozen_builder`): one per loan."""


def contact_id(debtor_id: str, loan_id: str, instalment: int, step_id: str) -> str:
    """The stable id of one contact: the same debtor, loan, instalment and step always give the same id."""
    return f"{debtor_id}:{loan_id}:{instalment}:{step_id}"


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def plan(snapshot, policy: Policy, now: datetime, *, debtor_ids: Iterable[str] | None = None) -> tuple[Decision, ...]:
    """Decide for every debtor (or only ``debtor_ids``). Pure: the same inputs give the same decisions.

    ``policy`` should already carry the ledger's live settings
    (:meth:`Policy.with_settings`). Raises ``ValueError`` for a naive ``now``.

    Loans that share a ladder, a due date, a zone and an hour share their place on the calendar,
    and a step's earliest allowed instant is computed once for every debtor whose history cannot
    change it (see :class:`_Run`): :func:`reference_plan` gives the same decisions without these
    shortcuts.
    """
    return _plan(snapshot, policy, now, debtor_ids, shortcuts=True)


def reference_plan(snapshot, policy: Policy, now: datetime, *,
                   debtor_ids: Iterable[str] | None = None) -> tuple[Decision, ...]:
    """:func:`plan` the long way: every loan's steps placed on the calendar and every rule checked
    against the debtor's own history, nothing shared between loans or debtors. Slower; it exists so
    that tests can check that :func:`plan`'s shortcuts never change a decision."""
    return _plan(snapshot, policy, now, debtor_ids, shortcuts=False)


def _plan(snapshot, policy: Policy, now: datetime, debtor_ids: Iterable[str] | None, *,
          shortcuts: bool, memo: _Memo | None = None) -> tuple[Decision, ...]:
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    # A plan allocates a few objects per loan and makes no reference cycles: the garbage collector's passes
    # over the whole heap while it runs find nothing to free (~6 % of a plan of 100,000 loans).
    with collector_paused():
        return _plan_all(snapshot, policy, now, debtor_ids, shortcuts=shortcuts, memo=memo)


def _plan_all(snapshot, policy: Policy, now: datetime, debtor_ids: Iterable[str] | None, *,
              shortcuts: bool, memo: _Memo | None) -> tuple[Decision, ...]:
    coop_zone = _zone(policy.timezone)
    coop_today = now.astimezone(coop_zone).date()
    # the debtors' events: a LedgerSnapshot has them grouped already (contacts_of), in log order, and gives
    # what the planner reads of them (contacts_digest) without building most of them
    history_of = getattr(snapshot, "contacts_digest", None) or getattr(snapshot, "contacts_of", None) \
        if shortcuts else None
    # what a Planner compares to know a debtor's events unchanged (cheaper than the events from a view)
    token_of = getattr(snapshot, "contacts_token", None) if memo is not None else None
    by_debtor: dict[str, list[ContactEvent]] | None = None
    if history_of is None:
        by_debtor = {}
        for event in snapshot.contacts:
            events = by_debtor.get(event.debtor_id)
            if events is None:
                by_debtor[event.debtor_id] = [event]
            else:
                events.append(event)
    # an event written more than two days from coop_today (in its own offset) is not on it in any zone
    low, high = coop_today - _TWO_DAYS, coop_today + _TWO_DAYS
    matching = getattr(snapshot, "contacts_matching", None) if shortcuts else None
    if matching is not None:
        # the instants of coop_today in the cooperative's zone, widened by a few hours (a midnight that a
        # clock change skips or repeats); the exact test below decides
        nearby = matching(since=datetime.combine(coop_today, time(0), tzinfo=coop_zone) - _A_FEW_HOURS,
                          until=datetime.combine(coop_today + _ONE_DAY, time(0), tzinfo=coop_zone) + _A_FEW_HOURS,
                          kinds=("sent",))
    else:
        nearby = snapshot.contacts
    sms_today = sum(1 for event in nearby
                    if event.kind == "sent" and event.channel == "sms" and event.direction == "outbound"
                    and (not shortcuts or low <= event.at.date() <= high)
                    and event.at.astimezone(coop_zone).date() == coop_today)
    budget = _Budget(None if policy.daily_sms_cap is None else max(policy.daily_sms_cap - sms_today, 0),
                     datetime.combine(coop_today + timedelta(days=1), time(0), tzinfo=coop_zone))
    wanted = None if debtor_ids is None else set(debtor_ids)
    run = _Run(policy, now, shortcuts)
    decisions: list[Decision] = []
    thanks = []
    records_of = getattr(snapshot, "records_of", None)  # a LedgerSnapshot's three lookups in one
    if records_of is None:
        def records_of(debtor_id: str) -> tuple[Sequence[Loan], Sequence[Payment], Sequence[Promise]]:
            return snapshot.loans_of(debtor_id), snapshot.payments_of(debtor_id), snapshot.promises_of(debtor_id)
    for debtor in sorted(snapshot.debtors, key=_debtor_id):
        debtor_id = debtor.id
        if wanted is not None and debtor_id not in wanted:
            continue
        loans, payments, promises = records_of(debtor_id)
        if not loans:
            continue
        if memo is None:
            events = history_of(debtor_id) if by_debtor is None else by_debtor.get(debtor_id, ())
            thank = _plan_debtor(decisions, run, debtor, loans, payments, promises, events, budget, None)
        else:
            if token_of is not None:
                events, history = None, token_of(debtor_id)
            else:  # the events themselves (or what stands for them) are the key
                events = history = history_of(debtor_id) if by_debtor is None else by_debtor.get(debtor_id, ())
            inputs = (debtor, loans, payments, promises, history)
            local_now, wall = run.walls(debtor.timezone)
            if memo.replay(decisions, debtor_id, inputs, wall, local_now, run, budget):
                continue
            if events is None:
                events = history_of(debtor_id) if by_debtor is None else by_debtor.get(debtor_id, ())
            start = len(decisions)
            horizon = _Horizon(run, debtor.timezone)
            thank = _plan_debtor(decisions, run, debtor, loans, payments, promises, events, budget, horizon)
            if thank is not None:
                horizon.until = None  # a thank-you spends the budget after every reminder
            memo.remember(debtor_id, inputs, wall, local_now, run, decisions, start, horizon)
        if thank is not None:
            thanks.append(thank)
    for thank in thanks:
        thank()
    if shortcuts:
        _sort(decisions)
    else:
        decisions.sort(key=_order)
    return tuple(decisions)


_debtor_id = attrgetter("id")


def _order(decision: Decision) -> tuple:
    """The order of the plan: sends, waits, skips; then by time, debtor, loan and step."""
    return _ORDER[decision.action], decision.at, decision.debtor_id, decision.loan, decision.step


def _sort(decisions: list[Decision]) -> None:
    """``decisions.sort(key=_order)``, faster. Comparing two instants of different zones converts
    both; when no ``at`` is ambiguous or skipped by a clock change (its offset does not depend on
    ``fold``), every comparison — in one zone or across zones — is that of the UTC instants. A plan
    has few distinct instants (loans share their place on the calendar) and comes out of the
    planner nearly in debtor order: the decisions are grouped by action and instant, the groups
    sorted, and each group sorted by debtor, loan and step (a sort of a nearly sorted list costs
    about one comparison per item)."""
    groups: dict[tuple[int, int], list[Decision]] = {}
    instants: dict[int, datetime] = {}
    for decision in decisions:
        at = decision.at
        key = (_ORDER[decision.action], id(at))
        group = groups.get(key)
        if group is None:
            groups[key] = [decision]
            if id(at) not in instants:
                offset = at.utcoffset()
                if at.replace(fold=1 - at.fold).utcoffset() != offset:
                    decisions.sort(key=_order)
                    return
                instants[id(at)] = at.replace(tzinfo=None) - offset
        else:
            group.append(decision)
    # the same action and instant written with different ``at`` objects (zones) make one group
    merged: dict[tuple[int, datetime], list[Decision]] = {}
    for (order, at_id), group in groups.items():
        key = (order, instants[at_id])
        found = merged.get(key)
        if found is None:
            merged[key] = group
        else:
            found.extend(group)
    out: list[Decision] = []
    for key in sorted(merged):
        group = merged[key]
        if len(group) > 1:
            group.sort(key=_tail)
        out.extend(group)
    decisions[:] = out


_tail = attrgetter("debtor_id", "loan", "step")


class Planner:
    """:func:`plan` with a memory: what it decided for each debtor is kept and given again, without
    deciding anew, while those decisions cannot have changed — the appliance plans every few seconds
    (the dispatcher, the status file, the dashboard) and between two plans most debtors' records and
    clock position are the same.

    A debtor's decisions are kept only when none of them depends on the instant within the day or on
    the other debtors: no step's time has come (so nothing checks the contact rules at ``now``, the
    SIM's daily budget, the clock's trust or the pause) and no thank-you is due. They are given again
    while the debtor's records (the debtor, loans, payments, promises and contact events, compared by
    value — the events through the snapshot's ``contacts_token`` when it has one, so that a view of the
    ledger's window builds only the events of the debtors decided anew), the policy (but for its clock trust and pause, which such decisions do not read) are the
    same and the debtor's local wall-clock time is between when they were made and the first of: the
    next local midnight, the time of the next step of any of their loans. A ``skip`` (loan closed,
    instalment paid, ladder done) is stamped again with the new ``now``. Anything else is decided as
    :func:`plan` does; the result is always exactly :func:`plan`'s (a property test holds them equal
    over random sequences of edits and clock steps, forwards and backwards).

    Thread-safe: plans made through one planner run one at a time. ``reused`` says how many debtors
    the last plan took from memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Policy | None = None
        self._entries: dict[str, _Entry] = {}
        self.reused = 0

    def plan(self, snapshot, policy: Policy, now: datetime, *,
             debtor_ids: Iterable[str] | None = None) -> tuple[Decision, ...]:
        """:func:`plan`'s decisions (see the class)."""
        key = replace(policy, clock=_ANY_CLOCK, paused=False)
        with self._lock:
            if key != self._key:
                self._key, self._entries = key, {}
            memo = _Memo(self._entries, keep_others=debtor_ids is not None)
            decisions = _plan(snapshot, policy, now, debtor_ids, shortcuts=True, memo=memo)
            self._entries, self.reused = memo.entries, memo.reused
            return decisions

    def forget(self) -> None:
        """Drop every kept decision (the next plan decides every debtor)."""
        with self._lock:
            self._key, self._entries = None, {}


_ANY_CLOCK = ClockTrust(False, "memo", "")  # what a Planner's policy key carries instead of the clock trust


@dataclass(slots=True)
class _Entry:
    """One debtor's kept decisions: the inputs they were made from, the interval they hold for (as local
    wall-clock times, naive, and as POSIX instants: ``since <= now < until`` in both), what else they
    read (see :class:`_Horizon`), those to give as they are and the skips to stamp with the new ``now``."""

    inputs: tuple
    since: datetime
    until: datetime
    since_ts: float
    until_ts: float
    clock: ClockTrust | None
    paused: bool | None
    spent: datetime | None
    fixed: tuple[Decision, ...]
    stamped: tuple[Decision, ...]


class _Memo:
    """The entries of one :meth:`Planner.plan` call: ``entries`` ends up holding the debtors planned
    (reused or kept anew) and — with ``keep_others``, a plan of some debtors only — every other
    entry as it was."""

    __slots__ = ("_old", "entries", "reused")

    def __init__(self, entries: dict[str, _Entry], *, keep_others: bool) -> None:
        self._old = entries
        self.entries: dict[str, _Entry] = dict(entries) if keep_others else {}
        self.reused = 0

    def replay(self, out: list[Decision], debtor_id: str, inputs: tuple, wall: datetime, local_now: datetime,
               run: _Run, budget: _Budget) -> bool:
        """Append the debtor's kept decisions to ``out`` if they still hold; False: decide anew."""
        entry = self._old.get(debtor_id)
        if (entry is None or not entry.since <= wall < entry.until or not entry.since_ts <= run.stamp < entry.until_ts
                or entry.inputs != inputs):
            return False
        policy = run.policy
        if entry.clock is not None and entry.clock != policy.clock:
            return False
        if entry.paused is not None and entry.paused != policy.paused:
            return False
        if entry.spent is not None and (budget.remaining is None or budget.remaining > 0
                                        or budget.resets_at != entry.spent):
            return False
        out.extend(entry.fixed)
        for decision in entry.stamped:
            out.append(_restamped(decision, local_now))
        self.entries[debtor_id] = entry
        self.reused += 1
        return True

    def remember(self, debtor_id: str, inputs: tuple, wall: datetime, local_now: datetime, run: _Run,
                 decisions: list[Decision], start: int, horizon: _Horizon) -> None:
        """Keep ``decisions[start:]`` (the debtor's, just made) as ``horizon`` says (``until`` ``None``:
        not kept)."""
        if horizon.until is None or not (wall < horizon.until and run.stamp < horizon.until_ts):
            self.entries.pop(debtor_id, None)
            return
        made = decisions[start:]
        self.entries[debtor_id] = _Entry(inputs, wall, horizon.until, run.stamp, horizon.until_ts, horizon.clock,
                                         horizon.paused, horizon.spent,
                                         tuple(d for d in made if d.at is not local_now),
                                         tuple(d for d in made if d.at is local_now))


def _restamped(decision: Decision, at: datetime) -> Decision:
    """The same decision evaluated at ``at``."""
    d = decision
    return _new_decision(d.contact_id, d.debtor_id, d.loan, d.instalment, d.step, d.channel, d.phone, d.template,
                         d._text, at, d.action, d.reason, d.segment, d.detail)


class _Horizon:
    """What one debtor's decisions rest on besides their records and the policy (see :class:`Planner`):
    ``until``, a naive wall-clock time in the debtor's zone before which they hold — lowered to each
    instant one of them changes at, ``None`` once one depends on more than such instants (a send, a
    rule answer that could move) — and what else they read: the clock's trust (``clock``, ``None``:
    not read), the pause (``paused``, ``None``: not read), an SMS budget found spent (``spent``: the
    instant it resets, ``None``: not read)."""

    __slots__ = ("run", "until", "until_ts", "clock", "paused", "spent")

    def __init__(self, run: _Run, zone_name: str) -> None:
        self.run = run
        self.until: datetime | None
        self.until, self.until_ts = run.midnight(zone_name)
        self.clock: ClockTrust | None = None
        self.paused: bool | None = None
        self.spent: datetime | None = None

    def until_wall(self, moment: datetime) -> None:
        """The decisions change at ``moment`` (aware, in the debtor's zone). Kept both as the wall-clock
        time (what the ladder's times and the day are compared in) and as the instant (what the contact
        rules' blocks end at): the decisions hold while now is before both (a clock turned back for
        daylight saving repeats wall-clock times)."""
        if self.until is not None:
            wall, stamp = self.run.wall_and_stamp(moment)
            if wall < self.until:
                self.until = wall
            if stamp < self.until_ts:
                self.until_ts = stamp

    def blocked(self, block, profile, local_now: datetime) -> None:
        """A contact rule forbids a contact at ``local_now`` until ``block.until``: from any later instant
        before that, the same rule is the first to forbid it and the walk to the earliest allowed instant
        ends where it did (see :func:`~scheduler.rules.check.earliest_allowed`, which steps at least a
        second). A cap's block is also bounded by the end of the hour window it was found in (outside
        it, the quiet hours are the first rule)."""
        self.until_wall(block.until.astimezone(local_now.tzinfo) - _ONE_SECOND)
        if block.reason not in _DAY_RULES:
            self.allowed(profile, local_now)

    def allowed(self, profile, local_now: datetime) -> None:
        """The hour window of ``profile`` that holds ``local_now`` ends: a rule may forbid from then on
        (with every attempt in the past, the caps only loosen as time passes)."""
        if self.until is None:
            return
        moment = local_now.time()
        for start, end in profile.windows_on(local_now.weekday()):
            if start <= moment and (end == _MIDNIGHT or moment < end):
                if end != _MIDNIGHT:
                    self.until_wall(datetime.combine(local_now.date(), end, tzinfo=local_now.tzinfo))
                return
        self.until = None  # not inside a window: nothing to rest on


_DAY_RULES = frozenset({Reason.HOLIDAY, Reason.SUNDAY, Reason.CLOSED_DAY, Reason.QUIET_HOURS})
_ONE_SECOND = timedelta(seconds=1)
_MIDNIGHT = time(0)


@dataclass
class _Budget:
    remaining: int | None
    resets_at: datetime


@dataclass(slots=True)
class _Intent:
    loan: Loan
    instalment: Instalment
    occurrence: Occurrence
    contact_id: str
    deadline: datetime
    days_late: int


@dataclass(frozen=True, slots=True)
class _Timeline:
    """An instalment's ladder placed on the calendar at ``now``: each occurrence and its local time,
    ``current`` (the index of the last one whose time has come, -1: none), ``following`` (the next
    one's index, ``None``: no more), ``deadline`` (when the current one lapses: the following one's
    time, or its own plus the policy's ``step_validity_days``; ``None`` without a current one) and
    ``detail`` (how a wait for the following one describes it)."""

    occurrences: tuple[Occurrence, ...]
    times: tuple[datetime, ...]
    current: int
    following: int | None
    deadline: datetime | None
    detail: str


def _timeline(occurrences: tuple[Occurrence, ...], local_now: datetime, zone: ZoneInfo, hour: time | None,
              profile, validity_days: int) -> _Timeline:
    """Where ``occurrences`` (an instalment's ladder, :meth:`Ladder.occurrences`) stand at ``local_now``."""
    times = tuple(_when(o, zone, hour, profile) for o in occurrences)
    current = -1
    for index, moment in enumerate(times):
        if moment <= local_now:
            current = index
        else:
            break
    following = current + 1 if current + 1 < len(occurrences) else None
    deadline = None
    if current >= 0:
        deadline = times[following] if following is not None else times[current] + timedelta(days=validity_days)
    detail = f"paso {occurrences[following].step.describe_es()}" if following is not None else ""
    return _Timeline(occurrences, times, current, following, deadline, detail)


class _Run:
    """What one :func:`plan` call works out once: each zone's local time and day, each profile's
    holiday calendar and the attempts its rules count per channel
    (:func:`~scheduler.rules.check.lookbacks`), and — with ``shortcuts`` — memos of two pure
    functions whose inputs repeat across loans and debtors:

    - :func:`_timeline`, keyed by what it reads (the ladder, the due date, the zone, the best hour,
      and the profile only when a best hour is known); the ladder's occurrences, keyed by the
      ladder, the due date and the day;
    - :func:`~scheduler.rules.check.earliest_allowed` for a debtor whose attempts cannot matter from
      the start instant on (:meth:`_History.may_matter`), where it equals the answer without
      attempts, keyed by the start (the timeline of the step, or now in the zone), the profile and
      the channel.

    Without ``shortcuts`` both are computed for every loan, with the debtor's own attempts."""

    def __init__(self, policy: Policy, now: datetime, shortcuts: bool) -> None:
        self.policy = policy
        self.now = now
        self.shortcuts = shortcuts
        # the segment rules' amounts are summed only for rules that read them (and always the long way)
        self.amounts = not shortcuts or rules_read_amounts(policy.segments)
        self._zones: dict[str, tuple[ZoneInfo, datetime, date]] = {}
        self._calendars: dict[int, tuple[Any, Any]] = {}
        self._lookbacks: dict[tuple[int, str], tuple[Any, tuple[Lookback, ...]]] = {}
        self._occurrences: dict[tuple, tuple[Occurrence, ...]] = {}
        self._timelines: dict[tuple, _Timeline] = {}
        self._allowed: dict[tuple, tuple[datetime | None, Any]] = {}
        self._walls: dict[str, tuple[datetime, datetime]] = {}
        self._midnights: dict[str, tuple[datetime, float]] = {}
        self._stamps: dict[int, tuple[datetime, datetime, float]] = {}
        self.stamp = now.timestamp()

    def zone(self, name: str) -> tuple[ZoneInfo, datetime, date]:
        """``(zone, now there, today there)``."""
        found = self._zones.get(name)
        if found is None:
            zone = _zone(name)
            local_now = self.now.astimezone(zone)
            found = self._zones[name] = (zone, local_now, local_now.date())
        return found

    def walls(self, name: str) -> tuple[datetime, datetime]:
        """``(now in the zone, the same wall-clock time without zone)``."""
        found = self._walls.get(name)
        if found is None:
            local_now = self.zone(name)[1]
            found = self._walls[name] = (local_now, local_now.replace(tzinfo=None))
        return found

    def midnight(self, name: str) -> tuple[datetime, float]:
        """The next midnight in zone ``name``: ``(wall-clock time without zone, POSIX instant)``."""
        found = self._midnights.get(name)
        if found is None:
            local_now = self.zone(name)[1]
            midnight = datetime.combine(local_now.date() + _ONE_DAY, _MIDNIGHT, tzinfo=local_now.tzinfo)
            found = self._midnights[name] = (midnight.replace(tzinfo=None), midnight.timestamp())
        return found

    def wall_and_stamp(self, moment: datetime) -> tuple[datetime, float]:
        """``(moment without zone, its POSIX instant)``; kept per object (the timelines' times are shared)."""
        found = self._stamps.get(id(moment))
        if found is None or found[0] is not moment:
            found = self._stamps[id(moment)] = (moment, moment.replace(tzinfo=None), moment.timestamp())
        return found[1], found[2]

    def calendar(self, profile):
        """The holiday calendar of ``profile`` (:meth:`Policy.calendar_for`)."""
        found = self._calendars.get(id(profile))
        if found is None:
            found = self._calendars[id(profile)] = (profile, self.policy.calendar_for(profile))
        return found[1]

    def lookbacks(self, profile, channel: str) -> tuple[Lookback, ...]:
        found = self._lookbacks.get((id(profile), channel))
        if found is None:
            found = self._lookbacks[(id(profile), channel)] = (profile, lookbacks(profile, channel))
        return found[1]

    def timeline(self, ladder: Ladder, due: date, zone_name: str, hour: time | None, profile) -> _Timeline:
        """The :class:`_Timeline` of an instalment due on ``due`` for a debtor in ``zone_name``."""
        zone, local_now, today = self.zone(zone_name)
        validity = self.policy.step_validity_days
        if not self.shortcuts:
            return _timeline(tuple(ladder.occurrences(due, today)), local_now, zone, hour, profile, validity)
        key = (id(ladder), due, zone_name, hour, None if hour is None else id(profile))
        found = self._timelines.get(key)
        if found is None:
            steps = (id(ladder), due, today)
            occurrences = self._occurrences.get(steps)
            if occurrences is None:
                occurrences = self._occurrences[steps] = tuple(ladder.occurrences(due, today))
            found = self._timelines[key] = _timeline(occurrences, local_now, zone, hour, profile, validity)
        return found

    def earliest_allowed(self, profile, zone_name: str, channel: str, start: datetime, day: date,
                         history: _History, place: object) -> tuple[datetime | None, Any]:
        """:func:`~scheduler.rules.check.earliest_allowed` for a debtor of ``profile`` in ``zone_name``
        with this ``history``; ``day`` is the local day of ``start``, ``place`` what stands for the
        zone and ``start`` in this run (the id of the timeline whose step starts then, or the zone's
        name for now)."""
        if self.shortcuts and not history.may_matter(day, profile, channel):
            key = (place, id(profile), channel)
            found = self._allowed.get(key)
            if found is None:
                found = self._allowed[key] = earliest_allowed(profile, self.calendar(profile), self.zone(zone_name)[0],
                                                              channel, start, [])
            return found
        return earliest_allowed(profile, self.calendar(profile), self.zone(zone_name)[0], channel, start,
                                history.attempts())


class _History:
    """A debtor's contact log as the planner reads it: the contacts already attempted (``done``:
    never planned again, see :mod:`scheduler.contact_state`), the ``replies`` and the attempts the
    contact rules count (:meth:`attempts`, with this plan's own sends).

    With ``shortcuts`` the attempts are only worked out when a rule could count one
    (:meth:`may_matter`): for most debtors the log is too old for that. Without a ``retry`` among
    the events every contact with an outbound event is settled, so ``done`` needs no folding
    either."""

    __slots__ = ("run", "_events", "_source", "_attempt_times", "_zone", "_today", "_sorted", "_attempts", "_sends",
                 "replies", "done", "_last_outbound", "_latest", "latest")

    def __init__(self, events: Sequence[ContactEvent] | Digest, zone: ZoneInfo, today: date, run: _Run) -> None:
        """``events``: the debtor's events, or (with shortcuts) their :class:`Digest`."""
        self.run = run
        self._zone = zone
        self._today = today
        self._sorted: list[ContactEvent] | None = None
        self._attempts: list[Attempt] | None = None
        self._sends: list[str] = []
        self._latest: dict[str, date] | None = None
        if not run.shortcuts:
            self._events, self._source, self._attempt_times, self._last_outbound = events, None, None, {}
            self.replies = [e.at for e in self.events if e.kind == "reply" and e.direction == "inbound"]
            contacts = outcomes(self.events)
            self._attempts = attempts_from_events(self.events, contacts)
            self.done = {cid for cid, outcome in contacts.items() if outcome.settled}
            self.latest = max((e.at for e in events), default=None)
            return
        digest = events if isinstance(events, Digest) else Digest.of(events)
        self._events, self._source = None, digest.events  # built when first needed (see all_events)
        self._attempt_times = digest.attempts
        self._last_outbound = digest.last_outbound
        self.latest = digest.latest
        if digest.latest is None:
            self.replies, self.done = [], _NOBODY
            return
        self.replies = list(digest.replies)
        self.done = ({cid for cid, outcome in outcomes(self.all_events()).items() if outcome.settled}
                     if digest.retried else digest.tried)

    def all_events(self) -> Sequence[ContactEvent]:
        """The events, in the order given (built once, when first needed, from a digest)."""
        if self._events is None:
            self._events = self._source()
        return self._events

    @property
    def events(self) -> list[ContactEvent]:
        """The events, oldest first."""
        if self._sorted is None:
            self._sorted = sorted(self.all_events(), key=lambda e: e.at)
        return self._sorted

    def attempts(self) -> list[Attempt]:
        """:func:`~scheduler.rules.check.attempts_from_events` and this plan's sends, sorted."""
        if self._attempts is None:
            self._attempts = [Attempt(at, channel) for at, channel in self._attempt_times()]
            if self._sends:
                self._attempts.extend(Attempt(self.run.now, channel) for channel in self._sends)
                self._attempts.sort()
        return self._attempts

    def _local_latest(self) -> dict[str, date]:
        """Per channel, the last local day (in the debtor's zone) of an outbound event or of this plan's sends:
        no attempt on it is later (an attempt's instant is an outbound event's)."""
        latest = self._latest
        if latest is None:
            zone = self._zone
            latest = self._latest = {channel: at.astimezone(zone).date() for channel, at in self._last_outbound.items()}
        return latest

    def may_matter(self, day: date, profile, channel: str) -> bool:
        """Whether an attempt could change a rule of ``profile`` for a contact on ``channel`` on local
        ``day`` or later (:func:`~scheduler.rules.check.attempts_matter`)."""
        if self._latest is None and not self._last_outbound:
            return False
        return attempts_matter(self._local_latest(), day, self.run.lookbacks(profile, channel))

    def sent(self, channel: str) -> None:
        """This plan sends on ``channel`` now: one more attempt."""
        if self._attempts is not None:
            self._attempts.append(Attempt(self.run.now, channel))
            self._attempts.sort()
        else:
            self._sends.append(channel)
        if self.run.shortcuts:
            latest = self._local_latest()
            latest[channel] = max(latest.get(channel, date.min), self._today)


_ONE_DAY = timedelta(days=1)
_A_FEW_HOURS = timedelta(hours=3)
_TWO_DAYS = timedelta(days=2)
_NOBODY: frozenset[str] = frozenset()
_ZERO = Decimal(0)


def _plan_debtor(out: list[Decision], run: _Run, debtor: Debtor, loans: Sequence[Loan], payments: Sequence[Payment],
                 promises: Sequence[Promise], events: Sequence[ContactEvent] | Digest, budget: _Budget,
                 horizon: _Horizon | None) -> Callable[[], None] | None:
    """Append the decisions about the debtor's ``loans`` (at least one) to ``out``; return what decides
    their thank-yous (called once every debtor's reminders are decided: a reminder goes before any
    thank-you for the SIM's budget), or ``None`` when there is none to decide.

    ``horizon`` (when given) learns until when these decisions hold (see :class:`_Horizon`)."""
    policy, now = run.policy, run.now
    zone, local_now, today = run.zone(debtor.timezone)
    if len(loans) > 1:
        loans = sorted(loans, key=lambda l: l.external_id)
    features = debtor_features(loans, payments, promises, today, tags=debtor.tags, officer=debtor.loan_officer,
                                grace_days=policy.promise_grace_days, amounts=run.amounts)
    rule = segment_rule_for(features, policy.segments)
    segment, ladder_name = (rule.name, rule.ladder) if rule is not None else (NO_SEGMENT[0], NO_SEGMENT[2])
    ladder = policy.ladders[ladder_name]
    profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
    history = _History(events, zone, today, run)
    done, replies = history.done, history.replies
    paid_at = [p.recorded_at for p in payments if p.source != "import" and p.recorded_at]
    if run.shortcuts and len(replies) + len(paid_at) < MIN_OBSERVATIONS:
        hour = None  # what best_hour says with too few observations
    else:
        hour = best_hour(replies, paid_at, zone).hour
    promise_until = _promise_until(promises, payments, today, policy.promise_grace_days) if promises else None

    def decision(loan: Loan, instalment: int | None, step: Step | None, step_id: str, channel: str, phone: str,
                 text: str | Callable[[], str], at: datetime, action: str, reason: Reason,
                 detail: str = "") -> None:
        cid = contact_id(debtor.id, loan.external_id, instalment, step_id) if instalment is not None and step_id else ""
        out.append(_new_decision(cid, debtor.id, loan.external_id, instalment, step_id, channel, phone,
                            step.template if step else "", text, at if at is local_now else at.astimezone(zone), action,
                            reason, segment,
                            detail))

    intents: list[_Intent] = []
    for loan in loans:
        if loan.status != "active":
            decision(loan, None, None, "", "", "", "", local_now, SKIP, Reason.LOAN_CLOSED)
            continue
        instalment = _oldest_unpaid(loan)
        if instalment is None:
            decision(loan, None, None, "", "", "", "", local_now, SKIP, Reason.ALREADY_PAID)
            continue
        timeline = run.timeline(ladder, instalment.due_date, debtor.timezone, hour, profile)
        occurrences, current, following = timeline.occurrences, timeline.current, timeline.following
        if current >= 0:
            occurrence = occurrences[current]
            cid = contact_id(debtor.id, loan.external_id, instalment.number, occurrence.id)
            if cid not in done and local_now < timeline.deadline:
                intents.append(_Intent(loan, instalment, occurrence, cid, timeline.deadline,
                                       (today - instalment.due_date).days))
                continue
        if following is None:
            step = occurrences[current].step if current >= 0 else None
            decision(loan, instalment.number, step, occurrences[current].id if current >= 0 else "",
                     step.channel if step else "", "", "", local_now, SKIP, Reason.LADDER_DONE)
            continue
        occurrence = occurrences[following]
        start = timeline.times[following]
        if horizon is not None:
            horizon.until_wall(start)
        channel, phone, _ = _route(debtor, occurrence.step, policy.channels)
        at, _block = run.earliest_allowed(profile, debtor.timezone, channel or occurrence.step.channel, start,
                                          start.date(), history, id(timeline))
        decision(loan, instalment.number, occurrence.step, occurrence.id, channel or occurrence.step.channel,
                 phone.number if phone else "", "", at or start, WAIT, Reason.SCHEDULED, timeline.detail)

    def attempt(loan: Loan, instalment: Instalment, step: Step, step_id: str, deadline: datetime,
                lapse: str) -> None:
        """Route, render and check the rules for one contact whose time has come; ``deadline``: when it
        lapses (a wait past it is a skip, said by ``lapse``)."""
        number = instalment.number
        channel, phone, refusal = _route(debtor, step, policy.channels)
        if refusal is not None:
            decision(loan, number, step, step_id, step.channel, "", "", local_now, SKIP, refusal)
            return
        # rendered when read (a send's at once: see Decision)
        text = _LazyText(policy, step, debtor, loan, instalment, today,
                         phone.personal if phone is not None else True, channel)
        number_text = phone.number if phone is not None else ""
        at, block = run.earliest_allowed(profile, debtor.timezone, channel, now, today, history, debtor.timezone)
        if at is None:
            if horizon is not None:
                horizon.until = None  # the search's horizon moves with now
            decision(loan, number, step, step_id, channel, number_text, text, local_now, SKIP,
                     block.reason if block else Reason.NO_WINDOW, block.detail if block else "")
            return
        if horizon is not None:
            if block is not None:
                horizon.blocked(block, profile, local_now)
            else:
                horizon.allowed(profile, local_now)
                horizon.clock = policy.clock
                if policy.clock.trusted:
                    horizon.paused = policy.paused
        if block is not None:
            if at >= deadline:
                decision(loan, number, step, step_id, channel, number_text, text, local_now, SKIP, block.reason,
                         block.detail or lapse)
            else:
                decision(loan, number, step, step_id, channel, number_text, text, at, WAIT, block.reason,
                         block.detail)
            return
        if not policy.clock.trusted:
            decision(loan, number, step, step_id, channel, number_text, text, local_now, WAIT,
                     Reason.CLOCK_UNTRUSTED, policy.clock.detail)
            return
        if policy.paused:
            decision(loan, number, step, step_id, channel, number_text, text, local_now, WAIT, Reason.PAUSED)
            return
        if channel == "sms" and budget.remaining is not None:
            if budget.remaining <= 0:
                if horizon is not None:
                    horizon.spent = budget.resets_at
                decision(loan, number, step, step_id, channel, number_text, text, budget.resets_at, WAIT,
                         Reason.SIM_CAP)
                return
            budget.remaining -= 1
        if horizon is not None:
            horizon.until = None  # a send: the dispatcher acts on it, and it spends the budget
        history.sent(channel)
        decision(loan, number, step, step_id, channel, number_text, text(), local_now, SEND, Reason.DUE)

    if intents and horizon is not None:
        for intent in intents:
            horizon.until_wall(intent.deadline)  # the step lapses
        if history.latest is not None and history.latest > now:
            horizon.until = None  # an attempt logged ahead of now: a cap may tighten as now reaches it
    intents.sort(key=lambda i: (-i.days_late, i.instalment.due_date, i.loan.external_id))
    for intent in intents:
        step = intent.occurrence.step
        loan, instalment = intent.loan, intent.instalment
        number, step_id = instalment.number, intent.occurrence.id

        if "no_promise" in step.conditions and promise_until is not None and today <= promise_until:
            resume = datetime.combine(promise_until + timedelta(days=1), time(0), tzinfo=zone)
            action = WAIT if resume < intent.deadline else SKIP
            decision(loan, number, step, step_id, step.channel, "", "", resume if action == WAIT else local_now,
                     action, Reason.PROMISE_PENDING, f"promesa hasta el {promise_until:%d/%m/%Y}")
            continue
        if "no_reply" in step.conditions and _replied_since_previous(replies, history.events, loan):
            decision(loan, number, step, step_id, step.channel, "", "", local_now, SKIP, Reason.REPLIED)
            continue
        attempt(loan, instalment, step, step_id, intent.deadline, "el paso siguiente llega antes")

    if not policy.thank_you or features.days_late > 0 or not payments:
        return None
    thanks = []
    for loan in loans:
        paid = _paid_on_time(loan, payments, today, policy.thank_you_days)
        if paid is not None and contact_id(debtor.id, loan.external_id, paid[0].number, THANK_YOU_ID) not in done:
            thanks.append((loan, *paid))
    if not thanks:
        return None

    def thank() -> None:
        for loan, instalment, paid_on in thanks:
            lapses = datetime.combine(paid_on + timedelta(days=policy.thank_you_days + 1), time(0), tzinfo=zone)
            attempt(loan, instalment, THANK_YOU, THANK_YOU_ID, lapses, "el agradecimiento vence antes")
    return thank


class _LazyText:
    """A decision's message, rendered when first called (see :class:`Decision`): what rendering needs,
    in a fraction of a closure's memory — a :class:`Planner` keeps one for each waiting contact."""

    __slots__ = ("policy", "step", "debtor", "loan", "instalment", "today", "personal", "channel")

    def __init__(self, policy: Policy, step: Step, debtor: Debtor, loan: Loan, instalment: Instalment,
                 today: date, personal: bool, channel: str) -> None:
        self.policy, self.step, self.debtor, self.loan = policy, step, debtor, loan
        self.instalment, self.today, self.personal, self.channel = instalment, today, personal, channel

    def __call__(self) -> str:
        policy, debtor = self.policy, self.debtor
        rendered = policy.templates.render(self.step.template, debtor.language, self.personal,
                                           _facts(debtor, self.loan, self.instalment, self.today),
                                           policy.cooperative)
        return transliterated(rendered) if policy.transliterate and self.channel != "visit" else rendered


def _paid_on_time(loan: Loan, payments: Sequence[Payment], today: date, days: int) -> tuple[Instalment, date] | None:
    """The last instalment of ``loan`` (in schedule order) that a payment recorded on the appliance
    paid in full on or before its due date, at most ``days`` days before ``today``, and the day it was
    paid — or ``None``. The day an instalment was paid is the date of the payment that completed it,
    oldest first (:func:`~scheduler.segments._cover_dates`, as the segments read lateness): amounts
    of the loan file and reconciled payments carry no day the planner can trust, so an import never
    causes a thank-you."""
    if loan.status not in ("active", "paid"):
        return None
    dated = [p for p in payments if p.loan_external_id == loan.external_id and p.counts and not p.reconciled]
    if not dated:
        return None
    dated.sort(key=lambda p: p.date)
    covered = _cover_dates(loan, dated)
    found = None
    for instalment in loan.instalments:
        paid_on = covered.get(instalment.number)
        if (paid_on is not None and paid_on <= instalment.due_date and (today - paid_on).days <= days
                and instalment.paid_amount >= instalment.amount):
            found = (instalment, paid_on)
    return found


def _oldest_unpaid(loan: Loan) -> Instalment | None:
    """:meth:`Loan.oldest_unpaid` (something outstanding: the amount exceeds what was paid), without
    computing each instalment's outstanding amount."""
    for instalment in loan.instalments:
        if instalment.amount > instalment.paid_amount:
            return instalment
    return None


def _when(occurrence: Occurrence, zone: ZoneInfo, hour: time | None, profile) -> datetime:
    """The occurrence's local time: the learned best hour when the step allows it and that hour is inside
    the day's legal window, else the step's hour."""
    step = occurrence.step
    chosen = step.hour
    if hour is not None and step.use_best_hour and profile.within_hours(hour, occurrence.day.weekday()):
        chosen = hour
    return datetime.combine(occurrence.day, chosen, tzinfo=zone)


def _route(debtor: Debtor, step: Step, channels: frozenset[str]) -> tuple[str, Phone | None, Reason | None]:
    """``(channel, phone, refusal)``: the step's channel (or its fallback) and the phone to use —
    the first personal number authorised and not opted out, else the first such shared one. A
    visit needs no phone. A channel the box cannot use now (``channels``: a call without an audio
    path) goes to the fallback."""
    refusal = None
    for channel in (step.channel, step.fallback):
        if channel is None:
            continue
        if channel not in channels:
            refusal = refusal or Reason.CHANNEL_UNAVAILABLE
            continue
        if channel == "visit":
            return channel, None, None
        needed = "call" if channel in ("call", "ring") else channel
        authorised = False
        usable = None
        for phone in debtor.phones:
            if needed in phone.channels:
                authorised = True
                if not phone.opted_out and (usable is None or (phone.personal and not usable.personal)):
                    usable = phone
        if usable is not None:
            return channel, usable, None
        if refusal is None:
            refusal = (Reason.NO_VALID_PHONE if not debtor.phones else
                       Reason.OPTED_OUT if authorised or all(p.opted_out for p in debtor.phones)
                       else Reason.CHANNEL_NOT_AUTHORISED)
    return step.channel, None, refusal


def _promise_until(promises, payments, today: date, grace: int) -> date | None:
    """The last day covered by a pending promise (its due date plus grace), or ``None``."""
    until = None
    for promise in promises:
        if promise_status(promise, payments, today, grace_days=grace) == "pending":
            end = promise.due_date + timedelta(days=grace)
            until = end if until is None or end > until else until
    return until


def _replied_since_previous(replies: list[datetime], events: Iterable[ContactEvent], loan: Loan) -> bool:
    """True if the debtor replied (``replies``: when) after the last outbound contact about this loan."""
    last = None
    for event in events:
        if event.loan_external_id == loan.external_id and event.direction == "outbound" and event.kind in REACHED:
            last = event.at if last is None or event.at > last else last
    return last is not None and any(at > last for at in replies)


def _facts(debtor: Debtor, loan: Loan, instalment: Instalment, today: date) -> MessageFacts:
    return MessageFacts(debtor.name, instalment.outstanding, instalment.number, len(loan.instalments),
                        _outstanding(loan), instalment.due_date, (today - instalment.due_date).days,
                        debtor.loan_officer, loan.external_id, loan.currency)


def _outstanding(loan: Loan) -> Decimal:
    """:attr:`Loan.outstanding`: the same sum, in the same order, without a call per instalment."""
    total = _ZERO
    for instalment in loan.instalments:
        owed = instalment.amount - instalment.paid_amount
        total += _ZERO if owed < _ZERO else owed
    return total


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
