"""What the ``cobrador`` command tells the office: a ledger in use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from firmware_py.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"


def cobrador(*args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# -- 15: a ledger already open says what to do -------------------------------------------------
def test_a_ledger_in_use_says_how_to_stop_the_service_or_use_the_web_page(tmp_path):
    with Ledger.open(tmp_path / "data"):
        result = cobrador("import", EXAMPLES / "prestamos_una_fila_por_credito.csv", "--data", tmp_path / "data")
    assert result.returncode == 1
    assert "sudo systemctl stop cobrador" in result.stderr and "página web" in result.stderr, result.stderr
