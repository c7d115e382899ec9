"""Writes to a ledger forever, printing each acknowledged write; killed by the SIGKILL tests.

Usage: python ledger_crash_helper.py DATA_DIR RUN [SEED] [MODE]

MODE ``mixed`` (default) does imports, contacts, payments and settings;
``compact`` alternates a settings write with an explicit compaction, so the
kills land inside snapshot replacement and journal rotation.

Prints ``ready`` once the ledger is open, then one line per write that has
RETURNED (so it is durable by contract):

    ack import <batch>          # debtors <batch>-0..4 and loans <batch>-L0..4, tag <batch>
    ack contact <event id> <debtor id>
    ack payment <payment id>
    ack setting <counter>

``RUN`` makes ids unique across runs on the same directory. A tiny
compaction threshold makes snapshots + journal rotation happen often, so the
kills also land in the middle of compactions.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from firmware_py.ledger import Ledger  # noqa: E402
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone  # noqa: E402

BATCH_SIZE = 5
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def batch(name: str, n: int):
    debtors, loans = [], []
    for i in range(BATCH_SIZE):
        debtor = Debtor(id=f"{name}-{i}", name=f"Deudor {name} {i}", document=f"{name}{i}",
                        phones=(Phone(f"+57310{(n * BATCH_SIZE + i) % 10_000_000:07d}"),), tags=(name,))
        debtors.append(debtor)
        loans.append(Loan(external_id=f"{name}-L{i}", debtor_id=debtor.id, instalments=tuple(
            Instalment(k + 1, date(2026, 1, 1) + timedelta(days=30 * k), Decimal("125000.50"))
            for k in range(6))))
    return debtors, loans


def main() -> None:
    data_dir, run = sys.argv[1], sys.argv[2]
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else None)
    mode = sys.argv[4] if len(sys.argv) > 4 else "mixed"
    out = sys.stdout
    with Ledger.open(data_dir, clock=lambda: T0, compact_min_bytes=16_000) as ledger:
        counter = int(ledger.settings.get("crash_counter", 0) or 0)
        loans = [l.external_id for l in ledger.loans()]
        print("ready", flush=True)
        if mode == "compact":
            while True:
                counter += 1
                ledger.settings.set("crash_counter", counter)
                out.write(f"ack setting {counter}\n")
                out.flush()
                ledger.compact()
        n = 0
        while True:
            n += 1
            choice = rng.random()
            if choice < 0.08 or not loans:
                name = f"r{run}-b{n}"
                debtors, new_loans = batch(name, n)
                ledger.import_batch(debtors, new_loans, source="crash-test")
                loans.extend(l.external_id for l in new_loans)
                out.write(f"ack import {name}\n")
            elif choice < 0.65:
                event = ledger.append_contact(ContactEvent(
                    at=T0 + timedelta(days=rng.randint(0, 90), seconds=n), debtor_id=f"r{run}-d{n % 7}",
                    kind="sent", phone="+573000000001", text="Recordatorio " * rng.randint(1, 20)))
                out.write(f"ack contact {event.id} {event.debtor_id}\n")
            elif choice < 0.9:
                payment = ledger.record_payment(rng.choice(loans), Decimal(rng.randint(1, 50_000)),
                                                date(2026, 1, 15), source=rng.choice(["web", "sms"]))
                out.write(f"ack payment {payment.id}\n")
            else:
                counter += 1
                ledger.settings.set("crash_counter", counter)
                out.write(f"ack setting {counter}\n")
            out.flush()


if __name__ == "__main__":
    main()
