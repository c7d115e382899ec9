"""The service as systemd runs it: the unit files verify, the hardening scores well, the scripts pass
ShellCheck, and the daemon says READY=1 and feeds the watchdog on $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
SCRIPTS = [ROOT / "scripts" / n for n in ("run", "test", "install-test-deps", "_venv.sh")] + [UNITS / "install.sh"]
COBRADOR = Path(sys.executable).parent / "cobrador"


def unit_for_this_machine(tmp_path: Path) -> Path:
    """The service unit with ExecStart pointing at this checkout's cobrador (verify checks it exists)."""
    text = (UNITS / "cobrador.service").read_text()
    target = tmp_path / "cobrador.service"
    target.write_text(text.replace("/opt/cobrador/venv/bin/cobrador", str(COBRADOR)))
    return target


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_unit_verifies(tmp_path):
    result = subprocess.run(["systemd-analyze", "verify", str(unit_for_this_machine(tmp_path))],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_usb_unit_verifies(tmp_path):
    target = tmp_path / "cobrador-usb@sdb1.service"
    target.write_text((UNITS / "cobrador-usb@.service").read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(target)], capture_output=True, text=True, cwd=tmp_path)
    assert "is not executable" not in result.stderr and "Unknown" not in result.stderr, result.stderr


CLOCK_UNITS = ("cobrador-clock-restore.service", "cobrador-clock.path", "cobrador-clock.service")


def clock_units_for_this_machine(tmp_path: Path) -> list[Path]:
    """The clock's units with ExecStart pointing at this checkout's cobrador, side by side (the path unit names
    its service)."""
    targets = []
    for name in CLOCK_UNITS:
        target = tmp_path / name
        target.write_text((UNITS / name).read_text().replace("/opt/cobrador/venv/bin/cobrador", str(COBRADOR)))
        targets.append(target)
    return targets


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_clock_units_verify(tmp_path):
    result = subprocess.run(["systemd-analyze", "verify", *map(str, clock_units_for_this_machine(tmp_path))],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_clock_units_run_the_clock_commands():
    restore = (UNITS / "cobrador-clock-restore.service").read_text()
    assert "Type=oneshot" in restore and "Before=cobrador.service" in restore
    assert "WantedBy=multi-user.target" in restore and "cobrador clock restore " in restore
    path = (UNITS / "cobrador-clock.path").read_text()
    assert "PathChanged=/var/lib/cobrador/clock-request.json" in path and "Unit=cobrador-clock.service" in path
    apply = (UNITS / "cobrador-clock.service").read_text()
    assert "Type=oneshot" in apply and "cobrador clock apply " in apply and "CAP_SYS_TIME" in apply
    service = (UNITS / "cobrador.service").read_text()
    assert "ProtectClock=yes" in service   # only the one-shots may set the clock
    installer = (UNITS / "install.sh").read_text()
    for name in CLOCK_UNITS:
        assert name in installer
    assert "enable --now cobrador-clock.path" in installer and "disable --now cobrador.service cobrador-clock.path" \
        in installer


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_clock_units_hardening_exposure_is_at_most_4(tmp_path):
    for unit in clock_units_for_this_machine(tmp_path):
        if unit.suffix != ".service":
            continue
        result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                                capture_output=True, text=True, cwd=tmp_path)
        score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout).group(1))
        assert score <= 4.0, (unit.name, score)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_hardening_exposure_is_at_most_4(tmp_path):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit_for_this_machine(tmp_path))],
                            capture_output=True, text=True, cwd=tmp_path)
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout).group(1))
    print(f"systemd-analyze security exposure: {score}")
    assert score <= 4.0


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed (scripts/install-test-deps "
                                                           "installs it when run as root)")
def test_scripts_pass_shellcheck():
    result = subprocess.run(["shellcheck", "-x", *map(str, SCRIPTS)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_udev_rule_keeps_modemmanager_away():
    rule = (UNITS / "99-cobrador-modem.rules").read_text()
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in rule and 'SYMLINK+="cobrador-modem"' in rule


def test_example_config_loads():
    from firmware_py.config import load_config
    config = load_config(UNITS / "cobrador.example.toml")
    assert config.web.host == "0.0.0.0" and config.policy().profiles.default.code == "CO"


@pytest.mark.slow
def test_daemon_notifies_ready_and_feeds_the_watchdog(tmp_path):
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=str(path), WATCHDOG_USEC="2000000")
    with socket.socket() as probe:  # a free port for the web page
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(COBRADOR), "run", "--simulate", "--data", str(tmp_path / "data"), "--port",
                                str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    messages = []
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (any("READY=1" in m for m in messages)
                                                   and any("WATCHDOG=1" in m for m in messages)):
            messages.append(listener.recv(4096).decode())
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        try:
            listener.settimeout(2)
            while True:
                messages.append(listener.recv(4096).decode())
        except (socket.timeout, OSError):
            pass
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()
    assert any(m.startswith("READY=1") for m in messages), messages
    assert "WATCHDOG=1" in messages and "STOPPING=1" in messages
    assert process.returncode == 0
