"""``cobrador import`` as a real process: exit status, JSON report, mapping, progress, power cut, huge files."""

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_py.commands.import_ import default_rejects_path
from firmware_py.importer.samples import write_loan_csv
from firmware_py.ledger import Ledger
from folder_helpers import read_only_mount

ROOT = Path(__file__).resolve().parents[2]
# The child reports its own peak RSS from /proc (VmHWM belongs to the process image after exec;
# getrusage's ru_maxrss survives execve and would report the forking pytest process's size).
PEAK_RSS_CHILD = ("import sys; from firmware_py.cli import main; rc = main(sys.argv[1:]); "
                  "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')), "
                  "file=sys.stderr); sys.exit(rc)")
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"


def cobrador(*args, timeout=120, **kwargs):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kwargs)


def test_import_json_report_and_exit_status(tmp_path):
    source = tmp_path / "cartera.csv"
    shutil.copy(EXAMPLES / "prestamos_una_fila_por_credito.csv", source)
    result = cobrador("import", source, "--json", "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows_read"], report["imported"], report["updated"], report["rejected"]) == (4, 4, 0, 0)
    assert report["ok"] is True and report["rejections"] == []
    assert report["counts"] == {"read": 4, "imported": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    again = json.loads(cobrador("import", source, "--json", "--data", tmp_path / "data").stdout)
    assert (again["imported"], again["unchanged"]) == (0, 4)
    with Ledger.open(tmp_path / "data") as ledger:
        assert len(ledger.loans()) == 4


def test_rejected_rows_are_listed_and_written_beside_the_file(tmp_path):
    source = tmp_path / "cartera.csv"
    source.write_text("Crédito;Nombre;Cédula;Celular;Monto;Vence\nA;Ana;1;3001234567;100;15/01/2027\n"
                      "B;;2;3001234568;100;15/01/2027\n", encoding="utf-8")
    result = cobrador("import", source, "--json", "--data", tmp_path / "data")
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert report["rejections"] == [{"row": 3, "reason": "falta el nombre"}]
    rejects = tmp_path / "cartera-rechazados.csv"
    assert report["rejects_path"] == str(rejects) and "falta el nombre" in rejects.read_text("utf-8")


def test_nothing_importable_exits_1(tmp_path):
    source = tmp_path / "malo.csv"
    source.write_text("Crédito;Nombre;Cédula;Celular;Monto;Vence\nA;Ana;1;123;100;15/01/2027\n", encoding="utf-8")
    result = cobrador("import", source, "--data", tmp_path / "data")
    assert result.returncode == 1
    assert "teléfono inválido" in result.stdout and "No se importó nada" in result.stderr


@pytest.mark.parametrize("content,fragment", [
    (b"\x00\x01\x02garbage" * 100, "no es un texto CSV"),
    (b"", "vacío"),
    ("Crédito;Nombre;Cédula;Celular;Monto;Vence\n".encode(), "solo tiene los encabezados"),
])
def test_fatal_file_errors_are_spanish_and_import_nothing(tmp_path, content, fragment):
    source = tmp_path / "archivo.csv"
    source.write_bytes(content)
    result = cobrador("import", source, "--data", tmp_path / "data")
    assert result.returncode == 1 and fragment in result.stderr and "Traceback" not in result.stderr
    as_json = cobrador("import", source, "--json", "--data", tmp_path / "data")
    payload = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and payload["ok"] is False and fragment in payload["error"]


def test_rejects_file_cannot_overwrite_the_source(tmp_path):
    source = tmp_path / "c.csv"
    shutil.copy(EXAMPLES / "con_mapeo.csv", source)
    before = source.read_bytes()
    result = cobrador("import", source, "--rejects", source, "--data", tmp_path / "data")
    assert result.returncode == 1 and "no puede ser el mismo" in result.stderr
    assert source.read_bytes() == before


def test_as_of_option(tmp_path):
    ok = cobrador("import", EXAMPLES / "con_mapeo.csv", "--map", EXAMPLES / "mapeo_ejemplo.json", "--as-of",
                  "2026-11-20", "--data", tmp_path / "data")
    assert ok.returncode == 0, ok.stderr
    with Ledger.open(tmp_path / "data") as ledger:
        assert ledger.imports()[-1]["as_of"] == "2026-11-20"
    bad = cobrador("import", EXAMPLES / "con_mapeo.csv", "--as-of", "ayer", "--data", tmp_path / "data")
    assert bad.returncode == 1 and "--as-of" in bad.stderr


def test_missing_file(tmp_path):
    result = cobrador("import", tmp_path / "no.csv", "--data", tmp_path / "data")
    assert result.returncode == 1 and "No se encuentra" in result.stderr


def test_dry_run_does_not_touch_the_ledger(tmp_path):
    result = cobrador("import", EXAMPLES / "cuotas_una_fila_por_cuota.csv", "--dry-run", "--json",
                      "--rejects", tmp_path / "r.csv", "--data", tmp_path / "data")
    assert result.returncode == 0 and json.loads(result.stdout)["loans_in_file"] == 2
    assert not (tmp_path / "data").exists()


def test_map_option(tmp_path):
    result = cobrador("import", EXAMPLES / "con_mapeo.csv", "--map", EXAMPLES / "mapeo_ejemplo.json", "--json",
                      "--data", tmp_path / "data")
    assert result.returncode == 0 and json.loads(result.stdout)["imported"] == 1
    bad_map = tmp_path / "m.json"
    bad_map.write_text('{"Socio": "apodo"}')
    result = cobrador("import", EXAMPLES / "con_mapeo.csv", "--map", bad_map, "--data", tmp_path / "data")
    assert result.returncode == 1 and "campo desconocido" in result.stderr
    bad_map.write_text("no es json")
    result = cobrador("import", EXAMPLES / "con_mapeo.csv", "--map", bad_map, "--data", tmp_path / "data")
    assert result.returncode == 1 and "JSON" in result.stderr


def test_read_only_folder_sends_rejects_to_the_data_dir(tmp_path):
    with read_only_mount(tmp_path / "usb") as stick:  # a stick mounted read-only (root obeys it too)
        assert default_rejects_path(stick / "c.csv", tmp_path / "data") == tmp_path / "data/rechazados/c-rechazados.csv"
        # a dry run writes nothing into the data folder: no rejects file then
        assert default_rejects_path(stick / "c.csv", tmp_path / "seco", dry_run=True) is None
    assert not (tmp_path / "seco").exists()


def test_default_rejects_path_beside_a_writable_file(tmp_path):
    assert default_rejects_path(tmp_path / "lista.csv", tmp_path / "d") == tmp_path / "lista-rechazados.csv"
    assert default_rejects_path(tmp_path / "lista.xlsx", tmp_path / "d") == tmp_path / "lista-rechazados.xlsx"


def test_progress_bar_only_on_a_terminal(tmp_path):
    source = write_loan_csv(tmp_path / "grande.csv", 3000)
    plain = cobrador("import", source, "--dry-run", "--data", tmp_path / "d")
    assert "Importando" not in plain.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "firmware_py", "import", str(source), "--dry-run",
                               "--data", str(tmp_path / "d")], stdout=subprocess.PIPE, stderr=slave, cwd=ROOT,
                              timeout=120)
        os.set_blocking(master, False)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0
    assert b"Importando [" in shown and b"100%" in shown


@pytest.mark.slow
def test_power_cut_at_many_points_leaves_all_or_nothing(tmp_path):
    """SIGKILL a real ``cobrador import`` at 14 moments (6 spread over the run, 8 bisecting towards its commit;
    tests/faults/test_kill_storm.py kills imports 100 more times): the ledger opens and holds none or all of it."""
    first = write_loan_csv(tmp_path / "antes.csv", 50, seed=7)
    template = tmp_path / "plantilla"
    assert cobrador("import", first, "--data", template).returncode == 0
    source = write_loan_csv(tmp_path / "nuevo.csv", 2500, seed=8)
    for path in (tmp_path / "antes-rechazados.csv", tmp_path / "nuevo-rechazados.csv"):
        assert not path.exists()
    # one uninterrupted run: what "all" looks like and how long it takes
    reference = tmp_path / "referencia"
    shutil.copytree(template, reference)
    started = time.monotonic()
    assert cobrador("import", source, "--data", reference).returncode == 0
    duration = time.monotonic() - started
    with Ledger.open(reference) as ledger:
        all_loans = {loan.external_id: loan for loan in ledger.loans()}
    with Ledger.open(template) as ledger:
        before = {loan.external_id: loan for loan in ledger.loans()}
    # the new file updates the 50 loans already there (same ids, new figures) and adds 2450
    assert len(before) == 50 and len(all_loans) == 2500
    assert all(before[k] != all_loans[k] for k in before)
    outcomes = []

    def cut(index: int, delay: float) -> str:
        data = tmp_path / f"corte{index}"
        shutil.copytree(template, data)
        proc = subprocess.Popen([sys.executable, "-m", "firmware_py", "import", str(source), "--data", str(data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        with Ledger.open(data) as ledger:  # opens (recovers) after the cut
            loans = {loan.external_id: loan for loan in ledger.loans()}
        shutil.rmtree(data)
        assert loans in (before, all_loans), f"partial import after a kill at {delay:.3f} s"
        outcome = "all" if loans == all_loans else "none"
        outcomes.append((round(delay, 3), outcome))
        return outcome

    # 10 cuts spread over the whole run, then 15 that bisect towards the moment the import commits
    low, high = 0.0, duration * 1.5
    for index in range(6):
        delay = duration * 1.2 * index / 5
        if cut(index, delay) == "none":
            low = max(low, delay)
        else:
            high = min(high, delay)
    for index in range(6, 14):
        delay = (low + high) / 2
        if cut(index, delay) == "none":
            low = delay
        else:
            high = delay
    print(f"kill outcomes over a {duration:.2f} s run: {outcomes}")
    assert outcomes[0][1] == "none"


@pytest.mark.slow
def test_a_million_rows_are_refused_quickly_with_bounded_memory(tmp_path):
    """A 1,000,000-row file (100 MB, generated here) is streamed through the byte scan and refused with a
    Spanish message before any row is held in memory; nothing is imported."""
    source = write_loan_csv(tmp_path / "millon.csv", 1_000_000)
    code = PEAK_RSS_CHILD
    result = subprocess.run([sys.executable, "-c", code, "import", str(source), "--json", "--data",
                             str(tmp_path / "data")], capture_output=True, text=True, timeout=240, cwd=ROOT)
    payload = json.loads(result.stdout)
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 1 and payload["ok"] is False and payload["reason"] == "too_many_rows"
    assert "Divídalo" in payload["error"]
    assert peak_kb < 100 * 1024, f"peak RSS {peak_kb} KB"
    with Ledger.open(tmp_path / "data") as ledger:
        assert ledger.loans() == ()


@pytest.mark.slow
def test_a_large_file_under_the_limit_streams_its_rejects_to_disk(tmp_path):
    """40,000 rows, every fourth one bad: all good rows imported in one batch, every bad row in the rejects
    file in order, memory bounded."""
    source = write_loan_csv(tmp_path / "grande.csv", 40_000)
    text = source.read_text("utf-8-sig").splitlines()
    for i in range(1, len(text), 4):
        cells = text[i].split(";")
        cells[3] = "123"  # invalid phone
        text[i] = ";".join(cells)
    source.write_text("\r\n".join(text) + "\r\n", encoding="utf-8-sig")
    code = PEAK_RSS_CHILD
    result = subprocess.run([sys.executable, "-c", code, "import", str(source), "--json", "--data",
                             str(tmp_path / "data")], capture_output=True, text=True, timeout=240, cwd=ROOT)
    payload = json.loads(result.stdout)
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0
    assert payload["counts"]["read"] == 40_000 and payload["rejected"] == 10_000 and payload["imported"] == 30_000
    rejects = (tmp_path / "grande-rechazados.csv").read_text("utf-8-sig").splitlines()
    assert len(rejects) == 10_001 and all("teléfono inválido" in line for line in rejects[1:])
    assert [int(line.rsplit(";", 1)[1].split(":")[0][5:]) for line in rejects[1:4]] == [2, 6, 10]
    print(f"40,000-row import: peak RSS {peak_kb // 1024} MB")
    assert peak_kb < 500 * 1024, f"peak RSS {peak_kb} KB"
