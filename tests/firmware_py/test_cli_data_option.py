"""``--data DIR`` that does not exist: an error for the commands that only read (export, plan), with nothing
created; ``run`` and ``import`` create it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"


def cobrador(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


READERS = [
    ("export", "loans"),
    ("export", "payments"),
    ("export", "contacts"),
    ("export", "contacts", "--iso"),
    ("plan",),
    ("plan", "--json"),
    ("plan", "--at", "2026-12-15T09:00"),
]


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_missing_data_folder_is_an_error_for_a_reader(tmp_path, command):
    missing = tmp_path / "dtaos"
    result = cobrador(*command, "--data", missing)
    assert result.returncode == 1, result.stdout
    assert f"La carpeta de datos «{missing}» no existe; indique la correcta con --data" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_export_to_a_file_from_a_missing_data_folder_creates_no_file(tmp_path):
    result = cobrador("export", "loans", "--data", tmp_path / "nada", "--out", tmp_path / "prestamos.csv")
    assert result.returncode == 1 and "no existe" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", READERS[:1] + READERS[4:5], ids=" ".join)
def test_a_file_given_as_data_folder_is_an_error(tmp_path, command):
    not_a_folder = tmp_path / "datos.txt"
    not_a_folder.write_text("x")
    result = cobrador(*command, "--data", not_a_folder)
    assert result.returncode == 1 and f"«{not_a_folder}» no es una carpeta" in result.stderr
    assert "--data" in result.stderr and result.stdout == ""


def test_the_default_data_folder_missing_is_said_the_same_way(tmp_path):
    result = cobrador("export", "loans", cwd=tmp_path)  # ./var
    assert result.returncode == 1 and "La carpeta de datos «var» no existe" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_empty_data_folder_still_exports_headers(tmp_path):
    (tmp_path / "datos").mkdir()
    result = cobrador("export", "payments", "--data", tmp_path / "datos")
    assert result.returncode == 0 and result.stdout.lstrip("\ufeff").startswith("Pago;")
    assert "no hay datos" in result.stderr
    plan = cobrador("plan", "--data", tmp_path / "datos")
    assert plan.returncode == 1 and "importe primero" in plan.stderr


def test_import_creates_a_missing_data_folder(tmp_path):
    result = cobrador("import", LOANS, "--json", "--data", tmp_path / "nueva" / "datos")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["imported"] == 4 and (tmp_path / "nueva" / "datos" / "ledger").is_dir()
    dry = cobrador("import", LOANS, "--dry-run", "--data", tmp_path / "otra")  # a dry run needs none, creates none
    assert dry.returncode == 0 and not (tmp_path / "otra").exists()
