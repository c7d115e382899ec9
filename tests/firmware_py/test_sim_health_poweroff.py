"""Switching the box off from the panel: the polkit rule systemd/install.sh installs, and [panel] allow_poweroff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from firmware_py.config import PanelConfig
from firmware_py.panel_link import appliance_callbacks

UNITS = Path(__file__).resolve().parents[2] / "systemd"
RULE = UNITS / "50-cobrador-poweroff.rules"

HARNESS = """
const fs = require("fs");
let rule = null;
const polkit = {Result: {YES: "yes", NO: "no"}, addRule: f => { rule = f; }};
eval(fs.readFileSync(process.argv[2], "utf8"));
const cases = JSON.parse(process.argv[3]);
console.log(JSON.stringify(cases.map(([user, id]) => rule({id: id}, {user: user}) || null)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is needed to run polkit's JavaScript rule")
def test_the_polkit_rule_lets_only_cobrador_only_power_off(tmp_path):
    cases = [["cobrador", "org.freedesktop.login1.power-off"],
             ["cobrador", "org.freedesktop.login1.power-off-multiple-sessions"],
             ["cobrador", "org.freedesktop.login1.power-off-ignore-inhibit"],
             ["cobrador", "org.freedesktop.login1.reboot"],
             ["cobrador", "org.freedesktop.systemd1.manage-units"],
             ["www-data", "org.freedesktop.login1.power-off"]]
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    result = subprocess.run(["node", str(harness), str(RULE), json.dumps(cases)], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["yes", "yes", "yes", None, None, None]


def test_install_sh_installs_and_removes_the_rule():
    installer = (UNITS / "install.sh").read_text()
    assert '"$HERE/50-cobrador-poweroff.rules" "$POLKIT_DIR/50-cobrador-poweroff.rules"' in installer
    assert '"$POLKIT_DIR/50-cobrador-poweroff.rules"' in installer.split("\ninstall() {")[0]   # uninstall removes it


@pytest.mark.parametrize("allowed", [True, False])
def test_the_long_press_follows_panel_allow_poweroff(allowed):
    switched = []
    appliance = SimpleNamespace(ledger=None, dispatcher=None, poweroff=lambda: switched.append(True),
                                config=SimpleNamespace(panel=PanelConfig(allow_poweroff=allowed)))
    callbacks = appliance_callbacks(appliance)
    if allowed:
        callbacks.on_shutdown()
        assert switched == [True]
    else:
        assert callbacks.on_shutdown is None
