"""The ``cobrador`` command: help, version, config errors."""

import subprocess
import sys

import pytest

from firmware_py import __version__
from firmware_py.cli import COMMAND_MODULES, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "firmware_py", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in COMMAND_MODULES:
        # import_ registers the "import" subcommand, send_test "send-test"
        assert name.rstrip("_").replace("_", "-") in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cobrador {__version__}"


def test_run_help_shows_its_options():
    result = run_cli("run", "--help")
    for option in ("--simulate", "--port", "--host", "--data", "--config"):
        assert option in result.stdout


def test_no_subcommand_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "comandos" in capsys.readouterr().out


def test_bad_config_is_a_spanish_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "cobrador.toml"
    bad.write_text("[web]\nport = 'ocho mil'\n")
    assert main(["run", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "web.port" in err and "número entero" in err
    assert "Traceback" not in err
