"""Visits (``/visitas``): the loan officers' list of debtors whose reminder ladder reached a visit step.

The list is :func:`scheduler.visits.gather` (visit steps of the last :data:`scheduler.visits.WINDOW_DAYS`
days not marked done), one block per debtor, grouped by loan officer, the most days late first; the same
list the USB stick's ``visitas.csv`` holds.

Routes:

- ``GET /visitas`` (``lectura``): the list, filtered by loan officer (``asesor``) and zone (``zona``: the
  debtor's group), :data:`PER_PAGE` debtors a page (``pagina``); each debtor with phones, zone, days late, overdue and total balance, the loans the
  visit is for, the last contacts and promises, a link to the debtor's page; operators and administrators
  also get the "Visita hecha" form;
- ``GET /visitas/imprimir`` (``lectura``): the same list on its own page for paper (no menu, one debtor per
  block, never split across pages: ``static/visits.css``), with a print button (``static/visits.js``);
- ``GET /visitas.csv`` (``lectura``): :func:`scheduler.visits.visit_list_csv` of the filtered list (UTF-8
  with BOM, ``;``, formula-safe; headers in the page's language);
- ``POST /visitas/<debtor id>/hecha`` (``operador``; CSRF): the visit made, with its result (pagó, prometió
  pagar, no estaba, otro) and a note: :func:`scheduler.visits.done_events` appended to the contact log (a
  ``note`` on the ``visit`` channel per pending visit step, naming who recorded it), so the debtor leaves
  the list. A debtor with nothing pending: 404 when unknown, 409 when already visited; a bad form: 400.

The list is kept until the ledger changes (its journal sequence and contact count) or the day does
(:class:`Listing`), with what the pages derive from it: the officers and zones of the filters, each filter's
list, and each debtor's block as shown on the list page (per language; the "Visita hecha" form, with the
request's CSRF token, is drawn for every request). A page of a long list costs no history read and draws
only the blocks it has not drawn since the last change.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, abort, current_app, flash, get_template_attribute, redirect,
                   render_template, request, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from scheduler import visits as visit_list
from scheduler.csvcells import spreadsheet_conventions
from scheduler.templates import format_money
from webui.access import current_user, role_required
from webui.contacts_log import CONTACT_CHANNEL_ES, debtor_links, format_phone, kind_label
from webui.visits_forms import RESULT_LABELS, VisitDoneForm

log = logging.getLogger("cobrador.webui.visits")

ORDER = 25
bp = Blueprint("visits", __name__)
NAV = [("visits.index", "Visitas", "lectura")]

MAX_FILTER = 100
PER_PAGE = 50
MAX_PAGE = 10_000
MAX_FILTERS_KEPT = 64
"""Filtered lists kept per ledger state (officer × zone combinations asked for)."""
MAX_BLOCKS_KEPT = 2_000
"""Drawn debtor blocks kept per ledger state (every language together): 40 pages of the list."""
_LOCK = threading.Lock()
PROMISE_STATUS_ES = {"pending": "pendiente", "kept": "cumplida", "broken": "incumplida"}
CSV_HEADER_ES = {c: c for c in visit_list.CSV_COLUMNS}


def _services():
    return current_app.extensions["cobrador"]


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(_services().timezone or "America/Bogota")
    except (ValueError, KeyError):
        return ZoneInfo("America/Bogota")


def _filters() -> dict:
    """The officer and zone asked for (``""``: all), cut to :data:`MAX_FILTER` characters."""
    return {"asesor": request.args.get("asesor", "")[:MAX_FILTER], "zona": request.args.get("zona", "")[:MAX_FILTER]}


@dataclass
class Listing:
    """The visit list of one ledger state (``key``: the ledger, its journal sequence and contact count, the day)
    and what the pages derive from it, made once: the choices of the filters, each filter's list, the drawn
    blocks of the list page by ``(language, debtor id)``."""

    key: tuple
    everyone: list
    officers: list = field(default_factory=list)
    zones: list = field(default_factory=list)
    filtered: dict = field(default_factory=dict)
    drawn: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.officers = sorted({v.officer for v in self.everyone}, key=str.casefold)
        self.zones = sorted({v.zone for v in self.everyone if v.zone}, key=str.casefold)

    def shown(self, filters: dict) -> list:
        """The list with ``filters`` (``asesor``, ``zona``; ``""``: all)."""
        officer, zone = filters["asesor"], filters["zona"]
        if not officer and not zone:
            return self.everyone
        found = self.filtered.get((officer, zone))
        if found is None:
            found = [v for v in self.everyone if (not officer or v.officer == officer) and (not zone or v.zone == zone)]
            if len(self.filtered) < MAX_FILTERS_KEPT:
                self.filtered[(officer, zone)] = found
        return found


def listing() -> Listing:
    """The :class:`Listing` of the ledger now: :func:`scheduler.visits.gather` made again only when the ledger or
    the day changes."""
    services = _services()
    ledger, now, zone = services.ledger, services.now(), _zone()

    def key():
        stats = ledger.stats()
        return id(ledger), stats.get("seq"), stats.get("contacts"), now.astimezone(zone).date()

    before = key()
    cached = current_app.extensions.get("cobrador.visits")
    if cached is not None and cached.key == before:
        return cached
    with _LOCK:  # one computation at a time; the others wait for it and share it
        cached = current_app.extensions.get("cobrador.visits")
        if cached is not None and cached.key == before:
            return cached
        found = Listing(before, visit_list.gather(ledger, now, zone))
        if key() == before:  # nothing was written while it was read
            current_app.extensions["cobrador.visits"] = found
        return found


def pending() -> list:
    """:func:`scheduler.visits.gather` now, kept until the ledger or the day changes."""
    return listing().everyone


def _gather(filters: dict) -> tuple[list, list, list]:
    """``(the filtered list, every officer, every zone)`` — the choices come from the whole list."""
    found = listing()
    return found.shown(filters), found.officers, found.zones


def _options(values: list, chosen: str, empty_label: str | None = None) -> Markup:
    """``<option>`` elements of a filter (``chosen`` selected; ``empty_label`` names the value ``""``)."""
    parts = []
    for value in values:
        label = value or empty_label or ""
        selected = " selected" if value == chosen and chosen else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return Markup("".join(parts))


def _when(moment, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%d/%m/%Y %H:%M}"


def block_words() -> dict:
    """The words of a debtor's block (``visits/_block.html``) in the page's language, translated once a page."""
    from flask_wtf.csrf import generate_csrf

    return {"doc": _("Doc."), "phones": _("Teléfonos"), "no_phone": _("sin teléfono"), "zone": _("Zona"),
            "no_zone": _("sin zona"), "late": _("Días de atraso"), "overdue": _("Saldo vencido"),
            "balance": _("Saldo total"), "since": _("En la lista desde"), "loan": _("Crédito"),
            "recent": _("Últimos contactos"), "no_recent": _("Sin contactos recientes."), "promises": _("Promesas"),
            "for_day": _("para el"), "no_promises": _("Sin promesas."), "result": _("Resultado"), "note": _("Nota"),
            "note_optional": _("Nota (opcional)"), "done": _("Visita hecha"),
            "choices": [(k, str(v)) for k, v in RESULT_LABELS.items()], "csrf": generate_csrf()}


def _blocks(items: list) -> list[dict]:
    """What the templates show of each debtor (texts in the page's language, money the country's way)."""
    services = _services()
    zone, country = _zone(), services.country
    debtor_url = debtor_links()
    channels: dict[str, str] = {}
    kinds: dict[tuple, str] = {}
    statuses = {k: _(v) for k, v in PROMISE_STATUS_ES.items()}

    def channel(event) -> str:
        if event.channel not in channels:
            channels[event.channel] = _(CONTACT_CHANNEL_ES.get(event.channel, event.channel))
        return channels[event.channel]

    def kind(event) -> str:
        key = (event.channel, event.kind)
        if key not in kinds:
            kinds[key] = _(kind_label(event))
        return kinds[key]

    blocks = []
    for item in items:
        debtor = item.debtor
        money = (lambda amount, currency=item.currency: format_money(amount, currency or "COP", country))
        blocks.append({
            "item": item, "id": item.debtor_id, "name": item.name, "officer": item.officer, "zone": item.zone,
            "document": debtor.document if debtor else "",
            "phones": [format_phone(p.number, country) for p in debtor.phones] if debtor else [],
            "url": debtor_url(item.debtor_id) if debtor else None,
            "since": f"{item.visit.at.astimezone(zone):%d/%m/%Y}", "loans": item.loans,
            "days_late": item.days_late, "overdue": money(item.overdue), "balance": money(item.balance),
            "recent": [{"when": _when(e.at, zone), "channel": channel(e), "kind": kind(e),
                        "text": e.text or e.detail} for e in item.recent],
            "promises": [{"due": f"{p.due_date:%d/%m/%Y}", "amount": money(p.amount),
                          "status": statuses.get(status, status), "status_code": status}
                         for p, status in item.promises],
        })
    return blocks


def _groups(blocks: list[dict]) -> list[tuple[str, list[dict]]]:
    """The blocks by loan officer (officers in alphabetical order, the debtors without one last)."""
    groups: dict[str, list] = {}
    for block in blocks:
        groups.setdefault(block["officer"], []).append(block)
    return sorted(groups.items(), key=lambda kv: (kv[0] == "", kv[0].casefold()))


def _page_number(count: int) -> tuple[int, int]:
    """``(page asked, pages)``: a page out of range (or not a number) is the nearest one."""
    pages = max(1, -(-count // PER_PAGE))
    text = request.args.get("pagina", "1").strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else 1
    return min(max(1, number), pages, MAX_PAGE), pages


def _drawn_blocks(items: list, found: Listing, words: dict) -> list[dict]:
    """The list page's blocks of ``items``, each with ``body`` (its facts and history, drawn once per language
    and ledger state and kept in ``found``: only the blocks not drawn yet are made). Copies: the caller may
    add the request's own fields (``form``)."""
    language = str(get_locale() or "es")
    made = {}
    missing = [item for item in items if (language, item.debtor_id) not in found.drawn]
    if missing:
        body = get_template_attribute("visits/_block.html", "visit_body")
        for block in _blocks(missing):
            block["body"] = body(block, words)
            made[block["id"]] = block
            if len(found.drawn) < MAX_BLOCKS_KEPT:
                found.drawn[(language, block["id"])] = block
    return [dict(made.get(item.debtor_id) or found.drawn[(language, item.debtor_id)]) for item in items]


def _page(template: str, *, status: int = 200, forms: dict | None = None, paged: bool = True):
    filters = _filters()
    found = listing()
    items = found.shown(filters)
    total = len(items)
    number, pages = _page_number(total) if paged else (1, 1)
    words = block_words()
    if paged:
        items = items[(number - 1) * PER_PAGE:number * PER_PAGE]
        blocks = _drawn_blocks(items, found, words)
    else:
        blocks = _blocks(items)
    user = current_user()
    can_record = bool(user and user.can("operador"))
    for block in blocks:
        block["form"] = (forms or {}).get(block["id"])  # a form sent back with its errors
    return render_template(template, groups=_groups(blocks), total=total, shown=len(blocks), filters=filters,
                           words=words, officer_options=_options(found.officers, filters["asesor"], _("Sin asesor")),
                           zone_options=_options(found.zones, filters["zona"]),
                           officers=found.officers, zones=found.zones, can_record=can_record, page=number,
                           pages=pages, now=_when(_services().now(), _zone()),
                           query={k: v for k, v in filters.items() if v}), status


@bp.get("/visitas")
@role_required("lectura")
def index():
    """The visit list (see the module docstring)."""
    return _page("visits/index.html")


@bp.get("/visitas/imprimir")
@role_required("lectura")
def printable():
    """The visit list for paper: no menu, one debtor per block."""
    return _page("visits/print.html", paged=False)


@bp.get("/visitas.csv")
@role_required("lectura")
def export():
    """The filtered visit list as the office's CSV (see :func:`scheduler.visits.visit_list_csv`)."""
    services = _services()
    items, _officers, _zones = _gather(_filters())
    _delimiter, decimal_mark = spreadsheet_conventions(services.country)
    header = {c: _(c) for c in CSV_HEADER_ES}
    data = visit_list.visit_list_csv(items, _zone(), decimal_mark=decimal_mark, header=header,
                                     phone=lambda n: format_phone(n, services.country))
    stamp = f"{services.now().astimezone(_zone()):%Y%m%d-%H%M}"
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="visitas-{stamp}.csv"'})


@bp.post("/visitas/<debtor_id>/hecha")
@role_required("operador")
def done(debtor_id):
    """Record a visit made (see the module docstring)."""
    services = _services()
    now = services.now()
    item = next((v for v in pending() if v.debtor_id == debtor_id), None)
    if item is None:
        if services.ledger.debtor(debtor_id) is None:
            abort(404)
        flash(_("Esa visita ya estaba anotada: el deudor no está en la lista."), "error")
        return _page("visits/index.html", status=409)
    form = VisitDoneForm()
    if not form.validate():
        messages = [str(m) for field in (form.result, form.note) for m in field.errors]
        if form.csrf_token.errors:  # the security module answers a missing token before this; a stale one here
            messages.append(_("La página caducó. Vuelva a cargarla e inténtelo de nuevo."))
        flash(" ".join(messages) or _("Vuelva a cargar la página e inténtelo de nuevo."), "error")
        return _page("visits/index.html", status=400, forms={debtor_id: form})
    events = visit_list.done_events(item, form.result.data, form.note.data or "", current_user().name, now)
    try:
        for event in events:
            services.ledger.append_contact(event)
    except OSError as exc:  # the ledger's write error: a Spanish sentence saying what to do
        flash(str(exc), "error")
        return _page("visits/index.html", status=503, forms={debtor_id: form})
    log.info("visit to %s recorded by %s: %s", debtor_id, current_user().name, form.result.data)
    flash(_("Visita a %(name)s anotada: %(result)s.", name=item.name, result=RESULT_LABELS[form.result.data]), "ok")
    if form.result.data == "promesa":
        flash(_("Anote la fecha y el monto prometidos en la página del deudor, para que los recordatorios esperen."),
              "warn")
    return redirect(url_for("visits.index", **{k: v for k, v in _filters().items() if v}))
