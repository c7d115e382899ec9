"""The virtual GSM network behind the simulated modem: phones, SMSC, status reports, USSD, time.

:class:`VirtualNetwork` receives every SMS-SUBMIT the modem accepts
(:attr:`VirtualNetwork.submitted`, decoded, with the TP-MR the modem assigned),
delivers it to a :class:`VirtualPhone` and answers with status reports
according to the phone's ``outcome``:

=============  ==============================================================
``delivered``  report 0x00 after ``report_delay``; the phone gets the part
``failed``     report ``failure_status`` (0x41) after ``report_delay``; nothing arrives
``late``       report 0x00 after ``late_delay`` (longer than a driver waits)
``never``      the phone gets the part, no report ever comes
``pending``    report ``pending_status`` (0x20, "SC still trying") after
               ``report_delay``, then 0x00 after ``late_delay``
=============  ==============================================================

Reports are only produced when the SUBMIT asked for one (TP-SRR); whether the
client sees them depends on its ``AT+CNMI`` (see :mod:`modem.simulator.inbox`).
Phones send SMS to the modem with :meth:`VirtualPhone.send` (multipart,
reordered, or with parts dropped). Whatever the modem cannot take now (off,
unregistered, storage full) waits in the network and is retried when the
modem is ready again or frees memory, in order - like a real SMSC.

Voice: each phone has a ``script`` (:class:`modem.simulator.calls.CallScript`: answers after N s,
busy, no answer, rejects, switched off, presses keys, hangs up) that decides what an ``ATD`` to it
does, and keeps the calls it lived in ``calls``; :meth:`VirtualNetwork.call_in` makes a phone call
the modem. See :mod:`modem.simulator.calls`.

All methods run under the simulator's lock; timing uses ``host.call_later``.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from modem.pdu import Submit, encode_deliver, encode_deliver_data, encode_status_report
from modem.simulator.calls import CallRecord, CallScript

log = logging.getLogger("cobrador.modem.simulator.network")

OUTCOMES = ("delivered", "failed", "late", "never", "pending")
#: How many submitted / received messages the network remembers (oldest dropped first), so a
#: simulator behind a long-running demo appliance does not grow without bound.
HISTORY_LIMIT = 10_000


def _trim(items: list) -> None:
    if len(items) > HISTORY_LIMIT:
        del items[:len(items) - HISTORY_LIMIT]
BOGOTA = timezone(timedelta(hours=-5))


@dataclass(frozen=True)
class ReceivedSms:
    """A complete message that reached a phone: ``parts`` segments, finished at ``when`` (network time)."""

    text: str
    parts: int
    when: datetime


@dataclass(frozen=True)
class Submission:
    """One accepted SMS-SUBMIT: the decoded message (``message_reference`` = the MR the modem gave), its PDU."""

    message: Submit
    pdu: str
    when: datetime
    smsc: str


class VirtualPhone:
    """A phone on the virtual network (created by :meth:`VirtualNetwork.phone`).

    Settable: ``outcome`` (see the module table), ``report_delay`` (None: the
    network's), ``late_delay``, ``failure_status``, ``pending_status``,
    ``auto_reply`` (text this phone answers every complete message with),
    ``script`` (a :class:`CallScript`: what it does when called). ``calls``: the
    :class:`CallRecord` of every call it took part in, oldest first.
    """

    def __init__(self, network: "VirtualNetwork", number: str):
        self.network = network
        self.number = number
        self.outcome = "delivered"
        self.report_delay: float | None = None
        self.late_delay: float | None = None
        self.failure_status = 0x41
        self.pending_status = 0x20
        self.auto_reply: str | None = None
        self.received: list[ReceivedSms] = []
        self.script: CallScript = network.default_script
        self.calls: list[CallRecord] = []
        self._partial: dict[tuple[int, int], dict[int, str]] = {}

    def __repr__(self) -> str:
        return f"VirtualPhone({self.number!r}, outcome={self.outcome!r}, received={len(self.received)})"

    def send(self, text: str, *, parts_order=None, drop_parts=(), sender: str | None = None) -> None:
        """Send ``text`` from this phone to the modem (thread-safe; returns at once).

        ``parts_order``: the order parts leave the SMSC, as part numbers starting
        at 1 (like the UDH sequence), e.g. ``[2, 1, 3]``; parts not listed follow
        in order. ``drop_parts``: part numbers that never arrive. ``sender``
        overrides the originating address (e.g. an alphanumeric name).
        Raises :class:`modem.errors.PduError` if the text cannot be encoded.
        """
        with self.network.host.lock:
            self.network.send_from_phone(sender or self.number, text, parts_order, drop_parts)

    def send_data(self, data: bytes, *, message_class: int | None = None) -> None:
        """Send one 8-bit SMS (at most 140 octets; ``message_class`` 0-3, 0 = flash) to the modem.
        Raises :class:`modem.errors.PduError`."""
        with self.network.host.lock:
            encoded = encode_deliver_data(self.number, data, self.network.now(), smsc=self.network.smsc,
                                          message_class=message_class)
            self.network.host.call_later(0.0, self.network._offer, "deliver", encoded.hex, encoded.tpdu_length)

    def call(self, *, ring_for: float = 30.0) -> bool:
        """Call the modem from this phone (thread-safe); see :meth:`VirtualNetwork.call_in`."""
        return self.network.call_in(self.number, ring_for=ring_for)

    # -- network side
    def _take_part(self, message: Submit) -> ReceivedSms | None:
        concat = message.concat
        if concat is None:
            sms = ReceivedSms(message.text, 1, self.network.now())
        else:
            key = (concat.reference, concat.total)
            if key not in self._partial and len(self._partial) >= 256:
                del self._partial[next(iter(self._partial))]      # a part never came: forget the oldest
            parts = self._partial.setdefault(key, {})
            parts[concat.sequence] = message.text
            if len(parts) < concat.total:
                return None
            del self._partial[key]
            sms = ReceivedSms("".join(parts[i] for i in sorted(parts)), concat.total, self.network.now())
        self.received.append(sms)
        _trim(self.received)
        return sms


class VirtualNetwork:
    """Phones, SMSC, USSD service and network time (see the module docstring).

    ``host`` provides ``lock``, ``call_later(delay, fn, *args)`` and ``device``.
    """

    def __init__(self, host, *, report_delay: float = 0.05, smsc: str = "+573000000000"):
        self.host = host
        self.report_delay = report_delay
        self.late_delay = 5.0
        self.part_interval = 0.02
        self.smsc = smsc
        self.operator_long, self.operator_short, self.operator_numeric = "Claro CO", "Claro", "732101"
        self.own_number = "+573001112233"
        self.ussd: dict[str, str] = {"*611#": "Su saldo es $1.234. Vence el 30/11.",
                                     "*100#": "Saldo: $5.000"}
        self.broadcasts_time = True
        self.default_auto_reply: str | None = None     # auto_reply of phones created from now on
        self.default_script = CallScript()              # script of phones created from now on
        self.call_setup_delay = 0.2      # ATD -> ringing (or busy / absent), seconds
        self.no_answer_after = 30.0      # the network stops a call nobody answers (NO ANSWER, cause 19)
        self.ring_interval = 3.0         # RING / +CLIP repeat while an incoming call rings
        self.call_log: list[tuple[str, CallRecord]] = []   # (number, record) of every call, oldest first
        self.submitted: list[Submit] = []
        self.submissions: list[Submission] = []
        self.phones: dict[str, VirtualPhone] = {}
        self._waiting: dict[str, deque[tuple[str, int]]] = {"deliver": deque(), "report": deque()}
        self._time_base: tuple[datetime, float] | None = None

    # ------------------------------------------------------------------ public
    def phone(self, number: str) -> VirtualPhone:
        """The phone with ``number`` (created on first use)."""
        with self.host.lock:
            if number not in self.phones:
                self.phones[number] = VirtualPhone(self, number)
                self.phones[number].auto_reply = self.default_auto_reply
            return self.phones[number]

    def call_in(self, from_number: str, *, ring_for: float = 30.0) -> bool:
        """Phone ``from_number`` calls the modem and rings up to ``ring_for`` seconds (the modem
        prints RING / +CLIP ...). False when the modem cannot take a call now (off, unregistered,
        already in a call): the caller gets busy. Thread-safe."""
        from modem.simulator.calls import incoming
        with self.host.lock:
            self.phone(from_number)
            taken = incoming(self.host.device, from_number, ring_for) is not None
            self.host.call_later(0.0, lambda: None)      # wake the serving thread to write the URCs
            return taken

    def now(self) -> datetime:
        """Network time: real time in Bogotá (UTC-5) unless :meth:`set_time` moved it."""
        import time
        if self._time_base is None:
            return datetime.now(BOGOTA).replace(microsecond=0)
        value, at = self._time_base
        return value + timedelta(seconds=round(time.monotonic() - at))

    def set_time(self, value: datetime) -> None:
        import time
        if value.tzinfo is None:
            raise ValueError("network time must be timezone-aware")
        self._time_base = (value.replace(microsecond=0), time.monotonic())

    @property
    def waiting(self) -> int:
        """Messages and reports the SMSC holds because the modem could not take them."""
        return sum(len(q) for q in self._waiting.values())

    # ------------------------------------------------------------------ modem side
    def submit(self, message: Submit, pdu: str, smsc: str) -> None:
        """The modem accepted an SMS-SUBMIT (``message.message_reference`` is its TP-MR)."""
        when = self.now()
        self.submitted.append(message)
        self.submissions.append(Submission(message, pdu, when, smsc))
        _trim(self.submitted)
        _trim(self.submissions)
        phone = self.phone(message.number)
        log.debug("submit mr=%d to %s: %r", message.message_reference, message.number, message.text)
        delay = self.report_delay if phone.report_delay is None else phone.report_delay
        late = self.late_delay if phone.late_delay is None else phone.late_delay
        outcome = phone.outcome if phone.outcome in OUTCOMES else "delivered"
        if outcome == "failed":
            self.host.call_later(delay, self._report, message, when, phone.failure_status)
        elif outcome == "never":
            self.host.call_later(delay, self._arrive, phone, message)
        elif outcome == "late":
            self.host.call_later(late, self._arrive, phone, message, when, 0x00)
        elif outcome == "pending":
            self.host.call_later(delay, self._report, message, when, phone.pending_status)
            self.host.call_later(max(late, delay), self._arrive, phone, message, when, 0x00)
        else:
            self.host.call_later(delay, self._arrive, phone, message, when, 0x00)

    def modem_ready(self) -> None:
        """The modem (re)registered or unlocked its SIM: retry what waits, send network time."""
        self.host.call_later(0.05, self._flush)
        if self.broadcasts_time:
            self.host.call_later(0.1, self._push_time)

    def memory_available(self) -> None:
        """The modem freed message memory (the SMMA of TS 24.011): retry what waits."""
        self.host.call_later(0.05, self._flush)

    def redeliver(self, pdu: str, length: int, delay: float = 1.0) -> None:
        """The modem did not acknowledge a routed SMS: try again after ``delay`` seconds."""
        self.host.call_later(delay, self._offer, "deliver", pdu, length)

    def ussd_answer(self, request: str) -> str | None:
        return self.ussd.get(request.strip())

    def send_from_phone(self, sender: str, text: str, parts_order, drop_parts) -> None:
        parts = encode_deliver(sender, text, self.now(), smsc=self.smsc)
        order = [n for n in (parts_order or ()) if 1 <= n <= len(parts)]
        order += [n for n in range(1, len(parts) + 1) if n not in order]
        dropped = set(drop_parts or ())
        step = 0
        for number in order:
            if number in dropped:
                continue
            encoded = parts[number - 1]
            self.host.call_later(step * self.part_interval, self._offer, "deliver", encoded.hex, encoded.tpdu_length)
            step += 1

    def set_network_time(self, value: datetime) -> None:
        self.set_time(value)
        self._push_time()

    # ------------------------------------------------------------------ internals
    def _arrive(self, phone: VirtualPhone, message: Submit, when: datetime | None = None,
                status: int | None = None) -> None:
        sms = phone._take_part(message)
        if status is not None:
            self._report(message, when, status)
        if sms is not None and phone.auto_reply:
            self.host.call_later(0.3, self.send_from_phone, phone.number, phone.auto_reply, None, ())

    def _report(self, message: Submit, when: datetime, status: int) -> None:
        if not message.status_report:
            return
        report = encode_status_report(message.message_reference, message.number, when, self.now(), status,
                                      smsc=self.smsc)
        self._offer("report", report.hex, report.tpdu_length)

    def _offer(self, kind: str, pdu: str, length: int) -> None:
        queue = self._waiting[kind]
        if queue or not self._hand_over(kind, pdu, length):
            if len(queue) >= HISTORY_LIMIT:
                log.warning("SMSC queue full: dropping the oldest waiting %s", kind)
                queue.popleft()               # a real SMSC lets it expire (validity period)
            queue.append((pdu, length))

    def _hand_over(self, kind: str, pdu: str, length: int) -> bool:
        from modem.simulator.inbox import receive_deliver, receive_status_report
        device = self.host.device
        if kind == "deliver":
            return receive_deliver(device, pdu, length)
        return receive_status_report(device, pdu, length)

    def _flush(self) -> None:
        for kind, queue in self._waiting.items():
            while queue:
                pdu, length = queue[0]
                if not self._hand_over(kind, pdu, length):
                    break
                queue.popleft()

    def _push_time(self) -> None:
        from modem.simulator.handlers.network_cmds import apply_network_time
        apply_network_time(self.host.device, self.now())

