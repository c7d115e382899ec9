"""The dashboard ``/`` (Inicio): the box's state at a glance, and the few actions that keep it sending.

Everyone who can log in sees (``lectura``):

- the modem and SIM: state with its Spanish detail, signal as 0–4 bars (:func:`signal_bars`), operator,
  a full SIM message store, model profile and port, the simulated modem marked as such, and the prepaid
  balance last asked;
- the clock: trusted or not and why (``services.policy().clock``, a :class:`scheduler.clock.ClockTrust`),
  with the box's own time to compare with a phone;
- sending running or paused (the ledger setting ``sending_paused``);
- today's numbers in the cooperative's zone (:func:`today_numbers`, and :class:`PlannedToday`: the
  planner's count, made in the background — it reads four months of history — and shown with its time);
- replies waiting for a person (:func:`webui.inbox.count_waiting`), with a link to the inbox;
- contacts in doubt (:func:`in_doubt`: the modem could not say whether the SMS left), waiting for staff;
- the SIM's health (``services.sim_health()``, the record ``firmware_py.sim_health`` keeps in the ledger
  setting ``sim_health``; :func:`sim_health_view`): the balance last asked and how long ago, a low balance
  (warning: recharge) and a SIM that stopped sending with its likely cause and what to do.

Today's numbers, the replies waiting and the contacts in doubt are kept until the ledger changes
(:func:`recent_figures`: keyed by the ledger's journal sequence and contact count, the day and the window's
start), so a page load that finds nothing new reads no history.

The page header (every page) shows :meth:`webui.services.Services.cooperative_name` — the name edited in
Settings wins over the configuration's — through the ``cooperative`` template variable (``webui.create_app``).

Pages look back to :func:`recent_since` (the first day of last month, UTC): the ledger keeps the two newest
months of the contact log in memory, so these reads never touch the card; older history costs seconds on a
Raspberry Pi for every page load.

Actions (``operador`` and above; each a POST form with its CSRF token):

- ``POST /reloj/confirmar``: staff compared the time shown with their phone (``services.confirm_clock()``);
  refused (409) when the time they saw is older than :data:`CONFIRM_FRESH`;
- ``POST /envios/pausar`` and ``POST /envios/reanudar``: ``sending_paused`` on/off (resuming wakes the
  dispatcher);
- ``POST /saldo``: ask the prepaid balance now (``services.check_balance()``); the answer is kept in memory;
- ``POST /envios/dudoso/<event id>``: staff's decision on a contact in doubt, written as a ``note`` with
  ``contact_id`` = the contact's id + :data:`DECISION_SUFFIX` (``reference`` ``salio``/``no_salio``). A
  decision never sends anything: if the SMS did not go out, the ladder's next step will come.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date as format_babel_date
from babel.dates import format_datetime
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webui.access import current_user, role_required
from webui.dashboard_forms import ClockForm, DecisionForm

log = logging.getLogger("cobrador.webui.dashboard")

ORDER = 10
bp = Blueprint("dashboard", __name__)
NAV = [("dashboard.index", "Inicio", "lectura")]

CONFIRM_FRESH = timedelta(minutes=15)
"""A clock confirmation is refused when the time the person compared is older than this."""
PLAN_TTL = 600.0
"""Seconds a count of today's plan is shown before a new one is made (in the background). The count reads
four months of history under the ledger's lock (seconds with a large history), so it is not made often."""
DECISION_SUFFIX = ":decision"
OUTCOMES = {"salio": "salió: el deudor lo recibió", "no_salio": "no salió"}

STATE_LABELS = {
    "starting": "Conectando",
    "connected": "Conectado",
    "disconnected": "Sin conexión",
    "needs-attention": "Necesita atención",
    "stopped": "Detenido",
}
CLOCK_TEXTS = {
    "network": "Hora confirmada por la red móvil.",
    "system": "Reloj sincronizado.",
    "staff": "Hora confirmada por el personal.",
    "given": "Hora indicada explícitamente.",
    "before_release": "El reloj marca una fecha anterior a esta versión de Cobrador: la hora está mal.",
    "skew": "El reloj no coincide con la hora de la red móvil.",
    "no_source": "Ninguna fuente confirmó la hora (sin red móvil ni sincronización).",
}
CONFIRMABLE = frozenset({"no_source", "staff"})
"""Clock problems a person can fix by confirming the time (a wrong date or a disagreeing network cannot)."""
SIM_CAUSES = {"sin saldo": "sin saldo", "bloqueada": "la línea está suspendida o bloqueada para SMS",
              "sin red": "sin señal de la red móvil"}
"""The likely causes of a SIM that stopped sending (``firmware_py.sim_health``) as the page says them."""
SIM_ADVICE = {"sin saldo": "Recargue la SIM; los envíos siguen solos cuando tenga saldo.",
              "bloqueada": "Revise la SIM y llame al operador para que reactive la línea.",
              "sin red": "Revise la antena y la cobertura, o mueva el equipo a un lugar con más señal."}
SIM_ADVICE_OTHER = "Revise la SIM y el módem; si sigue igual, avise al soporte técnico."



def services():
    return current_app.extensions["cobrador"]


# -- what the page shows --------------------------------------------------------------------------------------------
def zone() -> ZoneInfo:
    """The cooperative's time zone (``services.timezone``; Bogotá when it is not a known zone)."""
    try:
        return ZoneInfo(getattr(services(), "timezone", "") or "America/Bogota")
    except (ValueError, KeyError):
        return ZoneInfo("America/Bogota")


def format_when(moment: datetime | None, language: str = "es") -> str:
    """``26/11/2026 10:00`` in the cooperative's zone (``Nov 26, 2026 10:00`` in English); "" for None."""
    if moment is None:
        return ""
    local = moment.astimezone(zone())
    if language == "en":
        return format_datetime(local, "MMM d, y HH:mm", locale="en")
    return f"{local:%d/%m/%Y %H:%M}"


def format_date(day: date, language: str = "es") -> str:
    """``01/10/2026`` (``Oct 1, 2026`` in English)."""
    if language == "en":
        return format_babel_date(day, "MMM d, y", locale="en")
    return f"{day:%d/%m/%Y}"


def ago(moment: datetime, now: datetime) -> str:
    """How long ago ``moment`` was, in the page's language: «hace un momento», «hace 5 min», «hace 2 h»,
    «hace 3 días»."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return _("hace un momento")
    if seconds < 3600:
        return _("hace %(n)d min", n=seconds // 60)
    if seconds < 2 * 86400:
        return _("hace %(n)d h", n=seconds // 3600)
    return _("hace %(n)d días", n=seconds // 86400)


def _instant(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


def sim_health_view(record, now: datetime, country: str, language: str = "es") -> dict | None:
    """What the page shows of the SIM's health record (see ``firmware_py.sim_health``), texts in the page's
    language; None when there is no record. ``balance``: the amount the country's way (``$ 3.200``), or None when
    the operator's answer was not understood (``raw``: that answer); ``ago``/``at``: when it was asked; ``error``:
    why the last question failed; ``low`` (with ``threshold``); ``stopped`` with ``cause`` and ``advice``."""
    from scheduler.templates import format_money

    if not isinstance(record, dict) or not record:
        return None
    balance = record.get("balance") if isinstance(record.get("balance"), dict) else {}
    sending = record.get("sending") if isinstance(record.get("sending"), dict) else {}

    def money(amount, currency) -> str | None:
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            return None
        if not value.is_finite():
            return None
        text = format_money(value, currency or "$", country or "CO")
        return text if currency else text.split(" ", 1)[-1]  # no currency named: the number alone

    asked = _instant(balance.get("at"))
    stopped = sending.get("state") == "stopped"
    cause = sending.get("cause") or ""
    return {
        "balance": money(balance.get("amount"), balance.get("currency")) if balance.get("amount") is not None
        else None,
        "raw": str(balance.get("raw") or "")[:300],
        "ago": ago(asked, now) if asked else "", "at": format_when(asked, language) if asked else "",
        "error": str(balance.get("error") or "")[:300],
        "low": bool(record.get("low_balance")),
        "threshold": money(record.get("threshold"), balance.get("currency")) if record.get("threshold") else None,
        "stopped": stopped,
        "cause": _(SIM_CAUSES[cause]) if cause in SIM_CAUSES else (cause or _("desconocida")),
        "advice": _(SIM_ADVICE.get(cause, SIM_ADVICE_OTHER)),
        "last_error": str(sending.get("last_error") or "")[:300] if stopped else "",
    }


def read_sim_health(svc) -> dict | None:
    """``services.sim_health()``, or None when there is none or it cannot be read (logged)."""
    if svc.sim_health is None:
        return None
    try:
        record = svc.sim_health()
    except Exception:  # a closed or failing ledger must not take the home page with it
        log.exception("the SIM's health could not be read")
        return None
    return record if isinstance(record, dict) else None


def signal_bars(dbm: int | None) -> int | None:
    """Signal strength as 0–4 bars: −73 dBm or more 4, −83 3, −93 2, −105 1, weaker 0; None when unknown."""
    if dbm is None:
        return None
    for bars, floor in ((4, -73), (3, -83), (2, -93), (1, -105)):
        if dbm >= floor:
            return bars
    return 0


def today_numbers(ledger, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Counts since midnight in ``tz`` from the contact log: ``sent``, ``delivered``, ``failed``,
    ``uncertain``, ``expired`` (outbound messages; visits excluded; each contact counted once per kind) and
    ``replies`` (inbound SMS, once each even when the number is shared by several debtors)."""
    start = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    kinds = ("sent", "delivered", "failed", "uncertain", "expired")
    seen: dict[str, set] = {k: set() for k in kinds + ("replies",)}
    for event in ledger.contacts(since=start, kinds=kinds + ("reply",)):
        if event.kind == "reply":
            if event.direction == "inbound":
                seen["replies"].add(event.contact_id or event.id)
        elif event.direction == "outbound" and event.channel != "visit":
            seen[event.kind].add(event.contact_id or event.id)
    return {kind: len(ids) for kind, ids in seen.items()}


def recent_since(now: datetime) -> datetime:
    """The first instant of last month (UTC): how far back the dashboard and the inbox read the contact log
    (see the module docstring)."""
    first = now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - timedelta(days=1)).replace(day=1)


def count_planned(ledger, policy, now: datetime, tz: ZoneInfo, planner=None) -> int:
    """The planner's ``send`` decisions now plus its ``wait`` decisions due later today (in ``tz``), with the
    history the planner needs (:data:`scheduler.planner.HISTORY_DAYS`). ``planner``: a
    :class:`scheduler.planner.Planner` to plan with (the appliance's, which remembers its last plans), else
    :func:`scheduler.planner.plan`."""
    from scheduler.planner import HISTORY_DAYS, SEND, WAIT, plan

    today = now.astimezone(tz).date()
    snapshot = ledger.snapshot(contacts_since=now - timedelta(days=HISTORY_DAYS))
    return sum(1 for d in (planner.plan if planner is not None else plan)(snapshot, policy, now)
               if d.action == SEND or (d.action == WAIT and d.at.astimezone(tz).date() == today))


class PlannedToday:
    """Today's planned count (:func:`count_planned`) made in a background thread: reading the history and
    planning every loan takes seconds on a Raspberry Pi, and the page must not wait for it.

    :meth:`get` returns the last count made for the same day, pause and clock state — ``(count, made at)`` —
    or ``(None, None)``, and starts a new count when that one is older than :data:`PLAN_TTL` (one at a time).
    ``failed`` is True when the last count raised (logged). :meth:`join` waits for a count in progress.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._value = None          # (key, monotonic when made, count, instant when made)
        self._thread: threading.Thread | None = None
        self.failed = False

    def get(self, ledger, policy, now: datetime, tz: ZoneInfo, planner=None) -> tuple[int | None, datetime | None]:
        key = (now.astimezone(tz).date(), policy.paused, policy.clock.trusted)
        with self._lock:
            value = self._value
            current = value is not None and value[0] == key
            if not (current and time.monotonic() - value[1] < PLAN_TTL) and not self.running:
                self._thread = threading.Thread(target=self._count, args=(ledger, policy, now, tz, key, planner),
                                                name="cobrador-web-plan", daemon=True)
                self._thread.start()
        return (value[2], value[3]) if current else (None, None)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _count(self, ledger, policy, now, tz, key, planner) -> None:
        try:
            count = count_planned(ledger, policy, now, tz, planner)
        except Exception:  # a planner failure must not take the home page with it
            if getattr(ledger, "closed", False):
                return  # the appliance is stopping (or a test ended) while counting: nothing went wrong
            log.exception("today's plan could not be counted")
            self.failed = True
            return
        with self._lock:
            self._value = (key, time.monotonic(), count, now)
            self.failed = False


def planned_counter() -> PlannedToday:
    """This application's :class:`PlannedToday`."""
    return current_app.extensions.setdefault("cobrador.dashboard.planned", PlannedToday())


@dataclass(frozen=True)
class InDoubt:
    """A contact whose last event is ``uncertain`` and that no one decided on yet."""

    event_id: str
    contact_id: str
    debtor_id: str
    debtor_name: str
    phone: str
    at: datetime
    text: str
    detail: str


def in_doubt(ledger, now: datetime) -> list[InDoubt]:
    """Contacts since :func:`recent_since` whose outcome (:func:`scheduler.contact_state.outcomes`) is
    ``uncertain`` and without a staff decision note, newest first."""
    from scheduler.contact_state import OUTBOUND_KINDS, outcomes

    events = ledger.contacts(since=recent_since(now), kinds=OUTBOUND_KINDS | {"note"})
    decided = {e.contact_id[: -len(DECISION_SUFFIX)] for e in events
               if e.kind == "note" and e.contact_id.endswith(DECISION_SUFFIX)}
    candidates = {e.contact_id for e in events if e.kind == "uncertain"} - decided
    events = [e for e in events if e.contact_id in candidates]  # a later report may have settled them
    waiting = {cid for cid, o in outcomes(events).items() if o.last_kind == "uncertain"}
    last: dict[str, object] = {}
    text: dict[str, str] = {}
    for event in events:  # oldest first: the last uncertain event and the text sent are kept
        if event.contact_id not in waiting or event.direction != "outbound":
            continue
        if event.kind == "uncertain":
            last[event.contact_id] = event
        elif event.kind == "sending" and event.text:
            text[event.contact_id] = event.text
    names: dict[str, str] = {}
    items = []
    for cid, event in last.items():
        if event.debtor_id and event.debtor_id not in names:
            debtor = ledger.debtor(event.debtor_id)
            names[event.debtor_id] = debtor.name if debtor is not None else event.debtor_id
        items.append(InDoubt(event.id, cid, event.debtor_id, names.get(event.debtor_id, ""), event.phone,
                             event.at, text.get(cid, ""), event.detail))
    items.sort(key=lambda i: i.at, reverse=True)
    return items


@dataclass(frozen=True)
class RecentFigures:
    """What the page reads from the recent contact log: :func:`today_numbers`, :func:`in_doubt`,
    :func:`webui.inbox.count_waiting`."""

    numbers: dict
    doubts: tuple
    waiting: int


_FIGURES_LOCK = threading.Lock()


def figures_key(ledger, now: datetime, tz: ZoneInfo) -> tuple:
    """What the recent figures depend on: the ledger (its journal sequence moves with every record and
    setting, its contact count with every event of the append-only log), today in ``tz`` and the start of
    the window read (:func:`recent_since`)."""
    stats = ledger.stats()
    return (id(ledger), stats.get("seq"), stats.get("contacts"), now.astimezone(tz).date(), recent_since(now))


def recent_figures(ledger, now: datetime, tz: ZoneInfo) -> RecentFigures:
    """The page's figures from the contact log, made again only when :func:`figures_key` changes (reading a
    month and more of history for each page load cost the dashboard most of its time)."""
    from webui.inbox import count_waiting

    key = figures_key(ledger, now, tz)
    cached = current_app.extensions.get("cobrador.dashboard.figures")
    if cached is not None and cached[0] == key:
        return cached[1]
    with _FIGURES_LOCK:  # one computation at a time: concurrent loads after a change wait for the first
        cached = current_app.extensions.get("cobrador.dashboard.figures")
        if cached is not None and cached[0] == key:
            return cached[1]
        found = RecentFigures(today_numbers(ledger, now, tz), tuple(in_doubt(ledger, now)),
                              count_waiting(ledger, now))
        if figures_key(ledger, now, tz) == key:  # nothing was written while it was read
            current_app.extensions["cobrador.dashboard.figures"] = (key, found)
        return found


def _policy():
    """The live policy with the ledger's settings, or None when the appliance gives none (or it fails)."""
    svc = services()
    if svc.policy is None:
        return None
    try:
        return svc.policy().with_settings(svc.ledger.settings.all())
    except Exception:  # the page must still show the rest
        log.exception("the policy could not be read")
        return None


def _render(status: int = 200):
    from webui.i18n import select_locale

    svc = services()
    ledger = svc.ledger
    now = svc.now()
    tz = zone()
    language = select_locale()
    policy = _policy()
    modem = svc.modem_status() if svc.modem_status else None
    planned = planned_at = None
    counter = planned_counter()
    if policy is not None:
        planned, planned_at = counter.get(ledger, policy, now, tz, svc.extra.get("planner"))
    balance = current_app.extensions.get("cobrador.balance")
    clock = policy.clock if policy is not None else None
    recent = recent_figures(ledger, now, tz)
    return render_template(
        "dashboard/index.html",
        modem=modem, state_label=STATE_LABELS.get(getattr(modem, "state", ""), ""),
        bars=signal_bars(getattr(modem, "signal_dbm", None)),
        balance_text=balance[0] if balance else None, balance_at=format_when(balance[1], language) if balance else "",
        sim=sim_health_view(read_sim_health(svc), now, svc.country, language),
        can_check_balance=svc.check_balance is not None,
        clock=clock, clock_text=CLOCK_TEXTS.get(clock.source, "") if clock else "",
        clock_confirmable=clock is not None and clock.source in CONFIRMABLE and svc.confirm_clock is not None,
        box_time=format_when(now, language), box_epoch=int(now.timestamp()), clock_form=ClockForm(),
        paused=bool(ledger.settings.get("sending_paused")),
        numbers=recent.numbers, planned=planned,
        planned_at=format_when(planned_at, language) if planned_at else "",
        planned_state="none" if policy is None else ("failed" if counter.failed and planned is None else
                                                     ("counting" if planned is None else "ok")),
        waiting=recent.waiting,
        doubts=[(d, format_when(d.at, language)) for d in recent.doubts], decision_form=DecisionForm(),
        stats=ledger.stats(),
    ), status


@bp.get("/")
@role_required("lectura")
def index():
    """The dashboard (see the module docstring)."""
    return _render()


def _refuse(message: str, status: int):
    flash(message, "error")
    return _render(status)


@bp.post("/reloj/confirmar")
@role_required("operador")
def confirm_clock():
    """Staff confirm the box's time; the form carries the time they were shown (``shown``, epoch seconds)."""
    svc = services()
    form = ClockForm()
    if svc.confirm_clock is None:
        return _refuse(_("Este equipo no permite confirmar la hora desde la página."), 409)
    if not form.validate():
        return _refuse(" ".join(map(str, form.shown.errors))
                       or _("Vuelva a cargar la página e inténtelo de nuevo."), 400)
    now = svc.now()
    if abs(now.timestamp() - form.shown.data) > CONFIRM_FRESH.total_seconds():
        return _refuse(_("La hora que usted comparó es de hace más de %(minutes)d minutos. Mire de nuevo la hora "
                         "que muestra esta página, compárela con su teléfono y confirme otra vez.",
                         minutes=int(CONFIRM_FRESH.total_seconds() // 60)), 409)
    svc.confirm_clock()
    log.info("clock confirmed by %s", current_user().name)
    policy = _policy()
    if policy is not None and not policy.clock.trusted:
        flash(_("Se anotó su confirmación, pero la hora sigue sin ser confiable: %(why)s",
                why=_(CLOCK_TEXTS.get(policy.clock.source, "")) or policy.clock.detail), "warn")
    else:
        flash(_("Hora confirmada. Los envíos pueden seguir."), "ok")
    return redirect(url_for("dashboard.index"))


def _set_paused(paused: bool):
    svc = services()
    try:
        svc.ledger.settings.set("sending_paused", paused)
    except OSError as exc:  # the ledger's write error: a Spanish sentence saying what to do
        return _refuse(str(exc), 503)
    log.info("sending %s by %s", "paused" if paused else "resumed", current_user().name)
    if paused:
        flash(_("Envíos en pausa: no sale ningún mensaje hasta que pulse «Reanudar envíos»."), "ok")
    else:
        if svc.wake is not None:
            svc.wake()
        flash(_("Envíos reanudados: los mensajes pendientes salen dentro del horario permitido."), "ok")
    return redirect(url_for("dashboard.index"))


@bp.post("/envios/pausar")
@role_required("operador")
def pause():
    """Pause every send (the ledger setting ``sending_paused``)."""
    return _set_paused(True)


@bp.post("/envios/reanudar")
@role_required("operador")
def resume():
    """Resume sending and wake the dispatcher."""
    return _set_paused(False)


@bp.post("/saldo")
@role_required("operador")
def check_balance():
    """Ask the operator for the SIM's prepaid balance now; the answer (or why not) is shown on the page."""
    svc = services()
    if svc.check_balance is None:
        return _refuse(_("No hay un código de consulta de saldo configurado ([modem] balance_code, por ejemplo "
                         "\"*611#\"). Pida al soporte técnico que lo configure."), 409)
    try:
        answer = svc.check_balance()
    except Exception as exc:  # the modem or the network: the service's message is Spanish
        log.warning("balance check failed: %s", exc)
        message = str(exc) if isinstance(exc, (RuntimeError, OSError)) and str(exc) else \
            _("No se pudo consultar el saldo. Inténtelo de nuevo en unos minutos.")
        return _refuse(message, 503)
    current_app.extensions["cobrador.balance"] = (str(answer or "")[:500], svc.now())
    flash(_("Saldo consultado."), "ok")
    return redirect(url_for("dashboard.index"))


@bp.post("/envios/dudoso/<event_id>")
@role_required("operador")
def decide(event_id):
    """Record staff's decision on a contact in doubt (``outcome``: ``salio`` or ``no_salio``). Unknown
    event: 404; already decided: 409; nothing is ever re-sent."""
    from scheduler.model import ContactEvent

    svc = services()
    now = svc.now()
    item = next((d for d in in_doubt(svc.ledger, now) if d.event_id == event_id), None)
    if item is None:
        known = any(e.id == event_id for e in svc.ledger.contacts(since=recent_since(now), kinds=("uncertain",)))
        if not known:
            abort(404)
        return _refuse(_("Ese mensaje ya tiene una decisión."), 409)
    form = DecisionForm()
    if not form.validate():
        return _refuse(" ".join(map(str, form.outcome.errors)), 400)
    outcome = form.outcome.data
    note = ContactEvent(now, item.debtor_id, "note", channel="sms", direction="internal", phone=item.phone,
                        contact_id=item.contact_id + DECISION_SUFFIX, reference=outcome,
                        detail=f"decisión del personal ({current_user().name}): {OUTCOMES[outcome]}")
    try:
        svc.ledger.append_contact(note)
    except OSError as exc:
        return _refuse(str(exc), 503)
    if outcome == "salio":
        flash(_("Anotado: el mensaje salió."), "ok")
    else:
        flash(_("Anotado: el mensaje no salió. No se reenvía; el siguiente paso del plan llegará a su tiempo."),
              "ok")
    return redirect(url_for("dashboard.index"))
