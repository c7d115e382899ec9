"""Throughput of the PDU codec: encode and decode rates for typical reminder texts.

Run: .venv/bin/python tests/benchmarks/bench_pdu.py  -> one JSON object per line.
A Raspberry Pi sends at most a few SMS per minute, so anything above ~1,000 PDUs/s
is far beyond need; the numbers guard against accidental quadratic behaviour.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modem.pdu import decode, encode_deliver, encode_status_report, encode_submit, plan  # noqa: E402

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BOGOTA)

CASES = {
    "gsm7_single": "Sr. Núñez, su cuota de $125.000 vence el 15/12. Responda SALDO o PAGUE.".replace("ú", "u"),
    "gsm7_3_parts": ("Estimado asociado, le recordamos que su cuota [12/24] por $125.000 vence mañana. " * 5)[:450],
    "ucs2_single": "Señora Gómez: su cuota vence mañana 😀",
    "ucs2_4_parts": ("Información: su préstamo tiene saldo pendiente. " * 6)[:260],
}


def measure(label: str, func, min_seconds: float = 0.5) -> dict:
    count = 0
    start = time.perf_counter()
    while True:
        func()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            break
    return {"benchmark": f"pdu.{label}", "calls": count, "seconds": round(elapsed, 4),
            "calls_per_second": round(count / elapsed, 1), "us_per_call": round(1e6 * elapsed / count, 2)}


def main() -> None:
    for name, text in CASES.items():
        parts = encode_submit("+573001234567", text, reference=1)
        hexes = [p.hex for p in parts]
        result = measure(f"encode_submit.{name}", lambda: encode_submit("+573001234567", text, reference=1))
        result["segments"] = len(parts)
        result["pdus_per_second"] = round(result["calls_per_second"] * len(parts), 1)
        print(json.dumps(result))
        result = measure(f"decode_submit.{name}", lambda: [decode(h) for h in hexes])
        result["pdus_per_second"] = round(result["calls_per_second"] * len(parts), 1)
        print(json.dumps(result))
        print(json.dumps(measure(f"plan.{name}", lambda: plan(text, transliterate=True))))
    deliver = encode_deliver("Cobrador", CASES["gsm7_single"], NOW)[0].hex
    print(json.dumps(measure("decode_deliver.gsm7_single", lambda: decode(deliver))))
    report = encode_status_report(7, "+573001234567", NOW, NOW, 0).hex
    print(json.dumps(measure("decode_status_report", lambda: decode(report))))


if __name__ == "__main__":
    main()
