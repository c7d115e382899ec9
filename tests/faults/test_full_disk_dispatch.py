"""Fault: the disk is full when the dispatcher appends ``sending`` (the step before the radio).

A child process (so the limit touches nothing else) opens a real ledger on disk, then limits the size of
every file it writes to what is already there (``RLIMIT_FSIZE``, SIGXFSZ ignored: every growing write fails
with EFBIG, as a full SD card does), and drains a dispatcher whose radio records each call. Expected:

- the radio is never asked (a message must never leave without its durable ``sending``);
- a clear Spanish error is logged (the ledger's "no queda espacio ..." sentence), nothing crashes;
- afterwards (disk space back) the ledger opens, nothing is in doubt (no ``sending`` without an outcome,
  no torn line), and a new dispatcher sends every due reminder exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.ledger import Ledger
from modem.sending import PartRef, SentSms
from scheduler.clock import ClockTrust
from scheduler.contact_state import outcomes
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)  # a Tuesday inside the contact hours, the due day
COUNT = 5

CHILD = r"""
import json, logging, resource, signal, sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from firmware_py.ledger import Ledger
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.policy import load_policy

logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))
calls = []

class Radio:
    def send(self, number, text, *, message_id, transliterate=False):
        calls.append(message_id)
        raise AssertionError("the radio must not be asked")

with Ledger.open(Path(sys.argv[1])) as ledger:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    dispatcher = Dispatcher(ledger, Radio(), lambda: POLICY, clock=lambda: NOW)
    report = dispatcher.drain()
    print(json.dumps({"calls": calls, "sent": report.sent, "uncertain": report.uncertain,
                      "errors": report.errors, "stopped": report.stopped_reason}), flush=True)
"""

POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))


class Radio:
    def __init__(self):
        self.calls = []

    def send(self, number, text, *, message_id, transliterate=False):
        self.calls.append(message_id)

        class Result:
            member = "m1"
            sent = SentSms(message_id, number, "sent", 1, (PartRef(len(self.calls), 1, 0.0),))
        return Result()


@pytest.mark.slow  # a child process importing the appliance: ~8 s
def test_a_full_disk_at_sending_sends_nothing_says_why_and_leaves_the_ledger_clean(tmp_path):
    scenario = "full disk (RLIMIT_FSIZE=0) at the 'sending' append"
    data = tmp_path / "data"
    with Ledger.open(data) as ledger:
        ledger.import_batch([Debtor(f"d-{i}", f"Socio {i}", phones=(Phone(f"+57300123450{i}"),)) for i in range(COUNT)],
                            [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, date(2026, 12, 15), Decimal(150000)),))
                             for i in range(COUNT)], source="test", now=NOW - timedelta(days=20))
    before = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "ledger.lock"}

    child = subprocess.run([sys.executable, "-c", CHILD, str(data), str(ROOT)], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert child.returncode == 0, f"{scenario}: the child crashed:\n{child.stderr[-3000:]}"
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["calls"] == [], f"{scenario}: the radio was asked without a durable 'sending': {result}"
    assert result["sent"] == 0 and result["uncertain"] == 0, f"{scenario}: {result}"
    assert "no queda espacio" in child.stderr, f"{scenario}: no Spanish full-disk message logged:\n{child.stderr[-3000:]}"
    assert result["errors"] and all("no queda espacio" in e for e in result["errors"]), f"{scenario}: {result}"

    after = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "ledger.lock"}
    grown = {str(k): len(v) for k, v in after.items() if before.get(k) != v and len(v) > 0}
    assert not grown, f"{scenario}: files changed although the disk was full: {grown}"

    # space is back: the ledger opens, nothing is in doubt, and each reminder goes exactly once
    with Ledger.open(data) as ledger:
        events = ledger.contacts()
        assert not [e for e in events if e.kind == "sending"], f"{scenario}: a 'sending' was recorded"
        assert not [c for c, o in outcomes(events).items() if o.in_doubt], scenario
        radio = Radio()
        dispatcher = Dispatcher(ledger, radio, lambda: POLICY, clock=lambda: NOW)
        assert dispatcher.recover() == []
        dispatcher.drain()
        assert len(radio.calls) == COUNT and set(Counter(radio.calls).values()) == {1}, f"{scenario}: {radio.calls}"
        dispatcher.drain()
        assert len(radio.calls) == COUNT, f"{scenario}: sent again after the disk came back"
