"""``cobrador import FILE``: import the loan list (CSV or XLSX) into the ledger.

Exit status 0 when something was imported (or, with ``--dry-run``, when the
file has valid rows); 1 when nothing was imported or the file could not be
read (Spanish message on stderr, or a JSON object with ``"ok": false`` and
``"error"`` with ``--json``). Rejected rows go to ``<file>-rechazados.csv``
next to the file (or into the data directory when that folder is read-only,
like a USB stick mounted read-only), unless ``--rejects FILE`` says where.

The input file is checked first: a file that is missing or unreadable
creates nothing. A dry run never writes into the data directory (no ledger,
no rejects folder): from a read-only folder it writes no rejects file and
says so. It reports what the import would do in the same fields
(``imported``, ``updated``, ``unchanged``, ``debtors_created``,
``debtors_updated``; ``"dry_run": true``), comparing with the ledger opened
read-only when there is one (every loan new when there is none). Problems
with the data folder are reported as such, never as the input file's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from firmware_py.cli import _, add_data_option, positive_number
from firmware_py.errors import CobradorError, LedgerWriteError, describe_os_error


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("import", parents=[common], help=_("importa la lista de préstamos (CSV o Excel)"),
                              description=_("Importa la lista de préstamos (CSV de hoja de cálculo o libro .xlsx). "
                                            "Las filas válidas se importan todas juntas (o ninguna); las filas con "
                                            "errores se guardan en un archivo de rechazados con el motivo."))
    p.add_argument("file", metavar=_("ARCHIVO"), help=_("archivo CSV o .xlsx con la lista de préstamos"))
    add_data_option(p)
    p.add_argument("--dry-run", action="store_true",
                   help=_("solo revisar el archivo y decir qué se importaría, sin importar nada"))
    p.add_argument("--json", action="store_true", help=_("escribir el informe como JSON en la salida estándar"))
    p.add_argument("--map", metavar=_("ARCHIVO"), default=None,
                   help=_('correspondencia de columnas en JSON, por ejemplo {"Cel. socio": "phone"}'))
    p.add_argument("--rejects", metavar=_("ARCHIVO"), default=None,
                   help=_("dónde escribir las filas rechazadas (por defecto ARCHIVO-rechazados.csv)"))
    p.add_argument("--as-of", metavar=_("AAAA-MM-DD"), default=None,
                   help=_("fecha hasta la que el archivo incluye los pagos (los pagos registrados en el equipo "
                          "hasta esa fecha se dan por incluidos)"))
    p.add_argument("--max-rows", metavar="N", type=positive_number, default=None,
                   help=_("máximo de filas de datos aceptado"))
    p.set_defaults(func=main)


def default_rejects_path(source: Path, data_dir: Path, *, dry_run: bool = False) -> Path | None:
    """``<stem>-rechazados.csv`` (``.xlsx`` for a workbook) beside ``source``, or in ``data_dir/rechazados`` if
    that folder is read-only (created here; ``LedgerWriteError`` if it cannot be). A dry run writes nothing
    into the data directory: ``None`` (no rejects file) when the source's folder is read-only."""
    name = f"{source.stem}-rechazados{'.xlsx' if source.suffix.lower() in ('.xlsx', '.xlsm') else '.csv'}"
    folder = source.resolve().parent
    if os.access(folder, os.W_OK):
        return folder / name
    if dry_run:
        return None
    fallback = Path(data_dir) / "rechazados"
    try:
        fallback.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerWriteError.from_os_error(fallback, exc) from exc
    return fallback / name


class _ProgressBar:
    """A one-line progress bar on stderr (only used on a terminal)."""

    def __init__(self, stream):
        self.stream = stream
        self.last = -1
        self.label = _("Importando")

    def __call__(self, done: int, total: int) -> None:
        percent = 100 if not total else min(100, done * 100 // total)
        if percent == self.last:
            return
        self.last = percent
        filled = percent * 30 // 100
        self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] {percent:3d}%")
        if percent == 100:
            self.stream.write("\n")
        self.stream.flush()


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.importer import ImportOptions, import_loans, load_mapping

    config = config.with_overrides(data_dir=args.data)
    source = Path(args.file)
    rejects = None
    try:
        _check_readable(source)  # before anything is created
        mapping = load_mapping(args.map) if args.map else None
        as_of = _as_of(args.as_of)
        extra = {"max_rows": args.max_rows} if args.max_rows else {}
        progress = _ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.json else None
        now = datetime.now(timezone.utc)

        def options_with(rejects):
            return ImportOptions.from_config(config, mapping=mapping, dry_run=args.dry_run, rejects=rejects,
                                             source_name=source.name, as_of=as_of, **extra)

        from firmware_py.ledger import Ledger

        if args.dry_run:
            rejects = Path(args.rejects) if args.rejects else default_rejects_path(source, config.data_dir,
                                                                                   dry_run=True)
            if (Path(config.data_dir) / "ledger").is_dir():  # compared with the ledger, which is only read
                with Ledger.open(config.data_dir, read_only=True) as ledger:
                    report = import_loans(source, ledger, now=now, options=options_with(rejects), progress=progress)
            else:  # no ledger yet: every loan would be new
                report = import_loans(source, None, now=now, options=options_with(rejects), progress=progress)
        else:
            with Ledger.open(config.data_dir) as ledger:  # a data folder that cannot be written is said here
                rejects = Path(args.rejects) if args.rejects else default_rejects_path(source, config.data_dir)
                report = import_loans(source, ledger, now=now, options=options_with(rejects), progress=progress)
    except (CobradorError, OSError) as exc:
        reason = getattr(exc, "reason", type(exc).__name__)
        message = str(exc) if isinstance(exc, CobradorError) else _os_error_message(exc, source)
        if args.json:
            print(json.dumps({"ok": False, "source": str(source), "error": message, "reason": reason},
                             ensure_ascii=False))
        else:
            print(f"cobrador: {message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_human(report)
        if rejects is None and report.rejected:
            print(_("No se escribió el archivo de filas rechazadas: no se puede escribir en la carpeta de "
                    "«{source}» (solo lectura). Para tenerlo, indique dónde escribirlo con --rejects ARCHIVO.")
                  .format(source=source), file=sys.stderr)
    return 0 if report.ok else 1


def _check_readable(source: Path) -> None:
    """Raise the importer's Spanish error if ``source`` cannot be opened (missing, a folder, no permission)."""
    from firmware_py.importer.reading import open_binary

    stream, _owned = open_binary(source)
    stream.close()


def _os_error_message(exc: OSError, source: Path) -> str:
    """An unexpected ``OSError``, blaming the file it names (the input only when it is the input)."""
    name = exc.filename
    if name is None or Path(name).resolve() == source.resolve():
        return f"No se puede leer «{source}»: {describe_os_error(exc)}."
    return f"No se puede usar «{name}»: {describe_os_error(exc)}."


def _as_of(text: str | None) -> date | None:
    if not text:
        return None
    from firmware_py.importer.parsing import ParseError, parse_date

    try:
        return parse_date(text)
    except ParseError:
        raise CobradorError(_("--as-of: fecha inválida «{text}»; use AAAA-MM-DD o dd/mm/aaaa.")
                            .format(text=text)) from None


def _print_human(report) -> None:
    print(report.summary_es())
    where = f"hoja «{report.sheet}», " if getattr(report, "sheet", "") else ""  # a workbook: name the sheet read
    for rejection in report.rejections[:20]:
        print(f"  {where}fila {rejection.row}: {rejection.reason}")
    more = len(report.rejections) - 20
    if more > 0:
        rows = "1 fila rechazada" if more == 1 else f"{more} filas rechazadas"
        print(f"  … y {rows} más (vea el archivo de rechazados).")
    for warning in report.warnings[:20]:
        print(f"  aviso, {where}fila {warning.row}: {warning.message}")
    more = len(report.warnings) - 20
    if more > 0:
        print(f"  … y {'1 aviso' if more == 1 else f'{more} avisos'} más (use --json para verlos todos).")
    if not report.ok:
        print("No se importó nada.", file=sys.stderr)
