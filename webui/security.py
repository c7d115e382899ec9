"""Security for a page on a shared office network: CSRF, headers, cookies, limits, error pages.

- CSRF on every form (Flask-WTF ``CSRFProtect``): a POST without a valid token
  is answered 400 with a Spanish page ("la página caducó").
- Headers on every answer: a Content-Security-Policy with no inline script and
  nothing from outside the box (``default-src 'self'``), ``nosniff``,
  ``frame-ancestors 'none'`` (and ``X-Frame-Options: DENY``), no referrer
  outside the site.
- The session cookie is ``HttpOnly`` and ``SameSite=Lax``; uploads are limited
  to :data:`MAX_UPLOAD` bytes.
- Errors (400, 403, 404, 405, 413, 429, 500) get a Spanish page that says what
  to do — never a traceback.
"""

from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

log = logging.getLogger("cobrador.webui.security")

MAX_UPLOAD = 20 * 1024 * 1024
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

csrf = CSRFProtect()

_MESSAGES = {
    400: "La solicitud no es válida. Vuelva a la página anterior y revise los datos.",
    403: "Su usuario no tiene permiso para esta acción. Pida a un administrador que le dé el rol necesario.",
    404: "Esa página no existe. Use el menú para seguir.",
    405: "Esa acción no se puede hacer así. Use los botones de la página.",
    413: "El archivo es demasiado grande (máximo 20 MB). Divídalo en archivos más pequeños.",
    429: "Demasiados intentos. Espere un momento y vuelva a intentarlo.",
    500: "Algo salió mal en el equipo. Los datos guardados están a salvo; vuelva a intentarlo y, si se repite, "
         "avise al soporte técnico.",
}


def init_security(app) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD  # Flask has the key (None): setdefault would not set it
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", code=400,
                               message=_("La página caducó o el formulario no vino de este equipo. Vuelva a "
                                         "cargar la página e inténtelo de nuevo.")), 400

    for code in _MESSAGES:
        app.register_error_handler(code, _handler(code))


def _handler(code: int):
    def handle(error):
        if code == 500:
            log.exception("error answering %s %s", request.method, request.path)
        return render_template("error.html", code=code, message=_(_MESSAGES[code])), code
    return handle
