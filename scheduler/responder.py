"""What a debtor's reply should cause — a pure function from the reply to its effects.

``respond(reply, understood, debtors, loans, policy, now)`` takes an inbound
reply (a ``reply`` event of the contact log), what :func:`scheduler.replies.understand`
made of it, the debtors listing the sender's number and their loans, and
returns :class:`Effects`: what to record in the ledger and which answer to
send. The appliance applies them (``firmware_py.responder``); nothing here
writes or sends.

| intent | effect | answer |
|---|---|---|
| ``opt_out`` | the number is opted out for every loan, at once | one confirmation, sent even outside the contact hours |
| ``balance`` | — | the balance and the next instalment, or everything overdue and since when (counted on the debtor's own day) — only to a registered number; a shared number gets an invitation to the office, no amount |
| ``payment_claim`` | a *pending* payment waiting for staff to confirm (never a payment by itself) | thanks, it will be checked |
| ``promise`` | a promise to pay (pauses the ladder until its date plus grace days) | the date confirmed |
| ``help`` | — | the keywords |
| ``other`` | to the inbox for a person | — |

A number shared by several debtors cannot say *whose* payment or promise it
is: those go to the inbox (the opt-out still applies to the number). A
number that belongs to nobody: the opt-out is honoured and confirmed,
everything else goes to the inbox. A promise without an amount promises the
overdue amount (or the next instalment); one with an unusable date (past,
or too far ahead) goes to the inbox.

Answers obey the contact rules' hours and days (not the caps: the debtor
asked); the opt-out confirmation is exempt (the law asks for one
confirmation). Each answer has a stable ``contact_id`` derived from the reply,
so it is sent at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

from scheduler.model import ContactEvent, Debtor, Loan
from scheduler.policy import Policy
from scheduler.templates import MessageFacts, format_day, format_money, substitute, transliterated

ANSWER_PREFIX = "auto:"


@dataclass(frozen=True)
class Answer:
    """An SMS to send in reply: ``exempt`` answers (the opt-out confirmation) ignore the contact hours."""

    contact_id: str
    debtor_id: str
    phone: str
    text: str
    exempt: bool = False


@dataclass(frozen=True)
class PromiseToRecord:
    debtor_id: str
    due_date: date
    amount: Decimal
    loan_external_id: str = ""


@dataclass(frozen=True)
class ClaimToRecord:
    debtor_id: str
    amount: Decimal | None
    loan_external_id: str = ""


@dataclass(frozen=True)
class Effects:
    """What the reply causes. ``note`` is a Spanish line for staff (the timeline and the inbox)."""

    intent: str
    note: str
    opt_out: str | None = None
    promise: PromiseToRecord | None = None
    claim: ClaimToRecord | None = None
    answer: Answer | None = None
    inbox: bool = False


ANSWERS_ES = {
    "opt_out": "{cooperativa}: No le enviaremos más mensajes a este número. Si fue un error, comuníquese con "
               "nosotros. Info: {telefono_cooperativa}.",
    "balance": "{cooperativa}: {nombre}, su saldo es {saldo}. Próxima cuota: {monto} el {vence}. Ref "
               "{referencia_pago}.",
    "balance_overdue": "{cooperativa}: {nombre}, su saldo es {saldo}. Vencido: {monto} desde el {vence}. Ref "
                       "{referencia_pago}.",
    "balance_shared": "{cooperativa}: Por seguridad no enviamos saldos a este número. Acérquese a la oficina o "
                      "llame. Info: {telefono_cooperativa}.",
    "payment_claim": "{cooperativa}: Gracias, {nombre}. Verificaremos su pago y lo registraremos.",
    "promise": "{cooperativa}: Gracias, {nombre}. Anotamos su compromiso de pago para el {vence}.",
    "help": "{cooperativa}: Responda SALDO para conocer su saldo, PAGUE y el monto si ya pagó, PROMESA y la fecha "
            "para acordar un pago, o BAJA para no recibir más mensajes. Info: {telefono_cooperativa}.",
}
ANSWERS_EN = {
    "opt_out": "{cooperativa}: We will not send more messages to this number. If this was a mistake, please "
               "contact us. Info: {telefono_cooperativa}.",
    "balance": "{cooperativa}: {nombre}, your balance is {saldo}. Next instalment: {monto} on {vence}. Ref "
               "{referencia_pago}.",
    "balance_overdue": "{cooperativa}: {nombre}, your balance is {saldo}. Overdue: {monto} since {vence}. Ref "
                       "{referencia_pago}.",
    "balance_shared": "{cooperativa}: For your privacy we do not send balances to this number. Please visit or "
                      "call the office. Info: {telefono_cooperativa}.",
    "payment_claim": "{cooperativa}: Thank you, {nombre}. We will check your payment and record it.",
    "promise": "{cooperativa}: Thank you, {nombre}. We noted your promise to pay on {vence}.",
    "help": "{cooperativa}: Reply SALDO for your balance, PAGUE and the amount if you paid, PROMESA and a date to "
            "agree a payment, or BAJA to stop messages. Info: {telefono_cooperativa}.",
}


def answer_id(reply: ContactEvent, kind: str) -> str:
    """The answer's contact id: the reply's own id (unique per inbound SMS) plus the kind."""
    return f"{ANSWER_PREFIX}{reply.contact_id or reply.id}:{kind}"


def respond(reply: ContactEvent, understood, debtors: Sequence[Debtor], loans: Mapping[str, Sequence[Loan]],
            policy: Policy, now: datetime) -> Effects:
    """The effects of one reply (see the module docstring). ``understood`` has ``intent``, ``amount``,
    ``date`` and ``valid_date`` (:class:`scheduler.replies.Reply`); ``loans`` maps debtor id -> loans."""
    intent = understood.intent
    number = reply.phone
    one = debtors[0] if len(debtors) == 1 else None
    phone = one.phone(number) if one is not None else None
    language = one.language if one is not None else policy.templates.default_language
    # what is due or late is counted on the debtor's own calendar day (``now`` is an instant, often in UTC)
    today = now.astimezone(ZoneInfo(one.timezone if one is not None else policy.timezone)).date()

    def answer(kind: str, debtor: Debtor | None, values: Mapping[str, str], *, exempt=False,
               wording: str | None = None) -> Answer:
        """The answer of ``kind`` (its id), in the words of ``wording`` (default: the kind's own)."""
        table = ANSWERS_EN if language == "en" else ANSWERS_ES
        base = {"cooperativa": policy.cooperative.name,
                "telefono_cooperativa": policy.cooperative.phone or ("the office" if language == "en" else
                                                                     "la oficina")}
        text = substitute(table[wording or kind], {**base, **values})
        if policy.transliterate:
            text = transliterated(text)
        return Answer(answer_id(reply, kind), debtor.id if debtor else "", number, text, exempt)

    if intent == "opt_out":
        return Effects(intent, f"pidió no recibir más mensajes ({understood.matched}): número dado de baja",
                       opt_out=number, answer=answer("opt_out", one, {}, exempt=True) if number else None)
    if not debtors:
        return Effects(intent, "mensaje de un número que no es de ningún deudor: a la bandeja", inbox=True)
    if intent == "help":
        return Effects(intent, "pidió ayuda: se enviaron las palabras clave", answer=answer("help", one, {}))
    if intent == "balance":
        if one is None or phone is None or not phone.personal:
            return Effects(intent, "pidió su saldo desde un número compartido: se le invita a la oficina",
                           answer=answer("balance_shared", one, {}))
        facts = _balance_facts(one, loans.get(one.id, ()), today)
        if facts is None:
            return Effects(intent, "pidió su saldo y no tiene créditos activos: a la bandeja", inbox=True)
        country = policy.cooperative.country
        values = {"nombre": _first(one.name), "saldo": format_money(facts.balance, facts.currency, country),
                  "monto": format_money(facts.amount_due, facts.currency, country),
                  "vence": format_day(facts.due_date, language), "referencia_pago": facts.loan_id}
        wording = "balance_overdue" if facts.days_late > 0 else "balance"
        return Effects(intent, "pidió su saldo: se le respondió", answer=answer("balance", one, values, wording=wording))
    if one is None:
        return Effects(intent, f"«{reply.text[:80]}» llegó de un número que comparten {len(debtors)} deudores: "
                               "no se sabe de quién es; a la bandeja", inbox=True)
    active = [l for l in loans.get(one.id, ()) if l.status == "active" and l.outstanding > 0]
    loan_id = active[0].external_id if len(active) == 1 else ""
    if intent == "payment_claim":
        amount = understood.amount
        note = (f"dice que pagó {format_money(amount, _currency(active), policy.cooperative.country)}"
                if amount is not None else "dice que pagó (sin monto)")
        return Effects(intent, note + ": pago pendiente de confirmar por el personal",
                       claim=ClaimToRecord(one.id, amount, loan_id),
                       answer=answer("payment_claim", one, {"nombre": _first(one.name)}), inbox=amount is None)
    if intent == "promise":
        if understood.date is None or not getattr(understood, "valid_date", True):
            return Effects(intent, f"quiere acordar un pago pero la fecha no sirve ({understood.reason}): a la "
                                   "bandeja", inbox=True)
        amount = understood.amount if understood.amount is not None else _promised_amount(active, today)
        if amount is None or amount <= 0:
            return Effects(intent, "promete pagar pero no tiene saldo pendiente: a la bandeja", inbox=True)
        return Effects(intent, f"promete pagar el {understood.date:%d/%m/%Y}",
                       promise=PromiseToRecord(one.id, understood.date, amount, loan_id),
                       answer=answer("promise", one, {"nombre": _first(one.name),
                                                      "vence": format_day(understood.date, language)}))
    if reply.channel == "call":  # keys pressed during a call, or a call to the box (scheduler.keypad)
        return Effects(intent, f"{understood.reason or 'llamada para una persona'}: a la bandeja", inbox=True)
    return Effects(intent, "mensaje para una persona: a la bandeja", inbox=True)


def _first(name: str) -> str:
    return name.split()[0] if name.split() else name


def _currency(loans: Sequence[Loan]) -> str:
    return loans[0].currency if loans else "COP"


def _balance_facts(debtor: Debtor, loans: Sequence[Loan], today: date) -> MessageFacts | None:
    """What a balance answer says: the balance of the active loans and, when something is late, everything
    overdue (``amount_due``) since the oldest unpaid due date (``days_late`` > 0), else the next instalment.
    ``loan_id`` names the loan of that instalment (the one to pay first)."""
    active = [l for l in loans if l.status == "active" and l.outstanding > 0]
    if not active:
        return None
    balance = sum((l.outstanding for l in active), Decimal(0))
    nearest = min(active, key=lambda l: l.oldest_unpaid().due_date)
    instalment = nearest.oldest_unpaid()
    days_late = (today - instalment.due_date).days
    amount = sum((l.overdue(today) for l in active), Decimal(0)) if days_late > 0 else instalment.outstanding
    return MessageFacts(debtor.name, amount, instalment.number, len(nearest.instalments), balance,
                        instalment.due_date, days_late, debtor.loan_officer, nearest.external_id, nearest.currency)


def _promised_amount(loans: Sequence[Loan], today: date) -> Decimal | None:
    overdue = sum((l.overdue(today) for l in loans), Decimal(0))
    if overdue > 0:
        return overdue
    upcoming = [l.oldest_unpaid() for l in loans if l.oldest_unpaid() is not None]
    return min(upcoming, key=lambda i: i.due_date).outstanding if upcoming else None


def answer_window_ok(policy: Policy, debtor: Debtor | None, now: datetime) -> datetime | None:
    """When an answer may go: ``now`` if inside the debtor's contact hours and days (caps are not applied:
    the debtor asked), else the next allowed instant (``None`` if none within two weeks). An answer that
    belongs to no single debtor (a number several debtors share) follows the cooperative's own rules and
    time zone."""
    from zoneinfo import ZoneInfo

    from scheduler.rules.check import earliest_allowed

    if debtor is None:
        profile = policy.profiles.for_debtor("", policy.profiles.country)
        zone = policy.timezone
    else:
        profile = policy.profiles.for_debtor(debtor.id, debtor.jurisdiction)
        zone = debtor.timezone
    hours_only = type(profile)(profile.code, profile.name, profile.windows, profile.closed_on_holidays, (),
                               False, profile.source)
    at, _ = earliest_allowed(hours_only, policy.calendar_for(profile), ZoneInfo(zone), "sms", now, [],
                             horizon=timedelta(days=14))
    return at
