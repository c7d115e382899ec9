"""Several modems behind one send interface: round-robin, per-SIM limits, parking of failing modems.

The dispatcher sends through a :class:`ModemPool` instead of one modem::

    pool = ModemPool([PoolMember("sim1", modem1, SimLimits(daily_cap=300, min_gap=4.0)),
                      PoolMember("sim2", modem2, SimLimits(daily_cap=300, min_gap=4.0))],
                     sent_today=ledger.sent_today_per_sim())
    try:
        result = pool.send("+573001234567", "Su cuota vence mañana", message_id=contact_id)
    except NoModemAvailable as exc:
        retry_later(exc.retry_at)          # nothing was sent
    else:
        record(result.member, result.sent)  # SentSms: sent / failed / uncertain

A member is a name, anything with the ``send_sms`` contract of
:meth:`modem.driver.Modem.send_sms` (``send_sms(number, text, *,
transliterate=False, message_id=None) -> SentSms``; ``ModemDisconnected`` /
``CommandTimeout`` raised only when nothing reached the network) and its
:class:`SimLimits`. The pool knows nothing of debtors; it does not open or
close the modems (their owner does) and it never resends a message that may
have reached the network.

Choosing a member (:meth:`ModemPool.send`): round-robin over the members that
are *ready*: not parked, under their daily cap, past their minimum gap, and
not busy with another send. Member states (:meth:`ModemPool.health`):

- ``ready``: may send now (``busy`` tells whether a send is in flight on it);
- ``parked``: ``block_after`` consecutive failures (or staff, :meth:`park`)
  took it out until ``parked_until`` (pool clock); the others take the work.
  When the parking ends the member is on probation: its failure count stays,
  so one more failure parks it again, one ``sent`` clears it;
- ``capped``: ``daily_cap`` messages today (a SIM that sends like a spammer
  gets blocked by its operator); counts restart when ``day(wall_clock())``
  changes; ``sent_today`` (e.g. from the ledger after a restart) seeds them;
- ``pacing``: its last submission was less than ``min_gap`` seconds ago.

If no member is ready but some are only pacing or busy, ``send`` waits (on a
condition variable: no polling) for the first gap to end or a member to be
freed, then uses it; ``wait=False`` raises instead. When no member can send
(every one parked, capped, or failed this message) it raises
:class:`NoModemAvailable` with ``retry_at``: nothing was sent.

Outcomes of a member's send:

- ``SentSms`` ``sent``: returned; the member's failure count is reset;
- ``SentSms`` ``failed`` (the network or modem refused *this* message, e.g. a
  bad number): returned as is; counts one failure (so a SIM that refuses
  everything gets parked after ``block_after`` in a row);
- ``SentSms`` ``uncertain``: returned as is, NEVER re-sent on another member
  (the first one may have delivered it); counts one failure;
- ``ModemDisconnected`` / ``CommandTimeout`` (nothing reached the network):
  counts one failure, and the SAME message is tried on the next ready member
  (``PoolSend.rerouted_from`` names the members that could not take it);
- ``ValueError`` (including ``PduError``: text, number or message id that
  cannot be sent anywhere): raised to the caller, no failure counted;
- any other exception: raised to the caller (the outcome is unknown, so it
  is not re-routed) and counts one failure.

Every returned ``SentSms`` (any state) counts toward the member's daily cap
and pacing: each one is an attempt the SIM made on the network (a refusal
too). Raised errors count toward neither.

Concurrency: thread-safe. At most ONE send is in flight per member, so N
members give N parallel sends; the pool's lock is never held while a modem
sends, so ``send`` blocks only on its chosen member (callers beyond N wait
for a member to be freed). The dispatcher gets the most from N threads.

Calls (:meth:`ModemPool.call`, :meth:`ModemPool.ring`) go through the same
members (a member's ``modem`` must then also have ``call``/``ring``, as
:class:`modem.driver.Modem` does): the next member that is not parked and not
busy — a call and a send never share a member at once, so one modem never has
two calls — regardless of the SMS daily cap and pacing (a call is not an SMS).
Calls queued by one thread go back to back on the free member, with no wait
between them. Outcomes: a :class:`modem.voice.calls.CallResult` is returned as
is; outcome ``failed`` (including a modem that dropped mid-call: the number
may have rung, so it is NEVER placed again on another member) counts one
failure, any other outcome clears the count. ``ModemDisconnected`` /
``CommandTimeout`` raised by the member (nothing was dialled) count one
failure and the call goes to the next member (``PoolCall.rerouted_from``).
``ValueError`` (a number that cannot be dialled) is raised, no failure.

Time: ``clock`` (monotonic seconds, injectable) measures gaps and parkings;
``retry_at`` and ``parked_until`` are on that clock. ``wall_clock`` (epoch
seconds) and ``day`` (epoch → a day key, default the local date) decide when
the daily counts restart.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Callable, Hashable, Iterable, Mapping, Protocol

from modem.errors import CommandTimeout, ModemDisconnected, NoModemAvailable

if TYPE_CHECKING:
    from modem.sending import SentSms
    from modem.voice.calls import CallResult

log = logging.getLogger("cobrador.modem.pool")

READY, PARKED, CAPPED, PACING = "ready", "parked", "capped", "pacing"
STATES = (READY, PARKED, CAPPED, PACING)


class SmsSender(Protocol):
    """What a pool member's ``modem`` must offer (a :class:`modem.driver.Modem` does)."""

    def send_sms(self, number: str, text: str, *, transliterate: bool = False,
                 message_id: str | None = None) -> "SentSms": ...


def local_day(epoch: float) -> date:
    """The local calendar date of ``epoch`` (the default ``day`` of a pool)."""
    return date.fromtimestamp(epoch)


def _finite(value, name: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, not {value!r}")
    return float(value)


def _count(value, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, not {value!r}")
    return value


@dataclass(frozen=True)
class SimLimits:
    """Per-SIM limits: ``daily_cap`` messages a day (None: no cap), ``min_gap`` seconds between
    submissions, and parking after ``block_after`` consecutive failures for ``block_time`` seconds
    (smstools' blockafter / blocktime). ValueError for negative or non-finite values."""

    daily_cap: int | None = None
    min_gap: float = 0.0
    block_after: int = 3
    block_time: float = 600.0

    def __post_init__(self):
        if self.daily_cap is not None:
            _count(self.daily_cap, "daily_cap")
        _finite(self.min_gap, "min_gap")
        _count(self.block_after, "block_after", minimum=1)
        _finite(self.block_time, "block_time")


@dataclass(frozen=True)
class PoolMember:
    """One modem of a pool: ``name`` (shown to staff, key of ``sent_today``), ``modem`` (see
    :class:`SmsSender`) and its ``limits``."""

    name: str
    modem: SmsSender = field(repr=False)
    limits: SimLimits = SimLimits()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"a pool member needs a name, not {self.name!r}")
        if not callable(getattr(self.modem, "send_sms", None)):
            raise ValueError(f"member {self.name!r}: {self.modem!r} has no send_sms")
        if not isinstance(self.limits, SimLimits):
            raise ValueError(f"member {self.name!r}: limits must be SimLimits, not {self.limits!r}")


@dataclass(frozen=True)
class PoolSend:
    """The result of :meth:`ModemPool.send`: the ``member`` that took the message and its ``sent``
    outcome; ``rerouted_from``: members that raised ModemDisconnected/CommandTimeout for it first."""

    member: str
    sent: "SentSms"
    rerouted_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolCall:
    """The result of :meth:`ModemPool.call` / :meth:`ModemPool.ring`: the ``member`` that placed the
    call and its ``result`` (:class:`modem.voice.calls.CallResult`); ``rerouted_from``: members that
    raised ModemDisconnected/CommandTimeout before dialling it."""

    member: str
    result: "CallResult"
    rerouted_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberHealth:
    """A member as staff should see it: ``state`` ready / parked / capped / pacing, consecutive
    ``failures``, ``sent_today``, ``parked_until`` (pool clock; None unless parked), ``busy`` (a send
    in flight now)."""

    name: str
    state: str
    failures: int
    sent_today: int
    parked_until: float | None
    busy: bool = False


class _Slot:
    """A member's mutable bookkeeping (guarded by the pool's condition)."""

    __slots__ = ("member", "failures", "parked_until", "parked_by_staff", "sent_today", "last_sent", "busy")

    def __init__(self, member: PoolMember, sent_today: int):
        self.member = member
        self.failures = 0
        self.parked_until: float | None = None
        self.parked_by_staff = False
        self.sent_today = sent_today
        self.last_sent: float | None = None     # pool clock when its last SentSms came back
        self.busy = False

    @property
    def name(self) -> str:
        return self.member.name

    @property
    def limits(self) -> SimLimits:
        return self.member.limits

    def parked(self, now: float) -> bool:
        if self.parked_until is None:
            return False
        if now < self.parked_until:
            return True
        self.parked_until = None             # parking over (probation: failures are kept)
        self.parked_by_staff = False
        return False

    def capped(self) -> bool:
        cap = self.limits.daily_cap
        return cap is not None and self.sent_today >= cap

    def gap_ends(self) -> float | None:
        if self.last_sent is None or self.limits.min_gap <= 0:
            return None
        return self.last_sent + self.limits.min_gap

    def state(self, now: float) -> str:
        if self.parked(now):
            return PARKED
        if self.capped():
            return CAPPED
        ends = self.gap_ends()
        if ends is not None and now < ends:
            return PACING
        return READY

    def available_at(self, now: float) -> float | None:
        """When this member may send again if nothing else happens (None: not today)."""
        if self.capped():
            return None
        at = now
        if self.parked(now):
            at = max(at, self.parked_until)
        ends = self.gap_ends()
        if ends is not None:
            at = max(at, ends)
        return at


def _duration(seconds: float) -> str:
    """Spanish, for staff: "45 s", "9 min 30 s", "1 h 5 min"."""
    seconds = max(0, math.ceil(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


_FAILURE_WORDS = {ModemDisconnected: "desconectado", CommandTimeout: "no responde"}


class ModemPool:
    """Several modems behind one ``send`` (see the module docstring for the whole contract).

    ``members``: :class:`PoolMember` objects with distinct names (ValueError
    otherwise). ``clock``: monotonic seconds. ``wall_clock``: epoch seconds;
    ``day``: epoch → day key (hashable) — daily counts restart when it
    changes. ``sent_today``: messages each member already sent today (by
    name; unknown names are a ValueError). Context manager; ``close()`` is
    safe twice and does not close the modems.
    """

    def __init__(self, members: Iterable[PoolMember], *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 day: Callable[[float], Hashable] = local_day, sent_today: Mapping[str, int] = {}):
        members = tuple(members)
        if not members:
            raise ValueError("a modem pool needs at least one member")
        for member in members:
            if not isinstance(member, PoolMember):
                raise ValueError(f"pool members must be PoolMember objects, not {member!r}")
        names = [m.name for m in members]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"pool member names must be distinct: {duplicates}")
        unknown = sorted(set(sent_today) - set(names))
        if unknown:
            raise ValueError(f"sent_today names unknown members: {unknown}")
        self.clock = clock
        self.wall_clock = wall_clock
        self.day = day
        self._cond = threading.Condition()
        self._slots = [_Slot(m, _count(sent_today.get(m.name, 0), f"sent_today[{m.name!r}]")) for m in members]
        self._by_name = {s.name: s for s in self._slots}
        self._today = day(wall_clock())
        self._cursor = 0
        self._closed = False

    # -- life cycle ---------------------------------------------------------------
    def __enter__(self) -> "ModemPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Refuse new sends and wake waiting ones (they raise ModemDisconnected); sends in flight
        finish. Safe twice. The modems stay open: their owner closes them."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._slots)

    # -- staff ----------------------------------------------------------------------
    def park(self, name: str, seconds: float) -> None:
        """Take member ``name`` out of the rotation for ``seconds`` (a send in flight on it finishes).
        KeyError for an unknown name, ValueError for a negative or non-finite time."""
        seconds = _finite(seconds, "seconds")
        with self._cond:
            slot = self._slot(name)
            slot.parked_until = self.clock() + seconds
            slot.parked_by_staff = True
            log.warning("modem %s parked by staff for %.0f s", name, seconds)
            self._cond.notify_all()

    def unpark(self, name: str) -> None:
        """Put member ``name`` back in the rotation now, with its failure count cleared. KeyError if unknown."""
        with self._cond:
            slot = self._slot(name)
            slot.parked_until = None
            slot.parked_by_staff = False
            slot.failures = 0
            log.info("modem %s unparked", name)
            self._cond.notify_all()

    def health(self) -> tuple[MemberHealth, ...]:
        """Every member's state, in the members' order."""
        with self._cond:
            self._roll_day()
            now = self.clock()
            return tuple(MemberHealth(s.name, s.state(now), s.failures, s.sent_today,
                                      s.parked_until if s.parked(now) else None, s.busy) for s in self._slots)

    # -- sending ----------------------------------------------------------------------
    def send(self, number: str, text: str, *, message_id: str, transliterate: bool = False,
             wait: bool = True) -> PoolSend:
        """Send one message through the next ready member; see the module docstring.

        ``message_id`` is passed to the modem (its DeliveryUpdate events carry
        it); ValueError if it is not a valid id. ``wait``: wait for a member
        that is only pacing or busy (default) instead of raising. Raises
        NoModemAvailable (nothing was sent), ModemDisconnected after
        :meth:`close`, ValueError/PduError for a message no modem can send.
        """
        from modem.sending import check_message_id     # lazy: ``import modem`` stays light
        check_message_id(message_id)
        tried: list[str] = []
        failures: dict[str, BaseException] = {}
        last_error: BaseException | None = None
        while True:
            slot = self._acquire(tried, failures, last_error, wait)
            try:
                sent = slot.member.modem.send_sms(number, text, transliterate=transliterate, message_id=message_id)
            except (ModemDisconnected, CommandTimeout) as exc:
                # nothing reached the network: safe on the next member
                log.warning("modem %s could not take %s (%s); trying the next one", slot.name, message_id, exc)
                self._release(slot, failed=True, why=exc)
                tried.append(slot.name)
                failures[slot.name] = exc
                last_error = exc
                continue
            except ValueError:
                self._release(slot, failed=False)      # the message's fault (PduError, id): no modem can send it
                raise
            except BaseException as exc:
                self._release(slot, failed=isinstance(exc, Exception), why=exc)
                raise
            self._release(slot, sent=sent)
            return PoolSend(slot.name, sent, tuple(tried))

    # -- calls ------------------------------------------------------------------------------
    def call(self, number: str, *, call_id: str, wait: bool = True, **options) -> PoolCall:
        """Place one call through the next free member (``options``: those of
        :meth:`modem.driver.Modem.call`, e.g. ``ring_timeout``, ``message``, ``player``); see the
        module docstring. Raises NoModemAvailable (nothing was dialled), ModemDisconnected after
        :meth:`close`, ValueError for a number that cannot be dialled."""
        return self._place("call", number, call_id, wait, options)

    def ring(self, number: str, *, call_id: str, seconds: float = 15.0, wait: bool = True) -> PoolCall:
        """A ring reminder (:meth:`modem.driver.Modem.ring`) through the next free member."""
        return self._place("ring", number, call_id, wait, {"seconds": seconds})

    def _place(self, method: str, number: str, call_id: str, wait: bool, options: dict) -> PoolCall:
        from modem.sending import check_message_id     # the same rules as a message id
        check_message_id(call_id)
        tried: list[str] = []
        failures: dict[str, BaseException] = {}
        last_error: BaseException | None = None
        while True:
            slot = self._acquire(tried, failures, last_error, wait, for_call=True)
            try:
                result = getattr(slot.member.modem, method)(number, call_id=call_id, **options)
            except (ModemDisconnected, CommandTimeout) as exc:
                log.warning("modem %s could not place call %s (%s); trying the next one", slot.name, call_id, exc)
                self._release(slot, failed=True, why=exc)
                tried.append(slot.name)
                failures[slot.name] = exc
                last_error = exc
                continue
            except ValueError:
                self._release(slot, failed=False)
                raise
            except BaseException as exc:
                self._release(slot, failed=isinstance(exc, Exception), why=exc)
                raise
            failed = result.outcome == "failed"
            if failed:
                log.warning("modem %s: call %s failed: %s", slot.name, call_id, result.detail)
            else:
                with self._cond:
                    slot.failures = 0
            self._release(slot, failed=failed, why=RuntimeError(result.detail) if failed else None)
            return PoolCall(slot.name, result, tuple(tried))

    # -- internals ----------------------------------------------------------------------
    def _slot(self, name: str) -> _Slot:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no modem named {name!r} in the pool (members: {', '.join(self.names)})") from None

    def _roll_day(self) -> None:
        today = self.day(self.wall_clock())
        if today != self._today:
            log.info("new day %s: daily counts restart (were %s)", today,
                     {s.name: s.sent_today for s in self._slots})
            self._today = today
            for s in self._slots:
                s.sent_today = 0
            self._cond.notify_all()

    def _acquire(self, tried: list[str], failures: dict, last_error: BaseException | None, wait: bool,
                 for_call: bool = False) -> _Slot:
        """The next ready member not in ``tried``, marked busy; waits or raises (see ``send``).
        ``for_call``: daily cap and pacing do not apply, and the member must be able to call."""
        with self._cond:
            while True:
                if self._closed:
                    raise ModemDisconnected("the modem pool is closed")
                self._roll_day()
                now = self.clock()
                n = len(self._slots)
                for step in range(n):
                    index = (self._cursor + step) % n
                    slot = self._slots[index]
                    if slot.name in tried or slot.busy:
                        continue
                    if for_call:
                        if slot.parked(now) or not callable(getattr(slot.member.modem, "call", None)):
                            continue
                    elif slot.state(now) != READY:
                        continue
                    self._cursor = index + 1
                    slot.busy = True
                    return slot
                # nobody ready now: may waiting help?
                candidates = [s for s in self._slots if s.name not in tried]
                if for_call:
                    candidates = [s for s in candidates if callable(getattr(s.member.modem, "call", None))]
                    hopeful = [s for s in candidates if not s.parked(now)]                  # busy
                else:
                    hopeful = [s for s in candidates if not s.parked(now) and not s.capped()]   # busy or pacing
                if not wait or not hopeful:
                    raise NoModemAvailable(self._reasons(now, failures), self._retry_at(now)) from last_error
                wake = [s.available_at(now) for s in candidates if not s.busy]
                wake = [t for t in wake if t is not None and t > now]
                timeout = (min(wake) - now) if wake else None
                self._cond.wait(timeout)

    def _release(self, slot: _Slot, *, sent: "SentSms | None" = None, failed: bool = False,
                 why: BaseException | None = None) -> None:
        with self._cond:
            slot.busy = False
            self._roll_day()
            now = self.clock()
            if sent is not None:
                slot.sent_today += 1
                slot.last_sent = now
                if sent.state == "sent":
                    slot.failures = 0
                else:
                    failed = True
                    why = why or sent.error
                    log.warning("modem %s: message %s %s", slot.name, sent.message_id, sent.state)
            if failed:
                slot.failures += 1
                limits = slot.limits
                if slot.failures >= limits.block_after and not slot.parked(now):
                    slot.parked_until = now + limits.block_time
                    slot.parked_by_staff = False
                    log.error("modem %s parked for %.0f s after %d consecutive failures (last: %s)",
                              slot.name, limits.block_time, slot.failures, why)
            self._cond.notify_all()

    def _retry_at(self, now: float) -> float | None:
        times = [t for t in (s.available_at(now) for s in self._slots) if t is not None]
        return min(times) if times else None

    def _reasons(self, now: float, failures: Mapping[str, BaseException]) -> list[str]:
        reasons = []
        for s in self._slots:
            state = s.state(now)
            if state == PARKED:
                plural = "s" if s.failures != 1 else ""
                why = "por el personal" if s.parked_by_staff else f"tras {s.failures} fallo{plural} seguido{plural}"
                reasons.append(f"{s.name} está en pausa {why} (faltan {_duration(s.parked_until - now)})")
            elif state == CAPPED:
                reasons.append(f"{s.name} llegó a su tope diario de {s.limits.daily_cap} SMS")
            elif s.name in failures:
                exc = failures[s.name]
                word = next((w for t, w in _FAILURE_WORDS.items() if isinstance(exc, t)), "falló")
                reasons.append(f"{s.name} no pudo enviar este mensaje ({word})")
            elif s.busy:
                reasons.append(f"{s.name} está ocupado con otro envío")
            elif state == PACING:
                reasons.append(f"{s.name} debe esperar {_duration(s.gap_ends() - now)} entre envíos")
            else:
                reasons.append(f"{s.name} está listo")
        return reasons
