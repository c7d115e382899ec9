"""``webui.debtor_index``: a row of the debtor list reads as it did when it held its cells itself (phones,
loan ids, the balance per currency), while it holds only the debtor's own phones, a lone loan id and, for one
currency, that currency's name."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from firmware_py.ledger import Ledger
from scheduler.model import Debtor, Instalment, Loan, Phone, debtor_id_for
from scheduler.segments import DEFAULT_SEGMENTS
from webui.debtor_index import DebtorIndex, PhoneCell

from conftest import NOW

TODAY = date(2026, 11, 26)


def _loan(external_id, debtor_id, amount, currency="COP", status="active", paid="0"):
    dues = [TODAY - timedelta(days=40), TODAY + timedelta(days=20)]
    return Loan(external_id, debtor_id, "Microcrédito", currency,
                tuple(Instalment(k + 1, due, Decimal(amount), Decimal(paid)) for k, due in enumerate(dues)), status)


def _debtor(n, *phones):
    document = str(20_000_000 + n)
    return Debtor(debtor_id_for(document), f"Deudor {n}", document, phones)


def test_rows_read_their_cells_as_before():
    one = _debtor(1, Phone("+573001000001"), Phone("+573001000099"))
    two = _debtor(2, Phone("+573001000002"))
    three = _debtor(3, Phone("+573001000003"))
    four = _debtor(4, Phone("+573001000099"))  # shares a number with debtor 1
    loans = [_loan("A-1", one.id, "100000.50"), _loan("A-2", one.id, "2000"),
             _loan("B-1", two.id, "120.25", currency="USD"), _loan("B-2", two.id, "5000"),
             _loan("C-1", three.id, "900", status="paid", paid="900"),
             _loan("D-1", four.id, "75000")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        ledger.import_batch([one, two, three, four], loans, source="t")
        ledger.record_opt_out("+573001000001")
        rows = {row.id: row for row in DebtorIndex().get(ledger, now=NOW, segments=DEFAULT_SEGMENTS,
                                                         grace_days=0).rows}
        debtors = {debtor.id: debtor for debtor in ledger.debtors()}
    first = rows[one.id]
    assert first.phones == (PhoneCell("+573001000001", False, True), PhoneCell("+573001000099", True, False))
    assert first.loan_ids == ("A-1", "A-2")
    assert first.outstanding == (("COP", Decimal("204001.00")),) and first.total == Decimal("204001.00")
    assert str(first.outstanding[0][1]) == "204001.00"
    second = rows[two.id]  # two currencies: each balance, and their sum
    assert second.outstanding == (("COP", Decimal("10000")), ("USD", Decimal("240.50")))
    assert second.total == Decimal("10240.50")
    third = rows[three.id]  # nothing active: no balance
    assert third.outstanding == () and third.total == Decimal(0) and third.loan_ids == ("C-1",)
    fourth = rows[four.id]
    assert fourth.phones == (PhoneCell("+573001000099", True, False),) and fourth.loan_ids == ("D-1",)
    assert fourth.outstanding == (("COP", Decimal("150000")),)
    # what the row holds: the ledger's own phone records; one loan id bare; one currency by its name
    assert fourth.debtor_phones is debtors[four.id].phones
    assert fourth.loan_id_values == "D-1" and fourth.balances == "COP"
    assert fourth.outstanding[0][1] is fourth.total
