"""Run every benchmark of tests/benchmarks and print one normalised JSON line per figure, then a summary.

Run: .venv/bin/python tests/benchmarks/run.py [--full] [--only pdu,ledger] [--timeout 900]

Each ``bench_*.py`` runs as a subprocess. By default each gets its quick/small options (the whole run
takes a few minutes); ``--full`` passes none, i.e. their large defaults. Their JSON lines use different
keys, so the small table ``FIGURES`` below turns each line into figures with the same keys::

    {"name", "value", "unit", "parameters", "target", "direction", "met", "bench", "raw"}

``target`` is set only where the benchmark states one; ``direction`` is "<=" or ">=" and ``met`` is
true/false against it (or the benchmark's own ``ok``/``pass`` verdict), null without a target.
A benchmark that fails (non-zero exit, timeout, unparsable line) prints
``{"name": "<bench>.error", "error": ...}`` and the runner goes on. The run ends with a human table
(figure, value, target, met?) on stdout after the JSON lines; exit status 1 if a benchmark failed.

Not collected by pytest (no ``test_`` prefix and no test functions).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# name -> (script, quick options). The order is cheap first.
BENCHES: dict[str, tuple[str, list[str]]] = {
    "at_parser": ("bench_at_parser.py", ["--repeat", "3"]),
    "pdu": ("bench_pdu.py", []),
    "voice": ("bench_voice.py", ["--runs", "3"]),
    "simulator": ("bench_simulator.py", []),
    "planner": ("bench_planner.py", ["--sizes", "1000,10000", "--runs", "1"]),
    "ledger": ("bench_ledger.py", ["--sizes", "1000,10000", "--writes", "40"]),
    "import": ("bench_import.py", ["--quick"]),
    "modem": ("bench_modem.py", ["--quick"]),
    "pool": ("bench_pool.py", ["--quick"]),
    "dispatch": ("bench_dispatch.py", ["--quick"]),
    "web": ("bench_web.py", ["--debtors", "1000", "--contacts", "20000", "--requests", "40", "--warmup", "3",
                             "--budget", "15"]),
    "appliance": ("bench_appliance.py", ["--debtors", "1000", "--contacts", "20000", "--settle", "5"]),
}


def fig(name, value, unit, parameters=None, target=None, direction=None, met=None):
    if met is None and target is not None and value is not None and direction:
        met = value <= target if direction == "<=" else value >= target
    return {"name": name, "value": value, "unit": unit, "parameters": parameters or {}, "target": target,
            "direction": direction if target is not None else None, "met": met}


def _params(row: dict, *keys: str) -> dict:
    return {k: row[k] for k in keys if k in row}


def at_parser(row):
    if row.get("bench") == "at_parser_session":
        return [fig(f"at_parser.session.{row['feed']}", row["mb_per_s"], "MB/s",
                    _params(row, "bytes", "events", "seconds", "events_per_s"))]
    return [fig("at_parser.garbage", row["mb_per_s"], "MB/s", _params(row, "bytes", "events", "seconds")),
            fig("at_parser.garbage.peak_memory", row["peak_kib"], "KiB", _params(row, "bytes", "max_buffered"))]


def pdu(row):
    # the docstring: "anything above ~1,000 PDUs/s is far beyond need"
    value = row.get("pdus_per_second", row["calls_per_second"])
    unit = "PDUs/s" if "pdus_per_second" in row else "calls/s"
    return [fig(row["benchmark"], value, unit, _params(row, "calls", "seconds", "us_per_call", "segments"),
                1000, ">=")]


def simulator(row):
    unit = {"pty_round_trip": "commands/s", "pty_cmgs": "messages/s", "incoming_cmt": "messages/s",
            "interpreter_lines": "lines/s"}.get(row["bench"], "per s")
    return [fig(f"simulator.{row['bench']}", row["per_second"], unit,
                {k: v for k, v in row.items() if k not in ("bench", "per_second")})]


def ledger(row):
    kind = row.get("bench")
    if kind == "ledger_write_latency":
        p = {"history": row["history"], "writes": row["writes"]}
        return [fig(f"ledger.contact_append.p95@{row['history']}", row["contact_append"]["p95_ms"], "ms", p),
                fig(f"ledger.hot_update.p95@{row['history']}", row["hot_update"]["p95_ms"], "ms", p),
                fig(f"ledger.snapshot_7d@{row['history']}", row["snapshot_last_7d_next_ms"], "ms", p),
                fig(f"ledger.load@{row['history']}", row["load_s"], "s", p)]
    if kind == "fsync_floor":
        return [fig("ledger.fsync_floor.p95", row.get("p95_ms"), "ms")]
    if kind == "ledger_operations":
        p = _params(row, "debtors", "loans")
        return [fig("ledger.import", row["import_s"], "s", p),
                fig("ledger.reimport_unchanged", row["reimport_unchanged_s"], "s", p),
                fig("ledger.snapshot", row["snapshot_ms"], "ms", p)]
    if kind == "tinydb_jsonstorage_insert":
        return [fig(f"ledger.tinydb_baseline.p95@{row['history']}", row.get("p95_ms"), "ms")]
    if kind == "ledger_write_ratio":
        p = {"from": row["from"], "to": row["to"]}
        return [fig(f"ledger.{k}", v, "ratio", p, row["target"], "<=")
                for k, v in row.items() if k.endswith("_ratio")]
    return None


def import_(row):
    p = {"scenario": row["scenario"], "rows": row.get("rows")}
    run = row["run"]
    if run == "in-process phases":
        return [fig(f"import.{row['scenario']}.phases.{k}", v,
                    "s" if k.endswith("_s") else "MB" if k.endswith("_mb") else "count", p)
                for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    short = {"first import": "first", "re-import (unchanged)": "reimport",
             "dry run (read + validate only)": "dry_run"}.get(run, run)
    out = [fig(f"import.{row['scenario']}.{short}.wall", row["wall_s"], "s", p,
               row.get("target_s"), "<=" if "target_s" in row else None)]
    if "peak_rss_mb" in row:
        out.append(fig(f"import.{row['scenario']}.{short}.peak_rss", row["peak_rss_mb"], "MB", p,
                       row.get("target_peak_mb"), "<=" if "target_peak_mb" in row else None))
    return out


def planner(row):
    # already normalised by bench_planner's emit(); its "ok" is the verdict (plan_growth allows 12 for target 10)
    size = (row.get("parameters") or {}).get("loans")
    name = f"planner.{row['name']}" + (f"@{size}" if size and row["name"] != "plan_growth" else "")
    return [fig(name, row["value"], row["unit"], row.get("parameters"), row.get("target"), "<=",
                row.get("ok") if row.get("target") is not None else None)]


def modem(row):
    if row.get("bench") == "sms_throughput":
        return [fig(f"modem.sms_throughput.{row['profile']}", row["sms_per_second"], "SMS/s",
                    _params(row, "messages", "reports_matched"), row.get("target"), ">=")]
    if row.get("bench") == "dead_time":
        return [fig(f"modem.dead_time.max.{row['profile']}.{row['store'].split()[0]}", row["max_ms"], "ms",
                    _params(row, "latency_s", "sends", "median_ms"), row.get("target_ms"), "<=")]
    return None


def pool(row):
    p = _params(row, "members", "latency_s", "messages", "shares")
    return [fig(f"pool.throughput.{row['members']}", row["sms_per_second"], "SMS/s", p),
            fig(f"pool.speedup.{row['members']}", row["speedup"], "x", p, row.get("target_speedup"), ">=")]


def dispatch(row):
    if row.get("bench") == "dispatch_throughput":
        p = _params(row, "latency_s", "reminders", "submissions", "radio_limit_per_minute")
        out = [fig(f"dispatch.{row['path']}.reminders_per_minute", row.get("reminders_per_minute"), "/min", p)]
        if "utilisation" in row:  # one figure per modem (a list) for our path, a number for gammu's
            value = min(row["utilisation"]) if isinstance(row["utilisation"], list) else row["utilisation"]
            out.append(fig(f"dispatch.{row['path']}.utilisation", value, "fraction", p,
                           row.get("target_utilisation"), ">="))
        return out
    if row.get("bench") == "dispatch_scaling":
        p = _params(row, "latency_s", "reminders", "radio_limit_per_minute")
        return [fig("dispatch.4_modems.reminders_per_minute", row.get("reminders_per_minute"), "/min", p),
                fig("dispatch.4_modems.speedup", row["speedup"], "x", p, row.get("target_speedup"), ">=")]
    return None


def web(row):
    if row.get("bench") == "web_page":
        return [fig(f"web.{row['page']}.p95", row["p95_ms"], "ms", _params(row, "requests", "p50_ms", "first_ms"),
                    row.get("target_p95_ms"), "<=", row.get("ok"))]
    if row.get("bench") == "web_data":
        return []
    return None


def appliance(row):
    if row.get("bench") == "appliance_ready":
        return [fig(f"appliance.ready_{row['data']}", row["seconds"], "s", _params(row, "debtors", "contacts"),
                    row["target_s"], "<=")]
    if row.get("bench") == "appliance_rss":
        return [fig("appliance.rss", row["rss_mb"], "MB", _params(row, "debtors", "contacts", "settle_s"),
                    row["target_mb"], "<="),
                fig("appliance.peak_rss", row["peak_mb"], "MB", _params(row, "debtors", "contacts"))]
    return []


def voice(row):
    # the docstring: a message is rendered before each call is dialled, 2 s is the budget on a Pi
    return [fig(f"{row['bench'].replace('_', '.')}", row["seconds"], "s",
                _params(row, "words", "audio_seconds", "bytes"), row["target_seconds"], "<=")]


# benchmarks whose exit status 1 means "a target was missed" (their lines say which), not a failure
EXIT_1_IS_A_MISSED_TARGET = {"web", "appliance"}

FIGURES = {"at_parser": at_parser, "pdu": pdu, "simulator": simulator, "ledger": ledger, "import": import_,
           "planner": planner, "modem": modem, "pool": pool, "dispatch": dispatch, "web": web, "appliance": appliance,
           "voice": voice}


def emit(row: dict) -> None:
    print(json.dumps(row, ensure_ascii=False), flush=True)


def run_one(name: str, full: bool, timeout: float, figures: list[dict]) -> bool:
    script, quick = BENCHES[name]
    cmd = [sys.executable, str(HERE / script), *([] if full else quick)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out, ok, error = (exc.stdout or b""), False, f"timed out after {timeout:.0f} s"
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    else:
        out, error, stderr = proc.stdout, None, proc.stderr
        ok = proc.returncode == 0 or (proc.returncode == 1 and name in EXIT_1_IS_A_MISSED_TARGET and out.strip())
        if not ok:
            error = f"exit status {proc.returncode}"
    seconds = round(time.perf_counter() - started, 1)
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            raw = json.loads(line)
            rows = FIGURES[name](raw)
        except Exception as exc:  # noqa: BLE001 - a bad line is reported, the run goes on
            emit({"name": f"{name}.error", "bench": name, "error": f"{type(exc).__name__}: {exc}", "line": line})
            ok = False
            continue
        if rows is None:  # a line the table does not know: kept, unnormalised
            rows = [fig(f"{name}.{raw.get('bench') or raw.get('benchmark') or 'line'}", None, None, raw)]
        for row in rows:
            row = {**row, "bench": name}
            figures.append(row)
            emit(row)
    if error:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        emit({"name": f"{name}.error", "bench": name, "error": error, "stderr_tail": tail, "seconds": seconds})
        figures.append({"name": f"{name}.error", "value": error, "unit": "", "target": None, "met": False})
    emit({"name": f"{name}.run_seconds", "bench": name, "value": seconds, "unit": "s",
          "parameters": {"command": " ".join(cmd[1:])}, "target": None, "met": None})
    return error is None


def summary(figures: list[dict], failed: list[str]) -> str:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    rows = [("figure", "value", "target", "met?")]
    for f in figures:
        target = "-" if f.get("target") is None else f"{f.get('direction') or ''} {fmt(f['target'])}".strip()
        met = {True: "yes", False: "NO", None: ""}[f.get("met")]
        rows.append((f["name"], f"{fmt(f.get('value'))} {f.get('unit') or ''}".strip(), target, met))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    with_target = [f for f in figures if f.get("met") is not None]
    lines.append("")
    lines.append(f"{sum(1 for f in with_target if f['met'])}/{len(with_target)} targets met"
                 + (f"; failed benchmarks: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the benchmarks' own (large) defaults")
    parser.add_argument("--only", default="", help="comma-separated benchmarks: " + ",".join(BENCHES))
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 600, --full 3600)")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    timeout = args.timeout or (3600.0 if args.full else 600.0)
    figures: list[dict] = []
    failed = []
    for name in names:
        if not (HERE / BENCHES[name][0]).exists():
            continue
        if not run_one(name, args.full, timeout, figures):
            failed.append(name)
    print()
    print(summary(figures, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
