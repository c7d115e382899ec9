"""Planning an import batch: which documents to write, and what it counts as.

``plan_import`` is a pure function of the stored records and the batch: it
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


def plan_import(records: dict[str, dict[str, Any]], debtors: list[Debtor],
                loans: list[Loan], payments: list[Payment], *, source: str, as_of: date | None,
                now: datetime) -> tuple[list[list], dict[str, int], str]:
    """(ops, counts, batch id) for upserting the batch into the ledger (see ``Ledger.import_batch``).

    ``records`` are the stored records by table. Records are compared, and
    put in the ops, as model records (the journal encodes each once, as it
    writes). Raises LedgerIntegrityError for unknown references or
    conflicting duplicates.
    """
    ops: list[list] = []
    counts = dict.fromkeys(COUNT_KEYS, 0)

    def upsert(table: str, noun: str, key: str, record: Any, seen: dict) -> None:
        if key in seen:
            if not same_content(seen[key], record):
                raise LedgerIntegrityError(
                    f"El archivo trae dos veces {noun} {key} con datos distintos; "
                    "corrija el archivo y vuelva a importarlo.")
            return
        seen[key] = record
        old = records[table].get(key)
        prefix = table
        if old is None:
            counts[f"{prefix}_created"] += 1
        elif same_content(old, record):
            counts[f"{prefix}_unchanged"] += 1
            return
        else:
            if table == "payments":
                raise LedgerIntegrityError(
                    f"El pago {key} ya existe con otros datos; no se modifica un pago registrado.")
            counts[f"{prefix}_updated"] += 1
        ops.append(["put", table, key, record])

    seen_debtors: dict[str, Debtor] = {}
    for debtor in debtors:
        upsert("debtors", "el deudor", debtor.id, debtor, seen_debtors)
    seen_loans: dict[str, Loan] = {}
    for loan in loans:
        if loan.debtor_id not in seen_debtors and loan.debtor_id not in records["debtors"]:
            raise LedgerIntegrityError(
                f"El préstamo {loan.external_id} es de un deudor desconocido ({loan.debtor_id}); "
                "incluya al deudor en el archivo.")
        upsert("loans", "el préstamo", loan.external_id, loan, seen_loans)
    seen_payments: dict[str, Payment] = {}
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
                ops.append(["put", "payments", stored.id, reconciled])
                counts["payments_reconciled"] += 1
    batch_id = f"imp-{now.astimezone(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    ops.append(["put", "imports", batch_id, {
        "source": source, "at": now.isoformat(), "as_of": as_of.isoformat() if as_of else None,
        "schema_version": SCHEMA_VERSION, **counts}])
    return ops, counts, batch_id


def same_content(a: Any, b: Any) -> bool:
    """True if two records would be stored as the same document.

    Records that differ (``!=``) never encode alike, so only equal ones are
    encoded to tell, e.g., an amount of ``100`` from ``100.00`` (equal
    Decimals, different documents).
    """
    return a == b and codec.encode(a) == codec.encode(b)


def _import_payment_id(payment: Payment) -> str:
    """Deterministic id for a file payment without one (same row -> same id on re-import)."""
    key = "|".join((payment.loan_external_id, payment.date.isoformat(), str(payment.amount),
                    payment.reference))
    return "imp-" + hashlib.sha256(key.encode()).hexdigest()[:16]
