"""``cobrador set-password USER``: a web user's new password, from the box itself; ``--allow-web-reset MINUTES``
opens the web page's ``/restablecer`` for a while.

The password is asked twice without echo (``getpass``) or read as one line from standard input with
``--password-stdin``; it is checked and hashed here exactly as the web page does
(:class:`webui.users.UserStore`: at least 10 characters, not an obvious one; scrypt). A user that does not
exist is created as *administrador* — the way back in when nobody remembers the administrator's password.

The users live in the ledger's settings. When the service runs (it holds the ledger) the command hands the
*hash* — never the password — to it as a request in ``DATA/control/`` (:mod:`firmware_py.control`) and
waits for it to be applied; otherwise it writes the ledger itself.

``--allow-web-reset MINUTES`` writes ``DATA/control/password-reset-until``: while that time has not passed,
the web page lets anyone at the office set a user's password on ``/restablecer`` (the same window the panel's
button opens), so only use it with the office's network under control.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from firmware_py.cli import _, add_data_option, existing_data_dir, positive_number
from firmware_py.errors import CobradorError

WAIT = 15.0
NEW_USER_ROLE = "administrador"


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("set-password", parents=[common],
                              help=_("cambia la contraseña de un usuario de la página web"),
                              description=_("Cambia la contraseña de un usuario de la página web (si el usuario no "
                                            "existe, lo crea como administrador). La contraseña se pregunta dos "
                                            "veces sin mostrarla. Con --allow-web-reset abre por unos minutos la "
                                            "página /restablecer."))
    p.add_argument("user", metavar=_("USUARIO"), nargs="?", default=None,
                   help=_("nombre del usuario (por ejemplo gerente)"))
    p.add_argument("--password-stdin", action="store_true",
                   help=_("leer la contraseña de la entrada estándar (una línea) en lugar de preguntarla"))
    p.add_argument("--allow-web-reset", metavar=_("MINUTOS"), type=positive_number, default=None,
                   help=_("abrir la página /restablecer de la página web durante MINUTOS minutos (como mantener "
                          "pulsado el botón del equipo al arrancar)"))
    add_data_option(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace, config, *, ask=getpass.getpass, now=None) -> int:
    """``ask(prompt)`` reads a password without echo (tests give their own)."""
    from firmware_py.control import MAX_RESET_MINUTES

    if not args.user and args.allow_web_reset is None:
        raise CobradorError(_("Indique el USUARIO cuya contraseña quiere cambiar (cobrador set-password gerente), o "
                              "--allow-web-reset MINUTOS para abrir el restablecimiento en la página web."))
    if args.allow_web_reset is not None and args.allow_web_reset > MAX_RESET_MINUTES:
        raise CobradorError(_("--allow-web-reset: como mucho {limit} minutos (un día).").format(limit=MAX_RESET_MINUTES))
    config = config.with_overrides(data_dir=args.data)
    folder = existing_data_dir(config)
    now = now or datetime.now(timezone.utc)
    status = 0
    if args.user:
        password = _read_password(args.user, from_stdin=args.password_stdin, ask=ask)
        status = set_password(folder, args.user, password, now=now)
    if args.allow_web_reset is not None:
        from firmware_py.control import allow_password_reset

        try:
            until = allow_password_reset(folder, args.allow_web_reset, now=now)
        except OSError as exc:
            raise CobradorError(_("No se pudo abrir el restablecimiento: no se puede escribir en {folder} ({error}).")
                                .format(folder=folder, error=exc.strerror or exc)) from None
        local = until.astimezone(ZoneInfo(config.cooperative.timezone))
        print(_("La página /restablecer queda abierta hasta las {time} ({minutes} minutos): en ese tiempo se puede "
                "poner una contraseña nueva a cualquier usuario desde la página web.")
              .format(time=f"{local:%H:%M}", minutes=args.allow_web_reset))
    return status


def _read_password(user: str, *, from_stdin: bool, ask) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CobradorError(_("No llegó ninguna contraseña por la entrada estándar; no se cambió nada."))
        return password
    try:
        first = ask(_("Contraseña nueva para «{user}»: ").format(user=user))
        second = ask(_("Repítala: "))
    except EOFError:
        raise CobradorError(_("No se pudo leer la contraseña; no se cambió nada. Sin terminal, use "
                              "--password-stdin.")) from None
    if first != second:
        raise CobradorError(_("Las dos contraseñas no coinciden; no se cambió nada."))
    return first


class _Settings(dict):
    """A settings object in memory, for :class:`webui.users.UserStore` to check and hash a password."""

    def set(self, key, value) -> None:
        self[key] = value


def user_record(user: str, password: str, *, now: datetime) -> tuple[str, dict]:
    """The user's name as stored and the record the web page would store for a new administrator with this
    password; CobradorError with the web page's Spanish reason when the name or the password is refused."""
    from webui.users import SETTINGS_KEY, UserError, UserStore

    store = UserStore(_Settings())
    try:
        created = store.create(user, password, NEW_USER_ROLE, now=now)
    except UserError as exc:
        raise CobradorError(str(exc)) from None
    return created.name, store.settings[SETTINGS_KEY][created.name]


def set_password(folder, user: str, password: str, *, now: datetime, wait: float = WAIT) -> int:
    """Set ``user``'s password (creating an administrator if there is none) in the data folder ``folder``."""
    from firmware_py import control
    from firmware_py.errors import LedgerLocked
    from firmware_py.ledger import Ledger
    from webui.users import SETTINGS_KEY

    name, record = user_record(user, password, now=now)
    try:
        ledger = Ledger.open(folder)
    except LedgerLocked:
        return _ask_the_service(folder, name, record, wait)
    with ledger:
        existed = name in (ledger.settings.get(SETTINGS_KEY) or {})
        control.apply_user_record(ledger.settings, name, record)
    control.give_to_owner(folder / "ledger", folder)
    _say_done(name, existed, _("El servicio no está funcionando: se guardó directamente en los datos."))
    return 0


def _say_done(name: str, existed: bool, how: str) -> None:
    if existed:
        print(_("Contraseña del usuario «{user}» cambiada.").format(user=name), how)
    else:
        print(_("Usuario «{user}» creado como administrador, con esa contraseña.").format(user=name), how)


def _ask_the_service(folder, name: str, record: dict, wait: float) -> int:
    from firmware_py import control
    from firmware_py.ledger import Ledger
    from webui.users import SETTINGS_KEY

    with Ledger.open(folder, read_only=True) as ledger:
        existed = name in (ledger.settings.get(SETTINGS_KEY) or {})
    try:
        request_id = control.write_request(folder, control.SET_PASSWORD, {"user": name, "record": record})
    except OSError as exc:
        raise CobradorError(_("No se pudo dejar la solicitud al servicio en {folder} ({error}). Use el mismo usuario "
                              "que el servicio (sudo -u cobrador cobrador …) o sudo.")
                            .format(folder=control.control_dir(folder), error=exc.strerror or exc)) from None
    answer = control.wait_answer(folder, control.SET_PASSWORD, request_id, timeout=wait)
    if answer is None:
        print(_("El servicio no respondió en {seconds:.0f} s. La contraseña nueva queda pendiente y se aplicará en "
                "cuanto el servicio la lea (o cuando vuelva a arrancar). Compruebe su estado con «cobrador status».")
              .format(seconds=wait))
        return 1
    if not answer.get("ok"):
        raise CobradorError(_("El servicio no pudo aplicar la solicitud: {message}")
                            .format(message=answer.get("message", "?")))
    _say_done(name, existed, _("El servicio en funcionamiento aplicó el cambio."))
    return 0
