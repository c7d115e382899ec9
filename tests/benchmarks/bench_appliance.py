"""The appliance as systemd runs it: start-to-ready of ``cobrador run --simulate`` and the daemon's memory.

Two figures, one JSON line each (plus one for the data built):

- ``appliance_ready``: from starting the process to the web page answering ``/healthz`` with the modem
  ``connected`` (the simulated modem initialised) — on an empty data folder and on the large one.
  Target < 5 s.
- ``appliance_rss``: the daemon's resident memory (``VmRSS``, and the peak ``VmHWM``) with ``--debtors``
  debtors (one 12-instalment loan each) and ``--contacts`` contact-log records (bench_web's generator),
  measured ``--settle`` seconds after ready (the dispatcher's first planning pass and the status file's
  queue count have run by then). Target < 120 MB.

The large folder is started twice: ``large`` is the first start on a folder the ledger has never opened
(no contact-events caches: the recent months are read from their JSON partitions), ``large_restart`` the
next one (the caches saved when it stopped are read instead).

The data folder is built with the same ledger code the appliance uses, closed, then the daemon opens it.

Run: .venv/bin/python tests/benchmarks/bench_appliance.py [--debtors 10000] [--contacts 250000] [--settle 20]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

READY_TARGET_S = 5.0
RSS_TARGET_MB = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return values


def start(data: Path, config: Path) -> tuple[subprocess.Popen, float, int]:
    """Start the daemon; returns (process, seconds to ready, port)."""
    port = free_port()
    cobrador = ROOT / ".venv" / "bin" / "cobrador"
    command = [str(cobrador) if cobrador.exists() else sys.executable, *([] if cobrador.exists() else
               ["-m", "firmware_py"]), "run", "--simulate", "--config", str(config), "--data", str(data),
               "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/healthz"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"cobrador run ended with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        if time.perf_counter() - started > 120:
            process.kill()
            raise RuntimeError("cobrador run not ready within 120 s")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                body = json.loads(answer.read())
            if (body.get("modem") or {}).get("state") == "connected":
                return process, time.perf_counter() - started, port
        except (OSError, ValueError):
            pass
        time.sleep(0.02)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=250_000)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    ok = True
    with tempfile.TemporaryDirectory(prefix="cobrador-bench-appliance-") as tmp:
        work = Path(tmp)
        config = work / "cobrador.toml"
        config.write_text('[cooperative]\nname = "Cooperativa Banco"\ncountry = "CO"\ntimezone = "America/Bogota"\n'
                          '[web]\nhost = "127.0.0.1"\n')
        # 1. an empty data folder
        process, ready, _ = start(work / "empty", config)
        stop(process)
        met = ready < READY_TARGET_S
        ok &= met
        print(json.dumps({"bench": "appliance_ready", "data": "empty", "seconds": round(ready, 2),
                          "target_s": READY_TARGET_S, "ok": met}), flush=True)
        # 2. the large data folder
        from bench_web import build

        t = time.perf_counter()
        ledger, _debtors, built = build(work / "big", args.debtors, args.contacts)
        ledger.close()
        print(json.dumps({"bench": "appliance_data", "debtors": args.debtors, **built,
                          "build_s": round(time.perf_counter() - t, 1)}), flush=True)
        ok &= report(args, "large", *run_and_measure(work / "big" / "data", config, args.settle))
        # 3. the same folder again (a restart: the ledger's contact-events caches were saved when it stopped)
        ok &= report(args, "large_restart", *run_and_measure(work / "big" / "data", config, args.settle))
    return 0 if ok else 1


def run_and_measure(data: Path, config: Path, settle: float) -> tuple[float, dict, dict]:
    """Start the daemon on ``data``; (seconds to ready, memory at ready, memory ``settle`` seconds later)."""
    process, ready, _ = start(data, config)
    try:
        at_ready = memory(process.pid)
        time.sleep(settle)
        return ready, at_ready, memory(process.pid)
    finally:
        stop(process)


def report(args, data: str, ready: float, at_ready: dict, settled: dict) -> bool:
    ok = met = ready < READY_TARGET_S
    print(json.dumps({"bench": "appliance_ready", "data": data, "debtors": args.debtors,
                      "contacts": args.contacts, "seconds": round(ready, 2), "target_s": READY_TARGET_S,
                      "ok": met}), flush=True)
    rss = settled.get("VmRSS")
    met = rss is not None and rss < RSS_TARGET_MB
    ok &= met
    print(json.dumps({"bench": "appliance_rss", "data": data, "debtors": args.debtors, "contacts": args.contacts,
                      "rss_mb_at_ready": at_ready.get("VmRSS"), "rss_mb": rss, "peak_mb": settled.get("VmHWM"),
                      "settle_s": args.settle, "target_mb": RSS_TARGET_MB, "ok": met}), flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
