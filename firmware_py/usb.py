"""The USB stick: loan lists in, results out — trusting nothing on the stick.

When a stick is plugged in, the system mounts it under a directory the daemon
watches (``/run/cobrador-usb/<device>``: see ``systemd/cobrador-usb@.service``);
:class:`StickWatcher` notices the new mount and calls :func:`process_stick`,
which:

1. imports every file named ``cobrador*.csv`` / ``cobrador*.xlsx`` at the
   stick's root (only regular files — never a symlink, a folder or a device —,
   at most :data:`MAX_FILE_BYTES` each, read through a descriptor opened with
   ``O_NOFOLLOW``), each through the same importer as the CLI and the web page
   (one atomic batch per file: a stick pulled out mid-import leaves the ledger
   as it was);
2. writes back, in a new folder ``cobrador-resultados-<date-time>/``: a
   Spanish report per file, its rejects file, and fresh exports (contacts,
   payments, the officers' visit list) — each written to a temporary name,
   flushed to the stick and renamed, so a stick pulled out mid-write never
   holds a half file that looks complete;
3. leaves a ``.cobrador-listo`` marker so the unit that mounted it unmounts it
   safely (the activity LED shows progress through ``progress``).

Nothing the stick holds is trusted: names are matched against a fixed
pattern, sizes are checked before reading, files are opened without following
links, and every error is a Spanish line in the report instead of a crash.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

log = logging.getLogger("cobrador.usb")

PATTERN = re.compile(r"^cobrador[\w\- .]{0,80}\.(csv|xlsx)$", re.IGNORECASE)
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 20
DONE_MARKER = ".cobrador-listo"


@dataclass
class StickReport:
    """What one stick brought and got: per-file lines (Spanish), the results folder, any error."""

    mount: Path
    lines: list[str] = field(default_factory=list)
    imported_files: int = 0
    results: Path | None = None
    error: str = ""


def candidate_files(mount: Path) -> tuple[list[Path], list[str]]:
    """The stick's loan lists (root only, by name) and a Spanish note for each entry skipped."""
    files, notes = [], []
    try:
        entries = sorted(os.scandir(mount), key=lambda e: e.name)
    except OSError as exc:
        return [], [f"No se pudo leer la memoria USB: {exc.strerror}."]
    for entry in entries:
        if not PATTERN.match(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            notes.append(f"«{entry.name}»: no se pudo leer; se omite.")
            continue
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            notes.append(f"«{entry.name}»: no es un archivo normal (enlace o carpeta); se omite.")
        elif info.st_size > MAX_FILE_BYTES:
            notes.append(f"«{entry.name}»: pesa {info.st_size // (1024 * 1024)} MB, más de "
                         f"{MAX_FILE_BYTES // (1024 * 1024)} MB; divídalo en archivos más pequeños.")
        elif len(files) >= MAX_FILES:
            notes.append(f"«{entry.name}»: hay más de {MAX_FILES} listas; se omite.")
        else:
            files.append(Path(entry.path))
    return files, notes


def _open_no_follow(path: Path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise OSError("no es un archivo normal o es demasiado grande")
    return os.fdopen(fd, "rb")


def write_file_safely(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` on the stick: a temporary name, flushed, then renamed."""
    tmp = path.with_name(f".{path.name}.parcial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def process_stick(mount: Path, ledger, config, *, now: datetime,
                  progress: Callable[[str], None] | None = None) -> StickReport:
    """Import the stick's loan lists and write the results back (see the module docstring).

    Never raises for what the stick holds or does (pulled out, full, read-only): the report says it.
    """
    from firmware_py.importer import ImportOptions, import_loans
    from firmware_py.importer.export import export_csv

    mount = Path(mount)
    report = StickReport(mount)
    zone = ZoneInfo(config.cooperative.timezone)
    stamp = now.astimezone(zone).strftime("%Y%m%d-%H%M")
    files, notes = candidate_files(mount)
    report.lines.extend(notes)
    outputs: dict[str, bytes] = {}
    for path in files:
        if progress:
            progress(f"importando {path.name}")
        rejects = io.BytesIO()
        try:
            with _open_no_follow(path) as stream:
                options = ImportOptions.from_config(config, source_name=f"USB: {path.name}", rejects=rejects)
                result = import_loans(stream, ledger, now=now, options=options)
        except OSError as exc:
            report.lines.append(f"«{path.name}»: no se pudo leer ({exc.strerror or exc}); ¿se retiró la memoria? "
                                "No se importó nada de este archivo.")
            continue
        except Exception as exc:  # ImportFileError (Spanish), LedgerError: nothing of this file was written
            report.lines.append(f"«{path.name}»: {exc}")
            continue
        report.imported_files += 1
        report.lines.append(f"«{path.name}»: {result.summary_es()}")
        where = f"hoja «{result.sheet}», " if result.sheet else ""  # a workbook: name the sheet read
        report.lines.extend(f"    {where}fila {r.row}: {r.reason}" for r in result.rejections[:200])
        report.lines.extend(f"    aviso, {where}fila {w.row}: {w.message}" for w in result.warnings[:200])
        if rejects.getvalue():
            outputs[f"{Path(path.name).stem}-rechazados{'.xlsx' if path.suffix.lower() == '.xlsx' else '.csv'}"] = \
                rejects.getvalue()
    if progress:
        progress("escribiendo resultados")
    country, tz = config.cooperative.country, config.cooperative.timezone
    for what, name in (("contacts", "contactos.csv"), ("payments", "pagos.csv"), ("loans", "prestamos.csv")):
        buffer = io.BytesIO()
        export_csv(ledger, what, buffer, country=country, timezone=tz)
        outputs[name] = buffer.getvalue()
    outputs["visitas.csv"] = visit_list_csv(ledger, zone, now)
    outputs["informe.txt"] = ("Cobrador — resultado de la memoria USB\n"
                              f"{now.astimezone(zone):%d/%m/%Y %H:%M}\n\n" + "\n".join(report.lines or
                                                                                    ["No había listas para importar "
                                                                                     "(archivos cobrador*.csv o "
                                                                                     "cobrador*.xlsx)."]) + "\n"
                              ).encode("utf-8")
    folder = mount / f"cobrador-resultados-{stamp}"
    try:
        folder.mkdir(exist_ok=True)
        for name, data in outputs.items():
            write_file_safely(folder / name, data)
        write_file_safely(mount / DONE_MARKER, b"listo\n")
        report.results = folder
    except OSError as exc:
        report.error = (f"No se pudieron escribir los resultados en la memoria USB ({exc.strerror or exc}): "
                        "¿está llena, protegida contra escritura o se retiró? Lo importado quedó guardado.")
        log.error("%s", report.error)
    log.info("USB stick %s: %d file(s) imported", mount, report.imported_files)
    return report


def visit_list_csv(ledger, zone: ZoneInfo, now: datetime) -> bytes:
    """The officers' visit list: the visits not made yet (:func:`scheduler.visits.gather`), as the web page's
    CSV download writes it (:func:`scheduler.visits.visit_list_csv`: UTF-8 with BOM, ``;``)."""
    from scheduler import visits

    return visits.visit_list_csv(visits.gather(ledger, now, zone), zone)


class StickWatcher:
    """Watches ``root`` (where sticks are mounted, one folder each) and processes each new mount once.

    ``handler(mount)`` does the work (the appliance passes :func:`process_stick` bound to its ledger);
    ``scan_now()`` looks at once (the panel's 3-second button hold). A folder with the done marker is
    not processed again. Context manager; ``close()`` safe twice.
    """

    def __init__(self, root: Path, handler: Callable[[Path], object], *, interval: float = 3.0):
        self.root = Path(root)
        self.handler = handler
        self.interval = interval
        self._seen: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> "StickWatcher":
        self._thread = threading.Thread(target=self._run, name="cobrador-usb", daemon=True)
        self._thread.start()
        return self

    def scan_now(self) -> list[Path]:
        """Process every new mount now (also called by the watcher thread); returns those processed."""
        done = []
        with self._lock:
            try:
                mounts = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                return done
            for mount in mounts:
                key = f"{mount}:{_device_of(mount)}"
                if key in self._seen or (mount / DONE_MARKER).exists():
                    continue
                self._seen.add(key)
                try:
                    self.handler(mount)
                except Exception:
                    log.exception("USB stick %s could not be processed", mount)
                done.append(mount)
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan_now()
            self._wake.wait(self.interval)
            self._wake.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> "StickWatcher":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def _device_of(path: Path) -> int:
    try:
        return os.stat(path).st_dev
    except OSError:
        return -1
