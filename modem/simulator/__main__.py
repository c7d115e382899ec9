"""``python -m modem.simulator``: serve a simulated modem until SIGINT/SIGTERM.

    python -m modem.simulator --link /tmp/ttyGSM --profile sim800 [--latency 0.5]
        [--phone +573001234567=failed ...] [--auto-reply [TEXT]] [--pin 1234] [--noise SECONDS]
        [--journal FILE]

Prints the path to open (one line, flushed) and serves until stopped; exit 0.

``--journal FILE`` appends one JSON line per SMS-SUBMIT the network accepted (each segment of a
multipart message is one line), written and flushed before the modem answers ``+CMGS``, so a test
can count what reached the network even after the client that sent it was killed::

    {"seq": 1, "number": "+573001234567", "text": "Su cuota…", "mr": 0, "at": "2026-12-15T10:00:00-05:00",
     "concat": null, "pdu": "0011000C91…"}

``seq`` counts this process's submissions from 1; ``concat`` is ``[reference, total, sequence]`` for a
segment of a multipart message; ``at`` is the network's time.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from modem.simulator.network import OUTCOMES
from modem.simulator.persona import PROFILE_NAMES
from modem.simulator.simulator import Simulator


def _phone(value: str) -> tuple[str, str]:
    number, sep, outcome = value.partition("=")
    if not sep or not number or outcome not in OUTCOMES:
        raise argparse.ArgumentTypeError(f"use NUMBER=OUTCOME with OUTCOME one of {', '.join(OUTCOMES)}")
    return number, outcome


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m modem.simulator",
                                description="Serve a simulated GSM modem on a pseudo-terminal.")
    p.add_argument("--link", metavar="PATH", help="symlink to keep pointing at the pty (like /dev/serial/by-id)")
    p.add_argument("--profile", choices=PROFILE_NAMES, default="generic")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="delay before +CMGS/+CUSD answers")
    p.add_argument("--report-delay", type=float, default=1.0, metavar="SECONDS", help="delay of status reports")
    p.add_argument("--phone", type=_phone, action="append", default=[], metavar="NUMBER=OUTCOME",
                   help=f"what the network reports for that phone ({', '.join(OUTCOMES)})")
    p.add_argument("--auto-reply", nargs="?", const="SALDO", default=None, metavar="TEXT",
                   help="every phone answers each message it gets with TEXT (default SALDO)")
    p.add_argument("--pin", help="the SIM asks for this PIN at every boot")
    p.add_argument("--noise", type=float, default=None, metavar="SECONDS",
                   help="print one of the profile's noise URCs every SECONDS")
    p.add_argument("--journal", metavar="FILE",
                   help="append one JSON line per SMS the network accepted (number, text, mr, time)")
    p.add_argument("-v", "--verbose", action="store_true", help="log AT traffic to stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with Simulator(args.profile, latency=args.latency, report_delay=args.report_delay, pin=args.pin,
                   link=args.link, noise_interval=args.noise) as sim:
        for number, outcome in args.phone:
            sim.network.phone(number).outcome = outcome
        sim.network.default_auto_reply = args.auto_reply
        journal = open(args.journal, "a", encoding="utf-8") if args.journal else None
        if journal is not None:
            _journal_submissions(sim, journal)
        try:
            print(sim.port, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            if journal is not None:
                with sim.lock:
                    journal.close()
    return 0


def _journal_submissions(sim: Simulator, journal) -> None:
    """Write each submission the network accepts to ``journal`` (see the module docstring)."""
    network = sim.network
    accept = network.submit
    count = 0

    def submit(message, pdu, smsc):          # runs under the simulator's lock, before +CMGS is answered
        nonlocal count
        accept(message, pdu, smsc)
        count += 1
        concat = message.concat
        line = {"seq": count, "number": message.number, "text": message.text, "mr": message.message_reference,
                "at": network.submissions[-1].when.isoformat() if network.submissions else None,
                "concat": [concat.reference, concat.total, concat.sequence] if concat is not None else None,
                "pdu": pdu}
        if not journal.closed:
            journal.write(json.dumps(line, ensure_ascii=False) + "\n")
            journal.flush()

    network.submit = submit


if __name__ == "__main__":
    sys.exit(main())
