"""Allocation of payments to instalments: oldest first, never more than owed.

Pure functions of their arguments.

- ``allocate(instalments, amount) -> AllocationResult``: splits ``amount``
  over the instalments in (due_date, number) order, each receiving at most
  its outstanding amount. Guarantees: no instalment gets more than it owes;
  total allocated == min(amount, total outstanding); an instalment receives
  money only if every older one is fully paid afterwards. What is left is
  ``unallocated`` (an advance / overpayment, kept on the payment, not lost).
- ``apply_payments(loan, payments) -> Loan``: the loan with the amounts of
  ``payments`` (in date order) added to its instalments' paid amounts.

Raises ValueError for a negative amount.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Sequence

from scheduler.model import Instalment, Loan, Payment


@dataclass(frozen=True)
class AllocationResult:
    """``parts``: (instalment number, amount) in allocation order; ``unallocated``: the rest."""

    parts: tuple[tuple[int, Decimal], ...]
    unallocated: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum((amount for _n, amount in self.parts), Decimal(0))


def allocate(instalments: Sequence[Instalment], amount: Decimal) -> AllocationResult:
    """Allocate ``amount`` oldest-first (see module docstring)."""
    amount = Decimal(amount)
    if amount < 0:
        raise ValueError(f"cannot allocate a negative amount: {amount}")
    remaining = amount
    parts: list[tuple[int, Decimal]] = []
    for instalment in sorted(instalments, key=lambda i: (i.due_date, i.number)):
        if remaining <= 0:
            break
        owed = instalment.outstanding
        if owed <= 0:
            continue
        share = min(owed, remaining)
        parts.append((instalment.number, share))
        remaining -= share
    return AllocationResult(tuple(parts), remaining)


def apply_allocation(instalments: Sequence[Instalment], result: AllocationResult) -> tuple[Instalment, ...]:
    """Instalments with the allocated parts added to their paid amounts."""
    shares = dict(result.parts)
    return tuple(
        replace(i, paid_amount=i.paid_amount + shares[i.number]) if i.number in shares else i
        for i in instalments
    )


def apply_payments(loan: Loan, payments: Iterable[Payment]) -> Loan:
    """``loan`` with ``payments`` allocated on top of its stored paid amounts.

    Payments are applied in (date, recorded_at, id) order; only confirmed
    payments of this loan count.
    """
    relevant = [p for p in payments if p.counts and p.loan_external_id == loan.external_id]
    if not relevant:
        return loan
    relevant.sort(key=lambda p: (p.date, p.recorded_at.isoformat() if p.recorded_at else "", p.id))
    instalments = loan.instalments
    for payment in relevant:
        instalments = apply_allocation(instalments, allocate(instalments, payment.amount))
    return replace(loan, instalments=instalments)
