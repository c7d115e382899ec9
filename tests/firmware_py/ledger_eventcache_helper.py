"""Appends contact events over several months and reopens the ledger, forever; killed by the SIGKILL test.

Usage: python ledger_eventcache_helper.py DATA_DIR RUN SEED

Each round opens the ledger (``recent_months=2``), reads the recent window (which fills it from the
events caches or the partitions and saves the caches of complete months), appends a few events (most
in the newest months, some late into older ones), reads again, and closes (which saves the newest
month's cache). Prints ``ready`` once, then ``ack <event id>`` for every append that RETURNED, so the
kills land in cache reads, cache writes (``atomic_write``), appends and closes.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from firmware_py.ledger import Ledger  # noqa: E402
from scheduler.model import ContactEvent  # noqa: E402

T0 = datetime(2026, 7, 1, tzinfo=timezone.utc)
BOGOTA = timezone(timedelta(hours=-5))


def main() -> None:
    data_dir, run, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    n = 0
    print("ready", flush=True)
    while True:
        with Ledger.open(data_dir, recent_months=2) as ledger:
            ledger.contacts(since=T0 + timedelta(days=200))
            for _ in range(rng.randrange(1, 30)):
                n += 1
                days = rng.uniform(0, 150) if rng.random() < 0.2 else rng.uniform(100, 150)
                at = T0 + timedelta(days=days)
                event = ContactEvent(at=at.astimezone(BOGOTA) if rng.random() < 0.3 else at,
                                     debtor_id=f"d-{rng.randrange(20)}", kind=rng.choice(("planned", "sent")),
                                     phone=f"+57300{rng.randrange(20):07d}", contact_id=f"c{run}-{n // 2}",
                                     text=rng.choice(("Su cuota vence hoy", "Acérquese a la oficina ñ", "")),
                                     id="" if rng.random() < 0.8 else f"r{run}-{n}")
                stored = ledger.append_contact(event)
                print("ack", stored.id, flush=True)
            ledger.contacts(since=T0 + timedelta(days=100))


if __name__ == "__main__":
    main()
