"""A note written beside a phone in the loan list (``300 123 4567 (vecina)``): the number is read, and unless the
note only says the number is the debtor's own, the phone is not personal — its messages disclose no amount."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.importer import ImportOptions, import_loans
from firmware_py.importer.parsing import ParseError, parse_phones
from firmware_py.importer.phone_notes import PERSONAL_WORDS, note_is_personal, split_note
from firmware_py.ledger import Ledger
from scheduler.model import debtor_id_for

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Vence"]


def run(phone_cells, ledger):
    buffer = io.StringIO()
    rows = [HEADER] + [[f"CR-{i}", f"Socio {i}", str(1000 + i), cell, "100.000", "15/01/2027"]
                       for i, cell in enumerate(phone_cells)]
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return import_loans(io.BytesIO(buffer.getvalue().encode("utf-8")), ledger, now=NOW,
                        options=ImportOptions(source_name="notas.csv"))


@pytest.mark.parametrize("text,number,note", [
    ("300 123 4567 (vecina)", "300 123 4567", "vecina"),
    ("3001234567 - tienda Don José", "3001234567", "tienda Don José"),
    ("(601) 234 5678 (casa de la mamá)", "(601) 234 5678", "casa de la mamá"),
    ("+57 300 123 4567: recados", "+57 300 123 4567", "recados"),
    ("300 123 4567 celular", "300 123 4567", "celular"),
    ("300 123 4567", "300 123 4567", ""),  # no letter
    ("(601) 234 5678", "(601) 234 5678", ""),  # an area code in parentheses is no note
    ("601 234 5678 ext. 12", "601 234 5678 ext. 12", ""),  # an extension is the phone parser's
    ("Tel 3001234567", "Tel 3001234567", ""),  # a letter before any digit: left whole (and invalid)
], ids=["paren", "dash", "landline-paren", "colon", "word", "plain", "area-code", "extension", "label-first"])
def test_split_note(text, number, note):
    assert split_note(text) == (number, note)


@pytest.mark.parametrize("note,personal", [
    ("", True), ("celular", True), ("WhatsApp", True), ("número personal", True), ("Móvil del socio", True),
    ("vecina", False), ("hija", False), ("celular de la hija", False), ("tienda", False), ("recados", False),
    ("llamar en la tarde", False),
], ids=lambda v: str(v))
def test_note_is_personal(note, personal):
    assert note_is_personal(note) is personal


def test_an_annotated_phone_is_read_and_the_note_decides_whether_it_is_personal():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(["300 123 4567 (vecina)", "310 765 4321 (celular)", "315 222 3344 / 320 111 2233 - hijo"],
                     ledger)
        assert report.imported == 3 and report.rejected == 0
        phones = {p.number: p.personal for i in range(3) for p in ledger.debtor(debtor_id_for(str(1000 + i))).phones}
        assert phones == {"+573001234567": False, "+573107654321": True, "+573152223344": True,
                          "+573201112233": False}
        said = [w.message for w in report.warnings]
        assert any("+573001234567 de Socio 0 tiene la nota «vecina»" in m and "no mostrarán montos" in m
                   for m in said)
        assert any("«hijo»" in m for m in said) and not any("«celular»" in m for m in said)


def test_a_bad_number_with_a_note_says_what_was_read_as_the_number():
    with pytest.raises(ParseError, match=r"«12345 \(vecina\)» \(se leyó el número «12345» y la nota «vecina»\)"):
        parse_phones("12345 (vecina)", "CO")


@pytest.mark.parametrize("cell,expected", [
    ("300 123 4567 (vecina o hija)", [("+573001234567", "vecina o hija")]),
    ("300 123 4567 (tienda, casa)", [("+573001234567", "tienda, casa")]),
    ("300 123 4567 / 310 765 4321 (hijo)", [("+573001234567", ""), ("+573107654321", "hijo")]),
    ("300 123 4567 y 310 765 4321", [("+573001234567", ""), ("+573107654321", "")]),
    ("300 123 4567 / no tiene otro", [("+573001234567", "no tiene otro")]),
], ids=["o-inside-note", "comma-inside-note", "second-phone-noted", "two-phones", "words-after-slash"])
def test_separators_inside_a_note_do_not_split_the_cell(cell, expected):
    assert [(p.e164, p.note) for p in parse_phones(cell, "CO")] == expected


def test_the_same_phone_written_twice_once_with_a_note_is_one_phone_with_the_note():
    assert [(p.e164, p.note) for p in parse_phones("300 123 4567 / 3001234567 (vecina)", "CO")] == \
        [("+573001234567", "vecina")]


words = st.lists(st.sampled_from(sorted(PERSONAL_WORDS) + ["vecina", "hijo", "tienda", "recados", "Doña Rosa",
                                                         "tarde", "esposo", "trabajo", "junta"]),
                 min_size=1, max_size=4).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words, st.sampled_from(["({})", "- {}", ": {}", "{}"]))
def test_a_phone_whose_note_names_anyone_else_never_stays_personal(note, form):
    """Whatever the note and however it is written: the number is the same one, and the phone stays personal
    only when every word of the note is one of the debtor's-own words."""
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run([f"300 123 4567 {form.format(note)}"], ledger)
        assert report.imported == 1
        (phone,) = ledger.debtor(debtor_id_for("1000")).phones
        assert phone.number == "+573001234567"
        own = all(word in PERSONAL_WORDS for word in note.casefold().split())
        assert phone.personal is own
