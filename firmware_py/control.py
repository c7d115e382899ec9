"""Requests from the ``cobrador`` command to the running service, as small files in ``DATA/control/``.

The service owns the ledger (its lock is exclusive: one writer) and the modem, so a command such as
``cobrador pause`` cannot write the ledger while the service runs. It leaves a request instead, which the
running appliance picks up within a second or two (:class:`ControlWatcher`, polling the folder):

============================  ====================================================================
``control/pause``             set the ledger setting ``sending_paused`` to true (and wake the dispatcher)
``control/resume``            set it to false and wake the dispatcher
``control/set-password``      a web user's new password *hash* (never the password), or a new
                              administrator: ``{"user": name, "record": {"hash", "role", "created"}}``
``control/password-reset-until``  not a request but a window: the web page's ``/restablecer`` is open
                              until that instant (``{"until": ISO 8601}``), read on each visit
============================  ====================================================================

A request is one JSON object written atomically (temporary file, fsync, rename) with an ``id`` and
``requested_at``. The watcher handles it, writes the answer ``control/<name>.done``
(``{"id", "ok", "message", "handled_at"}``, ``message`` a Spanish sentence) and removes the request; the
command waits for the answer carrying its id (:func:`wait_answer`) and tells the user what happened. A
request nobody picks up stays: the service applies it when it next starts (a newer ``pause`` removes a
waiting ``resume`` and the other way round: the latest wish wins).

Files are private (mode 0600, folder 0700). When the command runs as root while the data folder belongs
to the service's user, what it writes is handed to that user (:func:`give_to_owner`) so the service can
read and remove it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

log = logging.getLogger("cobrador.control")

CONTROL_DIR = "control"
PAUSE = "pause"
RESUME = "resume"
SET_PASSWORD = "set-password"
REQUESTS = (PAUSE, RESUME, SET_PASSWORD)
RESET_WINDOW = "password-reset-until"
MAX_RESET_MINUTES = 24 * 60
ANSWER_SUFFIX = ".done"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def control_dir(data_dir) -> Path:
    return Path(data_dir) / CONTROL_DIR


# -- files ------------------------------------------------------------------------------------------------------
def give_to_owner(path, data_dir) -> None:
    """When running as root, give ``path`` (a file, or a folder and everything in it) to the owner of
    ``data_dir`` — the service's user — so the service can read, change and remove it. Does nothing
    otherwise (the command already runs as that user) or when the data folder belongs to root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        owner = os.stat(data_dir)
    except OSError:
        return
    if owner.st_uid == 0:
        return
    path = Path(path)
    targets = [path]
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            targets += [Path(root) / n for n in dirs + files]
    for target in targets:
        try:
            os.chown(target, owner.st_uid, owner.st_gid, follow_symlinks=False)
        except OSError as exc:
            log.warning("cannot give %s to the service's user: %s", target, exc)


def _ensure_folder(data_dir) -> Path:
    folder = control_dir(data_dir)
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=False, exist_ok=True)
        give_to_owner(folder, data_dir)
    return folder


def write_json(path: Path, data: dict, *, data_dir=None) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), readable by its owner only."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        if data_dir is not None:
            give_to_owner(tmp, data_dir)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def read_json(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- the command's side -------------------------------------------------------------------------------------------
def write_request(data_dir, name: str, payload: dict | None = None, *, now: datetime | None = None) -> str:
    """Leave request ``name`` for the service; returns its id. A waiting ``pause``/``resume`` of the
    opposite sense is removed (the latest wish wins). Raises OSError when the folder cannot be written."""
    if name not in REQUESTS:
        raise ValueError(f"unknown control request {name!r}")
    folder = _ensure_folder(data_dir)
    request_id = uuid.uuid4().hex
    data = {**(payload or {}), "id": request_id, "requested_at": (now or _utcnow()).isoformat()}
    if name in (PAUSE, RESUME):
        (folder / (RESUME if name == PAUSE else PAUSE)).unlink(missing_ok=True)
    write_json(folder / name, data, data_dir=data_dir)
    return request_id


def pending(data_dir, name: str) -> dict | None:
    """The request ``name`` still waiting for the service, or None."""
    return read_json(control_dir(data_dir) / name)


def withdraw(data_dir, name: str) -> None:
    """Remove a waiting request ``name`` (the command applied the change itself)."""
    (control_dir(data_dir) / name).unlink(missing_ok=True)


def wait_answer(data_dir, name: str, request_id: str, *, timeout: float = 10.0,
                poll: float = 0.1) -> dict | None:
    """The service's answer to request ``request_id`` (``{"ok", "message", ...}``), or None when none came
    within ``timeout`` seconds (the request then still waits in the folder)."""
    import time

    path = control_dir(data_dir) / f"{name}{ANSWER_SUFFIX}"
    deadline = time.monotonic() + timeout
    while True:
        answer = read_json(path)
        if answer is not None and answer.get("id") == request_id:
            return answer
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll)


# -- the password-reset window ---------------------------------------------------------------------------------
def allow_password_reset(data_dir, minutes: float, *, now: datetime | None = None) -> datetime:
    """Open the web page's password reset for ``minutes`` (at most a day); returns when it closes."""
    if not 0 < minutes <= MAX_RESET_MINUTES:
        raise ValueError(f"minutes must be between 1 and {MAX_RESET_MINUTES}")
    until = (now or _utcnow()) + timedelta(minutes=minutes)
    write_json(_ensure_folder(data_dir) / RESET_WINDOW, {"until": until.isoformat()}, data_dir=data_dir)
    return until


def password_reset_until(data_dir) -> datetime | None:
    """When the reset window opened by ``cobrador set-password --allow-web-reset`` closes (None: none)."""
    data = read_json(control_dir(data_dir) / RESET_WINDOW)
    if not data:
        return None
    try:
        until = datetime.fromisoformat(str(data.get("until")))
    except ValueError:
        return None
    return until if until.tzinfo is not None else None


def password_reset_open(data_dir, *, now: datetime | None = None) -> bool:
    """True while the window is open (for ``webui.services.Services.password_reset_allowed``). A window
    longer than a day from now (a clock set backwards, a hand-written file) does not count."""
    until = password_reset_until(data_dir)
    if until is None:
        return False
    now = now or _utcnow()
    return now < until <= now + timedelta(minutes=MAX_RESET_MINUTES)


# -- the service's side ------------------------------------------------------------------------------------------
def apply_user_record(settings, name: str, record: dict, *, users_key: str | None = None) -> str:
    """Set a web user's password hash in the ledger's settings, creating the user with ``record`` (its
    hash, role and creation time, as :class:`webui.users.UserStore` writes them) when there is none.
    Returns a Spanish sentence."""
    from webui.users import ROLES, SETTINGS_KEY

    key = users_key or SETTINGS_KEY
    if not isinstance(record, dict) or not isinstance(record.get("hash"), str) or not record["hash"]:
        raise ValueError("la solicitud de contraseña está incompleta")
    users = dict(settings.get(key) or {})
    if name in users:
        users[name] = {**users[name], "hash": record["hash"]}
        message = f"Contraseña del usuario «{name}» cambiada."
    else:
        if record.get("role") not in ROLES:
            raise ValueError("la solicitud de contraseña no trae un rol válido")
        users[name] = {"hash": record["hash"], "role": record["role"],
                       "created": str(record.get("created") or _utcnow().isoformat())}
        message = f"Usuario «{name}» creado como {record['role']}."
    settings.set(key, users)
    return message


def appliance_handlers(appliance) -> dict[str, Callable[[dict], str]]:
    """What a running :class:`firmware_py.app.Appliance` does with each request (each returns a Spanish
    sentence, or raises)."""

    def set_paused(paused: bool) -> str:
        appliance.ledger.settings.set("sending_paused", paused)
        log.warning("sending %s by cobrador %s", "paused" if paused else "resumed", PAUSE if paused else RESUME)
        if appliance.dispatcher is not None:
            appliance.dispatcher.wake()
        return "Envíos en pausa." if paused else "Envíos reanudados."

    def set_password(request: dict) -> str:
        name = str(request.get("user") or "")
        if not name:
            raise ValueError("la solicitud de contraseña no dice el usuario")
        message = apply_user_record(appliance.ledger.settings, name, request.get("record"))
        log.warning("web user %s: password set by cobrador set-password", name)
        return message

    return {PAUSE: lambda request: set_paused(True), RESUME: lambda request: set_paused(False),
            SET_PASSWORD: set_password}


class ControlWatcher:
    """Picks up the command's requests in ``DATA/control`` every ``interval`` seconds (see the module
    docstring). ``handlers`` maps a request name to a callable taking the request and returning a Spanish
    sentence. ``start()``/``close()``; ``check()`` handles what waits now (tests, and the thread)."""

    def __init__(self, data_dir, handlers: dict[str, Callable[[dict], str]], *, interval: float = 1.0,
                 now: Callable[[], datetime] = _utcnow):
        self.data_dir = Path(data_dir)
        self.handlers = dict(handlers)
        self.interval = interval
        self.now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            _ensure_folder(self.data_dir)
        except OSError as exc:
            log.error("cannot create %s: %s; the command's requests will not be read", control_dir(self.data_dir),
                      exc)
        self._thread = threading.Thread(target=self._run, name="cobrador-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:   # never let the watcher die: the next round tries again
                log.exception("control requests")
            self._stop.wait(self.interval)

    def check(self) -> list[str]:
        """Handle every waiting request, oldest first; returns the names handled."""
        folder = control_dir(self.data_dir)
        waiting = []
        for name in self.handlers:
            request = read_json(folder / name)
            if request is not None:
                waiting.append((str(request.get("requested_at", "")), name, request))
            elif (folder / name).exists():   # not JSON: say so and drop it, or it would be read forever
                waiting.append(("", name, None))
        handled = []
        for _, name, request in sorted(waiting, key=lambda item: item[0]):
            self._handle(folder, name, request)
            handled.append(name)
        return handled

    def _handle(self, folder: Path, name: str, request: dict | None) -> None:
        request_id = request.get("id") if request else None
        try:
            if request is None:
                raise ValueError("la solicitud está dañada")
            ok, message = True, self.handlers[name](request)
        except Exception as exc:
            log.error("control request %s refused: %s", name, exc)
            ok, message = False, str(exc)
        current = read_json(folder / name)
        if current is None or current.get("id") == request_id:   # a newer request written meanwhile stays
            (folder / name).unlink(missing_ok=True)
        try:   # last: once the command sees its answer, its request is gone
            write_json(folder / f"{name}{ANSWER_SUFFIX}", {"id": request_id, "ok": ok, "message": message,
                                                           "handled_at": self.now().isoformat()})
        except OSError as exc:
            log.error("cannot answer control request %s: %s", name, exc)
