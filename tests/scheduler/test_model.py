"""scheduler.model: validation, normalisation and the pure helpers."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.model import (
    DEFAULT_SETTINGS,
    SCHEMA_VERSION,
    ContactEvent,
    Debtor,
    Instalment,
    Loan,
    Payment,
    Phone,
    Promise,
    Settings,
    debtor_id_for,
    normalise_document,
    promise_status,
)

UTC = timezone.utc
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_phone_requires_e164_and_known_channels():
    assert Phone("+573001234567").channels == frozenset({"sms"})
    assert Phone("+573001234567", channels={"sms", "call"}).channels == frozenset({"sms", "call"})
    for bad in ("3001234567", "+0573001234567", "+57 300", "", "+57300123456789012"):
        with pytest.raises(ValueError):
            Phone(bad)
    with pytest.raises(ValueError, match="channel"):
        Phone("+573001234567", channels={"whatsapp"})


def test_debtor_normalises_collections_and_rejects_duplicate_phones():
    debtor = Debtor(id="d-1", name="Ana", phones=[Phone("+573001234567")], tags=["grupo"])
    assert debtor.phones == (Phone("+573001234567"),)
    assert debtor.tags == ("grupo",)
    assert debtor.schema_version == SCHEMA_VERSION
    assert debtor.phone("+573001234567").personal is True
    assert debtor.phone("+573009999999") is None
    with pytest.raises(ValueError, match="duplicate"):
        Debtor(id="d-1", name="Ana", phones=(Phone("+573001234567"), Phone("+573001234567")))
    with pytest.raises(ValueError):
        Debtor(id=" ", name="Ana")


def test_loan_sorts_instalments_and_computes_balances():
    loan = Loan(
        external_id="L1",
        debtor_id="d-1",
        instalments=[
            Instalment(2, date(2026, 2, 1), Decimal("100")),
            Instalment(1, date(2026, 1, 1), "100", paid_amount=40),
        ],
    )
    assert [i.number for i in loan.instalments] == [1, 2]
    assert loan.total == Decimal(200)
    assert loan.paid == Decimal(40)
    assert loan.outstanding == Decimal(160)
    assert loan.overdue(date(2026, 1, 15)) == Decimal(60)
    assert loan.days_late(date(2026, 1, 15)) == 14
    assert loan.oldest_unpaid().number == 1
    assert loan.next_due(date(2026, 1, 15)).number == 2
    assert loan.next_due(date(2026, 2, 2)) is None
    with pytest.raises(ValueError, match="status"):
        Loan(external_id="L1", debtor_id="d-1", status="weird")
    with pytest.raises(ValueError, match="duplicate"):
        Loan("L1", "d-1", instalments=(Instalment(1, date(2026, 1, 1), 1), Instalment(1, date(2026, 2, 1), 1)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": Decimal("-1")},
        {"amount": "abc"},
        {"amount": 1.5},
        {"amount": Decimal("NaN")},
        {"due_date": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
    ids=["negative", "text", "float", "nan", "datetime-as-date"],
)
def test_instalment_rejects_bad_values(kwargs):
    args = {"number": 1, "due_date": date(2026, 1, 1), "amount": Decimal(1)} | kwargs
    with pytest.raises(ValueError):
        Instalment(**args)


def test_payment_promise_contact_validate_sources_and_aware_times():
    with pytest.raises(ValueError, match="source"):
        Payment("p", "L1", "d-1", 10, date(2026, 1, 1), source="cash")
    with pytest.raises(ValueError, match="naive"):
        Payment("p", "L1", "d-1", 10, date(2026, 1, 1), source="web", recorded_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        Promise("x", "d-1", date(2026, 1, 1), 10, "sms", made_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="kind"):
        ContactEvent(at=T0, debtor_id="d-1", kind="exploded")
    with pytest.raises(ValueError, match="naive"):
        ContactEvent(at=datetime(2026, 1, 1), debtor_id="d-1", kind="sent")
    assert Payment("p", "L1", "d-1", 10, date(2026, 1, 1), source="sms", status="pending").counts is False


def test_settings_overlay_defaults_and_are_read_only():
    settings_ = Settings({"daily_sms_cap": 5, "custom": "x"})
    assert settings_["daily_sms_cap"] == 5
    assert settings_.get("custom") == "x"
    assert settings_.get("sending_paused") is DEFAULT_SETTINGS["sending_paused"]
    assert settings_.get("missing", 7) == 7
    with pytest.raises(TypeError):
        settings_.values["x"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "a,b",
    [("1.023.456-7", "10234567"), (" 10234567 ", "10234567"), ("cc-9a", "CC9A"), ("Ñandú 1", "NANDU1")],
)
def test_debtor_id_ignores_punctuation_and_case(a, b):
    assert normalise_document(a) == normalise_document(b)
    assert debtor_id_for(a) == debtor_id_for(b)
    assert debtor_id_for(a).startswith("d-") and normalise_document(a) not in debtor_id_for(a)


def test_debtor_id_rejects_empty_documents():
    for bad in ("", " ", "-.-"):
        with pytest.raises(ValueError):
            debtor_id_for(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=12), st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_debtor_id_is_stable_and_distinguishes_documents(a, b):
    assert debtor_id_for(a) == debtor_id_for(f" {a[:1]}.{a[1:]} ")
    if a != b:
        assert debtor_id_for(a) != debtor_id_for(b)


def _promise(amount=100, due=date(2026, 11, 10), loan=""):
    return Promise("pr", "d-1", due, Decimal(amount), "sms", made_at=T0, loan_external_id=loan)


def _pay(amount, on, *, debtor="d-1", loan="L1", status="confirmed"):
    return Payment(f"p{amount}{on}", loan, debtor, Decimal(amount), on, source="web", status=status)


@pytest.mark.parametrize(
    "payments,today,grace,expected",
    [
        ([], date(2026, 11, 5), 0, "pending"),
        ([], date(2026, 11, 11), 0, "broken"),
        ([], date(2026, 11, 11), 1, "pending"),
        ([_pay(100, date(2026, 11, 9))], date(2026, 11, 20), 0, "kept"),
        ([_pay(60, date(2026, 11, 2)), _pay(40, date(2026, 11, 10))], date(2026, 11, 20), 0, "kept"),
        ([_pay(60, date(2026, 11, 2))], date(2026, 11, 20), 0, "broken"),
        ([_pay(100, date(2026, 10, 30))], date(2026, 11, 20), 0, "broken"),  # before the promise
        ([_pay(100, date(2026, 11, 12))], date(2026, 11, 20), 0, "broken"),  # too late
        ([_pay(100, date(2026, 11, 11))], date(2026, 11, 20), 1, "kept"),  # within grace
        ([_pay(100, date(2026, 11, 5), status="pending")], date(2026, 11, 20), 0, "broken"),
        ([_pay(100, date(2026, 11, 5), debtor="d-2")], date(2026, 11, 20), 0, "broken"),
    ],
    ids=["open", "lapsed", "grace", "paid", "two-parts", "partial", "early", "late", "late-in-grace",
         "pending-claim", "other-debtor"],
)
def test_promise_status_table(payments, today, grace, expected):
    assert promise_status(_promise(), payments, today, grace_days=grace) == expected


def test_promise_on_a_loan_counts_only_that_loan():
    promise = _promise(loan="L2")
    assert promise_status(promise, [_pay(100, date(2026, 11, 5), loan="L1")], date(2026, 11, 20)) == "broken"
    assert promise_status(promise, [_pay(100, date(2026, 11, 5), loan="L2")], date(2026, 11, 20)) == "kept"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(-5, 20), st.booleans()), max_size=8),
    st.integers(1, 1000),
    st.integers(0, 30),
)
def test_promise_status_properties(rows, amount, today_offset):
    """Kept iff counted payments in the window reach the amount; broken only after the window."""
    promise = _promise(amount=amount)
    payments = [
        _pay(a, T0.date() + timedelta(days=d), status="confirmed" if ok else "pending") for a, d, ok in rows
    ]
    today = T0.date() + timedelta(days=today_offset)
    status = promise_status(promise, payments, today)
    in_window = sum(
        (p.amount for p in payments if p.counts and T0.date() <= p.date <= promise.due_date), Decimal(0)
    )
    if in_window >= amount:
        assert status == "kept"
    elif today > promise.due_date:
        assert status == "broken"
    else:
        assert status == "pending"


@pytest.mark.parametrize(
    "field,value",
    [("timezone", "America/Nowhere"), ("timezone", ""), ("timezone", "../etc/passwd"), ("jurisdiction", "col"),
     ("jurisdiction", "co"), ("language", "Spanish"), ("language", "")],
    ids=["unknown-zone", "empty-zone", "path-zone", "three-letters", "lower-case", "language-name", "no-language"],
)
def test_debtor_rejects_unknown_zone_jurisdiction_language(field, value):
    with pytest.raises(ValueError):
        Debtor(id="d-1", name="Ana", **{field: value})


def test_debtor_accepts_real_zones_and_codes():
    debtor = Debtor(id="d-1", name="Ana", timezone="America/Lima", jurisdiction="PE", language="qu")
    assert (debtor.timezone, debtor.jurisdiction, debtor.language) == ("America/Lima", "PE", "qu")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 1000), st.integers(0, 1200)), max_size=10),
    st.integers(0, 500),
)
def test_loan_balance_properties(rows, today_offset):
    base = date(2026, 1, 1)
    loan = Loan("L", "d", instalments=[Instalment(n, base + timedelta(days=d), Decimal(a), Decimal(p))
                                       for n, (d, a, p) in enumerate(rows)])
    today = base + timedelta(days=today_offset)
    assert loan.outstanding == sum((max(Decimal(a - p), Decimal(0)) for _d, a, p in rows), Decimal(0))
    assert loan.paid + loan.outstanding == loan.total
    assert Decimal(0) <= loan.overdue(today) <= loan.outstanding
    assert (loan.days_late(today) > 0) == (loan.overdue(today) > 0)
    oldest = loan.oldest_unpaid()
    if oldest is None:
        assert loan.outstanding == 0
    else:
        assert all(i.outstanding == 0 for i in loan.instalments if (i.due_date, i.number) < (oldest.due_date,
                                                                                            oldest.number))
    upcoming = loan.next_due(today)
    assert upcoming is None or (upcoming.due_date >= today and upcoming.outstanding > 0)
