"""Import upsert and in-app payments as properties: whatever the sequence of batches,
the ledger holds exactly the last version of each record, never a duplicate, and
payments recorded in the app are never lost by a re-import."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger
from scheduler.model import Debtor, Instalment, Loan, Phone
from ledger_factories import T0

DEBTOR_IDS = [f"d-{i}" for i in range(6)]
LOAN_IDS = [f"L{i}" for i in range(8)]

# each debtor's numbers are its own: shared phones (re-put by the ledger) are test_import_sharing.py's subject
debtor_versions = st.builds(
    lambda i, name, n: Debtor(id=DEBTOR_IDS[i], name=name, document=str(i), phones=(Phone(f"+5730{i}000{n:04d}"),)),
    st.integers(0, len(DEBTOR_IDS) - 1), st.sampled_from(["Ana", "Luis", "Rosa"]), st.integers(0, 9999),
)
loan_versions = st.builds(
    lambda i, d, amount, count: Loan(external_id=LOAN_IDS[i], debtor_id=DEBTOR_IDS[d], instalments=tuple(
        Instalment(k + 1, date(2026, 1, 1) + timedelta(days=30 * k), Decimal(amount)) for k in range(count))),
    st.integers(0, len(LOAN_IDS) - 1), st.integers(0, len(DEBTOR_IDS) - 1), st.integers(1, 500), st.integers(1, 4),
)
batches = st.lists(
    st.tuples(st.lists(debtor_versions, max_size=6, unique_by=lambda d: d.id),
              st.lists(loan_versions, max_size=6, unique_by=lambda l: l.external_id),
              st.lists(st.integers(1, 300), max_size=2)),
    min_size=1, max_size=6,
)


@settings(max_examples=120, deadline=None)
@given(batches)
def test_import_sequences_keep_the_last_version_and_every_payment(sequence):
    model_debtors: dict[str, Debtor] = {}
    model_loans: dict[str, Loan] = {}
    paid: dict[str, Decimal] = {}
    with Ledger.memory(clock=lambda: T0) as ledger:
        for debtors, loans, payments in sequence:
            loans = [l for l in loans if l.debtor_id in model_debtors or any(d.id == l.debtor_id for d in debtors)]
            outcome = ledger.import_batch(debtors, loans, source="prop")
            expected = dict.fromkeys(("created", "updated", "unchanged"), 0)
            for d in debtors:
                old = model_debtors.get(d.id)
                expected["created" if old is None else "unchanged" if old == d else "updated"] += 1
                model_debtors[d.id] = d
            assert (outcome.debtors_created, outcome.debtors_updated, outcome.debtors_unchanged) == tuple(
                expected.values())
            expected = dict.fromkeys(("created", "updated", "unchanged"), 0)
            for l in loans:
                old = model_loans.get(l.external_id)
                expected["created" if old is None else "unchanged" if old == l else "updated"] += 1
                model_loans[l.external_id] = l
            assert (outcome.loans_created, outcome.loans_updated, outcome.loans_unchanged) == tuple(
                expected.values())
            # in-app payments on existing loans
            for amount, loan_id in zip(payments, sorted(model_loans)):
                ledger.record_payment(loan_id, amount, date(2026, 1, 15), source="web")
                paid[loan_id] = paid.get(loan_id, Decimal(0)) + amount
            assert {d.id: d for d in ledger.debtors()} == model_debtors
            assert len(ledger.loans()) == len(model_loans)
            for loan_id, stored in model_loans.items():
                view = ledger.loan(loan_id)
                # the imported schedule, with every in-app payment allocated (capped at what is owed)
                assert [i.amount for i in view.instalments] == [i.amount for i in stored.instalments]
                expected_paid = min(stored.total, paid.get(loan_id, Decimal(0)))
                assert view.paid == expected_paid
                assert view.outstanding == stored.total - expected_paid
            # re-importing the same batch again is a no-op in content
            again = ledger.import_batch(debtors, loans, source="prop")
            assert not again.changed
            assert again.debtors_unchanged == len(debtors) and again.loans_unchanged == len(loans)
