"""Ledger write latency vs history size, and load time. Prints one JSON object per line.

For each history size (1k, 50k, 250k contact-log events; a 5,000-member
cooperative makes ~250k a year) a fresh ledger gets a realistic hot state
(5,000 debtors, 5,000 loans of 12 instalments) and the history (bulk-loaded
through ``Ledger.append_contacts``, spread over 12 months and all debtors).
All histories are built first; then single writes are measured
interleaved across the sizes (1k, 50k, 250k, 1k, 50k, ...) (so disk noise from other processes hits
every size alike), each fsynced before returning:

- ``contact_append``: ``append_contact`` (one event);
- ``hot_update``: ``record_payment`` (one journal line);

reporting p50/p95/mean in milliseconds, then the time to reopen the ledger.
``fsync_floor`` is a bare append+fsync on the same disk (the floor);
``ledger_operations`` times a 5,000-loan import, its unchanged re-import and
a planner snapshot; ``tinydb_jsonstorage_insert`` is the baseline this design
replaces (sizes <= 50k only: it gets slow). A final line gives the 250k/1k
ratios (target <= 1.5).

Run: .venv/bin/python tests/benchmarks/bench_ledger.py [--sizes 1000,50000,250000] [--writes 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from firmware_py.ledger import Ledger  # noqa: E402
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MEMBERS = 5000


def portfolio():
    debtors, loans = [], []
    for n in range(MEMBERS):
        d = Debtor(id=debtor_id_for(str(10_000_000 + n)), name=f"Deudor {n}", document=str(10_000_000 + n),
                   phones=(Phone(f"+57300{n:07d}"),), loan_officer=f"Oficial {n % 12}", group=f"G{n % 400}")
        debtors.append(d)
        loans.append(Loan(external_id=f"L{n}", debtor_id=d.id, product="microcredito", instalments=tuple(
            Instalment(k + 1, date(2026, 1, 5) + timedelta(days=30 * k), Decimal("125000"))
            for k in range(12))))
    return debtors, loans


def history(count: int, debtors, rng: random.Random):
    kinds = ("planned", "sent", "delivered")
    for i in range(count):
        debtor = debtors[rng.randrange(len(debtors))]
        yield ContactEvent(at=T0 + timedelta(seconds=rng.randrange(365 * 86400)), debtor_id=debtor.id,
                           kind=kinds[i % 3], phone=debtor.phones[0].number, contact_id=f"c{i // 3}",
                           text="Cooperativa: su cuota 3 de 12 por $125.000 vence el 05/03. Info 3001234567")


def percentiles(samples):
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def build(size: int, debtors, loans, workdir: Path) -> tuple[Ledger, Path, float]:
    data_dir = workdir / f"h{size}"
    ledger = Ledger.open(data_dir)
    ledger.import_batch(debtors, loans, source="bench")
    started = time.perf_counter()
    ledger.append_contacts(history(size, debtors, random.Random(size)))
    return ledger, data_dir, time.perf_counter() - started


def one_round(ledger: Ledger, debtors, rng: random.Random, writes: int, samples: dict, base: int) -> None:
    now = T0 + timedelta(days=366)
    for i in range(writes):
        debtor = debtors[rng.randrange(len(debtors))]
        event = ContactEvent(at=now + timedelta(seconds=base + i), debtor_id=debtor.id, kind="sent",
                             phone=debtor.phones[0].number, text="Recordatorio de pago")
        t = time.perf_counter()
        ledger.append_contact(event)
        samples["contact_append"].append(time.perf_counter() - t)
        t = time.perf_counter()
        ledger.record_payment(f"L{rng.randrange(MEMBERS)}", Decimal(1000), date(2027, 1, 2))
        samples["hot_update"].append(time.perf_counter() - t)


def operations(debtors, loans, workdir: Path) -> dict:
    """Whole-portfolio operations: first import, unchanged re-import, planner snapshot."""
    with Ledger.open(workdir / "ops") as ledger:
        t = time.perf_counter()
        ledger.import_batch(debtors, loans, source="bench")
        import_s = time.perf_counter() - t
        t = time.perf_counter()
        again = ledger.import_batch(debtors, loans, source="bench")
        reimport_s = time.perf_counter() - t
        assert not again.changed
        t = time.perf_counter()
        snap = ledger.snapshot()
        snapshot_ms = (time.perf_counter() - t) * 1000
    return {"bench": "ledger_operations", "debtors": len(debtors), "loans": len(loans),
            "import_s": round(import_s, 3), "reimport_unchanged_s": round(reimport_s, 3),
            "snapshot_ms": round(snapshot_ms, 1), "snapshot_loans": len(snap.loans)}


def tinydb_default(sizes: list[int], workdir: Path, writes: int = 5) -> list[dict]:
    """The baseline the design replaces: TinyDB's JSONStorage rewrites the whole file per insert."""
    from tinydb import TinyDB

    rows = []
    for size in sizes:
        path = workdir / f"tinydb-{size}.json"
        doc = {"debtor_id": "d-0123456789abcdef", "at": "2026-03-01T10:00:00+00:00", "kind": "sent",
               "phone": "+573001234567", "text": "Recordatorio de pago"}
        with TinyDB(path) as db:
            db.insert_multiple(dict(doc, n=i) for i in range(size))
            times = []
            for i in range(writes):
                t = time.perf_counter()
                db.insert(dict(doc, n=size + i))
                times.append(time.perf_counter() - t)
        path.unlink()
        rows.append({"bench": "tinydb_jsonstorage_insert", "history": size, **percentiles(times)})
    return rows


def fsync_floor(directory: Path, writes: int) -> dict:
    """The disk's own cost: append one line + fsync to a plain file (what no design can beat)."""
    import os

    path = directory / "fsync-floor.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    times = []
    try:
        for _ in range(writes):
            t = time.perf_counter()
            os.write(fd, b"x" * 200 + b"\n")
            os.fsync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
    return percentiles(times)


def run(sizes: list[int], writes: int, workdir: Path) -> dict[int, dict]:
    """Build every history first, then measure interleaved, one write at a time (A, B, C, A, B, C...)
    so that disk noise from other processes hits every size alike."""
    debtors, loans = portfolio()
    opened = {}
    for size in sizes:
        opened[size] = build(size, debtors, loans, workdir)
    samples = {size: {"contact_append": [], "hot_update": [], "fsync_floor": []} for size in sizes}
    rng = random.Random(7)
    for r in range(writes):
        for size in sizes:
            one_round(opened[size][0], debtors, rng, 1, samples[size], base=r)
    results = {}
    for size in sizes:
        ledger, data_dir, build_s = opened[size]
        count = ledger.contact_count
        t = time.perf_counter()
        one = ledger.contacts(debtor_id=debtors[0].id)
        query_ms = (time.perf_counter() - t) * 1000
        week_ago = T0 + timedelta(days=366) - timedelta(days=7)  # the planner's "recent contacts"
        t = time.perf_counter()
        ledger.snapshot(contacts_since=week_ago)
        cold_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        warm = ledger.snapshot(contacts_since=week_ago)
        warm_ms = (time.perf_counter() - t) * 1000
        ledger.close()
        t = time.perf_counter()
        with Ledger.open(data_dir) as reopened:
            load_s = time.perf_counter() - t
            assert reopened.contact_count == count
        results[size] = {
            "bench": "ledger_write_latency",
            "history": size,
            "contacts_total": count,
            "hot_docs": 2 * MEMBERS,
            "writes": len(samples[size]["hot_update"]),
            "build_history_s": round(build_s, 2),
            "contact_append": percentiles(samples[size]["contact_append"]),
            "hot_update": percentiles(samples[size]["hot_update"]),
            "debtor_history_query_ms": round(query_ms, 2),
            "debtor_history_events": len(one),
            "snapshot_last_7d_first_ms": round(cold_ms, 1),
            "snapshot_last_7d_next_ms": round(warm_ms, 1),
            "snapshot_last_7d_events": len(warm.contacts),
            "load_s": round(load_s, 3),
        }
    results["floor"] = {"bench": "fsync_floor", **fsync_floor(workdir, writes)}
    results["operations"] = operations(debtors, loans, workdir)
    results["tinydb"] = tinydb_default([s for s in sizes if s <= 50_000], workdir)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,50000,250000")
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = run(sizes, args.writes, Path(tmp))
    for size in sizes:
        print(json.dumps(results[size]), flush=True)
    print(json.dumps(results["floor"]), flush=True)
    print(json.dumps(results["operations"]), flush=True)
    for row in results["tinydb"]:
        print(json.dumps(row), flush=True)
    small, large = results[min(sizes)], results[max(sizes)]
    ratio = {
        "bench": "ledger_write_ratio",
        "from": min(sizes),
        "to": max(sizes),
        "contact_append_p50_ratio": round(large["contact_append"]["p50_ms"] / small["contact_append"]["p50_ms"], 3),
        "contact_append_p95_ratio": round(large["contact_append"]["p95_ms"] / small["contact_append"]["p95_ms"], 3),
        "hot_update_p50_ratio": round(large["hot_update"]["p50_ms"] / small["hot_update"]["p50_ms"], 3),
        "hot_update_p95_ratio": round(large["hot_update"]["p95_ms"] / small["hot_update"]["p95_ms"], 3),
        "target": 1.5,
    }
    ratio["pass"] = all(v <= 1.5 for k, v in ratio.items() if k.endswith("_ratio"))
    print(json.dumps(ratio), flush=True)


if __name__ == "__main__":
    main()
