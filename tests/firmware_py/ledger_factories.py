"""Builders of model records for the ledger tests (not a test module)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def debtor(n: int, *, name: str | None = None, phone: str | None = None, **kw) -> Debtor:
    document = f"{10000000 + n}"
    return Debtor(
        id=debtor_id_for(document),
        name=name or f"Deudor {n}",
        document=document,
        phones=(Phone(phone or f"+57300{n:07d}"),),
        **kw,
    )


def loan(n: int, debtor_id: str, *, instalments: int = 3, amount: int = 100, paid: int = 0, **kw) -> Loan:
    return Loan(
        external_id=f"L{n}",
        debtor_id=debtor_id,
        product="microcredito",
        instalments=tuple(
            Instalment(i + 1, date(2026, 1, 1) + timedelta(days=30 * i), Decimal(amount),
                       Decimal(paid) if i == 0 else Decimal(0))
            for i in range(instalments)
        ),
        **kw,
    )


def portfolio(count: int):
    debtors = [debtor(i) for i in range(count)]
    loans = [loan(i, d.id) for i, d in enumerate(debtors)]
    return debtors, loans


def contact(debtor_id: str, at: datetime = T0, kind: str = "sent", **kw) -> ContactEvent:
    return ContactEvent(at=at, debtor_id=debtor_id, kind=kind, phone=kw.pop("phone", "+573000000001"), **kw)
