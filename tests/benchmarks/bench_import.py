"""Benchmark: import 10,000-row loan lists with ``cobrador import``; prints one JSON object per line.

Targets (issue): a 10,000-row CSV imported in under 3 s with peak memory under 150 MB, measured on the
whole ``cobrador import`` process (interpreter start-up included). Each scenario runs in a fresh child
process that reports its own peak RSS (``VmHWM`` from /proc: ru_maxrss would survive execve and include the parent), and also in-process phases
(reading+validation vs the ledger's ``import_batch``; then, for the first import and the unchanged re-import,
the ledger's opening, the parsing (rows read and validated), the planning (``Batch.finish``: debtors, loans,
shared phones) and the ledger's write (``import_batch``)) to show where the time goes.

Run: ``.venv/bin/python tests/benchmarks/bench_import.py [--rows N] [--quick]``

``--rows`` sets the size of every file (default 10,000; the targets are stated for 10,000). ``--quick`` (what
tests/benchmarks/run.py uses) runs one layout (one row per loan, 9 instalments on average): the first import
and the unchanged re-import, without the dry run and the in-process phases — a few seconds.
"""

from __future__ import annotations

import argparse
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
from firmware_py.importer.layouts import Batch
from firmware_py.ledger import Ledger
path, data = sys.argv[1], sys.argv[2]
spent = {}
def timed(owner, name, key):  # a stopwatch around a real method (nothing replaced)
    method = getattr(owner, name)
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - started
    setattr(owner, name, run)
timed(Batch, "finish", "plan")
timed(Ledger, "import_batch", "ledger_write")
def split(run, total, opened):
    plan, write = spent.pop("plan", 0.0), spent.pop("ledger_write", 0.0)
    return {f"{run}_ledger_open_s": round(opened, 3), f"{run}_parse_s": round(total - plan - write, 3),
            f"{run}_plan_s": round(plan, 3), f"{run}_ledger_write_s": round(write, 3)}
if sys.argv[3] == "dry":  # its own process: the import's caches (phones, amounts, dates) start cold in both
    t0 = time.perf_counter()
    import_loans(path, None, now=datetime.now(timezone.utc), options=ImportOptions(dry_run=True))
    print(json.dumps({"read_and_validate_s": round(time.perf_counter() - t0, 3)}))
    sys.exit(0)
detail = {}
for run in ("first", "again"):
    t2 = time.perf_counter()
    with Ledger.open(data) as ledger:
        t3 = time.perf_counter()
        report = import_loans(path, ledger, now=datetime.now(timezone.utc), options=ImportOptions())
        t4 = time.perf_counter()
    if run == "first":
        loans, full = report.imported, t4 - t3
    detail.update(split(run, t4 - t3, t3 - t2))
print(json.dumps({"full_import_s": round(full, 3), "loans": loans, **detail,
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows per file (default 10000)")
    parser.add_argument("--quick", action="store_true", help="one layout, no dry run or phases (seconds)")
    args = parser.parse_args(argv)
    rows = args.rows
    label = f"{rows // 1000}k" if rows % 1000 == 0 else str(rows)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        tmp = Path(tmp)
        files = {f"loan_layout_{label}_rows_avg_9_instalments": lambda: write_loan_csv(tmp / "prestamos.csv", rows)}
        if not args.quick:
            files = {
                f"instalment_layout_{label}_rows": lambda: write_instalment_csv(tmp / "cuotas.csv", rows, per_loan=10),
                f"loan_layout_{label}_rows_one_due_date_each": lambda: write_loan_csv(tmp / "saldos.csv", rows,
                                                                                     counts=(1,)),
                **files,
            }
        for name, make in files.items():
            path = make()
            data = tmp / f"data-{name}"
            first = run_cli(["import", str(path), "--json", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "first import", "rows": rows,
                              **first, "target_s": 3.0, "target_peak_mb": 150,
                              "ok": first["wall_s"] < 3.0 and first["peak_rss_mb"] < 150}), flush=True)
            again = run_cli(["import", str(path), "--json", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "re-import (unchanged)",
                              "rows": rows, **again, "target_s": 3.0, "target_peak_mb": 150,
                              "ok": again["wall_s"] < 3.0 and again["peak_rss_mb"] < 150}), flush=True)
            if args.quick:
                continue
            dry = run_cli(["import", str(path), "--json", "--dry-run", "--data", str(data)])
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "dry run (read + validate only)",
                              "rows": rows, **dry}), flush=True)
            detail = {}
            for mode in ("dry", "import"):
                phases = subprocess.run([sys.executable, "-c", PHASES, str(path), str(tmp / f"phases-{name}"), mode],
                                        capture_output=True, text=True, cwd=ROOT, timeout=600)
                detail.update(json.loads(phases.stdout.strip().splitlines()[-1]))
            detail["ledger_share_s"] = round(detail["full_import_s"] - detail["read_and_validate_s"], 3)
            print(json.dumps({"benchmark": "import", "scenario": name, "run": "in-process phases", **detail}),
                  flush=True)


if __name__ == "__main__":
    main()
