"""The web page served on the office LAN.

``create_app(services)`` is a Flask application factory: the appliance hands
in the objects the pages use, so pages import ``scheduler`` for types and
previews but never ``firmware_py``. Templates and static files are local
(there is no internet). Services used so far (all optional, so tests can
hand in only what a page needs):

- ``version``: str; ``cooperative``: the cooperative's name;
- ``modem_status()``: an object with ``state``, ``detail``, ``simulated``,
  ``port``, ``profile``, ``signal_dbm``, ``storage_full``;
- ``ledger_stats()``: a mapping with ``debtors``, ``loans``, ``contacts``...
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template


def create_app(services: dict | None = None, *, testing: bool = False) -> Flask:
    """Build the Flask app around ``services`` (a mapping of name -> object)."""
    app = Flask(__name__)
    app.config["TESTING"] = testing
    app.extensions["cobrador"] = dict(services or {})

    def gather() -> dict:
        svc = app.extensions["cobrador"]
        modem = svc["modem_status"]() if "modem_status" in svc else None
        stats = svc["ledger_stats"]() if "ledger_stats" in svc else {}
        return {"version": svc.get("version"), "cooperative": svc.get("cooperative", "Cobrador"),
                "modem": modem, "stats": stats}

    @app.get("/")
    def index():
        return render_template("index.html", **gather())

    @app.get("/healthz")
    def healthz():
        info = gather()
        modem = info["modem"]
        return jsonify(status="ok", version=info["version"],
                       modem=None if modem is None else {"state": modem.state, "simulated": modem.simulated,
                                                         "signal_dbm": modem.signal_dbm},
                       debtors=info["stats"].get("debtors"), loans=info["stats"].get("loans"),
                       contacts=info["stats"].get("contacts"))

    return app
