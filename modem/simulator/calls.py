"""Voice calls in the simulated modem: the calls, what the far phone does, and the URCs each modem prints.

A :class:`SimCall` is one call leg on the device (``device.calls``): outgoing
(``ATD<number>;``) or incoming (:meth:`modem.simulator.network.VirtualNetwork.call_in`).
What the far phone does is its :class:`CallScript` (``network.phone(n).script``):

======================  ===================================================================
script                  what the caller sees (27.007 / 24.008 cause)
======================  ===================================================================
``answer_after=s``      rings ``s`` seconds, then answers (connected)
``answer_after=None``   rings until the network gives up (``network.no_answer_after``):
or ``no_answer=True``   ``NO ANSWER``, cause 19
``busy=True``           no ringing: ``BUSY``, cause 17
``reject=True``         rings ``reject_after`` s, then the person declines: cause 21 (call rejected)
``off=True``            switched off / out of coverage: no ringing, cause 20 (subscriber absent)
``fail_cause=n``        the network clears the call during setup with cause ``n`` (1 unassigned...)
``digits``              ``((key, seconds after the answer), ...)``: keys pressed during the call
``hang_up_after=s``     the person hangs up ``s`` seconds after answering (None: waits for us)
======================  ===================================================================

How each modem family announces it (``profile.call_urc_style``):

- ``clcc`` (SIM800, generic): ``+CLCC: 1,0,<stat>,0,0,"<n>",<type>[,""]`` after ``AT+CLCC=1``
  (stat 2 dialing, 3 alerting, 0 active, 6 released; SIM800's 8th alpha field); SIM800
  ``MO RING`` / ``MO CONNECTED`` after ``AT+MORING=1``; keys ``+DTMF: <k>`` after ``AT+DDET=1``;
- ``simcom-voice-call`` (SIM7600): ``+CLCC`` as above, ``VOICE CALL: BEGIN`` on answer,
  ``VOICE CALL: END: hhmmss`` when an answered call ends, ``MISSED_CALL: hh:mm <n>`` for an
  incoming call nobody took; keys ``+RXDTMF: <k>`` (modelled);
- ``huawei-orig-conn-cend`` (E173): ``^ORIG:1,0``, ``^CONF:1`` (alerting), ``^CONN:1,0``,
  ``^CEND:1,<duration>,<end status>,<cause>``; keys ``^DTMF:1,<k>`` (modelled);
- ``quectel-dsci`` (EC25): ``^DSCI: 1,0,<stat>,0,"<n>",<type>`` after ``AT^DSCI=1`` (and ``+CLCC``
  after ``AT+CLCC=1``); keys ``+QTONEDET: <ASCII code>`` after ``AT+QTONEDET=1``.

Except on Huawei, a call that ends prints the classic result word as well: ``BUSY`` (17),
``NO ANSWER`` (19) or ``NO CARRIER``. ``AT+CEER`` tells the last call's cause in words
(``+CEER: User busy``; Quectel ``+CEER: "CC INFO","User busy"``). Incoming calls print
``RING`` (``+CRING: VOICE`` after ``AT+CRC=1``) and ``+CLIP: "<n>",<type>,"",0,"",0`` after
``AT+CLIP=1`` every ``ring_interval`` seconds until answered (``ATA``), rejected
(``ATH``/``AT+CHUP``) or given up by the caller. A power cycle or unplug drops every call.

Every function here runs under the simulator's lock (handlers, timers, control API).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

#: 24.008 cause values the simulator produces, with the text ``AT+CEER`` gives for them.
CAUSE_TEXT = {
    1: "Unassigned (unallocated) number",
    16: "Normal call clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call rejected",
    27: "Destination out of order",
    31: "Normal, unspecified",
    34: "No circuit/channel available",
    38: "Network out of order",
    41: "Temporary failure",
}

NORMAL, BUSY, NO_USER, NO_ANSWER, ABSENT, REJECTED = 16, 17, 18, 19, 20, 21


@dataclass(frozen=True)
class CallScript:
    """What a virtual phone does when it is called (see the module table). Immutable: assign a new one."""

    answer_after: float | None = 3.0
    busy: bool = False
    reject: bool = False
    reject_after: float = 1.0
    off: bool = False
    no_answer: bool = False
    fail_cause: int | None = None
    digits: tuple[tuple[str, float], ...] = ()
    hang_up_after: float | None = None

    def __post_init__(self):
        for key, at in self.digits:
            if not (isinstance(key, str) and len(key) == 1 and key in "0123456789*#ABCD"):
                raise ValueError(f"a key is one of 0-9 * # A-D, not {key!r}")
            if at < 0:
                raise ValueError(f"key {key!r}: a negative time {at!r}")


@dataclass(frozen=True)
class CallRecord:
    """One call as the far phone lived it: ``direction`` "in" (to the phone) or "out" (from it),
    ``outcome`` (answered / busy / no_answer / rejected / unreachable / failed / hung_up_by_modem / missed),
    seconds it ``rang`` and seconds of ``talk``, and the ``cause`` the network gave."""

    direction: str
    outcome: str
    rang: float
    talk: float
    cause: int


_STAT = {"dialing": 2, "alerting": 3, "active": 0, "incoming": 4, "ended": 6}


@dataclass(eq=False)
class SimCall:
    """One call leg on the simulated modem. ``started``: monotonic time it was answered (None before)."""

    index: int
    number: str
    direction: str                      # "out" (MO, dialled by the client) / "in" (MT)
    state: str = "dialing"              # dialing, alerting, active, incoming, ended
    created: float = field(default_factory=time.monotonic)
    alerting_at: float | None = None
    started: float | None = None
    ended_at: float | None = None
    digits_sent: list[str] = field(default_factory=list)   # AT+VTS keys the client played

    @property
    def connected(self) -> bool:
        return self.state == "active"


_counter = itertools.count(1)


def _style(dev) -> str:
    return dev.persona.profile.call_urc_style


def _flag(dev, name: str) -> bool:
    return dev.settings.flags.get(name, "0").split(",")[0].strip() == "1"


def _type(number: str) -> int:
    return 145 if number.startswith("+") else 129


def clcc_line(dev, call: SimCall) -> str:
    """The ``+CLCC:`` line of ``call`` as this modem prints it (in a list or as a URC)."""
    direction = 0 if call.direction == "out" else 1
    line = f'+CLCC: {call.index},{direction},{_STAT[call.state]},0,0,"{call.number}",{_type(call.number)}'
    return line + ',""' if dev.persona.profile.clcc_alpha_field else line


def _announce(dev, call: SimCall) -> None:
    """The state URCs of ``call``'s new state, per modem family."""
    style = _style(dev)
    if _flag(dev, "+CLCC") and style in ("clcc", "simcom-voice-call", "quectel-dsci"):
        dev.urc(clcc_line(dev, call))
    if style == "quectel-dsci" and _flag(dev, "^DSCI"):
        direction = 0 if call.direction == "out" else 1
        dev.urc(f'^DSCI: {call.index},{direction},{_STAT[call.state]},0,"{call.number}",{_type(call.number)}')
    if call.direction != "out":
        return
    if style == "clcc" and _flag(dev, "+MORING"):
        if call.state == "alerting":
            dev.urc("MO RING")
        elif call.state == "active":
            dev.urc("MO CONNECTED")
    if style == "huawei-orig-conn-cend":
        if call.state == "dialing":
            dev.urc(f"^ORIG:{call.index},0")
        elif call.state == "alerting":
            dev.urc(f"^CONF:{call.index}")
    if style in ("huawei-orig-conn-cend",) and call.state == "active":
        dev.urc(f"^CONN:{call.index},0")
    if style == "simcom-voice-call" and call.state == "active":
        dev.urc("VOICE CALL: BEGIN")


def _set(dev, call: SimCall, state: str) -> None:
    call.state = state
    now = time.monotonic()
    if state == "alerting":
        call.alerting_at = now
    elif state == "active":
        call.started = now
    _announce(dev, call)


def _network(dev):
    return dev.host.network


def _later(dev, delay: float, fn, call: SimCall, *args) -> None:
    """Run ``fn(dev, call, *args)`` after ``delay`` s unless the call ended or the modem restarted."""
    generation = dev.generation

    def run():
        if dev.generation == generation and call.state != "ended" and call in dev.calls:
            fn(dev, call, *args)
    dev.host.call_later(max(0.0, delay), run)


# ---------------------------------------------------------------- outgoing
def dial(dev, number: str) -> SimCall:
    """``ATD<number>;`` was accepted: create the call and schedule what the far phone does."""
    call = SimCall(_next_index(dev), number, "out")
    dev.calls.append(call)
    _later(dev, 0.0, _announce, call)           # after the ATD's OK, as modems print it
    network = _network(dev)
    phone = network.phone(number) if number in network.phones else None
    script = phone.script if phone is not None else network.default_script
    _later(dev, network.call_setup_delay, _setup, call, script)
    return call


def _next_index(dev) -> int:
    used = {c.index for c in dev.calls if c.state != "ended"}
    return next(i for i in itertools.count(1) if i not in used)


def _setup(dev, call: SimCall, script: CallScript) -> None:
    network = _network(dev)
    if script.fail_cause is not None:
        end(dev, call, script.fail_cause, "failed")
    elif script.off:
        end(dev, call, ABSENT, "unreachable")
    elif script.busy:
        end(dev, call, BUSY, "busy")
    else:
        _set(dev, call, "alerting")
        limit = network.no_answer_after
        if script.reject:
            if script.reject_after < limit:
                _later(dev, script.reject_after, end, call, REJECTED, "rejected")
                return
        elif not script.no_answer and script.answer_after is not None and script.answer_after < limit:
            _later(dev, script.answer_after, _answered, call, script)
            return
        _later(dev, limit, end, call, NO_ANSWER, "no_answer")


def _answered(dev, call: SimCall, script: CallScript) -> None:
    _set(dev, call, "active")
    for key, at in script.digits:
        _later(dev, at, press, call, key)
    if script.hang_up_after is not None:
        _later(dev, script.hang_up_after, end, call, NORMAL, "answered")


def press(dev, call: SimCall, key: str) -> None:
    """The far phone pressed ``key`` during the connected call: the modem's DTMF URC, if it detects them."""
    if call.state != "active":
        return
    style = _style(dev)
    if style == "clcc" and _flag(dev, "+DDET"):
        dev.urc(f"+DTMF: {key}")
    elif style == "huawei-orig-conn-cend":
        dev.urc(f"^DTMF:{call.index},{key}")
    elif style == "simcom-voice-call":
        dev.urc(f"+RXDTMF: {key}")
    elif style == "quectel-dsci" and _flag(dev, "+QTONEDET"):
        dev.urc(f"+QTONEDET: {ord(key)}")


def end(dev, call: SimCall, cause: int, outcome: str, *, by_modem: bool = False) -> None:
    """Release ``call`` with ``cause``: the URCs, the far phone's record, ``AT+CEER``'s answer."""
    if call.state == "ended":
        return
    now = time.monotonic()
    was_active = call.state == "active"
    rang = ((call.started or now) - call.alerting_at) if call.alerting_at is not None else 0.0
    talk = (now - call.started) if call.started is not None else 0.0
    call.ended_at = now
    dev.last_call_cause = cause
    call.state = "ended"
    _announce(dev, call)
    if call in dev.calls:
        dev.calls.remove(call)
    style = _style(dev)
    if style == "huawei-orig-conn-cend":
        end_status = 104 if was_active or call.direction == "in" else 29
        dev.urc(f"^CEND:{call.index},{int(talk)},{end_status},{cause}")
    else:
        if style == "simcom-voice-call" and was_active:
            seconds = int(talk)
            dev.urc(f"VOICE CALL: END: {seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}")
        if not by_modem:
            word = {BUSY: "BUSY", NO_ANSWER: "NO ANSWER"}.get(cause, "NO CARRIER") if call.direction == "out" \
                else "NO CARRIER"
            if call.direction == "out" or was_active:
                dev.urc(word)
    if by_modem:
        outcome = "answered" if was_active else ("rejected" if call.direction == "in" else "hung_up_by_modem")
    record = CallRecord(call.direction, outcome, rang, talk, cause)
    network = _network(dev)
    network.phone(call.number).calls.append(record)
    network.call_log.append((call.number, record))


def hang_up_all(dev) -> bool:
    """``ATH`` / ``AT+CHUP``: release every call (normal clearing by us). True if there was one."""
    calls = [c for c in dev.calls if c.state != "ended"]
    for call in calls:
        end(dev, call, NORMAL, "", by_modem=True)
    return bool(calls)


def drop_all(dev) -> None:
    """Power cycle or unplug: every call is gone without a word to the client."""
    for call in list(dev.calls):
        call.state = "ended"
        call.ended_at = time.monotonic()
        network = _network(dev)
        talk = (call.ended_at - call.started) if call.started is not None else 0.0
        record = CallRecord(call.direction, "dropped", 0.0, talk, 41)
        network.phone(call.number).calls.append(record)
        network.call_log.append((call.number, record))
    dev.calls.clear()


# ---------------------------------------------------------------- incoming
def incoming(dev, number: str, ring_for: float) -> SimCall | None:
    """A phone calls the modem: RING/+CLIP every ``ring_interval`` s for ``ring_for`` s (None if the
    modem cannot take a call now: off, unregistered, or busy with another)."""
    if not dev.can_receive or any(c.state != "ended" for c in dev.calls):
        return None
    call = SimCall(_next_index(dev), number, "in", state="incoming")
    call.alerting_at = time.monotonic()
    dev.calls.append(call)
    _announce(dev, call)
    _ring(dev, call, ring_for)
    _later(dev, ring_for, _caller_gave_up, call)
    return call


def _ring(dev, call: SimCall, ring_for: float) -> None:
    if call.state != "incoming":
        return
    dev.urc("+CRING: VOICE" if _flag(dev, "+CRC") else "RING")
    if _flag(dev, "+CLIP"):
        dev.urc(f'+CLIP: "{call.number}",{_type(call.number)},"",0,"",0')
    interval = _network(dev).ring_interval
    if time.monotonic() + interval < call.alerting_at + ring_for:
        _later(dev, interval, _ring, call, ring_for)


def _caller_gave_up(dev, call: SimCall) -> None:
    if call.state != "incoming":
        return
    if _style(dev) == "simcom-voice-call":
        dev.urc(f"MISSED_CALL: {time.strftime('%I:%M%p')} {call.number}")
    end(dev, call, NORMAL, "missed")


def answer(dev) -> SimCall | None:
    """``ATA``: take the ringing incoming call (None if there is none)."""
    call = next((c for c in dev.calls if c.state == "incoming"), None)
    if call is not None:
        _set(dev, call, "active")
    return call


def connected_call(dev) -> SimCall | None:
    """The connected (active) call, or None."""
    return next((c for c in dev.calls if c.state == "active"), None)


def ceer_line(dev) -> str:
    cause = dev.last_call_cause
    text = CAUSE_TEXT.get(cause, f"Cause {cause}")
    if dev.persona.profile.call_urc_style == "quectel-dsci":
        return f'+CEER: "CC INFO","{text}"'
    return f"+CEER: {text}"
