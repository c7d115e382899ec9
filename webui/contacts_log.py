"""Messages and calls (``/mensajes``): every contact event of the log, filtered, newest first, and its CSV.

Routes (role ``lectura``: the page only reads):

- ``GET /mensajes``: the contact log (``ledger.contacts`` / ``ledger.iter_contacts``) filtered by
  dates (``desde``/``hasta``, days in the cooperative's time zone, both included; without ``desde`` in
  the address the last :data:`DEFAULT_DAYS` days are shown, an empty ``desde`` means the whole history),
  kinds (``tipo``, several), channel (``canal``), direction (``direccion``) and a debtor search
  (``buscar``: part of a name, a document or a phone number), newest first, :data:`PER_PAGE` per page
  (``pagina``). Kind, channel and direction are shown in the office's words (the table of
  ``firmware_py.importer.export``, copied), times in the cooperative's zone, texts escaped, each debtor
  linked to their page (``/deudores/<id>``). Bad filters are answered 400 with the Spanish reason.
- ``GET /mensajes.csv``: the same filtered events, oldest first (streamed), as a CSV for the office's
  spreadsheet: UTF-8 with BOM, ``;`` where the decimal mark is a comma (``,`` elsewhere), formula-safe
  (:func:`scheduler.csvcells.neutralise`), times as ``dd/mm/aaaa HH:MM`` in the cooperative's zone.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import unicodedata
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import phonenumbers
from flask import (Blueprint, Response, current_app, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from scheduler.csvcells import neutralise, spreadsheet_conventions
from scheduler.reasons import Reason, describe
from webui.access import role_required
from webui.i18n import select_locale

ORDER = 60
bp = Blueprint("contacts_log", __name__)
NAV = [("contacts_log.index", "Mensajes y llamadas", "lectura")]

PER_PAGE = 100
DEFAULT_DAYS = 30
MAX_SEARCH = 100
MAX_PAGE = 100_000
TEXT_PREVIEW = 300

# The office's words, copied from firmware_py.importer.export (the web UI does not import firmware_py),
# with the channels that table does not name yet (a missed call, a visit).
CONTACT_CHANNEL_ES = {"sms": "SMS", "call": "llamada", "ring": "llamada perdida", "visit": "visita"}
CONTACT_DIRECTION_ES = {"outbound": "saliente", "inbound": "entrante", "internal": "interna"}
CONTACT_KIND_ES = {"planned": "programado", "sending": "enviando", "retry": "por reintentar", "sent": "enviado",
                   "delivered": "entregado", "failed": "fallido", "uncertain": "incierto",
                   "expired": "sin confirmación de entrega", "reply": "respuesta", "skipped": "omitido",
                   "note": "nota"}
# a call is "llamada" (feminine), and a delivered call is one that was answered
CALL_KIND_ES = {**CONTACT_KIND_ES, "planned": "programada", "sending": "llamando", "sent": "realizada",
                "delivered": "contestada", "failed": "fallida", "uncertain": "incierta",
                "expired": "sin respuesta", "skipped": "omitida"}
CSV_COLUMNS = ("Fecha y hora", "Documento", "Nombre", "Teléfono", "Canal", "Dirección", "Tipo", "Crédito",
               "Texto", "Detalle", "Referencia", "Contacto")
# the filter's order: what staff look for first
KIND_ORDER = ("reply", "sent", "delivered", "failed", "uncertain", "expired", "planned", "sending", "retry",
              "skipped", "note")

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y")
_FIRST_YEAR, _LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Filters:
    """What the person asked for, validated. ``since``/``until``: aware bounds (``until`` exclusive)."""

    since: datetime | None
    until: datetime | None
    kinds: frozenset[str] | None
    channel: str
    direction: str
    search: str
    page: int
    start_text: str  # the form's values, to show them again
    end_text: str


class FilterError(ValueError):
    """Bad filters: ``errors`` maps each form field to its Spanish message."""

    def __init__(self, errors: dict[str, str], values: dict):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.values = values


def _services():
    return current_app.extensions["cobrador"]


def _zone() -> ZoneInfo:
    return ZoneInfo(_services().timezone)


def _parse_day(text: str, name: str, errors: dict) -> date | None:
    text = text.strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            errors[name] = _("Escriba una fecha entre los años %(first)d y %(last)d.", first=_FIRST_YEAR,
                             last=_LAST_YEAR)
            return None
        return day
    errors[name] = _("«%(text)s» no es una fecha válida. Escriba el día como dd/mm/aaaa, por ejemplo 25/11/2026.",
                     text=text[:40])
    return None


def read_filters(args) -> Filters:
    """Validate the query string ``args`` (a MultiDict); raises :class:`FilterError` with Spanish messages."""
    errors: dict[str, str] = {}
    zone = _zone()
    today = _services().now().astimezone(zone).date()
    if "desde" in args:
        start_text = args.get("desde", "")[:200]
    else:
        start_text = (today - timedelta(days=DEFAULT_DAYS)).isoformat()
    end_text = args.get("hasta", "")[:200]
    start = _parse_day(start_text, "desde", errors)
    end = _parse_day(end_text, "hasta", errors)
    if start and end and end < start:
        errors["hasta"] = _("La fecha «hasta» es anterior a «desde». Cambie una de las dos.")
    kinds = args.getlist("tipo")
    if any(k not in CONTACT_KIND_ES for k in kinds) or len(kinds) > len(CONTACT_KIND_ES):
        errors["tipo"] = _("Elija los tipos de la lista.")
    channel = args.get("canal", "")
    if channel and channel not in CONTACT_CHANNEL_ES:
        errors["canal"] = _("Elija un canal de la lista.")
    direction = args.get("direccion", "")
    if direction and direction not in CONTACT_DIRECTION_ES:
        errors["direccion"] = _("Elija una dirección de la lista.")
    search = args.get("buscar", "").strip()
    if len(search) > MAX_SEARCH:
        errors["buscar"] = _("La búsqueda es demasiado larga: escriba como máximo %(n)d caracteres (parte del "
                             "nombre, el documento o el teléfono).", n=MAX_SEARCH)
    page_text = args.get("pagina", "1").strip() or "1"
    page = 1
    if not re.fullmatch(r"[0-9]{1,7}", page_text) or not 1 <= int(page_text) <= MAX_PAGE:
        errors["pagina"] = _("La página debe ser un número entre 1 y %(n)d.", n=MAX_PAGE)
    else:
        page = int(page_text)
    values = {"desde": start_text, "hasta": end_text, "tipo": [k for k in kinds if k in CONTACT_KIND_ES],
              "canal": channel if channel in CONTACT_CHANNEL_ES else "",
              "direccion": direction if direction in CONTACT_DIRECTION_ES else "", "buscar": search[:MAX_SEARCH]}
    if errors:
        raise FilterError(errors, values)
    return Filters(since=datetime.combine(start, time(), tzinfo=zone) if start else None,
                   until=datetime.combine(end + timedelta(days=1), time(), tzinfo=zone) if end else None,
                   kinds=frozenset(kinds) or None, channel=channel, direction=direction, search=search,
                   page=page, start_text=start_text, end_text=end_text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _matcher(ledger, filters: Filters):
    """A predicate on events for the channel, direction and debtor-search filters."""
    debtor_ids: set[str] | None = None
    phone_digits = ""
    if filters.search:
        words = _fold(filters.search).split()
        digits = re.sub(r"\D", "", filters.search)
        phone_digits = digits if len(digits) >= 4 else ""
        debtor_ids = set()
        for debtor in ledger.debtors():
            name = _fold(debtor.name)
            document = _fold(debtor.document)
            if (words and all(w in name for w in words)) or (_fold(filters.search) in document) or \
                    (digits and digits in re.sub(r"\D", "", debtor.document)) or \
                    (phone_digits and any(phone_digits in p.number for p in debtor.phones)):
                debtor_ids.add(debtor.id)

    def wanted(event) -> bool:
        if filters.channel and event.channel != filters.channel:
            return False
        if filters.direction and event.direction != filters.direction:
            return False
        if debtor_ids is not None:
            return event.debtor_id in debtor_ids or bool(phone_digits and phone_digits in (event.phone or ""))
        return True

    return wanted


def _events(ledger, filters: Filters):
    """The matching events, oldest first (streamed from the partitions when the whole history is asked)."""
    if filters.since is None and hasattr(ledger, "iter_contacts"):
        source = ledger.iter_contacts(until=filters.until, kinds=filters.kinds)
    else:
        source = ledger.contacts(since=filters.since, until=filters.until, kinds=filters.kinds)
    wanted = _matcher(ledger, filters)
    return (event for event in source if wanted(event))


def newest_page(events, page: int, per_page: int = PER_PAGE) -> tuple[list, int]:
    """``(events of page ``page`` newest first, total)`` from ``events`` oldest first; memory holds at most
    ``page * per_page`` events."""
    kept: deque = deque(maxlen=page * per_page)
    total = 0
    for event in events:
        kept.append(event)
        total += 1
    on_page = list(kept)[:max(0, len(kept) - (page - 1) * per_page)]
    on_page.reverse()
    return on_page[:per_page], total


def kind_label(event) -> str:
    """The Spanish word for the event's kind (a call's words are feminine: "contestada")."""
    table = CALL_KIND_ES if event.channel in ("call", "ring") else CONTACT_KIND_ES
    return table.get(event.kind, event.kind)


def detail_text(detail: str, language: str) -> str:
    """A planner's reason code as its sentence; any other detail as it is."""
    try:
        return describe(Reason(detail), language)
    except ValueError:
        return detail


@functools.lru_cache(maxsize=8192)
def format_phone(number: str, country: str) -> str:
    """A phone as the office writes it: national format for the country's numbers, international otherwise
    (the same rule as the CLI export). Kept per number (parsing one costs a third of a millisecond: the visit
    list, its print view and the CSVs format thousands)."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if phonenumbers.region_code_for_number(parsed) == country.upper():
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_DEBTOR_RULE = re.compile(r"^/deudores/<[^<>/]+>/?$")


def debtor_links():
    """A function debtor id -> the debtor's page: ``url_for`` of the registered ``/deudores/<id>`` rule when
    there is one (another area builds it), else that address."""
    for rule in current_app.url_map.iter_rules():
        if _DEBTOR_RULE.match(rule.rule) and len(rule.arguments) == 1 and "GET" in (rule.methods or ()):
            endpoint, argument = rule.endpoint, next(iter(rule.arguments))
            return lambda debtor_id: url_for(endpoint, **{argument: debtor_id})
    return lambda debtor_id: "/deudores/" + quote(debtor_id, safe="")


class _Debtors:
    """Debtors looked up once per request."""

    def __init__(self, ledger):
        self.ledger = ledger
        self.cache: dict = {}

    def __call__(self, debtor_id: str):
        if not debtor_id:
            return None
        if debtor_id not in self.cache:
            self.cache[debtor_id] = self.ledger.debtor(debtor_id)
        return self.cache[debtor_id]


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%d/%m/%Y %H:%M")


def _labels() -> dict:
    """The option labels in the page's language."""
    return {"kinds": [(k, _(CONTACT_KIND_ES[k])) for k in KIND_ORDER],
            "channels": [(k, _(v)) for k, v in CONTACT_CHANNEL_ES.items()],
            "directions": [(k, _(v)) for k, v in CONTACT_DIRECTION_ES.items()]}


def _query(values: dict, **changes) -> dict:
    """The filters as query arguments (for the page links and the CSV link)."""
    out = {k: v for k, v in {**values, **changes}.items() if v not in ("", None, [])}
    out.setdefault("desde", "")  # an empty "desde" means the whole history, not the default window
    return out


@bp.get("/mensajes")
@role_required("lectura")
def index():
    """The filtered contact log, newest first, one page."""
    ledger = _services().ledger
    try:
        filters = read_filters(request.args)
    except FilterError as exc:
        return render_template("contacts_log/index.html", errors=exc.errors, values=exc.values, rows=[],
                               total=0, page=1, pages=0, labels=_labels(), query={}), 400
    events, total = newest_page(_events(ledger, filters), filters.page)
    pages = max(1, -(-total // PER_PAGE))
    values = {"desde": filters.start_text, "hasta": filters.end_text, "tipo": sorted(filters.kinds or ()),
              "canal": filters.channel, "direccion": filters.direction, "buscar": filters.search}
    if filters.page > pages:  # an old link after the log or the filters changed: the last page
        return redirect(url_for("contacts_log.index", **_query(values, pagina=pages)))
    language = select_locale()
    zone, country = _zone(), _services().country
    debtor, debtor_url = _Debtors(ledger), debtor_links()
    rows = []
    for event in events:
        who = debtor(event.debtor_id)
        rows.append({"when": _when(event.at, zone), "debtor": who,
                     "debtor_url": debtor_url(event.debtor_id) if who else None,
                     "phone": format_phone(event.phone, country), "channel": _(CONTACT_CHANNEL_ES.get(
                         event.channel, event.channel)),
                     "direction": _(CONTACT_DIRECTION_ES.get(event.direction, event.direction)),
                     "kind": _(kind_label(event)), "kind_code": event.kind, "loan": event.loan_external_id,
                     "text": event.text, "detail": detail_text(event.detail, language)})
    return render_template("contacts_log/index.html", errors={}, values=values, rows=rows, total=total,
                           page=filters.page, pages=pages, labels=_labels(), query=_query(values),
                           preview=TEXT_PREVIEW)


@bp.get("/mensajes.csv")
@role_required("lectura")
def export():
    """The filtered contact log as CSV for the office's spreadsheet (see the module docstring)."""
    services = _services()
    try:
        filters = read_filters(request.args)
    except FilterError as exc:
        return render_template("contacts_log/index.html", errors=exc.errors, values=exc.values, rows=[],
                               total=0, page=1, pages=0, labels=_labels(), query={}), 400
    delimiter, _decimal = spreadsheet_conventions(services.country)
    zone, country, ledger = _zone(), services.country, services.ledger
    language = select_locale()
    channels = {k: _(v) for k, v in CONTACT_CHANNEL_ES.items()}
    directions = {k: _(v) for k, v in CONTACT_DIRECTION_ES.items()}
    kinds = {k: _(v) for k, v in CONTACT_KIND_ES.items()}
    call_kinds = {k: _(v) for k, v in CALL_KIND_ES.items()}
    header = [_(c) for c in CSV_COLUMNS]
    events = _events(ledger, filters)
    debtor = _Debtors(ledger)

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        yield codecs.BOM_UTF8
        writer.writerow([neutralise(c) for c in header])
        for count, event in enumerate(events, 1):
            who = debtor(event.debtor_id)
            table = call_kinds if event.channel in ("call", "ring") else kinds
            writer.writerow([neutralise(cell) for cell in (
                _when(event.at, zone), who.document if who else "", who.name if who else "",
                format_phone(event.phone, country), channels.get(event.channel, event.channel),
                directions.get(event.direction, event.direction), table.get(event.kind, event.kind),
                event.loan_external_id, event.text, detail_text(event.detail, language), event.reference,
                event.contact_id)])
            if count % 500 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    stamp = services.now().astimezone(zone).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="mensajes-{stamp}.csv"'})
