"""What the appliance itself records about debtors: payments, promises, opt-outs.

``InAppRecords`` is the part of ``Ledger`` that writes these (a mixin: it
uses the ledger's lock, records and ``_commit``). They are ledger-owned: a
re-import of the loan file never removes or changes them. Each method returns
after its change is fsynced.

Raises ``LedgerIntegrityError`` (Spanish message, nothing written) for an
unknown debtor, loan or payment, or an id reused with different content;
ValueError for values the model rejects.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable

from firmware_py.errors import LedgerIntegrityError
from firmware_py.ledger import codec
from scheduler.model import SCHEMA_VERSION, Payment, Promise


class InAppRecords:
    """Payments recorded in the web UI or claimed by SMS, promises to pay, opt-outs."""

    # -- payments, promises, opt-outs ----------------------------------------------------------
    def record_payment(self, loan_external_id: str | None, amount: Decimal | int | str, on: date, *,
                       debtor_id: str | None = None, source: str = "web", status: str | None = None,
                       reference: str = "", note: str = "", payment_id: str | None = None,
                       now: datetime | None = None) -> Payment:
        """Record a payment made in the app (``web``) or claimed by SMS (``sms``: ``pending``).

        ``loan_external_id`` may be None for a claim that names no loan ("PAGUÉ
        50000"): then ``debtor_id`` is required; a debtor with exactly one loan
        gets it, otherwise the claim stays without a loan (it must be
        ``pending``) until ``confirm_payment(..., loan_external_id=...)``.
        Idempotent when ``payment_id`` is given and the same payment exists.
        Returns the stored Payment. Raises LedgerIntegrityError for an unknown
        loan or debtor, a debtor that does not own the loan, a confirmed
        payment without a loan, or a different payment with the same id;
        ValueError for bad values.
        """
        with self._mutex:
            self._check_open()
            if loan_external_id:
                loan = self._records["loans"].get(loan_external_id)
                if loan is None:
                    raise LedgerIntegrityError(f"No existe el préstamo {loan_external_id}.")
                if debtor_id is not None and debtor_id != loan.debtor_id:
                    raise LedgerIntegrityError(f"El préstamo {loan_external_id} no es de ese deudor.")
                debtor_id = loan.debtor_id
            else:
                if debtor_id is None or debtor_id not in self._records["debtors"]:
                    raise LedgerIntegrityError("Para un pago sin préstamo indique un deudor existente.")
                own = self._debtor_loans.get(debtor_id, ())
                loan_external_id = next(iter(own)) if len(own) == 1 else ""
            status = status or ("pending" if source == "sms" else "confirmed")
            if status == "confirmed" and not loan_external_id:
                raise LedgerIntegrityError(
                    "El deudor tiene varios préstamos: indique a cuál se aplica el pago.")
            payment = Payment(
                id=payment_id or f"pay-{uuid.uuid4().hex}", loan_external_id=loan_external_id,
                debtor_id=debtor_id, amount=amount, date=on, source=source, status=status,
                reconciled=source == "import", reference=reference, note=note,
                recorded_at=now or self._clock())
            existing = self._records["payments"].get(payment.id)
            if existing is not None:
                if replace(existing, recorded_at=payment.recorded_at) == payment:
                    return existing
                raise LedgerIntegrityError(f"Ya existe otro pago con el identificador {payment.id}.")
            self._commit([["put", "payments", payment.id, codec.encode(payment), payment]], "payment")
            return payment

    def _set_payment_status(self, payment_id: str, status: str, note: str | None,
                            loan_external_id: str | None = None) -> Payment:
        with self._mutex:
            self._check_open()
            payment = self._records["payments"].get(payment_id)
            if payment is None:
                raise LedgerIntegrityError(f"No existe el pago {payment_id}.")
            loan_id = payment.loan_external_id
            if loan_external_id is not None and loan_external_id != loan_id:
                loan = self._records["loans"].get(loan_external_id)
                if loan is None or loan.debtor_id != payment.debtor_id:
                    raise LedgerIntegrityError(
                        f"El préstamo {loan_external_id} no existe o no es del deudor que pagó.")
                loan_id = loan_external_id
            if status == "confirmed" and not loan_id:
                raise LedgerIntegrityError("Indique a qué préstamo se aplica el pago antes de confirmarlo.")
            updated = replace(payment, status=status, loan_external_id=loan_id,
                              note=payment.note if note is None else note)
            if updated != payment:
                self._commit([["put", "payments", payment_id, codec.encode(updated), updated]],
                             f"payment {status}")
            return updated

    def confirm_payment(self, payment_id: str, *, loan_external_id: str | None = None,
                        note: str | None = None) -> Payment:
        """An officer confirms a pending (SMS-claimed) payment: it now counts.

        ``loan_external_id`` assigns (or corrects) the loan, which must belong
        to the same debtor; required when the claim named none.
        """
        return self._set_payment_status(payment_id, "confirmed", note, loan_external_id)

    def reject_payment(self, payment_id: str, *, note: str | None = None) -> Payment:
        """An officer rejects a claimed payment: kept for the record, never counts."""
        return self._set_payment_status(payment_id, "rejected", note)

    def mark_reconciled(self, payment_ids: Iterable[str]) -> int:
        """Mark in-app payments as included in the loan file; returns how many changed."""
        with self._mutex:
            self._check_open()
            ops = []
            for pid in payment_ids:
                payment = self._records["payments"].get(pid)
                if payment is None:
                    raise LedgerIntegrityError(f"No existe el pago {pid}.")
                if not payment.reconciled:
                    reconciled = replace(payment, reconciled=True)
                    ops.append(["put", "payments", pid, codec.encode(reconciled), reconciled])
            self._commit(ops, "reconcile")
            return len(ops)

    def record_promise(self, debtor_id: str, due_date: date, amount: Decimal | int | str, *,
                       source: str = "sms", loan_external_id: str = "", note: str = "",
                       promise_id: str | None = None, now: datetime | None = None) -> Promise:
        """Record a promise to pay. Idempotent for an existing ``promise_id``.
        Raises LedgerIntegrityError for an unknown debtor or loan."""
        with self._mutex:
            self._check_open()
            if debtor_id not in self._records["debtors"]:
                raise LedgerIntegrityError(f"No existe el deudor {debtor_id}.")
            if loan_external_id and loan_external_id not in self._records["loans"]:
                raise LedgerIntegrityError(f"No existe el préstamo {loan_external_id}.")
            if promise_id and promise_id in self._records["promises"]:
                return self._records["promises"][promise_id]
            promise = Promise(id=promise_id or f"prm-{uuid.uuid4().hex}", debtor_id=debtor_id,
                              due_date=due_date, amount=amount, source=source,
                              made_at=now or self._clock(), loan_external_id=loan_external_id, note=note)
            self._commit([["put", "promises", promise.id, codec.encode(promise), promise]], "promise")
            return promise

    def record_opt_out(self, number: str, *, source: str = "sms", now: datetime | None = None) -> None:
        """The number asked to stop (BAJA/STOP): applies to every debtor and loan using it,
        and survives re-imports."""
        with self._mutex:
            self._check_open()
            if number in self._tables.get("optouts", {}):
                return
            doc = {"number": number, "source": source, "at": (now or self._clock()).isoformat(),
                   "schema_version": SCHEMA_VERSION}
            self._commit([["put", "optouts", number, doc]], "opt-out")

    def clear_opt_out(self, number: str) -> None:
        """Undo an opt-out (the debtor authorised contact again)."""
        with self._mutex:
            self._check_open()
            if number in self._tables.get("optouts", {}):
                self._commit([["del", "optouts", number]], "opt-in")
