"""Payment allocation: oldest instalment first, never more than owed (properties)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger.allocation import allocate, apply_allocation, apply_payments
from scheduler.model import Instalment, Loan, Payment

money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def instalments(draw):
    count = draw(st.integers(0, 12))
    offsets = draw(st.lists(st.integers(0, 720), min_size=count, max_size=count))
    result = []
    for number, offset in enumerate(offsets, start=1):
        amount = draw(money)
        paid = draw(st.one_of(st.just(Decimal(0)), money))
        result.append(Instalment(number, date(2026, 1, 1) + timedelta(days=offset), amount, paid))
    return result


@settings(max_examples=300, deadline=None)
@given(instalments(), money)
def test_allocation_properties(items, amount):
    result = allocate(items, amount)
    shares = dict(result.parts)
    owed = {i.number: i.outstanding for i in items}
    total_outstanding = sum(owed.values(), Decimal(0))
    # never over-allocates an instalment, never allocates zero or negative parts
    for number, share in result.parts:
        assert Decimal(0) < share <= owed[number]
    # total allocated == min(payment, outstanding); the rest is kept, not lost
    assert result.allocated == min(amount, total_outstanding)
    assert result.allocated + result.unallocated == amount
    # oldest first: an instalment receives money only if every older one is then fully paid
    ordered = sorted(items, key=lambda i: (i.due_date, i.number))
    for position, inst in enumerate(ordered):
        if shares.get(inst.number):
            for older in ordered[:position]:
                assert shares.get(older.number, Decimal(0)) == owed[older.number]
    # applying it keeps every instalment within its amount (when it was within before)
    after = apply_allocation(items, result)
    for before, now in zip(items, after):
        assert now.paid_amount == before.paid_amount + shares.get(before.number, Decimal(0))
        assert now.outstanding == owed[before.number] - shares.get(before.number, Decimal(0))


@settings(max_examples=200, deadline=None)
@given(instalments(), st.lists(money, max_size=5))
def test_applying_payments_one_by_one_equals_their_sum(items, amounts):
    loan = Loan("L1", "d-1", instalments=items)
    payments = [Payment(f"p{i}", "L1", "d-1", a, date(2026, 1, 1) + timedelta(days=i), source="web")
                for i, a in enumerate(amounts)]
    one_by_one = apply_payments(loan, payments)
    together = allocate(loan.instalments, sum(amounts, Decimal(0)))
    assert one_by_one.instalments == apply_allocation(loan.instalments, together)
    assert one_by_one.outstanding == max(loan.outstanding - sum(amounts, Decimal(0)), Decimal(0))


@pytest.mark.parametrize(
    "amount,expected_parts,left",
    [
        (Decimal(0), (), Decimal(0)),
        (Decimal(50), ((1, Decimal(50)),), Decimal(0)),
        (Decimal(150), ((1, Decimal(100)), (2, Decimal(50))), Decimal(0)),
        (Decimal(350), ((1, Decimal(100)), (2, Decimal(100)), (3, Decimal(100))), Decimal(50)),
    ],
    ids=["nothing", "partial", "spills-over", "overpayment"],
)
def test_allocation_examples(amount, expected_parts, left):
    items = [Instalment(n, date(2026, n, 1), Decimal(100)) for n in (3, 1, 2)]
    result = allocate(items, amount)
    assert result.parts == expected_parts and result.unallocated == left


def test_allocation_skips_paid_instalments_and_rejects_negative():
    items = [Instalment(1, date(2026, 1, 1), Decimal(100), Decimal(100)), Instalment(2, date(2026, 2, 1), Decimal(100))]
    assert allocate(items, Decimal(10)).parts == ((2, Decimal(10)),)
    with pytest.raises(ValueError):
        allocate(items, Decimal(-1))


def test_pending_and_rejected_and_other_loans_payments_do_not_count():
    loan = Loan("L1", "d-1", instalments=(Instalment(1, date(2026, 1, 1), Decimal(100)),))
    payments = [
        Payment("a", "L1", "d-1", 10, date(2026, 1, 1), source="sms", status="pending"),
        Payment("b", "L1", "d-1", 10, date(2026, 1, 1), source="web", status="rejected"),
        Payment("c", "L2", "d-1", 10, date(2026, 1, 1), source="web"),
    ]
    assert apply_payments(loan, payments) == loan
