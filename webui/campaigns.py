"""Campaigns: the contact rules, the cooperative's days off, the reminder ladders and which segment uses
which — and what the planner would do tomorrow with them.

Routes (reading needs ``lectura``; every change ``administrador``):

- ``GET /campanas`` — the jurisdiction profile (hours per day, caps, gap, one channel a week), the extra
  days without contacts, the segments (in the order they are checked) with their ladder, every ladder.
- ``POST /campanas/reglas`` — choose CO, MX, PE, EC, CL, US or the cooperative's own rules (custom: hours
  per day, caps, SMS gap, one channel a week, holidays).
- ``POST /campanas/agradecimiento`` — thank debtors who pay on time (``[messages] thank_you``, off by
  default) and for how many days after the payment (``thank_you_days``, 0–30); the page shows the
  ``gracias_pago`` template as it would be sent (the template page's preview).
- ``POST /campanas/feriados`` / ``POST /campanas/feriados/quitar`` — add or remove a day off.
- ``POST /campanas/segmentos`` — the ladder of each segment.
- ``POST /campanas/escaleras`` — a new ladder copied from another; ``GET|POST /campanas/escaleras/<name>``
  — its steps (offset, hour, channel, fallback, template, conditions; add, remove, move up and down);
  ``POST /campanas/escaleras/<name>/restablecer`` — drop the page's edit of a ladder.
- ``GET /campanas/simulacion`` — what the planner would do tomorrow at 09:00.

Every form has two buttons: *Simular* (validate and compare, store nothing) and *Guardar*. A change is
validated by ``scheduler.policy.load_policy`` (through :class:`webui.campaigns_forms.EngineEdits`) and
stored only if it passes; the Spanish error goes next to the field its key names, with a 400. After a
simulation or a save the page shows :func:`compare`: ``scheduler.planner.plan`` run on the ledger's
snapshot at tomorrow 09:00 in the cooperative's zone — with the clock trusted and sending not paused, for
the simulation only — with the policy in force and with the new one: counts by action and reason, the
difference ("+12 envíos, −3 esperas…") and the first 20 decisions.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.utils import redirect

from scheduler.clock import ClockTrust
from scheduler.errors import PolicyError
from scheduler.ladder import DEFAULT_LADDERS
from scheduler.planner import HISTORY_DAYS, SEND, SKIP, WAIT, plan
from scheduler.reasons import describe
from scheduler.rules.profiles import BUILTIN
from scheduler.templates import format_day
from webui.access import current_user, role_required
from webui.campaigns_forms import (CHANNEL_LABELS, DAY_KEYS, THANK_YOU_DAYS, EngineEdits, EngineUnavailable,
                                   HolidayForm, HolidayRemoveForm, LadderForm, NewLadderForm, ProfileForm,
                                   SegmentsForm, ThankYouForm, blank_step, choices, describe_segment,
                                   holidays_as_list, message_without_key, parse_day, segment_as_config)
from webui.message_templates import encoding_label, example_facts, render_variants

ORDER = 55
bp = Blueprint("campaigns", __name__)
NAV = [("campaigns.index", "Campañas", "lectura")]

FIRST = 20
"""How many decisions of the simulated plan the page lists."""

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
ACTIONS = (SEND, WAIT, SKIP)


def _services():
    return current_app.extensions["cobrador"]


@bp.errorhandler(EngineUnavailable)
def _unavailable(exc: Exception):
    """Every page of this area answers 503 with the reason when the appliance gave no engine configuration
    (:class:`EngineUnavailable`, raised by ``_edits()``)."""
    return render_template("campaigns/unavailable.html", message=str(exc)), 503


def _language() -> str:
    return "en" if str(get_locale() or "es").startswith("en") else "es"


# -- the simulation ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One action and reason: how many decisions before and after the change."""

    action: str
    reason: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True)
class Comparison:
    """What the planner would do at ``at`` (tomorrow 09:00) with the policy in force (``before``) and with the
    changed one (``after``; the same when nothing changed). ``totals`` per action, ``rows`` per action and
    reason, ``first`` decisions of the changed plan, ``names`` of their debtors; ``paused``: sending is paused
    now (the simulation ignores it); ``changed``: there was a change to compare; ``moved``: loans whose
    decision differs in something the counts do not show (the step, channel, template or time)."""

    at: datetime
    rows: tuple[Row, ...]
    totals: tuple[Row, ...]
    first: tuple
    names: dict
    paused: bool
    changed: bool
    moved: int = 0

    @property
    def decisions(self) -> int:
        """How many decisions the changed plan has."""
        return sum(row.after for row in self.totals)

    @property
    def differences(self) -> tuple[Row, ...]:
        """The rows that change, sends first (what the summary line says)."""
        return tuple(r for r in self.rows if r.delta)


def tomorrow_at_nine(now: datetime, zone: ZoneInfo) -> datetime:
    """09:00 of the day after ``now`` in ``zone``."""
    return datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(9), tzinfo=zone)


PLANS_KEPT = 3
"""How many simulated plans are kept (the plan in force is asked for again at each simulation)."""


def compare(edits: EngineEdits, before: tuple, after: tuple | None = None) -> Comparison:
    """Plan at tomorrow 09:00 with ``before`` (the policy in force) and ``after`` (the changed one, or
    ``None``: only the policy in force) on the same snapshot; see the module docstring. Each is a pair
    ``(policy, the edits it was made with)``: a plan is kept, by those edits, until the ledger changes."""
    ledger = _services().ledger
    zone = ZoneInfo(edits.timezone)
    at = tomorrow_at_nine(_services().now(), zone)
    snapshot = ledger.snapshot(contacts_since=at - timedelta(days=HISTORY_DAYS))
    trusted = ClockTrust(True, "simulation", "simulación desde la página de campañas")
    kept = current_app.extensions.setdefault("cobrador.campaigns.plans", OrderedDict())
    stats = ledger.stats()

    def run(policy, overrides):
        key = (id(ledger), snapshot.seq, stats.get("contacts"), at, json.dumps(overrides, sort_keys=True, default=str))
        found = kept.get(key)
        if found is None:
            ready = replace(policy.with_settings(snapshot.settings).with_clock(trusted), paused=False)
            found = kept[key] = plan(snapshot, ready, at)
            while len(kept) > PLANS_KEPT:
                kept.popitem(last=False)
        return found

    old = run(*before)
    new = run(*after) if after is not None else old
    count_old = Counter((d.action, d.reason.value) for d in old)
    count_new = Counter((d.action, d.reason.value) for d in new)
    keys = sorted(set(count_old) | set(count_new),
                  key=lambda k: (ACTIONS.index(k[0]), -count_new[k], -count_old[k], k[1]))
    rows = tuple(Row(a, r, count_old[(a, r)], count_new[(a, r)]) for a, r in keys)
    totals = tuple(Row(a, "", sum(v for (x, _), v in count_old.items() if x == a),
                       sum(v for (x, _), v in count_new.items() if x == a)) for a in ACTIONS)

    def decisions(plan_):
        return {(d.debtor_id, d.loan): (d.action, d.reason, d.step, d.channel, d.template, d.at) for d in plan_}

    old_by, new_by = decisions(old), decisions(new)
    moved = sum(1 for key in set(old_by) | set(new_by) if old_by.get(key) != new_by.get(key))
    first = new[:FIRST]
    names = {d.debtor_id: (snapshot.debtor(d.debtor_id).name if snapshot.debtor(d.debtor_id) else d.debtor_id)
             for d in first}
    return Comparison(at, rows, totals, first, names, bool(snapshot.settings.get("sending_paused")),
                      after is not None, moved)


def _view_helpers() -> dict:
    language = _language()

    def reason(value: str) -> str:
        return describe(value, language) if value else ""

    def moment(value: datetime) -> str:
        return f"{format_day(value.date(), language)} {value:%H:%M}"

    def signed(value: int) -> str:
        return f"+{value}" if value > 0 else f"\u2212{-value}" if value < 0 else "0"

    return {"reason_text": reason, "moment": moment, "signed": signed, "channel_labels": CHANNEL_LABELS,
            "weekdays": WEEKDAYS}


# -- the overview ------------------------------------------------------------------------------------------------------
def _edits() -> EngineEdits:
    return EngineEdits.of(_services())


def _origins(edits: EngineEdits, section: str) -> tuple[set, set]:
    """Names of ``section`` (ladders) the page changed, and those the file defines."""
    return set((edits.overrides().get(section) or {})), set((edits.base.get(section) or {}))


def _profile_form(policy, formdata=True) -> ProfileForm:
    form = ProfileForm() if formdata else ProfileForm(formdata=None)
    if not formdata:
        form.fill(policy.profiles.default)
    return form


THANK_YOU_TEMPLATE = "gracias_pago"
"""The template of the thank-you for an instalment paid on time (``scheduler.ladder.THANK_YOU``)."""


@dataclass(frozen=True)
class ThankYouPreview:
    """The ``gracias_pago`` template of one language rendered for the template page's example debtor:
    ``personal`` and ``shared`` (``webui.message_templates.VariantPreview``, or ``None`` without that text)."""

    language: str
    personal: object
    shared: object


def _thank_you_previews(edits: EngineEdits, policy) -> list[ThankYouPreview]:
    """The thank-you template in force, per language, as the template page previews it (its example debtor,
    the cooperative's name and phone as messages say them, transliterated when the policy says so)."""
    template = policy.templates.templates.get(THANK_YOU_TEMPLATE)
    if template is None:
        return []
    today = _services().now().astimezone(ZoneInfo(edits.timezone)).date()
    cooperative = policy.with_settings(_services().ledger.settings.all()).cooperative
    texts = {}
    for language, variant in template.texts.items():
        if language in ("es", "en"):
            texts[language], texts[f"{language}_compartido"] = variant.personal, variant.shared
    rendered = render_variants(texts, {}, example_facts(edits.country, today), cooperative, policy.transliterate)
    first = policy.templates.default_language
    order = [first] + [lang for lang in ("es", "en") if lang != first]
    return [ThankYouPreview(lang, rendered.get(lang), rendered.get(f"{lang}_compartido"))
            for lang in order if lang in texts]


def _thank_you_form(policy) -> ThankYouForm:
    form = ThankYouForm(formdata=None)
    form.fill(policy)
    return form


def _overview(edits: EngineEdits, *, profile_form=None, holiday_form=None, segments_form=None, new_form=None,
              thank_form=None, comparison: Comparison | None = None, status: int = 200):
    """The campaigns page with its forms (those given keep what was posted and their errors)."""
    policy = edits.current()
    profile = policy.profiles.default
    holidays = _days_off(edits, edits.overrides())
    if segments_form is None:
        segments_form = SegmentsForm(formdata=None)
        for rule in policy.segments:
            segments_form.ladders.append_entry(rule.ladder)
    segments_form.set_ladders(policy.ladders)
    if new_form is None:
        new_form = NewLadderForm(formdata=None)
    new_form.copy_from.choices = choices((n, policy.ladders[n].label or n) for n in sorted(policy.ladders))
    changed, in_file = _origins(edits, "ladders")
    used = {}
    for rule in policy.segments:
        used.setdefault(rule.ladder, []).append(rule.label)
    return render_template(
        "campaigns/index.html", policy=policy, profile=profile, builtin=profile.code in BUILTIN,
        profile_form=profile_form or _profile_form(policy, formdata=False),
        holiday_form=holiday_form or HolidayForm(formdata=None), holidays=holidays,
        remove_form=HolidayRemoveForm(formdata=None), segments_form=segments_form,
        segments=list(zip(policy.segments, segments_form.ladders)), describe_segment=describe_segment,
        ladders=sorted(policy.ladders.values(), key=lambda l: l.name), changed=changed, in_file=in_file,
        defaults=set(DEFAULT_LADDERS), used=used, new_form=new_form, comparison=comparison,
        thank_form=thank_form or _thank_you_form(policy), thank_previews=_thank_you_previews(edits, policy),
        thank_template=THANK_YOU_TEMPLATE, thank_range=THANK_YOU_DAYS, encoding_label=encoding_label,
        can_edit=current_user().can("administrador"), day_keys=DAY_KEYS, **_view_helpers()), status


@bp.get("/campanas")
@role_required("lectura")
def index():
    """The rules, days off, segments and ladders in force."""
    return _overview(_edits())


def _apply(edits: EngineEdits, change, on_error, rerender):
    """Simulate or save ``change`` (``action`` of the form): returns the page to answer with.

    ``on_error(exc)`` shows a ``PolicyError`` next to its field; ``rerender(comparison, status)`` draws
    the page."""
    action = request.form.get("action", "simulate")
    before = edits.in_force()
    try:
        if action == "save":
            overrides, policy = edits.save_with_edits(change)
        else:
            overrides, policy = edits.candidate(change)
    except PolicyError as exc:
        on_error(exc)
        return rerender(None, 400)
    if action == "save":
        flash(_("Cambios guardados. El próximo plan de envíos ya los usa; abajo, lo que cambia mañana."), "ok")
    else:
        flash(_("Simulación: nada se guardó. Abajo, lo que cambiaría mañana con estos cambios."), "warn")
    return rerender(compare(edits, before, (policy, overrides)), 200)


@bp.post("/campanas/reglas")
@role_required("administrador")
def rules():
    """The contact-rule profile (a country's or the cooperative's own)."""
    edits = _edits()
    form = ProfileForm()
    if not form.validate():
        return _overview(edits, profile_form=form, status=400)

    def change(overrides):
        overrides.setdefault("rules", {}).update(form.rules())

    def on_error(exc):
        field = form.field_for(exc.key)
        (field.errors if field is not None and isinstance(field.errors, list) else form.form_errors).append(
            message_without_key(exc) if field is not None else str(exc))

    return _apply(edits, change, on_error,
                  lambda comparison, status: _overview(edits, profile_form=form, comparison=comparison, status=status))


@bp.post("/campanas/agradecimiento")
@role_required("administrador")
def thank_you():
    """Thank debtors who pay on time (``[messages] thank_you``) and for how many days after the payment
    (``thank_you_days``): stored with the other engine sections, so the planner reads them on its next pass."""
    edits = _edits()
    form = ThankYouForm()
    if not form.validate():
        return _overview(edits, thank_form=form, status=400)
    values = form.messages()

    def change(overrides):
        overrides.setdefault("messages", {}).update(values)

    def on_error(exc):
        field = form.field_for(exc.key)
        if field is not None:
            field.errors.append(message_without_key(exc))
        else:
            form.form_errors.append(str(exc))

    return _apply(edits, change, on_error,
                  lambda comparison, status: _overview(edits, thank_form=form, comparison=comparison, status=status))


def _days_off(edits: EngineEdits, overrides: dict) -> list[dict]:
    """The cooperative's days off in force with ``overrides`` (the file's list, or the page's)."""
    return holidays_as_list((edits.merged(overrides).get("rules") or {}).get("extra_holidays"))


@bp.post("/campanas/feriados")
@role_required("administrador")
def add_holiday():
    """One more day without contacts (or a new name for one already listed)."""
    edits = _edits()
    form = HolidayForm()
    if not form.validate():
        return _overview(edits, holiday_form=form, status=400)
    day = parse_day(form.day.data).isoformat()
    name = (form.name.data or "").strip()

    def change(overrides):
        days = [d for d in _days_off(edits, overrides) if d["date"] != day]
        overrides.setdefault("rules", {})["extra_holidays"] = sorted(days + [{"date": day, "name": name}],
                                                                     key=lambda d: d["date"])

    def on_error(exc):
        form.day.errors.append(str(exc))

    return _apply(edits, change, on_error,
                  lambda comparison, status: _overview(edits, holiday_form=form, comparison=comparison, status=status))


@bp.post("/campanas/feriados/quitar")
@role_required("administrador")
def remove_holiday():
    """Remove one of the cooperative's days off (404 if it is not listed)."""
    edits = _edits()
    form = HolidayRemoveForm()
    if not form.validate():
        abort(400)
    day = parse_day(form.day.data).isoformat()
    if day not in {d["date"] for d in _days_off(edits, edits.overrides())}:
        abort(404)

    def change(overrides):
        overrides.setdefault("rules", {})["extra_holidays"] = [d for d in _days_off(edits, overrides)
                                                               if d["date"] != day]

    def on_error(exc):
        flash(str(exc), "error")

    return _apply(edits, change, on_error,
                  lambda comparison, status: _overview(edits, comparison=comparison, status=status))


@bp.post("/campanas/segmentos")
@role_required("administrador")
def segments():
    """Which ladder each segment uses."""
    edits = _edits()
    policy = edits.current()
    form = SegmentsForm()
    form.set_ladders(policy.ladders)
    if len(form.ladders) != len(policy.segments):
        flash(_("La lista de segmentos cambió mientras tanto. Revise y vuelva a intentarlo."), "error")
        return _overview(edits, status=400)
    if not form.validate():
        return _overview(edits, segments_form=form, status=400)
    chosen = [replace(rule, ladder=entry.data) for rule, entry in zip(policy.segments, form.ladders)]

    def change(overrides):
        overrides["segments"] = [segment_as_config(rule) for rule in chosen]

    def on_error(exc):
        flash(str(exc), "error")

    return _apply(edits, change, on_error,
                  lambda comparison, status: _overview(edits, segments_form=form, comparison=comparison, status=status))


@bp.post("/campanas/escaleras")
@role_required("administrador")
def new_ladder():
    """A new ladder with the steps of another; then its editor."""
    edits = _edits()
    policy = edits.current()
    form = NewLadderForm()
    form.copy_from.choices = choices((n, n) for n in sorted(policy.ladders))
    if not form.validate():
        return _overview(edits, new_form=form, status=400)
    name = form.name.data
    if name in policy.ladders:
        form.name.errors.append(_("Ya existe una escalera con ese nombre; elija otro."))
        return _overview(edits, new_form=form, status=400)
    source = LadderForm(formdata=None)
    source.fill(policy.ladders[form.copy_from.data])
    source.set_templates(policy.templates.names())
    body = source.body()
    body["label"] = name.replace("_", " ").capitalize()
    try:
        edits.save(lambda o: o.setdefault("ladders", {}).__setitem__(name, body))
    except PolicyError as exc:
        form.name.errors.append(str(exc))
        return _overview(edits, new_form=form, status=400)
    flash(_("Escalera «%(name)s» creada. Cambie sus pasos y asígnela a un segmento.", name=name), "ok")
    return redirect(url_for(".ladder", name=name))


# -- a ladder ----------------------------------------------------------------------------------------------------------
def _ladder_page(edits: EngineEdits, name: str, form: LadderForm, *, comparison=None, status=200, dirty=False):
    policy = edits.current()
    ladder = policy.ladders.get(name)
    changed, in_file = _origins(edits, "ladders")
    return render_template(
        "campaigns/ladder.html", name=name, ladder=ladder, form=form, comparison=comparison, dirty=dirty,
        origin="page" if name in changed else "file" if name in in_file else "default",
        segments=[r.label for r in policy.segments if r.ladder == name],
        can_edit=current_user().can("administrador"), **_view_helpers()), status


def _structural(form: LadderForm, action: str, templates) -> str | None:
    """Add, remove or move a step (``add``, ``remove-N``, ``up-N``, ``down-N``): the form is rebuilt and
    nothing is stored. Returns a Spanish error, or ``None``. Moving swaps what two steps do and keeps their
    days (steps are always in the order of their days)."""
    rows = [dict(entry.data) for entry in form.steps]
    if action == "add":
        if len(rows) >= form.steps.max_entries:
            return _("Una escalera tiene como máximo %(n)d pasos.", n=form.steps.max_entries)
        rows.append(blank_step(sorted(templates)[0]))
    else:
        verb, _sep, number = action.partition("-")
        if verb not in ("remove", "up", "down") or not number.isdigit() or int(number) >= len(rows):
            abort(400)
        index = int(number)
        if verb == "remove":
            rows.pop(index)
        else:
            other = index - 1 if verb == "up" else index + 1
            if not 0 <= other < len(rows):
                return None
            first, second = rows[index], rows[other]
            for key in first:
                if key != "offset":
                    first[key], second[key] = second[key], first[key]
    while len(form.steps):
        form.steps.pop_entry()
    for row in rows:
        form.steps.append_entry(row)
    form.set_templates(templates)
    return None


@bp.route("/campanas/escaleras/<name>", methods=["GET", "POST"])
@role_required("lectura")
def ladder(name):
    """A ladder's steps; posting (administrator) adds, removes or moves steps, simulates or saves."""
    edits = _edits()
    policy = edits.current()
    if name not in policy.ladders:
        abort(404)
    templates = policy.templates.names()
    if request.method == "GET":
        form = LadderForm(formdata=None)
        form.fill(policy.ladders[name])
        form.set_templates(templates)
        return _ladder_page(edits, name, form)
    if not current_user().can("administrador"):
        abort(403)
    form = LadderForm()
    form.set_templates(templates)
    action = request.form.get("action", "simulate")
    if action not in ("simulate", "save"):
        error = _structural(form, action, templates)
        if error:
            form.form_errors.append(error)
        return _ladder_page(edits, name, form, status=400 if error else 200, dirty=True)
    if not form.validate():
        return _ladder_page(edits, name, form, status=400, dirty=True)
    body = form.body()

    def change(overrides):
        overrides.setdefault("ladders", {})[name] = body

    def on_error(exc):
        field = form.field_for(exc.key)
        if field is not None:
            field.errors.append(message_without_key(exc))
        else:
            form.form_errors.append(str(exc))

    def rerender(comparison, status):
        if status == 200 and request.form.get("action") == "save":
            fresh = LadderForm(formdata=None)
            fresh.fill(edits.current().ladders[name])
            fresh.set_templates(templates)
            return _ladder_page(edits, name, fresh, comparison=comparison)
        return _ladder_page(edits, name, form, comparison=comparison, status=status, dirty=True)

    return _apply(edits, change, on_error, rerender)


@bp.post("/campanas/escaleras/<name>/restablecer")
@role_required("administrador")
def reset_ladder(name):
    """Drop the page's edit of a ladder (the file's or the default steps come back; a ladder made on the
    page disappears). Refused, with the reason, while a segment still uses a ladder that would disappear."""
    edits = _edits()
    if name not in (edits.overrides().get("ladders") or {}):
        abort(404)
    try:
        edits.save(lambda o: o["ladders"].pop(name))
    except PolicyError as exc:
        flash(_("No se puede quitar: %(reason)s", reason=str(exc)), "error")
        form = LadderForm(formdata=None)
        policy = edits.current()
        form.fill(policy.ladders[name])
        form.set_templates(policy.templates.names())
        return _ladder_page(edits, name, form, status=400)
    flash(_("Se quitaron los cambios hechos en esta página a la escalera «%(name)s».", name=name), "ok")
    if name in edits.current().ladders:
        return redirect(url_for(".ladder", name=name))
    return redirect(url_for(".index"))


# -- tomorrow ----------------------------------------------------------------------------------------------------------
@bp.get("/campanas/simulacion")
@role_required("lectura")
def simulation():
    """What the planner would do tomorrow at 09:00 with the rules in force."""
    edits = _edits()
    return render_template("campaigns/simulation.html", comparison=compare(edits, edits.in_force()),
                           **_view_helpers())
