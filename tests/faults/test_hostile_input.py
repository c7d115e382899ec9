"""Hostile input: arbitrary text into the template functions, random bytes and CSV-ish text into the importer.

Bounded in CI (``COBRADOR_FUZZ_EXAMPLES``, default 150 per property); run more with e.g.
``COBRADOR_FUZZ_EXAMPLES=5000 pytest tests/faults/test_hostile_input.py``. A failure prints hypothesis's
falsifying example (the scenario) and its seed (``@reproduce_failure`` / ``--hypothesis-seed``).

- templates: ``placeholders_in`` / ``substitute`` / ``check_template`` raise only ``TemplateError``;
  substitution never evaluates anything (no format-spec, attribute or index access: a value that would blow
  up if formatted, evaluated or looked up is inserted as is or not at all);
- the importer (``import_loans`` on a BytesIO into ``Ledger.memory()``): only ``ImportFileError`` or a
  report, never another exception; afterwards the ledger still answers (stats, snapshot, loans).

The reply parser is already fuzzed with web-ish (=HYPERLINK(, <b>) and emoji text in
tests/scheduler/test_replies.py; not repeated here.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.importer import ImportFileError, ImportOptions, ImportReport, import_loans
from firmware_py.ledger import Ledger
from scheduler.errors import TemplateError
from scheduler.templates import PLACEHOLDERS, Template, TemplateText, check_template, placeholders_in, substitute

EXAMPLES = int(os.environ.get("COBRADOR_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=timezone(timedelta(hours=-5)))

NAMES = list(PLACEHOLDERS)
TRICKS = ["{", "}", "{{", "}}", "{nombre}", "{cooperativa}", "{monto}", "{nombre!r}", "{nombre:>99999}",
          "{__class__}", "{nombre.__class__}", "{0}", "{}", "{nombre[0]}", "%s", "%(nombre)s", "${nombre}",
          "{{nombre}}", "{{{nombre}}}", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "😀", "\x00", "\u202e",
          "\n", "ñ", "Ş", "{ nombre }", "{NOMBRE}", "{exec('1')}", "{__import__('os').system('x')}"]
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=400)
template_soup = st.lists(st.one_of(st.sampled_from(TRICKS), st.sampled_from([f"{{{n}}}" for n in NAMES]),
                                   st.text(max_size=8)), max_size=40).map("".join)
texts = st.one_of(any_text, template_soup)


class Bomb(str):
    """A value that explodes if anything but plain insertion touches it (format, attribute, index)."""

    def __format__(self, spec):
        raise AssertionError("a value was formatted")

    def __getattr__(self, name):
        raise AssertionError(f"attribute {name} was looked up")


@FUZZ
@given(text=texts)
def test_placeholders_in_raises_only_template_error(text):
    try:
        found = placeholders_in(text, "plantilla")
    except TemplateError as exc:
        assert str(exc)
        return
    assert all(name in PLACEHOLDERS for name in found), (text, found)


@FUZZ
@given(text=texts, values=st.dictionaries(st.sampled_from(NAMES), any_text, max_size=len(NAMES)))
def test_substitute_inserts_values_and_evaluates_nothing(text, values):
    bombs = {k: Bomb(v) for k, v in values.items()}
    out = substitute(text, bombs)
    assert isinstance(out, str)
    assert substitute(text, values) == out
    assert out == reference_substitute(text, values), (text, values, out)


def reference_substitute(text: str, values: dict) -> str:
    """An independent left-to-right reading of the template syntax: ``{{``/``}}`` are braces, ``{name}``
    (no brace inside) is the value or nothing, a lone brace is nothing, everything else is literal."""
    out, i, n = [], 0, len(text)
    while i < n:
        pair = text[i:i + 2]
        if pair in ("{{", "}}"):
            out.append(pair[0])
            i += 2
        elif text[i] == "{":
            j = i + 1
            while j < n and text[j] not in "{}":
                j += 1
            if j < n and text[j] == "}":
                out.append(str.__str__(values.get(text[i + 1:j], "")))
                i = j + 1
            else:
                i += 1
        elif text[i] == "}":
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@FUZZ
@given(personal=texts, shared=texts, language=st.sampled_from(["es", "en", "", "xx"]))
def test_check_template_raises_only_template_error(personal, shared, language):
    template = Template("fuzz", {language: TemplateText(personal, shared)})
    try:
        check_template(template, key="plantillas.fuzz")
    except TemplateError as exc:
        assert str(exc) and exc.key.startswith("plantillas.fuzz"), exc


# -- the importer -------------------------------------------------------------------------------------------------
HEADERS = ["cedula", "nombre", "celular", "telefono", "credito", "cuota", "fecha_vencimiento", "valor_cuota",
           "saldo", "monto", "vence", "numero_cuota", "idioma", "compartido", "Cédula", "NOMBRE", "ID"]
CELLS = st.one_of(st.sampled_from(["", "0", "-1", "3001234567", "+573001234567", "15/12/2026", "2026-12-15",
                                   "31/02/2026", "$1.500.000", "1,5", "1e308", "NaN", "=cmd|' /C calc'!A0", "\"",
                                   "\"\"", "\r", "\n", ";", ",", "\t", "ñandú", "😀", "\x00", "\ufeff", "9" * 400]),
                  st.text(max_size=20))
SEPS = st.sampled_from([",", ";", "\t", "|"])


@st.composite
def csvish(draw):
    sep = draw(SEPS)
    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=10)), min_size=0, max_size=10))
    rows = draw(st.lists(st.lists(CELLS, max_size=12), max_size=15))
    text = "\n".join(sep.join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


def _import(data: bytes, dry_run: bool) -> None:
    ledger = Ledger.memory()
    try:
        try:
            report = import_loans(io.BytesIO(data), ledger, now=NOW,
                                  options=ImportOptions(source_name="fuzz.csv", dry_run=dry_run))
        except ImportFileError as exc:
            assert str(exc), repr(data[:200])
        else:
            assert isinstance(report, ImportReport)
        # the ledger still works whatever happened
        ledger.stats()
        ledger.snapshot()
        ledger.loans()
    finally:
        ledger.close()


@FUZZ
@given(data=st.binary(max_size=2000), dry_run=st.booleans())
def test_importer_on_random_bytes_refuses_or_reports(data, dry_run):
    _import(data, dry_run)


@pytest.mark.slow  # ~5-10 s at 150 examples
@FUZZ
@given(data=csvish(), dry_run=st.booleans())
def test_importer_on_random_csvish_text_refuses_or_reports(data, dry_run):
    _import(data, dry_run)
