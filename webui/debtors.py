"""Deudores: the list, the debtor form, loans, the debtor's page with its timeline, and the call script.

Routes (``lectura`` may look, ``operador`` may change; a read-only user gets 403 on every change):

- ``GET /deudores`` — search (name, document, phone, loan id; accents and case ignored), filters
  (segment, loan status, officer, days late), sort, 50 per page (:mod:`webui.debtor_index`);
- ``GET|POST /deudores/nuevo`` and ``/deudores/<id>/editar`` — the debtor form, saved with
  ``ledger.save_debtor`` (its warnings, e.g. a shared phone, are shown); the contact-rule profile override
  (ledger setting ``rules.profile_overrides``) is changed by an administrator only;
- ``GET|POST /deudores/<id>/creditos/nuevo`` and ``/deudores/<id>/creditos/<loan>/editar`` — a loan and its
  instalment plan (generated or typed), saved with ``ledger.import_batch([], [loan], source="web")``;
- ``GET /deudores/<id>`` — loans and instalments, segment and risk with reasons, the planner's decisions
  now, the timeline, and the action forms;
- ``POST /deudores/<id>/pago``, ``/promesa``, ``/telefono`` (opt-out / authorise again), ``/llamada``
  (a call made from the office), ``/enviar`` ("enviar ahora": re-plan now and wake the dispatcher only if
  a decision is ``send`` — the dispatcher still checks every rule; nothing is sent from here);
- ``GET /deudores/<id>/guion`` — the printable call script (:mod:`webui.debtor_script`).

Bad input gets the form back with Spanish messages and a 400; an unknown debtor or loan a 404.
Instants are shown in the cooperative's zone, money with ``scheduler.templates.format_money``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date, format_datetime
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from scheduler.model import ContactEvent, Debtor, Loan, Phone
from scheduler.planner import HISTORY_DAYS, SEND, WAIT, plan
from scheduler.reasons import describe
from scheduler.segments import debtor_features, segment_for
from scheduler.templates import format_money
from webui import debtor_script, timeline
from webui.access import current_user, role_required
from webui.debtor_forms import (CURRENCY_BY_COUNTRY, LOAN_STATUS_LABELS, MAX_PAYMENT_AGE_DAYS, MAX_PHONES,
                                MAX_PROMISE_DAYS,
                                CallForm, DebtorForm, LoanForm, PaymentForm,
                                PhoneActionForm, PromiseForm, SearchForm, SendNowForm, new_debtor_id, spread_paid,
                                timezone_names)
from webui.debtor_index import DebtorIndex, Warmer, index_inputs, select

ORDER = 20
bp = Blueprint("debtors", __name__)
NAV = [("debtors.index", "Deudores", "lectura")]

DEFAULT_COUNTRY = "CO"
DEFAULT_ZONE = "America/Bogota"
OVERRIDES_KEY = "rules.profile_overrides"
TIMELINE_LIMIT = 500
"""The newest contact-log events shown on a debtor's page (payments and promises are all shown)."""


# -- what every view needs ----------------------------------------------------------------------------------------
def _services():
    return current_app.extensions["cobrador"]


def _ledger():
    return _services().ledger


def _now() -> datetime:
    return _services().now()


def _policy():
    """The live policy with the ledger's settings laid over it, once per request (``None``: the appliance
    gave no engine; pages then say so)."""
    if "debtors_policy" not in g:
        services = _services()
        g.debtors_policy = (services.policy().with_settings(services.ledger.settings.all())
                            if services.policy else None)
    return g.debtors_policy


def _country() -> str:
    policy = _policy()
    return (policy.cooperative.country or DEFAULT_COUNTRY) if policy is not None else DEFAULT_COUNTRY


def _coop_zone() -> str:
    policy = _policy()
    return policy.timezone if policy is not None else DEFAULT_ZONE


def _grace_days() -> int:
    policy = _policy()
    if policy is not None:
        return policy.promise_grace_days
    return index_inputs(_services())[1]


def _segments():
    policy = _policy()
    return policy.segments if policy is not None else index_inputs(_services())[0]


def _today(zone: str) -> date:
    return _now().astimezone(ZoneInfo(zone)).date()


def _language() -> str:
    return "en" if str(get_locale() or "es").startswith("en") else "es"


def _debtor_or_404(debtor_id: str) -> Debtor:
    debtor = _ledger().debtor(debtor_id) if len(debtor_id) <= 100 else None
    if debtor is None:
        abort(404)
    return debtor


def _index() -> DebtorIndex:
    return current_app.extensions["cobrador.debtors.index"]


@bp.record_once
def _start_index(state) -> None:
    """Every app gets its list index; the appliance's (not a test's) is kept warm in the background."""
    app = state.app
    index = app.extensions["cobrador.debtors.index"] = DebtorIndex()
    if not app.testing:
        app.extensions["cobrador.debtors.warmer"] = Warmer(app.extensions["cobrador"], index).start()


def _refusal(exc: Exception) -> str:
    """The Spanish sentence of a ledger refusal (``LedgerIntegrityError``, a ValueError); other errors
    get a general sentence (their text may be English)."""
    if any(cls.__name__ == "LedgerError" for cls in type(exc).__mro__):
        return str(exc)
    return _("Los datos no son válidos para el registro; revíselos e inténtelo de nuevo.")


# -- formatting ---------------------------------------------------------------------------------------------------
def fmt_day(day: date | None) -> str:
    """``15/12/2026`` (``Dec 15, 2026`` in English)."""
    if day is None:
        return ""
    return format_date(day, "medium", locale="en") if _language() == "en" else f"{day:%d/%m/%Y}"


def fmt_moment(moment: datetime | None, zone: str | None = None) -> str:
    """An instant in ``zone`` (the cooperative's by default): ``15/12/2026 09:30``."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone or _coop_zone()))
    if _language() == "en":
        return format_datetime(local, "MMM d, y HH:mm", locale="en")
    return f"{local:%d/%m/%Y %H:%M}"


def fmt_money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return ""
    country = _country()
    return format_money(amount, currency or CURRENCY_BY_COUNTRY.get(country, "USD"), country)


def fmt_phone(number: str) -> str:
    """National format for the cooperative's country's numbers (``300 1234567``), international otherwise."""
    return _phone_text(number, _country())


@functools.lru_cache(maxsize=4096)  # parsing costs ~60 µs; the list shows 50 numbers a page
def _phone_text(number: str, country: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    kind = (phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(parsed) == country
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, kind)


def channel_label(channel: str) -> str:
    labels = {"sms": _("SMS"), "call": _("llamada"), "ring": _("timbrazo"), "visit": _("visita")}
    return labels.get(channel, channel)


@bp.context_processor
def formatting():
    """Formatting for the templates, with the country and language looked up once per page (the list
    formats hundreds of values)."""
    country = _country()
    default_currency = CURRENCY_BY_COUNTRY.get(country, "USD")

    def money(amount: Decimal | None, currency: str = "") -> str:
        return "" if amount is None else format_money(amount, currency or default_currency, country)

    def phone_text(number: str) -> str:
        return _phone_text(number, country)

    return {"money": money, "day": fmt_day, "moment": fmt_moment, "phone_text": phone_text,
            "channel_label": channel_label, "status_labels": LOAN_STATUS_LABELS}


# -- the list -----------------------------------------------------------------------------------------------------
@bp.get("/deudores")
@role_required("lectura")
def index():
    """The debtors, searched, filtered and paged (see :func:`webui.debtor_index.select`)."""
    built = _index().get(_ledger(), now=_now(), segments=_segments(), grace_days=_grace_days())
    form = SearchForm(request.args)
    form.segmento.choices = [("", _("Todos"))] + [(name, label) for name, label in built.segments]
    form.asesor.choices = [("", _("Todos"))] + [(o, o) for o in built.officers]
    if not form.validate():
        page = select((), page=1)
        return render_template("debtors/list.html", form=form, page=page, total=len(built.rows), args={},
                               segment_names={}), 400
    page = select(built.ordered(form.orden.data), q=form.q.data or "", segment=form.segmento.data or "",
                  status=form.estado.data or "", officer=form.asesor.data or "", days_late=form.atraso.data or "",
                  page=form.pagina.data)
    args = {k: v for k, v in request.args.items() if k != "pagina" and k in form._fields and v}
    return render_template("debtors/list.html", form=form, page=page, total=len(built.rows), args=args,
                           segment_names={label: _(label) for _name, label in built.segments})


# -- the debtor form ----------------------------------------------------------------------------------------------
def _overrides() -> dict:
    return dict(_ledger().settings.get(OVERRIDES_KEY) or {})


def _debtor_form(debtor: Debtor | None) -> DebtorForm:
    if request.method == "POST":
        form = DebtorForm()
    else:
        data = {"timezone": _coop_zone(), "jurisdiction": _country(), "language": "es", "profile": "",
                "phones": []}
        if debtor is not None:
            data.update(name=debtor.name, document=debtor.document, officer=debtor.loan_officer, group=debtor.group,
                        tags=", ".join(debtor.tags), language=debtor.language, timezone=debtor.timezone,
                        jurisdiction=debtor.jurisdiction, profile=_overrides().get(debtor.id, ""),
                        phones=[{"number": p.number, "kind": "personal" if p.personal else "compartido",
                                 "sms": "sms" in p.channels, "call": "call" in p.channels} for p in debtor.phones])
        data["phones"].append({"number": "", "kind": "personal", "sms": True, "call": False})
        form = DebtorForm(formdata=None, data=data)
    form.country = _country()
    if debtor is not None and debtor.language not in form.language.values():
        form.language.choices = list(form.language.choices) + [(debtor.language, debtor.language)]
    for code in {_country(), debtor.jurisdiction if debtor is not None else _country()}:
        if code not in form.jurisdiction.values():  # a jurisdiction an import brought, kept as it is
            form.jurisdiction.choices = list(form.jurisdiction.choices) + [(code, code)]
    if not current_user().can("administrador"):
        del form.profile
    return form


def _save_debtor(form: DebtorForm, debtor: Debtor | None):
    """Save the form's debtor; returns the stored debtor's id, or None (errors added to the form)."""
    ledger = _ledger()
    phones = tuple(Phone(number, personal=personal, channels=channels)
                   for number, personal, channels in form.phones_e164)
    if debtor is None:
        debtor_id = new_debtor_id(form.document.data or "", form.name.data, phones[0].number)
        existing = ledger.debtor(debtor_id)
        if existing is not None:
            field = form.document if form.document.data else form.name
            field.errors.append(_("Ya existe este deudor (%(name)s): ábralo desde la lista y edítelo en lugar de "
                                  "crear otro.", name=existing.name))
            return None
    else:
        debtor_id = debtor.id
    record = Debtor(debtor_id, form.name.data, form.document.data or "", phones, language=form.language.data,
                    timezone=form.timezone.data, jurisdiction=form.jurisdiction.data,
                    loan_officer=form.officer.data or "", group=form.group.data or "", tags=form.tag_list())
    try:
        outcome = ledger.save_debtor(record, now=_now())
    except ValueError as exc:
        form.name.errors.append(_refusal(exc))
        return None
    if "profile" in form:
        overrides = _overrides()
        if form.profile.data:
            overrides[debtor_id] = form.profile.data
        else:
            overrides.pop(debtor_id, None)
        if overrides != _overrides():
            ledger.settings.set(OVERRIDES_KEY, overrides)
    if outcome.created:
        flash(_("Deudor creado. Ahora puede agregarle un crédito."), "ok")
    elif outcome.changed:
        flash(_("Cambios guardados."), "ok")
    else:
        flash(_("No había cambios que guardar."), "ok")
    for warning in outcome.warnings:
        flash(warning[:1].upper() + warning[1:] + ".", "warn")
    return debtor_id


def _render_debtor_form(form: DebtorForm, debtor: Debtor | None, status: int):
    return render_template("debtors/form.html", form=form, debtor=debtor, zones=timezone_names(),
                           max_phones=MAX_PHONES), status


@bp.route("/deudores/nuevo", methods=["GET", "POST"])
@role_required("operador")
def new():
    """A new debtor (id from the document, or from the name and first phone)."""
    form = _debtor_form(None)
    if form.validate_on_submit():
        debtor_id = _save_debtor(form, None)
        if debtor_id is not None:
            return redirect(url_for("debtors.show", debtor_id=debtor_id))
    return _render_debtor_form(form, None, 400 if request.method == "POST" else 200)


@bp.route("/deudores/<debtor_id>/editar", methods=["GET", "POST"])
@role_required("operador")
def edit(debtor_id):
    """Edit a debtor: name, document, phones, officer, group, tags, language, zone, jurisdiction."""
    debtor = _debtor_or_404(debtor_id)
    form = _debtor_form(debtor)
    if form.validate_on_submit():
        if _save_debtor(form, debtor) is not None:
            return redirect(url_for("debtors.show", debtor_id=debtor.id))
    return _render_debtor_form(form, debtor, 400 if request.method == "POST" else 200)


# -- loans --------------------------------------------------------------------------------------------------------
def _amount_text(amount: Decimal) -> str:
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}".replace(".", ",")


def _loan_form(loan: Loan | None) -> LoanForm:
    if request.method == "POST":
        form = LoanForm()
    elif loan is None:
        form = LoanForm(formdata=None, data={"currency": CURRENCY_BY_COUNTRY.get(_country(), "USD")})
    else:
        rows = "\n".join(f"{i.due_date:%d/%m/%Y}; {_amount_text(i.amount)}" for i in loan.instalments)
        form = LoanForm(formdata=None, data={"loan_id": loan.external_id, "product": loan.product,
                                             "currency": loan.currency, "status": loan.status, "mode": "escribir",
                                             "rows": rows})
    if loan is not None:
        del form.loan_id  # the id of a stored loan does not change
        if loan.currency not in form.currency.values():
            form.currency.choices = list(form.currency.choices) + [(loan.currency, loan.currency)]
    return form


def _paid_before(loan: Loan) -> Decimal:
    """What the stored loan record has as paid, without the in-app payments the ledger lays over it.

    ``ledger.loan`` shows unreconciled confirmed payments allocated; saving that view would count them
    twice. Those payments (their sum ``open``) fill the record's outstanding oldest first, so the record's
    paid total is the view's minus what they filled: exactly ``open`` while something is still owed;
    when the view is fully paid, at most ``open`` (taken whole: a re-import of the loan file sets it
    anyway)."""
    open_total = sum((p.amount for p in _ledger().payments(loan_external_id=loan.external_id)
                      if p.counts and not p.reconciled), Decimal(0))
    return max(loan.paid - min(open_total, loan.paid), Decimal(0))


def _loan_view(debtor: Debtor, loan: Loan | None):
    form = _loan_form(loan)
    if form.validate_on_submit():
        ledger = _ledger()
        loan_id = loan.external_id if loan is not None else form.loan_id.data
        existing = ledger.loan(loan_id)
        instalments = form.instalments
        if loan is None and existing is not None:
            owner = ledger.debtor(existing.debtor_id)
            form.loan_id.errors.append(_("Ya existe el crédito %(id)s (de %(name)s): use otro número o edite ese "
                                         "crédito.", id=loan_id, name=owner.name if owner else existing.debtor_id))
        else:
            if loan is not None:
                paid = _paid_before(loan)
                total = sum((i.amount for i in instalments), Decimal(0))
                if paid > total:
                    flash(_("Lo pagado antes (%(paid)s) supera el nuevo total (%(total)s): el crédito queda pagado "
                            "y el resto no se aplica.", paid=fmt_money(paid, form.currency.data),
                            total=fmt_money(total, form.currency.data)), "warn")
                instalments = spread_paid(instalments, paid)
            record = Loan(loan_id, debtor.id, form.product.data or "", form.currency.data, instalments,
                          form.status.data)
            try:
                ledger.import_batch([], [record], source="web", now=_now())
            except ValueError as exc:
                flash(_refusal(exc), "error")
            else:
                flash(_("Crédito %(id)s guardado con %(n)d cuotas.", id=loan_id, n=len(instalments)), "ok")
                return redirect(url_for("debtors.show", debtor_id=debtor.id))
    status = 400 if request.method == "POST" else 200
    return render_template("debtors/loan_form.html", form=form, debtor=debtor, loan=loan), status


@bp.route("/deudores/<debtor_id>/creditos/nuevo", methods=["GET", "POST"])
@role_required("operador")
def new_loan(debtor_id):
    """A new loan for this debtor."""
    return _loan_view(_debtor_or_404(debtor_id), None)


@bp.route("/deudores/<debtor_id>/creditos/<path:loan_id>/editar", methods=["GET", "POST"])
@role_required("operador")
def edit_loan(debtor_id, loan_id):
    """Edit a loan of this debtor (its plan is replaced; what was paid is kept, oldest first)."""
    debtor = _debtor_or_404(debtor_id)
    loan = _ledger().loan(loan_id) if len(loan_id) <= 100 else None
    if loan is None or loan.debtor_id != debtor.id:
        abort(404)
    return _loan_view(debtor, loan)


# -- the debtor's page --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _OneDebtor:
    """A one-debtor snapshot with the planner's interface (``scheduler.planner.plan``'s contract)."""

    debtors: tuple
    loans: tuple
    payments: tuple
    promises: tuple
    contacts: tuple

    def debtor(self, debtor_id):
        return self.debtors[0] if debtor_id == self.debtors[0].id else None

    def loans_of(self, debtor_id):
        return self.loans if debtor_id == self.debtors[0].id else ()

    def payments_of(self, debtor_id):
        return self.payments if debtor_id == self.debtors[0].id else ()

    def promises_of(self, debtor_id):
        return self.promises if debtor_id == self.debtors[0].id else ()


def _history(debtor: Debtor, events: tuple | None = None) -> tuple:
    """The debtor's contact-log events the planner needs (the last :data:`HISTORY_DAYS` days), from
    ``events`` (the debtor's whole log, already read) or the ledger."""
    since = _now() - timedelta(days=HISTORY_DAYS)
    if events is None:
        return _ledger().contacts(debtor_id=debtor.id, since=since)
    return tuple(e for e in events if e.at >= since)


def _decisions(debtor: Debtor, history: tuple):
    """The planner's decisions for this debtor now (``None`` without a policy). The contact log holds the
    debtor's history and, when the SIM has a daily cap, everyone's SMS sent today (the cap is shared)."""
    policy = _policy()
    if policy is None:
        return None
    ledger, now = _ledger(), _now()
    contacts = tuple(history)
    if policy.daily_sms_cap is not None:
        contacts += tuple(e for e in _sent_today(policy, now) if e.debtor_id != debtor.id)
    view = _OneDebtor((debtor,), tuple(ledger.loans(debtor.id)), tuple(ledger.payments(debtor_id=debtor.id)),
                      tuple(ledger.promises(debtor.id)), contacts)
    return plan(view, policy, now, debtor_ids=[debtor.id])


def _sent_today(policy, now: datetime) -> tuple:
    """Every ``sent`` event of the cooperative's day (what the SIM's daily cap counts), read again only
    when the contact log has grown or the day changed (it scans the day's events of everyone)."""
    ledger = _ledger()
    zone = ZoneInfo(policy.timezone)
    day = now.astimezone(zone).date()
    key = (day, ledger.stats().get("contacts"))
    cached = current_app.extensions.get("cobrador.debtors.sent_today")
    if cached is None or cached[0] != key:
        start = datetime.combine(day, time(0), tzinfo=zone)
        cached = (key, ledger.contacts(since=start, kinds=("sent",)))
        current_app.extensions["cobrador.debtors.sent_today"] = cached
    return cached[1]


@dataclass(frozen=True)
class _Shown:
    """A decision as the page shows it."""

    decision: object
    action: str
    reason: str
    when: str


def _shown(decisions, debtor: Debtor) -> list[_Shown]:
    language = _language()
    out = []
    for d in decisions or ():
        if d.action == SEND:
            action, when = _("Sale ahora"), ""
        elif d.action == WAIT:
            action, when = _("Espera"), fmt_moment(d.at)
        else:
            action, when = _("No se envía"), ""
        reason = describe(d.reason, language)
        if d.detail:
            reason = f"{reason} ({d.detail})"
        out.append(_Shown(d, action, reason, when))
    return out


def _promises_with_status(debtor: Debtor, today: date) -> list[tuple]:
    ledger = _ledger()
    return [(p, ledger.promise_status(p.id, today)) for p in ledger.promises(debtor.id)]


def _page_data(debtor: Debtor) -> dict:
    """Everything the debtor's page shows."""
    ledger = _ledger()
    today = _today(debtor.timezone)
    loans = ledger.loans(debtor.id)
    payments = ledger.payments(debtor_id=debtor.id)
    promises = _promises_with_status(debtor, today)
    features = debtor_features(loans, payments, [p for p, _s in promises], today, tags=debtor.tags,
                               officer=debtor.loan_officer, grace_days=_grace_days())
    segmentation = segment_for(features, _segments(), language=_language())
    events = ledger.contacts(debtor_id=debtor.id)  # one read: the planner's history and the timeline
    decisions = _decisions(debtor, _history(debtor, events))
    timeline_events = events[-TIMELINE_LIMIT:]
    currencies = {loan.external_id: loan.currency for loan in loans}
    shared_with = {p.number: [d for d in ledger.debtors_by_phone(p.number) if d.id != debtor.id]
                   for p in debtor.phones}
    return {"debtor": debtor, "today": today, "loans": loans, "segmentation": segmentation, "features": features,
            "decisions": None if decisions is None else _shown(decisions, debtor),
            "timeline": timeline.build(timeline_events, payments, promises, currencies),
            "timeline_cut": len(events) > TIMELINE_LIMIT, "shared_with": shared_with,
            "profile": _overrides().get(debtor.id, ""), "coop_zone": _coop_zone(),
            "loans_active": [l for l in loans if l.status == "active"]}


def _action_forms(debtor: Debtor, loans, **bound) -> dict:
    """The action forms of the debtor's page (``bound``: a submitted one, to show its errors)."""
    choices = [(l.external_id, f"{l.external_id} — {l.product}" if l.product else l.external_id) for l in loans]
    payment = bound.get("payment") or PaymentForm(formdata=None, data={"day": _today(debtor.timezone)})
    promise = bound.get("promise") or PromiseForm(formdata=None)
    call = bound.get("call") or CallForm(formdata=None)
    payment.loan.choices = choices
    promise.loan.choices = [("", _("Todos sus créditos"))] + choices
    call.number.choices = [(p.number, fmt_phone(p.number)) for p in debtor.phones]
    return {"payment_form": payment, "promise_form": promise, "call_form": call,
            "phone_form": PhoneActionForm(formdata=None), "send_form": SendNowForm(formdata=None)}


def _render_show(debtor: Debtor, status: int = 200, **bound):
    data = _page_data(debtor)
    data.update(_action_forms(debtor, data["loans"], **bound))
    return render_template("debtors/show.html", **data), status


@bp.get("/deudores/<debtor_id>")
@role_required("lectura")
def show(debtor_id):
    """The debtor's page (see the module docstring)."""
    return _render_show(_debtor_or_404(debtor_id))


# -- actions ------------------------------------------------------------------------------------------------------
def _signed(note: str) -> str:
    """``note`` with who recorded it. Stored texts are the cooperative's (Spanish), whatever the page's
    language."""
    who = f"registrado por {current_user().name}"
    return f"{note} ({who})" if note else who


@bp.post("/deudores/<debtor_id>/pago")
@role_required("operador")
def payment(debtor_id):
    """Record a payment received in the office (``record_payment(..., source="web")``)."""
    debtor = _debtor_or_404(debtor_id)
    loans = _ledger().loans(debtor.id)
    form = PaymentForm()
    form.loan.choices = [(l.external_id, l.external_id) for l in loans]
    today = _today(debtor.timezone)
    if form.validate_on_submit():
        day = form.day.data
        if day > today:
            form.day.errors.append(_("La fecha del pago no puede ser futura: use la fecha en que se recibió."))
        elif day < today - timedelta(days=MAX_PAYMENT_AGE_DAYS):
            form.day.errors.append(_("Esa fecha es de hace más de cinco años: revise el año."))
        else:
            try:
                stored = _ledger().record_payment(form.loan.data, form.value, day, debtor_id=debtor.id, source="web",
                                                  reference=form.reference.data or "",
                                                  note=_signed(form.note.data or ""), now=_now())
            except ValueError as exc:
                form.amount.errors.append(_refusal(exc))
            else:
                currency = next((l.currency for l in loans if l.external_id == stored.loan_external_id), "")
                flash(_("Pago de %(amount)s registrado en el crédito %(loan)s.",
                        amount=fmt_money(stored.amount, currency), loan=stored.loan_external_id), "ok")
                return redirect(url_for("debtors.show", debtor_id=debtor.id) + "#pago")
    if not loans:
        form.loan.errors = [_("Este deudor no tiene créditos: agregue uno antes de registrar un pago.")]
    return _render_show(debtor, 400, payment=form)


@bp.post("/deudores/<debtor_id>/promesa")
@role_required("operador")
def promise(debtor_id):
    """Record a promise to pay (``record_promise(..., source="web")``): by a date from today to
    :data:`~webui.debtor_forms.MAX_PROMISE_DAYS` ahead."""
    debtor = _debtor_or_404(debtor_id)
    loans = _ledger().loans(debtor.id)
    form = PromiseForm()
    form.loan.choices = [("", "")] + [(l.external_id, l.external_id) for l in loans]
    today = _today(debtor.timezone)
    if form.validate_on_submit():
        day = form.day.data
        if day < today:
            form.day.errors.append(_("La fecha prometida ya pasó: escriba una fecha desde hoy."))
        elif day > today + timedelta(days=MAX_PROMISE_DAYS):
            form.day.errors.append(_("La fecha prometida debe estar dentro de los próximos %(n)d días.",
                                     n=MAX_PROMISE_DAYS))
        else:
            try:
                _ledger().record_promise(debtor.id, day, form.value, source="web", loan_external_id=form.loan.data,
                                         note=_signed(form.note.data or ""), now=_now())
            except ValueError as exc:
                form.amount.errors.append(_refusal(exc))
            else:
                currency = next((l.currency for l in loans if l.external_id == form.loan.data),
                                loans[0].currency if loans else "")
                flash(_("Promesa registrada: %(amount)s a más tardar el %(day)s. Mientras esté vigente no se envían "
                        "recordatorios.", amount=fmt_money(form.value, currency), day=fmt_day(day)), "ok")
                return redirect(url_for("debtors.show", debtor_id=debtor.id) + "#historial")
    return _render_show(debtor, 400, promise=form)


@bp.post("/deudores/<debtor_id>/telefono")
@role_required("operador")
def phone_action(debtor_id):
    """Opt one of the debtor's numbers out (``record_opt_out``) or authorise it again
    (``clear_opt_out``); a note in the contact log says who did it."""
    debtor = _debtor_or_404(debtor_id)
    form = PhoneActionForm()
    if not form.validate_on_submit():
        flash(_("No se entendió la acción sobre el teléfono: vuelva a intentarlo desde los botones."), "error")
        return _render_show(debtor, 400)
    phone = debtor.phone(form.number.data)
    if phone is None:
        flash(_("Ese teléfono no es de este deudor."), "error")
        return _render_show(debtor, 400)
    ledger, now = _ledger(), _now()
    user = current_user().name
    if form.action.data == "baja":
        ledger.record_opt_out(phone.number, source="web", now=now)
        ledger.append_contact(ContactEvent(now, debtor.id, "note", channel="sms", direction="internal",
                                           phone=phone.number, reference=timeline.OPT_OUT,
                                           detail=f"baja registrada en la oficina por {user}"))
        flash(_("El número %(number)s ya no recibirá mensajes ni llamadas (para todos los deudores que lo usan).",
                number=fmt_phone(phone.number)), "ok")
    else:
        ledger.clear_opt_out(phone.number)
        ledger.append_contact(ContactEvent(now, debtor.id, "note", channel="sms", direction="internal",
                                           phone=phone.number, reference=timeline.OPT_IN,
                                           detail=f"autorizado de nuevo en la oficina por {user}"))
        flash(_("El número %(number)s puede recibir mensajes otra vez.", number=fmt_phone(phone.number)), "ok")
    return redirect(url_for("debtors.show", debtor_id=debtor.id) + "#telefonos")


@bp.post("/deudores/<debtor_id>/llamada")
@role_required("operador")
def call(debtor_id):
    """Record a call made from the office: answered (``delivered``) or not (``expired``), with a note. It
    counts toward the contact rules' caps like any call."""
    debtor = _debtor_or_404(debtor_id)
    form = CallForm()
    form.number.choices = [(p.number, p.number) for p in debtor.phones]
    if form.validate_on_submit():
        kind = "delivered" if form.result.data == "contestada" else "expired"
        _ledger().append_contact(ContactEvent(_now(), debtor.id, kind, channel="call", direction="outbound",
                                              phone=form.number.data, text=form.note.data or "",
                                              detail=f"llamada hecha desde la oficina por {current_user().name}"))
        flash(_("Llamada registrada."), "ok")
        return redirect(url_for("debtors.show", debtor_id=debtor.id) + "#historial")
    return _render_show(debtor, 400, call=form)


@bp.post("/deudores/<debtor_id>/enviar")
@role_required("operador")
def send_now(debtor_id):
    """"Enviar ahora": plan this debtor now; if a decision is ``send``, wake the dispatcher (which plans
    again and obeys every rule); otherwise say why nothing goes out."""
    debtor = _debtor_or_404(debtor_id)
    if not SendNowForm().validate_on_submit():
        abort(400)
    decisions = _decisions(debtor, _history(debtor))
    services = _services()
    target = url_for("debtors.show", debtor_id=debtor.id) + "#plan"
    if decisions is None or services.wake is None:
        flash(_("El motor de envíos no está disponible en este equipo: no se puede enviar desde aquí."), "error")
        return redirect(target)
    sends = [d for d in decisions if d.action == SEND]
    if sends:
        services.wake()
        flash(_("Se avisó al despachador: %(n)d mensaje(s) para este deudor salen en unos segundos, si las reglas "
                "lo siguen permitiendo al momento de enviar.", n=len(sends)), "ok")
        return redirect(target)
    if not decisions:
        flash(_("No hay nada que enviar: el deudor no tiene créditos."), "warn")
        return redirect(target)
    for shown in _shown(decisions, debtor):
        d = shown.decision
        when = _(" hasta %(when)s", when=shown.when) if shown.when else ""
        flash(_("Crédito %(loan)s: %(action)s%(when)s — %(reason)s.", loan=d.loan, action=shown.action.lower(),
                when=when, reason=shown.reason), "warn")
    return redirect(target)


# -- the call script ----------------------------------------------------------------------------------------------
@bp.get("/deudores/<debtor_id>/guion")
@role_required("lectura")
def script(debtor_id):
    """A printable guide for phoning this debtor (see :mod:`webui.debtor_script`)."""
    debtor = _debtor_or_404(debtor_id)
    ledger, now = _ledger(), _now()
    policy = _policy()
    zone = ZoneInfo(debtor.timezone)
    today = _today(debtor.timezone)
    loans = ledger.loans(debtor.id)
    promises = _promises_with_status(debtor, today)
    events = ledger.contacts(debtor_id=debtor.id)
    entries = timeline.contact_entries(events[-TIMELINE_LIMIT:])
    entries.sort(key=lambda e: e.at, reverse=True)
    callable_phones, other_phones = debtor_script.split_phones(debtor)
    cooperative = policy.cooperative if policy is not None else None
    return render_template(
        "debtors/script.html", debtor=debtor, today=today,
        greeting=debtor_script.greeting_for(now.astimezone(zone)),
        first_name=debtor.name.split()[0] if debtor.name.split() else debtor.name,
        callable_phones=callable_phones, other_phones=other_phones,
        shared=any(not p.personal for p in callable_phones),
        owed=debtor_script.owed_for(loans, today),
        promises=sorted(promises, key=lambda ps: ps[0].made_at, reverse=True)[:5],
        last_contacts=[e for e in entries if e.kind == "contact"][:5],
        last_replies=[e for e in entries if e.kind == "reply"][:5],
        window=debtor_script.call_window(policy, debtor, _history(debtor, events), now),
        offer_until=debtor_script.offer_until(today), grace_days=_grace_days(),
        cooperative_name=_services().cooperative_name(),
        cooperative_phone=cooperative.phone if cooperative else "",
        payment_methods=cooperative.payment_methods if cooperative else "",
        caller=current_user().name)

