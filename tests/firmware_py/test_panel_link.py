"""The panel wired to the appliance: choosing Panel or NullPanel, the status thread, the state built from the
appliance, flashes from the dispatcher's events, the reset window and the button's actions.

A fake appliance stands in for ``firmware_py.app.Appliance`` (only the attributes the panel reads); real
pins are gpiozero's ``MockFactory``, passed explicitly.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from gpiozero.pins.mock import MockFactory, MockPin

from firmware_py.modem_link import CONNECTED, DISCONNECTED, ModemStatus
from firmware_py.panel_link import (ERRORS_IN_A_ROW, ApplianceStatus, LinkedPanel, PanelCallbacks,
                                    appliance_callbacks, read_under_voltage, signal_bars, start_panel)
from hardware.panel import NullPanel, Panel, PanelPins, PanelState
from scheduler.clock import ClockTrust
from scheduler.model import ContactEvent

PINS = PanelPins()
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


def panel_config(enabled=True, **pins):
    values = dict(enabled=enabled, listo=17, senal=27, actividad=22, alerta=23, boton=24, active_high=True)
    values.update(pins)
    return SimpleNamespace(panel=SimpleNamespace(**values))


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


def wait_for(condition, timeout=2.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def event(kind, *, channel="sms", contact_id="c1", at=NOW, direction="outbound"):
    return ContactEvent(at, "d1", kind, channel=channel, direction=direction, phone="+573001234567",
                        contact_id=contact_id)


# -- choosing the panel ------------------------------------------------------------------------------------------
def test_disabled_gives_the_null_panel_kept_up_to_date():
    states = iter([PanelState(), PanelState(running=True)] + [PanelState(running=True, modem_present=True)] * 1000)
    with start_panel(panel_config(enabled=False), lambda: next(states), None, interval=0.01) as linked:
        assert isinstance(linked.panel, NullPanel) and not linked.hardware
        assert wait_for(lambda: linked.panel.state.modem_present)
    assert linked.panel.closed


def test_no_panel_section_gives_the_null_panel():
    with start_panel(SimpleNamespace(), PanelState, PanelCallbacks()) as linked:
        assert isinstance(linked.panel, NullPanel)


def test_enabled_drives_the_pins_and_flashes_on_sent_sms(factory):
    state = PanelState(running=True, modem_present=True, registered=True, signal_bars=4)
    with start_panel(panel_config(), lambda: state, {}, pin_factory=factory) as linked:
        assert isinstance(linked.panel, Panel) and linked.hardware
        assert linked.panel.state == state
        assert wait_for(lambda: factory.pin(PINS.listo).state)
        actividad = factory.pin(PINS.actividad)
        for kind, channel in (("sending", "sms"), ("sent", "visit"), ("failed", "sms")):
            linked.on_event(event(kind, channel=channel))
        time.sleep(0.05)
        assert [s.state for s in actividad.states] == [False]   # never lit
        linked.on_event(event("sent"))
        assert wait_for(lambda: actividad.state, 0.5)
        assert wait_for(lambda: not actividad.state, 0.5)
    with Panel(PINS, pin_factory=factory):   # every pin was released
        pass


def test_a_panel_that_cannot_open_falls_back_to_none(factory, caplog):
    with Panel(PINS, pin_factory=factory):   # the pins are taken
        with caplog.at_level(logging.ERROR, logger="cobrador.panel"):
            with start_panel(panel_config(), PanelState, None, pin_factory=factory) as linked:
                assert isinstance(linked.panel, NullPanel)
    assert "running without the panel" in caplog.text
    with start_panel(panel_config(listo=17, senal=17), PanelState, None, pin_factory=factory) as linked:
        assert isinstance(linked.panel, NullPanel)   # two LEDs on one pin


def test_a_failing_status_source_is_logged_once_and_the_last_state_stays(caplog):
    calls = []

    def source():
        calls.append(1)
        if len(calls) == 1:
            return PanelState(running=True)
        raise RuntimeError("ledger closed")

    with caplog.at_level(logging.ERROR, logger="cobrador.panel"):
        with start_panel(panel_config(enabled=False), source, None, interval=0.01) as linked:
            assert wait_for(lambda: len(calls) > 5)
            assert linked.panel.state == PanelState(running=True)
    assert caplog.text.count("could not be read") == 1


# -- the button through the link -----------------------------------------------------------------------------
class FingerPin(MockPin):
    held = True

    def drive_high(self):
        if not self.held:
            super().drive_high()


def test_button_held_at_start_opens_the_reset_window(factory):
    factory.pin(PINS.boton, pin_class=FingerPin).drive_low()
    seen = threading.Event()
    callbacks = PanelCallbacks(on_password_reset_allowed=seen.set)
    with start_panel(panel_config(), PanelState, callbacks, pin_factory=factory, hold_scale=0.02) as linked:
        assert not linked.password_reset_allowed()
        assert seen.wait(2)
        assert linked.password_reset_allowed()


def test_the_reset_window_closes():
    clock = SimpleNamespace(t=0.0)
    linked = LinkedPanel(NullPanel(), PanelState, reset_minutes=15, clock=lambda: clock.t)
    assert not linked.password_reset_allowed()
    linked.allow_password_reset()
    clock.t = 14 * 60
    assert linked.password_reset_allowed()
    clock.t = 15 * 60 + 1
    assert not linked.password_reset_allowed()
    linked.close()
    linked.close()


def test_short_press_pauses_through_the_link(factory):
    toggled = threading.Event()
    with start_panel(panel_config(), PanelState, PanelCallbacks(on_pause_toggle=toggled.set),
                     pin_factory=factory, hold_scale=0.02):
        pin = factory.pin(PINS.boton)
        pin.drive_low()
        pin.drive_high()
        assert toggled.wait(2)


# -- the state built from the appliance ------------------------------------------------------------------------
class FakeLedger:
    def __init__(self, events=()):
        self.events = list(events)
        self.values = {}
        self.settings = SimpleNamespace(get=lambda k, d=None: self.values.get(k, d),
                                        set=lambda k, v: self.values.__setitem__(k, v))

    def contacts(self, *, since=None, kinds=None, limit=None):
        found = tuple(e for e in self.events if (since is None or e.at >= since) and (kinds is None or e.kind in kinds))
        return found if limit is None else found[-limit:]


def fake_appliance(*, running=True, state=CONNECTED, dbm=-80, operator="Claro", storage_full=False,
                   trusted=True, events=()):
    status = ModemStatus(state, "", False, "/dev/ttyUSB2", "sim800", signal_dbm=dbm, operator=operator,
                         storage_full=storage_full)
    policy = SimpleNamespace(clock=ClockTrust(trusted, "network" if trusted else "no_source"))
    return SimpleNamespace(dispatcher=SimpleNamespace(running=running, wake=lambda: None),
                           link=SimpleNamespace(status=lambda: status), policy=lambda: policy,
                           ledger=FakeLedger(events))


def status_of(app, **kwargs):
    kwargs.setdefault("under_voltage", lambda: False)
    return ApplianceStatus(app, now=lambda: NOW, **kwargs)


def test_a_healthy_running_box():
    assert status_of(fake_appliance())() == PanelState(running=True, modem_present=True, registered=True,
                                                       signal_bars=3)


def test_while_starting_nothing_is_there_yet():
    app = SimpleNamespace(dispatcher=None, link=None, policy=None, ledger=None)
    assert status_of(app)() == PanelState()


def test_modem_states():
    assert status_of(fake_appliance(state=DISCONNECTED))() == PanelState(running=True)
    unregistered = status_of(fake_appliance(operator=None))()
    assert unregistered.modem_present and not unregistered.registered
    assert status_of(fake_appliance(running=False))().running is False


@pytest.mark.parametrize("dbm, bars", [(None, 0), (-51, 4), (-73, 4), (-74, 3), (-83, 3), (-90, 2), (-100, 1),
                                       (-109, 1), (-111, 0), (-113, 0)])
def test_signal_bars(dbm, bars):
    assert signal_bars(dbm) == bars


def test_alerts_from_the_appliance():
    events = [event("sending", contact_id="a"), event("uncertain", contact_id="a"),
              event("uncertain", contact_id="b"), event("delivered", contact_id="b", at=NOW + timedelta(minutes=1))]
    app = fake_appliance(storage_full=True, trusted=False, events=events)
    state = status_of(app, under_voltage=lambda: True, low_balance=lambda: True)()
    assert state.alerts == {"sim_full", "clock_untrusted", "uncertain", "under_voltage", "low_balance"}


def test_an_uncertain_contact_settled_or_old_is_not_an_alert():
    settled = [event("uncertain", contact_id="b"), event("delivered", contact_id="b", at=NOW + timedelta(minutes=1))]
    assert status_of(fake_appliance(events=settled))().alerts == frozenset()
    old = [event("uncertain", at=NOW - timedelta(days=40))]
    assert status_of(fake_appliance(events=old))().alerts == frozenset()


def test_slow_facts_are_read_at_most_every_slow_every_seconds():
    clock = SimpleNamespace(t=0.0)
    app = fake_appliance(trusted=False)
    status = status_of(app, slow_every=30, clock=lambda: clock.t)
    assert "clock_untrusted" in status().alerts
    app.policy = lambda: SimpleNamespace(clock=ClockTrust(True, "network"))
    clock.t = 29
    assert "clock_untrusted" in status().alerts
    clock.t = 31
    assert "clock_untrusted" not in status().alerts


def test_a_status_that_cannot_be_read_is_not_shown():
    def broken():
        raise OSError("no sensor")

    app = fake_appliance()
    app.policy = lambda: 1 / 0
    assert status_of(app, under_voltage=broken)().alerts == frozenset()


def test_repeated_errors_count_failures_in_a_row():
    status = status_of(fake_appliance())
    for _ in range(ERRORS_IN_A_ROW - 1):
        status.note_event(event("failed"))
    status.note_event(event("sent", channel="visit"))   # a visit says nothing about the radio
    assert "repeated_errors" not in status().alerts
    status.note_event(event("retry"))
    assert "repeated_errors" in status().alerts
    status.note_event(event("sent"))
    assert "repeated_errors" not in status().alerts


def test_the_link_hands_events_to_the_status():
    status = status_of(fake_appliance())
    with start_panel(panel_config(enabled=False), status, None) as linked:
        for _ in range(ERRORS_IN_A_ROW):
            linked.on_event(event("uncertain"))
        linked.on_event(event("sent"))
        assert linked.panel.flashes == 1
        for _ in range(ERRORS_IN_A_ROW):
            linked.on_event(event("failed"))
        linked.update()
        assert "repeated_errors" in linked.panel.state.alerts


def test_under_voltage_from_the_pi_sensor(tmp_path):
    assert read_under_voltage(tmp_path) is False
    other = tmp_path / "hwmon0"
    other.mkdir()
    (other / "name").write_text("cpu_thermal\n")
    volt = tmp_path / "hwmon1"
    volt.mkdir()
    (volt / "name").write_text("rpi_volt\n")
    (volt / "in0_lcrit_alarm").write_text("0\n")
    assert read_under_voltage(tmp_path) is False
    (volt / "in0_lcrit_alarm").write_text("1\n")
    assert read_under_voltage(tmp_path) is True


# -- the button's actions for an appliance ------------------------------------------------------------------------
def test_pause_toggle_flips_the_setting_and_wakes_on_resume():
    app = fake_appliance()
    woken = []
    app.dispatcher.wake = lambda: woken.append(1)
    callbacks = appliance_callbacks(app)
    callbacks.on_pause_toggle()
    assert app.ledger.values["sending_paused"] is True and woken == []
    callbacks.on_pause_toggle()
    assert app.ledger.values["sending_paused"] is False and woken == [1]
    callbacks.on_usb_import()   # logged only


def test_usb_import_reads_the_stick_now():
    scans = []
    callbacks = appliance_callbacks(fake_appliance(), usb_import=lambda: scans.append(1) or ["/run/x"])
    assert callbacks.on_usb_import() is None
    assert scans == [1]


def test_the_pause_shows_on_listo():
    app = fake_appliance()
    status = status_of(app)
    appliance_callbacks(app).on_pause_toggle()
    assert status().paused and status().running
    appliance_callbacks(app).on_pause_toggle()
    assert not status().paused


def test_shutdown_uses_the_appliance_poweroff_when_there_is_one():
    app = fake_appliance()
    assert appliance_callbacks(app).on_shutdown is None
    off = []
    app.poweroff = lambda: off.append(1)
    appliance_callbacks(app).on_shutdown()
    assert off == [1]


# -- the [panel] section of the configuration ---------------------------------------------------------------------
def write_config(tmp_path, text):
    path = tmp_path / "cobrador.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_panel_is_off_by_default_with_the_documented_pins():
    from firmware_py.config import Config
    from firmware_py.panel_link import pins_from

    cfg = Config()
    assert cfg.panel.enabled is False
    assert pins_from(cfg) == PanelPins(listo=17, senal=27, actividad=22, alerta=23, boton=24, active_high=True)


def test_panel_section_is_read(tmp_path, factory):
    from firmware_py.config import load_config
    from firmware_py.panel_link import pins_from

    cfg = load_config(write_config(tmp_path, "[panel]\nenabled = true\nlisto = 5\nboton = 26\nactive_high = false\n"))
    assert cfg.panel.enabled is True
    assert pins_from(cfg) == PanelPins(listo=5, boton=26, active_high=False)
    with start_panel(cfg, PanelState, None, pin_factory=factory) as linked:
        assert linked.hardware
        assert wait_for(lambda: not factory.pin(5).state)   # listo blinks while starting: on is low
        assert factory.pin(23).state   # alerta off: high


@pytest.mark.parametrize("text, key", [
    ("[panel]\nenabled = 'yes'\n", "panel.enabled"),
    ("[panel]\nenabled = 1\n", "panel.enabled"),
    ("[panel]\nactive_high = 'true'\n", "panel.active_high"),
    ("[panel]\nlisto = true\n", "panel.listo"),
    ("[panel]\nlisto = '17'\n", "panel.listo"),
    ("[panel]\nalerta = 40\n", "panel.alerta"),
    ("[panel]\nboton = -1\n", "panel.boton"),
    ("[panel]\nboton = 17\n", "panel.boton"),
    ("[panel]\nled = 3\n", "panel.led"),
], ids=["enabled-str", "enabled-int", "active-high-str", "pin-bool", "pin-str", "pin-range", "pin-negative",
        "pin-twice", "unknown-key"])
def test_panel_section_errors_name_the_key(tmp_path, text, key):
    from firmware_py.config import load_config
    from firmware_py.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, text))
    assert info.value.key == key
    assert key in str(info.value)
