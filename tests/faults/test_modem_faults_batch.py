"""Fault: the modem misbehaves in the middle of a dispatch batch — the whole chain, nothing mocked.

Ledger (in memory) <- recorder thread <- driver events; dispatcher -> one-modem pool -> our driver -> the
simulated modem on a pty, with a simulated time that moves one minute per scheduler tick (the dispatcher's
clock, the pool's parking clock). The driver-level tests (tests/modem/test_driver_recovery.py,
test_driver_e2e.py, test_pool.py) show the driver and the pool recover from each fault; here the question is
what a batch of reminders becomes. Scenarios, each at a seeded random point of the batch:

- ``unplug_replug``: the USB plug pulled mid-batch, back two ticks later;
- ``stops_answering``: the modem goes silent (input swallowed, nothing printed) until two ticks later;
- ``reboot``: the modem restarts mid-batch (settings lost, boot URCs);
- ``cms500_storm``: ``+CMS ERROR: 500`` to the next several submits (an error that does not say whether the
  SMS left: each one hit is ``uncertain``, never re-sent);
- ``sim_storage_full``: the SIM storage full from the start (status reports and SMS cannot be stored until
  the driver's sweep hands what it holds to the recorder, which frees it);
- ``no_network_1h``: the network lost mid-batch for an hour of simulated time (60 ticks), then back.

Each ends, after the recovery, with: every contact in a final state (``sent``/``delivered``/``expired``,
``failed`` only where the scenario allows it, or ``uncertain`` — at most as many as the fault can explain),
none left ``sending`` or ``retry``; nothing handed to the network twice (the simulated network's submissions
and its phones' inboxes, per number); a sent contact at the network exactly once, a failed one never; the
queue drained (the planner has no ``send`` left, a last drain finds nothing due).

``COBRADOR_FAULT_SEED=<n>`` replays a run; the scenario and the seed are in every failure message.
"""

from __future__ import annotations

import os
import queue
import random
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.ledger import Ledger
from firmware_py.recorder import EventRecorder
from modem.driver import Timeouts
from modem.pool import ModemPool, PoolMember, SimLimits
from modem.simulator import Simulator
from scheduler.clock import ClockTrust
from scheduler.contact_state import outcomes
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.planner import SEND, plan
from scheduler.policy import load_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "modem"))
from _driver_support import make_modem  # noqa: E402  (the driver tests' test-friendly bounds)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 12, 15, 9, 0, tzinfo=BOGOTA)   # a Tuesday morning inside the contact hours, the due day
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))
DEBTORS = 24
TICK = timedelta(minutes=1)
MAX_TICKS = 150
REPORT_EXPIRY = 15 * 60.0                          # simulated seconds: a receipt lost with the modem expires
SETTLED = {"sent", "delivered", "expired", "failed", "uncertain"}


def number(i: int) -> str:
    return f"+5731577{i:05d}"


class SimTime:
    """The simulated time: the dispatcher's clock (a datetime) and the pool's (monotonic seconds)."""

    def __init__(self):
        self.offset = 0.0
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return NOW + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        with self.lock:
            return time.monotonic() + self.offset

    def advance(self, step: timedelta) -> None:
        with self.lock:
            self.offset += step.total_seconds()


class World:
    def __init__(self, tmp_path: Path):
        self.time = SimTime()
        self.ledger = Ledger.memory()
        self.ledger.import_batch(
            [Debtor(f"d{i:03d}", f"Socia{i} Prueba", phones=(Phone(number(i)),)) for i in range(DEBTORS)],
            [Loan(f"L{i:03d}", f"d{i:03d}", instalments=(Instalment(1, NOW.date(), Decimal(150000)),))
             for i in range(DEBTORS)], source="faults.csv", now=NOW - timedelta(days=20))
        self.events: queue.Queue = queue.Queue()
        self.sim = Simulator("generic", link=tmp_path / "ttyGSM", boot_time=0.05, latency=0.03, report_delay=0.05)
        self.sim.start()
        self.modem = make_modem(self.sim, "generic", events=self.events, report_expiry=REPORT_EXPIRY,
                                timeouts=Timeouts(default=1.5, prompt=1.0, send=3.0, read=2.0, ussd=2.0,
                                                  liveness=0.5, sim_ready=3.0),
                                clock=lambda: self.time.now().timestamp(),
                                liveness_interval=0.3, maintenance_interval=0.1, sim_sweep_interval=0.5)
        self.modem.open()
        self.recorder = EventRecorder(self.ledger, self.events, country="CO")
        self.recorder.start()
        self.pool = ModemPool([PoolMember("sim1", self.modem, SimLimits(block_after=3, block_time=300))],
                              clock=self.time.monotonic)
        self.dispatcher = Dispatcher(self.ledger, self.pool, lambda: POLICY, clock=self.time.now)

    def close(self):
        for closing in (self.dispatcher.close, self.pool.close, self.modem.close, self.recorder.close,
                        self.sim.close, self.ledger.close):
            try:
                closing()
            except Exception:  # close everything even if one part is broken
                pass

    def submitted(self) -> int:
        return len(self.sim.network.submitted)

    def by_contact(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.ledger.contacts():
            if e.direction == "outbound" and e.contact_id:
                out.setdefault(e.contact_id, []).append(e.kind)
        return out


class Scenario:
    """A fault: ``arm`` before the batch, ``strike`` when ``at`` messages are out, ``heal`` when ``healed_after``
    ticks have passed since the strike (``None``: it heals by itself)."""

    allowed_failed = False
    healed_after: int | None = 2

    def __init__(self, rng: random.Random):
        self.at = rng.randrange(2, DEBTORS // 2)

    def max_uncertain(self, world) -> int:
        return 1                                # the one message in flight when it struck

    def arm(self, world):
        pass

    def strike(self, world):
        pass

    def heal(self, world):
        pass


class UnplugReplug(Scenario):
    def strike(self, w):
        w.sim.unplug()

    def heal(self, w):
        w.sim.replug()


class StopsAnswering(Scenario):
    def strike(self, w):
        w.sim.hang(None)

    def heal(self, w):
        w.sim.unhang()


class Reboot(Scenario):
    healed_after = None

    def strike(self, w):
        w.sim.reboot()


class Cms500Storm(Scenario):
    healed_after = None
    # each 500 also counts as a failure of the modem: after three in a row the pool parks it; while it is
    # parked the dispatcher waits for the radio (NoModemAvailable is not the contacts' fault): none fails
    allowed_failed = False

    def __init__(self, rng):
        super().__init__(rng)
        self.count = rng.randrange(4, 9)

    def max_uncertain(self, w):
        return self.count

    def strike(self, w):
        w.sim.fail_next("AT+CMGS", "+CMS ERROR: 500", count=self.count)


class SimStorageFull(Scenario):
    healed_after = None

    def max_uncertain(self, w):
        return 0

    def arm(self, w):
        self.filled = w.sim.fill_storage()


class NoNetworkOneHour(Scenario):
    healed_after = 60                           # ticks of one simulated minute
    # +CMS ERROR: 331 (no network service) through the driver's bounded retries, and the parked pool's
    # NoModemAvailable: the dispatcher waits for the radio instead of using up the contacts' retries — every
    # reminder goes once the network is back
    allowed_failed = False

    def max_uncertain(self, w):
        return 0

    def strike(self, w):
        w.sim.set_registration(2)

    def heal(self, w):
        w.sim.set_registration(1)


SCENARIOS = {"unplug_replug": UnplugReplug, "stops_answering": StopsAnswering, "reboot": Reboot,
             "cms500_storm": Cms500Storm, "sim_storage_full": SimStorageFull, "no_network_1h": NoNetworkOneHour}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_modem_fault_during_a_dispatch_batch(tmp_path, name):
    seed = int(os.environ.get("COBRADOR_FAULT_SEED") or random.SystemRandom().randrange(1 << 31))
    rng = random.Random(seed)
    print(f"COBRADOR_FAULT_SEED={seed}")
    scenario = SCENARIOS[name](rng)
    where = f"scenario={name} (strikes after {scenario.at} messages), COBRADOR_FAULT_SEED={seed}"
    started = time.monotonic()
    w = World(tmp_path)
    stopped = threading.Event()
    struck: list[float] = []

    def watcher():                              # strikes in the middle of a drain, as the messages go out
        while not stopped.is_set():
            if w.submitted() >= scenario.at:
                scenario.strike(w)
                struck.append(w.time.offset)
                return
            time.sleep(0.002)

    try:
        scenario.arm(w)
        thread = threading.Thread(target=watcher, daemon=True)
        thread.start()
        healed = scenario.healed_after is None
        reasons = Counter()
        ticks = 0
        for ticks in range(1, MAX_TICKS + 1):
            report = w.dispatcher.drain()
            reasons[report.stopped_reason] += 1
            assert not report.errors, f"{where}: tick {ticks}: {report.errors}"
            if struck and not healed and w.time.offset - struck[0] >= scenario.healed_after * 60:
                scenario.heal(w)
                healed = True
            if struck and healed and report.stopped_reason == "nothing_due" and not pending(w):
                break
            w.time.advance(TICK)
            time.sleep(0.05 if report.stopped_reason == "nothing_due" else 0.2)  # real time for reconnects
        assert struck, f"{where}: the fault never struck ({w.submitted()} messages out)"
        assert healed and not pending(w), f"{where}: still pending after {ticks} ticks: {pending(w)}; {reasons}"
        wait_reports(w)
        check(w, scenario, where)
        final = w.dispatcher.drain()
        assert final.stopped_reason == "nothing_due" and final.sent == 0, f"{where}: not drained: {final}"
        snapshot = w.ledger.snapshot(contacts_since=w.time.now() - timedelta(days=120))
        left = [d.contact_id for d in plan(snapshot, POLICY, w.time.now()) if d.action == SEND]
        assert not left, f"{where}: the planner still wants to send {left}"
        kinds = Counter(o.last_kind for o in outcomes(w.ledger.contacts()).values())
        print(f"{name}: {ticks} ticks ({ticks} simulated minutes), outcomes {dict(kinds)}, "
              f"{w.submitted()} at the network, {time.monotonic() - started:.1f} s")
    finally:
        stopped.set()
        w.close()


def pending(w: World) -> list[str]:
    """Contacts not settled yet: never tried, or last word ``sending``/``retry``."""
    got = outcomes(w.ledger.contacts())
    ids = {f"d{i:03d}:L{i:03d}:1:0" for i in range(DEBTORS)}
    return sorted(cid for cid in ids if cid not in got or got[cid].last_kind not in SETTLED)


def wait_reports(w: World) -> None:
    """Until every sent message has its status report (``delivered``) or has expired (a report the modem had
    printed when it was unplugged is lost with its buffer), simulated time still flowing."""
    for _ in range(2 * int(REPORT_EXPIRY // TICK.total_seconds()) + 20):
        kinds = w.by_contact()
        if all("delivered" in k or "expired" in k for k in kinds.values() if "sent" in k):
            return
        w.time.advance(TICK)
        time.sleep(0.1)


def check(w: World, scenario: Scenario, where: str) -> None:
    at_network = Counter(s.number for s in w.sim.network.submitted)
    received = {n: len(p.received) for n, p in w.sim.network.phones.items()}
    twice = {n: c for n, c in at_network.items() if c > 1} | {n: c for n, c in received.items() if c > 1}
    assert not twice, f"{where}: delivered twice {twice}"
    got = w.by_contact()
    assert len(got) == DEBTORS, f"{where}: {DEBTORS - len(got)} contacts never tried"
    last = {cid: o.last_kind for cid, o in outcomes(w.ledger.contacts()).items()}
    uncertain = [cid for cid, k in last.items() if k == "uncertain"]
    failed = [cid for cid, k in last.items() if k == "failed"]
    assert len(uncertain) <= scenario.max_uncertain(w), f"{where}: uncertain {uncertain}"
    assert scenario.allowed_failed or not failed, f"{where}: failed {[(c, got[c]) for c in failed]}"
    for cid, kinds in got.items():
        phone = number(int(cid[1:4]))
        counts = Counter(kinds)
        assert last[cid] in SETTLED, f"{where}: {cid} ends {kinds}"
        assert counts["sent"] + counts["uncertain"] + counts["failed"] == 1, f"{where}: {cid} {kinds}"
        if "sent" in counts:
            assert at_network[phone] == 1, f"{where}: {cid} sent but {at_network[phone]} at the network: {kinds}"
            assert "delivered" in counts or "expired" in counts, f"{where}: {cid} no report settled it: {kinds}"
        elif "failed" in counts:
            assert at_network[phone] == 0, f"{where}: {cid} failed but at the network: {kinds}"
        else:
            assert at_network[phone] <= 1, f"{where}: {cid} {kinds}"
    if isinstance(scenario, SimStorageFull):
        assert len(w.sim.storage) < scenario.filled, f"{where}: the full storage was never freed"
