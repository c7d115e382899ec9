"""What the pages work through: the services the appliance hands to :func:`webui.create_app`.

The web UI never imports ``firmware_py``: the appliance (or a test) builds a
:class:`Services` around its ledger, radio and engine and hands it in. Pages
use ``scheduler`` for types, plans, previews and rules, and ``modem.pdu`` for
message costs. Every field but ``ledger`` is optional, so a test hands in only
what the page under test needs; a page whose service is missing says so
instead of failing.

``ledger`` is the appliance's ledger object: reads (``debtors``, ``debtor``,
``loans``, ``payments``, ``promises``, ``contacts``, ``snapshot``, ``stats``,
``opted_out``), in-app records (``record_payment``, ``confirm_payment``,
``reject_payment``, ``record_promise``, ``record_opt_out``, ``clear_opt_out``,
``save_debtor``, ``import_batch``, ``append_contact``) and ``settings``
(``get``/``set``/``update``/``all``) — :class:`firmware_py.ledger.Ledger`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """The appliance's objects as the pages see them. See the module docstring.

    - ``policy()``: the live :class:`scheduler.policy.Policy` (configuration + clock trust);
    - ``modem_status()``: the radio's status (``state``, ``detail``, ``simulated``, ``signal_dbm``,
      ``operator``, ``storage_full``…);
    - ``wake()``: wake the dispatcher (after an import, a resume, "send now");
    - ``import_file(stream, *, mapping, dry_run, source_name, rejects, progress=None) -> ImportReport`` and
      ``preview_file(stream, mapping) -> Preview``: the same importer the CLI uses, with the cooperative's
      country and time zone (``progress(done, total)`` gets bytes read; ``rejects`` a path or binary
      stream). A file that cannot be imported, or a batch the ledger refuses, raises a ``ValueError``
      with a ``reason`` attribute and a Spanish ``str`` (nothing written);
    - ``confirm_clock()``: staff confirmed the time on the page;
    - ``password_reset_allowed()``: True only while a person at the box allowed it (button held at
      start, or ``cobrador set-password``);
    - ``now()``: the current instant (aware); ``secret_key``: signs the session cookie;
    - ``engine_base()``: the configuration file's engine sections (``[rules]``, ``[ladders.*]``, ``[[segments]]``,
      ``[templates.*]``, ``[messages]``, ``[replies]``) as plain dicts, before the page's edits (the ledger setting
      ``scheduler.policy.SETTINGS_KEY``) are laid over them: what the template and campaign pages validate against;
    - ``country`` (ISO 3166 alpha-2) and ``timezone`` (IANA name): the cooperative's, from the configuration
      (CSV separators and decimal mark, phone formats, times shown in the office's zone);
    - ``check_balance() -> str``: the operator's answer to the prepaid-balance USSD code (``[modem]
      balance_code``); None when no code is configured; raises with a Spanish ``str`` when it cannot ask;
    - ``backup() -> Path``: a new folder holding a consistent copy of the ledger (``ledger.backup``) inside a
      temporary directory of its own, which the caller deletes (the folder's parent) once it is sent;
    - ``restart()``: restart Cobrador (returns at once; the process stops a moment later and systemd starts it
      again); ``shutdown()``: switch the box off safely — None unless the configuration allows it; raises with
      a Spanish ``str`` when the system refuses;
    - ``recent_logs() -> list[str]``: the newest log lines of this process (oldest first, at most 200);
    - ``sim_health() -> dict | None``: the SIM's health record (balance parsed from the operator's USSD answer,
      ``low_balance``, whether the SIM stopped sending and why, a Spanish ``alert``; ``firmware_py.sim_health``),
      by default the ledger setting ``sim_health``;
    - ``simulation``: ``None`` with a real modem; on the simulated one, ``{"why": "requested" | "no_modem",
      "demo": "loaded" | "skipped" | "off", "loans": n}`` — every page then says so (:mod:`webui.simulation`);
    - ``extra``: anything else a page needs, by name (documented where it is used).

    :meth:`cooperative_name` is the cooperative's name on every page and export (the Settings value wins over
    ``cooperative``, the configuration's); pages never show ``cooperative`` directly.
    """

    ledger: Any
    cooperative: str = "Cobrador"
    version: str = ""
    policy: Callable[[], Any] | None = None
    modem_status: Callable[[], Any] | None = None
    wake: Callable[[], None] | None = None
    import_file: Callable[..., Any] | None = None
    preview_file: Callable[..., Any] | None = None
    confirm_clock: Callable[[], None] | None = None
    password_reset_allowed: Callable[[], bool] = lambda: False
    check_balance: Callable[[], str] | None = None
    backup: Callable[[], Any] | None = None
    restart: Callable[[], None] | None = None
    shutdown: Callable[[], None] | None = None
    recent_logs: Callable[[], list] | None = None
    now: Callable[[], datetime] = _utcnow
    engine_base: Callable[[], dict] | None = None
    secret_key: bytes = field(default_factory=lambda: os.urandom(32))
    country: str = "CO"
    timezone: str = "America/Bogota"
    simulation: dict | None = None
    extra: dict = field(default_factory=dict)
    sim_health: Callable[[], dict | None] | None = None

    def __post_init__(self) -> None:
        if self.sim_health is None and hasattr(getattr(self.ledger, "settings", None), "get"):
            self.sim_health = lambda: self.ledger.settings.get("sim_health")

    def cooperative_name(self) -> str:
        """The cooperative's name as staff see it now: the one edited in Settings (the ledger setting
        ``cooperative_name``, as ``Policy.with_settings`` reads it: the placeholder "Cooperativa" does not
        count) when there is one, else the configuration's :attr:`cooperative` — also when the ledger cannot be
        read (logged), so a failing ledger never takes a page or an export with it. Every page (the template
        variable ``cooperative``) and every export reads the name here."""
        try:
            name = self.ledger.settings.get("cooperative_name")
        except Exception:
            logging.getLogger("cobrador.webui").exception("the cooperative's name could not be read")
            return self.cooperative
        return str(name) if name and name != "Cooperativa" else self.cooperative
