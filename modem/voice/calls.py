"""Voice calls on one modem: dial, follow the call to its outcome, ring reminders, keys, inbound calls.

Every :class:`modem.driver.Modem` has a :class:`Voice` (``modem.voice``);
``Modem.call`` and ``Modem.ring`` are its public face::

    result = modem.call("+573001234567", call_id="c-17", ring_timeout=30.0)
    result.outcome        # answered / busy / no_answer / rejected / unreachable / failed
    result.talk_seconds, result.digits

    result = modem.ring("+573001234567", seconds=15.0)     # "llamada perdida": hang up before an answer
    result.outcome        # rang / busy / unreachable / rejected / failed (answered if picked up in time)

How a call is followed: ``ATD<number>;`` (the modem answers OK at once), then
the modem's call-progress URCs (``profile.call_urc_style``, parsed by
:mod:`modem.voice.call_urcs`) fill a :class:`modem.voice.watch.CallWatch`; an
``AT+CLCC`` poll every ``profile.call_poll_interval`` seconds is the only
progress report of a generic modem and a safety net elsewhere. The call is
hung up (``profile.hangup_command``) ``ring_timeout`` seconds after it began
to ring (``seconds`` for :meth:`Voice.ring`), or ``setup_timeout`` seconds after
the ``ATD`` when it never rang, or after the message and ``listen_after``
seconds of listening for keys when answered. When the call ended without an
answer and the modem did not say why, ``AT+CEER`` gives the cause.

Rules:

- one call at a time per modem, and never while an SMS is being sent: a call
  holds the same lock as a whole ``send_sms`` (``Modem.radio_lock``) from
  ``ATD`` to hang-up. Incoming SMS are still read during a call (those reads
  are single commands, as is every command of a call);
- ``ModemDisconnected`` is raised only when nothing was dialled (the modem is
  not connected or the ``ATD`` could not be written): placing the call
  elsewhere is safe. A modem that drops after the ``ATD`` (unplug, reboot,
  hang) gives outcome ``failed`` with the reason in ``detail``: the number
  may have rung, so the call is never placed again by the driver;
- ``ValueError`` for a number that cannot be dialled;
- keys: ``+DTMF`` (SIM800, after ``AT+DDET=1``), ``^DTMF`` (Huawei),
  ``+RXDTMF`` (SIM7600), ``+QTONEDET`` (Quectel tone detection) — collected
  in order while the call is connected. A generic modem reports none;
- inbound calls (``RING``, ``+CRING``, ``+CLIP``, ``+CLCC``/``^DSCI`` of an
  incoming call, ``MISSED_CALL``): the caller's number (from the URC, else an
  ``AT+CLCC``) and what was done go on the event queue as
  :class:`modem.events.IncomingCall`. ``incoming_calls`` (a ``Modem`` option):
  ``"reject"`` (default: hang up at once), ``"answer"`` (take the call and
  hang up after ``incoming_hold`` seconds unless the caller does first), or
  ``"ignore"`` (let it ring; reported once). A call that stopped ringing
  before we acted is reported as ``"missed"``. An incoming call during one of
  our calls is left to the network (call waiting) and not reported.

Playing a message (``message`` and ``player``, the audio engineer's
:mod:`modem.voice.playback` implements the player): ``player.prepare(modem,
clip)`` runs before the ``ATD`` (uploads, conversions: no dead air after the
answer), then ``player.play(modem, clip)`` (returns seconds played) ``repeat``
times once the call is answered, stopping early if the person hangs up; a
player error ends the playback (logged, in ``detail``), never the call's
bookkeeping.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from modem.at import Urc
from modem.errors import CommandError, CommandTimeout, ModemDisconnected, ModemError
from modem.events import CallUrc, IncomingCall
from modem.voice.call_urcs import parse, parse_cause_text, parse_clcc_list
from modem.voice.watch import CallWatch, outcome_of

log = logging.getLogger("cobrador.modem.voice")

__all__ = ["INCOMING_ACTIONS", "OUTCOMES", "CallResult", "Voice", "check_number"]

OUTCOMES = ("answered", "busy", "no_answer", "rejected", "unreachable", "failed", "rang")
INCOMING_ACTIONS = ("reject", "answer", "ignore")


@dataclass(frozen=True)
class CallResult:
    """What one call came to.

    ``outcome``: one of :data:`OUTCOMES`. ``started``: epoch (driver clock) of
    the ``ATD``. ``ring_seconds``: how long it rang (alerting to answer or
    end); ``talk_seconds``: answer to hang-up (0.0 unless answered).
    ``cause``: the network's 24.008 cause when known. ``detail``: why, in
    English words (for logs and staff). ``digits``: the keys pressed, in
    order. ``played_seconds``: message audio played.
    """

    number: str
    outcome: str
    call_id: str | None
    started: float
    ring_seconds: float
    talk_seconds: float
    cause: int | None = None
    detail: str = ""
    digits: str = ""
    played_seconds: float = 0.0


def check_number(number) -> str:
    """``number`` if it can be dialled (``+`` then 3-20 digits, or digits with ``*``/``#``); else ValueError."""
    if not isinstance(number, str):
        raise ValueError(f"a phone number is a str, not {type(number).__name__}")
    text = number.strip()
    body = text[1:] if text.startswith("+") else text
    if not (3 <= len(body) <= 20) or not all(ch.isdigit() or ch in "*#" for ch in body) or not body.isascii():
        raise ValueError(f"cannot dial {number!r}: use + and 3-20 digits")
    return text


class _Barrier:
    """A marker passed through the supervisor's URC queue: when it comes out, every URC read before
    it has been handled (so no late URC of one call leaks into the next)."""

    def __init__(self):
        self.done = threading.Event()


class Voice:
    """The voice layer of one modem (see the module docstring). Created by the ``Modem``."""

    def __init__(self, modem, *, incoming_calls: str = "reject", incoming_hold: float = 20.0,
                 setup_timeout: float = 30.0, end_wait: float = 3.0):
        if incoming_calls not in INCOMING_ACTIONS:
            raise ValueError(f"incoming_calls must be one of {INCOMING_ACTIONS}, not {incoming_calls!r}")
        self.modem = modem
        self.incoming_calls = incoming_calls
        self.incoming_hold = incoming_hold
        self.setup_timeout = setup_timeout
        self.end_wait = end_wait
        self.dead_times: list[float] = []     # previous call ended -> next ATD written, seconds (bounded)
        self._watch: CallWatch | None = None
        self._enabled_for: tuple[int, int] | None = None
        self._last_end: float | None = None
        self._inbound_quiet_until = 0.0
        self._inbound_lock = threading.Lock()
        self._ignored: tuple | None = None       # (index, number) of the incoming call left ringing
        self._hold_timer: threading.Timer | None = None

    # -- URCs (supervisor thread) --------------------------------------------------
    def on_urc(self, urc) -> None:
        """The router's call handler: feed the call being followed, or handle an inbound call."""
        barrier = getattr(urc, "body", None)
        if isinstance(barrier, _Barrier):
            barrier.done.set()
            return
        m = self.modem
        m.emit(CallUrc(m.profile.call_urc_style, urc.name, urc.value, urc.line, m.clock()))
        for signal in parse(urc.name, urc.value):
            watch = self._watch
            if watch is not None and watch.feed(signal):
                continue
            if signal.kind in ("incoming", "waiting", "missed"):
                self._inbound(signal)

    def barrier(self, timeout: float = 2.0) -> None:
        """Wait until every URC read so far has been handled (best effort, bounded)."""
        marker = _Barrier()
        self.modem.supervisor.post_urc(Urc("+CLCC", "", "", marker))
        if not marker.done.wait(timeout):
            log.debug("URC barrier not passed in %.1f s", timeout)

    # -- inbound ------------------------------------------------------------------------
    def _inbound(self, signal) -> None:
        """An incoming call's URC: look at the modem's call list and act once per call.

        URCs of a call we already handled (the rest of its RING / +CLIP burst) find no ringing call
        in the list and are dropped; a list that cannot be read falls back to the URC alone."""
        m = self.modem
        if self._watch is not None:
            return                       # call waiting during our call: the network's business
        if signal.kind == "missed":
            m.emit(IncomingCall(signal.number, m.clock(), "missed"))
            return
        if signal.kind == "waiting":
            return
        with self._inbound_lock:
            number = signal.number
            ringing, index = True, None
            try:
                listed = [s for s in parse_clcc_list(m.command("AT+CLCC").lines) if s.direction == "in"]
                incoming = [s for s in listed if s.kind == "incoming"]
                ringing = bool(incoming)
                if incoming:
                    index = incoming[0].index
                    number = incoming[0].number or number
            except (ModemError, OSError) as exc:
                log.info("incoming call: AT+CLCC failed (%s)", exc)
                if time.monotonic() < self._inbound_quiet_until:
                    return
            if not ringing:
                if time.monotonic() >= self._inbound_quiet_until:
                    m.emit(IncomingCall(number, m.clock(), "missed"))
                    self._inbound_quiet_until = time.monotonic() + 2.0
                return
            action = self.incoming_calls
            if action == "ignore":
                if self._ignored == (index, number):
                    return                   # reported once while it rings
                self._ignored = (index, number)
                m.emit(IncomingCall(number, m.clock(), "ignored"))
                return
            try:
                if action == "answer":
                    m.command("ATA")
                    self._schedule_hold_hangup()
                    done = "answered"
                else:
                    m.command(m.profile.hangup_command)
                    done = "rejected"
            except (ModemError, OSError) as exc:
                log.warning("incoming call from %s: %s failed (%s)", number, action, exc)
                done = "missed"
            self._inbound_quiet_until = time.monotonic() + 2.0
            log.info("incoming call from %s: %s", number, done)
            m.emit(IncomingCall(number, m.clock(), done))

    def _schedule_hold_hangup(self) -> None:
        def hang_up():
            try:
                self.modem.command(self.modem.profile.hangup_command)
            except (ModemError, OSError) as exc:
                log.info("hanging up the answered incoming call: %s", exc)
        timer = threading.Timer(self.incoming_hold, hang_up)
        timer.name = "cobrador-modem-voice-hold"
        timer.daemon = True
        self._hold_timer = timer
        timer.start()

    def close(self) -> None:
        """Cancel a pending hang-up timer (the Modem calls this on close)."""
        timer = self._hold_timer
        if timer is not None:
            timer.cancel()

    # -- outgoing ----------------------------------------------------------------------------
    def ensure_enabled(self) -> None:
        """Send ``profile.call_enable_commands`` once per connection (an ERROR is logged, not fatal)."""
        m = self.modem
        key = (m.generation, m.supervisor.reinitialisations)
        if self._enabled_for == key:
            return
        for line in m.profile.call_enable_commands:
            try:
                m.command(line)
            except CommandError as exc:
                log.info("%s not accepted (%s); continuing", line, exc)
        self._enabled_for = key

    def call(self, number: str, *, call_id: str | None = None, ring_timeout: float = 30.0, message=None,
             repeat: int = 2, listen_after: float = 6.0, player=None) -> CallResult:
        """Dial ``number`` and follow the call to its outcome (see the module docstring)."""
        return self._place(check_number(number), call_id=call_id, ring_for=ring_timeout, ring_mode=False,
                           message=message, repeat=repeat, listen_after=listen_after, player=player)

    def ring(self, number: str, *, seconds: float = 15.0, call_id: str | None = None) -> CallResult:
        """A ring reminder: let ``number`` ring ``seconds`` and hang up before anyone answers."""
        return self._place(check_number(number), call_id=call_id, ring_for=seconds, ring_mode=True,
                           message=None, repeat=0, listen_after=0.0, player=None)

    def _place(self, number: str, *, call_id, ring_for: float, ring_mode: bool, message, repeat: int,
               listen_after: float, player) -> CallResult:
        m = self.modem
        if ring_for < 0 or listen_after < 0 or repeat < 0:
            raise ValueError("ring time, listening time and repeat must not be negative")
        with m.radio_lock:
            m.require_ready()
            self.ensure_enabled()
            if message is not None and player is not None:
                player.prepare(m, message)
            generation = m.generation
            watch = CallWatch(number)
            started = m.clock()
            self._watch = watch
            try:
                return self._follow(watch, number, call_id, started, generation, ring_for, ring_mode,
                                    message, repeat, listen_after, player)
            finally:
                self._watch = None
                self._last_end = watch.ended_at or time.monotonic()   # the line went quiet

    def _follow(self, watch: CallWatch, number, call_id, started, generation, ring_for, ring_mode, message,
                repeat, listen_after, player) -> CallResult:
        m = self.modem
        now = time.monotonic()
        if self._last_end is not None and len(self.dead_times) < 100_000:
            self.dead_times.append(now - self._last_end)
        atd = f"ATD{number};"
        try:
            response = m.command(atd, check=False)
        except ModemDisconnected as exc:
            # the ATD may have reached the modem: the number may ring, so never dial it again blindly
            return self._result(watch, number, call_id, started, "failed", None, f"modem lost while dialling: {exc}")
        except CommandTimeout as exc:
            self._hang_up_quietly()
            return self._result(watch, number, call_id, started, "failed", None,
                                f"no answer to {atd}: {exc}")
        result = response.result
        if not result.ok:
            if result.kind in ("BUSY", "NO ANSWER", "NO CARRIER", "NO DIALTONE"):
                cause = self._cause()
                outcome, detail = outcome_of(connected=False, alerted=False, cause=cause, word=result.kind,
                                             we_hung_up=False, ring_mode=ring_mode)
                return self._result(watch, number, call_id, started, outcome, cause, detail)
            code = f" {result.code}" if result.code is not None else ""
            return self._result(watch, number, call_id, started, "failed", None,
                                f"{atd} refused: {result.kind}{code} {result.text or ''}".strip())
        watch.dialled_at = time.monotonic()
        lost = self._await_answer_or_end(watch, generation, ring_for)
        if lost:
            return self._result(watch, number, call_id, started, "failed", None, lost)
        we_hung_up = False
        played = 0.0
        notes = []
        if watch.connected and not watch.ended:
            if ring_mode:
                we_hung_up = self._hang_up(watch)
            else:
                if message is not None and player is not None:
                    for _ in range(repeat):
                        if watch.ended or self._lost(generation):
                            break
                        try:
                            played += float(player.play(m, message) or 0.0)
                        except Exception as exc:       # noqa: BLE001 - a player bug must not lose the call
                            log.warning("playing the message to %s failed: %s", number, exc)
                            notes.append(f"playback failed: {exc}")
                            break
                lost = self._wait_end(watch, generation, listen_after)
                if lost:
                    return self._result(watch, number, call_id, started, "failed", None, lost, played)
                if not watch.ended:
                    we_hung_up = self._hang_up(watch)
        elif not watch.ended:
            we_hung_up = self._hang_up(watch)
        if not watch.ended:
            lost = self._wait_end(watch, generation, self.end_wait)
            if lost:
                if watch.connected:
                    return self._result(watch, number, call_id, started, "answered", None,
                                        "; ".join(notes + [lost]), played)
                return self._result(watch, number, call_id, started, "failed", None, lost, played)
        cause = watch.cause
        if cause is None and not watch.connected:
            cause = self._cause()
        self.barrier()
        if watch.connected:
            outcome, detail = "answered", ""
        else:
            outcome, detail = outcome_of(connected=False, alerted=watch.alerting_at is not None, cause=cause,
                                         word=watch.word, we_hung_up=we_hung_up and not watch.connected,
                                         ring_mode=ring_mode)
        return self._result(watch, number, call_id, started, outcome, cause, "; ".join([d for d in [detail]
                                                                                     + notes if d]), played)

    # -- helpers ---------------------------------------------------------------------------
    def _lost(self, generation: int) -> str | None:
        m = self.modem
        if m.closed:
            return "modem closed during the call"
        if m.generation != generation or not m.ready.is_set():
            return "modem disconnected during the call (unplugged, rebooted or hung)"
        return None

    def _poll(self, watch: CallWatch) -> None:
        try:
            response = self.modem.command("AT+CLCC", check=False)
        except (CommandTimeout, ModemDisconnected) as exc:
            log.debug("AT+CLCC poll failed: %s", exc)
            return
        if response.result.ok:
            watch.poll(parse_clcc_list(response.lines))

    def _await_answer_or_end(self, watch: CallWatch, generation: int, ring_for: float) -> str | None:
        """Until answered, ended, or the ring time is over. Returns a reason if the modem was lost."""
        interval = max(0.1, float(self.modem.profile.call_poll_interval))
        next_poll = time.monotonic() + min(interval, 0.3)
        while True:
            lost = self._lost(generation)
            if lost:
                return lost
            if watch.connected or watch.ended:
                return None
            now = time.monotonic()
            if watch.alerting_at is not None:
                deadline = watch.alerting_at + ring_for
            else:
                deadline = watch.dialled_at + self.setup_timeout
            if now >= deadline:
                return None
            if now >= next_poll:
                self._poll(watch)
                next_poll = time.monotonic() + interval
                continue
            watch.wait(min(deadline, next_poll) - now if min(deadline, next_poll) > now else 0.0)

    def _wait_end(self, watch: CallWatch, generation: int, seconds: float) -> str | None:
        """Up to ``seconds`` for the call to end (keys are collected meanwhile). Reason if the modem was lost."""
        interval = max(0.1, float(self.modem.profile.call_poll_interval))
        deadline = time.monotonic() + seconds
        next_poll = time.monotonic() + interval
        while not watch.ended:
            lost = self._lost(generation)
            if lost:
                return lost
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_poll:
                self._poll(watch)
                next_poll = time.monotonic() + interval
                continue
            watch.wait(min(deadline, next_poll) - now)
        return None

    def _hang_up(self, watch: CallWatch) -> bool:
        """Hang up; True if the command was accepted (the call was ours to end)."""
        try:
            response = self.modem.command(self.modem.profile.hangup_command, check=False)
        except (CommandTimeout, ModemDisconnected) as exc:
            log.warning("hang-up failed: %s", exc)
            return False
        if response.result.ok and not watch.ended:
            watch.hung_up = True
            self._poll(watch)          # a modem without call URCs: its list tells the call is gone
        return response.result.ok

    def _hang_up_quietly(self) -> None:
        try:
            self.modem.command(self.modem.profile.hangup_command, check=False)
        except ModemError:
            pass

    def _cause(self) -> int | None:
        try:
            response = self.modem.command("AT+CEER", check=False)
        except (CommandTimeout, ModemDisconnected):
            return None
        return parse_cause_text(response.lines) if response.result.ok else None

    def _result(self, watch: CallWatch, number, call_id, started, outcome, cause, detail,
                played: float = 0.0) -> CallResult:
        end = watch.ended_at or time.monotonic()
        alerting = watch.alerting_at
        connected = watch.connected_at
        ring = ((connected or end) - alerting) if alerting is not None else 0.0
        talk = (end - connected) if connected is not None and outcome == "answered" else 0.0
        result = CallResult(number, outcome, call_id, started, round(max(0.0, ring), 3), round(max(0.0, talk), 3),
                            cause, detail, "".join(watch.keys), round(played, 3))
        log.info("call %s to %s: %s%s (rang %.1f s, talked %.1f s%s)", call_id or "-", number, outcome,
                 f", cause {cause}" if cause is not None else "", result.ring_seconds, result.talk_seconds,
                 f", keys {result.digits}" if result.digits else "")
        return result
