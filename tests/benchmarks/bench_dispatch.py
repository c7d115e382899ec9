"""Benchmark of the whole reminder path: ledger -> planner -> dispatcher -> pool -> driver -> simulated modem.

Every run is the appliance's own wiring, in one process: the ledger on disk (``Ledger.open``, fsync'ed),
``N`` debtors whose instalment is due today, the dispatcher started as the appliance starts it
(``Dispatcher.start()``: APScheduler wakes it, it drains; ``workers`` = modems), a
:class:`modem.pool.ModemPool` over real :class:`modem.driver.Modem` instances (durable report state
in a file, as the appliance keeps it) on :class:`modem.simulator.Simulator` ptys answering ``+CMGS``
after ``--latency`` seconds (default 1 s: what one SMS takes on a real network), and the recorder
writing the delivery reports into the same ledger meanwhile. The clock is a Tuesday at 10:00 in
Bogotá, flowing in real time.

Prints one JSON object per line:

- ``dispatch_throughput`` (``path: "cobrador"``, one modem): reminders per minute from the dispatcher's
  start to the last ``sent``, against the radio's limit (one submission per latency: 60/min at 1 s),
  and the modem's ``utilisation`` while the queue lasts: the time the simulated modem spends inside
  ``AT+CMGS`` transactions (the command line in, to its ``+CMGS:`` out, timed on the simulator's own
  wire transcript) over the wall time from the first such transaction to the end of the last one;
  target >= 98 %.
- ``dispatch_throughput`` (``path: "gammu-smsd"``): Debian's gammu-smsd (files backend, delivery
  reports on) sending the same number of messages (the same numbers and texts) through the same
  simulated modem, in the same run, measured the same way. Skipped with a note if it is not installed
  (``apt-get install gammu-smsd``).
- ``dispatch_scaling``: the same with 4 simulated modems (4 workers) and 4 times the reminders:
  reminders per minute, ``speedup`` over one modem (target ≈ 4), each modem's utilisation and share.

Run: ``.venv/bin/python tests/benchmarks/bench_dispatch.py [--quick] [--latency 1.0] [--count N]``
(``--quick``: 15 reminders per modem instead of 60, about a minute and a half in all).
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

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
START = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)      # a Tuesday, inside the contact hours, the due day
POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))
CMGS_IN = re.compile(rb"AT\+CMGS=\d+")
CMGS_OUT = re.compile(rb"\+CMGS: ?\d+")


class FlowingClock:
    """START, then real time."""

    def __init__(self):
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=time.monotonic() - self.began)


def timed_transcript(sim: Simulator) -> list[tuple[float, str, bytes]]:
    """Timestamp every chunk the simulated modem reads or writes (its own transcript, with times)."""
    chunks: list[tuple[float, str, bytes]] = []
    record = sim._record

    def timed(direction: str, data: bytes) -> None:
        chunks.append((time.monotonic(), direction, bytes(data)))
        record(direction, data)

    sim._record = timed
    return chunks


def cmgs_transactions(chunks, since: float = 0.0) -> list[tuple[float, float]]:
    """(start, end) of each ``AT+CMGS`` transaction: the command line arriving, to the ``+CMGS:`` answer."""
    out, start = [], None
    for at, direction, data in chunks:
        if at < since:
            continue
        if direction == "in" and start is None and CMGS_IN.search(data):
            start = at
        elif direction == "out" and start is not None and CMGS_OUT.search(data):
            out.append((start, at))
            start = None
    return out


def max_gap_ms(transactions) -> float:
    """The longest time the modem sat idle between two transactions while the queue lasted."""
    gaps = [b[0] - a[1] for a, b in zip(transactions, transactions[1:])]
    return round(max(gaps) * 1000, 1) if gaps else 0.0


def utilisation(transactions) -> float:
    if not transactions:
        return 0.0
    busy = sum(end - start for start, end in transactions)
    return busy / (transactions[-1][1] - transactions[0][0])


def load(ledger: Ledger, count: int) -> None:
    debtors = [Debtor(f"d{i:04d}", f"Socio{i} Prueba", phones=(Phone(f"+5731{i:08d}"),)) for i in range(count)]
    loans = [Loan(f"L{i:04d}", f"d{i:04d}", instalments=(Instalment(1, START.date(), Decimal(150000 + i)),))
             for i in range(count)]
    ledger.import_batch(debtors, loans, source="bench.xlsx", now=START)


def engine(tmp: Path, modems: int, count: int, latency: float, *, keep_sim: ExitStack | None = None) -> dict:
    """Send ``count`` reminders through ``modems`` simulated modems; returns the measures (and, with
    ``keep_sim``, leaves the first simulator open on that stack for gammu-smsd)."""
    clock = FlowingClock()
    with ExitStack() as stack:
        sims = []
        for i in range(modems):
            sim = Simulator("generic", link=tmp / f"tty{i}", boot_time=0.05, latency=latency, report_delay=0.05)
            sim.start()
            (keep_sim if keep_sim is not None and i == 0 else stack).callback(sim.close)
            sims.append(sim)
        transcripts = [timed_transcript(sim) for sim in sims]
        events: queue.Queue = queue.Queue()
        drivers = []
        for i, sim in enumerate(sims):
            driver = Modem(sim.port, profile="generic", events=events,
                           store=AtomicJsonFileStore(tmp / f"modem-driver-{i}.json"))
            stack.callback(driver.close)
            driver.open()
            drivers.append(driver)
        pool = stack.enter_context(ModemPool([PoolMember(f"sim{i}", d) for i, d in enumerate(drivers)]))
        ledger = stack.enter_context(Ledger.open(tmp / "data", clock=clock))
        load(ledger, count)
        recorder = EventRecorder(ledger, events, country="CO")
        recorder.start()
        stack.callback(recorder.close)
        sent: list[datetime] = []
        done = threading.Event()

        def on_event(event) -> None:
            if event.kind == "sent":
                sent.append(event)
                if len(sent) == count:
                    done.set()

        dispatcher = Dispatcher(ledger, pool, lambda: POLICY, clock=clock, workers=modems, interval=3600,
                                on_event=on_event)
        stack.callback(dispatcher.close)
        began = time.monotonic()
        dispatcher.start()
        if not done.wait(count * latency * 3 / modems + 60):
            raise RuntimeError(f"only {len(sent)} of {count} reminders were sent")
        elapsed = time.monotonic() - began
        per_modem = [cmgs_transactions(t, began) for t in transcripts]
        submitted = sum(len(s.network.submitted) for s in sims)
        segments = submitted / count
        shares = [sum(1 for e in sent if e.detail.startswith(f"módem sim{i};")) for i in range(modems)]
        messages = [(e.phone, next(x.text for x in ledger.contacts(debtor_id=e.debtor_id, kinds=("sending",))
                                   if x.contact_id == e.contact_id)) for e in sent]
        first = min(t[0][0] for t in per_modem if t)
        last = max(t[-1][1] for t in per_modem if t)
    return {"modems": modems, "reminders": count, "submissions": submitted, "segments_per_reminder": round(segments, 2),
            "seconds": round(elapsed, 2), "reminders_per_minute": round(count / elapsed * 60, 1),
            "radio_seconds": round(last - first, 2),
            "reminders_per_radio_minute": round(count / (last - first) * 60, 1),
            "utilisation": [round(utilisation(t), 4) for t in per_modem],
            "max_idle_ms": [max_gap_ms(t) for t in per_modem], "shares": shares,
            "_messages": messages, "_sim": sims[0], "_transcript": transcripts[0]}


def gammu_smsd(tmp: Path, sim: Simulator, transcript, messages: list[tuple[str, str]], latency: float) -> dict:
    binary, inject = shutil.which("gammu-smsd"), shutil.which("gammu-smsd-inject")
    if not binary or not inject:
        return {"skipped": "gammu-smsd is not installed (apt-get install gammu-smsd)"}
    work = tmp / "gammu-smsd"
    for sub in ("inbox", "outbox", "sent", "error"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    config = work / "smsdrc"
    config.write_text(f"[gammu]\ndevice = {sim.port}\nconnection = at\n\n[smsd]\nservice = files\n"
                      f"inboxpath = {work}/inbox/\noutboxpath = {work}/outbox/\nsentsmspath = {work}/sent/\n"
                      f"errorsmspath = {work}/error/\nlogfile = {work}/smsd.log\ndebuglevel = 0\n"
                      "deliveryreport = sms\ncheckbattery = 0\nchecksecurity = 0\n", encoding="utf-8")
    for number, text in messages:               # queued before the daemon starts: the same backlog as ours
        subprocess.run([inject, "-c", str(config), "TEXT", number, "-text", text], check=True, capture_output=True,
                       timeout=30)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    before = len(sim.network.submitted)
    began = time.monotonic()
    proc = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = began + len(messages) * latency * 4 + 120
        while len(sim.network.submitted) - before < len(messages) and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - began
    finally:
        proc.terminate()
        proc.wait(20)
    sent = sim.network.submitted[before:]
    got = sorted((s.number, s.text) for s in sent)
    transactions = cmgs_transactions(transcript, began)
    result = {"version": version, "reminders": len(messages), "submissions": len(sent),
              "same_messages": got == sorted(messages), "seconds": round(elapsed, 2),
              "reminders_per_minute": round(len(sent) / elapsed * 60, 1)}
    if transactions:
        radio = transactions[-1][1] - transactions[0][0]
        result.update(radio_seconds=round(radio, 2), reminders_per_radio_minute=round(len(sent) / radio * 60, 1),
                      utilisation=round(utilisation(transactions), 4), max_idle_ms=max_gap_ms(transactions),
                      seconds_per_transaction=round(radio / len(transactions), 2))
    return result


def public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 reminders per modem instead of 60")
    parser.add_argument("--latency", type=float, default=1.0, help="simulated +CMGS latency, seconds")
    parser.add_argument("--count", type=int, default=None, help="reminders per modem")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    per_modem = args.count or (15 if args.quick else 60)
    limit = 60.0 / args.latency
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as keep:
        one = engine(Path(tmp) / "one", 1, per_modem, args.latency, keep_sim=keep)
        row = {"bench": "dispatch_throughput", "path": "cobrador", "latency_s": args.latency, **public(one),
               "radio_limit_per_minute": round(limit / one["segments_per_reminder"], 1),
               "of_radio_limit": round(one["reminders_per_minute"] / (limit / one["segments_per_reminder"]), 3),
               "target_utilisation": 0.98}
        print(json.dumps(row), flush=True)
        gammu = gammu_smsd(Path(tmp) / "one", one["_sim"], one["_transcript"], one["_messages"], args.latency)
        gammu_row = {"bench": "dispatch_throughput", "path": "gammu-smsd", "latency_s": args.latency, **gammu,
                     "radio_limit_per_minute": row["radio_limit_per_minute"]}
        if "reminders_per_minute" in gammu:
            gammu_row["cobrador_over_gammu"] = round(one["reminders_per_minute"] / gammu["reminders_per_minute"], 2)
        print(json.dumps(gammu_row), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        four = engine(Path(tmp), 4, 4 * per_modem, args.latency)
        print(json.dumps({"bench": "dispatch_scaling", "latency_s": args.latency, **public(four),
                          "radio_limit_per_minute": round(4 * limit / four["segments_per_reminder"], 1),
                          "speedup": round(four["reminders_per_minute"] / one["reminders_per_minute"], 2),
                          "target_speedup": 4}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
