"""``python -m modem.simulator``: serve a simulated modem until SIGINT/SIGTERM.

    python -m modem.simulator --link /tmp/ttyGSM --profile sim800 [--latency 0.5]
        [--phone +573001234567=failed ...] [--auto-reply [TEXT]] [--pin 1234] [--noise SECONDS]

Prints the path to open (one line, flushed) and serves until stopped; exit 0.
"""

from __future__ import annotations

import argparse
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
        print(sim.port, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
