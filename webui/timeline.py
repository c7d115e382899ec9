"""A debtor's timeline: every contact, reply, note, payment, promise and opt-out, newest first, in words.

:func:`build` reads what the ledger holds about one debtor and gives :class:`Entry` items with a
Spanish title and status (``gettext``: English through the area's catalogue) and the raw values the
template formats (money, dates). Texts that came from outside — a debtor's reply, a note — are kept as
they are: the template escapes them.

Outbound contacts move ``planned`` → ``sending`` → ``sent`` → ``delivered`` (see
``scheduler.contact_state``); a contact's ``planned`` and ``sending`` lines are only shown while nothing
came after them (a ``sending`` left alone means the message may or may not have gone: "incierto").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Iterable

from flask_babel import gettext as _

from scheduler.model import ContactEvent, Payment, Promise

_SETTLED = frozenset({"sent", "delivered", "failed", "uncertain", "expired", "retry", "skipped"})
OPT_OUT, OPT_IN = "opt_out", "opt_in"
"""``reference`` of the notes this area writes when staff opt a phone out or authorise it again (the
responder writes ``opt_out`` too, for a BAJA by SMS)."""


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. ``tone``: ``ok``, ``bad``, ``warn`` or ``""`` (the badge's colour);
    ``kind``: ``contact``, ``reply``, ``note``, ``payment``, ``promise``, ``optout``."""

    at: datetime
    kind: str
    title: str
    status: str = ""
    tone: str = ""
    text: str = ""
    detail: str = ""
    phone: str = ""
    loan: str = ""
    amount: Decimal | None = None
    currency: str = ""
    day: date | None = None


def _contact_titles() -> dict[tuple[str, str], tuple[str, str]]:
    """(channel family, kind) -> (title, tone)."""
    return {
        ("sms", "planned"): (_("SMS programado"), ""),
        ("sms", "sending"): (_("SMS en envío (si no sigue nada, puede haber salido o no)"), "warn"),
        ("sms", "retry"): (_("SMS no salió: se reintentará"), "warn"),
        ("sms", "sent"): (_("SMS enviado"), "ok"),
        ("sms", "delivered"): (_("SMS entregado"), "ok"),
        ("sms", "failed"): (_("SMS fallido"), "bad"),
        ("sms", "uncertain"): (_("SMS incierto: puede haber salido"), "warn"),
        ("sms", "expired"): (_("SMS sin confirmación de entrega"), "warn"),
        ("sms", "skipped"): (_("SMS no enviado"), ""),
        ("call", "planned"): (_("Llamada programada"), ""),
        ("call", "sending"): (_("Llamando (sin resultado registrado)"), "warn"),
        ("call", "retry"): (_("Llamada no salió: se reintentará"), "warn"),
        ("call", "sent"): (_("Llamada realizada"), "ok"),
        ("call", "delivered"): (_("Llamada contestada"), "ok"),
        ("call", "failed"): (_("Llamada fallida"), "bad"),
        ("call", "uncertain"): (_("Llamada incierta"), "warn"),
        ("call", "expired"): (_("Llamada sin respuesta"), "warn"),
        ("call", "skipped"): (_("Llamada no hecha"), ""),
        ("visit", "planned"): (_("Visita programada"), ""),
        ("visit", "sent"): (_("Visita en la lista del asesor"), "ok"),
        ("visit", "delivered"): (_("Visita realizada"), "ok"),
        ("visit", "failed"): (_("Visita no realizada"), "bad"),
        ("visit", "skipped"): (_("Visita no programada"), ""),
    }


def _intent_titles() -> dict[str, str]:
    return {
        "balance": _("Respuesta entendida: pidió su saldo"),
        "payment_claim": _("Respuesta entendida: dice que pagó"),
        "promise": _("Respuesta entendida: promesa de pago"),
        "opt_out": _("Baja: pidió no recibir más mensajes"),
        "help": _("Respuesta entendida: pidió ayuda"),
        "other": _("Respuesta no entendida"),
    }


def _family(channel: str) -> str:
    return "call" if channel in ("call", "ring") else channel


def contact_entries(events: Iterable[ContactEvent]) -> list[Entry]:
    """Entries for a debtor's contact-log events (see the module docstring for what is left out)."""
    events = list(events)
    later: dict[str, set[str]] = {}
    for event in events:
        if event.contact_id:
            later.setdefault(event.contact_id, set()).add(event.kind)
    titles = _contact_titles()
    intents = _intent_titles()
    rings = {"sent": _("Timbrazo hecho (llamada perdida)"), "delivered": _("Timbrazo: el teléfono sonó"),
             "failed": _("Timbrazo fallido")}
    out: list[Entry] = []
    for event in events:
        kinds = later.get(event.contact_id, set()) if event.contact_id else set()
        if event.kind == "planned" and kinds - {"planned"}:
            continue
        if event.kind == "sending" and kinds & _SETTLED:
            continue
        if event.kind == "reply":
            if event.channel == "call" and event.reference == "llamada entrante":
                title = _("El deudor llamó al equipo")
            elif event.channel == "call":
                title = _("Teclas marcadas durante la llamada")
            else:
                title = _("Respuesta del deudor")
            out.append(Entry(event.at, "reply", title, _("recibida"), "", event.text,
                             event.detail, event.phone, event.loan_external_id))
            continue
        if event.kind == "note":
            if event.reference == OPT_OUT:
                title, tone, kind = _("Baja: el número no recibirá más mensajes ni llamadas"), "bad", "optout"
            elif event.reference == OPT_IN:
                title, tone, kind = _("Número autorizado de nuevo"), "ok", "optout"
            elif event.reference in intents:
                title, tone, kind = intents[event.reference], "", "note"
            else:
                title, tone, kind = _("Nota"), "", "note"
            status = _("para revisar en la bandeja") if event.text == "bandeja" else ""
            text = "" if event.text == "bandeja" else event.text
            out.append(Entry(event.at, kind, title, status, "warn" if status else tone, text, event.detail,
                             event.phone, event.loan_external_id))
            continue
        family = _family(event.channel)
        title, tone = titles.get((family, event.kind), (f"{event.channel} {event.kind}", ""))
        if event.channel == "ring":
            title = rings.get(event.kind) or _("Timbrazo (llamada perdida)") + " — " + title
        out.append(Entry(event.at, "contact", title, "", tone, event.text, event.detail, event.phone,
                         event.loan_external_id))
    return out


def payment_entries(payments: Iterable[Payment], currencies: dict[str, str]) -> list[Entry]:
    """One entry per payment (confirmed, pending or rejected); ``currencies``: loan id -> currency."""
    sources = {"web": _("Pago registrado en la oficina"), "import": _("Pago del archivo de préstamos"),
               "sms": _("Pago informado por SMS")}
    statuses = {"confirmed": (_("confirmado"), "ok"), "pending": (_("pendiente de confirmar"), "warn"),
                "rejected": (_("rechazado"), "bad")}
    out = []
    for payment in payments:
        at = payment.recorded_at or datetime.combine(payment.date, time(12), tzinfo=timezone.utc)
        status, tone = statuses.get(payment.status, (payment.status, ""))
        detail = " — ".join(x for x in (payment.reference, payment.note) if x)
        out.append(Entry(at, "payment", sources.get(payment.source, _("Pago")), status, tone, "", detail, "",
                         payment.loan_external_id, payment.amount,
                         currencies.get(payment.loan_external_id, ""), payment.date))
    return out


def promise_entries(promises: Iterable[tuple[Promise, str]], currencies: dict[str, str]) -> list[Entry]:
    """One entry per ``(promise, status)`` (status from ``ledger.promise_status``)."""
    sources = {"sms": _("Promesa de pago por SMS"), "web": _("Promesa de pago registrada en la oficina"),
               "call": _("Promesa de pago por llamada"), "import": _("Promesa de pago del archivo")}
    statuses = {"pending": (_("pendiente"), "warn"), "kept": (_("cumplida"), "ok"), "broken": (_("incumplida"), "bad")}
    out = []
    for promise, state in promises:
        status, tone = statuses.get(state, (state, ""))
        out.append(Entry(promise.made_at, "promise", sources.get(promise.source, _("Promesa de pago")), status, tone,
                         "", promise.note, "", promise.loan_external_id, promise.amount,
                         currencies.get(promise.loan_external_id, ""), promise.due_date))
    return out


def build(events: Iterable[ContactEvent], payments: Iterable[Payment], promises: Iterable[tuple[Promise, str]],
          currencies: dict[str, str]) -> list[Entry]:
    """The whole timeline, newest first."""
    entries = contact_entries(events) + payment_entries(payments, currencies) + promise_entries(promises, currencies)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries

