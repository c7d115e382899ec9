"""``cobrador backup DEST`` and ``cobrador restore SOURCE``: a copy of the data, and putting one back.

``backup`` opens the ledger read-only (:meth:`Ledger.open(..., read_only=True)`), which reads a consistent
cut even while the service writes (no need to stop it or to ask it), and writes
``DEST/cobrador-respaldo-<UTC time>/`` with :meth:`Ledger.backup`; the copy is then opened to check it.

``restore`` refuses while the service runs (it owns the data). ``SOURCE`` is a folder made by ``backup``
(it holds ``ledger/``), that ``ledger/`` folder itself, or the ``.zip`` the web page downloads. The copy is
opened as a ledger first; then it is copied next to the data (``DATA/.ledger.restaurando-<time>``), the
current ``DATA/ledger`` is moved aside to ``DATA/ledger.antes-<time>`` (under its lock, so nothing can open
it meanwhile) and the copy takes its place. Nothing is deleted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from firmware_py.cli import _, add_data_option, existing_data_dir
from firmware_py.errors import CobradorError, describe_os_error


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("backup", parents=[common],
                              help=_("copia de seguridad de los datos en una carpeta (por ejemplo una memoria USB)"),
                              description=_("Copia todos los datos de cobranza en DESTINO/cobrador-respaldo-<fecha>/. "
                                            "Funciona con el servicio en marcha."))
    p.add_argument("dest", metavar=_("DESTINO"), help=_("carpeta donde dejar la copia"))
    add_data_option(p)
    p.set_defaults(func=backup_main)
    p = subparsers.add_parser("restore", parents=[common],
                              help=_("restaura una copia de seguridad (con el servicio detenido)"),
                              description=_("Pone en su lugar una copia hecha con «cobrador backup» (o el .zip "
                                            "descargado de la página web). Los datos actuales se apartan en "
                                            "ledger.antes-<fecha>, no se borran. El servicio debe estar detenido."))
    p.add_argument("source", metavar=_("ORIGEN"),
                   help=_("carpeta cobrador-respaldo-<fecha>, su carpeta ledger, o el .zip de la página web"))
    add_data_option(p)
    p.set_defaults(func=restore_main)


def _summary(stats: dict) -> str:
    return _("{debtors} deudores, {loans} préstamos, {payments} pagos, {contacts} contactos").format(**stats)


# -- backup -------------------------------------------------------------------------------------------------------
def backup_main(args: argparse.Namespace, config) -> int:
    from firmware_py.ledger import Ledger

    config = config.with_overrides(data_dir=args.data)
    folder = existing_data_dir(config)
    if not (folder / "ledger").is_dir():
        raise CobradorError(_("No hay datos de cobranza en {folder}: nada que respaldar (indique la carpeta de datos "
                              "con --data).").format(folder=folder))
    dest = Path(args.dest)
    if not dest.is_dir():
        raise CobradorError(_("La carpeta de destino «{dest}» no existe: créela o conecte la memoria USB y vuelva a "
                              "intentarlo.").format(dest=dest))
    with Ledger.open(folder, read_only=True) as ledger:   # a consistent read, even while the service writes
        root = ledger.backup(dest)
        stats = ledger.stats()
    try:
        with Ledger.open(root, read_only=True) as copy:
            copied = copy.stats()
    except CobradorError as exc:
        raise CobradorError(_("La copia en {path} no se pudo leer después de escribirla ({error}). Pruebe con otra "
                              "memoria o carpeta.").format(path=root, error=exc)) from None
    if any(copied[k] != stats[k] for k in ("debtors", "loans", "payments", "promises", "contacts")):
        raise CobradorError(_("La copia en {path} no coincide con los datos ({copied} en la copia, {stats} en el "
                              "equipo). Vuelva a intentarlo.")
                            .format(path=root, copied=_summary(copied), stats=_summary(stats)))
    print(_("Copia de seguridad lista en {path}: {summary}.").format(path=root, summary=_summary(copied)))
    print(_("Para restaurarla (con el servicio detenido): cobrador restore {path}").format(path=root))
    return 0


# -- restore ------------------------------------------------------------------------------------------------------
def restore_main(args: argparse.Namespace, config, *, now: datetime | None = None) -> int:
    from firmware_py.control import give_to_owner
    from firmware_py.errors import LedgerLocked
    from firmware_py.ledger.lock import DirectoryLock
    from firmware_py.status_file import running_service

    config = config.with_overrides(data_dir=args.data)
    folder = Path(config.data_dir)
    if folder.exists() and not folder.is_dir():
        existing_data_dir(config)   # says it is not a folder
    if running_service(folder) is not None:
        raise CobradorError(_("El servicio Cobrador está funcionando: deténgalo antes de restaurar («sudo systemctl "
                              "stop cobrador»), vuelva a intentarlo y arránquelo después («sudo systemctl start "
                              "cobrador»)."))
    stamp = f"{(now or datetime.now(timezone.utc)).astimezone(timezone.utc):%Y%m%dT%H%M%S}"
    with _backup_folder(Path(args.source)) as source:
        stats = _check_backup(source)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging = folder / f".ledger.restaurando-{stamp}"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source / "ledger", staging, ignore=shutil.ignore_patterns("ledger.lock"))
            _fsync_tree(staging)
        except OSError as exc:
            shutil.rmtree(folder / f".ledger.restaurando-{stamp}", ignore_errors=True)
            raise CobradorError(_("No se pudo copiar la copia de seguridad a {folder}: {error}. No se cambió nada.")
                                .format(folder=folder, error=describe_os_error(exc))) from None
    current = folder / "ledger"
    aside = None
    lock = None
    try:
        if current.is_dir():
            try:
                lock = DirectoryLock(current).acquire()
            except LedgerLocked:
                raise CobradorError(_("Los datos están abiertos por otro proceso de Cobrador (el servicio u otro "
                                      "comando). Deténgalo («sudo systemctl stop cobrador») y vuelva a intentarlo; "
                                      "no se cambió nada.")) from None
            aside = _free_name(folder / f"ledger.antes-{stamp}")
            os.rename(current, aside)
        os.rename(staging, current)
        _fsync_dir(folder)
    except OSError as exc:
        raise CobradorError(_("No se pudo poner la copia en su lugar en {folder}: {error}. Revise la carpeta: los datos "
                              "anteriores están en {aside}.")
                            .format(folder=folder, error=describe_os_error(exc), aside=aside or current)) from None
    finally:
        if lock is not None:
            lock.release()
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    give_to_owner(current, folder)
    print(_("Copia restaurada desde {source}: {summary}.").format(source=args.source, summary=_summary(stats)))
    if aside is not None:
        print(_("Los datos anteriores quedaron en {aside}; bórrelos cuando ya no los necesite.").format(aside=aside))
    print(_("Arranque el servicio: sudo systemctl start cobrador"))
    return 0


@contextmanager
def _backup_folder(source: Path):
    """The data folder (holding ``ledger/``) inside ``source``: a backup folder, its ``ledger`` folder, or a
    .zip from the web page (unpacked into a temporary folder removed afterwards)."""
    if source.is_file() and zipfile.is_zipfile(source):
        work = Path(tempfile.mkdtemp(prefix="cobrador-restaurar-"))
        try:
            _unzip(source, work)
            found = [p.parent for p in work.rglob("ledger") if p.is_dir()]
            if len(found) != 1:
                raise CobradorError(_("«{source}» no contiene una copia de seguridad de Cobrador (falta la carpeta "
                                      "ledger).").format(source=source))
            yield found[0]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    if not source.exists():
        raise CobradorError(_("No existe «{source}»: indique la carpeta cobrador-respaldo-<fecha> de la copia.")
                            .format(source=source))
    if (source / "ledger").is_dir():
        yield source
    elif source.name == "ledger" and source.is_dir():
        yield source.parent
    else:
        raise CobradorError(_("«{source}» no es una copia de seguridad de Cobrador: indique la carpeta "
                              "cobrador-respaldo-<fecha> (la que tiene dentro la carpeta ledger) o el .zip de la "
                              "página web.").format(source=source))


def _unzip(archive: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                parts = Path(member.filename).parts
                if member.filename.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    raise CobradorError(_("«{source}» tiene rutas peligrosas: no se usa.").format(source=archive))
            bundle.extractall(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CobradorError(_("No se pudo abrir «{source}»: {error}.").format(source=archive, error=exc)) from None


def _check_backup(source: Path) -> dict:
    """Open the copy as a ledger (read-only); its counts, or CobradorError."""
    from firmware_py.ledger import Ledger
    from firmware_py.ledger.hotstate import FileHotState

    if not (source / "ledger" / FileHotState.SNAPSHOT).is_file() and \
            not (source / "ledger" / FileHotState.JOURNAL).is_file():
        raise CobradorError(_("«{source}» no tiene datos de cobranza (la carpeta ledger está vacía); no se cambió "
                              "nada.").format(source=source))
    try:
        with Ledger.open(source, read_only=True) as copy:
            return copy.stats()
    except CobradorError as exc:
        raise CobradorError(_("La copia en «{source}» no se puede abrir: {error} No se cambió nada.")
                            .format(source=source, error=exc)) from None


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
