"""Fault: SIGKILL the appliance's real processes at seeded random points of imports and of dispatch,
restart, check — ``COBRADOR_FAULT_KILLS`` kills in all (default 200: half during imports, half during
dispatch; e.g. ``COBRADOR_FAULT_KILLS=1000`` for a long run). ``COBRADOR_FAULT_SEED=<n>`` replays one run;
the seed is printed and in every failure message, with the scenario and the kill's number.

Imports (``test_sigkill_during_imports``): a real ``cobrador import FILE --data DIR --json`` process
(forked by tests/faults/import_zygote.py with the appliance imported), of one of two 1,000-1,300-row CSV
files (B changes every loan of A and adds more), into the same data directory again and again; killed after
a random delay within its run time (about one run in ten finishes first). After each kill the ledger is
opened again (the restart) and must:

- load, with no damaged line;
- hold exactly the state before that import or the state after it (all or nothing: the loans compared
  field by field with uninterrupted reference imports, the debtors by id and name);
- when the import printed its JSON report (its acknowledgement), hold the state after it: no acknowledged
  import is lost, now or at any later restart.

Dispatch (``test_sigkill_during_dispatch``): the harness of tests/e2e/test_dispatch_kills.py (the sending
process tests/e2e/dispatch_child.py — ledger on disk, real driver, recorder, pool, dispatcher — against a
``python -m modem.simulator --journal`` process that outlives it and journals every SMS its network
accepted), with more debtors and more kills. After the last process has run to the end:

- no message reached the network twice (the simulator's journal, counted per number: one contact each);
- every contact has a final state: ``sent`` (then the network has it exactly once) or ``uncertain`` (at
  most once); none is left ``sending``, none lost, none ``failed``;
- every contact a kill left in doubt was listed by the next start's ``recover()``, turned ``uncertain``
  and never handed to the radio again; and the dashboard's "en duda" list (``webui.dashboard.in_doubt``
  on the reopened ledger) lists exactly the contacts whose last word is ``uncertain``.
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

from firmware_py.importer.samples import write_loan_csv
from firmware_py.ledger import Ledger
from scheduler.contact_state import outcomes
from scheduler.model import Debtor, Instalment, Loan, Phone

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests" / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))
from dispatch_child import DUE, NOW  # noqa: E402
from test_dispatch_kills import Zygote, child, delay, wait_for_line  # noqa: E402  (the e2e harness, reused)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TOTAL_KILLS = int(os.environ.get("COBRADOR_FAULT_KILLS") or 200)
IMPORT_KILLS = TOTAL_KILLS // 2
DISPATCH_KILLS = TOTAL_KILLS - IMPORT_KILLS
ROWS = {"A": 1000, "B": 1300}          # B: every loan of A with new figures, and 300 more
DEBTORS = 300                           # the policy's daily SMS cap: one day's worth of contacts per round
PER_ROUND = 50                          # kills per round (each sends a few): every kill lands mid-dispatch
LATENCY = 0.03                          # the simulated network's +CMGS latency


def seed_of() -> int:
    return int(os.environ.get("COBRADOR_FAULT_SEED") or random.SystemRandom().randrange(1 << 31))


# -- imports ------------------------------------------------------------------------------------------------------
class ImportZygote:
    """tests/faults/import_zygote.py: forks ``cobrador import`` processes with the appliance imported."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("import_zygote.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT, env=env)
        assert "zygote" in json.loads(self.proc.stdout.readline() or "{}"), self.proc.stderr.read()

    def spawn(self, file: Path, data: Path, out: Path) -> int:
        self.proc.stdin.write(json.dumps({"file": str(file), "data": str(data), "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def reaped(self, pid: int) -> int:
        line = json.loads(self.proc.stdout.readline())
        assert line["exit"] == pid, line
        return line["status"]

    def run(self, file: Path, data: Path, out: Path) -> float:
        """One uninterrupted import; its duration."""
        started = time.monotonic()
        status = self.reaped(self.spawn(file, data, out))
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, Path(str(out) + ".err").read_text()[-3000:]
        return time.monotonic() - started

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def state_of(data: Path, where: str) -> tuple[dict, dict]:
    """Open the ledger (the restart: recovery included) and read its loans and debtors."""
    with Ledger.open(data) as ledger:
        damaged = ledger.stats()["damaged_lines"]
        assert damaged == 0, f"{where}: {damaged} damaged lines after the restart"
        return ({loan.external_id: loan for loan in ledger.loans()},
                {debtor.id: debtor.name for debtor in ledger.debtors()})


def compose(before: tuple[dict, dict], imported: tuple[dict, dict]) -> tuple[dict, dict]:
    """An import is an upsert: the file's loans and debtors replace those with the same id, others stay."""
    return {**before[0], **imported[0]}, {**before[1], **imported[1]}


def acknowledged(out: Path) -> bool:
    text = out.read_text() if out.exists() else ""
    if not text.endswith("\n"):                 # a line cut by the kill is no acknowledgement
        text = text.rsplit("\n", 1)[0] if "\n" in text else ""
    for line in text.splitlines():
        if line.startswith("{") and line.endswith("}") and "imported" in json.loads(line):
            return True
    return False


def test_sigkill_during_imports(tmp_path):
    seed = seed_of()
    rng = random.Random(seed)
    print(f"COBRADOR_FAULT_SEED={seed}")
    where = f"scenario=SIGKILL during imports, COBRADOR_FAULT_SEED={seed}"
    started = time.monotonic()
    files = {name: write_loan_csv(tmp_path / f"{name}.csv", rows, seed=1 + ord(name)) for name, rows in ROWS.items()}
    zygote = ImportZygote()
    try:
        # uninterrupted reference runs: each file alone, and B over A (the upsert rule checked, not assumed)
        alone, duration = {}, {}
        for name, file in files.items():
            duration[name] = zygote.run(file, tmp_path / f"alone-{name}", tmp_path / f"alone-{name}.out")
            alone[name] = state_of(tmp_path / f"alone-{name}", where)
        zygote.run(files["B"], tmp_path / "alone-A", tmp_path / "b-over-a.out")
        assert state_of(tmp_path / "alone-A", where) == compose(alone["A"], alone["B"]), \
            f"{where}: importing B over A does not give the upsert of both"
        assert alone["A"][0] != {k: v for k, v in alone["B"][0].items() if k in alone["A"][0]}, where

        data = tmp_path / "data"
        current: tuple[dict, dict] = ({}, {})
        kills, finished, outcome = 0, 0, Counter()
        run = 0
        while kills < IMPORT_KILLS:
            run += 1
            name = rng.choice("AB")
            after = compose(current, alone[name])
            out = tmp_path / f"imp{run:04d}.out"
            wait = rng.uniform(0.0, duration[name] * 1.1)
            pid = zygote.spawn(files[name], data, out)
            time.sleep(wait)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:          # it finished (and the zygote reaped it) first
                pass
            status = zygote.reaped(pid)
            here = f"{where}, run {run} (kill {kills + 1}, file {name}, after {wait * 1000:.0f} ms)"
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            acked = acknowledged(out)
            if not killed:
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and acked, \
                    f"{here}: the import failed: {Path(str(out) + '.err').read_text()[-3000:]}"
            now = state_of(data, here)
            assert now in (current, after), (
                f"{here}: the ledger holds neither the state before the import nor after it "
                f"({len(now[0])} loans; before {len(current[0])}, after {len(after[0])})")
            if acked:
                assert now == after, f"{here}: an acknowledged import is not in the ledger"
            outcome["finished" if not killed else ("all" if now == after else "none")] += 1
            current = now
            kills += killed
            finished += not killed
            out.unlink(missing_ok=True)                     # a kill right after the fork: no file opened yet
            Path(str(out) + ".err").unlink(missing_ok=True)
    finally:
        zygote.close()
    elapsed = time.monotonic() - started
    print(f"import kills: {kills} ({dict(outcome)}; runs {run}, {ROWS} rows, uninterrupted "
          f"{', '.join(f'{k} {v:.2f} s' for k, v in duration.items())}), {elapsed:.1f} s")
    assert kills == IMPORT_KILLS, where
    assert outcome["none"] > 0, f"{where}: no kill landed before an import's commit: {dict(outcome)}"


# -- dispatch -----------------------------------------------------------------------------------------------------
def number(i: int) -> str:
    return f"+5732{i:08d}"


def contact(i: int) -> str:
    return f"d{i:04d}:L{i:04d}:1:0"


def load(data: Path) -> None:
    with Ledger.open(data, clock=lambda: NOW) as ledger:
        ledger.import_batch([Debtor(f"d{i:04d}", f"Socia{i} Prueba", phones=(Phone(number(i)),))
                             for i in range(DEBTORS)],
                            [Loan(f"L{i:04d}", f"d{i:04d}", instalments=(Instalment(1, DUE, Decimal(120000)),))
                             for i in range(DEBTORS)], source="kills.csv", now=NOW)


def test_sigkill_during_dispatch(tmp_path):
    seed = seed_of()
    rng = random.Random(seed)
    print(f"COBRADOR_FAULT_SEED={seed}")
    started = time.monotonic()
    # the policy's daily SMS cap (300) bounds one day's contacts: rounds of at most PER_ROUND kills, each on
    # its own ledger and simulated modem
    rounds = -(-DISPATCH_KILLS // PER_ROUND)
    kills = doubts = reached = 0
    for n in range(rounds):
        where = f"scenario=SIGKILL during dispatch (round {n + 1} of {rounds}), COBRADOR_FAULT_SEED={seed}"
        wanted = min(PER_ROUND, DISPATCH_KILLS - kills)
        d, r = dispatch_round(tmp_path / f"round{n + 1}", rng, wanted, where)
        kills, doubts, reached = kills + wanted, doubts + d, reached + r
    print(f"dispatch kills: {kills} in {rounds} rounds of {DEBTORS} contacts, in doubt after a kill {doubts} "
          f"({reached} had reached the network), {time.monotonic() - started:.1f} s")
    assert kills == DISPATCH_KILLS


def dispatch_round(tmp_path: Path, rng: random.Random, wanted: int, where: str) -> tuple[int, int]:
    tmp_path.mkdir()
    data, journal = tmp_path / "data", tmp_path / "journal.jsonl"
    load(data)
    sim = subprocess.Popen([sys.executable, "-m", "modem.simulator", "--link", str(tmp_path / "ttyGSM"),
                            "--profile", "generic", "--latency", str(LATENCY), "--report-delay", "0.2",
                            "--journal", str(journal)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=ROOT)
    zygote = None
    kills = 0
    recovered: list[list[str]] = []
    try:
        port = sim.stdout.readline().strip()
        assert port, f"{where}: the simulator did not start: {sim.stderr.read()}"
        zygote = Zygote()
        while kills < wanted:
            here = f"{where}, kill {kills + 1}"
            out = tmp_path / f"run{kills + 1:04d}.out"
            pid = zygote.spawn(data, port, out)
            ready = wait_for_line(out, "ready", pid)
            first = ready and wait_for_line(out, "sending", pid)
            if not first:
                zygote.reaped(pid)
                if ready:
                    raise AssertionError(f"{here}: every contact went out before the kills were done")
                raise AssertionError(f"{here}: the sending process died before dispatching:\n"
                                     f"{Path(str(out) + '.err').read_text()[-3000:]}")
            recovered.append(ready["recovered"])
            time.sleep(delay(rng))
            os.kill(pid, signal.SIGKILL)
            status = zygote.reaped(pid)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{here}: status {status}"
            kills += 1
        last = child(data, port, "5.0")          # an exec'ed process this time, left to finish
        out, err = last.communicate(timeout=300)
        assert last.returncode == 0, f"{where}: the last sending process failed:\n{err[-3000:]}"
        lines = [json.loads(line) for line in out.splitlines()]
        recovered.append(lines[0]["recovered"])
        assert lines[-1].get("done"), f"{where}: {out}"
    finally:
        if zygote is not None:
            zygote.close()
        sim.send_signal(signal.SIGTERM)
        try:
            sim.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate()

    from webui.dashboard import in_doubt
    with Ledger.open(data) as ledger:            # the restart after everything: loads, and lists the doubts
        assert ledger.stats()["damaged_lines"] == 0, where
        events = ledger.contacts()
        listed = {item.contact_id for item in in_doubt(ledger, NOW)}
    return check_dispatch(events, journal, recovered, listed, where)


def check_dispatch(events, journal: Path, recovered: list[list[str]], listed: set[str], where: str):
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    at_network = Counter(line["number"] for line in lines if line["concat"] is None or line["concat"][2] == 1)
    twice = {n: c for n, c in at_network.items() if c > 1}
    assert not twice, f"{where}: delivered twice: {twice}"
    assert set(at_network) <= {number(i) for i in range(DEBTORS)}, where
    by_contact: dict[str, list] = defaultdict(list)
    for e in events:
        if e.contact_id and e.direction == "outbound":
            by_contact[e.contact_id].append(e)
    lost = {contact(i) for i in range(DEBTORS)} - set(by_contact)
    assert not lost and len(by_contact) == DEBTORS, f"{where}: contacts lost {sorted(lost)[:10]} or extra"
    in_doubt = {cid for batch in recovered for cid in batch}
    for i in range(DEBTORS):
        cid = contact(i)
        kinds = [e.kind for e in by_contact[cid]]
        counts = Counter(kinds)
        assert counts["sending"] >= 1 and {"sent", "uncertain"} & set(kinds), f"{where}: {cid} not final: {kinds}"
        assert "failed" not in counts, f"{where}: {cid} failed: {kinds}"
        reached = at_network[number(i)]
        if "sent" in counts:
            assert counts["sent"] == 1 and "uncertain" not in counts and reached == 1, \
                f"{where}: {cid} {kinds}, at the network {reached} times"
            assert counts["sending"] == 1 + counts["retry"], f"{where}: {cid} {kinds}"
        else:
            assert counts["uncertain"] == 1 and reached <= 1, f"{where}: {cid} {kinds}, network {reached}"
        if cid in in_doubt:
            last_sending = max(n for n, k in enumerate(kinds) if k == "sending")
            assert "uncertain" in kinds[last_sending:], f"{where}: {cid} re-sent after a kill: {kinds}"
    uncertain = {c for c, evs in by_contact.items() if "uncertain" in {e.kind for e in evs}}
    assert in_doubt == uncertain, f"{where}: recovered {sorted(in_doubt ^ uncertain)[:10]} differ"
    still = {c for c, o in outcomes([e for evs in by_contact.values() for e in evs]).items()
             if o.last_kind == "uncertain"}
    assert listed == still, f"{where}: the dashboard's in-doubt list differs: {sorted(listed ^ still)[:10]}"
    return len(in_doubt), sum(1 for i in range(DEBTORS) if contact(i) in in_doubt and at_network[number(i)])
