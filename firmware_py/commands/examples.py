"""``cobrador examples [CARPETA]`` (or ``cobrador ejemplos``): write the example loan lists into a folder.

The files are the importer's examples shipped inside the package
(``firmware_py/importer/examples``: one CSV per layout, a column mapping and
the README that explains them), so an office can open them in its
spreadsheet, compare with its own list and try ``cobrador import … --dry-run``.
A file that already exists with other content is kept unless ``--force``:
then nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from firmware_py.cli import _
from firmware_py.errors import CobradorError, describe_os_error

DEFAULT_FOLDER = "ejemplos-cobrador"
SUFFIXES = (".csv", ".json", ".md")


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("examples", aliases=["ejemplos"], parents=[common],
                              help=_("escribe archivos de ejemplo de la lista de préstamos en una carpeta"),
                              description=_("Escribe en una carpeta archivos de ejemplo de la lista de préstamos "
                                            "(uno por cada formato que Cobrador entiende, una correspondencia de "
                                            "columnas y un README.md que los explica), para compararlos con la "
                                            "lista de la cooperativa o probar «cobrador import … --dry-run»."))
    p.add_argument("folder", metavar=_("CARPETA"), nargs="?", default=DEFAULT_FOLDER,
                   help=_("carpeta donde escribirlos (se crea si no existe; por defecto %(default)s)"))
    p.add_argument("--force", action="store_true", help=_("reemplazar archivos que ya existan con otro contenido"))
    p.set_defaults(func=main)


def example_files() -> dict[str, bytes]:
    """File name -> content of every example shipped in the package."""
    folder = resources.files("firmware_py.importer").joinpath("examples")
    return {entry.name: entry.read_bytes() for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.is_file() and entry.name.endswith(SUFFIXES)}


def write_examples(folder: Path, *, force: bool = False) -> list[Path]:
    """Write the examples into ``folder``; return the files written (identical ones are left as they are).

    Raises CobradorError (Spanish) if a different file is in the way (without ``force``) or the folder
    cannot be written.
    """
    files = example_files()
    if not files:  # pragma: no cover - a broken installation
        raise CobradorError(_("Esta instalación de Cobrador no trae los archivos de ejemplo; reinstálela."))
    folder = Path(folder)
    targets = {name: folder / name for name in files}
    differing = [name for name, target in targets.items()
                 if target.exists() and (not target.is_file() or target.read_bytes() != files[name])]
    if differing and not force:
        raise CobradorError(_("Ya hay en «{folder}» archivos con otro contenido: {names}. No se escribió nada: "
                              "elija otra carpeta o use --force para reemplazarlos.")
                            .format(folder=folder, names=", ".join(differing)))
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, target in targets.items():
            if target.is_file() and target.read_bytes() == files[name]:
                continue
            target.write_bytes(files[name])
            written.append(target)
    except OSError as exc:
        raise CobradorError(_("No se pueden escribir los ejemplos en «{folder}»: {reason}.")
                            .format(folder=folder, reason=describe_os_error(exc))) from None
    return written


def main(args: argparse.Namespace, config) -> int:
    folder = Path(args.folder)
    write_examples(folder, force=args.force)
    names = sorted(example_files())
    print(_("Archivos de ejemplo en {folder}: {names}.").format(folder=folder, names=", ".join(names)))
    print(_("Lea {readme} para ver los formatos y las columnas, y pruebe por ejemplo «cobrador import {example} "
            "--dry-run».").format(readme=folder / "README.md", example=folder / "prestamos_una_fila_por_credito.csv"))
    return 0
