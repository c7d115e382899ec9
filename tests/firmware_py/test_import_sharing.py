"""Who shares a phone and who is the same person, across imports and debtors saved in the web form.

The rule (``firmware_py/ledger/sharing.py``): every debtor listing a number
that two or more debtors list has ``personal=False`` on it, whichever write
brought them, in the same journal line; nothing flips back to personal
automatically. Without a document column, the same name on the same phone is
one person with several loans.

Most tests run on a real directory (``Ledger.open``) and on ``Ledger.memory()``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.errors import LedgerIntegrityError
from firmware_py.importer import ImportOptions, import_loans
from firmware_py.ledger import Ledger
from scheduler.model import Debtor, Phone, debtor_id_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ANA_PHONE = "+573001234567"
HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Vence"]
NO_DOC_HEADER = ["Crédito", "Nombre", "Celular", "Monto", "Vence"]


@pytest.fixture(params=["disk", "memory"])
def ledger(request, tmp_path):
    if request.param == "disk":
        with Ledger.open(tmp_path, clock=lambda: NOW) as opened:
            yield opened
    else:
        with Ledger.memory(clock=lambda: NOW) as opened:
            yield opened


def csv_bytes(lines) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(lines)
    return buffer.getvalue().encode("utf-8")


def run(lines, ledger, **options):
    options.setdefault("source_name", "prueba.csv")
    return import_loans(io.BytesIO(csv_bytes(lines)), ledger, now=NOW, options=ImportOptions(**options))


def row(loan, name, doc, phone, amount="100.000", due="15/01/2027"):
    return [loan, name, doc, phone, amount, due]


def personal(ledger, debtor_id, number=ANA_PHONE) -> bool:
    return ledger.debtor(debtor_id).phone(number).personal


def messages(report) -> list[str]:
    return [w.message for w in report.warnings]


def form_debtor(document: str, name: str, *phones: Phone, **kw) -> Debtor:
    return Debtor(id=debtor_id_for(document), name=name, document=document, phones=phones, **kw)


ANA, LUIS, CARLA = debtor_id_for("111"), debtor_id_for("222"), debtor_id_for("333")


# -- 2: a phone shared across imports ------------------------------------------------------------------------------
def test_phone_shared_across_imports_is_not_personal_on_every_debtor(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    assert personal(ledger, ANA)
    seq = ledger.stats()["seq"]
    report = run([HEADER, row("CR-2", "Luis Díaz", "222", "3001234567", "200.000")], ledger)
    assert not personal(ledger, LUIS)
    assert not personal(ledger, ANA)  # the debtor from the earlier import too
    assert ledger.stats()["seq"] == seq + 1  # Ana re-put in the same journal line as the import
    assert (report.debtors_created, report.debtors_updated) == (1, 1)
    assert ("el teléfono +573001234567 lo comparten 2 deudores: Luis Díaz (fila 2) y Ana Pérez (ya en el sistema): "
            "se marca como no personal y los mensajes no mostrarán montos") in messages(report)


def test_shared_phone_across_imports_survives_reopening(tmp_path):
    with Ledger.open(tmp_path, clock=lambda: NOW) as led:
        run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], led)
        run([HEADER, row("CR-2", "Luis Díaz", "222", "3001234567")], led)
    with Ledger.open(tmp_path, clock=lambda: NOW) as led:
        assert not personal(led, ANA) and not personal(led, LUIS)


def test_shared_phone_warning_names_every_row_and_debtor(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    report = run([HEADER, row("CR-2", "Luis Díaz", "222", "300 123 4567"), row("CR-9", "Beto Gil", "9", "3109998877"),
                  row("CR-3", "Carla Ruiz", "333", "3001234567")], ledger)
    assert ("el teléfono +573001234567 lo comparten 3 deudores: Luis Díaz (fila 2), Carla Ruiz (fila 4) y "
            "Ana Pérez (ya en el sistema): se marca como no personal y los mensajes no mostrarán montos"
            ) in messages(report)
    assert [w.row for w in report.warnings if "comparten" in w.message] == [2]
    assert not any(personal(ledger, d) for d in (ANA, LUIS, CARLA))
    assert ledger.debtor(debtor_id_for("9")).phones[0].personal


def test_shared_phone_in_one_file_names_every_row(ledger):
    report = run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"),
                  row("CR-2", "Luis Díaz", "222", "3001234567")], ledger)
    assert any("lo comparten 2 deudores: Ana Pérez (fila 2) y Luis Díaz (fila 3)" in m for m in messages(report))


def test_ledger_applies_the_rule_to_import_batch_callers_too(ledger):
    ana = form_debtor("111", "Ana Pérez", Phone(ANA_PHONE))
    ledger.import_batch([ana], [], source="a")
    outcome = ledger.import_batch([form_debtor("222", "Luis Díaz", Phone(ANA_PHONE))], [], source="b")
    assert not personal(ledger, ANA) and not personal(ledger, LUIS)
    assert (outcome.debtors_created, outcome.debtors_updated) == (1, 1)
    again = ledger.import_batch([form_debtor("222", "Luis Díaz", Phone(ANA_PHONE))], [], source="b")
    assert not again.changed


def test_number_no_longer_shared_stays_not_personal_until_staff_confirm(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"), row("CR-2", "Luis Díaz", "222", "3001234567")],
        ledger)
    # Luis changes his number: Ana is alone on hers, but an import does not make it personal again
    report = run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"), row("CR-2", "Luis Díaz", "222", "3105556677")],
                 ledger)
    assert not any("comparten" in m for m in messages(report))
    assert not personal(ledger, ANA) and personal(ledger, LUIS, "+573105556677")
    # staff confirm it in the debtor form
    ana = ledger.debtor(ANA)
    outcome = ledger.save_debtor(replace(ana, phones=(Phone(ANA_PHONE, personal=True),)))
    assert outcome.updated and outcome.debtor.phone(ANA_PHONE).personal and personal(ledger, ANA)
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    assert personal(ledger, ANA)


def test_import_never_flips_a_phone_staff_marked_not_personal(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    ledger.save_debtor(replace(ledger.debtor(ANA), phones=(Phone(ANA_PHONE, personal=False),)))
    report = run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567", "150.000")], ledger)
    assert report.updated == 1 and not personal(ledger, ANA)


# -- 2: the web form's save path -----------------------------------------------------------------------------------
def test_save_debtor_on_a_number_in_use_marks_every_debtor_on_it(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    seq = ledger.stats()["seq"]
    outcome = ledger.save_debtor(form_debtor("222", "Luis Díaz", Phone(ANA_PHONE)), now=NOW)
    assert outcome.created and not outcome.updated and outcome.changed
    assert outcome.marked_not_personal == (ANA,) and outcome.shared == {ANA_PHONE: (ANA,)}
    assert not outcome.debtor.phone(ANA_PHONE).personal
    assert not personal(ledger, ANA) and not personal(ledger, LUIS)
    assert ledger.stats()["seq"] == seq + 1
    assert outcome.warnings == ("el teléfono +573001234567 también lo usa Ana Pérez: se marca como no personal y "
                                "los mensajes no mostrarán montos",)


def test_save_debtor_edit_adding_a_number_marks_only_that_number(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"), row("CR-2", "Luis Díaz", "222", "3105556677"),
         row("CR-3", "Carla Ruiz", "333", "3001234567")], ledger)
    luis = ledger.debtor(LUIS)
    outcome = ledger.save_debtor(replace(luis, phones=luis.phones + (Phone(ANA_PHONE),)))
    assert outcome.updated and outcome.marked_not_personal == ()  # Ana and Carla were already not personal
    assert outcome.shared == {ANA_PHONE: (ANA, CARLA)}
    assert "también lo usan Ana Pérez y Carla Ruiz" in outcome.warnings[0]
    assert personal(ledger, LUIS, "+573105556677") and not personal(ledger, LUIS)


def test_save_debtor_cannot_mark_a_shared_number_personal(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"), row("CR-2", "Luis Díaz", "222", "3001234567")],
        ledger)
    outcome = ledger.save_debtor(replace(ledger.debtor(ANA), phones=(Phone(ANA_PHONE, personal=True),)))
    assert not outcome.changed and not personal(ledger, ANA)
    assert any("no puede marcarse como personal" in w for w in outcome.warnings)


def test_save_debtor_identical_writes_nothing_and_keeps_opt_outs_apart(ledger):
    ledger.save_debtor(form_debtor("111", "Ana Pérez", Phone(ANA_PHONE)))
    ledger.record_opt_out(ANA_PHONE)
    view = ledger.debtor(ANA)
    assert view.phones[0].opted_out
    seq = ledger.stats()["seq"]
    outcome = ledger.save_debtor(view)  # the form sends back what it showed
    assert not outcome.changed and ledger.stats()["seq"] == seq
    ledger.clear_opt_out(ANA_PHONE)
    assert not ledger.debtor(ANA).phones[0].opted_out


@pytest.mark.parametrize("debtor, words", [
    (form_debtor("111", "12345", Phone(ANA_PHONE)), "no tiene letras"),
    (form_debtor("111", "Ana Pérez"), "al menos un teléfono"),
    (replace(form_debtor("999", "Rosa Gil", Phone(ANA_PHONE)), id="d-otro"), "no corresponde al documento"),
    (replace(form_debtor("111", "Luis Díaz", Phone("+573105556677")), id="d-luis"), "otro deudor"),
], ids=["name-without-letters", "no-phone", "new-id-not-from-document", "document-of-another-debtor"])
def test_save_debtor_refuses_what_import_would_refuse(ledger, debtor, words):
    ledger.save_debtor(form_debtor("111", "Ana Pérez", Phone("+573009990000")))
    seq = ledger.stats()["seq"]
    with pytest.raises(LedgerIntegrityError) as info:
        ledger.save_debtor(debtor)
    assert words in str(info.value) and ledger.stats()["seq"] == seq


def test_save_debtor_adding_a_document_to_a_debtor_without_one_warns_that_imports_will_not_match(ledger):
    ledger.save_debtor(Debtor(id="d-web-1", name="Rosa Gil", phones=(Phone("+573105556677"),)))
    outcome = ledger.save_debtor(Debtor(id="d-web-1", name="Rosa Gil", document="555",
                                        phones=(Phone("+573105556677"),)))
    assert outcome.updated and ledger.debtor("d-web-1").document == "555"
    assert any("lo tomará por otro deudor" in w for w in outcome.warnings)


def test_save_debtor_needs_a_debtor(ledger):
    with pytest.raises(TypeError):
        ledger.save_debtor({"id": "d-1", "name": "Ana"})


# -- 17: same name on the same phone without a document column -----------------------------------------------------
@pytest.mark.parametrize("second_name, second_phone", [
    ("Ana Pérez", "3001234567"), ("ANA  PEREZ", "300 123 4567"), ("ana pérez", "3001234567 / 3109998877"),
], ids=["identical", "case-accents-spaces", "one-phone-in-common"])
def test_same_name_and_phone_without_document_is_one_debtor_with_two_loans(ledger, second_name, second_phone):
    lines = [NO_DOC_HEADER, ["CR-1", "Ana Pérez", "3001234567", "100.000", "15/01/2027"],
             ["CR-2", second_name, second_phone, "200.000", "15/02/2027"]]
    report = run(lines, ledger)
    ana = debtor_id_for("credito-CR-1")
    assert [d.id for d in ledger.debtors()] == [ana] and report.debtors_in_file == 1
    assert [loan.debtor_id for loan in ledger.loans()] == [ana, ana]
    assert ledger.debtor(ana).name == "Ana Pérez" and personal(ledger, ana)
    assert ("se asumió que es la misma persona: mismo nombre y teléfono en las filas 2 y 3"
            in messages(report))
    assert not any("comparten" in m for m in messages(report))
    again = run(lines, ledger)
    assert (again.unchanged, again.debtors_created) == (2, 0) and len(ledger.debtors()) == 1


def test_same_name_and_phone_without_document_in_the_instalment_layout(ledger):
    header = ["Crédito", "Cuota", "Nombre", "Celular", "Valor", "Vence"]
    report = run([header, ["CR-1", "1", "Ana Pérez", "3001234567", "100", "15/01/2027"],
                  ["CR-1", "2", "Ana Pérez", "3001234567", "100", "15/02/2027"],
                  ["CR-2", "1", "Ana Pérez", "3001234567", "300", "15/03/2027"]], ledger)
    assert len(ledger.debtors()) == 1 and report.imported == 2
    assert "se asumió que es la misma persona: mismo nombre y teléfono en las filas 2 y 4" in messages(report)


def test_without_document_merging_is_transitive_over_phones(ledger):
    header = ["Crédito", "Nombre", "Celular", "Celular 2", "Monto", "Vence"]
    run([header, ["CR-1", "Ana Pérez", "3001234567", "", "1", "15/01/2027"],
         ["CR-2", "Ana Pérez", "3001234567", "3109998877", "1", "15/01/2027"],
         ["CR-3", "Ana Pérez", "3109998877", "", "1", "15/01/2027"]], ledger)
    (ana,) = ledger.debtors()
    assert [p.number for p in ana.phones] == [ANA_PHONE, "+573109998877"] and all(p.personal for p in ana.phones)
    assert {loan.debtor_id for loan in ledger.loans()} == {ana.id}


@pytest.mark.parametrize("lines", [
    [NO_DOC_HEADER, ["CR-1", "Ana Pérez", "3001234567", "1", "15/01/2027"],
     ["CR-2", "Luis Díaz", "3001234567", "1", "15/01/2027"]],
    [HEADER, row("CR-1", "Ana Pérez", "111", "3001234567"), row("CR-2", "Ana Pérez", "222", "3001234567")],
], ids=["different-names-no-document", "same-name-different-documents"])
def test_different_people_on_one_phone_stay_two_debtors_sharing_it(ledger, lines):
    report = run(lines, ledger)
    debtors = ledger.debtors()
    assert len(debtors) == 2 and not any(d.phones[0].personal for d in debtors)
    assert any("lo comparten 2 deudores" in m for m in messages(report))
    assert not any("misma persona" in m for m in messages(report))


def test_without_document_same_name_on_other_phones_stays_two_debtors(ledger):
    run([NO_DOC_HEADER, ["CR-1", "Ana Pérez", "3001234567", "1", "15/01/2027"],
         ["CR-2", "Ana Pérez", "3109998877", "1", "15/01/2027"]], ledger)
    assert len(ledger.debtors()) == 2 and all(d.phones[0].personal for d in ledger.debtors())


def test_without_document_same_person_across_imports_reuses_the_stored_debtor(ledger):
    run([NO_DOC_HEADER, ["CR-1", "Ana Pérez", "3001234567", "100.000", "15/01/2027"]], ledger)
    ana = debtor_id_for("credito-CR-1")
    report = run([NO_DOC_HEADER, ["CR-2", "ANA PEREZ", "300 123 4567", "200.000", "15/02/2027"]], ledger)
    assert [d.id for d in ledger.debtors()] == [ana]
    assert ledger.loan("CR-2").debtor_id == ana and personal(ledger, ana)
    assert ("se asumió que es la misma persona que Ana Pérez (ya en el sistema): mismo nombre y teléfono (fila 2)"
            in messages(report))
    again = run([NO_DOC_HEADER, ["CR-2", "ANA PEREZ", "300 123 4567", "200.000", "15/02/2027"]], ledger)
    assert again.unchanged == 1 and len(ledger.debtors()) == 1


def test_without_document_a_stored_debtor_with_a_document_is_not_assumed_the_same(ledger):
    run([HEADER, row("CR-1", "Ana Pérez", "111", "3001234567")], ledger)
    report = run([NO_DOC_HEADER, ["CR-2", "Ana Pérez", "3001234567", "1", "15/01/2027"]], ledger)
    assert len(ledger.debtors()) == 2 and not personal(ledger, ANA)
    assert any("lo comparten 2 deudores" in m for m in messages(report))


# -- property: after every import and every save, a number of several debtors is personal on none ------------------
_POOL = ["3001110000", "3001110001", "3001110002"]
_PEOPLE = [("111", "Ana Pérez"), ("222", "Luis Díaz"), ("333", "Carla Ruiz"), ("444", "Beto Gil")]
_phones = st.lists(st.sampled_from(_POOL), min_size=1, max_size=2, unique=True)
_import_step = st.tuples(st.just("import"), st.lists(st.tuples(st.integers(0, 3), _phones), min_size=1, max_size=4))
_save_step = st.tuples(st.just("save"), st.tuples(st.integers(0, 3), st.lists(st.tuples(st.sampled_from(_POOL),
                                                                                          st.booleans()),
                                                                                min_size=1, max_size=3,
                                                                                unique_by=lambda p: p[0])))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_import_step, _save_step), min_size=1, max_size=6))
def test_property_a_number_of_several_debtors_is_never_personal(steps):
    with Ledger.memory(clock=lambda: NOW) as ledger:
        for index, (kind, payload) in enumerate(steps):
            before = {(d.id, p.number): p.personal for d in ledger.debtors() for p in d.phones}
            if kind == "import":
                lines = [HEADER] + [row(f"CR-{index}-{j}", _PEOPLE[who][1], _PEOPLE[who][0], " / ".join(numbers))
                                    for j, (who, numbers) in enumerate(payload)]
                assert run(lines, ledger).rejected == 0
            else:
                who, phones = payload
                document, name = _PEOPLE[who]
                ledger.save_debtor(form_debtor(document, name, *(Phone("+57" + n, personal=p) for n, p in phones)),
                                   now=NOW + timedelta(minutes=index))
            users: dict[str, list[Debtor]] = {}
            for debtor in ledger.debtors():
                for phone in debtor.phones:
                    users.setdefault(phone.number, []).append(debtor)
            for number, debtors in users.items():
                if len(debtors) > 1:
                    assert not any(d.phone(number).personal for d in debtors), (number, debtors)
            if kind == "import":  # an import never makes a phone personal again
                for debtor in ledger.debtors():
                    for phone in debtor.phones:
                        if before.get((debtor.id, phone.number)) is False:
                            assert not phone.personal
