"""Ledger API: import upserts, payments, promises, opt-outs, settings, reopening.

Most tests run twice: on a real directory (``Ledger.open``) and on
``Ledger.memory()``; behaviour must be the same.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from firmware_py.errors import (
    LedgerClosed,
    LedgerCorrupt,
    LedgerError,
    LedgerIntegrityError,
    LedgerLocked,
    LedgerWriteError,
)
from firmware_py.ledger import ImportOutcome, Ledger
from scheduler.model import Payment, Phone
from ledger_factories import T0, contact, debtor, loan, portfolio


@pytest.fixture(params=["disk", "memory"])
def ledger(request, tmp_path):
    if request.param == "disk":
        with Ledger.open(tmp_path, clock=lambda: T0) as opened:
            yield opened
    else:
        with Ledger.memory(clock=lambda: T0) as opened:
            yield opened


def test_import_creates_then_reimport_is_unchanged(ledger):
    debtors, loans = portfolio(5)
    first = ledger.import_batch(debtors, loans, source="test")
    assert (first.debtors_created, first.loans_created, first.changed) == (5, 5, True)
    again = ledger.import_batch(debtors, loans, source="test")
    assert (again.debtors_unchanged, again.loans_unchanged) == (5, 5)
    assert (again.debtors_created, again.debtors_updated, again.loans_created, again.loans_updated) == (0, 0, 0, 0)
    assert again.changed is False
    assert ledger.debtors() == tuple(sorted(debtors, key=lambda d: (d.name, d.id)))
    assert ledger.loans() == tuple(sorted(loans, key=lambda l: l.external_id))
    assert len(ledger.imports()) == 2


def test_import_updates_by_id_without_duplicates(ledger):
    debtors, loans = portfolio(3)
    ledger.import_batch(debtors, loans, source="test")
    renamed = replace(debtors[1], name="Otra Persona")
    moved = replace(loans[2], debtor_id=debtors[0].id, status="paid")
    outcome = ledger.import_batch([renamed], [moved], source="test")
    assert (outcome.debtors_updated, outcome.loans_updated) == (1, 1)
    assert len(ledger.debtors()) == 3 and len(ledger.loans()) == 3
    assert ledger.debtor(debtors[1].id).name == "Otra Persona"
    assert [l.external_id for l in ledger.loans(debtor_id=debtors[0].id)] == ["L0", "L2"]
    assert ledger.loans(debtor_id=debtors[2].id) == ()


def test_import_is_all_or_nothing_on_integrity_errors(ledger):
    debtors, loans = portfolio(3)
    orphan = loan(99, "d-unknown")
    with pytest.raises(LedgerIntegrityError) as info:
        ledger.import_batch(debtors, loans + [orphan], source="test")
    assert "L99" in str(info.value) and isinstance(info.value, LedgerError)
    assert ledger.debtors() == () and ledger.loans() == ()
    clash = replace(debtors[0], name="Distinto")
    with pytest.raises(LedgerIntegrityError, match="dos veces"):
        ledger.import_batch(debtors + [clash], [], source="test")
    assert ledger.debtors() == ()
    # the same record twice with the same content is fine
    assert ledger.import_batch(debtors + [debtors[0]], [], source="test").debtors_created == 3


def test_in_app_payments_survive_reimport_and_allocate_oldest_first(ledger):
    debtors, loans = portfolio(1)
    ledger.import_batch(debtors, loans, source="test")
    payment = ledger.record_payment("L0", Decimal("150"), date(2026, 1, 20), source="web")
    view = ledger.loan("L0")
    assert [i.paid_amount for i in view.instalments] == [Decimal(100), Decimal(50), Decimal(0)]
    ledger.import_batch(debtors, loans, source="test")
    assert ledger.loan("L0") == view
    assert ledger.payments(loan_external_id="L0") == (payment,)
    # the cooperative's file now includes it: as_of reconciles, no double counting
    paid_file = replace(loans[0], instalments=tuple(
        replace(i, paid_amount=p) for i, p in zip(loans[0].instalments, (Decimal(100), Decimal(50), Decimal(0)))))
    outcome = ledger.import_batch(debtors, [paid_file], source="test", as_of=date(2026, 1, 31))
    assert outcome.payments_reconciled == 1
    assert ledger.loan("L0").outstanding == Decimal(150)
    assert ledger.payment(payment.id).reconciled is True


def test_sms_claims_are_pending_until_confirmed(ledger):
    debtors, loans = portfolio(1)
    ledger.import_batch(debtors, loans, source="test")
    claim = ledger.record_payment("L0", 100, date(2026, 1, 3), source="sms")
    assert claim.status == "pending"
    assert ledger.loan("L0").outstanding == Decimal(300)
    ledger.confirm_payment(claim.id)
    assert ledger.loan("L0").outstanding == Decimal(200)
    ledger.reject_payment(claim.id, note="no llegó")
    assert ledger.loan("L0").outstanding == Decimal(300)
    assert ledger.payments(status="rejected")[0].note == "no llegó"


def test_payment_ids_are_idempotent(ledger):
    debtors, loans = portfolio(1)
    ledger.import_batch(debtors, loans, source="test")
    first = ledger.record_payment("L0", 10, date(2026, 1, 3), payment_id="web-1")
    assert ledger.record_payment("L0", 10, date(2026, 1, 3), payment_id="web-1") == first
    with pytest.raises(LedgerIntegrityError):
        ledger.record_payment("L0", 11, date(2026, 1, 3), payment_id="web-1")
    with pytest.raises(LedgerIntegrityError):
        ledger.record_payment("nope", 11, date(2026, 1, 3))
    assert len(ledger.payments()) == 1


def test_import_payments_are_reconciled_and_deduplicated(ledger):
    debtors, loans = portfolio(1)
    row = Payment("", "L0", debtors[0].id, Decimal(100), date(2026, 1, 2), source="import", reference="r1")
    first = ledger.import_batch(debtors, loans, source="test", payments=[row])
    again = ledger.import_batch(debtors, loans, source="test", payments=[row])
    assert (first.payments_created, again.payments_unchanged, again.payments_created) == (1, 1, 0)
    (stored,) = ledger.payments()
    assert stored.reconciled and stored.status == "confirmed" and stored.id.startswith("imp-")
    assert ledger.loan("L0").outstanding == Decimal(300)  # the file's paid amounts already include it


def test_promises_evaluated_from_payments(ledger):
    debtors, loans = portfolio(1)
    ledger.import_batch(debtors, loans, source="test")
    promise = ledger.record_promise(debtors[0].id, T0.date() + timedelta(days=5), 80)
    assert ledger.promise_status(promise.id, T0.date()) == "pending"
    assert ledger.promise_status(promise.id, T0.date() + timedelta(days=10)) == "broken"
    ledger.record_payment("L0", 80, T0.date() + timedelta(days=3))
    assert ledger.promise_status(promise.id, T0.date() + timedelta(days=10)) == "kept"
    assert ledger.promises(debtors[0].id) == (promise,)
    with pytest.raises(LedgerIntegrityError):
        ledger.record_promise("d-nobody", T0.date(), 1)


def test_opt_out_applies_to_shared_number_and_survives_reimport(ledger):
    shared = "+573111111111"
    a = debtor(1, phone=shared)
    b = debtor(2, phone=shared)
    ledger.import_batch([a, b], [], source="test")
    assert {d.id for d in ledger.debtors_by_phone(shared)} == {a.id, b.id}
    ledger.record_opt_out(shared)
    ledger.import_batch([a, b], [], source="test")
    assert all(d.phones[0].opted_out for d in ledger.debtors_by_phone(shared))
    assert ledger.opted_out(shared) and shared in ledger.snapshot().opted_out
    ledger.clear_opt_out(shared)
    assert not ledger.debtor(a.id).phones[0].opted_out


def test_phone_index_follows_updates(ledger):
    a = debtor(1, phone="+573000000011")
    ledger.import_batch([a], [], source="test")
    ledger.import_batch([replace(a, phones=(Phone("+573000000022"),))], [], source="test")
    assert ledger.debtors_by_phone("+573000000011") == ()
    assert ledger.debtors_by_phone("+573000000022")[0].id == a.id


def test_settings_defaults_and_updates(ledger):
    assert ledger.settings.get("sending_paused") is False
    ledger.settings.set("sending_paused", True)
    ledger.settings.update({"daily_sms_cap": 50, "cooperative_name": "La Esperanza"})
    assert ledger.settings.all()["daily_sms_cap"] == 50
    assert ledger.settings.get("sending_paused") is True
    with pytest.raises(ValueError):
        ledger.settings.set("bad", object())


def test_contacts_by_debtor_and_time(ledger):
    events = [contact("d-a", T0 + timedelta(days=i * 20), kind="sent") for i in range(4)]
    events.append(contact("d-b", T0, kind="reply", direction="inbound", text="SALDO"))
    stored = [ledger.append_contact(e) for e in events]
    assert all(e.id for e in stored)
    assert ledger.contacts(debtor_id="d-a") == tuple(stored[:4])
    assert ledger.contacts(debtor_id="d-a", since=T0 + timedelta(days=10), until=T0 + timedelta(days=50)) == (
        stored[1], stored[2])
    assert ledger.contacts(kinds=["reply"]) == (stored[4],)
    assert ledger.contacts(debtor_id="d-a", limit=1) == (stored[3],)
    assert ledger.contact_count == 5


def test_snapshot_is_consistent_and_immutable(ledger):
    debtors, loans = portfolio(3)
    ledger.import_batch(debtors, loans, source="test")
    ledger.append_contact(contact(debtors[0].id))
    snap = ledger.snapshot(contacts_since=T0 - timedelta(days=1))
    ledger.import_batch([replace(debtors[0], name="Cambiado")], [], source="test")
    assert snap.debtor(debtors[0].id).name == debtors[0].name
    assert len(snap.contacts) == 1 and len(snap.loans_of(debtors[0].id)) == 1
    with pytest.raises(AttributeError):
        snap.debtors = ()  # type: ignore[misc]


def test_closed_ledger_refuses_use_and_close_is_idempotent(tmp_path):
    opened = Ledger.open(tmp_path)
    opened.close()
    opened.close()
    with pytest.raises(LedgerClosed):
        opened.debtors()


def test_second_open_of_a_directory_is_locked(tmp_path):
    with Ledger.open(tmp_path):
        with pytest.raises(LedgerLocked) as info:
            Ledger.open(tmp_path)
        assert "otro proceso" in str(info.value)
    with Ledger.open(tmp_path):  # released on close
        pass


def test_everything_survives_reopen(tmp_path):
    debtors, loans = portfolio(4)
    with Ledger.open(tmp_path, clock=lambda: T0) as first:
        first.import_batch(debtors, loans, source="test")
        pay = first.record_payment("L1", 30, date(2026, 1, 2))
        promise = first.record_promise(debtors[2].id, date(2026, 12, 1), 10)
        first.record_opt_out("+573000000003")
        first.settings.set("daily_sms_cap", 7)
        first.append_contact(contact(debtors[0].id))
        before = first.snapshot(contacts_since=T0 - timedelta(days=1))
    with Ledger.open(tmp_path) as second:
        after = second.snapshot(contacts_since=T0 - timedelta(days=1))
        assert after.debtors == before.debtors and after.loans == before.loans
        assert after.payments == (pay,) and after.promises == (promise,)
        assert after.opted_out == before.opted_out and after.settings == before.settings
        assert after.contacts == before.contacts and after.seq == before.seq


def test_many_threads_write_and_read_without_losing_anything(tmp_path):
    debtors, loans = portfolio(2)
    errors = []
    with Ledger.open(tmp_path, clock=lambda: T0) as shared:
        shared.import_batch(debtors, loans, source="test")

        def writer(n):
            try:
                for i in range(20):
                    shared.append_contact(contact(debtors[n % 2].id, T0 + timedelta(minutes=i)))
                    shared.record_payment(f"L{n % 2}", 1, date(2026, 1, 2))
                    snap = shared.snapshot()
                    assert len(snap.debtors) == 2
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert shared.contact_count == 80 and len(shared.payments()) == 80
    with Ledger.open(tmp_path) as again:
        assert again.contact_count == 80 and len(again.payments()) == 80


def test_import_outcome_counts_are_a_value():
    assert ImportOutcome().changed is False


def test_debtor_filters_use_the_query_engine(ledger):
    a = debtor(1, group="G1", loan_officer="Marta", tags=("agro",))
    b = debtor(2, group="G1", loan_officer="Luis")
    c = debtor(3, group="G2", loan_officer="Marta", tags=("agro", "vip"))
    ledger.import_batch([a, b, c], [], source="test")
    assert [d.id for d in ledger.debtors(group="G1")] == [a.id, b.id]
    assert [d.id for d in ledger.debtors(loan_officer="Marta")] == [a.id, c.id]
    assert [d.id for d in ledger.debtors(tag="agro", group="G2")] == [c.id]
    assert ledger.debtors(tag="nada") == ()


def test_readers_never_see_half_an_import(tmp_path):
    """A reader thread taking snapshots while batches are imported sees each batch whole or not at all."""
    stop = threading.Event()
    seen_partial = []

    with Ledger.open(tmp_path, clock=lambda: T0) as shared:
        def reader():
            while not stop.is_set():
                snap = shared.snapshot()
                per_group: dict[str, int] = {}
                for d in snap.debtors:
                    per_group[d.group] = per_group.get(d.group, 0) + 1
                loans_per_group: dict[str, int] = {}
                groups = {d.id: d.group for d in snap.debtors}
                for l in snap.loans:
                    loans_per_group[groups[l.debtor_id]] = loans_per_group.get(groups[l.debtor_id], 0) + 1
                if set(per_group.values()) - {10} or loans_per_group != per_group:
                    seen_partial.append(per_group)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for b in range(15):
                debtors = [debtor(b * 10 + i, group=f"B{b}") for i in range(10)]
                loans = [loan(b * 10 + i, d.id) for i, d in enumerate(debtors)]
                shared.import_batch(debtors, loans, source="test")
        finally:
            stop.set()
            thread.join()
        assert seen_partial == []
        assert len(shared.debtors()) == 150


def test_document_store_is_a_durable_load_save_seam(tmp_path):
    from modem.stores import DriverStore

    with Ledger.open(tmp_path) as first:
        store = first.document_store("modem-driver")
        assert isinstance(store, DriverStore)
        assert store.load() == {}
        state = {"pending": {"12": ["+573001234567", 1]}, "n": 3}
        store.save(state)
        state["n"] = 99  # later mutations of the caller's dict do not leak in
        assert store.load()["n"] == 3
        with pytest.raises(TypeError):
            store.save(["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError)):
            store.save({"x": object()})
    with Ledger.open(tmp_path) as second:
        assert second.document_store("modem-driver").load() == {"pending": {"12": ["+573001234567", 1]}, "n": 3}
        assert second.document_store("other").load() == {}


@pytest.mark.parametrize(
    "error,builtin,words",
    [
        (LedgerLocked("/datos"), None, "otro proceso"),
        (LedgerCorrupt("/datos", "sin copia"), None, "soporte"),
        (LedgerWriteError("/datos/x", "disco lleno"), OSError, "disco lleno"),
        (LedgerClosed("/datos"), None, "cerrados"),
        (LedgerIntegrityError("No existe el préstamo L9."), ValueError, "préstamo"),
    ],
    ids=["locked", "corrupt", "write", "closed", "integrity"],
)
def test_ledger_errors_are_typed_and_spanish(error, builtin, words):
    from firmware_py.errors import CobradorError

    assert isinstance(error, LedgerError) and isinstance(error, CobradorError)
    if builtin is not None:
        assert isinstance(error, builtin)
    assert words in str(error)


def test_snapshot_groups_records_by_debtor(ledger):
    debtors, loans = portfolio(3)
    ledger.import_batch(debtors, loans + [loan(7, debtors[0].id)], source="test")
    pay = ledger.record_payment("L0", 5, date(2026, 1, 2))
    promise = ledger.record_promise(debtors[1].id, date(2026, 12, 1), 9)
    event = ledger.append_contact(contact(debtors[2].id))
    snap = ledger.snapshot(contacts_since=T0 - timedelta(days=1))
    assert [l.external_id for l in snap.loans_of(debtors[0].id)] == ["L0", "L7"]
    assert snap.payments_of(debtors[0].id) == (pay,) and snap.promises_of(debtors[1].id) == (promise,)
    assert snap.contacts_of(debtors[2].id) == (event,) and snap.loans_of("d-nobody") == ()
    for d in debtors:
        assert ledger.loans(debtor_id=d.id) == snap.loans_of(d.id)


def test_sms_claim_without_a_loan_is_assigned_when_confirmed(ledger):
    a = debtor(1)
    b = debtor(2)
    ledger.import_batch([a, b], [loan(1, a.id), loan(2, a.id), loan(3, b.id)], source="test")
    only = ledger.record_payment(None, 40, date(2026, 1, 3), debtor_id=b.id, source="sms")
    assert only.loan_external_id == "L3" and only.status == "pending"  # one loan: it is that one
    claim = ledger.record_payment(None, 50, date(2026, 1, 3), debtor_id=a.id, source="sms")
    assert claim.loan_external_id == "" and claim.debtor_id == a.id
    with pytest.raises(LedgerIntegrityError, match="préstamo"):
        ledger.confirm_payment(claim.id)
    with pytest.raises(LedgerIntegrityError):
        ledger.confirm_payment(claim.id, loan_external_id="L3")  # another debtor's loan
    with pytest.raises(LedgerIntegrityError, match="varios préstamos"):
        ledger.record_payment(None, 50, date(2026, 1, 3), debtor_id=a.id, source="web")
    with pytest.raises(LedgerIntegrityError):
        ledger.record_payment("L3", 50, date(2026, 1, 3), debtor_id=a.id)
    confirmed = ledger.confirm_payment(claim.id, loan_external_id="L2")
    assert confirmed.loan_external_id == "L2" and confirmed.status == "confirmed"
    assert ledger.loan("L2").outstanding == Decimal(250) and ledger.loan("L1").outstanding == Decimal(300)
    assert ledger.payments(loan_external_id="L2") == (confirmed,)


@pytest.mark.parametrize("kind", ["disk", "memory"])
def test_backup_is_a_consistent_openable_copy(tmp_path, kind):
    debtors, loans = portfolio(3)
    source = Ledger.open(tmp_path / "data", clock=lambda: T0) if kind == "disk" else Ledger.memory(clock=lambda: T0)
    with source as ledger:
        ledger.import_batch(debtors, loans, source="test")
        ledger.record_payment("L1", 20, date(2026, 1, 2))
        ledger.settings.set("daily_sms_cap", 9)
        for i in range(5):
            ledger.append_contact(contact(debtors[i % 3].id, T0 + timedelta(days=i * 20)))
        expected = ledger.snapshot(contacts_since=T0 - timedelta(days=1))
        copy = ledger.backup(tmp_path / "usb")
        ledger.record_payment("L2", 5, date(2026, 1, 3))  # after the cut: not in the copy
        ledger.append_contact(contact(debtors[0].id, T0 + timedelta(days=3)))
    assert copy.name == "cobrador-respaldo-20261101T120000"
    with Ledger.open(copy) as restored:
        got = restored.snapshot(contacts_since=T0 - timedelta(days=1))
        assert (got.debtors, got.loans, got.payments, got.settings, got.contacts) == (
            expected.debtors, expected.loans, expected.payments, expected.settings, expected.contacts)
    with Ledger.memory(clock=lambda: T0) as other:
        other.backup(tmp_path / "usb2")
        with pytest.raises(LedgerWriteError):
            other.backup(tmp_path / "usb2")  # the same instant again: never overwrite a backup
