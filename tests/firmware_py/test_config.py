"""Configuration: defaults, overrides and every validation error."""

from pathlib import Path

import pytest

from firmware_py.config import Config, load_config
from firmware_py.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "cobrador.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    cfg = Config()
    assert cfg.web.port == 8080 and cfg.web.host == "127.0.0.1"
    assert cfg.data_dir == Path("var")
    assert cfg.cooperative.country == "CO"


def test_state_directory_from_systemd(monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/cobrador")
    assert Config().data_dir == Path("/var/lib/cobrador")


def test_full_file_is_read(tmp_path):
    cfg = load_config(write(tmp_path, """
log_level = "debug"
[cooperative]
name = "Coop"
country = "MX"
timezone = "America/Mexico_City"
[modem]
port = "/dev/serial/by-id/usb-SimTech-if02-port0"
profile = "sim7600"
[web]
host = "0.0.0.0"
port = 80
[data]
dir = "/data/cobrador"
"""))
    assert cfg.cooperative.country == "MX"
    assert cfg.modem.profile == "sim7600"
    assert cfg.web.port == 80
    assert cfg.data_dir == Path("/data/cobrador")
    assert cfg.log_level == "DEBUG"


def test_command_line_overrides_win(tmp_path):
    cfg = load_config(write(tmp_path, "[web]\nport = 80\n")).with_overrides(data_dir=tmp_path, port=9000)
    assert cfg.web.port == 9000 and cfg.web.host == "127.0.0.1"
    assert cfg.data_dir == tmp_path


@pytest.mark.parametrize("text, key", [
    ("[web]\nport = 70000\n", "web.port"),
    ("[web]\nport = true\n", "web.port"),
    ("[cooperative]\ncountry = 'XX'\n", "cooperative.country"),
    ("[cooperative]\ntimezone = 'Mars/Olympus'\n", "cooperative.timezone"),
    ("[cooperative]\nlanguage = 'fr'\n", "cooperative.language"),
    ("[modem]\nprofile = 'nokia'\n", "modem.profile"),
    ("[modem]\nbogus = 1\n", "modem.bogus"),
    ("[nosuch]\nx = 1\n", "nosuch"),
    ("web = 3\n", "web"),
    ("log_level = 'loud'\n", "log_level"),
], ids=["port-range", "port-bool", "country", "timezone", "language", "profile", "unknown-key", "unknown-section",
        "section-not-table", "log-level"])
def test_invalid_values_name_the_setting(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.key == key
    assert key.split(".")[-1] in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="No se encuentra"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="error de formato"):
        load_config(write(tmp_path, "[web\n"))


def test_voice_section_is_read_and_bounded(tmp_path):
    cfg = load_config(write(tmp_path, "[voice]\nring_seconds = 20\nrepeat = 1\ninbound_call_balance = true\n"))
    assert (cfg.voice.ring_seconds, cfg.voice.repeat, cfg.voice.inbound_call_balance) == (20, 1, True)
    assert cfg.voice.enabled and cfg.voice.espeak_voice == "es-419"
    for text, key in [("ring_seconds = 300", "voice.ring_seconds"), ("repeat = 0", "voice.repeat"),
                      ("keypad_promise_days = 90", "voice.keypad_promise_days")]:
        with pytest.raises(ConfigError, match="entre") as info:
            load_config(write(tmp_path, f"[voice]\n{text}\n"))
        assert info.value.key == key
