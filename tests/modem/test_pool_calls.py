"""Calls through a pool of real drivers on simulated modems: back to back, one at a time per modem,
re-routed when a modem cannot dial, never placed twice when a modem drops mid-call."""

from __future__ import annotations

import threading
import time

import pytest

from _driver_support import make_modem, wait_until
from modem.errors import NoModemAvailable
from modem.pool import ModemPool, PoolCall, PoolMember, SimLimits
from modem.simulator import Simulator
from modem.simulator.calls import CallScript


@pytest.fixture
def rig(tmp_path):
    """Two simulated modems (SIM800 and EC25) with drivers, in a pool; every phone answers at 0.2 s."""
    sims, modems = [], []
    try:
        for name, profile in (("sim1", "sim800"), ("sim2", "quectel-ec25")):
            sim = Simulator(profile, link=tmp_path / f"tty{name}", boot_time=0.05).start()
            sim.network.call_setup_delay = 0.05
            sim.network.default_script = CallScript(answer_after=0.2)
            sims.append(sim)
            modems.append(make_modem(sim, profile))
            modems[-1].open()
        pool = ModemPool([PoolMember("sim1", modems[0], SimLimits(daily_cap=1, min_gap=60.0)),
                          PoolMember("sim2", modems[1], SimLimits(daily_cap=1, min_gap=60.0))])
        yield pool, sims, modems
    finally:
        for m in modems:
            m.close()
        for sim in sims:
            sim.close()


def numbers(n):
    return [f"+5731200000{i:02d}" for i in range(n)]


@pytest.mark.slow
def test_a_batch_goes_back_to_back_two_modems_in_parallel_never_two_calls_on_one(rig):
    pool, sims, modems = rig
    batch = numbers(8)
    results: list[PoolCall] = []
    lock = threading.Lock()
    most_at_once = {"sim1": 0, "sim2": 0}

    def watch():
        while len(results) < len(batch):
            for sim, name in zip(sims, ("sim1", "sim2")):
                with sim.lock:
                    most_at_once[name] = max(most_at_once[name], len(sim.device.calls))
            time.sleep(0.005)

    def worker(queue):
        while queue:
            with lock:
                if not queue:
                    return
                number = queue.pop(0)
            r = pool.call(number, call_id=f"c-{number}", ring_timeout=5.0, listen_after=0.2)
            with lock:
                results.append(r)

    queue = list(batch)
    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(queue,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    elapsed = time.monotonic() - started
    watcher.join(5)
    assert sorted(r.result.number for r in results) == batch
    assert all(r.result.outcome == "answered" for r in results)
    assert {r.member for r in results} == {"sim1", "sim2"}        # both modems took calls (caps/pacing are SMS rules)
    assert most_at_once == {"sim1": 1, "sim2": 1}                   # never two calls at once on one modem
    # back to back: the driver's gap between one call's end and the next ATD on the same modem
    gaps = [g for m in modems for g in m.voice.dead_times]
    assert gaps and max(gaps) < 0.05, gaps
    print(f"\n8 calls on 2 modems in {elapsed:.2f} s; dead time between calls: "
          f"max {max(gaps) * 1000:.2f} ms, mean {sum(gaps) / len(gaps) * 1000:.2f} ms")


def test_calls_go_to_the_next_modem_when_one_cannot_dial(rig):
    pool, sims, modems = rig
    sims[0].unplug()
    wait_until(lambda: not modems[0].ready.is_set())
    for number in numbers(2):
        placed = pool.call(number, call_id=f"c-{number}", ring_timeout=5.0, listen_after=0.1)
        assert placed.member == "sim2" and placed.result.outcome == "answered"
    assert pool.health()[0].failures >= 1
    sims[0].replug()


def test_ring_reminder_through_the_pool(rig):
    pool, sims, modems = rig
    for sim in sims:
        sim.network.default_script = CallScript(answer_after=10.0)
    placed = pool.ring("+573120000099", call_id="r-1", seconds=0.4)
    assert placed.result.outcome == "rang" and placed.result.call_id == "r-1"


@pytest.mark.slow
def test_a_modem_dropping_mid_call_is_failed_and_never_placed_again(rig):
    pool, sims, modems = rig
    result = {}
    number = "+573120000050"
    caller = threading.Thread(target=lambda: result.update(
        r=pool.call(number, call_id="c-drop", ring_timeout=5.0, listen_after=10.0)))
    caller.start()
    wait_until(lambda: any(s.device.connected_call() is not None for s in sims))
    victim = next(s for s in sims if s.device.connected_call() is not None)
    victim.unplug()
    caller.join(15)
    placed = result["r"]
    assert placed.result.outcome == "failed" and "disconnected" in placed.result.detail
    dialled = sum(1 for s in sims for c in s.commands if c.startswith(f"ATD{number}"))
    assert dialled == 1                                             # not redialled on the other modem
    victim.replug()


def test_parked_modems_leave_no_one_to_call(rig):
    pool, sims, modems = rig
    pool.park("sim1", 60)
    pool.park("sim2", 60)
    with pytest.raises(NoModemAvailable):
        pool.call("+573120000060", call_id="c-x")
    with pytest.raises(ValueError):
        pool.call("+573120000060", call_id="")
    pool.unpark("sim1")
    with pytest.raises(ValueError):
        pool.call("not a number", call_id="c-y")
    assert pool.health()[0].failures == 0 and not pool.health()[0].busy
