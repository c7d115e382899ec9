"""The ``cobrador`` command.

Each subcommand lives in its own module under ``firmware_py.commands`` and
exposes ``register(subparsers, common)``, where ``common`` is a parent parser
carrying the options every subcommand takes (``--config``, ``--log-level``).
Subcommands that touch the ledger add ``--data DIR`` with :func:`add_data_option`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from firmware_py import __version__
from firmware_py.config import load_config
from firmware_py.errors import CobradorError
from firmware_py.logs import setup_logging

# Order here is the order in ``cobrador --help``.
COMMAND_MODULES = ("run", "import_", "export", "plan", "examples")

log = logging.getLogger("cobrador.cli")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--data DIR`` (where the ledger lives) to a subcommand parser."""
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="directorio de datos (registro de préstamos); por defecto ./var/ en desarrollo, "
                             "/var/lib/cobrador en el equipo")


def existing_data_dir(config) -> Path:
    """The data folder of a command that only reads it (``export``, ``plan``); CobradorError if it is missing.

    ``run`` and ``import`` create a missing folder; a reader never does: a mistyped ``--data`` is said
    as such instead of reading as an empty ledger.
    """
    folder = Path(config.data_dir)
    if not folder.is_dir():
        if folder.exists():
            raise CobradorError(f"«{folder}» no es una carpeta; indique la carpeta de datos con --data.")
        raise CobradorError(f"La carpeta de datos «{folder}» no existe; indique la correcta con --data.")
    return folder


def log_level(args: argparse.Namespace, config) -> str:
    """``--log-level`` when given; else the configured level (INFO by default) for the daemon (``run``, which
    sets ``daemon=True``), WARNING for every other command: their INFO lines are not the user's output."""
    if args.log_level:
        return args.log_level
    return config.log_level if getattr(args, "daemon", False) else "WARNING"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=None,
                        help="archivo de configuración TOML (por defecto /etc/cobrador/cobrador.toml si existe)")
    common.add_argument("--log-level", default=None, choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="nivel de detalle del registro")
    parser = argparse.ArgumentParser(
        prog="cobrador",
        description="Cobrador: recordatorios de pago por SMS y llamada desde un módem GSM, sin internet.",
    )
    parser.add_argument("--version", action="version", version=f"cobrador {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMANDO", title="comandos")
    for name in COMMAND_MODULES:
        importlib.import_module(f"firmware_py.commands.{name}").register(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        return _broken_pipe()


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        sys.stdout.flush()  # --help, --version: a closed pipe is met here, not in the interpreter's exit
        raise
    if not getattr(args, "func", None):
        parser.print_help()
        sys.stdout.flush()
        return 2
    try:
        config = load_config(args.config)
        setup_logging(log_level(args, config))
        status = int(args.func(args, config) or 0)
        sys.stdout.flush()
        return status
    except CobradorError as exc:
        print(f"cobrador: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _broken_pipe() -> int:
    """The reader of our output went away (``cobrador plan --json | head``): stop quietly, as a command killed
    by SIGPIPE would (status 141), without a traceback. Standard output is pointed at /dev/null so the
    interpreter's final flush of what is still buffered does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (tests capturing output)
        pass
    return 141


if __name__ == "__main__":
    sys.exit(main())
