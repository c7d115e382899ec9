"""``firmware_py.memory``: with the mmap threshold fixed, large blocks freed by the daemon leave its memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import sys

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    if sys.argv[1] == "fixed":
        from firmware_py.memory import return_large_blocks
        assert return_large_blocks()
    big = bytearray(8 << 20)
    del big                    # glibc's sliding threshold would now serve blocks under 8 MiB from the heap
    blocks, pins = [], []
    for _ in range(40):
        blocks.append(bytearray(1 << 20))
        pins.append(bytearray(2000))   # a small block after each large one keeps the heap from shrinking
    before = rss_mb()
    del blocks
    print(before - rss_mb())
""")


def returned_mb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc")
def test_freed_large_blocks_are_returned_once_the_threshold_is_fixed():
    assert returned_mb("fixed") >= 35      # the 40 MiB freed leave the process
    assert returned_mb("sliding") <= 5     # what the daemon did before: they stayed resident

