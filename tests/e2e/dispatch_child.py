"""The sending process of tests/e2e/test_dispatch_kills.py: what the appliance runs, minus the web.

    python tests/e2e/dispatch_child.py DATA_DIR PORT

Opens the ledger in DATA_DIR (``Ledger.open``: fsync'ed, locked), the real driver on PORT (a
``python -m modem.simulator`` process that outlives this one) with its durable report state in
DATA_DIR, the recorder (a thread, as in the appliance), a one-modem pool and the dispatcher with a
fixed business-hours clock. Runs ``recover()``, prints one JSON line ``{"ready": true, "recovered":
[...]}`` (flushed), then ``drain()`` until nothing is due, printing ``{"sending": <contact id>}`` when the
first contact is written ``sending``, and at the end ``{"done": true, ...}``. The test SIGKILLs it at
random moments after that first "sending".

    python tests/e2e/dispatch_child.py --zygote

imports everything once, then reads one JSON line per sending process to start (``{"data": DIR,
"port": PORT, "out": FILE}``), forks it (its stdout to FILE, its stderr to FILE.err), prints
``{"pid": <pid>}``, waits for it and prints ``{"exit": <pid>, "status": <wait status>}``. A forked
process is as real as an exec'ed one (SIGKILL and all) and starts in milliseconds instead of the two
seconds Python takes to import the appliance: the kill test does over thirty of them.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=BOGOTA)      # a Tuesday, inside the contact hours, the due day
DUE = NOW.date()


def policy():
    from scheduler.clock import ClockTrust
    from scheduler.policy import load_policy

    return load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                       cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))


def main(argv: list[str]) -> int:
    begun = time.monotonic()
    from firmware_py.ledger import Ledger
    from firmware_py.recorder import EventRecorder
    from modem.driver import Modem, Timeouts
    from modem.pool import ModemPool, PoolMember
    from modem.retry import Backoff
    from modem.stores import AtomicJsonFileStore
    from scheduler.dispatcher import Dispatcher

    data_dir, port = Path(argv[1]), argv[2]
    started = time.monotonic()
    timings = {"imports": started - begun}

    def driver_clock() -> float:           # the driver's (and so the reports') time flows from NOW
        return NOW.timestamp() + (time.monotonic() - started)

    the_policy = policy()
    ledger = Ledger.open(data_dir, clock=lambda: NOW)
    timings["ledger"] = time.monotonic() - started
    events: queue.Queue = queue.Queue()
    modem = Modem(port, profile="generic", store=AtomicJsonFileStore(data_dir / "modem-driver.json"), events=events,
                  clock=driver_clock, boot_settle=0.1,
                  timeouts=Timeouts(default=3.0, prompt=3.0, send=10.0, read=5.0, ussd=5.0, liveness=1.0,
                                    sim_ready=5.0),
                  send_backoff=Backoff(attempts=3, base=0.05, factor=2.0, cap=0.2))
    modem.open()
    timings["modem"] = time.monotonic() - started
    recorder = EventRecorder(ledger, events, country="CO")
    recorder.start()
    pool = ModemPool([PoolMember("sim1", modem)])
    first = []

    def on_event(event) -> None:               # tell the test when the first send is under way
        if event.kind == "sending" and not first:
            first.append(event.contact_id)
            print(json.dumps({"sending": event.contact_id}), flush=True)

    dispatcher = Dispatcher(ledger, pool, lambda: the_policy, clock=lambda: NOW, on_event=on_event)
    recovered = dispatcher.recover()
    timings["recover"] = time.monotonic() - started
    print(json.dumps({"ready": True, "pid": os.getpid(), "recovered": recovered,
                      "timings": {k: round(v, 3) for k, v in timings.items()}}), flush=True)
    totals = {"sent": 0, "failed": 0, "uncertain": 0, "retried": 0, "dropped": 0}
    for _ in range(1000):
        report = dispatcher.drain()
        for key in totals:
            totals[key] += getattr(report, key)
        if report.stopped_reason != "radio_unavailable":
            break
        time.sleep(0.1)                     # no modem for now: what the scheduler's next tick would do
    wait_reports = float(argv[3]) if len(argv) > 3 else 0.0
    deadline = time.monotonic() + wait_reports
    while time.monotonic() < deadline and modem.tracker.message_ids():
        time.sleep(0.05)
    dispatcher.close()
    pool.close()
    modem.close()
    recorder.close()
    ledger.close()
    print(json.dumps({"done": True, **totals}), flush=True)
    return 0


def zygote() -> int:
    import firmware_py.ledger, firmware_py.recorder, modem.driver, modem.pool, modem.stores  # noqa: F401,E401
    import scheduler.dispatcher  # noqa: F401
    policy()                                   # warms the holiday calendars, templates and ladders too
    print(json.dumps({"zygote": os.getpid()}), flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:                           # the sending process
            code = 1
            try:
                with open(order["out"], "w") as out, open(order["out"] + ".err", "w") as err:
                    os.dup2(out.fileno(), 1)
                    os.dup2(err.fileno(), 2)
                    sys.stdout = os.fdopen(1, "w", buffering=1)
                    sys.stderr = os.fdopen(2, "w", buffering=1)
                    code = main(["dispatch_child.py", order["data"], order["port"], *order.get("args", [])])
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": pid, "status": status}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(zygote() if sys.argv[1:] == ["--zygote"] else main(sys.argv))
