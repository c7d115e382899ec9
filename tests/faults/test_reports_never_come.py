"""Fault: status reports that never come (the phone is off for days, the SMSC drops the report).

The whole real chain: dispatcher -> pool -> our driver -> the simulated modem on a pty, whose network never
reports for some phones (``never``) or only says "SC still trying" (``pending``, the final report comes long
after the window). With a short expiry window (``report_expiry``), the driver's sweep expires those
messages and the recorder writes ``expired`` on the contact that caused them; a delivered phone in the same
run ends ``delivered``. The expired contacts are never re-sent. A second scenario restarts the driver
(same durable store) between the send and the expiry: the new driver still expires them.
"""

from __future__ import annotations

import queue
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.ledger import Ledger
from firmware_py.recorder import EventRecorder
from modem.driver import Modem
from modem.pool import ModemPool, PoolMember
from modem.simulator import Simulator
from modem.stores import AtomicJsonFileStore
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop", clock=ClockTrust(True, "given"))
PHONES = {"+573001110001": "never", "+573001110002": "pending", "+573001110003": "delivered",
          "+573001110004": "never"}
EXPECTED = {"never": "expired", "pending": "expired", "delivered": "delivered"}
EXPIRY = 1.5


def make_ledger() -> Ledger:
    ledger = Ledger.memory()
    numbers = list(PHONES)
    ledger.import_batch([Debtor(f"d-{i}", f"Socio {i}", phones=(Phone(n),)) for i, n in enumerate(numbers)],
                        [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, date(2026, 12, 15), Decimal(150000)),))
                         for i in range(len(numbers))], source="test", now=NOW - timedelta(days=20))
    return ledger


def final_kinds(ledger) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in ledger.contacts():
        if e.direction == "outbound":
            out.setdefault(e.phone, []).append(e.kind)
    return out


def wait_final(ledger, timeout: float) -> dict[str, list[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kinds = final_kinds(ledger)
        if all(any(k in ("delivered", "failed", "expired") for k in kinds.get(n, ())) for n in PHONES):
            break
        time.sleep(0.1)
    return final_kinds(ledger)


def check(scenario: str, kinds: dict[str, list[str]]) -> None:
    for number, behaviour in PHONES.items():
        got = kinds.get(number, [])
        assert got.count("sending") == 1, f"{scenario}: {number} ({behaviour}) sent {got.count('sending')} times: {got}"
        finals = [k for k in got if k in ("delivered", "failed", "expired")]  # the log is ordered by time, and
        # the report's time is the driver's clock, not the dispatcher's: compare the final kinds, not the order
        assert finals == [EXPECTED[behaviour]], f"{scenario}: {number} ({behaviour}) ended {got}"
        assert "uncertain" not in got, f"{scenario}: {number}: {got}"


@pytest.mark.parametrize("restart", [False, True], ids=["same_driver", "driver_restarted_before_expiry"])
def test_reports_that_never_come_end_expired(tmp_path, restart):
    scenario = f"reports never come, expiry {EXPIRY} s, restart={restart}"
    ledger = make_ledger()
    events: queue.Queue = queue.Queue()
    recorder = EventRecorder(ledger, events, country="CO")
    recorder.start()
    store_path = tmp_path / "driver.json"
    try:
        with Simulator("generic", link=tmp_path / "tty", boot_time=0.05) as sim:
            for number, behaviour in PHONES.items():
                phone = sim.network.phone(number)
                phone.outcome = behaviour
                phone.late_delay = 3600.0
            modem = Modem(sim.port, profile="generic", events=events, report_expiry=EXPIRY,
                          maintenance_interval=0.2, store=AtomicJsonFileStore(store_path))
            modem.open()
            pool = ModemPool([PoolMember("sim1", modem)])
            dispatcher = Dispatcher(ledger, pool, lambda: POLICY, clock=lambda: NOW)
            report = dispatcher.drain()
            assert report.sent == len(PHONES), f"{scenario}: {report}"
            if restart:
                pool.close()
                modem.close()
                modem = Modem(sim.port, profile="generic", events=events, report_expiry=EXPIRY,
                              maintenance_interval=0.2, store=AtomicJsonFileStore(store_path))
                modem.open()
                pool = ModemPool([PoolMember("sim1", modem)])
            try:
                kinds = wait_final(ledger, timeout=EXPIRY + 10)
                check(scenario, kinds)
                dispatcher2 = Dispatcher(ledger, pool, lambda: POLICY, clock=lambda: NOW + timedelta(hours=1))
                again = dispatcher2.drain()
                assert again.sent == 0, f"{scenario}: expired contacts were sent again: {again}"
                assert len(sim.network.submitted) == len(PHONES), f"{scenario}: {len(sim.network.submitted)} sent"
            finally:
                pool.close()
                modem.close()
    finally:
        recorder.close()
        ledger.close()
