"""Fault: the ledger's snapshot and its backup are both garbage (a dying SD card, a bad copy by hand).

``cobrador export ...`` and ``cobrador plan`` must print the Spanish LedgerCorrupt sentence that says what to
do (restore a backup, do not delete the folder), exit 1, and show no Python traceback. Each kind of garbage
is one scenario.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.ledger import Ledger
from scheduler.model import Debtor, Instalment, Loan, Phone

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=timezone(timedelta(hours=-5)))

GARBAGE = {
    "random_bytes": bytes(range(256)) * 8,
    "truncated_json": b'{"version": 1, "docs": {"loans": [{"id": "L1", ',
    "zeros": b"\x00" * 4096,
    "wrong_json_type": b'["not", "a", "snapshot"]',
}
COMMANDS = [("export", "loans"), ("export", "contacts"), ("plan",)]


def cobrador(*args):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    folders = {}
    for name, junk in GARBAGE.items():
        data = tmp_path_factory.mktemp(f"corrupt-{name}")
        with Ledger.open(data, compact_min_bytes=1) as ledger:
            ledger.import_batch([Debtor("d-1", "Socia Uno", phones=(Phone("+573001234501"),))],
                                [Loan("L1", "d-1", instalments=(Instalment(1, date(2026, 12, 15), Decimal(1000)),))],
                                source="test", now=NOW)
            ledger.compact()
            ledger.settings.set("x", "y")
            ledger.compact()  # a second snapshot: state.json.bak exists too
        state = data / "ledger" / "state.json"
        assert state.exists() and state.with_name("state.json.bak").exists()
        for path in (state, state.with_name("state.json.bak")):
            path.unlink()
            path.write_bytes(junk)
        (data / "ledger" / "journal.jsonl").write_bytes(b"")
        folders[name] = data
    return folders


@pytest.mark.slow  # 12 CLI processes, ~10 s per kind of garbage
@pytest.mark.parametrize("garbage", list(GARBAGE))
def test_cli_on_a_corrupted_ledger_says_to_restore_a_backup(corrupted, garbage):
    for command in COMMANDS:
        scenario = f"garbage={garbage}, command={' '.join(command)}"
        result = cobrador(*command, "--data", corrupted[garbage])
        assert result.returncode == 1, f"{scenario}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        said = result.stderr + result.stdout
        assert "Traceback" not in said, f"{scenario}: a traceback was shown:\n{said}"
        assert "dañados" in said and "restaure la última copia de seguridad" in said, f"{scenario}:\n{said}"
        assert "No borre la carpeta" in said, f"{scenario}:\n{said}"
