"""Benchmark of the modem driver end to end through a pty against modem.simulator.

Prints one JSON object per line:

- ``sms_throughput``: single-segment SMS sent back to back at zero simulated
  latency (status reports on, so report handling competes), per profile;
  target ≥ 300 SMS/s.
- ``dead_time``: at 3 s simulated latency (memory store, and the fsync'ing file store), the time between the final result
  of one send (the reader thread receiving ``+CMGS: <mr>`` / ``OK``) and the
  next ``AT+CMGS`` bytes being written, from the driver's own timestamps;
  target < 20 ms.

Run: ``.venv/bin/python tests/benchmarks/bench_modem.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path

from modem.driver import Modem
from modem.events import DeliveryUpdate
from modem.profiles import PROFILES
from modem.simulator import Simulator
from modem.stores import AtomicJsonFileStore

PHONE = "+573001234567"


def throughput(profile: str, count: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, \
            Simulator(profile, link=Path(tmp) / "tty", boot_time=0.05) as sim, \
            Modem(sim.port, profile=profile) as modem:
        modem.send_sms(PHONE, "calentamiento")
        started = time.perf_counter()
        for i in range(count):
            result = modem.send_sms(PHONE, f"Recordatorio {i}: su cuota vence pronto")
            assert result.state == "sent", result
        elapsed = time.perf_counter() - started
        assert len(sim.network.submitted) == count + 1
        # every status report must still be matched (they compete with the sends for the port)
        delivered, deadline = 0, time.monotonic() + 60
        while delivered < count + 1 and time.monotonic() < deadline:
            try:
                event = modem.events.get(timeout=0.5)
            except queue.Empty:
                continue
            delivered += isinstance(event, DeliveryUpdate) and event.state == "delivered"
        drained = time.perf_counter() - started
        return {"bench": "sms_throughput", "profile": profile, "messages": count,
                "seconds": round(elapsed, 3), "sms_per_second": round(count / elapsed, 1), "target": 300,
                "reports_matched": delivered, "all_reports_matched_after_s": round(drained, 3)}


def dead_time(profile: str, count: int, latency: float, *, file_store: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp, \
            Simulator(profile, link=Path(tmp) / "tty", boot_time=0.05, latency=latency) as sim, \
            Modem(sim.port, profile=profile,
                  store=AtomicJsonFileStore(Path(tmp) / "driver.json") if file_store else None) as modem:
        modem.dead_times.clear()
        modem.last_cmgs_final = None
        started = time.perf_counter()
        for i in range(count):
            assert modem.send_sms(PHONE, f"lento {i}").state == "sent"
        elapsed = time.perf_counter() - started
        gaps_ms = [g * 1000 for g in modem.dead_times]
        return {"bench": "dead_time", "profile": profile, "latency_s": latency, "sends": count,
                "store": "atomic-json-file (fsync)" if file_store else "memory",
                "gaps": len(gaps_ms), "max_ms": round(max(gaps_ms), 3), "median_ms": round(statistics.median(gaps_ms), 3),
                "seconds": round(elapsed, 2), "target_ms": 20}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, one profile for dead time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    count = 300 if args.quick else 1000
    for profile in sorted(PROFILES):
        print(json.dumps(throughput(profile, count)), flush=True)
    sends = 4 if args.quick else 6
    for profile in (["sim800"] if args.quick else ["sim800", "quectel-ec25"]):
        print(json.dumps(dead_time(profile, sends, 3.0)), flush=True)
    print(json.dumps(dead_time("sim800", sends, 3.0, file_store=True)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
