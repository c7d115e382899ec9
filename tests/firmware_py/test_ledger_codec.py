"""Codec round trips (property) and schema migrations of old documents."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import codec
from firmware_py.ledger.migrations import MigrationError, migrate
from scheduler.model import (
    SCHEMA_VERSION,
    ContactEvent,
    Debtor,
    Instalment,
    Loan,
    Payment,
    Phone,
    Promise,
)

UTC = timezone.utc
texts = st.text(max_size=30)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=st.just(UTC))
phones = st.builds(
    Phone,
    number=st.from_regex(r"\+[1-9][0-9]{7,14}", fullmatch=True),
    personal=st.booleans(),
    channels=st.frozensets(st.sampled_from(["sms", "call"])),
    opted_out=st.booleans(),
)
debtors = st.builds(
    Debtor, id=ids, name=texts, document=texts,
    phones=st.lists(phones, max_size=3, unique_by=lambda p: p.number).map(tuple),
    language=st.sampled_from(["es", "qu", "en"]), loan_officer=texts, group=texts,
    tags=st.lists(texts, max_size=3).map(tuple),
)
loans = st.builds(
    Loan, external_id=ids, debtor_id=ids, product=texts,
    instalments=st.lists(st.builds(Instalment, number=st.integers(0, 500), due_date=dates, amount=money,
                                   paid_amount=money), max_size=6, unique_by=lambda i: i.number).map(tuple),
    status=st.sampled_from(["active", "paid", "written_off"]), rescheduled=st.booleans(),
)
payments = st.builds(
    Payment, id=ids, loan_external_id=ids, debtor_id=ids, amount=money, date=dates,
    source=st.sampled_from(["import", "web", "sms"]), status=st.sampled_from(["confirmed", "pending", "rejected"]),
    reconciled=st.booleans(), reference=texts, note=texts, recorded_at=st.one_of(st.none(), instants),
)
promises = st.builds(
    Promise, id=ids, debtor_id=ids, due_date=dates, amount=money, source=st.sampled_from(["sms", "web"]),
    made_at=instants, loan_external_id=texts, note=texts,
)
contacts = st.builds(
    ContactEvent, at=instants, debtor_id=ids, kind=st.sampled_from(["planned", "sent", "reply", "uncertain"]),
    channel=st.sampled_from(["sms", "call"]), direction=st.sampled_from(["outbound", "inbound"]),
    phone=texts, contact_id=texts, text=texts, detail=texts, reference=texts, id=ids,
)
KIND = {Debtor: "debtor", Loan: "loan", Payment: "payment", Promise: "promise", ContactEvent: "contact"}


@settings(max_examples=150, deadline=None)
@given(st.one_of(debtors, loans, payments, promises, contacts))
def test_every_record_survives_json(record):
    doc = codec.encode(record)
    assert doc["schema_version"] == SCHEMA_VERSION
    through_json = json.loads(json.dumps(doc))
    assert codec.decode(KIND[type(record)], through_json) == record


def test_contact_documents_start_with_debtor_id():
    event = ContactEvent(at=datetime(2026, 1, 1, tzinfo=UTC), debtor_id="d-1", kind="sent")
    assert json.dumps(codec.encode(event), separators=(",", ":")).startswith('{"debtor_id":"d-1"')


@pytest.mark.parametrize(
    "kind,doc",
    [
        ("debtor", {"id": "d", "name": "x", "phones": [{"number": "12"}], "schema_version": 1}),
        ("loan", {"external_id": "L", "schema_version": 1}),
        ("payment", {"id": "p", "amount": "-3", "schema_version": 1}),
        ("contact", "not an object"),
        ("promise", {"schema_version": 99}),
    ],
    ids=["bad-phone", "missing-field", "negative", "not-object", "future-version"],
)
def test_bad_documents_raise_codec_error(kind, doc):
    with pytest.raises(ValueError):
        codec.decode(kind, doc)


@pytest.mark.parametrize("bad", [{"number": -1}, {"number": True}, {"number": "1"}, {"amount": "-5"},
                                 {"amount": "NaN"}, {"amount": "Infinity"}, {"paid_amount": "-0.01"},
                                 {"paid_amount": "sNaN"}, {"due_date": "2026-02-30"}, {"amount": "diez"}])
def test_a_bad_stored_instalment_is_refused_as_the_model_refuses_it(bad):
    """Instalments are decoded without the model's checks when the decoder's own hold: each bad value still fails."""
    good = {"number": 1, "due_date": "2026-01-15", "amount": "100.00", "paid_amount": "0"}
    loan = {"external_id": "L", "debtor_id": "d", "instalments": [{**good, **bad}], "schema_version": 1}
    with pytest.raises(ValueError):
        codec.decode("loan", loan)
    decoded = codec.decode("loan", {**loan, "instalments": [good]})
    assert decoded.instalments == (Instalment(1, date(2026, 1, 15), Decimal("100.00")),)


def test_v0_debtor_with_legacy_phone_is_migrated():
    v0 = {"id": "d-1", "name": "Ana", "document": "123", "phone": "+573001234567"}
    debtor = codec.decode("debtor", v0)
    assert debtor.phones == (Phone("+573001234567"),) and debtor.schema_version == SCHEMA_VERSION
    assert "phone" in v0 and "schema_version" not in v0  # input untouched


def test_v0_debtor_phone_list_of_strings_merges_legacy_field():
    v0 = {"id": "d-1", "name": "Ana", "phones": ["+573001234567"], "phone": "+573001234567"}
    assert [p.number for p in codec.decode("debtor", v0).phones] == ["+573001234567"]


def test_v0_loan_paid_field_and_numeric_money_are_migrated():
    v0 = {"external_id": "L1", "debtor_id": "d-1",
          "instalments": [{"number": 1, "due_date": "2026-01-01", "amount": 100.5, "paid": 20}]}
    loan = codec.decode("loan", v0)
    assert str(loan.instalments[0].amount) == "100.5" and str(loan.instalments[0].paid_amount) == "20"


def test_v0_contact_and_promise_are_migrated():
    contact = codec.decode("contact", {"timestamp": "2026-01-01T00:00:00+00:00", "status": "sent",
                                       "debtor_id": "d-1"})
    assert contact.kind == "sent" and contact.at == datetime(2026, 1, 1, tzinfo=UTC)
    promise = codec.decode("promise", {"id": "p", "debtor_id": "d", "due_date": "2026-02-01", "amount": 10,
                                       "source": "sms", "made_at": "2026-01-01T00:00:00+00:00", "kept": True})
    assert promise.amount == 10


def test_migration_rejects_future_and_garbled_versions():
    with pytest.raises(MigrationError):
        migrate("debtor", {"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(MigrationError):
        migrate("debtor", {"schema_version": "1"})
    current = {"schema_version": SCHEMA_VERSION}
    assert migrate("debtor", current) is current
