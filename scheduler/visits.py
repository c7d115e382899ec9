"""The loan officers' visit list: debtors whose ladder reached a visit step and who were not visited yet.

The dispatcher records a visit step as a contact event ``kind="sent"``, ``channel="visit"`` (it never touches
the radio). Staff record the visit made as a ``note`` on the ``visit`` channel whose ``contact_id`` is the
visit's contact id + :data:`DONE_SUFFIX` and whose ``reference`` is one of :data:`RESULTS`; a visit with such a
note is done and leaves the list. A later visit step (a new contact id) puts the debtor back on it.

- :func:`pending_visits` (pure): the list from the contact events, the records and ``today``, one
  :class:`PendingVisit` per debtor;
- :func:`gather`: the same from a ledger (``contacts(since=, kinds=)``, ``debtor``, ``loans``, ``payments``,
  ``promises``, ``settings``) over the last :data:`WINDOW_DAYS` days — what the appliance keeps in memory;
- :func:`done_events`: the notes that mark a debtor's pending visits done;
- :func:`visit_list_csv`: the list as the office's CSV (UTF-8 with BOM, ``;``, formula-safe cells): the web
  page's download and the USB stick's ``visitas.csv`` are this one function.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from scheduler.csvcells import format_amount, neutralise
from scheduler.model import ContactEvent, Debtor, Loan, Payment, Promise, promise_status

DONE_SUFFIX = ":visita"
RESULTS = {"pago": "pagó", "promesa": "prometió pagar", "no_estaba": "no estaba", "otro": "otro"}
"""A visit's result (the note's ``reference``) and its Spanish words (in the note's ``detail``)."""
WINDOW_DAYS = 120
"""Visit steps older than this are not listed (the planner reads the same history; the appliance keeps it in
memory)."""
RECENT_CONTACTS = 3
RECENT_PROMISES = 3
CSV_COLUMNS = ("Fecha", "Asesor", "Deudor", "Documento", "Teléfono", "Crédito", "Detalle",
               "Zona", "Teléfonos", "Días de atraso", "Saldo vencido", "Saldo total")
"""The USB stick's first seven columns as they always were, then what the officer needs on the road."""
NOTE_LIMIT = 500


@dataclass(frozen=True)
class PendingVisit:
    """One debtor to visit: ``visits`` their pending visit steps (oldest first; ``visit`` the newest),
    ``recent`` their last contact events before it (newest first), ``promises`` their last promises with
    status (``pending``/``kept``/``broken``), money owed on ``today``."""

    debtor_id: str
    debtor: Debtor | None
    visits: tuple[ContactEvent, ...]
    loans: tuple[str, ...]
    days_late: int
    overdue: Decimal
    balance: Decimal
    currency: str
    recent: tuple[ContactEvent, ...]
    promises: tuple[tuple[Promise, str], ...]

    @property
    def visit(self) -> ContactEvent:
        return self.visits[-1]

    @property
    def name(self) -> str:
        return self.debtor.name if self.debtor else self.debtor_id

    @property
    def officer(self) -> str:
        return self.debtor.loan_officer if self.debtor else ""

    @property
    def zone(self) -> str:
        """The debtor's group (the solidarity group or communal bank: where the officer finds them)."""
        return self.debtor.group if self.debtor else ""


def is_visit(event: ContactEvent) -> bool:
    return event.kind == "sent" and event.channel == "visit"


def is_done_note(event: ContactEvent) -> bool:
    return event.kind == "note" and event.channel == "visit" and event.contact_id.endswith(DONE_SUFFIX)


def pending_visits(events: Iterable[ContactEvent], *, debtor: Callable[[str], Debtor | None],
                   loans: Callable[[str], Iterable[Loan]], payments: Callable[[str], Iterable[Payment]],
                   promises: Callable[[str], Iterable[Promise]], today: date,
                   grace_days: int = 0) -> list[PendingVisit]:
    """The debtors to visit from ``events`` (oldest first), the most days late first (then by name).

    A visit step (:func:`is_visit`) is pending while no done note (:func:`is_done_note`) names its contact id;
    visits with no debtor id are ignored. The other arguments look records up by debtor id."""
    events = list(events)
    done = {e.contact_id[: -len(DONE_SUFFIX)] for e in events if is_done_note(e)}
    pending: dict[str, dict[str, ContactEvent]] = {}
    for event in events:
        if is_visit(event) and event.debtor_id and (event.contact_id or event.id) not in done:
            pending.setdefault(event.debtor_id, {}).setdefault(event.contact_id or event.id, event)
    if not pending:
        return []
    history: dict[str, list[ContactEvent]] = {}
    for event in events:
        if event.debtor_id in pending and event.kind not in ("planned", "sending", "retry", "skipped") \
                and not is_visit(event):
            history.setdefault(event.debtor_id, []).append(event)
    found = []
    for debtor_id, visits_by_id in pending.items():
        visits = tuple(sorted(visits_by_id.values(), key=lambda e: e.at))
        their_loans = [loan for loan in loans(debtor_id) if loan.status == "active"] or list(loans(debtor_id))
        their_payments = tuple(payments(debtor_id))
        kept = sorted(promises(debtor_id), key=lambda p: p.made_at, reverse=True)[:RECENT_PROMISES]
        found.append(PendingVisit(
            debtor_id, debtor(debtor_id), visits,
            tuple(dict.fromkeys(v.loan_external_id for v in visits if v.loan_external_id)),
            max((loan.days_late(today) for loan in their_loans), default=0),
            sum((loan.overdue(today) for loan in their_loans), Decimal(0)),
            sum((loan.outstanding for loan in their_loans), Decimal(0)),
            their_loans[0].currency if their_loans else "",
            tuple(reversed(history.get(debtor_id, [])[-RECENT_CONTACTS:])),
            tuple((p, promise_status(p, their_payments, today, grace_days=grace_days)) for p in kept)))
    found.sort(key=lambda v: (-v.days_late, v.name.casefold(), v.debtor_id))
    return found


def gather(ledger, now: datetime, zone: ZoneInfo) -> list[PendingVisit]:
    """:func:`pending_visits` over ``ledger``'s contact log since :data:`WINDOW_DAYS` days before ``now``,
    ``today`` in ``zone``."""
    events = ledger.contacts(since=now - timedelta(days=WINDOW_DAYS))
    grace = ledger.settings.get("promise_grace_days") if hasattr(ledger, "settings") else 0
    try:
        grace = int(grace or 0)
    except (TypeError, ValueError):
        grace = 0
    return pending_visits(events, debtor=ledger.debtor, loans=ledger.loans,
                          payments=lambda d: ledger.payments(debtor_id=d), promises=ledger.promises,
                          today=now.astimezone(zone).date(), grace_days=grace)


def done_events(item: PendingVisit, result: str, note: str, by: str, now: datetime) -> list[ContactEvent]:
    """The notes that mark ``item``'s pending visits done with ``result`` (a :data:`RESULTS` key), ``note``
    (staff's words, at most :data:`NOTE_LIMIT` characters) and ``by`` (who recorded it). Raises
    ``ValueError`` for an unknown result."""
    if result not in RESULTS:
        raise ValueError(f"unknown visit result {result!r}; known: {sorted(RESULTS)}")
    detail = f"visita hecha ({by}): {RESULTS[result]}" if by else f"visita hecha: {RESULTS[result]}"
    return [ContactEvent(now, item.debtor_id, "note", channel="visit", direction="internal",
                         contact_id=(visit.contact_id or visit.id) + DONE_SUFFIX,
                         loan_external_id=visit.loan_external_id, text=note[:NOTE_LIMIT], detail=detail,
                         reference=result)
            for visit in item.visits]


def visit_list_csv(visits: Iterable[PendingVisit], zone: ZoneInfo, *, decimal_mark: str = ",",
                   header: Mapping[str, str] | None = None, phone: Callable[[str], str] = str) -> bytes:
    """The visit list as CSV bytes: UTF-8 with BOM (so a spreadsheet reads the accents), ``;`` between
    cells, ``\\r\\n`` lines, every cell formula-safe; :data:`CSV_COLUMNS` (``header`` maps them to another
    language). Amounts without thousands separators with ``decimal_mark``; ``phone`` formats a number."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise((header or {}).get(c, c)) for c in CSV_COLUMNS])
    for item in visits:
        debtor = item.debtor
        phones = [phone(p.number) for p in debtor.phones] if debtor else []
        visit = item.visit
        writer.writerow([neutralise(cell) for cell in (
            f"{visit.at.astimezone(zone):%d/%m/%Y}", item.officer, item.name, debtor.document if debtor else "",
            phones[0] if phones else "", " ".join(item.loans), visit.text or visit.detail,
            item.zone, " / ".join(phones), item.days_late, format_amount(item.overdue, decimal_mark),
            format_amount(item.balance, decimal_mark))])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
