"""Writing what the radio hears into the ledger.

:class:`EventRecorder` runs one thread that takes driver events off the
queue. An inbound SMS is appended to the contact log (as a ``reply``,
linked to every debtor who lists that number) and only THEN acknowledged,
so the driver deletes it from the SIM only once it is on disk. The same
message offered twice (after a restart, before its deletion went through)
is recorded once: its ``message_key`` is the contact id, looked up in the
sender's own history (the debtor index), so the check does not depend on
the clock being right. Delivery reports become ``delivered`` / ``failed`` /
``expired`` events of the contact that caused them: the dispatcher sends
each message with its contact id as the driver's message id, so a report
for a phone shared by two debtors lands on that one contact (older messages
without a contact id fall back to every debtor on the number). Status
events go to :meth:`ModemLink.note_event`; each newly stored reply goes to
``on_reply`` (the responder), after the ack. A call a debtor places to the box
(``IncomingCall``) is stored as a ``reply`` on the ``call`` channel with no
text, and goes to ``on_reply`` too (the inbox, or the balance by SMS).

Understanding replies (SALDO, PAGUÉ, PROMESA, BAJA) is the reminder
engine's job (``scheduler.replies``); this module stores them faithfully.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from datetime import datetime, timezone

from firmware_py.importer.parsing import ParseError, parse_phone
from modem import events as ev
from scheduler.model import ContactEvent
from scheduler.responder import ANSWER_PREFIX

log = logging.getLogger("cobrador.recorder")

# driver delivery state -> contact-log kind (``pending``/``sent`` are not final: not logged)
_DELIVERY_KINDS = {"delivered": "delivered", "failed": "failed", "expired": "expired"}

# A part's state and, for a failed part, what its report's TP-Status says (3GPP TS 23.040 §9.2.3.15), in the
# words staff read on the contact log and the dashboard.
_PART_STATES = {"delivered": "entregado", "failed": "no entregado", "expired": "sin informe de entrega a tiempo",
                "pending": "la red sigue intentando", "sent": "enviado, sin informe"}
_STATUS_CAUSES = {
    0x40: "error permanente de la red", 0x41: "destino incompatible", 0x42: "el teléfono rechazó el mensaje",
    0x43: "número no disponible", 0x44: "servicio no disponible", 0x45: "sin interconexión con el destino",
    0x46: "venció sin poder entregarse", 0x47: "borrado por el remitente",
    0x48: "borrado por el centro de mensajes", 0x49: "el mensaje no existe",
    0x60: "red congestionada", 0x61: "teléfono ocupado", 0x62: "el teléfono no respondió (apagado o sin señal)",
    0x63: "servicio rechazado", 0x64: "servicio no disponible", 0x65: "error en el teléfono",
}


def delivery_detail(state: str, parts) -> str:
    """A delivery report as a Spanish line: the message's state and, for a failed part, why (its TP-Status,
    with the code). Several parts in the same state are said once; otherwise part by part. A message of one
    part delivered needs no words (the event's kind says it)."""
    def part_text(part) -> str:
        text = _PART_STATES.get(part.state, part.state)
        if part.state == "failed" and part.status is not None:
            cause = _STATUS_CAUSES.get(part.status) or ("error temporal de la red" if part.status >= 0x60
                                                        else "error permanente de la red")
            text += f": {cause} (estado 0x{part.status:02X})"
        return text

    if not parts:
        return _PART_STATES.get(state, state)
    if len(parts) == 1 and parts[0].state == "delivered":
        return ""
    texts = [part_text(p) for p in parts]
    if len(set(texts)) == 1:
        return texts[0] if len(parts) == 1 else f"{texts[0]} (las {len(parts)} partes)"
    return "; ".join(f"parte {p.sequence}: {t}" for p, t in zip(parts, texts))


_CALL_ACTIONS = {"rejected": "se colgó sin contestar", "answered": "se contestó y se colgó",
                 "ignored": "se dejó sonar", "missed": "colgó antes de que el equipo contestara"}


class EventRecorder:
    """Consume ``events`` into ``ledger``; ``on_status(event)`` sees every event first.

    ``country`` (the cooperative's) reads senders that the network gives in
    national form ("3001234567") as E.164, so they match the debtors' phones.
    """

    def __init__(self, ledger, events: queue.Queue, *, country: str = "CO", on_status=None, on_reply=None):
        self.ledger = ledger
        self.events = events
        self.country = country
        self.on_status = on_status
        self.on_reply = on_reply
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.recorded = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cobrador-recorder", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the recording thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop after recording what is already queued; safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not (self._stop.is_set() and self.events.empty()):
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.handle(event)
            except Exception:   # a bad event must not stop the recording of the next ones
                log.exception("could not record a %s event", type(event).__name__)

    def handle(self, event) -> None:
        """Record one event (public so tests can drive it synchronously)."""
        if self.on_status is not None:
            self.on_status(event)
        if isinstance(event, ev.IncomingSms):
            self._record_inbound(event, text=event.text,
                                 detail="" if event.complete else
                                 f"mensaje incompleto: llegaron {event.parts_received} de {event.parts_total} partes")
        elif isinstance(event, ev.UndecodableSms):
            # The raw PDU is kept: it is the only copy once the SIM slot is freed.
            self._record_inbound(event, text="", detail=f"mensaje ilegible ({event.error}); PDU {event.pdu}",
                                 sender="", key="pdu:" + hashlib.sha1(event.pdu.encode()).hexdigest())
        elif isinstance(event, ev.DeliveryUpdate) and event.final and event.state in _DELIVERY_KINDS:
            self._record_delivery(event)
        elif isinstance(event, ev.IncomingCall):
            self._record_incoming_call(event)
        elif isinstance(event, ev.StorageFull):
            log.warning("SIM storage full (%s %s/%s)", event.storage, event.used, event.total)
        elif isinstance(event, ev.ProtocolNoise):
            log.debug("modem noise: %s", event.reason)

    def _record_inbound(self, event, *, text: str, detail: str, sender: str | None = None,
                        key: str | None = None) -> None:
        if sender is None:
            sender = self.e164(event.sender)
            if sender != event.sender:
                detail = f"{detail}; remitente {event.sender}".lstrip("; ")
        contact_id = f"sms-in:{key or event.message_key}"
        at = _utc(event.at)
        # A re-offer (after a restart, before the deletion went through) is found in the sender's own history,
        # whatever the clock said then or says now.
        debtors = self.ledger.debtors_by_phone(sender) if sender else ()
        owner = debtors[0].id if debtors else ""
        stored = []
        if not self.ledger.contacts(debtor_id=owner, contact_id=contact_id, kinds=("reply",), limit=1):
            stored = self._append_for_number(sender, kind="reply", direction="inbound", at=at,
                                             text=text, detail=detail, contact_id=contact_id)
        event.ack()   # only now may the driver delete it from the SIM
        if self.on_reply is not None:
            for reply in stored:
                try:
                    self.on_reply(reply)
                except Exception:  # understanding a reply must never lose the next message
                    log.exception("could not act on reply %s", reply.contact_id)

    def _record_incoming_call(self, event) -> None:
        """A debtor called the box: a ``reply`` on the ``call`` channel (no text), for the inbox or the
        balance answer (:class:`firmware_py.responder.ReplyHandler`). Recorded once per caller and second."""
        from firmware_py.responder import INBOUND_CALL

        caller = self.e164(event.number or "")
        what = _CALL_ACTIONS.get(event.action, event.action)
        contact_id = f"call-in:{caller or 'oculto'}:{int(event.at)}"
        debtors = self.ledger.debtors_by_phone(caller) if caller else ()
        owner = debtors[0].id if debtors else ""
        if self.ledger.contacts(debtor_id=owner, contact_id=contact_id, kinds=("reply",), limit=1):
            return
        detail = f"llamó al equipo; {what}" if caller else f"llamada de un número oculto; {what}"
        stored = self._append_for_number(caller, kind="reply", direction="inbound", at=_utc(event.at), text="",
                                         detail=detail, contact_id=contact_id, reference=INBOUND_CALL,
                                         channel="call")
        if self.on_reply is not None:
            for reply in stored:
                try:
                    self.on_reply(reply)
                except Exception:
                    log.exception("could not act on the call from %s", caller or "a withheld number")

    def _record_delivery(self, event) -> None:
        kind = _DELIVERY_KINDS[event.state]
        detail = delivery_detail(event.state, event.parts)
        origin = self._contact_of(event.message_id, self.e164(event.number))
        if origin is None:
            self._append_for_number(self.e164(event.number), kind=kind, direction="outbound", at=_utc(event.at),
                                    reference=event.message_id, detail=detail)
            return
        self.ledger.append_contact(ContactEvent(
            at=_utc(event.at), debtor_id=origin.debtor_id, kind=kind, channel=origin.channel, direction="outbound",
            phone=origin.phone, contact_id=origin.contact_id, loan_external_id=origin.loan_external_id,
            reference=event.message_id, detail=detail))
        self.recorded += 1

    def _contact_of(self, message_id: str, number: str = ""):
        """The ``sending`` event of the contact whose id the dispatcher gave the driver, or None.

        A reminder's id starts with its debtor's id; an automatic answer's (``auto:…``) does not: its
        ``sending`` event is on the debtor it answered, or on no debtor ("") for a shared number."""
        debtor_id = message_id.split(":", 1)[0] if ":" in message_id else ""
        if message_id.startswith(ANSWER_PREFIX):
            owners = [d.id for d in self.ledger.debtors_by_phone(number)] if number else []
            candidates = owners + [""]
        elif debtor_id and self.ledger.debtor(debtor_id) is not None:
            candidates = [debtor_id]
        else:
            return None
        for candidate in candidates:
            found = self.ledger.contacts(debtor_id=candidate, contact_id=message_id, kinds=("sending",), limit=1)
            if found:
                return found[0]
        return None

    def e164(self, number: str) -> str:
        """``number`` as E.164 when it reads as a phone number of ``country``; else unchanged
        (alphanumeric senders such as the operator's "Claro" stay as they are)."""
        if not number or number.startswith("+") or not number.isdigit():
            return number
        try:
            return parse_phone(number, self.country).e164
        except ParseError:
            return number

    def _append_for_number(self, number: str, *, channel: str = "sms", **fields) -> list[ContactEvent]:
        debtors = self.ledger.debtors_by_phone(number) if number else ()
        stored = []
        for debtor_id in [d.id for d in debtors] or [""]:
            stored.append(self.ledger.append_contact(ContactEvent(debtor_id=debtor_id, phone=number, channel=channel,
                                                                  **fields)))
            self.recorded += 1
        return stored


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch or 0, tz=timezone.utc)
