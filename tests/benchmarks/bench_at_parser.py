"""AT parser throughput and memory bound. Prints one JSON object per line.

A realistic session (init answers, +CMGL listings of 30 PDU messages, CMGS
transactions, status reports, Huawei ^RSSI noise, USSD) is fed to
``modem.at.AtParser`` whole, in 64-byte reads (a serial port's typical chunk)
and byte by byte; then 4 MiB of random bytes test that garbage stays cheap and
the buffer bounded (tracemalloc peak). A Pi 3 is roughly 5-10x slower than
the 2-core x86 this was measured on; a modem at 115200 baud delivers at most
~11.5 kB/s, so the target is >= 1 MB/s in 64-byte reads (100x headroom).

Run: .venv/bin/python tests/benchmarks/bench_at_parser.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modem.at import AtParser, Prompt, Response  # noqa: E402

PDU = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
SR = "07917283010010F506410B917238880900F1993092516195809930925161958000"


def session() -> list[tuple[str | None, bool, bytes]]:
    """(command or None, expect_prompt, bytes the modem sends) steps."""
    steps: list[tuple[str | None, bool, bytes]] = [
        ("AT+CSQ", False, b"\r\n^RSSI:17\r\n+CSQ: 20,0\r\n\r\nOK\r\n"),
        ("AT+CREG?", False, b"\r\n+CREG: 2,1,\"00C3\",\"0010\"\r\n\r\nOK\r\n"),
    ]
    listing = b"".join(b"\r\n+CMGL: %d,1,,35\r\n%s" % (i, PDU.encode()) for i in range(30))
    steps.append(("AT+CMGL=4", False, listing + b"\r\n\r\nOK\r\n"))
    for mr in range(20):
        steps.append(("AT+CMGS=23", True, b"\r\n> "))
        steps.append((None, False, b"\r\n+CMGS: %d\r\n\r\nOK\r\n\r\n+CDS: 25\r\n%s\r\n" % (mr, SR.encode())))
    steps.append(('AT+CUSD=1,"*611#",15', False,
                  b'\r\nOK\r\n\r\n+CUSD: 0,"Su saldo es $1.234. Compre el SPRING bundle",15\r\n'))
    return steps


def play(parser: AtParser, steps, chunk: int) -> tuple[int, int]:
    nbytes = events = 0
    for command, prompt, data in steps:
        if command is not None:
            parser.command(command, expect_prompt=prompt)
        nbytes += len(data)
        for i in range(0, len(data), chunk):
            for event in parser.feed(data[i:i + chunk]):
                events += 1
                if isinstance(event, Prompt):
                    parser.body("0011000B917238880900F10000AA0AE8329BFD4697D9EC37")
                elif isinstance(event, Response):
                    assert event.result.ok
    return nbytes, events


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    steps = session()
    for label, chunk in (("whole", 1 << 20), ("64-byte reads", 64), ("byte by byte", 1)):
        repeat = args.repeat if chunk > 1 else max(1, args.repeat // 10)
        start = time.perf_counter()
        total_bytes = total_events = 0
        for _ in range(repeat):
            b, e = play(AtParser(), steps, chunk)
            total_bytes += b
            total_events += e
        elapsed = time.perf_counter() - start
        print(json.dumps({"bench": "at_parser_session", "feed": label, "bytes": total_bytes,
                          "events": total_events, "seconds": round(elapsed, 4),
                          "mb_per_s": round(total_bytes / elapsed / 1e6, 2),
                          "events_per_s": round(total_events / elapsed)}))

    rng = random.Random(1)
    garbage = rng.randbytes(4 << 20)
    parser = AtParser()
    parser.command("AT+CSQ")
    tracemalloc.start()
    start = time.perf_counter()
    noise = 0
    for i in range(0, len(garbage), 4096):
        noise += len(parser.feed(garbage[i:i + 4096]))
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"bench": "at_parser_garbage", "bytes": len(garbage), "events": noise,
                      "seconds": round(elapsed, 3), "mb_per_s": round(len(garbage) / elapsed / 1e6, 2),
                      "peak_kib": round(peak / 1024, 1), "max_buffered": parser.max_line}))


if __name__ == "__main__":
    main()
