"""Planning an import batch: which documents to write, and what it counts as.

``plan_import`` is a pure function of the current tables and the batch: it
returns the change set (one journal record) and the counts, or raises
``LedgerIntegrityError`` before anything is written. ``Ledger.import_batch``
holds the lock and commits the result.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

from firmware_py.errors import LedgerIntegrityError
from firmware_py.ledger import codec
from scheduler.model import SCHEMA_VERSION, Debtor, Loan, Payment

COUNT_KEYS = ("debtors_created", "debtors_updated", "debtors_unchanged", "loans_created", "loans_updated",
              "loans_unchanged", "payments_created", "payments_unchanged", "payments_reconciled")


def plan_import(tables: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]], debtors: list[Debtor],
                loans: list[Loan], payments: list[Payment], *, source: str, as_of: date | None,
                now: datetime) -> tuple[list[list], dict[str, int], str]:
    """(ops, counts, batch id) for upserting the batch into ``tables`` (see ``Ledger.import_batch``).

    ``tables`` are the stored documents, ``records`` the decoded records by
    table. Raises LedgerIntegrityError for unknown references or conflicting
    duplicates.
    """
    ops: list[list] = []
    counts = dict.fromkeys(COUNT_KEYS, 0)

    def upsert(table: str, noun: str, key: str, record: Any, seen: dict) -> None:
        doc = codec.encode(record)
        if key in seen:
            if seen[key] != doc:
                raise LedgerIntegrityError(
                    f"El archivo trae dos veces {noun} {key} con datos distintos; "
                    "corrija el archivo y vuelva a importarlo.")
            return
        seen[key] = doc
        old = tables.get(table, {}).get(key)
        prefix = table
        if old is None:
            counts[f"{prefix}_created"] += 1
        elif old == doc:
            counts[f"{prefix}_unchanged"] += 1
            return
        else:
            if table == "payments":
                raise LedgerIntegrityError(
                    f"El pago {key} ya existe con otros datos; no se modifica un pago registrado.")
            counts[f"{prefix}_updated"] += 1
        ops.append(["put", table, key, doc, record])

    seen_debtors: dict[str, dict] = {}
    for debtor in debtors:
        upsert("debtors", "el deudor", debtor.id, debtor, seen_debtors)
    seen_loans: dict[str, dict] = {}
    for loan in loans:
        if loan.debtor_id not in seen_debtors and loan.debtor_id not in records["debtors"]:
            raise LedgerIntegrityError(
                f"El préstamo {loan.external_id} es de un deudor desconocido ({loan.debtor_id}); "
                "incluya al deudor en el archivo.")
        upsert("loans", "el préstamo", loan.external_id, loan, seen_loans)
    seen_payments: dict[str, dict] = {}
    for payment in payments:
        if payment.loan_external_id not in seen_loans and \
                payment.loan_external_id not in records["loans"]:
            raise LedgerIntegrityError(
                f"El pago {payment.id or payment.reference} es de un préstamo desconocido "
                f"({payment.loan_external_id}).")
        payment = replace(payment, id=payment.id or _import_payment_id(payment),
                          reconciled=True, status="confirmed",
                          recorded_at=payment.recorded_at or now)
        stored = records["payments"].get(payment.id)
        if stored is not None and stored.recorded_at != payment.recorded_at:
            payment = replace(payment, recorded_at=stored.recorded_at)
        upsert("payments", "el pago", payment.id, payment, seen_payments)
    if as_of is not None:
        imported = set(seen_loans)
        for stored in records["payments"].values():
            if (stored.loan_external_id in imported and stored.source != "import"
                    and stored.counts and not stored.reconciled and stored.date <= as_of):
                reconciled = replace(stored, reconciled=True)
                ops.append(["put", "payments", stored.id, codec.encode(reconciled), reconciled])
                counts["payments_reconciled"] += 1
    batch_id = f"imp-{now.astimezone(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ops.append(["put", "imports", batch_id, {
        "source": source, "at": now.isoformat(), "as_of": as_of.isoformat() if as_of else None,
        "schema_version": SCHEMA_VERSION, **counts}])
    return ops, counts, batch_id


def _import_payment_id(payment: Payment) -> str:
    """Deterministic id for a file payment without one (same row -> same id on re-import)."""
    key = "|".join((payment.loan_external_id, payment.date.isoformat(), str(payment.amount),
                    payment.reference))
    return "imp-" + hashlib.sha256(key.encode()).hexdigest()[:16]
