"""The inbox ``/bandeja`` (Bandeja): what debtors sent that needs a person, and payment claims to confirm.

Replies needing a person are the responder's notes (``firmware_py/responder.py``): a ``note`` whose
``contact_id`` is the reply's id + :data:`HANDLED_SUFFIX` and whose ``text`` is :data:`INBOX_MARK`, with
what it understood in ``detail`` and the intent in ``reference``. One SMS from a number shared by several
debtors has one note per debtor: the inbox shows it once (:class:`WaitingReply`). A person marks it handled
with a ``note`` whose ``contact_id`` is the handled id + :data:`ATTENDED_SUFFIX`.

Routes (``lectura`` sees; ``operador`` acts; each action a POST form with its CSRF token):

- ``GET /bandeja``: replies waiting (since :func:`webui.dashboard.recent_since`) and pending
  payment claims (``ledger.payments(status="pending")``);
- ``GET /bandeja/respuesta/<note id>``: one reply — its text, the debtors on that number, what the responder
  understood, answers already planned — with the answer form;
- ``POST /bandeja/respuesta/<note id>/atendido``: mark it handled;
- ``POST /bandeja/respuesta/<note id>/responder``: ``action=ver`` shows the text as it will be sent, its
  characters and SMS count (``modem.pdu.plan`` through :func:`scheduler.templates.preview`) and writes
  nothing; ``action=enviar`` writes a ``planned`` contact exactly as the responder writes its automatic
  answers (``contact_id`` ``auto:<reply id>:manual-<n>``, ``reference`` "" so the dispatcher sends it once,
  within the contact hours, never while paused or on an untrusted clock) and wakes the dispatcher;
- ``POST /bandeja/pago/<payment id>/confirmar`` (``loan``: the loan it pays, required when the claim names
  none and the debtor has several) → ``ledger.confirm_payment``;
- ``POST /bandeja/pago/<payment id>/rechazar`` (``note``: optional reason) → ``ledger.reject_payment``.

The typed answer gets the cooperative's name in front (every message must name the creditor), is
transliterated like the automatic answers when the policy says so, may not go to a number that opted out,
and — to a number that is not one debtor's personal phone — may not mention the debt
(:data:`scheduler.templates.DEBT_WORDS`), as the templates for shared phones.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webui.access import current_user, role_required
from webui.dashboard import format_date, format_when, recent_since
from webui.inbox_forms import ConfirmPaymentForm, RejectPaymentForm, ReplyForm

log = logging.getLogger("cobrador.webui.inbox")

ORDER = 40
bp = Blueprint("inbox", __name__)
NAV = [("inbox.index", "Bandeja", "lectura")]

INBOX_MARK = "bandeja"       # firmware_py.responder.INBOX (the web UI does not import firmware_py)
HANDLED_SUFFIX = ":tratado"  # firmware_py.responder.HANDLED_SUFFIX
ATTENDED_SUFFIX = ":atendido"
ANSWER_PREFIX = "auto:"      # scheduler.responder.ANSWER_PREFIX
MAX_SEGMENTS = 3
MAX_LISTED = 100
"""Replies listed at once, oldest first (handling them brings the next ones)."""

INTENT_LABELS = {
    "balance": "pide su saldo",
    "payment_claim": "dice que pagó",
    "promise": "promete pagar",
    "opt_out": "pide no recibir más mensajes",
    "help": "pide ayuda",
    "other": "otro mensaje",
}

_reply_lock = threading.Lock()  # numbering of manual answers: two people answering at once get 1 and 2


def services():
    return current_app.extensions["cobrador"]


@dataclass(frozen=True)
class WaitingReply:
    """One SMS that needs a person (see the module docstring). ``key`` is the first note's event id."""

    key: str
    note_ids: frozenset[str]
    handled_id: str
    reply_id: str
    phone: str
    at: datetime
    text: str
    detail: str
    understood: str
    intent: str
    debtor_ids: tuple[str, ...]
    attended: bool = False
    found: bool = True          # the reply itself was read (its text, its time)


def _groups(events, *, include_attended: bool) -> tuple[dict[str, list], set[str]]:
    """The inbox notes by handled id (several debtors on one number: one group) and the handled ids marked
    attended, from ``events`` (oldest first)."""
    attended = {e.contact_id[: -len(ATTENDED_SUFFIX)] for e in events
                if e.kind == "note" and e.contact_id.endswith(ATTENDED_SUFFIX)}
    groups: dict[str, list] = {}
    for event in events:
        if (event.kind == "note" and event.text == INBOX_MARK and event.contact_id.endswith(HANDLED_SUFFIX)
                and (include_attended or event.contact_id not in attended)):
            groups.setdefault(event.contact_id, []).append(event)
    return groups, attended


def count_waiting(ledger, now: datetime) -> int:
    """How many replies wait for a person (what :func:`waiting_replies` lists, without reading their texts)."""
    return len(_groups(ledger.contacts(since=recent_since(now), kinds=("note",)), include_attended=False)[0])


def _replies(ledger, now: datetime, *, include_attended: bool = False) -> list[WaitingReply]:
    """The inbox items, oldest first. A reply older than the window (its note is not) has no text yet:
    :func:`_with_text` reads it for the items shown."""
    events = ledger.contacts(since=recent_since(now), kinds=("note", "reply"))
    groups, attended = _groups(events, include_attended=include_attended)
    replies = {}
    for event in events:
        if event.kind == "reply" and event.direction == "inbound":
            replies.setdefault(event.contact_id or event.id, event)
    items = []
    for handled_id, notes in groups.items():
        reply_id = handled_id[: -len(HANDLED_SUFFIX)]
        reply = replies.get(reply_id)
        debtors = tuple(dict.fromkeys(n.debtor_id for n in notes if n.debtor_id))
        first = notes[0]
        items.append(WaitingReply(first.id, frozenset(n.id for n in notes), handled_id, reply_id, first.phone,
                                  reply.at if reply is not None else first.at,
                                  reply.text if reply is not None else "", reply.detail if reply is not None else "",
                                  first.detail, first.reference, debtors, handled_id in attended,
                                  found=reply is not None))
    items.sort(key=lambda i: i.at)
    return items


def _with_text(ledger, item: WaitingReply) -> WaitingReply:
    """``item`` with its reply read from the debtor's history when the window did not hold it."""
    if item.found:
        return item
    owner = item.debtor_ids[0] if item.debtor_ids else ""
    found = ledger.contacts(debtor_id=owner, contact_id=item.reply_id, kinds=("reply",), limit=1)
    if not found:
        return item
    reply = found[0]
    return replace(item, at=reply.at, text=reply.text, detail=reply.detail, found=True)


def waiting_replies(ledger, now: datetime, *, limit: int | None = None) -> list[WaitingReply]:
    """Replies since :func:`webui.dashboard.recent_since` marked for the inbox and not yet handled, oldest
    first (the first ``limit`` with their texts, when given; all otherwise)."""
    items = _replies(ledger, now)
    shown = len(items) if limit is None else min(limit, len(items))
    return [_with_text(ledger, i) for i in items[:shown]] + items[shown:]


def _find(key: str) -> WaitingReply:
    svc = services()
    for item in _replies(svc.ledger, svc.now(), include_attended=True):
        if key in item.note_ids:
            return _with_text(svc.ledger, item)
    abort(404)


def _policy():
    svc = services()
    if svc.policy is None:
        return None
    try:
        return svc.policy().with_settings(svc.ledger.settings.all())
    except Exception:
        log.exception("the policy could not be read")
        return None


def _language() -> str:
    from webui.i18n import select_locale

    return select_locale()


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _recipient(item: WaitingReply):
    """``(debtor for the answer or None, personal)``: the single debtor of the number (as the responder
    chooses) and whether the number is that debtor's personal phone."""
    ledger = services().ledger
    debtors = ledger.debtors_by_phone(item.phone) if item.phone else ()
    if len(debtors) != 1:
        return None, False
    phone = debtors[0].phone(item.phone)
    return debtors[0], bool(phone is not None and phone.personal)


def _compose(body: str, policy) -> str:
    """The answer as it will be sent: the cooperative's name in front (unless the text starts with it), then
    transliterated like the automatic answers when the policy says so."""
    from scheduler.templates import transliterated

    name = policy.cooperative.name if policy is not None else services().cooperative_name()
    text = body if _fold(body).startswith(_fold(name)) else f"{name}: {body}"
    if policy is None or policy.transliterate:
        text = transliterated(text)
    return text


def _disclosing_words(body: str) -> list[str]:
    from scheduler.templates import DEBT_WORDS

    folded = _fold(body)
    return [w for w in DEBT_WORDS if w in folded]


def _when_it_goes(item: WaitingReply, policy, debtor) -> tuple[str, str]:
    """``(category, Spanish sentence)`` saying when the dispatcher will send an answer planned now."""
    from scheduler.responder import answer_window_ok

    if policy is None:
        return "ok", _("Sale con el próximo envío del equipo.")
    if policy.paused:
        return "warn", _("Los envíos están en pausa: la respuesta saldrá cuando se reanuden.")
    if not policy.clock.trusted:
        return "warn", _("La hora del equipo no es confiable: la respuesta saldrá cuando se confirme la hora "
                         "(vea Inicio).")
    now = services().now()
    at = answer_window_ok(policy, debtor, now)
    if at is None:
        return "warn", _("Las reglas de contacto no dejan ningún momento en las próximas dos semanas: la "
                         "respuesta esperará.")
    if at <= now:
        return "ok", _("Sale en los próximos minutos (estamos dentro del horario permitido).")
    return "ok", _("Fuera del horario permitido: saldrá desde %(when)s.", when=format_when(at, _language()))


def _cost(text: str) -> dict:
    from scheduler.templates import preview

    cost = preview(text)
    return {"chars": len(cost.sent), "segments": cost.segments, "chars_left": cost.chars_left,
            "unicode": cost.encoding != "gsm7"}


# -- payments ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """A pending payment claim as the page shows it."""

    payment: object
    debtor_name: str
    amount: str
    day: str
    loans: tuple[str, ...]


def _claims(ledger) -> list[Claim]:
    from scheduler.templates import format_money

    country = getattr(services(), "country", "") or "CO"
    language = _language()
    out = []
    for payment in ledger.payments(status="pending"):
        debtor = ledger.debtor(payment.debtor_id)
        loans = ledger.loans(payment.debtor_id)
        loan = next((l for l in loans if l.external_id == payment.loan_external_id), None)
        currency = loan.currency if loan is not None else (loans[0].currency if loans else "COP")
        out.append(Claim(payment, debtor.name if debtor is not None else payment.debtor_id,
                         format_money(payment.amount, currency, country),
                         format_date(payment.date, language),
                         tuple(l.external_id for l in loans)))
    return out


def _names(ledger, item: WaitingReply) -> list[str]:
    """The names of the debtors listing the reply's number today (else of those its notes were written on)."""
    debtors = ledger.debtors_by_phone(item.phone) if item.phone else ()
    if debtors:
        return [d.name for d in debtors]
    names = []
    for debtor_id in item.debtor_ids:
        debtor = ledger.debtor(debtor_id)
        names.append(debtor.name if debtor is not None else debtor_id)
    return names


# -- pages ---------------------------------------------------------------------------------------------------------
def _render_index(status: int = 200, errors: dict | None = None):
    svc = services()
    ledger = svc.ledger
    language = _language()
    waiting = waiting_replies(ledger, svc.now(), limit=MAX_LISTED)
    items = [(item, format_when(item.at, language), _names(ledger, item)) for item in waiting[:MAX_LISTED]]
    return render_template("inbox/index.html", items=items, more=max(len(waiting) - MAX_LISTED, 0),
                           claims=_claims(ledger), labels=INTENT_LABELS,
                           errors=errors or {}, since=format_date(recent_since(svc.now()).date(), language)), status


@bp.get("/bandeja")
@role_required("lectura")
def index():
    """Replies waiting for a person and payment claims to confirm."""
    return _render_index()


def _render_reply(item: WaitingReply, form: ReplyForm, status: int = 200, cost: dict | None = None,
                  sent_text: str = ""):
    svc = services()
    ledger = svc.ledger
    policy = _policy()
    debtor, personal = _recipient(item)
    category, when = _when_it_goes(item, policy, debtor)
    answers = []
    if item.phone:
        for event in ledger.contacts(since=item.at, kinds=("planned",)):
            if event.contact_id.startswith(f"{ANSWER_PREFIX}{item.reply_id}:"):
                answers.append((format_when(event.at, _language()), event.text, event.detail))
    return render_template(
        "inbox/reply.html", item=item, when=format_when(item.at, _language()),
        names=_names(ledger, item), label=INTENT_LABELS.get(item.intent, item.intent),
        form=form, cost=cost, sent_text=sent_text, personal=personal, answers=answers,
        opted_out=bool(item.phone) and ledger.opted_out(item.phone), go_category=category, go_text=when,
        max_segments=MAX_SEGMENTS), status


@bp.get("/bandeja/respuesta/<key>")
@role_required("lectura")
def reply(key):
    """One reply needing a person, with the answer form (operators)."""
    item = _find(key)
    return _render_reply(item, ReplyForm(formdata=None))


def _mark_attended(item: WaitingReply, by: str, now: datetime) -> None:
    from scheduler.model import ContactEvent

    for debtor_id in item.debtor_ids or ("",):
        services().ledger.append_contact(ContactEvent(
            now, debtor_id, "note", channel="sms", direction="internal", phone=item.phone,
            contact_id=item.handled_id + ATTENDED_SUFFIX, detail=f"atendido por {by}"))


@bp.post("/bandeja/respuesta/<key>/atendido")
@role_required("operador")
def attended(key):
    """Mark a reply handled (it leaves the inbox)."""
    item = _find(key)
    if item.attended:
        flash(_("Esa respuesta ya estaba atendida."), "ok")
        return redirect(url_for("inbox.index"))
    try:
        _mark_attended(item, current_user().name, services().now())
    except OSError as exc:
        flash(str(exc), "error")
        return _render_index(503)
    flash(_("Respuesta marcada como atendida."), "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/bandeja/respuesta/<key>/responder")
@role_required("operador")
def answer(key):
    """Preview (``action=ver``) or plan (``action=enviar``) a typed answer to a reply (module docstring)."""
    from scheduler.model import ContactEvent

    svc = services()
    item = _find(key)
    form = ReplyForm()
    if not form.validate():
        return _render_reply(item, form, 400)
    if not item.phone:
        form.text.errors.append(_("Ese mensaje llegó sin número: no se puede responder por SMS."))
        return _render_reply(item, form, 409)
    if svc.ledger.opted_out(item.phone):
        form.text.errors.append(_("Ese número pidió no recibir más mensajes (BAJA): no se le puede escribir."))
        return _render_reply(item, form, 409)
    policy = _policy()
    debtor, personal = _recipient(item)
    if not personal:
        words = _disclosing_words(form.text.data)
        if words:
            form.text.errors.append(_("Este número no es el teléfono personal de un solo deudor: la respuesta no "
                                      "puede hablar de la deuda (quite: %(words)s). Invítelo a llamar o a venir "
                                      "a la oficina.", words=", ".join(words)))
            return _render_reply(item, form, 400)
    text = _compose(form.text.data, policy)
    cost = _cost(text)
    if cost["segments"] > MAX_SEGMENTS:
        form.text.errors.append(_("La respuesta ocuparía %(n)d SMS; acórtela a %(max)d SMS como máximo.",
                                  n=cost["segments"], max=MAX_SEGMENTS))
        return _render_reply(item, form, 400, cost, text)
    if form.action.data == "ver":
        return _render_reply(item, form, 200, cost, text)
    now = svc.now()
    user = current_user().name
    with _reply_lock:
        prefix = f"{ANSWER_PREFIX}{item.reply_id}:manual-"
        earlier = [e for e in svc.ledger.contacts(since=item.at, kinds=("planned",))
                   if e.contact_id.startswith(prefix)]
        planned = ContactEvent(now, debtor.id if debtor is not None else "", "planned", channel="sms",
                               direction="outbound", phone=item.phone, contact_id=f"{prefix}{len(earlier) + 1}",
                               text=text, detail=f"respuesta del personal ({user})", reference="")
        try:
            svc.ledger.append_contact(planned)
            if form.handled.data and not item.attended:
                _mark_attended(item, user, now)
        except OSError as exc:
            form.text.errors.append(str(exc))
            return _render_reply(item, form, 503, cost, text)
    log.info("manual answer %s planned by %s", planned.contact_id, user)
    if svc.wake is not None:
        svc.wake()
    flash(_("Respuesta guardada: %(chars)d caracteres, %(segments)d SMS. El equipo la envía una sola vez, dentro "
            "del horario permitido.", chars=cost["chars"], segments=cost["segments"]), "ok")
    return redirect(url_for("inbox.index") if form.handled.data else url_for("inbox.reply", key=key))


# -- payment claims ------------------------------------------------------------------------------------------------
def _pending(payment_id: str):
    payment = services().ledger.payment(payment_id)
    if payment is None:
        abort(404)
    return payment


def _payment_refused(payment, message: str, status: int):
    """The inbox again with ``message`` next to the claim (or on top when it is no longer listed)."""
    if payment.status != "pending":
        flash(message, "error")
        return _render_index(status)
    return _render_index(status, {payment.id: message})


@bp.post("/bandeja/pago/<payment_id>/confirmar")
@role_required("operador")
def confirm_payment(payment_id):
    """Confirm a pending payment claim on a loan of its debtor (it then counts)."""
    ledger = services().ledger
    payment = _pending(payment_id)
    if payment.status != "pending":
        return _payment_refused(payment, _("Ese pago ya no está pendiente (fue confirmado o rechazado)."), 409)
    form = ConfirmPaymentForm()
    if not form.validate():
        return _payment_refused(payment, " ".join(map(str, form.loan.errors)), 400)
    loans = [l.external_id for l in ledger.loans(payment.debtor_id)]
    chosen = (form.loan.data or "").strip() or payment.loan_external_id or (loans[0] if len(loans) == 1 else "")
    if not chosen:
        return _payment_refused(payment, _("Elija a qué préstamo se aplica el pago."), 400)
    if chosen not in loans:
        return _payment_refused(payment, _("Ese préstamo no es de este deudor: elija uno de la lista."), 400)
    try:
        ledger.confirm_payment(payment.id, loan_external_id=chosen)
    except ValueError as exc:  # the ledger's integrity refusal: a Spanish sentence
        return _payment_refused(payment, str(exc), 409)
    except OSError as exc:
        return _payment_refused(payment, str(exc), 503)
    log.info("payment %s confirmed on %s by %s", payment.id, chosen, current_user().name)
    flash(_("Pago confirmado en el préstamo %(loan)s.", loan=chosen), "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/bandeja/pago/<payment_id>/rechazar")
@role_required("operador")
def reject_payment(payment_id):
    """Reject a pending payment claim (kept for the record, never counts)."""
    ledger = services().ledger
    payment = _pending(payment_id)
    if payment.status != "pending":
        return _payment_refused(payment, _("Ese pago ya no está pendiente (fue confirmado o rechazado)."), 409)
    form = RejectPaymentForm()
    if not form.validate():
        return _payment_refused(payment, " ".join(map(str, form.note.errors)), 400)
    reason = form.note.data or ""
    note = f"rechazado por {current_user().name}" + (f": {reason}" if reason else "")
    try:
        ledger.reject_payment(payment.id, note=f"{payment.note} — {note}" if payment.note else note)
    except ValueError as exc:
        return _payment_refused(payment, str(exc), 409)
    except OSError as exc:
        return _payment_refused(payment, str(exc), 503)
    log.info("payment %s rejected by %s", payment.id, current_user().name)
    flash(_("Pago rechazado: queda anotado y no cuenta."), "ok")
    return redirect(url_for("inbox.index"))
