"""Import the loan list from the web page: upload → columns → check → import → result.

Every route needs the ``operador`` role (a read-only user gets 403) and works only on the uploads of the
same browser session (any other id, even a real one of another session, is a 404):

- ``GET/POST /importar``: choose a CSV or XLSX file (20 MB at most: the app's limit answers 413). The
  file is kept in this session's private temporary folder (:class:`UploadStore`; the name the user's
  computer gave it is only shown, never used as a path) and read once (``services.preview_file``): a file
  that cannot be read (binary, empty, .ods, .xls, a line over 1 MB…) is deleted and the importer's Spanish
  reason is answered 400.
- ``GET/POST /importar/<id>``: how the file is read — the layout, each column with the field it is read
  as (a select per column, fields named in Spanish), sample values, what is still missing. Posting the
  choices validates them (unknown field, a field twice, a column not in the file: 400 with the reason)
  and starts the check (a dry run: ``services.import_file(..., dry_run=True)``).
- ``GET /importar/<id>/progreso`` and ``/progreso.json``: checks and imports run in a background thread
  (:class:`Job`, one at a time on the box); the page shows a progress bar updated by
  ``static/imports.js`` from the JSON (bytes read of the file), or refreshes itself without JavaScript.
  A job that ends within :data:`QUICK_SECONDS` skips this page.
- ``GET /importar/<id>/revision``: the check's result — rows read, valid and rejected, every rejected row
  with its number and Spanish reason (the sheet named for a workbook), the warnings (shared phones,
  landlines…), the loans and debtors that would be created or updated — :data:`PER_PAGE` per page.
- ``POST /importar/<id>/confirmar``: the real import (one atomic batch in the ledger), then
  ``services.wake()`` so the dispatcher plans again; the uploaded file is deleted when it ends. Posting it
  again (a double click, the back button) never imports twice.
- ``GET /importar/<id>/resultado``: what was imported; ``GET /importar/<id>/rechazados``: the rejected
  rows with the reason in an ``error`` column (the importer's file: CSV, or XLSX for a workbook).
- ``POST /importar/<id>/cancelar``: delete the upload (and its rejects file) now.

Uploads are deleted after :data:`TTL_SECONDS` without a visit (a janitor thread sweeps them), when the
application stops, and a session keeps at most :data:`MAX_PER_SESSION`.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   session, url_for)
from flask_babel import gettext as _

from werkzeug.exceptions import HTTPException

from webui.access import role_required
from webui.security import MAX_UPLOAD
from webui.import_forms import IGNORE, ActionForm, UploadForm, column_rows, missing_fields, read_mapping

log = logging.getLogger("cobrador.webui.imports")

ORDER = 30
bp = Blueprint("imports", __name__)
NAV = [("imports.index", "Importar", "operador")]

TTL_SECONDS = 3600
QUICK_SECONDS = 1.5
MAX_PER_SESSION = 3
MAX_UPLOADS = 20
PER_PAGE = 200
NAME_CHARS = 120
SESSION_KEY = "import_owner"
_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

# Spanish sentences set outside a request (the job's thread): translated when shown
UNEXPECTED = ("No se pudo leer el archivo. Revise que sea la lista de préstamos en CSV o en un libro .xlsx "
              "guardado desde la hoja de cálculo y vuelva a subirlo; si se repite, avise al soporte técnico.")
LAYOUTS = {"loan": "una fila por crédito", "instalment": "una fila por cuota"}
SEPARATORS = {";": "punto y coma (;)", ",": "comas (,)", "\t": "tabuladores", "|": "barras (|)"}


@dataclass
class Job:
    """A check (``dry``) or an import running in a thread: bytes ``done`` of ``total``, then ``finished``."""

    dry: bool
    done: int = 0
    total: int = 0
    finished: bool = False
    thread: threading.Thread | None = None

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    @property
    def percent(self) -> int:
        return 100 if self.finished else (min(99, self.done * 100 // self.total) if self.total > 0 else 0)


@dataclass
class Upload:
    """One uploaded file of one session and what happened to it.

    ``name``: the file's name as the user's computer gave it (shown, never a path); ``folder``: its private
    folder (``archivo``: the file, ``rechazados``: the rejects file); ``mapping``: the columns chosen
    (``None``: as guessed); ``checked``: the last check's report and ``checked_mapping`` the mapping it
    used; ``result``: the import's report; ``imported``: the import ran (the file is gone); ``error``: the
    last job's Spanish reason.
    """

    id: str
    owner: str
    name: str
    folder: Path
    touched: float
    mapping: dict | None = None
    job: Job | None = None
    checked: object = None
    checked_mapping: dict | None = None
    result: object = None
    imported: bool = False
    error: str = ""
    previews: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)  # field -> Spanish name, from the preview

    @property
    def source(self) -> Path:
        return self.folder / "archivo"

    @property
    def rejects(self) -> Path:
        return self.folder / "rechazados"

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.finished


class UploadStore:
    """The uploads of every session, each in its own folder under one private temporary folder (mode 0700,
    created on first use, removed when the store is collected or the process ends)."""

    def __init__(self, *, clock=time.monotonic, ttl: float = TTL_SECONDS):
        self.clock = clock
        self.ttl = ttl
        self._root: Path | None = None
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.RLock()
        self._janitor: threading.Thread | None = None

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="cobrador-imports-"))
                weakref.finalize(self, shutil.rmtree, str(self._root), True)
            return self._root

    def create(self, owner: str, name: str) -> Upload:
        """A new empty upload for ``owner`` (its oldest idle uploads beyond :data:`MAX_PER_SESSION` are
        dropped). Raises ``OverflowError`` when the box already holds :data:`MAX_UPLOADS`."""
        self.sweep()
        with self._lock:
            mine = sorted((u for u in self._uploads.values() if u.owner == owner and not u.running),
                          key=lambda u: u.touched)
            for old in mine[:max(0, len(mine) - MAX_PER_SESSION + 1)]:
                self._drop(old)
            if len(self._uploads) >= MAX_UPLOADS:
                raise OverflowError("too many uploads")
            upload_id = secrets.token_urlsafe(24)
            folder = self.root / upload_id
            folder.mkdir(mode=0o700)
            upload = Upload(upload_id, owner, name, folder, self.clock())
            self._uploads[upload_id] = upload
            self._start_janitor()
            return upload

    def get(self, upload_id: str, owner: str | None) -> Upload | None:
        """The upload if it exists and belongs to ``owner`` (and marks it as visited)."""
        self.sweep()
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None or owner is None or not secrets.compare_digest(upload.owner, owner):
                return None
            upload.touched = self.clock()
            return upload

    def of(self, owner: str | None) -> list[Upload]:
        with self._lock:
            return sorted((u for u in self._uploads.values() if owner and u.owner == owner),
                          key=lambda u: u.touched, reverse=True)

    def remove(self, upload: Upload) -> None:
        with self._lock:
            self._drop(upload)

    def _drop(self, upload: Upload) -> None:
        self._uploads.pop(upload.id, None)
        shutil.rmtree(upload.folder, ignore_errors=True)

    def sweep(self) -> int:
        """Delete the uploads not visited for ``ttl`` seconds (never one whose job runs); returns how many."""
        now = self.clock()
        with self._lock:
            old = [u for u in self._uploads.values() if now - u.touched > self.ttl and not u.running]
            for upload in old:
                self._drop(upload)
            return len(old)

    def busy(self) -> Upload | None:
        """The upload whose job is running, if any (one job at a time on the box)."""
        with self._lock:
            return next((u for u in self._uploads.values() if u.running), None)

    def start(self, upload: Upload, job: Job, target) -> bool:
        """Run ``target(upload, job)`` in a thread unless another job runs (then False)."""
        with self._lock:
            if self.busy() is not None:
                return False
            upload.job = job
            upload.error = ""
            job.thread = threading.Thread(target=target, args=(upload, job), name=f"import-{upload.id[:6]}",
                                          daemon=True)
            job.thread.start()
            return True

    def _start_janitor(self) -> None:
        if self._janitor is not None and self._janitor.is_alive():
            return
        ref = weakref.ref(self)
        pause = min(300.0, max(1.0, self.ttl / 4))

        def sweep_while_alive():  # holds no strong reference: the store can be collected (its folder removed)
            while True:
                time.sleep(pause)
                store = ref()
                if store is None:
                    return
                store.sweep()
                del store

        self._janitor = threading.Thread(target=sweep_while_alive, name="import-janitor", daemon=True)
        self._janitor.start()


# -- helpers ------------------------------------------------------------------------------------------------------
def _services():
    return current_app.extensions["cobrador"]


def store() -> UploadStore:
    """This application's :class:`UploadStore`."""
    extensions = current_app.extensions
    if "cobrador.imports" not in extensions:
        extensions["cobrador.imports"] = UploadStore()
    return extensions["cobrador.imports"]


def _owner(create: bool = False) -> str | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) and create:
        token = session[SESSION_KEY] = secrets.token_urlsafe(24)
    return token if isinstance(token, str) else None


def _upload_or_404(upload_id: str) -> Upload:
    upload = store().get(upload_id, _owner()) if _ID.match(upload_id) else None
    if upload is None:
        abort(404)
    return upload


def _display_name(filename: str | None) -> str:
    """The file's name without folders or control characters, at most :data:`NAME_CHARS` characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > NAME_CHARS:
        name = name[:NAME_CHARS - 1] + "…"
    return name or "archivo"


def _reason(exc: Exception) -> str:
    """The Spanish sentence for a failed preview or import: the importer's own when it gave one, else
    :data:`UNEXPECTED` (logged). Shown through ``_()``, which translates only :data:`UNEXPECTED`."""
    if isinstance(exc, ValueError) and getattr(exc, "reason", None):
        return str(exc)
    log.error("import service failed unexpectedly", exc_info=exc)
    return UNEXPECTED


def _unavailable():
    return render_template("imports/unavailable.html"), 503


def _preview(upload: Upload, mapping):
    """``services.preview_file`` of the upload for ``mapping`` (cached per mapping)."""
    key = None if mapping is None else tuple(sorted(mapping.items()))
    if key not in upload.previews:
        with upload.source.open("rb") as stream:
            preview = _services().preview_file(stream, mapping)
        upload.previews = {key: preview}
        upload.fields = dict(preview.fields)
    return upload.previews[key]


def _next_step(upload: Upload) -> str:
    """Where the upload's state leads: progress while a job runs, then the review or the result."""
    if upload.running:
        return url_for("imports.progress", upload_id=upload.id)
    if upload.imported:
        return url_for("imports.result", upload_id=upload.id)
    if upload.checked is not None or upload.error:
        return url_for("imports.review", upload_id=upload.id)
    return url_for("imports.columns", upload_id=upload.id)


def _page(name: str, count: int) -> tuple[int, int]:
    """``(page, pages)`` of the query argument ``name`` over ``count`` items; 400 for a bad number."""
    pages = max(1, -(-count // PER_PAGE))
    text = request.args.get(name, "1")
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text):
        abort(400)
    return min(int(text), pages), pages


# -- the job ------------------------------------------------------------------------------------------------------
def _runner(services):
    """The thread's body for ``services`` (no request context: nothing here may translate)."""

    def run(upload: Upload, job: Job) -> None:
        part = upload.folder / "rechazados.parte"
        mapping = upload.mapping
        try:
            with upload.source.open("rb") as stream:
                report = services.import_file(stream, mapping=mapping, dry_run=job.dry, source_name=upload.name,
                                              rejects=str(part), progress=job.progress)
        except Exception as exc:  # the thread must always finish and say why
            upload.error = _reason(exc)
        else:
            if part.exists():
                os.replace(part, upload.rejects)
            else:
                upload.rejects.unlink(missing_ok=True)
            if job.dry:
                upload.checked, upload.checked_mapping = report, mapping
            else:
                upload.result = report
                if services.wake is not None:
                    try:
                        services.wake()
                    except Exception:  # the import is done; the dispatcher wakes on its own timer anyway
                        log.exception("wake after import failed")
        finally:
            part.unlink(missing_ok=True)
            if not job.dry:
                upload.imported = True
                upload.source.unlink(missing_ok=True)
            job.finished = True

    return run


def _start(upload: Upload, dry: bool):
    """Start a check or the import; a redirect to the next page, or None if another job runs."""
    job = Job(dry=dry)
    if not store().start(upload, job, _runner(_services())):
        return None
    job.thread.join(QUICK_SECONDS)
    return redirect(_next_step(upload))


def _conflict(message: str):
    """A 409 page: the action cannot be done now, ``message`` says why and what to do."""
    return render_template("error.html", code=409, message=message), 409


def _busy():
    return _conflict(_("El equipo está revisando o importando otro archivo. Espere a que termine (unos minutos) "
                       "y vuelva a intentarlo."))


# -- routes -------------------------------------------------------------------------------------------------------
@bp.route("/importar", methods=["GET", "POST"])
@role_required("operador")
def index():
    """Choose the file; a readable one goes on to the columns."""
    services = _services()
    form = UploadForm()
    if services.preview_file is None or services.import_file is None:
        return _unavailable()
    status = 200
    if request.method == "POST" and (request.content_length or 0) > MAX_UPLOAD:
        abort(413)  # the app's limit, checked here too: the page promises 20 MB at most
    if form.validate_on_submit():
        storage = form.archivo.data
        try:
            upload = store().create(_owner(create=True), _display_name(storage.filename))
        except OverflowError:
            flash(_("Hay demasiados archivos en revisión en el equipo. Termine o cancele los que tenga abiertos, o "
                    "espere una hora, y vuelva a intentarlo."), "error")
            return render_template("imports/index.html", form=form, uploads=_listed()), 503
        try:
            storage.save(str(upload.source))
            if upload.source.stat().st_size > MAX_UPLOAD:
                store().remove(upload)
                abort(413)
            _preview(upload, None)
        except HTTPException:
            raise
        except Exception as exc:
            store().remove(upload)
            form.archivo.errors.append(_(_reason(exc)))
            status = 400
        else:
            return redirect(url_for("imports.columns", upload_id=upload.id))
    elif request.method == "POST":
        status = 400
    return render_template("imports/index.html", form=form, uploads=_listed()), status


def _listed() -> list:
    """This session's uploads with the page each leads to."""
    return [(upload, _next_step(upload)) for upload in store().of(_owner())]


@bp.route("/importar/<upload_id>", methods=["GET", "POST"])
@role_required("operador")
def columns(upload_id):
    """How the file is read, a select per column; posting the choices starts the check."""
    upload = _upload_or_404(upload_id)
    if upload.running or upload.imported:
        return redirect(_next_step(upload))
    form = ActionForm()
    errors: dict[int, str] = {}
    problem = ""
    status = 200
    try:
        preview = _preview(upload, upload.mapping)
    except Exception as exc:  # a mapping kept from before that no longer fits: back to the guess
        upload.mapping = None
        try:
            preview = _preview(upload, None)
        except Exception as again:
            store().remove(upload)
            flash(_(_reason(again)), "error")
            return redirect(url_for("imports.index"))
        log.info("stored mapping dropped: %s", exc)
    if form.validate_on_submit():
        mapping, errors = read_mapping(request.form, column_rows(preview), preview.fields)
        if not errors:
            try:
                candidate = _preview(upload, mapping)
            except Exception as exc:
                problem = _(_reason(exc))
            else:
                preview, upload.mapping = candidate, mapping
                if not missing_fields(preview) and not preview.missing:
                    started = _start(upload, dry=True)
                    if started is None:
                        return _busy()
                    if upload.job.finished and upload.error:
                        problem = _(upload.error)
                    else:
                        return started
        status = 400
    elif request.method == "POST":
        status = 400
    context = _columns_context(upload, preview, errors)
    return render_template("imports/columns.html", form=form, problem=problem, **context), status


def _columns_context(upload: Upload, preview, errors: dict) -> dict:
    return {"upload": upload, "preview": preview, "rows": column_rows(preview), "errors": errors,
            "missing": missing_fields(preview), "layouts": LAYOUTS, "ignore": IGNORE, "separators": SEPARATORS}


@bp.get("/importar/<upload_id>/progreso")
@role_required("operador")
def progress(upload_id):
    """The running job's progress bar (JavaScript updates it; without it the page refreshes itself)."""
    upload = _upload_or_404(upload_id)
    if not upload.running:
        return redirect(_next_step(upload))
    return render_template("imports/progress.html", upload=upload, job=upload.job)


@bp.get("/importar/<upload_id>/progreso.json")
@role_required("operador")
def progress_json(upload_id):
    """``{"state": "running"|"done", "percent", "done", "total", "next"}`` (bytes of the file read)."""
    upload = _upload_or_404(upload_id)
    job = upload.job
    return jsonify(state="running" if upload.running else "done", dry=job.dry if job else None,
                   percent=job.percent if job else 0, done=job.done if job else 0, total=job.total if job else 0,
                   next=_next_step(upload))


@bp.get("/importar/<upload_id>/revision")
@role_required("operador")
def review(upload_id):
    """The check's result: counts, every rejected row and warning (paged), and the button to import."""
    upload = _upload_or_404(upload_id)
    if upload.running or upload.imported or (upload.checked is None and not upload.error):
        return redirect(_next_step(upload))
    report = upload.checked if upload.checked_mapping == upload.mapping else None
    context = _report_context(upload, report)
    return render_template("imports/review.html", **context)


def _report_context(upload: Upload, report) -> dict:
    """What review.html and result.html show: the report and one page of its rejections and warnings."""
    context = {"upload": upload, "report": report, "form": ActionForm(), "layouts": LAYOUTS,
               "fields": upload.fields, "has_rejects": upload.rejects.is_file()}
    if report is not None:
        context["rejections"], context["rejections_page"] = _paged(report.rejections, "pagina_rechazos")
        context["warnings"], context["warnings_page"] = _paged(report.warnings, "pagina_avisos")
    return context


def _paged(items: list, name: str):
    page, pages = _page(name, len(items))
    return items[(page - 1) * PER_PAGE: page * PER_PAGE], {"page": page, "pages": pages, "name": name}


@bp.post("/importar/<upload_id>/confirmar")
@role_required("operador")
def confirm(upload_id):
    """The real import, once; the file is deleted when it ends."""
    upload = _upload_or_404(upload_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if upload.running or upload.imported:
        return redirect(_next_step(upload))
    report = upload.checked if upload.checked_mapping == upload.mapping else None
    if report is None:
        return _conflict(_("Revise el archivo antes de importarlo: elija las columnas y apriete «Revisar el "
                           "archivo»."))
    if not report.ok:
        return _conflict(_("No hay ninguna fila válida para importar: corrija el archivo y súbalo de nuevo."))
    started = _start(upload, dry=False)
    return _busy() if started is None else started


@bp.get("/importar/<upload_id>/resultado")
@role_required("operador")
def result(upload_id):
    """What the import did (or why it could not), with the rejects file to download."""
    upload = _upload_or_404(upload_id)
    if not upload.imported or upload.running:
        return redirect(_next_step(upload))
    report = upload.result
    context = _report_context(upload, report)
    return render_template("imports/result.html", **context)


@bp.get("/importar/<upload_id>/rechazados")
@role_required("operador")
def rejects(upload_id):
    """The rejected rows with their reason: a CSV like the uploaded one, or a workbook for a workbook."""
    upload = _upload_or_404(upload_id)
    if upload.running or not upload.rejects.is_file():
        abort(404)
    with upload.rejects.open("rb") as handle:
        workbook = handle.read(4) == b"PK\x03\x04"
    stem = re.sub(r"[^\w.-]+", "_", upload.name.rsplit(".", 1)[0], flags=re.ASCII).strip("._")[:60] or "archivo"
    extension, mimetype = ((".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                           if workbook else (".csv", "text/csv"))
    return send_file(upload.rejects, mimetype=mimetype, as_attachment=True,
                     download_name=f"{stem}-rechazados{extension}", max_age=0)


@bp.post("/importar/<upload_id>/cancelar")
@role_required("operador")
def cancel(upload_id):
    """Delete the upload and its rejects file now (not while its job runs)."""
    upload = _upload_or_404(upload_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if upload.running:
        return _conflict(_("Espere a que termine la revisión o la importación; después podrá borrar el archivo."))
    store().remove(upload)
    flash(_("Listo: el archivo se borró del equipo.") if upload.imported else
          _("Importación cancelada: no se importó nada y el archivo se borró del equipo."), "ok")
    return redirect(url_for("imports.index"))
