"""Simulator speed: AT round trips and SMS sends through the pty, interpreter throughput without it.

Run: .venv/bin/python tests/benchmarks/bench_simulator.py   (prints one JSON object per line)
"""

from __future__ import annotations

import json
import sys
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modem.pdu import encode_submit  # noqa: E402
from modem.simulator import Simulator  # noqa: E402
from modem.simulator.wire import RawAtClient  # noqa: E402


def bench_round_trips(n: int = 500) -> dict:
    with Simulator("sim800") as sim, RawAtClient(sim.port) as at:
        at.command("ATE0")
        started = time.perf_counter()
        for _ in range(n):
            at.command("AT+CSQ")
        elapsed = time.perf_counter() - started
    return {"bench": "pty_round_trip", "commands": n, "seconds": round(elapsed, 3),
            "per_second": round(n / elapsed), "mean_ms": round(1000 * elapsed / n, 3)}


def bench_sends(n: int = 200) -> dict:
    pdu = encode_submit("+573001234567", "Su cuota de $120.000 vence el 30/11")[0]
    with Simulator("quectel-ec25", report_delay=0.0) as sim, RawAtClient(sim.port) as at:
        at.command("ATE0")
        at.command("AT+CNMI=2,1,0,0,0")
        started = time.perf_counter()
        for _ in range(n):
            at.prompt(f"AT+CMGS={pdu.tpdu_length}")
            at.body(pdu.hex)
        elapsed = time.perf_counter() - started
        assert len(sim.network.submitted) == n
    return {"bench": "pty_cmgs", "messages": n, "seconds": round(elapsed, 3), "per_second": round(n / elapsed)}


def bench_incoming_memory(n: int = 1000) -> dict:
    tracemalloc.start()
    with Simulator("sim7600", report_delay=0.0) as sim, RawAtClient(sim.port) as at:
        at.command("ATE0")
        at.command("AT+CNMI=2,2,0,0,0")
        phone = sim.network.phone("+573009998877")
        sim.network.part_interval = 0.0
        started = time.perf_counter()
        done = threading.Event()
        seen = 0

        def reader():
            nonlocal seen
            while seen < n:
                at.wait_for("+CMT:", timeout=30)
                seen += 1
            done.set()

        t = threading.Thread(target=reader)
        t.start()
        for i in range(n):
            phone.send(f"PAGO {i}")
        done.wait(60)
        t.join(5)
        elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"bench": "incoming_cmt", "messages": seen, "seconds": round(elapsed, 3),
            "per_second": round(seen / elapsed), "traced_peak_kib": round(peak / 1024)}


def bench_interpreter(n: int = 20000) -> dict:
    from tests.modem.test_simulator_properties import RecordingHost  # reuse the pty-less host
    host = RecordingHost("generic")
    host.device.feed(b"ATE0\r")
    line = b"AT+CSQ;+CREG?\r"
    started = time.perf_counter()
    for _ in range(n):
        host.device.feed(line)
        host.take()
    elapsed = time.perf_counter() - started
    return {"bench": "interpreter_lines", "lines": n, "seconds": round(elapsed, 3), "per_second": round(n / elapsed)}


if __name__ == "__main__":
    for bench in (bench_round_trips, bench_sends, bench_incoming_memory, bench_interpreter):
        print(json.dumps(bench()), flush=True)
