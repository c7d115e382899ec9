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
import sys

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
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
        setup_logging(args.log_level or config.log_level)
        return int(args.func(args, config) or 0)
    except CobradorError as exc:
        print(f"cobrador: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
