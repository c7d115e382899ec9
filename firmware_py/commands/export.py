"""``cobrador export {loans,payments,contacts} [--out FILE] [--iso]``: CSV for the office's spreadsheet.

Without ``--out`` the CSV goes to standard output. The file is written to a
temporary name and renamed into place, so an interrupted export never leaves
a half-written file that looks complete. The ledger is opened read-only
(``Ledger.open(..., read_only=True)``): an export works on a data directory
that cannot be written (an SD card remounted read-only) and creates nothing
in it. The contacts export is in Spanish with times in the cooperative's
time zone; ``--iso`` keeps the machine-readable values (English codes, ISO
8601 times in UTC).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from firmware_py.cli import Choice, _, add_data_option, choices, existing_data_dir, n_
from firmware_py.errors import CobradorError, describe_os_error


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("export", parents=[common], help=_("exporta préstamos, pagos o contactos a CSV"),
                              description=_("Exporta a CSV (UTF-8 con BOM, separador y decimales del país) para "
                                            "abrir en la hoja de cálculo. Solo lee los datos: funciona aunque la "
                                            "carpeta de datos sea de solo lectura."))
    p.add_argument("what", metavar=_("QUÉ"), type=Choice, choices=choices("loans", "payments", "contacts"),
                   help=_("loans (préstamos, una fila por cuota), payments (pagos) o contacts (registro de "
                          "contactos)"))
    p.add_argument("--out", metavar=_("ARCHIVO"), default=None,
                   help=_("archivo de salida (por defecto, la pantalla)"))
    p.add_argument("--iso", action="store_true",
                   help=_("contacts: valores para otros programas (códigos en inglés como sent o delivered, fecha y "
                          "hora ISO 8601 en UTC) en lugar de palabras en español y la hora local de la cooperativa"))
    add_data_option(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.importer.export import export_csv
    from firmware_py.ledger import Ledger

    config = config.with_overrides(data_dir=args.data)
    existing_data_dir(config)  # a mistyped --data is an error, not an empty export
    options = {"country": config.cooperative.country, "timezone": config.cooperative.timezone,
               "iso": args.iso}
    if not (Path(config.data_dir) / "ledger").is_dir():
        print(_("Aviso: no hay datos de cobranza en {folder}; el archivo solo tendrá los encabezados.")
              .format(folder=config.data_dir), file=sys.stderr)
    with Ledger.open(config.data_dir, read_only=True) as ledger:
        if args.out is None:
            export_csv(ledger, args.what, sys.stdout.buffer, **options)
            sys.stdout.buffer.flush()
            return 0
        target = Path(args.out)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
        except OSError as exc:
            raise CobradorError(f"No se puede escribir en «{target.parent}»: {describe_os_error(exc)}.") from None
        try:
            with os.fdopen(fd, "wb") as out:
                count = export_csv(ledger, args.what, out, **options)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CobradorError(f"No se pudo escribir «{target}»: {describe_os_error(exc)}.") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    print(n_("{count} fila exportada a {target}.", "{count} filas exportadas a {target}.", count)
          .format(count=count, target=target), file=sys.stderr)
    return 0
