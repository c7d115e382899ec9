"""The web page served on the office LAN.

``create_app(services)`` is a Flask application factory: the appliance hands
in the objects the pages use (ledger queries, import, status, pause/resume),
so pages import ``scheduler`` for types and previews but never
``firmware_py``. Templates and static files are local (there is no internet).
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template


def create_app(services: dict | None = None, *, testing: bool = False) -> Flask:
    """Build the Flask app around ``services`` (a mapping of name -> object)."""
    app = Flask(__name__)
    app.config["TESTING"] = testing
    app.extensions["cobrador"] = dict(services or {})

    @app.get("/")
    def index():
        return render_template("index.html", services=app.extensions["cobrador"])

    @app.get("/healthz")
    def healthz():
        svc = app.extensions["cobrador"]
        return jsonify(status="ok", version=svc.get("version"))

    return app
