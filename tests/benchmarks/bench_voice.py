"""Spoken messages: how long espeak-ng + resampling take for a 20-word reminder, and the AMR-NB encoding.

Run: .venv/bin/python tests/benchmarks/bench_voice.py [--runs 5]  -> one JSON object per line.
The message is rendered before each call is dialled, so 2 s per message is the budget on a Raspberry Pi
(``target_seconds``); the figure printed is the median over ``runs``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from modem.voice.speech import speak  # noqa: E402

MESSAGE = ("Buenos días, le saluda la Cooperativa San José. Le recordamos que su cuota de cincuenta mil pesos "
           "vence mañana. Gracias por su pago.")
TARGET_SECONDS = 2.0


def median_time(func, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seconds, clip = median_time(lambda: speak(MESSAGE), args.runs)
    print(json.dumps({"bench": "voice_speak", "words": len(MESSAGE.split()), "seconds": round(seconds, 4),
                      "audio_seconds": round(clip.duration, 3), "target_seconds": TARGET_SECONDS,
                      "ok": seconds <= TARGET_SECONDS}), flush=True)
    amr_seconds, amr = median_time(clip.to_amr, args.runs)
    print(json.dumps({"bench": "voice_amr", "seconds": round(amr_seconds, 4), "audio_seconds": round(clip.duration, 3),
                      "bytes": len(amr), "target_seconds": TARGET_SECONDS, "ok": amr_seconds <= TARGET_SECONDS}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
