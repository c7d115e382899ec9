"""Acting on debtors' replies: understand each stored reply once and apply what it causes.

:class:`ReplyHandler` takes a ``reply`` event already in the contact log
(the recorder stores it before the SIM slot is freed), asks
:func:`scheduler.replies.understand` what it says and
:func:`scheduler.responder.respond` what it causes, then writes the effects
to the ledger:

- an opt-out of the number (``record_opt_out``) — honoured at once, also for
  reminders already planned: the dispatcher re-plans each debtor at send time;
- a promise to pay (``record_promise``) or a *pending* payment claim
  (``record_payment(..., status="pending")``), with ids derived from the reply
  so that handling it twice records nothing twice;
- the automatic answer as a ``planned`` contact for the dispatcher (sent at
  most once, within the contact hours; the opt-out confirmation at once);
- a ``note`` on the debtor's timeline saying what was understood and done,
  marked ``bandeja`` when a person must read it (the web UI's inbox).

The note is written last and marks the reply as handled: after a crash in
the middle, :meth:`ReplyHandler.catch_up` handles it again and every write
above is idempotent.

Replies on the ``call`` channel are the keys a debtor pressed during a
reminder call (:mod:`scheduler.keypad`: 1 promise, 2 call me back, 9 opt-out)
or a call the debtor placed to the box (``reference == "llamada entrante"``,
no text): that one goes to the inbox for a call back, or — when the
cooperative turned ``inbound_call_balance`` on — is answered like SALDO
(only to a registered personal number, within the contact hours).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Callable

from scheduler.model import ContactEvent

log = logging.getLogger("cobrador.responder")

HANDLED_SUFFIX = ":tratado"
MAX_ANSWERS_PER_DAY = 3
"""Automatic answers per number in a day (the opt-out confirmation aside); more go to a person."""
INBOX = "bandeja"
INBOUND_CALL = "llamada entrante"
"""``reference`` of the ``reply`` the recorder stores for a call a debtor placed to the box."""


def handled_id(reply: ContactEvent) -> str:
    return f"{reply.contact_id or reply.id}{HANDLED_SUFFIX}"


class ReplyHandler:
    """Apply replies to ``ledger`` with ``policy()`` (a callable: the live policy). ``words``: the
    cooperative's extra keywords (:class:`scheduler.replies.ReplyWords`, or None for the defaults).
    ``wake``: called after an answer was planned (the dispatcher's ``wake``)."""

    def __init__(self, ledger, policy: Callable, *, words=None, wake: Callable[[], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 keypad_promise_days: int | None = None, inbound_call_balance: bool = False):
        from scheduler.keypad import DEFAULT_PROMISE_DAYS

        self.ledger = ledger
        self.policy = policy
        self.words = words
        self.wake = wake
        self.clock = clock
        self.keypad_promise_days = DEFAULT_PROMISE_DAYS if keypad_promise_days is None else keypad_promise_days
        self.inbound_call_balance = inbound_call_balance

    def handle(self, reply: ContactEvent) -> object | None:
        """Understand and apply one stored reply (idempotent). Returns the effects, or None when it was
        already handled or is not a reply."""
        from scheduler.replies import DEFAULT_WORDS, understand
        from scheduler.responder import respond

        if reply.kind != "reply" or reply.direction != "inbound":
            return None
        ledger = self.ledger
        owner = reply.debtor_id
        if ledger.contacts(debtor_id=owner, contact_id=handled_id(reply), kinds=("note",), limit=1):
            return None
        now = self.clock()
        policy = self.policy().with_settings(ledger.settings.all())
        local_today = now.astimezone(_zone(policy.timezone)).date()
        if reply.channel == "call":
            understood = self._understand_call(reply, local_today)
        else:
            understood = understand(reply.text or "", today=local_today,
                                    words=self.words or getattr(policy, "reply_words", None) or DEFAULT_WORDS)
        debtors = ledger.debtors_by_phone(reply.phone) if reply.phone else ()
        loans = {d.id: ledger.loans(d.id) for d in debtors}
        effects = respond(reply, understood, debtors, loans, policy, now)
        source_id = reply.contact_id or reply.id
        if effects.opt_out and effects.answer is not None and self._confirmed_before(effects, debtors):
            # One confirmation per opt-out: a BAJA from a number already opted out (a second one, or an
            # auto-responder answering our confirmation) is noted, never confirmed again.
            effects = replace(effects, answer=None,
                              note=effects.note + "; ya estaba dado de baja y confirmado: no se confirma otra vez")
        source = "call" if reply.channel == "call" else "sms"
        said = (f"por teclado: «{(reply.text or '')[:40]}»" if source == "call"
                else f"por SMS: «{(reply.text or '')[:120]}»")
        if effects.opt_out:
            ledger.record_opt_out(effects.opt_out, source=source, now=now)
        if effects.promise is not None:
            p = effects.promise
            ledger.record_promise(p.debtor_id, p.due_date, p.amount, source=source,
                                  loan_external_id=p.loan_external_id, note=said, promise_id=f"prm-{source_id}",
                                  now=now)
        if effects.claim is not None and effects.claim.amount is not None:
            c = effects.claim
            ledger.record_payment(c.loan_external_id or None, c.amount, local_today, debtor_id=c.debtor_id,
                                  source="sms", status="pending", note=said, payment_id=f"pay-{source_id}", now=now)
        if effects.answer is not None and not effects.answer.exempt and self._answers_today(reply.phone, now) >= \
                MAX_ANSWERS_PER_DAY:
            # a phone that answers every SMS automatically would otherwise trade messages with us all day
            effects = replace(effects, answer=None, inbox=True,
                              note=effects.note + f"; ya se enviaron {MAX_ANSWERS_PER_DAY} respuestas automáticas hoy a "
                                                  "este número: esta queda para una persona")
        if effects.answer is not None:
            a = effects.answer
            planned = ContactEvent(now, a.debtor_id, "planned", channel="sms", direction="outbound", phone=a.phone,
                                   contact_id=a.contact_id, text=a.text, detail="respuesta automática",
                                   reference="exento" if a.exempt else "")
            if not ledger.contacts(debtor_id=a.debtor_id, contact_id=a.contact_id, kinds=("planned",), limit=1):
                ledger.append_contact(planned)
        note = ContactEvent(now, owner, "note", channel=source, direction="internal", phone=reply.phone,
                            contact_id=handled_id(reply), text=INBOX if effects.inbox else "",
                            detail=effects.note, reference=effects.intent)
        ledger.append_contact(note)
        log.info("reply %s: %s%s", source_id, effects.intent, " (inbox)" if effects.inbox else "")
        if effects.answer is not None and self.wake is not None:
            self.wake()
        return effects

    def _understand_call(self, reply: ContactEvent, today):
        """A ``call`` reply as a :class:`scheduler.replies.Reply`: the keys pressed, or a call placed to us."""
        from scheduler.keypad import understand_keys
        from scheduler.replies import Reply

        if reply.reference == INBOUND_CALL:
            if self.inbound_call_balance:
                return Reply("balance", matched="llamada entrante")
            return Reply("other", matched="llamada entrante", reason="llamó al equipo: devolver la llamada")
        understood = understand_keys(reply.text, today=today, promise_days=self.keypad_promise_days)
        return understood or Reply("other", reason=f"marcó teclas sin opción ({reply.text[:20]})")

    def _confirmed_before(self, effects, debtors) -> bool:
        """The number is opted out already and an earlier reply's opt-out confirmation was planned for it
        (this reply's own, written before a crash, does not count: handling stays idempotent)."""
        number = effects.opt_out
        if not self.ledger.opted_out(number):
            return False
        for owner in [d.id for d in debtors] + [""]:
            for event in self.ledger.contacts(debtor_id=owner, kinds=("planned",)):
                if (event.phone == number and event.contact_id.endswith(":opt_out")
                        and event.contact_id != effects.answer.contact_id):
                    return True
        return False

    def _answers_today(self, phone: str, now: datetime) -> int:
        """Automatic answers already planned for ``phone`` in the last day."""
        if not phone:
            return 0
        events = self.ledger.contacts(since=now - timedelta(days=1), kinds=("planned",))
        return sum(1 for e in events if e.phone == phone and e.contact_id.startswith("auto:"))

    def catch_up(self, *, days: int = 30) -> int:
        """Handle every stored reply of the last ``days`` not yet handled (after a restart). Returns how many."""
        since = self.clock() - timedelta(days=days)
        events = self.ledger.contacts(since=since, kinds=("reply", "note"))
        done = {e.contact_id for e in events if e.kind == "note" and e.contact_id.endswith(HANDLED_SUFFIX)}
        count = 0
        for event in events:
            if event.kind == "reply" and handled_id(event) not in done:
                try:
                    if self.handle(event) is not None:
                        count += 1
                except Exception:  # one reply must not stop the others
                    log.exception("could not handle reply %s", event.contact_id)
        return count


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
