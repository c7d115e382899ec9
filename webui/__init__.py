"""The web page served on the office LAN.

``create_app(services)`` is a Flask application factory. The appliance hands
in a :class:`webui.services.Services` (its ledger, radio status, engine
hooks), so pages import ``scheduler`` for types, plans and previews but never
``firmware_py``; tests hand in the same services built on a temporary ledger.
One blueprint per area (:func:`areas`: each module with a ``bp``); Jinja templates and local static files only
(there is no internet: no CDN, no web font, no external or inline script).

Cross-cutting pieces, each in its module: :mod:`.access` (login required
everywhere, roles, session expiry, login throttling), :mod:`.security` (CSRF,
security headers, upload limit, error pages), :mod:`.i18n` (Spanish first,
English catalogues), :mod:`.users` (users and password hashes in the ledger's
settings).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from datetime import timedelta

from flask import Blueprint, Flask, jsonify

from webui.access import MAX_HOURS, Throttle, load_user
from webui.i18n import init_i18n
from webui.security import init_security
from webui.services import Services
from webui.simulation import simulation_notice
from webui.users import UserStore

log = logging.getLogger("cobrador.webui")



def areas() -> list:
    """The area modules: every module of this package with a blueprint ``bp``, in menu order (``ORDER``,
    default 100). An area also lists its menu entries in ``NAV``: ``(endpoint, Spanish label, minimum role)``.
    A new area is a new module: nothing else to edit."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "bp", None), Blueprint) and module.bp.name != "i18n":
            found.append(module)
    return sorted(found, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def _sim_summary(services: Services) -> dict | None:
    """The SIM's health for ``/healthz`` (no login): the balance and when it was asked, the low-balance alarm,
    whether it still sends and why not, the Spanish alert — not the operator's own text. None without a record."""
    try:
        record = services.sim_health() if services.sim_health is not None else None
    except Exception:  # a failing ledger must not take the health check with it
        log.exception("the SIM's health could not be read")
        return None
    if not isinstance(record, dict) or not record:
        return None
    balance = record.get("balance") if isinstance(record.get("balance"), dict) else {}
    sending = record.get("sending") if isinstance(record.get("sending"), dict) else {}
    return {"balance": balance.get("amount"), "currency": balance.get("currency"), "balance_at": balance.get("at"),
            "low_balance": bool(record.get("low_balance")), "sending": sending.get("state"),
            "cause": sending.get("cause"), "alert": record.get("alert"), "checked_at": record.get("checked_at")}


def create_app(services: Services | dict | None = None, *, testing: bool = False) -> Flask:
    """Build the Flask app around ``services`` (a :class:`Services`; a dict is accepted and converted)."""
    if services is None:
        raise ValueError("create_app needs the appliance's services (at least a ledger)")
    if isinstance(services, dict):
        services = Services(**services)
    app = Flask(__name__)
    app.config.update(TESTING=testing, SECRET_KEY=services.secret_key,
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=MAX_HOURS))
    app.extensions["cobrador"] = services
    app.extensions["cobrador.users"] = UserStore(services.ledger.settings)
    app.extensions["cobrador.throttle"] = Throttle()
    init_security(app)
    init_i18n(app)
    app.before_request(load_user)
    nav = []
    for module in areas():
        app.register_blueprint(module.bp)
        nav.extend(getattr(module, "NAV", ()))
    app.extensions["cobrador.nav"] = tuple(nav)

    @app.context_processor
    def common():
        from webui.access import current_user
        from webui.i18n import select_locale
        return {"user": current_user(), "cooperative": services.cooperative_name(), "version": services.version,
                "nav": app.extensions["cobrador.nav"], "simulation": simulation_notice(services, select_locale())}

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for ``/favicon.ico`` whatever the page links: the same icon (an SVG, which they accept)."""
        return app.send_static_file("favicon.svg")

    @app.get("/healthz")
    def healthz():
        modem = services.modem_status() if services.modem_status else None
        stats = services.ledger.stats()
        return jsonify(status="ok", version=services.version,
                       modem=None if modem is None else {"state": modem.state, "simulated": modem.simulated,
                                                         "signal_dbm": modem.signal_dbm},
                       sim=_sim_summary(services),
                       debtors=stats.get("debtors"), loans=stats.get("loans"), contacts=stats.get("contacts"))

    return app
