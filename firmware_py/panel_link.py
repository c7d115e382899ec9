"""The box's panel (:mod:`hardware.panel`) wired to the appliance.

Contract
--------
``start_panel(config, status_source, callbacks, *, pin_factory=None, interval=1.0) -> LinkedPanel``

- chooses :class:`hardware.panel.Panel` on the pins of ``[panel]`` when ``config.panel.enabled``, else
  :class:`hardware.panel.NullPanel`. A panel that cannot open (no GPIO on this machine, a pin in use) is
  logged and replaced by ``NullPanel``: the appliance never stops for its LEDs;
- ``status_source()`` returns a :class:`hardware.panel.PanelState`; a thread calls it every ``interval``
  seconds and shows the result (an exception is logged and the last state stays). If the source also has
  ``note_event(event)``, :meth:`LinkedPanel.on_event` hands it every contact event (see
  :class:`ApplianceStatus`, which counts failures in a row from them);
- ``callbacks`` (:class:`PanelCallbacks` or a mapping with the same names) are given to the button.
  ``on_password_reset_allowed`` is wrapped: it first opens the password-reset window
  (:meth:`LinkedPanel.password_reset_allowed` is True for ``reset_minutes``, for the web page's
  ``Services.password_reset_allowed``);
- :meth:`LinkedPanel.on_event` is the dispatcher's ``on_event``: one *actividad* flash per SMS or call
  that went out (``sent``; a visit never touches the radio, so it does not flash);
- ``close()`` stops the thread, then closes the panel (LEDs off, pins released); safe twice.

:class:`ApplianceStatus` builds the state from a running :class:`firmware_py.app.Appliance`:

- *listo*: ``appliance.dispatcher.running`` (else still starting), and the ledger setting
  ``sending_paused`` (read every time: the button's short press shows within a second);
- *señal*: ``appliance.link.status()`` — modem present when ``connected``, registered when an operator
  is known, bars from ``signal_dbm`` (:func:`signal_bars`);
- *alerta*: ``sim_full`` (the SIM's storage), ``clock_untrusted`` (``appliance.policy().clock``),
  ``under_voltage`` (:func:`read_under_voltage`, the Pi's own report), ``repeated_errors`` (the last
  :data:`ERRORS_IN_A_ROW` sends ended ``failed``, ``uncertain`` or ``retry``), ``uncertain`` (a contact of
  the last :data:`UNCERTAIN_DAYS` days still ``uncertain``: staff must check it) and ``low_balance`` (from
  the ``low_balance`` callable given, else the SIM health record's ``low_balance``, :mod:`firmware_py.sim_health`);
  a SIM that stopped sending (the same record) shows as ``repeated_errors``. The clock and the contact log are read at most every
  ``slow_every`` seconds (the contact log is large; the clock asks the kernel).

:func:`appliance_callbacks` gives the button's actions for an appliance: a short press pauses or resumes
sending (the ledger setting ``sending_paused``, as the web page does); 3 s calls the ``usb_import`` given
(the USB stick watcher's ``scan_now``, :mod:`firmware_py.usb`; without one it is only logged); 10 s switches
the box off through ``appliance.poweroff()`` when the appliance has it and ``[panel] allow_poweroff`` (the
default) allows it (the polkit rule installed by ``systemd/install.sh`` lets the service's user do it).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Mapping

from firmware_py.modem_link import CONNECTED
from hardware.panel import NullPanel, Panel, PanelPins, PanelState

log = logging.getLogger("cobrador.panel")

RESET_MINUTES = 15.0
"""How long the web page accepts a password reset after the button was held at start."""

ERRORS_IN_A_ROW = 3
"""Sends in a row that did not go out before *alerta* shows ``repeated_errors``."""

UNCERTAIN_DAYS = 30
"""How far back an ``uncertain`` contact keeps *alerta* blinking."""

HWMON = Path("/sys/class/hwmon")


@dataclass(frozen=True)
class PanelCallbacks:
    """The button's actions (plain callables, each optional)."""

    on_pause_toggle: Callable[[], None] | None = None
    on_usb_import: Callable[[], None] | None = None
    on_shutdown: Callable[[], None] | None = None
    on_password_reset_allowed: Callable[[], None] | None = None


def pins_from(config) -> PanelPins:
    """The :class:`PanelPins` of ``config.panel``."""
    panel = config.panel
    return PanelPins(listo=panel.listo, senal=panel.senal, actividad=panel.actividad, alerta=panel.alerta,
                     boton=panel.boton, active_high=panel.active_high)


class LinkedPanel:
    """A panel (``Panel`` or ``NullPanel``) kept up to date by a thread. See the module docstring."""

    def __init__(self, panel, status_source: Callable[[], PanelState], *, interval: float = 1.0,
                 reset_minutes: float = RESET_MINUTES, clock: Callable[[], float] = time.monotonic):
        self.panel = panel
        self.source = status_source
        self.interval = interval
        self.reset_minutes = reset_minutes
        self.clock = clock
        self._reset_until = -float("inf")
        self._failed_once = False
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cobrador-panel-status", daemon=True)

    def __enter__(self) -> "LinkedPanel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def hardware(self) -> bool:
        """True when real LEDs are driven (not the ``NullPanel``)."""
        return isinstance(self.panel, Panel)

    def start(self) -> None:
        self.update()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.update()

    def update(self) -> None:
        """Build the state and show it now (the thread does this every ``interval`` seconds)."""
        try:
            state = self.source()
        except Exception:
            if not self._failed_once:   # every second would flood the log
                log.exception("panel: the appliance's status could not be read; the LEDs keep the last state")
                self._failed_once = True
            return
        self._failed_once = False
        self.panel.show(state)

    def on_event(self, event) -> None:
        """The dispatcher's ``on_event``: flash for an SMS or call that went out; tell the status source."""
        if event.kind == "sent" and event.direction == "outbound" and event.channel in ("sms", "call"):
            self.panel.flash()
        note = getattr(self.source, "note_event", None)
        if note is not None:
            note(event)

    def flash(self) -> None:
        self.panel.flash()

    def allow_password_reset(self) -> None:
        """A person held the button while the box started: open the reset window."""
        self._reset_until = self.clock() + self.reset_minutes * 60
        log.warning("password reset allowed from the web page for %.0f minutes (button held at start)",
                    self.reset_minutes)

    def password_reset_allowed(self) -> bool:
        """For ``webui.services.Services.password_reset_allowed``."""
        return self.clock() < self._reset_until

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.panel.close()


def start_panel(config, status_source: Callable[[], PanelState], callbacks: PanelCallbacks | Mapping | None = None,
                *, pin_factory=None, interval: float = 1.0, hold_scale: float = 1.0) -> LinkedPanel:
    """Open the panel the configuration asks for and start refreshing it (see the module docstring)."""
    if callbacks is None:
        callbacks = PanelCallbacks()
    elif not isinstance(callbacks, PanelCallbacks):
        callbacks = PanelCallbacks(**callbacks)
    actions = {f.name: getattr(callbacks, f.name) for f in fields(PanelCallbacks)}
    linked = LinkedPanel(NullPanel(), status_source, interval=interval)
    given_reset = actions["on_password_reset_allowed"]

    def on_password_reset_allowed():
        linked.allow_password_reset()
        if given_reset is not None:
            given_reset()

    actions["on_password_reset_allowed"] = on_password_reset_allowed
    settings = getattr(config, "panel", None)
    if settings is not None and settings.enabled:
        try:
            pins = pins_from(config)
            linked.panel = Panel(pins, pin_factory=pin_factory, hold_scale=hold_scale, **actions)
        except Exception as exc:   # no GPIO here, a pin in use, gpiozero missing: run without LEDs
            log.error("panel: cannot open the LEDs and the button (%s); running without the panel", exc)
        else:
            log.info("panel on BCM pins listo=%d señal=%d actividad=%d alerta=%d botón=%d",
                     pins.listo, pins.senal, pins.actividad, pins.alerta, pins.boton)
    linked.start()
    return linked


# -- the appliance's state ----------------------------------------------------------------------------------------
def signal_bars(dbm: int | None) -> int:
    """0–4 bars from the modem's signal in dBm (the usual phone thresholds; ``None``: 0)."""
    if dbm is None:
        return 0
    for bars, floor in ((4, -73), (3, -83), (2, -93), (1, -109)):
        if dbm >= floor:
            return bars
    return 0


def read_under_voltage(root: Path = HWMON) -> bool:
    """True while the Raspberry Pi reports under-voltage (the ``rpi_volt`` hwmon's ``in0_lcrit_alarm``);
    False where there is no such sensor (a laptop, an older kernel)."""
    try:
        for sensor in root.glob("hwmon*"):
            try:
                if (sensor / "name").read_text().strip() == "rpi_volt":
                    return (sensor / "in0_lcrit_alarm").read_text().strip() == "1"
            except OSError:
                continue
    except OSError:
        pass
    return False


class ApplianceStatus:
    """Builds :class:`PanelState` from a running appliance (see the module docstring); callable.

    ``appliance`` needs ``dispatcher`` (``running``), ``link`` (``status()``), ``policy()`` and ``ledger``
    (``contacts(since=, kinds=)``); any of them may still be ``None`` while the appliance starts.
    """

    def __init__(self, appliance, *, under_voltage: Callable[[], bool] = read_under_voltage,
                 low_balance: Callable[[], bool] | None = None, slow_every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.appliance = appliance
        self.under_voltage = under_voltage
        self.low_balance = low_balance
        self.slow_every = slow_every
        self.clock = clock
        self.now = now
        self._errors_in_a_row = 0
        self._slow_at = -float("inf")
        self._slow: frozenset[str] = frozenset()

    def note_event(self, event) -> None:
        """A contact event from the dispatcher: count sends that did not go out, in a row."""
        if event.direction != "outbound" or event.channel == "visit":
            return
        if event.kind == "sent":
            self._errors_in_a_row = 0
        elif event.kind in ("failed", "uncertain", "retry"):
            self._errors_in_a_row += 1

    def __call__(self) -> PanelState:
        app = self.appliance
        dispatcher = getattr(app, "dispatcher", None)
        running = dispatcher is not None and bool(dispatcher.running)
        link = getattr(app, "link", None)
        status = link.status() if link is not None else None
        present = status is not None and status.state == CONNECTED
        registered = present and bool(status.operator)
        alerts = set(self._slow_alerts())
        if status is not None and status.storage_full:
            alerts.add("sim_full")
        if self._errors_in_a_row >= ERRORS_IN_A_ROW:
            alerts.add("repeated_errors")
        if _safely(self.under_voltage, "under-voltage"):
            alerts.add("under_voltage")
        ledger = getattr(app, "ledger", None)
        health = _safely_read(lambda: ledger.settings.get("sim_health"), "SIM health") if ledger is not None else None
        health = health if isinstance(health, dict) else {}
        low = self.low_balance if self.low_balance is not None else (lambda: health.get("low_balance"))
        if _safely(low, "low balance"):
            alerts.add("low_balance")
        if (health.get("sending") or {}).get("state") == "stopped":
            alerts.add("repeated_errors")
        paused = ledger is not None and _safely(lambda: ledger.settings.get("sending_paused"), "pause")
        return PanelState(running=running, paused=paused, modem_present=present, registered=registered,
                          signal_bars=signal_bars(status.signal_dbm) if present else 0, alerts=frozenset(alerts))

    def _slow_alerts(self) -> frozenset[str]:
        """The clock's trust and uncertain contacts, read at most every ``slow_every`` seconds."""
        now = self.clock()
        if now - self._slow_at < self.slow_every:
            return self._slow
        self._slow_at = now
        found = set()
        if _safely(self._clock_untrusted, "clock trust"):
            found.add("clock_untrusted")
        if _safely(self._uncertain_waiting, "uncertain contacts"):
            found.add("uncertain")
        self._slow = frozenset(found)
        return self._slow

    def _clock_untrusted(self) -> bool:
        policy = getattr(self.appliance, "policy", None)
        return policy is not None and not policy().clock.trusted

    def _uncertain_waiting(self) -> bool:
        from scheduler.contact_state import outcomes

        ledger = getattr(self.appliance, "ledger", None)
        if ledger is None:
            return False
        since = self.now() - timedelta(days=UNCERTAIN_DAYS)
        if not ledger.contacts(since=since, kinds=("uncertain",), limit=1):
            return False  # the common case, read cheaply
        # a later status report may settle an uncertain contact: read the kinds that can come after it
        events = ledger.contacts(since=since, kinds=("uncertain", "delivered", "failed", "expired"))
        return any(o.last_kind == "uncertain" for o in outcomes(events).values())


def _safely_read(read: Callable[[], object], what: str):
    try:
        return read()
    except Exception as exc:   # a status the panel cannot read is not shown, never fatal
        log.debug("panel: cannot read %s: %s", what, exc)
        return None


def _safely(read: Callable[[], bool], what: str) -> bool:
    try:
        return bool(read())
    except Exception as exc:   # a status the panel cannot read is not shown, never fatal
        log.debug("panel: cannot read %s: %s", what, exc)
        return False


# -- the button's actions for an appliance ----------------------------------------------------------------------
def appliance_callbacks(appliance, *, usb_import: Callable[[], object] | None = None) -> PanelCallbacks:
    """Pause/resume, read the USB stick now, switch off (when the appliance can). See the module docstring."""

    def pause_toggle():
        ledger = appliance.ledger
        if ledger is None:
            return
        paused = not bool(ledger.settings.get("sending_paused"))
        ledger.settings.set("sending_paused", paused)
        log.warning("sending %s with the panel button", "paused" if paused else "resumed")
        dispatcher = appliance.dispatcher
        if not paused and dispatcher is not None:
            dispatcher.wake()

    def read_stick():
        if usb_import is None:
            log.warning("panel button: USB import asked, but no USB stick watcher is running")
        else:
            usb_import()

    poweroff = getattr(appliance, "poweroff", None)
    panel_settings = getattr(getattr(appliance, "config", None), "panel", None)
    if panel_settings is not None and not getattr(panel_settings, "allow_poweroff", True):
        poweroff = None   # [panel] allow_poweroff = false: the long press does nothing

    def shutdown():
        log.warning("panel button held 10 s: switching the box off")
        poweroff()

    return PanelCallbacks(on_pause_toggle=pause_toggle,
                          on_usb_import=read_stick,
                          on_shutdown=shutdown if poweroff is not None else None)
