"""Benchmark of the modem pool end to end: SMS/s through 1, 2 and 4 simulated modems.

Each member is a real :class:`modem.driver.Modem` on its own
:class:`modem.simulator.Simulator` (a pty) with 0.2 s simulated ``+CMGS``
latency — the time a real network takes to accept a submission, which is
what bounds one modem. As many threads as members send a shared batch
(``per_member`` messages per member) through one :class:`modem.pool.ModemPool`.
Every message must reach the simulated networks exactly once.

Prints one JSON object per line (``bench: "pool_throughput"``): members,
messages, seconds, ``sms_per_second``, ``speedup`` over one modem (target ≈
the number of members), each member's share.

Run: ``.venv/bin/python tests/benchmarks/bench_pool.py [--quick] [--latency 0.2]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from modem.driver import Modem
from modem.pool import ModemPool, PoolMember
from modem.simulator import Simulator

PHONE = "+573001234567"


def throughput(members: int, per_member: int, latency: float) -> dict:
    count = members * per_member
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        sims = [stack.enter_context(Simulator("generic", link=Path(tmp) / f"tty{i}", boot_time=0.05,
                                              latency=latency)) for i in range(members)]
        modems = [stack.enter_context(Modem(sim.port, profile="generic")) for sim in sims]
        pool = stack.enter_context(ModemPool([PoolMember(f"sim{i}", m) for i, m in enumerate(modems)]))
        for i in range(members):                                  # warm-up: one send per member
            pool.send(PHONE, f"calentamiento {i}", message_id=f"w-{i}")
        results, errors, lock = [], [], threading.Lock()
        ids = iter(range(count))

        def worker():
            while True:
                with lock:
                    i = next(ids, None)
                if i is None:
                    return
                try:
                    r = pool.send(PHONE, f"Recordatorio {i}: su cuota vence pronto", message_id=f"b-{i}")
                except Exception as exc:  # noqa: BLE001 - reported below
                    with lock:
                        errors.append(exc)
                    continue
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=worker, name=f"bench-sender-{i}") for i in range(members)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        assert not errors, errors
        assert all(r.sent.state == "sent" for r in results) and len(results) == count
        seen = Counter(s.text for sim in sims for s in sim.network.submitted if s.text.startswith("Recordatorio"))
        assert len(seen) == count and set(seen.values()) == {1}, "a message was lost or sent twice"
        shares = Counter(r.member for r in results)
        return {"bench": "pool_throughput", "members": members, "latency_s": latency, "messages": count,
                "seconds": round(elapsed, 3), "sms_per_second": round(count / elapsed, 2),
                "shares": [shares[f"sim{i}"] for i in range(members)]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 messages per member instead of 40")
    parser.add_argument("--latency", type=float, default=0.2, help="simulated +CMGS latency, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    per_member = 10 if args.quick else 40
    base = None
    for members in (1, 2, 4):
        row = throughput(members, per_member, args.latency)
        base = base or row["sms_per_second"]
        row["speedup"] = round(row["sms_per_second"] / base, 2)
        row["target_speedup"] = members
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
