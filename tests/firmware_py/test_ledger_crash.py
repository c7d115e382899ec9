"""Power-cut safety for real: a writer process is SIGKILLed at random instants.

After every kill the ledger must open, hold every write the helper saw
return, and show each import batch entirely or not at all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware_py.errors import LedgerLocked
from firmware_py.ledger import Ledger

HELPER = Path(__file__).with_name("ledger_crash_helper.py")
KILLS = int(os.environ.get("COBRADOR_FAULT_KILLS") or 200) // 10
"""20 kills by default: tests/faults/test_kill_storm.py adds 200 more against the real commands; set
``COBRADOR_FAULT_KILLS`` (as for the storm) for a longer run."""


def _run_and_kill(data_dir: Path, run: int, rng: random.Random, mode: str = "mixed") -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), str(data_dir), str(run), str(rng.randrange(1 << 30)), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        if rng.random() < 0.25:
            # sometimes while it is still opening: recovery, compaction at open, index files
            time.sleep(rng.uniform(0.05, 0.6))
        else:
            first = proc.stdout.readline()
            assert first.strip() == "ready", f"helper did not start: {first!r} {proc.stderr.read()}"
            time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines = out.splitlines()
    # the last line may be cut by the kill itself: only whole lines are acknowledgements
    if out and not out.endswith("\n"):
        lines = lines[:-1]
    assert "Traceback" not in err, err
    return [line for line in lines if line.startswith("ack ")]


@pytest.mark.slow
def test_sigkill_at_random_instants_never_loses_acknowledged_writes(tmp_path):
    rng = random.Random(20261123)
    acked_batches: set[str] = set()
    acked_payments: set[str] = set()
    acked_contacts: dict[str, str] = {}
    best_counter = 0
    total_acks = 0
    for run in range(KILLS):
        acks = _run_and_kill(tmp_path, run, rng)
        total_acks += len(acks)
        for line in acks:
            parts = line.split()
            if parts[1] == "import":
                acked_batches.add(parts[2])
            elif parts[1] == "payment":
                acked_payments.add(parts[2])
            elif parts[1] == "contact":
                acked_contacts[parts[2]] = parts[3]
            elif parts[1] == "setting":
                best_counter = max(best_counter, int(parts[2]))
        with Ledger.open(tmp_path) as ledger:
            debtors = ledger.debtors()
            by_batch: dict[str, int] = {}
            for debtor in debtors:
                by_batch[debtor.tags[0]] = by_batch.get(debtor.tags[0], 0) + 1
            loans_by_batch: dict[str, int] = {}
            for loan in ledger.loans():
                name = loan.external_id.rsplit("-L", 1)[0]
                loans_by_batch[name] = loans_by_batch.get(name, 0) + 1
            # atomic batches: 5 debtors and 5 loans, or nothing
            assert set(by_batch.values()) <= {5}, by_batch
            assert loans_by_batch == by_batch
            assert acked_batches <= set(by_batch), acked_batches - set(by_batch)
            payments = {p.id for p in ledger.payments()}
            assert acked_payments <= payments, acked_payments - payments
            assert int(ledger.settings.get("crash_counter", 0)) >= best_counter
            stored = {e.id for e in ledger.contacts()}
            assert set(acked_contacts) <= stored, set(acked_contacts) - stored
            for event_id, debtor_id in list(acked_contacts.items())[-20:]:
                assert event_id in {e.id for e in ledger.contacts(debtor_id=debtor_id)}
            assert ledger.stats()["damaged_lines"] == 0
    assert total_acks > KILLS * 5, "the helper hardly wrote anything: kills were not mid-traffic"


@pytest.mark.slow
def test_sigkill_during_compactions_keeps_every_acknowledged_write(tmp_path):
    rng = random.Random(7)
    # some history first, so that the snapshot is not trivial
    _run_and_kill(tmp_path, 0, rng)
    best = 0
    for run in range(1, 16):
        for line in _run_and_kill(tmp_path, run, rng, mode="compact"):
            best = max(best, int(line.split()[2]))
        with Ledger.open(tmp_path) as ledger:
            assert int(ledger.settings.get("crash_counter", 0)) >= best
            assert ledger.stats()["damaged_lines"] == 0
        leftovers = [p.name for p in (tmp_path / "ledger").iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []
    assert best > 15


@pytest.mark.slow
def test_another_process_owning_the_directory_locks_it_until_it_dies(tmp_path):
    proc = subprocess.Popen([sys.executable, str(HELPER), str(tmp_path), "lock", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(LedgerLocked) as info:
            Ledger.open(tmp_path)
        assert "otro proceso" in str(info.value)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    # the kernel dropped the lock with the process: no stale lock file blocks a restart
    with Ledger.open(tmp_path) as ledger:
        assert ledger.stats()["debtors"] % 5 == 0
