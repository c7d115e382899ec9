"""``cobrador import --dry-run`` says what the import would do, in the fields the real import fills:
compared with the ledger (read-only) when there is one, every loan new when there is none."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path


from firmware_py.importer import ImportOptions, import_loans
from firmware_py.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"
FIELDS = ("imported", "updated", "unchanged", "debtors_created", "debtors_updated", "loans_in_file", "rejected")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def cobrador(*args):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def report_of(*args) -> dict:
    result = cobrador("import", *args, "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def counts(report: dict) -> dict:
    return {name: report[name] for name in FIELDS}


def dry_then_real(source: Path, data: Path) -> tuple[dict, dict]:
    dry = report_of(source, "--dry-run", "--data", data)
    real = report_of(source, "--data", data)
    assert dry["dry_run"] is True and real["dry_run"] is False
    return dry, real


def updated_copy(folder: Path) -> Path:
    """The example list with CR-1001's amount changed and a new loan of a new debtor."""
    lines = LOANS.read_text("utf-8-sig").splitlines()
    lines[1] = lines[1].replace("1.200.000", "1.300.000")
    lines.append("CR-1005;Rosa Elvira Chávez;41.222.333;312 555 6677;800.000;8;mensual;15/02/2027;0;Agro;;")
    target = folder / "cartera_nueva.csv"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_dry_run_without_a_ledger_counts_every_loan_as_new_like_the_import_that_follows(tmp_path):
    dry, real = dry_then_real(LOANS, tmp_path / "data")
    assert counts(dry) == counts(real)
    assert (dry["imported"], dry["updated"], dry["unchanged"], dry["debtors_created"]) == (4, 0, 0, 3)
    assert dry["counts"] == {**real["counts"]}


def test_dry_run_of_the_same_file_again_says_unchanged(tmp_path):
    assert cobrador("import", LOANS, "--data", tmp_path / "data").returncode == 0
    dry, real = dry_then_real(LOANS, tmp_path / "data")
    assert counts(dry) == counts(real)
    assert (dry["imported"], dry["updated"], dry["unchanged"]) == (0, 0, 4)


def test_dry_run_of_an_updated_file_says_what_changes(tmp_path):
    assert cobrador("import", LOANS, "--data", tmp_path / "data").returncode == 0
    dry, real = dry_then_real(updated_copy(tmp_path), tmp_path / "data")
    assert counts(dry) == counts(real)
    assert (dry["imported"], dry["updated"], dry["unchanged"], dry["debtors_created"]) == (1, 1, 3, 1)


def test_dry_run_compares_stored_records_not_views_with_payments_and_opt_outs(tmp_path):
    """An in-app payment (the loan view has it allocated) and an opt-out (the debtor view has the phone opted
    out) change nothing the import compares: the dry run says unchanged, as the import does."""
    data = tmp_path / "data"
    assert cobrador("import", LOANS, "--data", data).returncode == 0
    with Ledger.open(data) as ledger:
        ledger.record_payment("CR-1001", Decimal("50000"), date(2026, 11, 20), source="web")
        ledger.record_opt_out("+573001234567")
    dry, real = dry_then_real(LOANS, data)
    assert counts(dry) == counts(real)
    assert (dry["unchanged"], dry["updated"], dry["debtors_updated"]) == (4, 0, 0)


def test_dry_run_writes_nothing_into_the_ledger(tmp_path):
    data = tmp_path / "data"
    assert cobrador("import", LOANS, "--data", data).returncode == 0
    before = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    dry = report_of(updated_copy(tmp_path), "--dry-run", "--data", data)
    assert dry["imported"] == 1 and dry["updated"] == 1
    assert {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
    with Ledger.open(data, read_only=True) as ledger:
        assert len(ledger.imports()) == 1 and len(ledger.loans()) == 4


def test_dry_run_while_the_service_has_the_ledger_open(tmp_path):
    data = tmp_path / "data"
    assert cobrador("import", LOANS, "--data", data).returncode == 0
    with Ledger.open(data):  # the running service holds the directory
        dry = report_of(updated_copy(tmp_path), "--dry-run", "--data", data)
    assert (dry["imported"], dry["updated"], dry["unchanged"]) == (1, 1, 3)


def test_dry_run_summary_names_new_updated_and_unchanged(tmp_path):
    assert cobrador("import", LOANS, "--data", tmp_path / "data").returncode == 0
    result = cobrador("import", updated_copy(tmp_path), "--dry-run", "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "Créditos que se importarían: 5 (nuevos: 1; actualizados: 1; sin cambios: 3)." in result.stdout


def test_library_dry_run_counts_against_a_ledger_and_writes_nothing():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        options = ImportOptions(dry_run=True, source_name="lista.csv")
        dry = import_loans(LOANS, ledger, now=NOW, options=options)
        assert (dry.imported, dry.debtors_created, dry.dry_run) == (4, 3, True)
        assert ledger.loans() == () and ledger.imports() == ()
        real = import_loans(LOANS, ledger, now=NOW, options=ImportOptions(source_name="lista.csv"))
        assert [getattr(dry, f) for f in FIELDS] == [getattr(real, f) for f in FIELDS]
        again = import_loans(LOANS, ledger, now=NOW, options=options)
        assert (again.imported, again.unchanged) == (0, 4)


def test_library_dry_run_of_a_changed_loan_is_an_update():
    text = "Crédito;Nombre;Cédula;Celular;Monto;Vence\nA;Ana;1;3001234567;100;15/01/2027\n"
    with Ledger.memory(clock=lambda: NOW) as ledger:
        import_loans(io.BytesIO(text.encode()), ledger, now=NOW, options=ImportOptions(source_name="x"))
        changed = text.replace(";100;", ";150;")
        dry = import_loans(io.BytesIO(changed.encode()), ledger, now=NOW,
                           options=ImportOptions(dry_run=True, source_name="x"))
        assert (dry.imported, dry.updated, dry.unchanged, dry.debtors_created) == (0, 1, 0, 0)
        assert ledger.loan("A").total == 100
