"""The settings page ``/ajustes`` (Ajustes, administrators only): what the cooperative changes while the box
runs, and the box itself.

- ``GET/POST /ajustes``: the cooperative's name, callback phone and payment methods as the messages say
  them, the SIM's daily SMS cap, the grace days of a promise to pay (the ledger settings
  ``cooperative_name``, ``callback_number``, ``payment_methods``, ``daily_sms_cap``, ``promise_grace_days``,
  which :meth:`scheduler.policy.Policy.with_settings` lays over the configuration file), and the page's
  language for people who did not choose one (``language``: applied by :func:`default_language` when a
  visitor's session starts);
- ``POST /ajustes/respaldo``: download a consistent copy of the ledger as a ``.zip``
  (``services.backup()``; the temporary copy is deleted once sent);
- ``POST /ajustes/reiniciar``: restart Cobrador (``services.restart()``);
- ``POST /ajustes/apagar``: switch the box off safely (``services.shutdown()``; only when the configuration
  allows it — ``[web] allow_poweroff``);
- ``GET /ajustes/registro``: the newest log lines of the running service (``services.recent_logs()``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _

from webui.access import current_user, role_required
from webui.settings_forms import SettingsForm

log = logging.getLogger("cobrador.webui.settings")

ORDER = 80
bp = Blueprint("settings", __name__)
NAV = [("settings.index", "Ajustes", "administrador")]

KEYS = ("cooperative_name", "callback_number", "payment_methods", "daily_sms_cap", "promise_grace_days", "language")
LOG_LINES = 200


def services():
    return current_app.extensions["cobrador"]


@bp.before_app_request
def default_language():
    """A visitor who never chose a language (no session choice, no cookie) starts in the cooperative's default
    (the ledger setting ``language``); choosing one with the header's button always wins."""
    from webui.i18n import COOKIE, LANGUAGES

    if request.endpoint == "static" or session.get("lang") or request.cookies.get(COOKIE):
        return None
    try:
        chosen = services().ledger.settings.get("language")
    except Exception:  # a closed or failing ledger must not stop every page
        return None
    if chosen in LANGUAGES and chosen != "es":
        session["lang"] = chosen
    return None


def _form_defaults() -> dict:
    svc = services()
    settings = svc.ledger.settings
    return {
        "cooperative_name": svc.cooperative_name(),
        "callback_number": settings.get("callback_number") or "",
        "payment_methods": settings.get("payment_methods") or "",
        "daily_sms_cap": str(settings.get("daily_sms_cap") if settings.get("daily_sms_cap") is not None else ""),
        "promise_grace_days": str(settings.get("promise_grace_days")
                                  if settings.get("promise_grace_days") is not None else ""),
        "language": settings.get("language") or "es",
    }


def _render(form: SettingsForm, status: int = 200):
    svc = services()
    return render_template("settings/index.html", form=form, can_backup=svc.backup is not None,
                           can_restart=svc.restart is not None, can_shutdown=svc.shutdown is not None,
                           has_logs=svc.recent_logs is not None), status


@bp.route("/ajustes", methods=["GET", "POST"])
@role_required("administrador")
def index():
    """The settings form; saved all at once (one durable change) when every value is valid."""
    if request.method == "GET":
        return _render(SettingsForm(data=_form_defaults()))
    form = SettingsForm()
    if not form.validate():
        flash(_("No se guardó nada: corrija lo marcado en rojo."), "error")
        return _render(form, 400)
    values = {key: getattr(form, key).data for key in KEYS}
    try:
        services().ledger.settings.update(values)
    except OSError as exc:  # the ledger's write error: a Spanish sentence saying what to do
        flash(str(exc), "error")
        return _render(form, 503)
    log.info("settings changed by %s: %s", current_user().name, sorted(values))
    flash(_("Ajustes guardados. Los próximos mensajes ya los usan."), "ok")
    return redirect(url_for("settings.index"))


def _refuse(message: str, status: int):
    flash(message, "error")
    return _render(SettingsForm(data=_form_defaults()), status)


def _inside_temp(path: Path) -> bool:
    temp = Path(tempfile.gettempdir()).resolve()
    return temp in path.resolve().parents


@bp.post("/ajustes/respaldo")
@role_required("administrador")
def backup():
    """Download a copy of the whole ledger as a .zip (it opens as a data directory once unzipped)."""
    svc = services()
    if svc.backup is None:
        return _refuse(_("Este equipo no ofrece copias de seguridad desde la página."), 409)
    try:
        folder = Path(svc.backup())
    except OSError as exc:  # a full or failing card: the ledger's Spanish sentence
        return _refuse(str(exc), 503)
    work = Path(tempfile.mkdtemp(prefix="cobrador-zip-"))
    try:
        archive = Path(shutil.make_archive(str(work / folder.name), "zip", root_dir=folder.parent,
                                           base_dir=folder.name))
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        log.error("backup archive failed: %s", exc)
        return _refuse(_("No se pudo preparar el archivo de respaldo (¿falta espacio en el equipo?). Avise al "
                         "soporte técnico."), 503)
    finally:
        if _inside_temp(folder.parent):  # the service's temporary copy; never a folder outside the temp dir
            shutil.rmtree(folder.parent, ignore_errors=True)
    log.info("backup downloaded by %s (%d bytes)", current_user().name, archive.stat().st_size)
    response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=archive.name,
                         max_age=0)
    response.call_on_close(lambda: shutil.rmtree(work, ignore_errors=True))
    return response


@bp.post("/ajustes/reiniciar")
@role_required("administrador")
def restart():
    """Restart Cobrador (the page comes back after about a minute)."""
    svc = services()
    if svc.restart is None:
        return _refuse(_("Este equipo no se puede reiniciar desde la página."), 409)
    log.warning("restart asked by %s", current_user().name)
    try:
        svc.restart()
    except Exception as exc:  # the system refused: its Spanish sentence when it gives one
        log.error("restart failed: %s", exc)
        return _refuse(str(exc) if isinstance(exc, (RuntimeError, OSError)) and str(exc)
                       else _("No se pudo reiniciar. Avise al soporte técnico."), 503)
    return render_template("settings/stopping.html", restarting=True)


@bp.post("/ajustes/apagar")
@role_required("administrador")
def shutdown():
    """Switch the box off safely (only when the configuration allows it)."""
    svc = services()
    if svc.shutdown is None:
        return _refuse(_("Apagar desde la página no está permitido en este equipo ([web] allow_poweroff en la "
                         "configuración)."), 409)
    log.warning("power-off asked by %s", current_user().name)
    try:
        svc.shutdown()
    except Exception as exc:
        log.error("power-off failed: %s", exc)
        return _refuse(str(exc) if isinstance(exc, (RuntimeError, OSError)) and str(exc)
                       else _("No se pudo apagar el equipo. Avise al soporte técnico."), 503)
    return render_template("settings/stopping.html", restarting=False)


@bp.get("/ajustes/registro")
@role_required("administrador")
def logs():
    """The newest log lines of the service, newest first (for the technician on the phone)."""
    svc = services()
    lines = None
    if svc.recent_logs is not None:
        lines = [str(line) for line in list(svc.recent_logs())[-LOG_LINES:]]
        lines.reverse()
    return render_template("settings/logs.html", lines=lines, limit=LOG_LINES)
