"""The appliance as systemd runs it: start-to-ready of ``cobrador run --simulate`` and the daemon's memory.

Two figures, one JSON line each (plus one for the data built):

- ``appliance_ready``: from starting the process to the web page answering ``/healthz`` with the modem
  ``connected`` (the simulated modem initialised) — on an empty data folder and on the large one.
  Target < 5 s. ``systemd_ready_s``: from starting the process to ``READY=1`` on the ``NOTIFY_SOCKET`` the
  benchmark gives it, as systemd would (sent once the dispatcher runs too: its recovery reads the contact log
  after the page answers).
- ``appliance_rss``: the daemon's resident memory (``VmRSS``, and the peak ``VmHWM``) with ``--debtors``
  debtors (one 12-instalment loan each) and ``--contacts`` contact-log records (bench_web's generator),
  sampled each second for 10 s from ``--settle`` seconds after ready (the dispatcher's first planning pass
  and the status file's queue count have run by then): ``rss_mb`` is the median of those samples (a single
  sample catches the periodic work — a plan, the debtor list's index — at a random moment: ±10 MB),
  ``rss_mb_range`` their lowest and highest, ``peak_mb`` the process's peak (``VmHWM``). Target < 120 MB.

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
import statistics
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
SAMPLES, SAMPLE_EVERY_S = 11, 1.0


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


class NotifySocket:
    """A datagram socket standing in for systemd's ``NOTIFY_SOCKET``: :meth:`ready_after` waits for ``READY=1``."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"notify-{os.getpid()}-{time.monotonic_ns()}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(self.path))

    def ready_after(self, started: float, timeout: float = 120.0) -> float | None:
        """Seconds from ``started`` (``perf_counter``) to the ``READY=1`` datagram, or None."""
        deadline = started + timeout
        while (left := deadline - time.perf_counter()) > 0:
            self.socket.settimeout(left)
            try:
                message = self.socket.recv(4096).decode(errors="replace")
            except socket.timeout:
                return None
            if "READY=1" in message.split("\n"):
                return time.perf_counter() - started
        return None

    def close(self) -> None:
        self.socket.close()
        self.path.unlink(missing_ok=True)


def start(data: Path, config: Path, notify: NotifySocket | None = None) -> tuple[subprocess.Popen, float, int, float]:
    """Start the daemon; returns (process, seconds to ready, port, when it was started (perf_counter))."""
    port = free_port()
    cobrador = ROOT / ".venv" / "bin" / "cobrador"
    command = [str(cobrador) if cobrador.exists() else sys.executable, *([] if cobrador.exists() else
               ["-m", "firmware_py"]), "run", "--simulate", "--config", str(config), "--data", str(data),
               "--port", str(port)]
    env = dict(os.environ, NOTIFY_SOCKET=str(notify.path)) if notify is not None else None
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)
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
                return process, time.perf_counter() - started, port, started
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
        notify = NotifySocket(work)
        process, ready, _, started = start(work / "empty", config, notify)
        systemd_ready = notify.ready_after(started)
        stop(process)
        notify.close()
        met = ready < READY_TARGET_S
        ok &= met
        print(json.dumps({"bench": "appliance_ready", "data": "empty", "seconds": round(ready, 2),
                          "systemd_ready_s": None if systemd_ready is None else round(systemd_ready, 2),
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


def run_and_measure(data: Path, config: Path, settle: float) -> tuple[float, float | None, dict, dict]:
    """Start the daemon on ``data``; (seconds to ready, seconds to systemd's READY, memory at ready, memory
    ``settle`` seconds later)."""
    notify = NotifySocket(data.parent)
    process, ready, _, started = start(data, config, notify)
    try:
        at_ready = memory(process.pid)
        systemd_ready = notify.ready_after(started, timeout=max(settle, 1.0))
        time.sleep(max(0.0, started + ready + settle - time.perf_counter()))
        settled = memory(process.pid)
        samples = [settled["VmRSS"]]
        for _ in range(SAMPLES - 1):  # the daemon's periodic work (plans, the debtor list) comes and goes
            time.sleep(SAMPLE_EVERY_S)
            samples.append(memory(process.pid)["VmRSS"])
        settled.update(median=statistics.median(samples), low=min(samples), high=max(samples),
                       VmHWM=memory(process.pid)["VmHWM"])
        return ready, systemd_ready, at_ready, settled
    finally:
        stop(process)
        notify.close()


def report(args, data: str, ready: float, systemd_ready: float | None, at_ready: dict, settled: dict) -> bool:
    ok = met = ready < READY_TARGET_S
    print(json.dumps({"bench": "appliance_ready", "data": data, "debtors": args.debtors,
                      "contacts": args.contacts, "seconds": round(ready, 2),
                      "systemd_ready_s": None if systemd_ready is None else round(systemd_ready, 2),
                      "target_s": READY_TARGET_S, "ok": met}), flush=True)
    rss = settled.get("median")
    met = rss is not None and rss < RSS_TARGET_MB
    ok &= met
    print(json.dumps({"bench": "appliance_rss", "data": data, "debtors": args.debtors, "contacts": args.contacts,
                      "rss_mb_at_ready": at_ready.get("VmRSS"), "rss_mb": rss,
                      "rss_mb_range": [settled.get("low"), settled.get("high")], "peak_mb": settled.get("VmHWM"),
                      "settle_s": args.settle, "samples": SAMPLES, "target_mb": RSS_TARGET_MB, "ok": met}),
          flush=True)
    return ok


if __name__ == "__main__":
    sys.exit(main())
