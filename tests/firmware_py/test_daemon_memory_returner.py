"""``firmware_py.memory.FreeMemoryReturner``: free pages inside the heap, kept resident by a block still in use
above them, leave the daemon's memory once returned (``malloc_trim``); the returner does it every few seconds."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from firmware_py.memory import FreeMemoryReturner

SCRIPT = textwrap.dedent("""
    import sys

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    from firmware_py.memory import free_memory_returner, return_large_blocks
    assert return_large_blocks()
    blocks = [bytearray(3000) for _ in range(15000)]   # ~45 MB of heap blocks (under the mmap threshold)
    pin = bytearray(3000)                              # one more above them keeps the heap from shrinking
    before = rss_mb()
    del blocks
    kept = rss_mb()
    if sys.argv[1] == "return":
        assert free_memory_returner()()
    print(before - kept, before - rss_mb())
""")


def freed_mb(mode: str) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    kept, returned = done.stdout.split()
    return int(kept), int(returned)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc")
def test_free_pages_in_the_heap_leave_once_returned():
    kept, returned = freed_mb("keep")
    assert kept <= 5 and returned <= 5         # freed, yet resident
    kept, returned = freed_mb("return")
    assert returned >= 35                      # of ~45 MB freed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_the_returner_runs_every_few_seconds_until_stopped():
    returner = FreeMemoryReturner(every=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while returner.rounds < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert returner.rounds >= 3
    finally:
        returner.stop()
    time.sleep(0.2)
    rounds = returner.rounds
    time.sleep(0.3)
    assert returner.rounds == rounds
