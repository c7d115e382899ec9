"""Benchmark: import 10,000-row loan lists with ``cobrador import``; prints one JSON object per line.

Targets (issue): a 10,000-row CSV imported in under 3 s with peak memory under 150 MB, measured on the
whole ``cobrador import`` process (interpreter start-up included). Each scenario runs in a fresh child
process that reports its own peak RSS (``VmHWM`` from /proc: ru_maxrss would survive execve and include the parent), and also in-process phases
(reading+validation vs the ledger's ``import_batch``) to show where the time goes.

Run: ``.venv/bin/python tests/benchmarks/bench_import.py``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from firmware_py.importer.samples import write_instalment_csv, write_loan_csv  # noqa: E402

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from firmware_py.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "seconds_in_main": round(time.perf_counter() - started, 3),
                  "peak_rss_mb": round(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024, 1)}),
      file=sys.stderr)
"""

PHASES = """
import json, resource, sys, time
from datetime import datetime, timezone
from firmware_py.importer import ImportOptions, import_loans
from firmware_py.ledger import Ledger
path, data = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
dry = import_loans(path, None, now=datetime.now(timezone.utc), options=ImportOptions(dry_run=True))
t1 = time.perf_counter()
with Ledger.open(data) as ledger:
    t2 = time.perf_counter()
    report = import_loans(path, ledger, now=datetime.now(timezone.utc), options=ImportOptions())
    t3 = time.perf_counter()
print(json.dumps({"read_and_validate_s": round(t1 - t0, 3), "full_import_s": round(t3 - t2, 3),
                  "ledger_share_s": round((t3 - t2) - (t1 - t0), 3), "loans": report.imported,
                  "peak_rss_mb": round(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024, 1)}))
"""


def run_cli(args: list[str]) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=600)
    wall = time.perf_counter() - started
    child = json.loads(result.stderr.strip().splitlines()[-1])
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return {"wall_s": round(wall, 3), **child, "rows_read": report.get("rows_read"),
            "imported": report.get("imported"), "unchanged": report.get("unchanged"),
            "rejected": report.get("rejected")}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmp = Path(tmp)
        files = {
            "instalment_layout_10k_rows": write_instalment_csv(tmp / "cuotas.csv", 10_000, per_loan=10),
            "loan_layout_10k_rows_one_due_date_each": write_loan_csv(tmp / "saldos.csv", 10_000, counts=(1,)),
            "loan_layout_10k_rows_avg_9_instalments": write_loan_csv(tmp / "prestamos.csv", 10_000),
        }
        for name, path in files.items():
            data = tmp / f"data-{name}"
            rows = 10_000
            first = run_cli(["import", str(path), "--json", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "first import", "rows": rows,
                              **first, "target_s": 3.0, "target_peak_mb": 150,
                              "ok": first["wall_s"] < 3.0 and first["peak_rss_mb"] < 150}), flush=True)
            again = run_cli(["import", str(path), "--json", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "re-import (unchanged)",
                              "rows": rows, **again, "target_s": 3.0, "target_peak_mb": 150,
                              "ok": again["wall_s"] < 3.0 and again["peak_rss_mb"] < 150}), flush=True)
            dry = run_cli(["import", str(path), "--json", "--dry-run", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "dry run (read + validate only)",
                              "rows": rows, **dry}), flush=True)
            phases = subprocess.run([sys.executable, "-c", PHASES, str(path), str(tmp / f"phases-{name}")],
                                    capture_output=True, text=True, cwd=ROOT, timeout=600)
            detail = json.loads(phases.stdout.strip().splitlines()[-1])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "in-process phases", **detail}),
                  flush=True)


if __name__ == "__main__":
    main()
