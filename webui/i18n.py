"""Spanish first, English available: Flask-Babel with catalogues per area, the user's choice remembered.

Texts are written in Spanish in the code and the templates and wrapped in
``_()``; each area keeps its English catalogue in
``webui/translations/<area>/en/LC_MESSAGES/messages.po`` (one file per area,
so areas do not edit the same file). The catalogues are compiled to ``.mo``
when the application starts (Babel's own compiler, in a cache directory), so
no compiled file is kept in the repository. The language is the one the user
chose (a cookie, a year), else Spanish.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, redirect, request, session, url_for
from flask_babel import Babel

LANGUAGES = ("es", "en")
COOKIE = "cobrador_idioma"
SOURCE = Path(__file__).parent / "translations"

bp = Blueprint("i18n", __name__)


def compile_catalogues(target: Path) -> list[str]:
    """Compile every area's ``.po`` into ``target/<area>/<lang>/LC_MESSAGES/messages.mo``; returns the
    directories for ``BABEL_TRANSLATION_DIRECTORIES``."""
    directories = []
    for area in sorted(p for p in SOURCE.iterdir() if p.is_dir()):
        for po_path in area.glob("*/LC_MESSAGES/messages.po"):
            language = po_path.parent.parent.name
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            out = target / area.name / language / "LC_MESSAGES"
            out.mkdir(parents=True, exist_ok=True)
            with (out / "messages.mo").open("wb") as handle:
                write_mo(handle, catalog)
        directories.append(str(target / area.name))
    return directories


def select_locale() -> str:
    choice = session.get("lang") or request.cookies.get(COOKIE)
    return choice if choice in LANGUAGES else "es"


def init_i18n(app) -> None:
    cache = Path(tempfile.mkdtemp(prefix="cobrador-i18n-"))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(compile_catalogues(cache))
    app.config["BABEL_DEFAULT_LOCALE"] = "es"
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def language():
        return {"current_language": select_locale()}


@bp.post("/idioma/<code>")
def language(code):
    if code not in LANGUAGES:
        code = "es"
    session["lang"] = code
    target = request.form.get("next") or ""
    response = redirect(target if target.startswith("/") and not target.startswith("//") else url_for("dashboard.index"))
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
