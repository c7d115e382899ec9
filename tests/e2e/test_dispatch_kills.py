"""SIGKILL the sending process at random points of dispatch, again and again: nothing is sent twice,
nothing is lost.

Three kinds of real processes: the simulated modem (``python -m modem.simulator --journal``), which
outlives everything and writes each SMS its network accepted to a journal before answering
``+CMGS``; the sending process (tests/e2e/dispatch_child.py: ledger on disk, real driver, recorder,
pool, dispatcher with a fixed business-hours clock; ``recover()`` then ``drain()``); and this test,
which starts a sending process, waits for it to be dispatching, lets it run a random few ms to a few
hundred ms, SIGKILLs it, and starts the next one. After at least 30 kills one last process runs to
the end. Then, for each of the debtors' contacts (one each, the due-day step), from the journal and
the ledger:

- it reached the network at most once (the journal, counted per number: one contact per number);
- it has a final state: ``sent`` (or ``delivered``) — then the network has it exactly once — or
  ``uncertain`` — then at most once — and never ``failed``; none is left ``sending`` or untouched;
- every contact left in doubt by a kill (``sending`` last) was turned ``uncertain`` by the next
  process's ``recover()`` and never handed to the radio again (one ``sending`` event);
- a process killed between ``AT+CMGS``'s prompt and the body leaves the modem waiting for that body:
  the next one still connects (the driver cancels the prompt) and that SMS never goes out.

The killed processes are forked by ``dispatch_child.py --zygote`` with everything imported (a fresh
Python takes two seconds to import the appliance); the last one is a plain exec'ed process.

The seed is printed and in every failure message; ``KILL_SEED=<n>`` replays one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.ledger import Ledger
from scheduler.model import Debtor, Instalment, Loan, Phone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("dispatch_child.py")
sys.path.insert(0, str(CHILD.parent))
from dispatch_child import DUE, NOW  # noqa: E402

DEBTORS = 300
KILLS = 16  # tests/faults/test_kill_storm.py kills dispatch 100 more times
LATENCY = 0.03           # the simulated network's +CMGS latency: a send is a window a kill can land in


def number(i: int) -> str:
    return f"+5731{i:08d}"


def contact(i: int) -> str:
    return f"d{i:03d}:L{i:03d}:1:0"


def delay(rng: random.Random) -> float:
    """A few ms to a few hundred ms, log-uniform (so the short ones, inside one send, are common)."""
    return 10 ** rng.uniform(-2.5, -0.35)


def load(data: Path) -> None:
    with Ledger.open(data, clock=lambda: NOW) as ledger:
        ledger.import_batch([Debtor(f"d{i:03d}", f"Socio{i} Prueba", phones=(Phone(number(i)),)) for i in range(DEBTORS)],
                            [Loan(f"L{i:03d}", f"d{i:03d}", instalments=(Instalment(1, DUE, Decimal(120000)),))
                             for i in range(DEBTORS)], source="kills.csv", now=NOW)


def child(data: Path, port: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, str(CHILD), str(data), port, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


class Zygote:
    """``dispatch_child.py --zygote``: forks sending processes with everything already imported."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, str(CHILD), "--zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        assert "zygote" in json.loads(self.proc.stdout.readline() or "{}"), self.proc.stderr.read()

    def spawn(self, data: Path, port: str, out: Path) -> int:
        self.proc.stdin.write(json.dumps({"data": str(data), "port": port, "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def reaped(self, pid: int) -> int:
        line = json.loads(self.proc.stdout.readline())
        assert line["exit"] == pid, line
        return line["status"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def wait_for_line(out: Path, key: str, pid: int, timeout: float = 60.0) -> dict | None:
    """The first JSON line of ``out`` with ``key``; None if the process ended without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            for line in out.read_text().splitlines():
                if line.endswith("}"):
                    data = json.loads(line)
                    if key in data:
                        return data
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        time.sleep(0.002)
    raise AssertionError(f"no {key!r} from process {pid} within {timeout} s")


def test_sigkill_at_random_points_of_dispatch(tmp_path):
    seed = int(os.environ.get("KILL_SEED") or random.SystemRandom().randrange(1 << 31))
    rng = random.Random(seed)
    print(f"KILL_SEED={seed}")
    where = f"(KILL_SEED={seed})"
    started = time.monotonic()
    data, journal = tmp_path / "data", tmp_path / "journal.jsonl"
    load(data)
    sim = subprocess.Popen([sys.executable, "-m", "modem.simulator", "--link", str(tmp_path / "ttyGSM"),
                            "--profile", "generic", "--latency", str(LATENCY), "--report-delay", "0.2",
                            "--journal", str(journal)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=ROOT)
    zygote = None
    kills: list[dict] = []
    recovered: list[list[str]] = []
    try:
        port = sim.stdout.readline().strip()
        assert port, f"the simulator did not start {where}: {sim.stderr.read()}"
        zygote = Zygote()
        while len(kills) < KILLS:
            out = tmp_path / f"run{len(kills) + 1:02d}.out"
            pid = zygote.spawn(data, port, out)
            ready = wait_for_line(out, "ready", pid)
            first = ready and wait_for_line(out, "sending", pid)
            if not first:
                zygote.reaped(pid)
                if ready:
                    raise AssertionError(f"every contact went out before {KILLS} kills ({len(kills)} done): more "
                                         f"debtors needed {where}")
                raise AssertionError(f"sending process {len(kills) + 1} died before dispatching {where}:\n"
                                     f"{Path(str(out) + '.err').read_text()[-3000:]}")
            recovered.append(ready["recovered"])
            wait = delay(rng)
            sent_before = _journal_count(journal)
            time.sleep(wait)
            os.kill(pid, signal.SIGKILL)
            status = zygote.reaped(pid)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (status, where)
            kills.append({"delay_ms": round(wait * 1000, 1), "network": _journal_count(journal) - sent_before,
                          "startup_s": ready["timings"]["recover"]})
        last = child(data, port, "5.0")           # an exec'ed process this time, left to finish
        out, err = last.communicate(timeout=120)
        assert last.returncode == 0, f"the last sending process failed {where}:\n{err[-3000:]}"
        lines = [json.loads(line) for line in out.splitlines()]
        recovered.append(lines[0]["recovered"])
        done = lines[-1]
        assert done.get("done"), (out, where)
    finally:
        if zygote is not None:
            zygote.close()
        sim.send_signal(signal.SIGTERM)
        try:
            sim.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate()

    with Ledger.open(data, read_only=True) as ledger:
        events = ledger.contacts()
    doubt_reached = check(events, journal, recovered, where)
    elapsed = time.monotonic() - started
    doubt = sum(len(r) for r in recovered)
    print(f"kills: {len(kills)}, contacts: {DEBTORS}, in doubt after a kill: {doubt} ({doubt_reached} of them had "
          f"reached the network), delays {min(k['delay_ms'] for k in kills)}-{max(k['delay_ms'] for k in kills)} ms, "
          f"SMS out per run {sorted(k['network'] for k in kills)}, startups up to "
          f"{max(k['startup_s'] for k in kills):.2f} s ({sum(k['startup_s'] > 1.5 for k in kills)} found the modem "
          f"at the SMS prompt), {elapsed:.1f} s")
    assert elapsed < 240, f"took {elapsed:.0f} s {where}"


def _journal_count(path: Path) -> int:
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except FileNotFoundError:
        return 0


def check(events, journal: Path, recovered: list[list[str]], where: str) -> None:
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    at_network = Counter(line["number"] for line in lines if line["concat"] is None or line["concat"][2] == 1)
    by_contact: dict[str, list] = defaultdict(list)
    for e in events:
        if e.contact_id and e.direction == "outbound":
            by_contact[e.contact_id].append(e)
    assert set(by_contact) == {contact(i) for i in range(DEBTORS)}, where     # none lost, nothing else planned
    twice = {n: c for n, c in at_network.items() if c > 1}
    assert not twice, f"sent twice {where}: {twice}"
    in_doubt = {cid for batch in recovered for cid in batch}
    for i in range(DEBTORS):
        cid = contact(i)
        kinds = [e.kind for e in by_contact[cid]]         # the ledger's order: by time, then as appended
        counts = Counter(kinds)
        final = [k for k in kinds if k in ("sent", "uncertain", "failed")]
        assert counts["sending"] >= 1 and final, f"{cid} has no final state {where}: {kinds}"
        assert "failed" not in counts, f"{cid} failed {where}: {kinds}"
        reached = at_network[number(i)]
        if "sent" in counts:
            assert counts["sent"] == 1 and "uncertain" not in counts, f"{cid} {where}: {kinds}"
            assert reached == 1, f"{cid} is sent but the network has it {reached} times {where}"
            assert counts["sending"] == 1 + counts["retry"], f"{cid} {where}: {kinds}"
        else:
            assert counts["uncertain"] == 1, f"{cid} {where}: {kinds}"
            assert reached <= 1, f"{cid} {where}"
        if cid in in_doubt:
            # in doubt after a kill: turned uncertain by the next start, never handed to the radio again
            assert kinds[-1] in ("uncertain", "delivered", "expired"), f"{cid} {where}: {kinds}"
            last_sending = max(n for n, k in enumerate(kinds) if k == "sending")
            assert "uncertain" in kinds[last_sending:], f"{cid} was re-sent after a kill {where}: {kinds}"
    assert sorted(in_doubt) == sorted({c for c, evs in by_contact.items() if "uncertain" in {e.kind for e in evs}}), \
        where
    numbers = {number(i) for i in range(DEBTORS)}
    assert set(at_network) <= numbers, where
    return sum(1 for i in range(DEBTORS) if contact(i) in in_doubt and at_network[number(i)])

