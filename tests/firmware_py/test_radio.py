"""Choosing between a plugged-in modem and the simulator."""

import pytest

from firmware_py.radio import choose_radio, find_modem_ports


@pytest.fixture
def by_id(tmp_path):
    d = tmp_path / "by-id"
    d.mkdir()
    return d


def plug(by_id, tmp_path, name):
    target = tmp_path / f"tty-{len(list(by_id.iterdir()))}"
    target.touch()
    (by_id / name).symlink_to(target)


def test_no_modem_means_simulator(by_id):
    choice = choose_radio("auto", simulate=False, by_id_dir=by_id)
    assert choice.kind == "simulator" and "simulado" in choice.reason


def test_missing_by_id_dir_means_simulator(tmp_path):
    assert choose_radio("auto", simulate=False, by_id_dir=tmp_path / "absent").kind == "simulator"


def test_simulate_flag_wins_over_a_plugged_modem(by_id, tmp_path):
    plug(by_id, tmp_path, "usb-Quectel_EC25-if02-port0")
    assert choose_radio("auto", simulate=True, by_id_dir=by_id).kind == "simulator"


def test_at_interface_is_preferred(by_id, tmp_path):
    for name in ("usb-Quectel_EC25-if00-port0", "usb-Quectel_EC25-if01-port0", "usb-Quectel_EC25-if02-port0",
                 "usb-Quectel_EC25-if03-port0"):
        plug(by_id, tmp_path, name)
    choice = choose_radio("auto", simulate=False, by_id_dir=by_id)
    assert choice.kind == "serial" and choice.port.endswith("if02-port0")


def test_dangling_symlink_is_ignored(by_id, tmp_path):
    (by_id / "usb-gone-if02-port0").symlink_to(tmp_path / "nothing")
    assert find_modem_ports(by_id) == []


def test_configured_port_is_used_as_is(by_id):
    choice = choose_radio("rfc2217://10.0.0.5:7000", simulate=False, by_id_dir=by_id)
    assert choice == choice.__class__("serial", "rfc2217://10.0.0.5:7000", "puerto configurado en [modem] port")
