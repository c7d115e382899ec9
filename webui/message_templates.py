"""Message templates: every template's texts, an editor with a preview of what an SMS costs, and the
transliteration switch.

Routes (reading needs ``lectura``; every change ``administrador``):

- ``GET /plantillas`` — every template (the defaults, the configuration file's and the page's), where it
  comes from, which ladders use it; the placeholders and what each shows; the transliteration switch;
  a form to create a template from a copy.
- ``GET|POST /plantillas/<name>`` — the editor: Spanish and English texts, each with its shared-phone
  variant beside it, and the preview for a debtor (or an example) — the rendered text, its encoding
  (GSM-7 or UCS-2), SMS parts and characters left — plus the worst case over the debtors (a sample of at
  most :data:`WORST_SAMPLE`, said on the page). ``action=preview`` shows it (any user), ``action=save``
  stores the template (administrator) if the engine's validation accepts it; otherwise the Spanish error
  is shown next to the text at fault with a 400.
- ``POST /plantillas/vista-previa`` — the same preview as JSON for the page's script (live as one types).
- ``POST /plantillas/nueva`` — a new template copied from another; ``POST /plantillas/<name>/restablecer``
  — drop the page's edit of a template (the file's or the default text comes back);
  ``POST /plantillas/transliteracion`` — the ``[messages] transliterate`` switch.

Edits are stored through :class:`webui.campaigns_forms.EngineEdits` (validated by ``load_policy``).
"""

from __future__ import annotations

import heapq
import math
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import get_territory_currencies
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from modem.pdu import gsm7
from scheduler.errors import PolicyError, TemplateError
from scheduler.templates import (DEBT_PLACEHOLDERS, DEFAULT_TEMPLATES, PLACEHOLDERS, Cooperative, MessageFacts,
                                 Template, TemplateText, check_template, placeholder_values, preview, substitute,
                                 worst_case)
from webui.access import current_user, role_required
from webui.campaigns_forms import EngineEdits, EngineUnavailable, message_without_key
from webui.message_templates_forms import (TEXT_FIELDS, TONES, NewTemplateForm, TemplateForm, TransliterateForm,
                                          choices)

ORDER = 50
bp = Blueprint("message_templates", __name__)
NAV = [("message_templates.index", "Plantillas", "lectura")]

WORST_SAMPLE = 2000
"""The worst case is computed over at most this many debtors (evenly spread over the list)."""

RESERVED = frozenset({"nueva", "transliteracion", "vista_previa"})
"""Names a new template may not take (they are pages)."""

_LANGUAGE = {"es": "es", "es_compartido": "es", "en": "en", "en_compartido": "en"}
_SAFE = "{cooperativa}"


def _services():
    return current_app.extensions["cobrador"]


def _edits() -> EngineEdits:
    return EngineEdits.of(_services())


@bp.errorhandler(EngineUnavailable)
def _unavailable(exc: Exception):
    """Every page of this area answers 503 with the reason when the appliance gave no engine configuration
    (:class:`EngineUnavailable`, raised by ``_edits()``)."""
    return render_template("message_templates/unavailable.html", message=str(exc)), 503


def _today(edits: EngineEdits) -> date:
    return _services().now().astimezone(ZoneInfo(edits.timezone)).date()


def _cooperative(policy) -> Cooperative:
    """The cooperative as messages name it (the ledger's settings over the configuration)."""
    return policy.with_settings(_services().ledger.settings.all()).cooperative


# -- validation and preview --------------------------------------------------------------------------------------------
def text_errors(texts: dict[str, str]) -> dict[str, str]:
    """Each non-empty text checked alone by the engine's own validation (``check_template``): field ->
    Spanish message. A shared text may not show the debt, every text must name {cooperativa}, and only
    known placeholders are allowed."""
    errors = {}
    for name, text in texts.items():
        if not text:
            continue
        personal = not name.endswith("_compartido")
        variant = TemplateText(text, _SAFE) if personal else TemplateText(_SAFE, text)
        try:
            check_template(Template("plantilla", {_LANGUAGE[name]: variant}), key="plantilla")
        except TemplateError as exc:
            errors[name] = message_without_key(exc)
    return errors


def example_facts(country: str, today: date) -> MessageFacts:
    """The example the preview uses when no debtor is chosen."""
    currencies = get_territory_currencies(country, today) or ["USD"]
    return MessageFacts("Ana María Pérez Gómez", Decimal(150000), 3, 12, Decimal(1350000), today + timedelta(days=3),
                        -3, "Carlos Rodríguez", "CR-004512", currencies[0])


def debtor_facts(debtor, loans, today: date) -> MessageFacts | None:
    """What a reminder to ``debtor`` would say today (its first active loan's oldest unpaid instalment, as
    the planner quotes it), or ``None`` if nothing is owed."""
    for loan in loans:
        if loan.status != "active":
            continue
        instalment = loan.oldest_unpaid()
        if instalment is not None:
            return MessageFacts(debtor.name, instalment.outstanding, instalment.number, len(loan.instalments),
                                loan.outstanding, instalment.due_date, (today - instalment.due_date).days,
                                debtor.loan_officer, loan.external_id, loan.currency)
    return None


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def find_debtor(ledger, query: str):
    """The debtor whose code or document is ``query``, else the first (by name) whose name contains it."""
    query = query.strip()
    found = ledger.debtor(query)
    if found is not None:
        return found
    folded = _fold(query)
    for debtor in ledger.debtors():
        if debtor.document and _fold(debtor.document) == folded:
            return debtor
    for debtor in ledger.debtors():
        if folded in _fold(debtor.name):
            return debtor
    return None


@dataclass(frozen=True)
class VariantPreview:
    """One text rendered, and what it costs."""

    text: str
    sent: str
    encoding: str
    segments: int
    chars_left: int

    @property
    def length(self) -> int:
        return len(self.sent)

    def as_json(self) -> dict:
        return {"text": self.text, "sent": self.sent, "encoding": encoding_label(self.encoding),
                "segments": self.segments, "chars_left": self.chars_left, "length": self.length}


def encoding_label(encoding: str) -> str:
    return "GSM-7" if encoding == "gsm7" else "UCS-2"


def render_variants(texts: dict[str, str], errors: dict[str, str], facts: MessageFacts, cooperative: Cooperative,
                    transliterate: bool) -> dict[str, VariantPreview]:
    """Each valid, non-empty text rendered for ``facts`` and costed (``scheduler.templates.preview``)."""
    out = {}
    for name, text in texts.items():
        if not text or name in errors:
            continue
        rendered = substitute(text, placeholder_values(facts, cooperative, _LANGUAGE[name]))
        cost = preview(rendered, transliterate=transliterate)
        out[name] = VariantPreview(rendered, cost.sent, cost.encoding, cost.segments, cost.chars_left)
    return out


@dataclass(frozen=True)
class WorstCase:
    """The most expensive rendering of each text over ``used`` debtors (of ``sampled`` looked at, out of
    ``total``)."""

    variants: dict
    used: int
    sampled: int
    total: int


def worst_cases(texts: dict[str, str], errors: dict[str, str], cooperative: Cooperative, transliterate: bool,
                today: date) -> WorstCase:
    """``scheduler.templates.worst_case`` of each valid text over every debtor that owes something — at most
    :data:`WORST_SAMPLE` of them, evenly spread over the list (:func:`sample_values`). The renderings are
    ranked first by a cheap estimate of their cost (:func:`estimated_cost`); the :data:`EXACT_CANDIDATES`
    most expensive go through ``worst_case`` (the modem's own planner), so a Raspberry Pi answers quickly."""
    sample = sample_values(cooperative, today)
    variants = {}
    for name, text in texts.items():
        values = sample.values[_LANGUAGE[name]]
        if not text or name in errors or not values:
            continue
        renderings = {substitute(text, v) for v in values}
        costliest = heapq.nlargest(EXACT_CANDIDATES, renderings, key=lambda t: estimated_cost(t, transliterate))
        variants[name] = worst_case(costliest, transliterate=transliterate)
    return WorstCase(variants, sample.used, sample.sampled, sample.total)


@dataclass(frozen=True)
class Sample:
    """Placeholder values (per language) of the debtors the worst case looks at."""

    values: dict
    used: int
    sampled: int
    total: int


def sample_values(cooperative: Cooperative, today: date) -> Sample:
    """Every placeholder's text, in Spanish and English, for at most :data:`WORST_SAMPLE` debtors evenly
    spread over the list (those that owe nothing are left out). Kept until the ledger changes."""
    ledger = _services().ledger
    key = (id(ledger), ledger.stats().get("seq"), today, cooperative, WORST_SAMPLE)
    cache = current_app.extensions.setdefault("cobrador.templates.sample", {})
    found = cache.get(key)
    if found is None:
        debtors = ledger.debtors()
        step = max(1, math.ceil(len(debtors) / WORST_SAMPLE))
        chosen = debtors[::step][:WORST_SAMPLE]
        facts = [f for f in (debtor_facts(d, ledger.loans(d.id), today) for d in chosen) if f is not None]
        found = Sample({language: [placeholder_values(f, cooperative, language) for f in facts]
                        for language in ("es", "en")}, len(facts), len(chosen), len(debtors))
        cache.clear()
        cache[key] = found
    return found


EXACT_CANDIDATES = 25
"""How many of the most expensive-looking renderings of a text are costed exactly."""

_TRANSLITERATION = {"á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
                    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                    "\u2026": "..."}
_SEPTETS: dict[str, int] = {}


def _septets(char: str) -> int:
    """GSM-7 septets of ``char`` (0: not in the GSM alphabet), remembered per character."""
    found = _SEPTETS.get(char)
    if found is None:
        found = _SEPTETS[char] = len(gsm7.char_septets(char)) if gsm7.is_gsm7(char) else 0
    return found


def estimated_cost(text: str, transliterate: bool) -> tuple[int, int]:
    """``(SMS parts, minus the units left in the last part)`` of ``text``, estimated from its distinct
    characters (the alphabet is GSM-7 when every character — transliterated when that is on — is in it; an
    extension character counts 2): larger is more expensive, as ``worst_case`` orders them. Only used to
    rank renderings: the figures shown come from ``scheduler.templates.worst_case``."""
    chars = set(text)
    septets = {c: _septets(c) for c in chars}
    missing = [c for c, n in septets.items() if not n]
    if not missing or (transliterate and all(c in _TRANSLITERATION for c in missing)):
        units = len(text) + sum(text.count(c) for c, n in septets.items() if n == 2)
        if missing:
            units += 2 * text.count("\u2026")
        return _cost(units, 160, 153)
    return _cost(len(text) + sum(text.count(c) for c in chars if ord(c) > 0xFFFF), 70, 67)


def _cost(units: int, single: int, multi: int) -> tuple[int, int]:
    if units <= single:
        return 1, units - single
    parts = math.ceil(units / multi)
    return parts, units - parts * multi


# -- pages -------------------------------------------------------------------------------------------------------------
def _origin(name: str, edits: EngineEdits, overrides: dict) -> str:
    if name in (overrides.get("templates") or {}):
        return "page"
    if name in (edits.base.get("templates") or {}):
        return "file"
    return "default" if name in DEFAULT_TEMPLATES else "file"


@bp.get("/plantillas")
@role_required("lectura")
def index():
    """Every template, the placeholders, the transliteration switch and the new-template form."""
    edits = _edits()
    return _index_page(edits, NewTemplateForm(formdata=None), 200)


def _index_page(edits: EngineEdits, new_form: NewTemplateForm, status: int):
    policy = edits.current()
    overrides = edits.overrides()
    templates = sorted(policy.templates.templates.values(), key=lambda t: t.name)
    used_by = {}
    for ladder in policy.ladders.values():
        for step in ladder.steps:
            used_by.setdefault(step.template, set()).add(ladder.label or ladder.name)
    new_form.copy_from.choices = choices((t.name, t.name) for t in templates)
    switch = TransliterateForm(formdata=None)
    switch.transliterate.data = policy.transliterate
    return render_template("message_templates/index.html", templates=templates,
                           origins={t.name: _origin(t.name, edits, overrides) for t in templates},
                           used_by={k: sorted(v) for k, v in used_by.items()}, placeholders=PLACEHOLDERS,
                           debt_placeholders=DEBT_PLACEHOLDERS, new_form=new_form, switch=switch,
                           transliterate=policy.transliterate), status


def _form_for(template: Template, policy, *, fill: bool | None = None) -> TemplateForm:
    """The editor's form: what was posted, or (``fill``; by default on GET) the template's texts."""
    form = TemplateForm()
    tones = [("", _("sin tono"))] + [(t, t) for t in TONES]
    if template.tone and template.tone not in TONES:
        tones.append((template.tone, template.tone))
    form.tone.choices = choices(tones)
    if request.method == "GET" if fill is None else fill:
        form.tone.data = template.tone
        for language in ("es", "en"):
            variant = template.texts.get(language)
            getattr(form, language).data = variant.personal if variant else ""
            getattr(form, f"{language}_compartido").data = variant.shared if variant else ""
        form.transliterate.data = policy.transliterate
    return form


@bp.route("/plantillas/<name>", methods=["GET", "POST"])
@role_required("lectura")
def edit(name):
    """The editor of one template (preview for anyone; saving for an administrator)."""
    edits = _edits()
    policy = edits.current()
    template = policy.templates.templates.get(name)
    if template is None:
        abort(404)
    action = request.form.get("action", "preview")
    if request.method == "POST" and action == "save" and not current_user().can("administrador"):
        abort(403)
    form = _form_for(template, policy)
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 400
        errors = text_errors(form.texts())
        for field, message in errors.items():
            getattr(form, field).errors.append(message)
        if errors:
            status = 400
        if status == 200 and action == "save":
            body = form.body()
            try:
                edits.save(lambda o: o.setdefault("templates", {}).__setitem__(name, body))
            except PolicyError as exc:
                _attach(form, exc)
                status = 400
            else:
                flash(_("Plantilla «%(name)s» guardada. Los próximos mensajes usarán este texto.", name=name), "ok")
                return redirect(url_for(".edit", name=name))
    return _editor_page(edits, policy, template, form, status)


def _attach(form: TemplateForm, exc: PolicyError) -> None:
    """Show a ``load_policy`` error next to the text its key names (else above the form)."""
    field = exc.key.rsplit(".", 1)[-1] if exc.key else ""
    if field in TEXT_FIELDS:
        getattr(form, field).errors.append(message_without_key(exc))
    else:
        form.form_errors.append(str(exc))


def _preview_facts(form: TemplateForm, edits: EngineEdits, today: date):
    """``(facts, label, error)`` for the preview: the chosen debtor's, or the example's."""
    ledger = _services().ledger
    query = (form.debtor.data or "").strip()
    if not query:
        return example_facts(edits.country, today), _("un ejemplo (Ana María Pérez Gómez)"), ""
    debtor = find_debtor(ledger, query)
    if debtor is None:
        return example_facts(edits.country, today), _("un ejemplo"), \
            _("No hay ningún deudor con «%(q)s». Escriba parte del nombre, el documento o el código.", q=query)
    facts = debtor_facts(debtor, ledger.loans(debtor.id), today)
    if facts is None:
        return replace(example_facts(edits.country, today), name=debtor.name), \
            _("%(name)s (no debe nada: montos de ejemplo)", name=debtor.name), ""
    return facts, debtor.name, ""


def _editor_page(edits: EngineEdits, policy, template: Template, form: TemplateForm, status: int):
    today = _today(edits)
    facts, label, debtor_error = _preview_facts(form, edits, today)
    if debtor_error:
        form.debtor.errors.append(debtor_error)
        status = 400
    texts = form.texts()
    errors = {name: getattr(form, name).errors[0] for name in TEXT_FIELDS if getattr(form, name).errors}
    cooperative = _cooperative(policy)
    transliterate = bool(form.transliterate.data)
    previews = render_variants(texts, errors, facts, cooperative, transliterate)
    worst = worst_cases(texts, errors, cooperative, transliterate, today)
    overrides = edits.overrides()
    return render_template("message_templates/edit.html", template=template, form=form, previews=previews,
                           worst=worst, facts_label=label, placeholders=PLACEHOLDERS,
                           debt_placeholders=DEBT_PLACEHOLDERS, origin=_origin(template.name, edits, overrides),
                           can_edit=current_user().can("administrador"), sample_limit=WORST_SAMPLE,
                           encoding_label=encoding_label), status


@bp.post("/plantillas/vista-previa")
@role_required("lectura")
def live_preview():
    """The editor's preview as JSON (the page's script calls it while one types): ``variants`` (field ->
    text, sent, encoding, segments, chars_left, length), ``errors`` (field -> Spanish message), ``debtor``.
    Answers 400 with the errors when a text is invalid."""
    try:
        edits = _edits()
    except EngineUnavailable as exc:
        return jsonify(errors={"_": str(exc)}, variants={}), 503
    form = TemplateForm()
    form.tone.choices = choices([(form.tone.data or "", form.tone.data or "")])
    form.validate()
    errors = {name: str(getattr(form, name).errors[0]) for name in TEXT_FIELDS if getattr(form, name).errors}
    for name, message in text_errors({k: v for k, v in form.texts().items() if k not in errors}).items():
        errors[name] = message
    if form.debtor.errors:
        errors["debtor"] = str(form.debtor.errors[0])
    policy = edits.current()
    today = _today(edits)
    facts, label, debtor_error = _preview_facts(form, edits, today)
    if debtor_error:
        errors["debtor"] = debtor_error
    previews = render_variants(form.texts(), errors, facts, _cooperative(policy), bool(form.transliterate.data))
    return jsonify(variants={k: v.as_json() for k, v in previews.items()}, errors=errors,
                   debtor=label), 400 if errors else 200


@bp.post("/plantillas/nueva")
@role_required("administrador")
def create():
    """A new template, a copy of another's texts, then its editor."""
    edits = _edits()
    policy = edits.current()
    form = NewTemplateForm()
    form.copy_from.choices = choices((n, n) for n in sorted(policy.templates.names()))
    if form.validate():
        name = form.name.data
        if name in policy.templates or name in RESERVED:
            form.name.errors.append(_("Ya existe una plantilla con ese nombre; elija otro."))
        else:
            source = policy.templates.templates[form.copy_from.data]
            body = {"tone": source.tone} if source.tone else {}
            for language, variant in source.texts.items():
                body[language] = variant.personal
                body[f"{language}_compartido"] = variant.shared
            try:
                edits.save(lambda o: o.setdefault("templates", {}).__setitem__(name, body))
            except PolicyError as exc:
                form.name.errors.append(str(exc))
            else:
                flash(_("Plantilla «%(name)s» creada: cambie su texto y guárdela.", name=name), "ok")
                return redirect(url_for(".edit", name=name))
    return _index_page(edits, form, 400)


@bp.post("/plantillas/<name>/restablecer")
@role_required("administrador")
def reset(name):
    """Drop the page's edit of a template: the configuration file's (or the default) text comes back."""
    edits = _edits()
    if name not in (edits.overrides().get("templates") or {}):
        abort(404)
    try:
        edits.save(lambda o: o["templates"].pop(name))
    except PolicyError as exc:
        flash(_("No se puede quitar: %(reason)s", reason=str(exc)), "error")
        policy = edits.current()
        template = policy.templates.templates[name]
        return _editor_page(edits, policy, template, _form_for(template, policy, fill=True), 400)
    flash(_("Se quitaron los cambios hechos en esta página a «%(name)s».", name=name), "ok")
    if name in edits.current().templates:
        return redirect(url_for(".edit", name=name))
    return redirect(url_for(".index"))


@bp.post("/plantillas/transliteracion")
@role_required("administrador")
def transliteration():
    """Turn ``[messages] transliterate`` on or off."""
    edits = _edits()
    form = TransliterateForm()
    if not form.validate():
        abort(400)
    value = bool(form.transliterate.data)
    try:
        edits.save(lambda o: o.setdefault("messages", {}).__setitem__("transliterate", value))
    except PolicyError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index")), 400
    flash(_("Transliteración activada: á é í ó ú se escriben sin tilde cuando así el mensaje cuesta menos.")
          if value else _("Transliteración desactivada: los mensajes conservan sus tildes."), "ok")
    return redirect(url_for(".index"))

