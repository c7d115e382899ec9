"""Every rejection reason, the rejects file, and properties of what reaches the ledger."""

import codecs
import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_py.importer import ImportOptions, import_loans
from firmware_py.ledger import Ledger
from scheduler.model import debtor_id_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
LOAN_HEADER = ["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Cuotas", "Frecuencia", "Primera cuota", "Pagado",
               "Estado"]
INSTALMENT_HEADER = ["Crédito", "Cuota", "Vence", "Valor", "Pagado", "Nombre", "Documento", "Teléfono"]
GOOD = ["CR-OK", "Ana Ríos", "1.020.304", "300 123 4567", "1.200.000", "12", "mensual", "15/01/2027", "0", "activo"]


def csv_bytes(lines, *, delimiter=";", encoding="utf-8", bom=True) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(lines)
    return (codecs.BOM_UTF8 if bom and encoding == "utf-8" else b"") + buffer.getvalue().encode(encoding)


def run(data: bytes, ledger, rejects=None, **options):
    return import_loans(io.BytesIO(data), ledger, now=NOW,
                        options=ImportOptions(source_name="prueba.csv", rejects=rejects, **options))


def bad(**changes):
    row = dict(zip(LOAN_HEADER, GOOD))
    row["Crédito"] = "CR-BAD"
    row["Cédula"] = "99"
    row["Celular"] = "310 765 4321"
    row.update({k.replace("_", " "): v for k, v in changes.items()})
    return [row[h] for h in LOAN_HEADER]


LOAN_REASONS = [
    ("missing name", bad(Nombre=""), "falta el nombre"),
    ("name without letters", bad(Nombre="12345"), "no tiene letras"),
    ("missing document", bad(Cédula=""), "falta el documento"),
    ("scientific document", bad(Cédula="1,02E+09"), "notación científica"),
    ("missing phone", bad(Celular=""), "falta el teléfono"),
    ("invalid phone", bad(Celular="123"), "teléfono inválido"),
    ("scientific phone", bad(Celular="3,00123E+09"), "notación científica"),
    ("invalid date", bad(**{"Primera cuota": "31/02/2027"}), "fecha inválida"),
    ("missing date", bad(**{"Primera cuota": ""}), "falta la fecha de vencimiento"),
    ("negative amount", bad(Monto="-5.000"), "monto negativo"),
    ("amount not a number", bad(Monto="mucho"), "no es un número"),
    ("missing amount", bad(Monto=""), "falta el monto"),
    ("negative paid", bad(Pagado="-1"), "valor pagado negativo"),
    ("paid more than owed", bad(Monto="100", Cuotas="1", Pagado="200"), "mayor que el monto"),
    ("bad count", bad(Cuotas="doce"), "no es un número entero"),
    ("too many instalments", bad(Cuotas="9999"), "número de cuotas inválido"),
    ("unknown frequency", bad(Frecuencia="a veces"), "frecuencia desconocida"),
    ("unknown status", bad(Estado="perdido"), "estado desconocido"),
    ("missing loan id", bad(Crédito=""), "falta el número de crédito"),
    ("unknown layout", bad(Monto="", Cuotas="", **{"Primera cuota": ""}), "no corresponde a ningún formato"),
    ("formula in name", bad(Nombre="=HYPERLINK(\"http://evil\";\"x\")"), "fórmula"),
    ("formula in name (+)", bad(Nombre="+cmd|' /C calc'!A0"), "fórmula"),
    ("formula in name (@)", bad(Nombre="@SUM(1+1)"), "fórmula"),
    ("formula in loan id", bad(Crédito="-2+3"), "fórmula"),
]


@pytest.mark.parametrize("line,reason", [c[1:] for c in LOAN_REASONS], ids=[c[0] for c in LOAN_REASONS])
def test_each_row_rejection_reason(line, reason, tmp_path):
    rejects = tmp_path / "rechazados.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes([LOAN_HEADER, GOOD, line]), ledger, rejects)
        assert report.imported == 1 and report.rejected == 1 and report.ok
        assert report.rejections[0].row == 3 and reason in report.rejections[0].reason
        assert ledger.loan("CR-BAD") is None and ledger.loan("CR-OK") is not None
    rows = list(csv.reader(io.StringIO(rejects.read_text("utf-8-sig")), delimiter=";"))
    assert rows[0] == LOAN_HEADER + ["error"]
    assert len(rows) == 2 and reason in rows[1][-1] and rows[1][-1].startswith("fila 3: ")


def test_every_problem_of_a_row_is_listed():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes([LOAN_HEADER, GOOD, bad(Nombre="", Celular="12", Monto="-1")]), ledger)
    reason = report.rejections[0].reason
    assert "falta el nombre" in reason and "teléfono inválido" in reason and "monto negativo" in reason


def test_duplicate_loan_rejects_both_rows():
    lines = [LOAN_HEADER, GOOD, bad(), bad(Monto="5")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        assert ledger.loan("CR-BAD") is None and ledger.loan("CR-OK") is not None
    reasons = {r.row: r.reason for r in report.rejections}
    assert "repetido" in reasons[4] and "fila 3" in reasons[4]
    assert "otra fila del crédito CR-BAD" in reasons[3]


def test_conflicting_debtor_data_for_the_same_document():
    lines = [LOAN_HEADER, GOOD, bad(Crédito="CR-2", Cédula="1020304", Nombre="Otra Persona")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        assert ledger.debtor(debtor_id_for("1020304")).name == "Ana Ríos"
    assert "datos del deudor en conflicto" in report.rejections[0].reason
    assert "fila 2" in report.rejections[0].reason


def test_same_document_with_the_same_name_differently_written_is_one_debtor():
    lines = [LOAN_HEADER, GOOD, bad(Crédito="CR-2", Cédula="1020304", Nombre="ANA  RIOS", Celular="310 765 4321")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        debtor = ledger.debtor(debtor_id_for("1020304"))
        assert report.rejected == 0 and len(ledger.debtors()) == 1
        assert [p.number for p in debtor.phones] == ["+573001234567", "+573107654321"]


def inst(loan, number, due, amount, paid="", name="Rosa Cárdenas", doc="41", phone="300 555 1212"):
    return [loan, str(number), due, amount, paid, name, doc, phone]


def test_duplicate_instalment_rejects_the_whole_loan():
    lines = [INSTALMENT_HEADER, inst("A", 1, "15/01/2027", "100"), inst("A", 2, "15/02/2027", "100"),
             inst("A", 2, "15/03/2027", "100"), inst("A", 3, "15/04/2027", "100"),
             inst("B", 1, "15/01/2027", "100", doc="42", name="Otro", phone="300 555 1213")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        assert ledger.loan("A") is None and ledger.loan("B") is not None
    reasons = {r.row: r.reason for r in report.rejections}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert "cuota repetida" in reasons[4] and "fila 3" in reasons[4]
    assert all("fila 4" in reasons[r] for r in (2, 3, 5))


def test_a_bad_instalment_row_rejects_its_loan_rows_before_and_after():
    lines = [INSTALMENT_HEADER, inst("A", 1, "15/01/2027", "100"), inst("A", 2, "32/02/2027", "100"),
             inst("A", 3, "15/03/2027", "100")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        assert ledger.loans() == () and not report.ok
    assert [r.row for r in report.rejections] == [2, 3, 4]


def test_instalment_row_of_a_loan_with_another_debtor():
    lines = [INSTALMENT_HEADER, inst("A", 1, "15/01/2027", "100"),
             inst("A", 2, "15/02/2027", "100", doc="77", name="Otro", phone="300 555 1213")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
    assert "con otro deudor" in report.rejections[-1].reason


def test_instalment_row_without_debtor_and_no_earlier_row():
    lines = [INSTALMENT_HEADER, inst("A", 1, "15/01/2027", "100", name="", doc="", phone="")]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
    assert "no hay una fila anterior" in report.rejections[0].reason


@pytest.mark.parametrize("line,reason", [
    (inst("A", "", "15/01/2027", "100"), "falta el número de cuota"),
    (inst("A", 0, "15/01/2027", "100"), "1 o mayor"),
    (inst("A", 1, "", "100"), "falta la fecha"),
    (inst("A", 1, "15/01/2027", ""), "falta el valor de la cuota"),
    (inst("A", 1, "15/01/2027", "100", paid="150"), "mayor que el valor de la cuota"),
])
def test_instalment_layout_reasons(line, reason):
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes([INSTALMENT_HEADER, line]), ledger)
    assert reason in report.rejections[0].reason and not report.ok


def test_mixed_encoding_row_is_rejected_and_the_rest_imported(tmp_path):
    good = csv_bytes([LOAN_HEADER, GOOD], bom=False)
    stray = ";".join(bad(Nombre="Andrés Peña")).encode("cp1252") + b"\r\n"
    rejects = tmp_path / "r.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(good + stray, ledger, rejects)
        assert report.imported == 1 and "UTF-8" in report.rejections[0].reason
    # the rejects file is valid UTF-8 and shows the name as the user wrote it
    assert "Andrés Peña" in rejects.read_bytes().decode("utf-8")


@pytest.mark.parametrize("encoding,bom,delimiter", [("utf-8", True, ";"), ("utf-8", False, ","),
                                                    ("cp1252", False, ";"), ("cp1252", False, "\t")])
def test_rejects_file_keeps_the_input_conventions(encoding, bom, delimiter, tmp_path):
    data = csv_bytes([LOAN_HEADER, GOOD, bad(Nombre="", Cédula="7"), bad(Crédito="CR-X", Celular="1")],
                     delimiter=delimiter, encoding=encoding, bom=bom)
    rejects = tmp_path / "r.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(data, ledger, rejects)
    raw = rejects.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) == bom
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)),
                           delimiter=delimiter))
    assert rows[0] == LOAN_HEADER + ["error"]
    assert [r[0] for r in rows[1:]] == ["CR-BAD", "CR-X"]
    assert "Crédito" in rows[0][0]
    assert report.rejects_path == str(rejects)


def test_rejects_file_neutralises_formulas(tmp_path):
    rejects = tmp_path / "r.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        run(csv_bytes([LOAN_HEADER, GOOD, bad(Nombre="=cmd|' /C calc'!A0")]), ledger, rejects)
    row = list(csv.reader(io.StringIO(rejects.read_text("utf-8-sig")), delimiter=";"))[1]
    assert row[1] == "'=cmd|' /C calc'!A0"


def test_fixing_the_rejects_file_and_importing_it_completes_the_import(tmp_path):
    rejects = tmp_path / "r.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        run(csv_bytes([LOAN_HEADER, GOOD, bad(Nombre="")]), ledger, rejects)
        fixed = rejects.read_text("utf-8-sig").replace("CR-BAD;;", "CR-BAD;Bea Soto;")
        report = run(fixed.encode("utf-8"), ledger)
        assert report.imported == 1 and report.rejected == 0 and not report.warnings
        assert ledger.debtor(debtor_id_for("99")).name == "Bea Soto"


def test_no_rejects_file_when_nothing_is_rejected(tmp_path):
    rejects = tmp_path / "r.csv"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes([LOAN_HEADER, GOOD]), ledger, rejects)
    assert not rejects.exists() and report.rejects_path is None


# -- properties ----------------------------------------------------------------------------------------------------
_names = st.sampled_from(["Ana Ríos", "José Peña", "Ñusta Quispe", "Luz Dary Muñoz", "Óscar Zúñiga", "Bea Soto"])
_loans = st.lists(
    st.tuples(st.integers(1, 40),  # document number (several loans may share a debtor)
              st.integers(0, 10**9),  # amount in whole pesos
              st.integers(1, 24),  # number of instalments
              st.dates(min_value=date(2026, 6, 1), max_value=date(2028, 12, 31)),
              st.integers(0, 9_999_999)),  # phone digits
    min_size=1, max_size=25)


def _es_thousands(value: int) -> str:
    return f"{value:,}".replace(",", ".")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_loans, st.sampled_from([(";", "utf-8", True), (",", "utf-8", False), (";", "cp1252", False)]),
       st.sampled_from(["%d/%m/%Y", "%Y-%m-%d"]), st.data())
def test_property_what_reaches_the_ledger_is_what_the_file_says(loans, convention, date_format, data):
    """Any valid loan list, in any supported convention, lands in the ledger exactly, once; re-importing
    changes nothing; a phone is personal exactly when one debtor uses it; no loan of a rejected row exists."""
    delimiter, encoding, bom = convention
    names = {}
    lines = [LOAN_HEADER]
    expected = {}
    for index, (doc, amount, count, first, phone) in enumerate(loans):
        name = names.setdefault(doc, data.draw(_names))
        digits = f"{phone:07d}"
        phone_text = f"300 {digits[:3]} {digits[3:]}"
        loan_id = f"CR-{index}"
        lines.append([loan_id, name, str(doc), phone_text, _es_thousands(amount), str(count), "mensual",
                      first.strftime(date_format), "0", ""])
        expected[loan_id] = (debtor_id_for(str(doc)), Decimal(amount), count, first)
    broken = data.draw(st.integers(0, len(loans)))
    if broken < len(loans):
        lines[broken + 1][4] = "-1" + lines[broken + 1][4]  # a negative amount: this row must be rejected
    payload = csv_bytes(lines, delimiter=delimiter, encoding=encoding, bom=bom)
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(payload, ledger)
        stored = {loan.external_id: loan for loan in ledger.loans()}
        if broken < len(loans):
            assert f"CR-{broken}" not in stored and report.rejections[0].row == broken + 2
            del expected[f"CR-{broken}"]
        assert set(stored) == set(expected)
        for loan_id, (debtor_id, amount, count, first) in expected.items():
            loan = stored[loan_id]
            assert loan.debtor_id == debtor_id and loan.total == amount and len(loan.instalments) == count
            assert loan.instalments[0].due_date == first
        accepted_users: dict[str, set[int]] = {}
        for loan_id in expected:
            line = lines[int(loan_id[3:]) + 1]
            accepted_users.setdefault(line[3], set()).add(int(line[2]))
        e164_users = {"+57" + text.replace(" ", ""): docs for text, docs in accepted_users.items()}
        for debtor in ledger.debtors():
            for phone in debtor.phones:
                assert phone.personal == (len(e164_users[phone.number]) == 1)
        again = run(payload, ledger)
        assert again.imported == 0 and again.updated == 0 and again.unchanged == len(expected)
        assert len(ledger.loans()) == len(expected)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 60), st.integers(0, 10**9))
def test_property_schedule_adds_up_and_paid_never_exceeds_owed(amount, count, paid):
    lines = [LOAN_HEADER, ["A", "Ana", "1", "3001234567", _es_thousands(amount), str(count), "semanal",
                           "01/01/2027", _es_thousands(paid), ""]]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        loan = ledger.loan("A")
        if paid > amount:
            assert loan is None and "mayor que el monto" in report.rejections[0].reason
            return
        assert loan.total == amount and loan.paid == paid and len(loan.instalments) == count
        assert all(i.paid_amount <= i.amount for i in loan.instalments)
        dates = [i.due_date for i in loan.instalments]
        assert all(b - a == timedelta(days=7) for a, b in zip(dates, dates[1:]))
        amounts = [i.amount for i in loan.instalments]
        assert max(amounts[:-1], default=amounts[-1]) <= amounts[-1] < amounts[0] + count


_cell = st.one_of(st.text(max_size=12), st.sampled_from(["", "0", "-1", "1.234,5", "31/12/9999", "01/01/0001",
                                                         "=1+1", "3001234567", "+573001234567", "9" * 30,
                                                         "NaN", "Infinity", "1e999", "mensual", "999"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_cell, min_size=0, max_size=12), min_size=1, max_size=8),
       st.sampled_from([LOAN_HEADER, INSTALMENT_HEADER]))
def test_property_garbage_rows_never_crash_and_never_half_import(rows, header):
    """Any cell content: the import returns a report (or a file error); every row is accounted for; only
    loans of the file reach the ledger, each exactly once."""
    payload = csv_bytes([header] + rows)
    with Ledger.memory(clock=lambda: NOW) as ledger:
        try:
            report = run(payload, ledger)
        except Exception as exc:  # only the typed, Spanish file error may escape
            from firmware_py.importer import ImportFileError
            assert isinstance(exc, ImportFileError), repr(exc)
            assert ledger.loans() == ()
            return
        assert report.rejected == len(report.rejections) <= report.rows_read <= len(rows)
        assert all(r.reason and 2 <= r.row <= len(rows) + 1 for r in report.rejections)
        ids = {str(row[0]).strip() for row in rows if row}
        stored = [loan.external_id for loan in ledger.loans()]
        assert len(stored) == len(set(stored)) == report.imported
        assert set(stored) <= {" ".join(i.split()) for i in ids}


def _dotted(digits: str) -> str:
    return f"{int(digits):,}".replace(",", ".")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**12).map(str), st.sampled_from([str, _dotted, lambda d: f" {d} ", lambda d: d[:-1] + "-" +
                                                          d[-1] if len(d) > 1 else d]),
       st.sampled_from([("Ana Ríos", "ANA RIOS"), ("José Peña", "jose  peña"), ("Ana Ríos", "Beto Soto")]))
def test_property_one_document_is_one_debtor_and_names_must_agree(digits, style, names):
    """However the document is punctuated, it names one debtor; a second loan of that document is accepted
    when the name is the same (ignoring accents, case and spaces) and rejected as a conflict otherwise."""
    first, second = names
    lines = [LOAN_HEADER, ["A", first, digits, "300 123 4567", "100", "1", "", "15/01/2027", "", ""],
             ["B", second, style(digits), "310 765 4321", "200", "1", "", "15/01/2027", "", ""]]
    with Ledger.memory(clock=lambda: NOW) as ledger:
        report = run(csv_bytes(lines), ledger)
        same_person = (first, second) != ("Ana Ríos", "Beto Soto")
        assert len(ledger.debtors()) == 1
        if same_person:
            assert report.rejected == 0 and ledger.loan("B").debtor_id == ledger.loan("A").debtor_id
        else:
            assert ledger.loan("B") is None and "en conflicto" in report.rejections[0].reason
