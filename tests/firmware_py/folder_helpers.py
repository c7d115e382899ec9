"""Real unwritable and full folders for tests, also when the tests run as root.

Root ignores file modes, so ``chmod 0o555`` alone proves nothing there. These
helpers make the condition real:

- ``read_only_mount(path, populate)``: a small tmpfs mounted at ``path``,
  filled by ``populate(path)``, then remounted read-only: every write fails
  with EROFS, for root too (an SD card remounted read-only).
- ``small_disk(path, size)``: a tmpfs of ``size`` bytes: writes beyond it fail
  with ENOSPC (a full SD card).
- ``unprivileged(*cmd)``: the command line prefixed with ``setpriv`` dropping
  every capability, so a root child process obeys file modes (EACCES on a
  0o555 folder); unchanged when not running as root.

Mounting needs root; the mount helpers skip the test with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True)


def _unmount(path: Path) -> None:
    if _run("umount", str(path)).returncode != 0:
        _run("umount", "-l", str(path))


@contextlib.contextmanager
def small_disk(path: Path, size: int):
    """A tmpfs of ``size`` bytes at ``path`` (created) while the block runs."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        _unmount(path)


@contextlib.contextmanager
def read_only_mount(path: Path, populate: Callable[[Path], None] | None = None, *, size: int = 16 << 20):
    """A tmpfs at ``path`` filled by ``populate(path)`` and then remounted read-only."""
    with small_disk(path, size) as mounted:
        if populate is not None:
            populate(mounted)
        done = _run("mount", "-o", "remount,ro", str(mounted))
        if done.returncode != 0:
            pytest.skip(f"cannot remount a tmpfs read-only here: {done.stderr.strip()}")
        probe = mounted / ".probe"
        with pytest.raises(OSError):
            probe.write_bytes(b"x")
        yield mounted


def unprivileged(*cmd) -> list[str]:
    """``cmd`` run so that file modes apply to it (root's capabilities dropped with setpriv)."""
    cmd = [str(c) for c in cmd]
    if os.geteuid() != 0:
        return cmd
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to drop root's capabilities")
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--", *cmd]


def tree(path: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every entry under ``path`` -> (mtime_ns, content of files): to prove nothing was written."""
    found = {}
    for entry in sorted(Path(path).rglob("*")):
        stat = entry.lstat()
        found[str(entry.relative_to(path))] = (stat.st_mtime_ns, entry.read_bytes() if entry.is_file() else None)
    return found
