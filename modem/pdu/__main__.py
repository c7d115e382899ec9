"""Command line for the PDU codec.

    python -m modem.pdu decode HEX [--no-smsc]      -> one JSON object
    python -m modem.pdu encode --to NUMBER [--no-report] [--transliterate] [--reference N]
                               [--reference-bits {8,16}] [--validity-minutes M] TEXT
                                                     -> the hex of each part, one per line
    python -m modem.pdu plan [--transliterate] TEXT  -> one JSON object

Decode JSON fields: type ("deliver"|"submit"|"status-report"), number, text,
timestamp (ISO 8601; SC time stamp for deliver, discharge time for status reports,
null for submit), udh ({ref,total,seq,bits} or null), mr, status, status_class
(null where not applicable), plus encoding, smsc and type-specific extras.
Bad input: exit status 1 (2 for usage errors) with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from modem.errors import PduError
from modem.pdu import Deliver, StatusReport, Submit, decode, encode_submit, plan


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line on stderr, not the multi-line usage
        self.exit(2, f"{self.prog}: error: {message}\n")


def _iso(moment):
    return moment.isoformat() if moment is not None else None


def describe(message: Deliver | Submit | StatusReport) -> dict:
    """The JSON-ready dict the ``decode`` sub-command prints."""
    out = {"type": None, "number": None, "text": None, "timestamp": None, "udh": None, "mr": None,
           "status": None, "status_class": None}
    concat = getattr(message, "concat", None)
    if concat is not None:
        out["udh"] = {"ref": concat.reference, "total": concat.total, "seq": concat.sequence, "bits": concat.bits}
    if isinstance(message, Deliver):
        out.update(type="deliver", number=message.sender, text=message.text, timestamp=_iso(message.timestamp),
                   encoding=message.encoding, smsc=message.smsc,
                   data=message.data.hex().upper() if message.data is not None else None,
                   message_class=message.message_class)
    elif isinstance(message, Submit):
        validity = message.validity
        out.update(type="submit", number=message.number, text=message.text, mr=message.message_reference,
                   encoding=message.encoding, smsc=message.smsc, status_report=message.status_report,
                   validity=(validity.total_seconds() if isinstance(validity, timedelta) else _iso(validity)),
                   data=message.data.hex().upper() if message.data is not None else None)
    else:
        out.update(type="status-report", number=message.recipient, timestamp=_iso(message.discharge_time),
                   mr=message.message_reference, status=message.status, status_class=message.status_class,
                   service_centre_time=_iso(message.service_centre_time),
                   discharge_time=_iso(message.discharge_time), smsc=message.smsc)
    return out


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m modem.pdu", description="SMS PDU codec (TS 23.040)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    dec = sub.add_parser("decode", help="decode a hex PDU to JSON")
    dec.add_argument("pdu")
    dec.add_argument("--no-smsc", action="store_true", help="the PDU has no leading SMSC field")
    enc = sub.add_parser("encode", help="encode SMS-SUBMIT PDUs, one hex line per part")
    enc.add_argument("--to", required=True, dest="number")
    enc.add_argument("--no-report", action="store_true", help="do not request a status report")
    enc.add_argument("--transliterate", action="store_true")
    enc.add_argument("--reference", type=int, default=None, help="concatenation reference (random if omitted)")
    enc.add_argument("--reference-bits", type=int, choices=(8, 16), default=8)
    enc.add_argument("--validity-minutes", type=float, default=None)
    enc.add_argument("text")
    pln = sub.add_parser("plan", help="encoding and segment count of a text, as JSON")
    pln.add_argument("--transliterate", action="store_true")
    pln.add_argument("text")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        if args.command == "decode":
            print(json.dumps(describe(decode(args.pdu, smsc=not args.no_smsc)), ensure_ascii=False))
        elif args.command == "encode":
            validity = None if args.validity_minutes is None else timedelta(minutes=args.validity_minutes)
            for part in encode_submit(args.number, args.text, status_report=not args.no_report, validity=validity,
                                      reference=args.reference, reference_bits=args.reference_bits,
                                      transliterate=args.transliterate):
                print(part.hex)
        else:
            result = plan(args.text, transliterate=args.transliterate)
            print(json.dumps({"encoding": result.encoding, "segments": result.segments,
                              "chars_left": result.chars_left, "units": result.units, "text": result.text},
                             ensure_ascii=False))
    except PduError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
