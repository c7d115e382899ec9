"""The USB stick flow on a directory standing in for the mount point, friendly and hostile sticks."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from firmware_py.config import Config
from firmware_py.ledger import Ledger
from firmware_py.usb import DONE_MARKER, MAX_FILE_BYTES, StickWatcher, candidate_files, process_stick

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_py" / "importer" / "examples"


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        yield ledger


def stick(tmp_path) -> Path:
    mount = tmp_path / "sdb1"
    mount.mkdir()
    return mount


def test_a_stick_with_a_loan_list_is_imported_and_gets_its_results(tmp_path, ledger):
    mount = stick(tmp_path)
    shutil.copy(EXAMPLES / "prestamos_una_fila_por_credito.csv", mount / "cobrador-cartera.csv")
    (mount / "fotos.jpg").write_bytes(b"\xff\xd8")
    report = process_stick(mount, ledger, Config(), now=NOW)
    assert report.imported_files == 1 and not report.error
    assert ledger.stats()["loans"] > 0
    names = {p.name for p in report.results.iterdir()}
    assert {"informe.txt", "contactos.csv", "pagos.csv", "prestamos.csv", "visitas.csv"} <= names
    assert "cobrador-cartera.csv" in (report.results / "informe.txt").read_text()
    assert (mount / DONE_MARKER).exists()
    assert not [p for p in report.results.iterdir() if p.name.endswith(".parcial")]


def test_rejected_rows_come_back_as_a_rejects_file(tmp_path, ledger):
    mount = stick(tmp_path)
    (mount / "COBRADOR_nuevos.csv").write_text("Crédito;Nombre;Cédula;Celular;Monto;Vence\n"
                                               "CR-1;Ana Pérez;111;3001234567;100.000;15/01/2027\n"
                                               "CR-2;;222;3001234568;100.000;15/01/2027\n", encoding="utf-8")
    report = process_stick(mount, ledger, Config(), now=NOW)
    rejects = (report.results / "COBRADOR_nuevos-rechazados.csv").read_text(encoding="utf-8")
    assert "falta el nombre" in rejects and "fila 3" in (report.results / "informe.txt").read_text()


def test_the_report_names_the_sheet_and_lists_the_warnings(tmp_path, ledger):
    """A workbook on the stick: every rejection and warning in informe.txt names the sheet read (issue 13,
    items 2 and 5: the shared-phone warning names every row and debtor, on the stick too)."""
    openpyxl = pytest.importorskip("openpyxl")
    mount = stick(tmp_path)
    book = openpyxl.Workbook()
    book.active.title = "Portada"
    book.active.append(["Cooperativa La Esperanza"])
    sheet = book.create_sheet("Cartera")
    for row in (["Crédito", "Nombre", "Cédula", "Celular", "Monto", "Vence"],
                ["CR-1", "Ana Pérez", 111, "3001234567", 100000, datetime(2027, 1, 15)],
                ["CR-2", None, 222, "3001234568", 100000, datetime(2027, 1, 15)],
                ["CR-3", "Luis Díaz", 333, "3001234567", 200000, datetime(2027, 1, 15)]):
        sheet.append(row)
    book.save(mount / "cobrador-cartera.xlsx")
    report = process_stick(mount, ledger, Config(), now=NOW)
    text = (report.results / "informe.txt").read_text(encoding="utf-8")
    assert "    hoja «Cartera», fila 3: falta el nombre" in text, text
    assert ("    aviso, hoja «Cartera», fila 2: el teléfono +573001234567 lo comparten 2 deudores: Ana Pérez (fila 2) "
            "y Luis Díaz (fila 4)") in text, text


def test_hostile_sticks_are_answered_not_obeyed(tmp_path, ledger):
    mount = stick(tmp_path)
    huge = mount / "cobrador-enorme.csv"
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1024 ** 3)  # a 2 GB (sparse) file
    (mount / "cobrador-etc.csv").symlink_to("/etc/passwd")
    (mount / "cobrador-carpeta.csv").mkdir()
    (mount / "cobrador-binario.xlsx").write_bytes(os.urandom(4096))
    files, notes = candidate_files(mount)
    assert [f.name for f in files] == ["cobrador-binario.xlsx"]
    text = "\n".join(notes)
    assert "2048 MB" in text and "enlace o carpeta" in text
    report = process_stick(mount, ledger, Config(), now=NOW)
    assert report.imported_files == 0 and ledger.stats()["loans"] == 0
    assert "cobrador-binario.xlsx" in (report.results / "informe.txt").read_text()


def test_a_file_bigger_than_the_limit_is_not_read(tmp_path, ledger):
    mount = stick(tmp_path)
    (mount / "cobrador-grande.csv").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    assert candidate_files(mount)[0] == []


def test_a_stick_pulled_out_while_results_are_written_keeps_the_import(tmp_path, ledger):
    mount = stick(tmp_path)
    shutil.copy(EXAMPLES / "prestamos_una_fila_por_credito.csv", mount / "cobrador-cartera.csv")

    def pull_out(step):
        if step == "escribiendo resultados":
            shutil.rmtree(mount)

    report = process_stick(mount, ledger, Config(), now=NOW, progress=pull_out)
    assert report.imported_files == 1 and ledger.stats()["loans"] > 0
    assert "se retiró" in report.error and report.results is None


def test_a_file_that_vanishes_before_it_is_read_imports_nothing(tmp_path, ledger, monkeypatch):
    mount = stick(tmp_path)
    shutil.copy(EXAMPLES / "prestamos_una_fila_por_credito.csv", mount / "cobrador-cartera.csv")

    def gone(step):
        if step.startswith("importando"):
            (mount / "cobrador-cartera.csv").unlink()

    report = process_stick(mount, ledger, Config(), now=NOW, progress=gone)
    assert report.imported_files == 0 and "se retiró" in "\n".join(report.lines)


def test_the_watcher_processes_each_stick_once(tmp_path, ledger):
    root = tmp_path / "usb"
    root.mkdir()
    seen = []
    watcher = StickWatcher(root, seen.append, interval=3600)
    (root / "sdb1").mkdir()
    assert watcher.scan_now() == [root / "sdb1"]
    assert watcher.scan_now() == []
    (root / "sdc1").mkdir()
    (root / "sdc1" / DONE_MARKER).write_text("listo")
    assert watcher.scan_now() == []
    assert seen == [root / "sdb1"]
    with watcher:
        pass
