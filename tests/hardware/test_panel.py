"""The panel with gpiozero's MockFactory: LED patterns (fake clock), the button (real time, hold_scale), pins.

Each test makes its own ``MockFactory`` and passes it as ``pin_factory=``: nothing global is set or left.
LED rhythms are read with a fake clock and ``Panel.refresh()`` at chosen instants; one test checks the
panel thread on its own with the real clock. Button tests use ``hold_scale`` so "3 s" and "10 s" last
0.15 s and 0.5 s.
"""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero.exc import GPIOPinInUse
from gpiozero.pins.mock import MockFactory, MockPin

from hardware.panel import (ALERT_BLINKS, ALERT_PATTERNS, FLASH_SECONDS, LISTO_PATTERNS, SENAL_PATTERNS, NullPanel,
                            Panel, PanelPins, PanelState, Pattern, patterns_for)

PINS = PanelPins()
SCALE = 0.05   # button: 3 s -> 0.15 s, 10 s -> 0.5 s


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def panel(factory, clock):
    with Panel(PINS, pin_factory=factory, clock=clock) as p:
        yield p


def level(factory, clock, panel, led: str, at: float) -> bool:
    clock.t = at
    panel.refresh()
    return bool(factory.pin(getattr(PINS, led)).state)


def samples(factory, clock, panel, led: str, start: float, seconds: float, step: float = 0.05) -> list[bool]:
    n = round(seconds / step)
    return [level(factory, clock, panel, led, start + i * step + step / 2) for i in range(n)]


def groups(levels: list[bool], step: float = 0.05, gap: float = 1.0) -> list[int]:
    """Blink counts of each group of blinks separated by at least ``gap`` seconds of darkness."""
    out, count, dark, previous = [], 0, 0.0, False
    for on in levels:
        if on and not previous:
            if count and dark >= gap:
                out.append(count)
                count = 0
            count += 1
            dark = 0.0
        elif not on:
            dark += step
        previous = on
    if count:
        out.append(count)
    return out


def wait_for(condition, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


# -- patterns as data --------------------------------------------------------------------------------------------
def test_pattern_levels_and_counts():
    bars3 = Pattern.count(3, 0.25, 0.35, pause=1.5)
    assert bars3.blinks == 3 and bars3.cycle == pytest.approx(3 * 0.25 + 2 * 0.35 + 1.5)
    assert bars3.level(0.1) == (True, pytest.approx(0.15))
    assert bars3.level(0.3)[0] is False
    assert bars3.level(bars3.cycle + 0.1)[0] is True   # it repeats
    assert Pattern.steady(True).level(1e9) == (True, float("inf"))
    assert (Pattern.count(1, 0.3, 0.3, 2.0) + Pattern.count(2, 0.3, 0.3, 2.0)).blinks == 3


def test_tables_give_distinct_codes():
    assert [SENAL_PATTERNS[n].blinks for n in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert sorted(p.blinks for p in ALERT_PATTERNS.values()) == list(range(1, len(ALERT_BLINKS) + 1))
    assert patterns_for(PanelState(running=True))["listo"] == LISTO_PATTERNS["running"]


def test_state_is_checked():
    with pytest.raises(ValueError, match="signal_bars"):
        PanelState(signal_bars=5)
    with pytest.raises(ValueError, match="unknown alert"):
        PanelState(alerts={"sim_ful"})
    assert PanelState(alerts=["sim_full"]).alerts == frozenset({"sim_full"})
    with pytest.raises(ValueError, match="different"):
        PanelPins(listo=17, senal=17)
    with pytest.raises(ValueError, match="0-27"):
        PanelPins(boton=40)


# -- LEDs ---------------------------------------------------------------------------------------------------------
def test_listo_blinks_while_starting_then_stays_on(factory, clock, panel):
    t0 = clock.t
    assert [level(factory, clock, panel, "listo", t0 + dt) for dt in (0.1, 0.6, 1.1, 1.6)] == [True, False, True, False]
    panel.show(PanelState(running=True))
    assert all(samples(factory, clock, panel, "listo", clock.t, 3.0))


def test_listo_winks_while_sending_is_paused(factory, clock, panel):
    panel.show(PanelState(running=True, paused=True))
    t0 = clock.t
    assert [level(factory, clock, panel, "listo", t0 + dt) for dt in (0.1, 1.9, 2.1, 2.4, 4.0)] == \
        [True, True, False, True, True]
    panel.show(PanelState(paused=True))   # still starting: the pause does not show yet
    assert patterns_for(panel.state)["listo"] == LISTO_PATTERNS["starting"]


def test_senal_off_without_modem_fast_blink_without_network(factory, clock, panel):
    assert not any(samples(factory, clock, panel, "senal", clock.t, 2.0))
    panel.show(PanelState(modem_present=True))
    t0 = clock.t
    levels = [level(factory, clock, panel, "senal", t0 + 0.05 + 0.1 * i) for i in range(10)]
    assert levels == [True, False] * 5


@pytest.mark.parametrize("bars", [1, 2, 3, 4])
def test_signal_bars_blink_that_many_times_per_cycle(factory, clock, panel, bars):
    panel.show(PanelState(running=True, modem_present=True, registered=True, signal_bars=bars))
    cycle = SENAL_PATTERNS[bars].cycle
    levels = samples(factory, clock, panel, "senal", clock.t, 2 * cycle)
    assert groups(levels) == [bars, bars]


def test_registered_with_no_bars_still_shows_one(factory, clock, panel):
    panel.show(PanelState(modem_present=True, registered=True, signal_bars=0))
    assert groups(samples(factory, clock, panel, "senal", clock.t, SENAL_PATTERNS[1].cycle)) == [1]


def test_the_same_state_again_keeps_the_rhythm(factory, clock, panel):
    state = PanelState(modem_present=True, registered=True, signal_bars=3)
    panel.show(state)
    start = clock.t
    clock.t = start + 0.4   # in the gap after the first blink: a restart would light it now
    panel.show(state)
    assert level(factory, clock, panel, "senal", start + 0.4) is False
    assert level(factory, clock, panel, "senal", start + 0.65) is True   # the second blink, on time


def test_no_alert_is_dark_and_one_alert_repeats_its_code(factory, clock, panel):
    assert not any(samples(factory, clock, panel, "alerta", clock.t, 3.0))
    panel.show(PanelState(alerts={"clock_untrusted"}))
    cycle = ALERT_PATTERNS["clock_untrusted"].cycle
    assert groups(samples(factory, clock, panel, "alerta", clock.t, 3 * cycle)) == [3, 3, 3]


def test_alerts_rotate_in_table_order(factory, clock, panel):
    alerts = {"uncertain", "sim_full", "under_voltage"}
    panel.show(PanelState(alerts=alerts))
    cycle = sum(ALERT_PATTERNS[a].cycle for a in alerts)
    seen = groups(samples(factory, clock, panel, "alerta", clock.t, 2 * cycle))
    assert seen == [1, 4, 6, 1, 4, 6]
    panel.show(PanelState())
    assert not any(samples(factory, clock, panel, "alerta", clock.t, 3.0))


def test_activity_flashes_once_per_call(factory, clock, panel):
    assert level(factory, clock, panel, "actividad", clock.t) is False
    panel.flash()
    t0 = clock.t
    assert level(factory, clock, panel, "actividad", t0 + 0.01) is True
    assert level(factory, clock, panel, "actividad", t0 + FLASH_SECONDS + 0.01) is False


def test_active_low_leds_invert_the_pins(factory, clock):
    pins = PanelPins(active_high=False)
    with Panel(pins, pin_factory=factory, clock=clock) as panel:
        panel.show(PanelState(running=True))
        panel.refresh()
        assert factory.pin(pins.listo).state is False or factory.pin(pins.listo).state == 0
        assert factory.pin(pins.alerta).state   # off = high
    assert factory.pin(pins.listo).state   # closed: off


def test_the_panel_thread_drives_the_leds_by_itself(factory):
    with Panel(PINS, pin_factory=factory) as panel:   # real clock, real thread: listo blinks 0.5 s / 0.5 s
        pin = factory.pin(PINS.listo)
        assert wait_for(lambda: pin.state, 0.2)
        lit = time.monotonic()
        assert wait_for(lambda: not pin.state, 0.8)
        assert 0.35 < time.monotonic() - lit < 0.65
        panel.flash()
        assert wait_for(lambda: factory.pin(PINS.actividad).state, 0.5)
        assert wait_for(lambda: not factory.pin(PINS.actividad).state, 0.5)


# -- the button --------------------------------------------------------------------------------------------------
class Calls:
    def __init__(self):
        self.names: list[str] = []
        self.event = threading.Event()

    def __call__(self, name):
        def callback():
            self.names.append(name)
            self.event.set()
        return callback

    def wait(self, timeout=2.0) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok


def callbacks(calls: Calls) -> dict:
    return dict(on_pause_toggle=calls("pause"), on_usb_import=calls("usb"), on_shutdown=calls("shutdown"),
                on_password_reset_allowed=calls("reset"))


@pytest.fixture
def calls():
    return Calls()


@pytest.fixture
def button_panel(factory, calls):
    with Panel(PINS, pin_factory=factory, hold_scale=SCALE, **callbacks(calls)) as p:
        yield p


def test_short_press_toggles_pause(factory, calls, button_panel):
    pin = factory.pin(PINS.boton)
    pin.drive_low()
    time.sleep(0.02)
    pin.drive_high()
    assert calls.wait()
    time.sleep(0.05)
    assert calls.names == ["pause"]


def test_hold_three_seconds_imports_on_release(factory, calls, button_panel):
    pin = factory.pin(PINS.boton)
    pin.drive_low()
    time.sleep(6 * SCALE)   # "6 s"
    assert calls.names == []
    assert wait_for(lambda: factory.pin(PINS.actividad).state, 0.5)   # lit: release now to import
    pin.drive_high()
    assert calls.wait()
    time.sleep(0.05)
    assert calls.names == ["usb"]
    assert wait_for(lambda: not factory.pin(PINS.actividad).state, 0.5)


def test_hold_ten_seconds_shuts_down_and_nothing_else(factory, calls, button_panel):
    pin = factory.pin(PINS.boton)
    pin.drive_low()
    assert calls.wait()
    assert calls.names == ["shutdown"]
    pin.drive_high()
    time.sleep(0.1)
    assert calls.names == ["shutdown"]


class FingerPin(MockPin):
    """A button pin that a finger holds low from before the panel opens (the pull-up cannot lift it)."""

    held = True

    def drive_high(self):
        if not self.held:
            super().drive_high()

    def release(self):
        self.held = False
        self.drive_high()


def test_held_at_start_allows_the_password_reset(factory, calls):
    finger = factory.pin(PINS.boton, pin_class=FingerPin)
    finger.drive_low()
    with Panel(PINS, pin_factory=factory, hold_scale=SCALE, **callbacks(calls)):
        assert calls.wait()
        assert calls.names == ["reset"]
        time.sleep(10 * SCALE)   # held on past "10 s": the same press does not shut the box down
        finger.release()
        time.sleep(0.1)
        assert calls.names == ["reset"]


def test_held_at_start_but_let_go_early_does_nothing(factory, calls):
    finger = factory.pin(PINS.boton, pin_class=FingerPin)
    finger.drive_low()
    with Panel(PINS, pin_factory=factory, hold_scale=SCALE, **callbacks(calls)):
        time.sleep(SCALE)
        finger.release()
        time.sleep(4 * SCALE)
        assert calls.names == []
        finger.drive_low()   # a later, ordinary short press
        time.sleep(0.02)
        finger.drive_high()
        assert calls.wait()
        assert calls.names == ["pause"]


def test_a_failing_callback_does_not_stop_the_button(factory, calls):
    def broken():
        calls.names.append("broken")
        raise RuntimeError("boom")

    with Panel(PINS, pin_factory=factory, hold_scale=SCALE, on_pause_toggle=broken,
               on_usb_import=calls("usb")):
        pin = factory.pin(PINS.boton)
        for hold in (0.02, 6 * SCALE):
            pin.drive_low()
            time.sleep(hold)
            pin.drive_high()
        assert calls.wait()
        assert calls.names == ["broken", "usb"]


# -- pins and lifecycle -------------------------------------------------------------------------------------------
def test_close_releases_every_pin(factory, clock):
    panel = Panel(PINS, pin_factory=factory, clock=clock)
    with pytest.raises(GPIOPinInUse):
        Panel(PINS, pin_factory=factory, clock=clock)
    panel.show(PanelState(running=True, alerts={"sim_full"}))
    panel.refresh()
    panel.close()
    panel.close()
    panel.show(PanelState(running=True))   # after close: nothing, no error
    panel.flash()
    assert panel.closed
    assert not any(factory.pin(n).state for n in (PINS.listo, PINS.senal, PINS.actividad, PINS.alerta))
    with Panel(PINS, pin_factory=factory, clock=clock) as again:   # the same pins open again
        again.show(PanelState(running=True))
        again.refresh()
        assert factory.pin(PINS.listo).state


def test_a_panel_that_fails_half_way_releases_what_it_opened(factory, clock):
    from gpiozero import Button

    taken = Button(PINS.boton, pin_factory=factory)
    with pytest.raises(GPIOPinInUse):
        Panel(PINS, pin_factory=factory, clock=clock)   # the LEDs open, the button cannot
    taken.close()
    with Panel(PINS, pin_factory=factory, clock=clock):
        pass


def test_other_pins(factory, clock):
    pins = PanelPins(listo=5, senal=12, actividad=13, alerta=16, boton=26)
    with Panel(pins, pin_factory=factory, clock=clock) as panel:
        panel.show(PanelState(running=True))
        panel.refresh()
        assert factory.pin(5).state and not factory.pin(17).state


def test_null_panel_has_the_same_interface():
    with NullPanel(PINS, on_shutdown=lambda: None) as panel:
        state = PanelState(running=True, alerts={"uncertain"})
        panel.show(state)
        panel.flash()
        panel.refresh()
        assert panel.state == state and panel.flashes == 1
    assert panel.closed
    panel.close()
    panel.show(PanelState())
    assert panel.state == state
