"""CSV export of loans, payments and the contact log, for the office's spreadsheet.

``export_csv(ledger, what, out, country=...)`` writes UTF-8 with BOM (so
Excel detects the encoding), the country's list separator and decimal mark
(``;`` and ``,`` where the decimal mark is a comma, else ``,`` and ``.``),
dates as ``dd/mm/yyyy``, and every text cell neutralised against formula
injection (:func:`.cells.neutralise`). Returns the number of data rows.

The loans export is one row per instalment with the importer's column
names, so it can be edited and imported again (it round-trips).

The contacts export speaks the office's language: kind, channel and
direction in Spanish ("entregado", "llamada", "entrante") and times in the
cooperative's time zone as ``dd/mm/yyyy HH:MM``. ``iso=True`` keeps the
machine-readable values instead: the English codes of the contact log
(``delivered``, ``call``, ``inbound``) and ISO 8601 times in UTC
(``2026-11-23T12:00:00Z``).
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime, timezone as _utc_zone
from functools import partial
from typing import BinaryIO, Callable, Iterator
from zoneinfo import ZoneInfo

import phonenumbers

from firmware_py.importer.cells import format_amount, format_date, neutralise, spreadsheet_conventions

LOAN_STATUS_ES = {"active": "activo", "paid": "pagado", "written_off": "castigado", "cancelled": "anulado"}
PAYMENT_STATUS_ES = {"confirmed": "confirmado", "pending": "pendiente", "rejected": "rechazado"}
PAYMENT_SOURCE_ES = {"import": "archivo", "web": "oficina", "sms": "SMS"}

LOAN_COLUMNS = ("Crédito", "Cuota", "Fecha de vencimiento", "Valor", "Pagado", "Pendiente", "Nombre", "Documento",
                "Teléfono", "Teléfono 2", "Producto", "Moneda", "Estado", "Asesor", "Grupo")
PAYMENT_COLUMNS = ("Pago", "Crédito", "Documento", "Nombre", "Fecha", "Valor", "Origen", "Estado", "Conciliado",
                   "Referencia", "Nota", "Registrado")
CONTACT_COLUMNS = ("Fecha y hora", "Documento", "Nombre", "Teléfono", "Canal", "Dirección", "Tipo", "Crédito",
                   "Texto", "Detalle", "Referencia", "Contacto")
CONTACT_COLUMNS_ISO = ("Fecha y hora (UTC)",) + CONTACT_COLUMNS[1:]

CONTACT_CHANNEL_ES = {"sms": "SMS", "call": "llamada"}
CONTACT_DIRECTION_ES = {"outbound": "saliente", "inbound": "entrante", "internal": "interna"}
CONTACT_KIND_ES = {"planned": "programado", "sending": "enviando", "retry": "por reintentar", "sent": "enviado",
                   "delivered": "entregado", "failed": "fallido", "uncertain": "incierto",
                   "expired": "sin confirmación de entrega", "reply": "respuesta", "skipped": "omitido",
                   "note": "nota"}
# a call is "llamada" (feminine), and a delivered call is one that was answered
CALL_KIND_ES = {**CONTACT_KIND_ES, "planned": "programada", "sending": "llamando", "sent": "realizada",
                "delivered": "contestada", "failed": "fallida", "uncertain": "incierta",
                "expired": "sin respuesta", "skipped": "omitida"}


def format_phone(number: str, country: str) -> str:
    """A phone as the office writes it: national format for the country's numbers (``300 1234567``: a
    spreadsheet keeps it as text and does not turn it into 3,00E+09), international otherwise."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if phonenumbers.region_code_for_number(parsed) == country.upper():
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _loan_rows(ledger, money, country) -> Iterator[list]:
    debtors = {d.id: d for d in ledger.debtors()}
    for loan in ledger.loans():
        debtor = debtors.get(loan.debtor_id)
        phones = [format_phone(p.number, country) for p in debtor.phones] if debtor else []
        first, rest = (phones[0] if phones else ""), " / ".join(phones[1:])
        for inst in loan.instalments:
            yield [loan.external_id, inst.number, format_date(inst.due_date), money(inst.amount),
                   money(inst.paid_amount), money(inst.outstanding), debtor.name if debtor else "",
                   debtor.document if debtor else "", first, rest, loan.product, loan.currency,
                   LOAN_STATUS_ES.get(loan.status, loan.status), debtor.loan_officer if debtor else "",
                   debtor.group if debtor else ""]


def _payment_rows(ledger, money, country) -> Iterator[list]:
    debtors = {d.id: d for d in ledger.debtors()}
    for pay in ledger.payments():
        debtor = debtors.get(pay.debtor_id)
        yield [pay.id, pay.loan_external_id, debtor.document if debtor else "", debtor.name if debtor else "",
               format_date(pay.date), money(pay.amount), PAYMENT_SOURCE_ES.get(pay.source, pay.source),
               PAYMENT_STATUS_ES.get(pay.status, pay.status), "sí" if pay.reconciled else "no", pay.reference,
               pay.note, format_date(pay.recorded_at)]


def iso_utc(at: datetime) -> str:
    """``2026-11-23T12:00:00Z``: an aware instant in UTC, ISO 8601, to the second."""
    return at.astimezone(_utc_zone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contact_rows(ledger, money, country, *, zone: str = "America/Bogota", iso: bool = False) -> Iterator[list]:
    debtors = {d.id: d for d in ledger.debtors()}
    tz = ZoneInfo(zone)
    for event in ledger.iter_contacts():
        debtor = debtors.get(event.debtor_id)
        if iso:
            when, channel, direction, kind = iso_utc(event.at), event.channel, event.direction, event.kind
        else:
            when = event.at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
            channel = CONTACT_CHANNEL_ES.get(event.channel, event.channel)
            direction = CONTACT_DIRECTION_ES.get(event.direction, event.direction)
            kinds = CALL_KIND_ES if event.channel == "call" else CONTACT_KIND_ES
            kind = kinds.get(event.kind, event.kind)
        yield [when, debtor.document if debtor else "", debtor.name if debtor else "",
               format_phone(event.phone, country) if event.phone else "", channel, direction, kind,
               event.loan_external_id, event.text, event.detail, event.reference, event.contact_id]


EXPORTS: dict[str, tuple[tuple[str, ...], Callable]] = {
    "loans": (LOAN_COLUMNS, _loan_rows),
    "payments": (PAYMENT_COLUMNS, _payment_rows),
    "contacts": (CONTACT_COLUMNS, _contact_rows),
}


def export_csv(ledger, what: str, out: BinaryIO, *, country: str = "CO", timezone: str = "America/Bogota",
               iso: bool = False) -> int:
    """Write the ``what`` table (``"loans"``, ``"payments"``, ``"contacts"``) to the binary stream ``out``.

    ``timezone``: the cooperative's (IANA name), for the contacts' times;
    ``iso``: contacts with English codes and ISO 8601 UTC times (module
    docstring). Raises ``KeyError`` for an unknown table; ``OSError`` from
    ``out`` propagates.
    """
    columns, rows = EXPORTS[what]
    if what == "contacts":
        columns = CONTACT_COLUMNS_ISO if iso else CONTACT_COLUMNS
        rows = partial(_contact_rows, zone=timezone, iso=iso)
    delimiter, decimal_mark = spreadsheet_conventions(country)

    def money(value) -> str:
        return format_amount(value, decimal_mark)

    out.write(codecs.BOM_UTF8)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows(ledger, money, country):
        writer.writerow([neutralise(cell) for cell in row])
        count += 1
    text.flush()
    text.detach()
    return count
