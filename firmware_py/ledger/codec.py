"""Model records <-> JSON documents.

``encode(record) -> dict`` turns a ``scheduler.model`` record into a JSON-ready
document (money as a string, dates and instants as ISO 8601, sets as sorted
lists) that always carries ``schema_version``. ``decode(kind, doc) -> record``
first migrates the document to the current schema (``migrations.migrate``),
then builds the dataclass. It raises :class:`CodecError` (a ValueError) when
a document cannot become a valid record.

Kinds: ``debtor``, ``loan``, ``payment``, ``promise``, ``contact``.
"""

from __future__ import annotations

import functools
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from firmware_py.ledger.migrations import MigrationError, migrate
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Promise, new_instalment


class CodecError(ValueError):
    """A stored document could not be turned into a model record."""


def _money(value: Decimal) -> str:
    return str(value)


def _date(value: date) -> str:
    return value.isoformat()


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@functools.lru_cache(maxsize=4096, typed=True)
def _parse_date(value: Any) -> date:
    # Cached: a portfolio's instalments share a few hundred due dates, and dates
    # are immutable, so decoded loans share one object per distinct date.
    return date.fromisoformat(value)


def _shared(value: Any) -> Any:
    """One object per distinct vocabulary string (time zone, officer, group, currency...):
    thousands of records repeat a handful of them."""
    return sys.intern(value) if type(value) is str else value


@functools.lru_cache(maxsize=64)
def _channel_set(channels: tuple) -> frozenset:
    return frozenset(channels)


@functools.lru_cache(maxsize=4096, typed=True)
def _parse_money(value: Any) -> Decimal:
    # Cached for the same reason: instalment amounts repeat (and "0" everywhere).
    # Decimal(str) keeps the exponent, so "100.00" and "100" stay distinct.
    return Decimal(value)


def _parse_instant(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def encode_phone(phone: Phone) -> dict:
    return {
        "number": phone.number,
        "personal": phone.personal,
        "channels": sorted(phone.channels),
        "opted_out": phone.opted_out,
    }


def encode_debtor(debtor: Debtor) -> dict:
    return {
        "id": debtor.id,
        "name": debtor.name,
        "document": debtor.document,
        "phones": [encode_phone(p) for p in debtor.phones],
        "language": debtor.language,
        "timezone": debtor.timezone,
        "jurisdiction": debtor.jurisdiction,
        "loan_officer": debtor.loan_officer,
        "group": debtor.group,
        "tags": list(debtor.tags),
        "schema_version": debtor.schema_version,
    }


def encode_loan(loan: Loan) -> dict:
    return {
        "external_id": loan.external_id,
        "debtor_id": loan.debtor_id,
        "product": loan.product,
        "currency": loan.currency,
        "instalments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "amount": str(i.amount),
                "paid_amount": str(i.paid_amount),
            }
            for i in loan.instalments
        ],
        "status": loan.status,
        "rescheduled": loan.rescheduled,
        "schema_version": loan.schema_version,
    }


def encode_payment(payment: Payment) -> dict:
    return {
        "id": payment.id,
        "loan_external_id": payment.loan_external_id,
        "debtor_id": payment.debtor_id,
        "amount": _money(payment.amount),
        "date": _date(payment.date),
        "source": payment.source,
        "status": payment.status,
        "reconciled": payment.reconciled,
        "reference": payment.reference,
        "note": payment.note,
        "recorded_at": _instant(payment.recorded_at),
        "schema_version": payment.schema_version,
    }


def encode_promise(promise: Promise) -> dict:
    return {
        "id": promise.id,
        "debtor_id": promise.debtor_id,
        "due_date": _date(promise.due_date),
        "amount": _money(promise.amount),
        "source": promise.source,
        "made_at": _instant(promise.made_at),
        "loan_external_id": promise.loan_external_id,
        "note": promise.note,
        "schema_version": promise.schema_version,
    }


def encode_contact(event: ContactEvent) -> dict:
    # debtor_id and at first: cheap to spot when reading a partition by eye
    return {
        "debtor_id": event.debtor_id,
        "at": _instant(event.at),
        "kind": event.kind,
        "channel": event.channel,
        "direction": event.direction,
        "phone": event.phone,
        "contact_id": event.contact_id,
        "loan_external_id": event.loan_external_id,
        "text": event.text,
        "detail": event.detail,
        "reference": event.reference,
        "id": event.id,
        "schema_version": event.schema_version,
    }


_ENCODERS = {
    Debtor: encode_debtor,
    Loan: encode_loan,
    Payment: encode_payment,
    Promise: encode_promise,
    ContactEvent: encode_contact,
}


def encode(record: Any) -> dict:
    """JSON document for a model record (raises TypeError for other objects)."""
    try:
        encoder = _ENCODERS[type(record)]
    except KeyError:
        raise TypeError(f"cannot encode {type(record).__name__}") from None
    return encoder(record)


def _decode_debtor(doc: dict) -> Debtor:
    return Debtor(
        id=sys.intern(doc["id"]),
        name=doc["name"],
        document=doc.get("document", ""),
        phones=tuple(
            Phone(
                number=sys.intern(p["number"]),
                personal=bool(p.get("personal", True)),
                channels=_channel_set(tuple(p.get("channels", ("sms",)))),
                opted_out=bool(p.get("opted_out", False)),
            )
            for p in doc.get("phones", ())
        ),
        language=_shared(doc.get("language", "es")),
        timezone=_shared(doc.get("timezone", "America/Bogota")),
        jurisdiction=_shared(doc.get("jurisdiction", "CO")),
        loan_officer=_shared(doc.get("loan_officer", "")),
        group=_shared(doc.get("group", "")),
        tags=tuple(_shared(tag) for tag in doc.get("tags", ())),
        schema_version=doc["schema_version"],
    )


_ZERO = Decimal(0)


def _instalment(i: dict) -> Instalment:
    number, due = i["number"], _parse_date(i["due_date"])
    amount, paid = _parse_money(i["amount"]), _parse_money(i.get("paid_amount", "0"))
    if (type(number) is int and number >= 0 and amount.is_finite() and amount >= _ZERO
            and paid.is_finite() and paid >= _ZERO):
        return new_instalment(number, due, amount, paid)  # every check of Instalment holds
    return Instalment(number=number, due_date=due, amount=amount, paid_amount=paid)  # it says what is wrong


def _shared_instalment(i: dict, memo: dict) -> Instalment:
    """One Instalment object per distinct stored instalment (they are immutable): a portfolio's loans
    repeat the same (number, due date, amount, paid) many times over."""
    if type(i) is not dict:
        return _instalment(i)
    key = (number, due, amount, paid) = (i.get("number"), i.get("due_date"), i.get("amount"),
                                         i.get("paid_amount", "0"))
    if type(number) is not int or type(due) is not str or type(amount) is not str or type(paid) is not str:
        return _instalment(i)  # only the plain shape is shared (1 == 1.0 == True as dict keys)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _instalment(i)
    return found


def _decode_loan(doc: dict, memo: dict | None = None) -> Loan:
    items = doc.get("instalments", ())
    return Loan(
        external_id=sys.intern(doc["external_id"]),
        debtor_id=sys.intern(doc["debtor_id"]),
        product=_shared(doc.get("product", "")),
        currency=_shared(doc.get("currency", "COP")),
        instalments=tuple(_instalment(i) for i in items) if memo is None else
        tuple(_shared_instalment(i, memo) for i in items),
        status=_shared(doc.get("status", "active")),
        rescheduled=bool(doc.get("rescheduled", False)),
        schema_version=doc["schema_version"],
    )


def _decode_payment(doc: dict) -> Payment:
    return Payment(
        id=doc["id"],
        loan_external_id=doc["loan_external_id"],
        debtor_id=doc["debtor_id"],
        amount=Decimal(doc["amount"]),
        date=_parse_date(doc["date"]),
        source=doc["source"],
        status=doc.get("status", "confirmed"),
        reconciled=bool(doc.get("reconciled", False)),
        reference=doc.get("reference", ""),
        note=doc.get("note", ""),
        recorded_at=_parse_instant(doc.get("recorded_at")),
        schema_version=doc["schema_version"],
    )


def _decode_promise(doc: dict) -> Promise:
    return Promise(
        id=doc["id"],
        debtor_id=doc["debtor_id"],
        due_date=_parse_date(doc["due_date"]),
        amount=Decimal(doc["amount"]),
        source=doc["source"],
        made_at=_parse_instant(doc["made_at"]),
        loan_external_id=doc.get("loan_external_id", ""),
        note=doc.get("note", ""),
        schema_version=doc["schema_version"],
    )


def _decode_contact(doc: dict) -> ContactEvent:
    return ContactEvent(
        at=_parse_instant(doc["at"]),
        debtor_id=doc["debtor_id"],
        kind=doc["kind"],
        channel=doc.get("channel", "sms"),
        direction=doc.get("direction", "outbound"),
        phone=doc.get("phone", ""),
        contact_id=doc.get("contact_id", ""),
        loan_external_id=doc.get("loan_external_id", ""),
        text=doc.get("text", ""),
        detail=doc.get("detail", ""),
        reference=doc.get("reference", ""),
        id=doc.get("id", ""),
        schema_version=doc["schema_version"],
    )


_DECODERS = {
    "debtor": _decode_debtor,
    "loan": _decode_loan,
    "payment": _decode_payment,
    "promise": _decode_promise,
    "contact": _decode_contact,
}

KINDS = tuple(_DECODERS)


def decode(kind: str, doc: Any, *, memo: dict | None = None) -> Any:
    """Model record of ``kind`` from a stored document (migrated first).

    ``memo`` (optional, a dict the caller keeps while it decodes many records,
    e.g. a whole snapshot): equal immutable parts (a loan's instalments) are
    decoded once and shared between records.

    Raises CodecError if the document is not a dict, misses a required field
    or holds an invalid value; MigrationError (also a ValueError) if its
    schema_version cannot be migrated.
    """
    if not isinstance(doc, dict):
        raise CodecError(f"{kind}: expected an object, got {type(doc).__name__}")
    try:
        if memo is not None and kind == "loan":
            return _decode_loan(migrate(kind, doc), memo)
        return _DECODERS[kind](migrate(kind, doc))
    except (CodecError, MigrationError):
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:  # decimal.InvalidOperation
        raise CodecError(f"{kind}: invalid document ({type(exc).__name__}: {exc})") from exc
