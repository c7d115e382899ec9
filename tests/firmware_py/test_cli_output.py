"""What a plain ``cobrador`` command leaves on the terminal: no INFO log lines (those are the daemon's),
and nothing but silence when the reader of its output goes away (``cobrador plan --json | head``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_py.cli import build_parser, log_level
from firmware_py.config import Config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"
LOANS = EXAMPLES / "prestamos_una_fila_por_credito.csv"


def cobrador(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, **kwargs)


# -- log level ----------------------------------------------------------------------------------
def test_import_prints_no_info_log_lines(tmp_path):
    result = cobrador("import", LOANS, "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr and "INFO" not in result.stdout, result.stderr
    assert "Créditos nuevos: 4" in result.stdout


def test_log_level_info_when_asked(tmp_path):
    result = cobrador("import", LOANS, "--data", tmp_path / "data", "--log-level", "INFO")
    assert result.returncode == 0, result.stderr
    assert "INFO cobrador.importer.importer: import" in result.stderr


@pytest.mark.parametrize("argv,configured,expected", [
    (["run"], "INFO", "INFO"),
    (["run"], "DEBUG", "DEBUG"),  # the configured level is the daemon's
    (["run", "--log-level", "ERROR"], "INFO", "ERROR"),
    (["import", "x.csv"], "INFO", "WARNING"),
    (["import", "x.csv"], "DEBUG", "WARNING"),
    (["import", "x.csv", "--log-level", "INFO"], "WARNING", "INFO"),
    (["export", "loans"], "INFO", "WARNING"),
    (["plan"], "INFO", "WARNING"),
    (["examples"], "INFO", "WARNING"),
])
def test_default_log_level_is_warning_for_every_command_but_run(argv, configured, expected):
    args = build_parser().parse_args(argv)
    assert log_level(args, Config(log_level=configured)) == expected


def test_run_still_logs_info(tmp_path):
    with socket.socket() as busy:  # run starts, logs, then stops on the busy port: no server left behind
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = cobrador("run", "--simulate", "--data", tmp_path / "data", "--port", busy.getsockname()[1])
    assert result.returncode == 1 and "--port" in result.stderr
    assert "INFO cobrador.app:" in result.stderr


# -- a closed pipe --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("pipe") / "data"
    result = cobrador("import", EXAMPLES / "cuotas_una_fila_por_cuota.csv", "--data", data,
                      "--rejects", data.parent / "r.csv")
    assert result.returncode == 0, result.stderr
    return data


def into_a_closed_pipe(*args, cwd=ROOT):
    """Run ``cobrador`` with its standard output a pipe nobody reads any more (``| head`` that has finished)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=cwd)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [
    ("plan", "--json", "--at", "2026-11-02T10:00"),
    ("plan", "--at", "2026-11-02T10:00", "--all"),
    ("export", "loans"),
    ("export", "contacts", "--iso"),
    ("import", LOANS, "--dry-run", "--json"),
    ("import", LOANS, "--dry-run"),
], ids=lambda a: " ".join(map(str, a)).replace(str(EXAMPLES) + "/", ""))
def test_a_closed_pipe_ends_the_command_quietly(args, ledger_dir):
    result = into_a_closed_pipe(*args, "--data", ledger_dir)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert result.stderr == "" and result.returncode == 141  # as a command killed by SIGPIPE


@pytest.mark.parametrize("args,status", [
    (("--help",), 0), (("export", "--help"), 0), (("--version",), 0), ((), 2),
], ids=["--help", "export --help", "--version", "no-command"])
def test_help_into_a_closed_pipe_is_quiet(args, status):
    # argparse itself ignores a failed write of its help; nothing is left for the final flush either
    result = into_a_closed_pipe(*args)
    assert result.stderr == "" and result.returncode == status


def test_a_closed_pipe_after_a_real_import_keeps_the_import(tmp_path):
    result = into_a_closed_pipe("import", LOANS, "--json", "--data", tmp_path / "data")
    assert result.returncode == 141 and result.stderr == "", result.stderr
    again = cobrador("import", LOANS, "--json", "--data", tmp_path / "data")
    assert '"unchanged": 4' in again.stdout


def test_examples_into_a_closed_pipe(tmp_path):
    result = into_a_closed_pipe("examples", tmp_path / "ejemplos")
    assert result.returncode == 141 and result.stderr == "", result.stderr
    assert (tmp_path / "ejemplos" / "README.md").exists()
