"""The SIM's health: its prepaid balance asked by USSD, and whether it still sends.

``SimHealth(ledger, modem=, config=, country=, clock=)`` keeps one record, the ledger setting
:data:`SETTINGS_KEY` (so ``cobrador status``, the web page and the panel read the same thing, and it
survives a restart)::

    {"balance": {"amount": "1250.50" | None, "currency": "COP" | "$" | None, "raw": "<the operator's text>",
                 "understood": bool, "at": ISO, "error": "<Spanish>" | None},
     "low_balance": bool, "threshold": "1000" | None,
     "sending": {"state": "ok" | "stopped", "cause": "sin saldo" | "bloqueada" | "sin red" | None,
                 "errors_in_a_row": int, "last_error": "<detail>" | None, "unreported": int},
     "alert": "<Spanish sentence>" | None, "checked_at": ISO}

Balance (``check_balance()``): the USSD code of ``[sim] balance_code`` (``[modem] balance_code`` as a
fallback; none: never asked), parsed by :func:`scheduler.balance.parse_balance`. :meth:`tick` asks it when
``balance_every_hours`` passed since the last answer, or ``balance_after_sends`` SMS went out since then.
Below ``[sim] low_balance`` (0: no alarm) ``low_balance`` is True (the panel's *saldo bajo* alert).

Stopped sending (:func:`sending_state`, pure, from the contact log): the SIM "stopped sending" when

- its last ``stop_errors`` outbound SMS attempts all ended ``failed``/``retry``/``uncertain`` (the
  ``+CMS ERROR`` in their detail names the cause: 8/10/21/29/50/69 barred or not subscribed ->
  *bloqueada*; 331/38/42 no service, network out of order, congestion -> *sin red*; 500 and others ->
  *sin saldo* when the last balance is low or zero, else *bloqueada*), or
- ``unreported_limit`` SMS accepted by the network (``sent``) more than ``report_grace`` ago got no status
  report at all, while earlier ones of the window did: the operator takes them and drops them (*sin saldo*
  when the balance is low or zero, else *bloqueada*).

A modem not registered on the network gives *sin red* whatever the errors. The record's ``alert`` is then
"La SIM dejó de enviar (causa probable: ...)" plus what to do; the panel shows it as ``repeated_errors``.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Callable

from scheduler.balance import is_low, parse_balance

log = logging.getLogger("cobrador.sim_health")

SETTINGS_KEY = "sim_health"
WINDOW = timedelta(days=3)
"""How far back the contact log is read to judge the sending."""

BLOCKED_CODES = frozenset({8, 10, 21, 29, 50, 69})
NO_NETWORK_CODES = frozenset({38, 42, 47, 331, 332})
_CMS = re.compile(r"CMS ERROR:?\s*(\d+)", re.IGNORECASE)
FAILURES = ("failed", "retry", "uncertain")
REPORTS = ("delivered", "failed", "expired")

CAUSE_ADVICE = {
    "sin saldo": "recargue la SIM",
    "bloqueada": "llame al operador: la línea puede estar suspendida o bloqueada para SMS",
    "sin red": "revise la antena y la cobertura, o mueva el equipo",
}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def _parse(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True)
class HealthLimits:
    """The thresholds (``[sim]`` in the configuration)."""

    balance_code: str = ""
    low_balance: float = 0.0
    balance_every_hours: float = 6.0
    balance_after_sends: int = 100
    stop_errors: int = 5
    unreported_limit: int = 10
    report_grace: timedelta = timedelta(hours=2)

    @classmethod
    def from_config(cls, config) -> "HealthLimits":
        sim = getattr(config, "sim", None)
        modem = getattr(config, "modem", None)
        code = (getattr(sim, "balance_code", "") or getattr(modem, "balance_code", "") or "")
        if sim is None:
            return cls(balance_code=code)
        return cls(balance_code=code, low_balance=float(sim.low_balance),
                   balance_every_hours=float(sim.balance_every_hours), balance_after_sends=int(sim.balance_after_sends),
                   stop_errors=int(sim.stop_errors))


def _cms_code(detail: str) -> int | None:
    match = _CMS.search(detail or "")
    return int(match.group(1)) if match else None


def sending_state(events, *, now: datetime, limits: HealthLimits, balance_low_or_zero: bool = False,
                  registered: bool | None = True) -> dict:
    """Whether the SIM still sends, from its outbound SMS events of the last :data:`WINDOW` (see the module
    docstring). ``events``: contact events (any order, any kinds)."""
    sms = sorted((e for e in events if e.direction == "outbound" and e.channel == "sms"), key=lambda e: e.at)
    attempts = [e for e in sms if e.kind in ("sent", *FAILURES) and not (e.kind == "failed" and not _is_attempt(e))]
    in_a_row, last_error = 0, None
    for event in reversed(attempts):
        if event.kind == "sent":
            break
        in_a_row += 1
        last_error = last_error or event.detail
    reported = {e.contact_id for e in sms
                if e.kind in ("delivered", "expired") or (e.kind == "failed" and not _is_attempt(e))}
    sent = [e for e in sms if e.kind == "sent"]
    old = [e for e in sent if e.at <= now - limits.report_grace]
    trailing = 0
    for event in reversed(old):
        if event.contact_id in reported:
            break
        trailing += 1
    ever_reported = any(e.contact_id in reported for e in old)
    state, cause = "ok", None
    if in_a_row >= limits.stop_errors:
        state = "stopped"
        code = _cms_code(last_error or "")
        if code in BLOCKED_CODES:
            cause = "bloqueada"
        elif code in NO_NETWORK_CODES:
            cause = "sin red"
        else:
            cause = "sin saldo" if balance_low_or_zero else "bloqueada"
    elif trailing >= limits.unreported_limit and ever_reported:
        state, cause = "stopped", ("sin saldo" if balance_low_or_zero else "bloqueada")
    if state == "stopped" and registered is False:
        cause = "sin red"
    return {"state": state, "cause": cause, "errors_in_a_row": in_a_row, "last_error": last_error,
            "unreported": trailing}


def _is_attempt(event) -> bool:
    """A ``failed`` event of a send attempt (a status report's ``failed`` says the phone never got it: the SIM
    did send)."""
    detail = event.detail or ""
    return "rechazado" in detail or "intentos" in detail or "CMS" in detail.upper()


def alert_text(record: dict) -> str | None:
    """The Spanish alert of a health record, or None when all is well."""
    sending = record.get("sending") or {}
    if sending.get("state") == "stopped":
        cause = sending.get("cause") or "desconocida"
        advice = CAUSE_ADVICE.get(cause, "revise la SIM y el módem")
        return f"La SIM dejó de enviar (causa probable: {cause}); {advice}."
    if record.get("low_balance"):
        balance = record.get("balance") or {}
        shown = f"{balance.get('currency') or ''} {balance.get('amount')}".strip()
        return f"Saldo bajo en la SIM ({shown}); recárguela pronto."
    return None


class SimHealth:
    """Asks the balance and judges the sending; see the module docstring. ``modem()`` returns the open driver
    (``ussd(code, timeout=)``) or None; ``registered()`` whether the modem is on the network (None: unknown);
    ``clock()`` the engine's time (the contact log's)."""

    def __init__(self, ledger, *, modem: Callable[[], object | None], limits: HealthLimits,
                 country: str | None = None, registered: Callable[[], bool | None] = lambda: None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc), interval: float = 30.0):
        self.ledger = ledger
        self.modem = modem
        self.limits = limits
        self.country = country
        self.registered = registered
        self.clock = clock
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._alerted: str | None = None

    # -- the record -------------------------------------------------------------------------------------------
    def record(self) -> dict:
        value = self.ledger.settings.get(SETTINGS_KEY)
        return dict(value) if isinstance(value, dict) else {}

    def _save(self, record: dict) -> dict:
        record["alert"] = alert_text(record)
        self.ledger.settings.set(SETTINGS_KEY, record)
        if record["alert"] != self._alerted:
            if record["alert"]:
                log.warning("SIM: %s", record["alert"])
            self._alerted = record["alert"]
        return record

    def _low(self, balance: dict | None) -> bool:
        if not balance or balance.get("amount") is None:
            return False
        parsed = parse_balance(balance.get("raw") or "", self.country)
        return is_low(parsed, self.limits.low_balance or None)

    # -- balance ----------------------------------------------------------------------------------------------
    def check_balance(self, timeout: float = 30.0) -> dict:
        """Ask the balance now and store it (an error is stored too, with the previous amount kept)."""
        from modem.errors import ModemError

        code = self.limits.balance_code
        if not code:
            raise RuntimeError("No hay un código de consulta de saldo configurado ([sim] balance_code).")
        with self._lock:
            record = self.record()
            now = self.clock()
            modem = self.modem()
            previous = record.get("balance") or {}
            try:
                if modem is None or getattr(modem, "closed", False):
                    raise RuntimeError("no hay módem conectado")
                answer = modem.ussd(code, timeout=timeout)
            except (ModemError, RuntimeError) as exc:
                balance = {**previous, "at": previous.get("at"), "error": f"el operador no respondió: {exc}",
                           "error_at": _iso(now)}
            else:
                parsed = parse_balance(answer, self.country)
                balance = {**parsed.as_dict(), "at": _iso(now),
                           "error": None if parsed.understood else "respuesta del operador no entendida"}
            record["balance"] = balance
            record["threshold"] = str(Decimal(str(self.limits.low_balance))) if self.limits.low_balance else None
            record["low_balance"] = self._low(balance)
            record["sends_at_check"] = self._sent_count(now)
            record["checked_at"] = _iso(now)
            return self._save(record)

    def _sent_count(self, now: datetime) -> int:
        events = self.ledger.contacts(since=now - WINDOW, kinds=("sent",))
        return sum(1 for e in events if e.direction == "outbound" and e.channel == "sms")

    def balance_due(self, record: dict, now: datetime) -> bool:
        if not self.limits.balance_code:
            return False
        balance = record.get("balance") or {}
        last = _parse(balance.get("at")) or _parse(balance.get("error_at"))
        if last is None:
            return True
        if now - last >= timedelta(hours=self.limits.balance_every_hours):
            return True
        since = self.ledger.contacts(since=last, kinds=("sent",))
        sent = sum(1 for e in since if e.direction == "outbound" and e.channel == "sms" and e.at > last)
        return self.limits.balance_after_sends > 0 and sent >= self.limits.balance_after_sends

    # -- sending ----------------------------------------------------------------------------------------------
    def check_sending(self) -> dict:
        """Judge the sending from the contact log now and store it."""
        with self._lock:
            record = self.record()
            now = self.clock()
            events = self.ledger.contacts(since=now - WINDOW, kinds=("sent", *FAILURES, *REPORTS))
            balance = record.get("balance") or {}
            amount = balance.get("amount")
            empty = record.get("low_balance") or (amount is not None and Decimal(amount) <= 0)
            registered = self.registered()
            record["sending"] = sending_state(events, now=now, limits=self.limits, balance_low_or_zero=bool(empty),
                                              registered=registered)
            record["checked_at"] = _iso(now)
            return self._save(record)

    def tick(self) -> dict:
        """One round: the balance when due, then the sending."""
        if self.balance_due(self.record(), self.clock()):
            try:
                self.check_balance()
            except Exception:
                log.exception("SIM balance check failed")
        return self.check_sending()

    # -- thread -----------------------------------------------------------------------------------------------
    def start(self) -> "SimHealth":
        self._thread = threading.Thread(target=self._run, name="cobrador-sim-health", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:   # a closed ledger at shutdown, a full disk: the next round tries again
                log.debug("SIM health round failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=40)


def for_appliance(appliance, *, interval: float = 30.0) -> SimHealth:
    """The :class:`SimHealth` of a running appliance (its ledger, link, configuration and engine clock)."""
    from firmware_py.modem_link import CONNECTED

    def modem():
        link = appliance.link
        return link.modem if link is not None else None

    def registered():
        link = appliance.link
        if link is None:
            return None
        status = link.status()
        if status.state != CONNECTED:
            return None
        return bool(status.operator)

    config = appliance.config
    return SimHealth(appliance.ledger, modem=modem, limits=HealthLimits.from_config(config),
                     country=config.cooperative.country, registered=registered,
                     clock=appliance.clock if callable(getattr(appliance, "clock", None)) else
                     (lambda: datetime.now(timezone.utc)), interval=interval)
