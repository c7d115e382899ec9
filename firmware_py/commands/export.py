"""``cobrador export {loans,payments,contacts} [--out FILE]``: CSV for the office's spreadsheet.

Without ``--out`` the CSV goes to standard output. The file is written to a
temporary name and renamed into place, so an interrupted export never leaves
a half-written file that looks complete.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from firmware_py.cli import add_data_option
from firmware_py.errors import CobradorError


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("export", parents=[common], help="exporta préstamos, pagos o contactos a CSV",
                              description="Exporta a CSV (UTF-8 con BOM, separador y decimales del país) para abrir "
                                          "en la hoja de cálculo.")
    p.add_argument("what", metavar="QUÉ", choices=("loans", "payments", "contacts"),
                   help="loans (préstamos, una fila por cuota), payments (pagos) o contacts (registro de contactos)")
    p.add_argument("--out", metavar="ARCHIVO", default=None, help="archivo de salida (por defecto, la pantalla)")
    add_data_option(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.importer.export import export_csv
    from firmware_py.ledger import Ledger

    config = config.with_overrides(data_dir=args.data)
    country = config.cooperative.country
    with Ledger.open(config.data_dir) as ledger:
        if args.out is None:
            export_csv(ledger, args.what, sys.stdout.buffer, country=country)
            sys.stdout.buffer.flush()
            return 0
        target = Path(args.out)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
        except OSError as exc:
            raise CobradorError(f"No se puede escribir en «{target.parent}»: {exc.strerror}.") from None
        try:
            with os.fdopen(fd, "wb") as out:
                count = export_csv(ledger, args.what, out, country=country)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    print(f"{count} filas exportadas a {target}.", file=sys.stderr)
    return 0
