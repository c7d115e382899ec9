"""The notice every page shows while the appliance runs on its simulated modem (a demonstration, a test bench).

A newcomer who starts the demo must not wonder whether a real phone got a message, nor why nothing went out:
the notice says that the modem is simulated and why (asked for, or no modem connected), whether the demo loans
were loaded or skipped because the ledger already held data, and — when the cooperative's contact rules forbid
contacting right now (night, Sunday, a holiday) — until when reminders wait.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.reasons import describe
from scheduler.rules.check import earliest_allowed

log = logging.getLogger("cobrador.webui")

WHY = ("requested", "no_modem")
"""Why the simulated modem is in use: ``--simulate`` was given, or no modem is connected."""
DEMO = ("loaded", "skipped", "off")
"""The demo loans: imported now, not imported because the ledger already held debtors, not asked for."""


def simulation_notice(services, language: str = "es") -> dict | None:
    """What the notice shows, or ``None`` when the modem is real. ``services.simulation`` is a dict with
    ``why`` (:data:`WHY`), ``demo`` (:data:`DEMO`) and ``loans`` (how many demo loans were imported);
    ``waits_until`` (aware, in the cooperative's zone) and ``blocked_by`` (the rule, in ``language``) are
    added when the cooperative's profile forbids an SMS now."""
    info = getattr(services, "simulation", None)
    if not info:
        return None
    notice = {"why": info.get("why") if info.get("why") in WHY else "requested",
              "demo": info.get("demo") if info.get("demo") in DEMO else "off",
              "loans": int(info.get("loans") or 0), "waits_until": None, "blocked_by": None}
    if services.policy is None:
        return notice
    try:
        policy = services.policy()
        at, block = next_window(policy, services.now())
    except Exception:  # the notice must never take a page with it
        log.exception("the contact window for the simulation notice could not be worked out")
        return notice
    if block is not None:
        notice["waits_until"] = at
        notice["blocked_by"] = describe(block.reason, language)
    return notice


def next_window(policy, now: datetime):
    """``(instant, block)``: when the cooperative's own profile next allows an SMS to a debtor in its zone
    (``now`` if it allows one now, ``None`` if not within 60 days) and the rule that forbids it now (``None``:
    allowed now). Debtors of another zone or jurisdiction have their own hours; this is the office's view."""
    profile = policy.profiles.default
    zone = ZoneInfo(policy.timezone)
    return earliest_allowed(profile, policy.calendar_for(profile), zone, "sms", now.astimezone(zone), [])
