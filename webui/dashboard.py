"""The dashboard: the box's state at a glance (radio, clock, sending, today's numbers)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from webui.access import role_required

ORDER = 10
bp = Blueprint("dashboard", __name__)
NAV = [("dashboard.index", "Inicio", "lectura")]


@bp.get("/")
@role_required("lectura")
def index():
    services = current_app.extensions["cobrador"]
    modem = services.modem_status() if services.modem_status else None
    return render_template("dashboard/index.html", modem=modem, stats=services.ledger.stats())
