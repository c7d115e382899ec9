"""The demo dataset: a small loan list loaded into an empty ledger.

``cobrador run --demo`` (what ``./scripts/run`` starts) loads it only when
the ledger holds no debtor yet and the simulated modem is in use, so a real
cooperative's data is never mixed with demo rows. The rows go through the
same importer as a USB stick or the web page; due dates are placed around
``today`` so every reminder step has something to show.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

from firmware_py.importer import ImportOptions, ImportReport, import_loans
from firmware_py.importer.samples import write_loan_csv

log = logging.getLogger("cobrador.demo")

DEMO_LOANS = 24


def load_demo(ledger, config, *, today: date, now: datetime) -> ImportReport | None:
    """Import the demo loans into ``ledger`` if it has no debtor; returns the report, or None if skipped."""
    if ledger.stats()["debtors"]:
        return None
    with tempfile.TemporaryDirectory(prefix="cobrador-demo-") as tmp:
        path = write_loan_csv(Path(tmp) / "demo.csv", DEMO_LOANS, seed=2026, start=today - timedelta(days=40),
                              counts=(1, 3, 6))
        report = import_loans(path, ledger, now=now,
                              options=ImportOptions.from_config(config, source_name="demo", past_days=3650))
    log.info("demo dataset: %d loans imported", report.imported)
    _authorise_calls(ledger, now)
    return report


def _authorise_calls(ledger, now: datetime) -> None:
    """Every third demo debtor also accepts calls, so the ladders' ring and call steps have someone to reach
    (a spreadsheet's mobile numbers come in authorised for SMS only)."""
    from dataclasses import replace

    for debtor in sorted(ledger.debtors(), key=lambda d: d.id)[::3]:
        phones = tuple(replace(p, channels=p.channels | {"call"}) for p in debtor.phones)
        ledger.save_debtor(replace(debtor, phones=phones), now=now)


# What a few demo debtors' simulated phones answer to every reminder, so a newcomer sees replies understood
# within the first minutes: a balance question, a promise, a payment claim, an opt-out, and a message for a person.
DEMO_ANSWERS = ("SALDO", "PROMESA {date}", "ya pagué 50.000", "BAJA", "¿Me pueden llamar? No entiendo el mensaje")


def give_demo_phones_a_voice(link, ledger, *, today: date | None = None) -> int:
    """Make some simulated phones answer reminders (only with the simulated modem). Returns how many."""
    simulator = getattr(link, "simulator", None)
    if simulator is None:
        return 0
    today = today or date.today()
    promise = (today + timedelta(days=5)).strftime("%d/%m")
    numbers = sorted({p.number for d in ledger.debtors() for p in d.phones})
    for number, answer in zip(numbers, DEMO_ANSWERS):
        simulator.network.phone(number).auto_reply = answer.format(date=promise)
    return min(len(numbers), len(DEMO_ANSWERS))
