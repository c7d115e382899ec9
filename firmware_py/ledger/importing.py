"""Planning the writes of debtors and loans: an import batch, one debtor saved in the form.

``plan_import`` is a pure function of the stored records and the batch: it
returns the change set (one journal record) and the counts, or raises
``LedgerIntegrityError`` before anything is written. ``Ledger.import_batch``
holds the lock and commits the result. ``plan_save_debtor`` does the same
for ``Ledger.save_debtor``. Both apply ``sharing.plan_sharing`` (one rule):
stored debtors whose number becomes shared are re-put with ``personal=False``
in the same change set.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

from firmware_py.errors import LedgerIntegrityError
from firmware_py.ledger import codec
from firmware_py.ledger.results import SaveOutcome
from firmware_py.ledger.sharing import join_es, plan_sharing
from scheduler.model import SCHEMA_VERSION, Debtor, Loan, Payment, debtor_id_for

COUNT_KEYS = ("debtors_created", "debtors_updated", "debtors_unchanged", "loans_created", "loans_updated",
              "loans_unchanged", "payments_created", "payments_unchanged", "payments_reconciled")


def plan_import(records: dict[str, dict[str, Any]], debtors: list[Debtor],
                loans: list[Loan], payments: list[Payment], *, source: str, as_of: date | None,
                now: datetime, phone_owners: Mapping[str, Iterable[str]] | None = None
                ) -> tuple[list[list], dict[str, int], str]:
    """(ops, counts, batch id) for upserting the batch into the ledger (see ``Ledger.import_batch``).

    ``records`` are the stored records by table; ``phone_owners`` the
    stored number -> debtor ids index (built from ``records`` if not given).
    Records are compared, and put in the ops, as model records (the journal
    encodes each once, as it writes). The batch's debtors get the shared-phone
    rule (``sharing.py``, imports keep a stored ``personal=False``); stored
    debtors it makes share a number are re-put and counted as updated.
    Raises LedgerIntegrityError for unknown references or conflicting
    duplicates.
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

    sharing = plan_sharing(records["debtors"], debtors, owners=phone_owners)
    seen_debtors: dict[str, Debtor] = {}
    for debtor in sharing.incoming:
        upsert("debtors", "el deudor", debtor.id, debtor, seen_debtors)
    for debtor in sharing.restated:
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


_LETTER = re.compile(r"[^\W\d_]")


def plan_save_debtor(stored: Mapping[str, Debtor], owners: Mapping[str, Iterable[str]], debtor: Debtor, *,
                     now: datetime | None = None) -> tuple[list[list], SaveOutcome]:
    """(ops, outcome) for upserting one debtor from the form (see ``Ledger.save_debtor``).

    ``stored``: debtors by id; ``owners``: number -> ids of the stored debtors
    listing it. ``opted_out`` on the phones is dropped (opt-outs are kept
    apart). Raises LedgerIntegrityError (Spanish) for what an import would
    refuse: a name without letters, no phone, an invalid document, a
    document that is another debtor's, a new debtor whose id is not
    ``debtor_id_for(document)``.
    """
    if any(p.opted_out for p in debtor.phones):
        debtor = replace(debtor, phones=tuple(replace(p, opted_out=False) for p in debtor.phones))
    old = stored.get(debtor.id)
    warnings = _check_form_debtor(stored, debtor, old)
    sharing = plan_sharing(stored, [debtor], owners=owners, keep_not_personal=False)
    saved = sharing.incoming[0]
    ops: list[list] = []
    changed = old is None or not same_content(old, saved)
    if changed:
        ops.append(["put", "debtors", saved.id, saved])
    ops.extend(["put", "debtors", d.id, d] for d in sharing.restated)
    forced = set(sharing.forced)
    shared: dict[str, tuple[str, ...]] = {}
    for phone in saved.phones:
        ids = sharing.shared.get(phone.number)
        if not ids:
            continue
        others = sorted((stored[i] for i in ids if i != saved.id), key=lambda d: (d.name, d.id))
        shared[phone.number] = tuple(d.id for d in others)
        names = join_es([d.name for d in others])
        verb = "usa" if len(others) == 1 else "usan"
        was = old.phone(phone.number) if old is not None else None
        if (saved.id, phone.number) in forced and was is not None and not was.personal:
            warnings.append(f"el teléfono {phone.number} también lo {verb} {names}: no puede marcarse como "
                            "personal mientras lo compartan; los mensajes no mostrarán montos")
        else:
            warnings.append(f"el teléfono {phone.number} también lo {verb} {names}: se marca como no personal y "
                            "los mensajes no mostrarán montos")
    outcome = SaveOutcome(debtor=saved, created=old is None, updated=old is not None and changed, shared=shared,
                          marked_not_personal=tuple(d.id for d in sharing.restated), warnings=tuple(warnings),
                          saved_at=now)
    return ops, outcome


def _check_form_debtor(stored: Mapping[str, Debtor], debtor: Debtor, old: Debtor | None) -> list[str]:
    """Refuse (LedgerIntegrityError) what an import would refuse; return warnings (Spanish)."""
    if not _LETTER.search(debtor.name):
        raise LedgerIntegrityError(f"El nombre «{debtor.name}» no tiene letras; escriba el nombre del deudor.")
    if not debtor.phones:
        raise LedgerIntegrityError(f"El deudor {debtor.name} debe tener al menos un teléfono.")
    warnings: list[str] = []
    if debtor.document:
        try:
            document_id = debtor_id_for(debtor.document)
        except ValueError:
            raise LedgerIntegrityError(f"El documento «{debtor.document}» no es válido: no tiene letras ni "
                                       "números.") from None
        other = stored.get(document_id)
        if document_id != debtor.id and other is not None:
            raise LedgerIntegrityError(f"Ya existe otro deudor con el documento «{debtor.document}» ({other.name}); "
                                       "edite ese deudor en lugar de crear uno nuevo.")
        if document_id != debtor.id:
            if old is None:
                raise LedgerIntegrityError(f"El identificador {debtor.id} no corresponde al documento "
                                           f"«{debtor.document}»: un deudor nuevo con documento debe usar el "
                                           "identificador que da ese documento, para que las importaciones lo "
                                           "reconozcan.")
            if old.document != debtor.document:
                warnings.append(f"el documento «{debtor.document}» no es con el que se registró este deudor: una "
                                "importación con ese documento lo tomará por otro deudor")
    return warnings


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
