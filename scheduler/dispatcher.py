"""The dispatcher: acts on the planner's ``send`` decisions, at most once per contact, across power cuts.

It owns no state: the ledger (the *journal* it is given) does, so a reboot
resumes exactly where the contact log says. APScheduler's
``BackgroundScheduler`` only *wakes* it (every ``interval`` seconds, and at
once on :meth:`Dispatcher.wake` — after an import, a resume, a reply); while
decisions are due it drains continuously, re-planning as soon as a batch is
done, so the radio never waits for the next tick.

One send, in order (each step durable before the next):

1. re-plan *this debtor* at the send instant (fresh snapshot of their loans,
   payments, promises, opt-outs, contacts and the pause flag): the rules are
   checked at send time, not only at plan time. Anything but ``send`` drops
   the contact from this batch (the planner will decide again);
2. append ``sending`` to the contact log (fsync) — *before* the AT command;
3. ``radio.send(phone, text, message_id=contact_id)``; the contact id travels
   with the message, so a status report finds its contact even after a restart;
4. append the outcome: ``sent`` (with the modem and message references),
   ``failed`` (permanent refusal: the next message is unaffected),
   ``uncertain`` (the modem may or may not have sent it: never re-sent by
   itself; shown to staff), or ``retry`` when the radio certainly sent
   nothing.

Nothing sent has two causes, handled apart. *The radio is down* — no modem
available (unplugged, parked by the pool), or the network refused for a
while (a temporary ``+CMS ERROR`` such as 331 "no network service" that
outlasted the driver's own retries): that is no fault of the message, so the
``retry`` (``reference == "radio"``) does not count toward the contact's
retries; instead the whole dispatcher waits (``retry_delays``, growing) and
tries again with the same contact first. Planned contacts are untouched while
it waits, and an outage of hours costs one ``retry`` line per wait, not a
day's reminders: they go when the network is back, as long as their step is
still valid (the planner skips a step that lapsed). *Anything else* that sent
nothing (a command timeout, a refused command) counts: the contact waits
``retry_delays`` and ends ``failed`` after ``max_retries``.

After a power cut between 2 and 4 the contact's last event is ``sending``;
:meth:`Dispatcher.recover` (run at start) turns it into ``uncertain`` — a late
status report can still settle it ``delivered`` — and nothing sends it again.

Automatic answers to replies (``planned`` events with an ``auto:`` contact
id, written by the responder) go out the same way when the debtor's contact
hours allow (the opt-out confirmation at once), at most once each.

Visits (``channel == "visit"``) do not touch the radio: they are recorded as
``sent`` on the loan officer's visit list. Channels the radio cannot use (a
call while voice is not available) end ``failed`` with the reason.

Calls (``call``: a spoken message, ``ring``: a free "missed call" reminder)
go the same way — ``sending`` before the dial — and end with the call's
outcome: ``sent`` (the call was placed: every dialled call counts toward the
caps, answered or not) then ``delivered`` (answered, or rang the full time
for a ring reminder) or ``failed`` (busy, no answer, rejected, switched off or
out of coverage, failed with a cause). The keys the debtor pressed during the call
(:mod:`scheduler.keypad`) are stored as an inbound ``reply`` on the ``call``
channel and handed to ``on_reply`` (the appliance's reply handler), so a
"1", "2" or "9" has the same effects as a PROMESA, a question or a BAJA.

The journal needs: ``snapshot(contacts_since=)``, ``debtor(id)``,
``loans(debtor_id)``, ``payments(debtor_id=)``, ``promises(debtor_id)``,
``contacts(debtor_id=, since=, kinds=)``, ``opted_out_numbers()``,
``settings.all()`` and ``append_contact(event)`` — :class:`firmware_py.ledger.Ledger`
has them. The radio needs ``send(number, text, *, message_id, transliterate)``
returning an object with ``member`` and ``sent`` (a ``modem.sending.SentSms``)
— :class:`modem.pool.ModemPool` — and may raise ``modem.errors.ModemError``
subclasses when nothing was sent. A radio that places calls also has
``channels()`` (the set of channels it can use now, e.g. ``{"sms", "ring",
"call"}``), ``call(number, text, *, call_id)`` and ``ring(number, *, call_id)``
returning an object with ``member`` and ``result`` (a
``modem.voice.calls.CallResult``) — :class:`modem.pool.PoolCall`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from modem.errors import CmsError, ModemDisconnected, ModemError, NoModemAvailable, PduError
from scheduler.contact_state import OUTBOUND_KINDS, in_doubt, outcomes
from scheduler.keypad import DEFAULT_PROMISE_DAYS, keys_pressed, options_text
from scheduler.model import ContactEvent
from scheduler.planner import HISTORY_DAYS, SEND, Decision, Planner, plan
from scheduler.policy import Policy
from scheduler.reasons import Reason
from scheduler.responder import ANSWER_PREFIX, answer_window_ok

EXEMPT = "exento"
"""``reference`` of a planned answer that goes out whatever the hour (the opt-out confirmation)."""

log = logging.getLogger("cobrador.scheduler.dispatcher")

RADIO_DOWN = "radio"
"""``reference`` of a ``retry`` written because the radio was down (no modem, no network): not counted."""


def _radio_down(exc: BaseException) -> bool:
    """No modem can take anything now (unplugged, reconnecting, every member parked): not the message's fault."""
    return isinstance(exc, (NoModemAvailable, ModemDisconnected))


def _network_refused(exc: BaseException | None) -> bool:
    """A temporary ``+CMS ERROR`` that clearly means "not accepted" (no service, congestion) — not one whose
    outcome is unknown (those make the send ``uncertain`` in the driver)."""
    return isinstance(exc, CmsError) and exc.temporary and not exc.outcome_unknown


SMS_ONLY = frozenset({"sms"})
"""Channels of a radio that has no ``channels()`` (an SMS-only pool)."""

_CALL_FAILURES = {
    "busy": "ocupado",
    "no_answer": "no contestó",
    "rejected": "rechazó la llamada",
    "unreachable": "teléfono apagado o fuera de cobertura",
    "failed": "la llamada no se pudo completar",
}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class DrainReport:
    """What one :meth:`Dispatcher.drain` did."""

    batches: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    retried: int = 0
    visits: int = 0
    calls: int = 0  # calls and rings placed (their outcome is in sent/failed/uncertain too)
    dropped: int = 0  # re-planned at send time and no longer a send (paid, opted out, quiet hours, paused…)
    stopped_reason: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _DebtorView:
    """A one-debtor snapshot with the planner's interface (built fresh at send time)."""

    debtors: tuple
    loans: tuple
    payments: tuple
    promises: tuple
    contacts: tuple
    opted_out: frozenset
    settings: object

    def debtor(self, debtor_id):
        return next((d for d in self.debtors if d.id == debtor_id), None)

    def loans_of(self, debtor_id):
        return self.loans

    def payments_of(self, debtor_id):
        return self.payments

    def promises_of(self, debtor_id):
        return self.promises


class Dispatcher:
    """See the module docstring. ``policy`` is a callable returning the current :class:`Policy`
    (the appliance's config with its live clock trust); ``clock`` returns an aware ``datetime``.
    ``workers``: concurrent sends (one per modem of the pool). Context manager; ``close()`` safe twice.
    """

    def __init__(self, journal, radio, policy: Callable[[], Policy], *, clock: Callable[[], datetime] = _utcnow,
                 workers: int = 1, max_retries: int = 3,
                 retry_delays: tuple[float, ...] = (30.0, 120.0, 600.0), interval: float = 60.0,
                 on_event: Callable[[ContactEvent], None] | None = None,
                 on_reply: Callable[[ContactEvent], object] | None = None,
                 keypad_promise_days: int = DEFAULT_PROMISE_DAYS):
        self.journal = journal
        self.radio = radio
        self.policy = policy
        self.clock = clock
        self.workers = max(1, workers)
        self.max_retries = max_retries
        self.retry_delays = retry_delays or (30.0,)
        self.interval = interval
        self.on_event = on_event
        self.on_reply = on_reply
        self.keypad_promise_days = keypad_promise_days
        self._not_before: dict[str, datetime] = {}
        self._radio_not_before: datetime | None = None   # the radio is down: nothing is tried before this
        self._radio_waits = 0
        self._lock = threading.Lock()
        self._draining = threading.Lock()
        self._scheduler = None
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self.last_report: DrainReport | None = None
        self.ticked = threading.Event()  # set once a wake-up's drain is over (after the start: its first plan made)
        self.planner = Planner()
        """Plans the drains (and whoever else plans the whole ledger with this policy: the status file):
        between two ticks most debtors' decisions are given again, not made again."""

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def __enter__(self) -> "Dispatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Recover contacts in doubt, then let APScheduler wake :meth:`drain` every ``interval`` seconds."""
        from apscheduler.schedulers.background import BackgroundScheduler

        self.recover()
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cobrador-send")
        self._scheduler = BackgroundScheduler(timezone=timezone.utc)
        # A drain can outlast the interval (hundreds of SMS at a few seconds each): a wake-up meanwhile finds
        # :meth:`drain` busy and returns (the running drain plans again after each batch, so it sends what the
        # wake-up was for). Two instances let it do so; with one, APScheduler would log a warning each minute.
        self._scheduler.add_job(self._tick, "interval", seconds=self.interval, id="dispatch", max_instances=2,
                                coalesce=True, next_run_time=datetime.now(timezone.utc))
        self._scheduler.start()

    @property
    def running(self) -> bool:
        """True while APScheduler is waking the dispatcher (after :meth:`start`, before :meth:`close`)."""
        return self._scheduler is not None and self._scheduler.running and not self._closed

    def wake(self) -> None:
        """Drain now (from any thread): after an import, a resume, a reply that needs an answer."""
        if self._scheduler is not None and not self._closed:
            self._scheduler.modify_job("dispatch", next_run_time=datetime.now(timezone.utc))

    def close(self) -> None:
        """Stop waking; a send in flight finishes and its outcome is written. Safe twice."""
        if self._closed:
            return
        self._closed = True
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _tick(self) -> None:
        try:
            report = self.drain()
        except Exception:  # a bug here must not kill the scheduler thread: log it, try again next tick
            log.exception("dispatch failed")
            self.ticked.set()
            return
        if report.stopped_reason != "busy":  # a wake-up during a drain: that drain's report is the one to keep
            self.last_report = report
            self.ticked.set()

    # -- recovery -------------------------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Turn every contact left ``sending`` (a power cut or crash mid-send) into ``uncertain``.

        Returns their contact ids. A late status report can still settle them; nothing re-sends them.
        """
        now = self.clock()
        since = now - timedelta(days=HISTORY_DAYS)
        snapshot = getattr(self.journal, "snapshot", None)
        if snapshot is not None:  # the ledger's snapshot reads them from its window's rows
            doubtful = snapshot(contacts_since=since).contacts_in_doubt()
        else:
            doubtful = in_doubt(self.journal.contacts(since=since, kinds=tuple(OUTBOUND_KINDS)))
        found = []
        for sending in doubtful:
            self._append(sending, "uncertain", now,
                         detail="el equipo se detuvo durante el envío: puede que el mensaje haya salido; "
                                "no se reenvía automáticamente")
            found.append(sending.contact_id)
        if found:
            log.warning("%d contact(s) were being sent when the appliance stopped: marked uncertain", len(found))
        return found

    # -- draining -------------------------------------------------------------------------------------------------
    def drain(self, *, max_batches: int = 1000) -> DrainReport:
        """Plan and send until no decision is a ``send`` any more (or the radio cannot send).

        Only one drain runs at a time; a second caller returns an empty report at once.
        """
        report = DrainReport()
        if not self._draining.acquire(blocking=False):
            report.stopped_reason = "busy"
            return report
        try:
            while report.batches < max_batches and not self._closed:
                now = self.clock()
                if self._radio_waiting(now):
                    report.stopped_reason = "radio_unavailable"
                    break
                snapshot = self.journal.snapshot(contacts_since=now - timedelta(days=HISTORY_DAYS))
                policy = self.policy().with_settings(snapshot.settings)
                answered = self._send_answers(snapshot, policy, now, report)
                sends = [d for d in self.planner.plan(snapshot, policy, now) if d.action == SEND and self._due(d, now)]
                if not sends and not answered:
                    report.stopped_reason = report.stopped_reason or "nothing_due"
                    break
                report.batches += 1
                before = report.sent + report.failed + report.uncertain + report.visits
                radio_down = self._send_batch(sends, report)
                if radio_down:
                    report.stopped_reason = "radio_unavailable"
                    break
                if report.sent + report.failed + report.uncertain + report.visits == before:
                    report.stopped_reason = "nothing_sendable"
                    break
            return report
        finally:
            self._draining.release()

    def _send_answers(self, snapshot, policy: Policy, now: datetime, report: DrainReport) -> int:
        """Send the automatic answers to replies (``planned`` events with an ``auto:`` contact id, written by
        the responder) whose time has come; returns how many were handled."""
        matching = getattr(snapshot, "contacts_matching", None)
        candidates = (matching(kinds=("planned",), contact_prefix=ANSWER_PREFIX) if matching is not None
                      else snapshot.contacts)
        planned = [e for e in candidates if e.kind == "planned" and e.contact_id.startswith(ANSWER_PREFIX)]
        if not planned:
            return 0
        settled = outcomes(matching(contact_ids={e.contact_id for e in planned}) if matching is not None
                           else snapshot.contacts)
        handled = 0
        for event in planned:
            if event.contact_id in settled and settled[event.contact_id].settled:
                continue
            if event.phone in snapshot.opted_out and event.reference != EXEMPT:
                continue
            debtor = snapshot.debtor(event.debtor_id) if event.debtor_id else None
            if event.reference != EXEMPT:
                if not policy.clock.trusted or policy.paused:
                    continue
                if answer_window_ok(policy, debtor, now) != now:
                    continue
            if not self._due_id(event.contact_id, now):
                continue
            self._send_event(event, report)
            handled += 1
        return handled

    def _send_event(self, planned: ContactEvent, report: DrainReport) -> str:
        """Send an already-composed message (an automatic answer): sending -> radio -> outcome."""
        decision = Decision(planned.contact_id, planned.debtor_id, planned.loan_external_id, None, "", "sms",
                            planned.phone, "", planned.text, self.clock(), SEND, Reason.DUE, "")
        return self._transmit(decision, report)

    def _radio_waiting(self, now: datetime) -> bool:
        with self._lock:
            return self._radio_not_before is not None and now < self._radio_not_before

    def _radio_up(self) -> None:
        """Something went out (or was refused for its own sake): the radio works; no more waiting."""
        with self._lock:
            self._radio_not_before, self._radio_waits = None, 0

    def _due_id(self, contact_id: str, now: datetime) -> bool:
        with self._lock:
            wait = self._not_before.get(contact_id)
        return wait is None or wait <= now

    def _due(self, decision: Decision, now: datetime) -> bool:
        with self._lock:
            wait = self._not_before.get(decision.contact_id)
        return wait is None or wait <= now

    def _send_batch(self, decisions: list[Decision], report: DrainReport) -> bool:
        """Send one batch; True if the radio became unavailable (stop draining until the next wake)."""
        stop = threading.Event()

        def one(decision: Decision) -> None:
            if stop.is_set():
                return
            try:
                if self.send_one(decision, report) == "radio_unavailable":
                    stop.set()
            except Exception as exc:  # one bad message never blocks the queue
                log.exception("sending %s failed unexpectedly", decision.contact_id)
                report.errors.append(f"{decision.contact_id}: {exc}")

        if self.workers == 1 or self._executor is None:
            for decision in decisions:
                if stop.is_set():
                    break
                one(decision)
        else:
            list(self._executor.map(one, decisions))
        return stop.is_set()

    def send_one(self, planned: Decision, report: DrainReport | None = None) -> str:
        """Re-check and send one planned contact (see the module docstring). Returns what happened:
        ``"sent"``, ``"failed"``, ``"uncertain"``, ``"retry"``, ``"radio_unavailable"``, ``"visit"`` or
        ``"dropped"``."""
        report = report if report is not None else DrainReport()
        now = self.clock()
        decision = self._recheck(planned, now)
        if decision is None:
            report.dropped += 1
            return "dropped"
        if decision.channel == "visit":
            self._append(decision, "sent", now, detail="en la lista de visitas del asesor")
            report.visits += 1
            return "visit"
        if decision.channel not in self.radio_channels():
            self._append(decision, "failed", now, detail=f"el canal {decision.channel} aún no está disponible en "
                                                          "este equipo")
            report.failed += 1
            return "failed"
        if decision.channel in ("call", "ring"):
            return self._place_call(decision, report)
        return self._transmit(decision, report)

    def radio_channels(self) -> frozenset[str]:
        """The channels the radio can use now (``{"sms"}`` for a radio without ``channels()``)."""
        channels = getattr(self.radio, "channels", None)
        if channels is None:
            return SMS_ONLY
        try:
            return frozenset(channels())
        except Exception:  # a radio that cannot say: SMS only, never a crash
            log.exception("radio could not list its channels")
            return SMS_ONLY

    def _place_call(self, decision: Decision, report: DrainReport) -> str:
        """A call (spoken message) or a ring reminder: sending -> dial -> the call's outcome (module docstring)."""
        if decision.channel == "call":  # what is said: the message, then the keys the debtor may press
            decision = replace(decision, text=f"{decision.text} "
                                              f"{options_text(promise_days=self.keypad_promise_days)}".strip())
        self._append(decision, "sending", self.clock())
        try:
            if decision.channel == "ring":
                result = self.radio.ring(decision.phone, call_id=decision.contact_id)
            else:
                result = self.radio.call(decision.phone, decision.text, call_id=decision.contact_id)
        except ModemError as exc:  # nothing was dialled: the call may be placed later
            return self._retry(decision, exc, report, radio_down=_radio_down(exc))
        except Exception as exc:  # we cannot know whether it rang: in doubt, never redialled by itself
            log.exception("radio failed while calling %s", decision.contact_id)
            self._append(decision, "uncertain", self.clock(), detail=f"error inesperado del módem: {exc}")
            report.uncertain += 1
            return "uncertain"
        report.calls += 1
        self._radio_up()
        call = result.result
        what = "llamada perdida" if decision.channel == "ring" else "llamada"
        base = f"módem {result.member}; {what}"
        rang = f"sonó {call.ring_seconds:.0f} s"
        if call.outcome in ("answered", "rang"):
            self._append(decision, "sent", self.clock(), detail=f"{base}; {rang}", reference=call.call_id or "")
            if call.outcome == "rang":
                detail = f"{rang}: quedó como llamada perdida"
            elif decision.channel == "ring":
                detail = "contestó antes de tiempo: se colgó sin hablar"
            else:
                detail = f"contestó; habló {call.talk_seconds:.0f} s"
                if call.played_seconds:
                    detail += f"; escuchó el mensaje {call.played_seconds:.0f} s"
                if call.digits:
                    detail += f"; marcó {call.digits}"
            self._append(decision, "delivered", self.clock(), detail=detail, reference=call.call_id or "")
            report.sent += 1
            self._keys(decision, call)
            return "sent"
        reason = _CALL_FAILURES.get(call.outcome, _CALL_FAILURES["failed"])
        if call.cause is not None:
            reason += f" (causa {call.cause})"
        if call.detail and call.outcome == "failed":
            reason += f": {call.detail}"
        # every call dialled is an attempt that counts toward the caps (Regulation F counts calls placed,
        # answered or not) — also one that never rang (phone off): more caution, never less
        self._append(decision, "sent", self.clock(), detail=f"{base}; {rang}", reference=call.call_id or "")
        self._append(decision, "failed", self.clock(), detail=reason, reference=call.call_id or "")
        report.failed += 1
        return "failed"

    def _keys(self, decision: Decision, call) -> None:
        """Store the keys the debtor pressed as an inbound reply on the ``call`` channel and hand it on."""
        keys = keys_pressed(call.digits)
        if not keys:
            return
        reply = ContactEvent(self.clock(), decision.debtor_id, "reply", channel="call", direction="inbound",
                             phone=decision.phone, contact_id=f"{decision.contact_id}:teclas",
                             loan_external_id=decision.loan, text=keys,
                             detail=f"teclas marcadas durante la llamada: {keys}", reference="teclado")
        self.journal.append_contact(reply)
        if self.on_reply is not None:
            try:
                self.on_reply(reply)
            except Exception:  # the call is recorded; a person can still read the keys on the timeline
                log.exception("could not act on the keys of %s", decision.contact_id)

    def _transmit(self, decision: Decision, report: DrainReport) -> str:
        self._append(decision, "sending", self.clock())
        try:
            result = self.radio.send(decision.phone, decision.text, message_id=decision.contact_id,
                                     transliterate=False)
        except PduError as exc:
            self._append(decision, "failed", self.clock(), detail=f"el texto no se puede enviar por SMS: {exc}")
            report.failed += 1
            return "failed"
        except ModemError as exc:  # nothing reached the network: the contact may go again later
            return self._retry(decision, exc, report, radio_down=_radio_down(exc))
        except Exception as exc:  # we cannot know whether it left: in doubt, never re-sent by itself
            log.exception("radio failed while sending %s", decision.contact_id)
            self._append(decision, "uncertain", self.clock(), detail=f"error inesperado del módem: {exc}")
            report.uncertain += 1
            return "uncertain"
        sent = result.sent
        if sent.state == "failed" and _network_refused(sent.error) and not sent.parts:
            # the network said "not now" (no service, congestion) to the first part, through the driver's own
            # retries: nothing went out; the message waits for the network like it would for a modem
            return self._retry(decision, sent.error, report, radio_down=True)
        self._radio_up()
        detail = f"módem {result.member}; {sent.segments} parte(s); MR {','.join(map(str, sent.references))}"
        if sent.state == "sent":
            self._append(decision, "sent", self.clock(), detail=detail, reference=sent.message_id)
            report.sent += 1
            return "sent"
        if sent.state == "uncertain":
            self._append(decision, "uncertain", self.clock(), reference=sent.message_id,
                         detail=f"{detail}; el módem no confirmó si salió ({sent.error})")
            report.uncertain += 1
            return "uncertain"
        self._append(decision, "failed", self.clock(), reference=sent.message_id,
                     detail=f"{detail}; rechazado: {sent.error}")
        report.failed += 1
        return "failed"

    def _retry(self, decision: Decision, exc: Exception, report: DrainReport, *, radio_down: bool = False) -> str:
        now = self.clock()
        if radio_down:  # not the contact's fault: it keeps its retries; everything waits for the radio
            with self._lock:
                delay = self.retry_delays[min(self._radio_waits, len(self.retry_delays) - 1)]
                self._radio_waits += 1
                self._radio_not_before = now + timedelta(seconds=delay)
            self._append(decision, "retry", now, reference=RADIO_DOWN,
                         detail=f"no salió ({exc}); se intenta de nuevo cuando haya módem y red, en {delay:.0f} s")
            report.retried += 1
            return "radio_unavailable"
        history = self.journal.contacts(debtor_id=decision.debtor_id, since=now - timedelta(days=HISTORY_DAYS),
                                        kinds=("retry",))
        retries = sum(1 for e in history if e.contact_id == decision.contact_id and e.reference != RADIO_DOWN) + 1
        if retries > self.max_retries:
            self._append(decision, "failed", now, detail=f"no se pudo enviar tras {self.max_retries} intentos: {exc}")
            report.failed += 1
            return "failed"
        self._append(decision, "retry", now, detail=f"no salió ({exc}); intento {retries} de {self.max_retries}")
        delay = self.retry_delays[min(retries - 1, len(self.retry_delays) - 1)]
        with self._lock:
            self._not_before[decision.contact_id] = now + timedelta(seconds=delay)
        report.retried += 1
        return "radio_unavailable"

    def _recheck(self, planned: Decision, now: datetime) -> Decision | None:
        """The planner's decision for this contact, now, from a fresh one-debtor snapshot (or ``None``)."""
        journal = self.journal
        debtor = journal.debtor(planned.debtor_id)
        if debtor is None:
            return None
        view = _DebtorView((debtor,), tuple(journal.loans(planned.debtor_id)),
                           tuple(journal.payments(debtor_id=planned.debtor_id)),
                           tuple(journal.promises(planned.debtor_id)),
                           tuple(journal.contacts(debtor_id=planned.debtor_id, since=now - timedelta(days=HISTORY_DAYS))),
                           journal.opted_out_numbers(), journal.settings.all())
        policy = self.policy().with_settings(view.settings)
        for decision in plan(view, policy, now):
            if decision.contact_id == planned.contact_id:
                return decision if decision.action == SEND else None
        return None

    def _append(self, decision, kind: str, at: datetime, *, detail: str = "", reference: str = "") -> None:
        if isinstance(decision, Decision):
            event = ContactEvent(at, decision.debtor_id, kind, channel=decision.channel or "sms",
                                 direction="outbound", phone=decision.phone, contact_id=decision.contact_id,
                                 loan_external_id=decision.loan, text=decision.text if kind == "sending" else "",
                                 detail=detail or (("respuesta automática" if not decision.step else
                                                    f"paso {decision.step}, plantilla {decision.template}")
                                                   if kind == "sending" else ""),
                                 reference=reference)
        else:  # an earlier event of the same contact (recovery)
            event = ContactEvent(at, decision.debtor_id, kind, channel=decision.channel, direction="outbound",
                                 phone=decision.phone, contact_id=decision.contact_id,
                                 loan_external_id=decision.loan_external_id, detail=detail, reference=reference)
        self.journal.append_contact(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("on_event callback failed")
