"""The box's front panel: four LEDs and one push button, rendered from a :class:`PanelState`.

Contract
--------
``Panel(pins, *, pin_factory=None, clock=time.monotonic, on_pause_toggle=None, on_usb_import=None,
on_shutdown=None, on_password_reset_allowed=None, hold_scale=1.0)`` opens the pins at once and is a
context manager; ``close()`` turns the LEDs off, releases every pin and is safe to call twice. After
``close()``, ``show()`` and ``flash()`` do nothing (a late status thread must not crash).

- ``show(state)``: the appliance builds a :class:`PanelState` from its status; the panel only renders
  it. Showing the same state again keeps each LED's rhythm (a blink count is never cut short by the
  next second's refresh); a changed pattern starts from its beginning.
- ``flash()``: one short flash of *actividad* (an SMS or a call went out).

The LEDs (names as printed on the case):

========== ==============================================================================
listo      steady: running; blinking (0.5 s / 0.5 s): starting; long on with a short wink
           (2 s on / 0.3 s off): running, sending paused
señal      off: no modem; fast blink (0.1 s / 0.1 s): no network; 1–4 blinks then a pause:
           signal bars (registered with a reading too weak for one bar still shows one)
actividad  a short flash (0.15 s) per SMS or call; steady while the button is held past 3 s
alerta     off: nothing wrong; otherwise each alert's blink code (N blinks then a pause),
           several alerts one after the other, in :data:`ALERT_BLINKS` order
========== ==============================================================================

Patterns are data: :class:`Pattern` is a repeating list of (on/off, seconds) steps and the tables
:data:`LISTO_PATTERNS`, :data:`SENAL_PATTERNS` and :data:`ALERT_PATTERNS` map a state to one. No
if-chain decides a rhythm.

Threads (the choice, documented): one small panel thread drives all four LEDs. It renders the
patterns at ``clock()``, sleeps on an ``Event`` until the next on/off change (at most
:data:`MAX_SLEEP` s) and is woken early by ``show()``/``flash()``/``close()`` — no busy loop. gpiozero's
own ``LED.blink`` threads are not used, because they cannot say "N blinks then a pause" nor rotate
alerts. ``clock`` drives the LED patterns only, so tests pass a fake clock and call
:meth:`Panel.refresh` to read pin states at chosen instants.

The button (to GND, internal pull-up), told apart by :class:`ButtonActions`:

- a short press (released before 3 s): ``on_pause_toggle()``;
- held 3 s and released before 10 s: ``on_usb_import()`` on release;
- held 10 s: ``on_shutdown()`` at 10 s (the release after it does nothing else);
- pressed when the panel opens and still held 3 s later: ``on_password_reset_allowed()`` (that press
  then does nothing else, whatever its length).

gpiozero's ``Button(hold_time=3 s, hold_repeat=False)`` reports the press, the 3 s hold and the release;
the 10 s and the held-at-start deadlines are the panel's own (real time, ``time.monotonic``).
``hold_scale`` multiplies every button time (3 s, 10 s and the debounce) — tests use e.g. 0.02 so a
"10 s" hold lasts 0.2 s; the appliance leaves it at 1. Callbacks are plain callables; they run one at a
time on the button's own thread (never on gpiozero's pin or hold threads, so a slow import does not
block edge detection); an exception in one is logged, never fatal.

:class:`NullPanel` is the same interface without hardware: a laptop, a box without a panel, or
``[panel] enabled = false``. It remembers the last state and counts flashes.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("cobrador.hardware.panel")

MAX_SLEEP = 1.0
"""The panel thread re-renders at least this often (seconds), even with nothing changing."""

HOLD_USB = 3.0
HOLD_SHUTDOWN = 10.0
HOLD_AT_START = 3.0
BOUNCE = 0.05
"""Button times in seconds (before ``hold_scale``)."""


@dataclass(frozen=True)
class PanelPins:
    """BCM pin numbers of the panel and the LEDs' polarity.

    Defaults: listo 17 (header pin 11), señal 27 (13), actividad 22 (15), alerta 23 (16), botón 24 (18);
    GND on header pins 14 or 20. They avoid the UART (BCM 14/15) a HAT modem would use, the power-key
    pins of common SIM800/SIM868/SIM7600 HATs (BCM 4, 6), I2C (2/3), SPI0 (7–11), the HAT EEPROM (0/1)
    and PWM audio (18/19). ``active_high``: True when each LED goes from the pin through its resistor
    to GND (the wiring in hardware/README.md).
    """

    listo: int = 17
    senal: int = 27
    actividad: int = 22
    alerta: int = 23
    boton: int = 24
    active_high: bool = True

    def __post_init__(self):
        numbers = (self.listo, self.senal, self.actividad, self.alerta, self.boton)
        if any(isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 27 for n in numbers):
            raise ValueError(f"panel pins are BCM numbers 0-27, got {numbers}")
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"panel pins must all be different, got {numbers}")


# -- patterns -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    """A repeating rhythm: ``steps`` is ``((on, seconds), ...)``; a single step of ``math.inf`` is steady."""

    steps: tuple[tuple[bool, float], ...]

    def __post_init__(self):
        if not self.steps or any(seconds <= 0 for _, seconds in self.steps):
            raise ValueError("a pattern needs steps of positive length")

    @classmethod
    def steady(cls, on: bool) -> "Pattern":
        return cls(((bool(on), math.inf),))

    @classmethod
    def blink(cls, on_time: float, off_time: float) -> "Pattern":
        return cls(((True, on_time), (False, off_time)))

    @classmethod
    def count(cls, n: int, on_time: float, off_time: float, pause: float) -> "Pattern":
        """``n`` blinks, then the light stays off ``pause`` seconds (instead of the last ``off_time``)."""
        steps = ((True, on_time), (False, off_time)) * n
        return cls(steps[:-1] + ((False, pause),))

    def __add__(self, other: "Pattern") -> "Pattern":
        """One pattern after the other (alert rotation)."""
        return Pattern(self.steps + other.steps)

    @property
    def cycle(self) -> float:
        return sum(seconds for _, seconds in self.steps)

    @property
    def blinks(self) -> int:
        """How many times it lights up per cycle."""
        return sum(1 for on, _ in self.steps if on)

    def level(self, elapsed: float) -> tuple[bool, float]:
        """``(on, seconds until the next step)`` at ``elapsed`` seconds after the pattern started."""
        total = self.cycle
        if math.isinf(total):
            # a steady pattern (or one ending in a steady step): walk once, no repetition
            t = max(0.0, elapsed)
        else:
            t = max(0.0, elapsed) % total
        start = 0.0
        for on, seconds in self.steps:
            if t < start + seconds:
                return on, start + seconds - t
            start += seconds
        on, _ = self.steps[-1]   # floating-point edge: exactly at the cycle's end
        return on, self.steps[0][1]


OFF = Pattern.steady(False)
ON = Pattern.steady(True)

LISTO_PATTERNS: dict[str, Pattern] = {
    "running": ON,
    "paused": Pattern.blink(2.0, 0.3),
    "starting": Pattern.blink(0.5, 0.5),
}
"""*listo*: running, running with sending paused (the button's short press), or starting."""

SENAL_PATTERNS: dict[object, Pattern] = {
    "no_modem": OFF,
    "no_network": Pattern.blink(0.1, 0.1),
    1: Pattern.count(1, 0.25, 0.35, pause=1.5),
    2: Pattern.count(2, 0.25, 0.35, pause=1.5),
    3: Pattern.count(3, 0.25, 0.35, pause=1.5),
    4: Pattern.count(4, 0.25, 0.35, pause=1.5),
}
"""*señal*: no modem, no network, or the signal bars (1–4 blinks, then 1.5 s off)."""

ALERT_BLINKS: dict[str, int] = {
    "sim_full": 1,          # the SIM's message storage is full: replies cannot arrive
    "low_balance": 2,       # the prepaid balance is low
    "clock_untrusted": 3,   # the clock is not trusted: nothing is sent until it is
    "under_voltage": 4,     # the power supply is too weak (the Pi reported under-voltage)
    "repeated_errors": 5,   # several sends in a row failed
    "uncertain": 6,         # contacts in doubt (power cut mid-send) wait for staff to check
}
"""Alert names, their blink count and their order in the rotation."""

ALERT_PATTERNS: dict[str, Pattern] = {name: Pattern.count(n, 0.3, 0.3, pause=2.0) for name, n in ALERT_BLINKS.items()}
"""*alerta*: N blinks (0.3 s / 0.3 s), then 2 s off; several alerts play one after the other."""

FLASH_SECONDS = 0.15
"""*actividad*: one flash per SMS or call."""

LED_NAMES = ("listo", "senal", "actividad", "alerta")


@dataclass(frozen=True)
class PanelState:
    """What the panel shows. ``running`` False means still starting; ``paused``: sending paused (shown only
    while running); ``signal_bars`` 0–4 counts only when ``registered``; ``alerts`` are names from
    :data:`ALERT_BLINKS` (any iterable, kept as a frozenset)."""

    running: bool = False
    paused: bool = False
    modem_present: bool = False
    registered: bool = False
    signal_bars: int = 0
    alerts: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        if isinstance(self.signal_bars, bool) or not isinstance(self.signal_bars, int) or not 0 <= self.signal_bars <= 4:
            raise ValueError(f"signal_bars must be 0-4, got {self.signal_bars!r}")
        alerts = frozenset(self.alerts)
        unknown = alerts - ALERT_BLINKS.keys()
        if unknown:
            raise ValueError(f"unknown alert(s) {sorted(unknown)}; known: {', '.join(ALERT_BLINKS)}")
        object.__setattr__(self, "alerts", alerts)


def patterns_for(state: PanelState) -> dict[str, Pattern]:
    """The pattern of each steady-state LED (*listo*, *señal*, *alerta*) for ``state`` — table look-ups."""
    listo = LISTO_PATTERNS[("paused" if state.paused else "running") if state.running else "starting"]
    if not state.modem_present:
        senal = SENAL_PATTERNS["no_modem"]
    elif not state.registered:
        senal = SENAL_PATTERNS["no_network"]
    else:
        senal = SENAL_PATTERNS[max(1, state.signal_bars)]
    active = [ALERT_PATTERNS[name] for name in ALERT_BLINKS if name in state.alerts]
    alerta = sum(active[1:], active[0]) if active else OFF
    return {"listo": listo, "senal": senal, "alerta": alerta}


# -- the LEDs ---------------------------------------------------------------------------------------------------
class BlinkRenderer:
    """The four LEDs (a gpiozero ``LEDBoard``) and the one thread that plays their patterns.

    :meth:`refresh` renders ``clock()`` onto the LEDs and returns the seconds until the next change; the
    thread calls it in a loop, sleeping on an ``Event``. A lock makes a refresh atomic (clock read and pin
    writes), so a test calling :meth:`refresh` itself never races the thread.
    """

    def __init__(self, pins: PanelPins, *, pin_factory=None, clock: Callable[[], float] = time.monotonic):
        from gpiozero import LEDBoard

        self.clock = clock
        self.board = LEDBoard(listo=pins.listo, senal=pins.senal, actividad=pins.actividad, alerta=pins.alerta,
                              pwm=False, active_high=pins.active_high, initial_value=False,
                              _order=list(LED_NAMES), pin_factory=pin_factory)
        self._lock = threading.Lock()
        now = clock()
        self._playing: dict[str, tuple[Pattern, float]] = {name: (OFF, now) for name in ("listo", "senal", "alerta")}
        self._flash_until = -math.inf
        self._holding = False
        self._lit: dict[str, bool] = {name: False for name in LED_NAMES}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cobrador-panel-leds", daemon=True)
        self._thread.start()

    def play(self, patterns: dict[str, Pattern]) -> None:
        """Play these patterns; an LED whose pattern is unchanged keeps its rhythm."""
        with self._lock:
            now = self.clock()
            for name, pattern in patterns.items():
                if self._playing[name][0] != pattern:
                    self._playing[name] = (pattern, now)
        self._wake.set()

    def flash(self) -> None:
        with self._lock:
            self._flash_until = self.clock() + FLASH_SECONDS
        self._wake.set()

    def hold_feedback(self, holding: bool) -> None:
        """*actividad* stays lit while the button is held past 3 s (release now: USB import)."""
        with self._lock:
            self._holding = holding
        self._wake.set()

    def refresh(self) -> float:
        """Render the patterns at ``clock()``; the seconds until an LED changes next."""
        with self._lock:
            if self._stop.is_set():
                return MAX_SLEEP
            now = self.clock()
            wanted = {}
            until = MAX_SLEEP
            for name, (pattern, started) in self._playing.items():
                wanted[name], remaining = pattern.level(now - started)
                until = min(until, remaining)
            flashing = now < self._flash_until
            wanted["actividad"] = flashing or self._holding
            if flashing:
                until = min(until, self._flash_until - now)
            for name, on in wanted.items():
                if self._lit[name] != on:
                    getattr(self.board, name).value = on
                    self._lit[name] = on
            return until

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delay = self.refresh()
            except Exception:   # a pin error must not leave the thread dead and the LEDs frozen silently
                log.exception("panel LEDs: refresh failed")
                delay = MAX_SLEEP
            self._wake.wait(min(max(delay, 0.005), MAX_SLEEP))
            self._wake.clear()

    def close(self) -> None:
        with self._lock:
            self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        try:
            self.board.off()
        finally:
            self.board.close()


# -- the button -------------------------------------------------------------------------------------------------
_STOP = object()


class ButtonActions:
    """One gpiozero ``Button`` and the thread that tells its presses apart (see the module docstring).

    gpiozero's callbacks only queue ``(kind, monotonic time)``; the thread keeps the one pending deadline
    (10 s hold, or 3 s for a press held since the panel opened) as its queue timeout, and runs the actions.
    """

    def __init__(self, pin: int, *, pin_factory=None, hold_scale: float = 1.0,
                 on_pause_toggle: Callable[[], None] | None = None,
                 on_usb_import: Callable[[], None] | None = None,
                 on_shutdown: Callable[[], None] | None = None,
                 on_password_reset_allowed: Callable[[], None] | None = None,
                 feedback: Callable[[bool], None] | None = None):
        from gpiozero import Button

        if not hold_scale > 0:
            raise ValueError("hold_scale must be positive")
        self.scale = hold_scale
        self.actions = {"pause": on_pause_toggle, "usb_import": on_usb_import, "shutdown": on_shutdown,
                        "password_reset": on_password_reset_allowed}
        self.feedback = feedback or (lambda holding: None)
        self._events: queue.Queue = queue.Queue()
        self.button = Button(pin, pull_up=True, bounce_time=BOUNCE * hold_scale, hold_time=HOLD_USB * hold_scale,
                             hold_repeat=False, pin_factory=pin_factory)
        opened = time.monotonic()
        # the press in progress: None, or {"start", "held", "done", "at_start"}
        self._press = None
        self._deadline: tuple[float, str] | None = None
        if self.button.is_pressed:   # held while the box started: no edge will come for this press
            self._press = {"start": opened, "held": False, "done": False, "at_start": True}
            self._deadline = (opened + HOLD_AT_START * hold_scale, "password_reset")
        self.button.when_pressed = lambda: self._events.put(("pressed", time.monotonic()))
        self.button.when_held = lambda: self._events.put(("held", time.monotonic()))
        self.button.when_released = lambda: self._events.put(("released", time.monotonic()))
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cobrador-panel-button", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            timeout = None if self._deadline is None else max(0.0, self._deadline[0] - time.monotonic())
            try:
                item = self._events.get(timeout=timeout)
            except queue.Empty:
                self._deadline_passed()
                continue
            if item is _STOP:
                return
            kind, at = item
            if self._deadline is not None and self._deadline[0] <= at:
                self._deadline_passed()   # the deadline came first, even if this thread was late
            getattr(self, "_" + kind)(at)

    def _deadline_passed(self) -> None:
        _, action = self._deadline
        self._deadline = None
        if self._press is not None and not self._press["done"]:
            self._press["done"] = True
            self.feedback(False)
            self._fire(action)

    def _pressed(self, at: float) -> None:
        self._press = {"start": at, "held": False, "done": False, "at_start": False}
        self._deadline = None

    def _held(self, at: float) -> None:
        press = self._press
        if press is None or press["at_start"] or press["done"]:
            return
        press["held"] = True
        self._deadline = (press["start"] + HOLD_SHUTDOWN * self.scale, "shutdown")
        self.feedback(True)

    def _released(self, at: float) -> None:
        press, self._press = self._press, None
        self._deadline = None
        if press is None or press["done"] or press["at_start"]:
            return
        self.feedback(False)
        self._fire("usb_import" if press["held"] else "pause")

    def _fire(self, action: str) -> None:
        callback = self.actions[action]
        log.info("panel button: %s", action)
        if callback is None:
            return
        try:
            callback()
        except Exception:
            log.exception("panel button: the %s action failed", action)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.button.when_pressed = self.button.when_held = self.button.when_released = None
        self._events.put(_STOP)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)   # an action still running (a shutdown) is not waited for longer
        self.button.close()


# -- the panel --------------------------------------------------------------------------------------------------
class Panel:
    """The LEDs and the button of the box (see the module docstring)."""

    def __init__(self, pins: PanelPins, *, pin_factory=None, clock: Callable[[], float] = time.monotonic,
                 on_pause_toggle: Callable[[], None] | None = None,
                 on_usb_import: Callable[[], None] | None = None,
                 on_shutdown: Callable[[], None] | None = None,
                 on_password_reset_allowed: Callable[[], None] | None = None,
                 hold_scale: float = 1.0):
        self.pins = pins
        self._closed = False
        self._lock = threading.Lock()
        self.state = PanelState()
        self.leds = BlinkRenderer(pins, pin_factory=pin_factory, clock=clock)
        try:
            self.button = ButtonActions(pins.boton, pin_factory=pin_factory, hold_scale=hold_scale,
                                        on_pause_toggle=on_pause_toggle, on_usb_import=on_usb_import,
                                        on_shutdown=on_shutdown,
                                        on_password_reset_allowed=on_password_reset_allowed,
                                        feedback=self.leds.hold_feedback)
        except BaseException:
            self.leds.close()
            raise
        self.leds.play(patterns_for(self.state))

    def __enter__(self) -> "Panel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def show(self, state: PanelState) -> None:
        """Render ``state`` (see the module docstring); nothing after ``close()``."""
        with self._lock:
            if self._closed:
                return
            self.state = state
            self.leds.play(patterns_for(state))

    def flash(self) -> None:
        """One short flash of *actividad*; nothing after ``close()``."""
        with self._lock:
            if self._closed:
                return
            self.leds.flash()

    def refresh(self) -> float:
        """Render now (the panel thread does this by itself; tests with a fake clock call it)."""
        return self.leds.refresh()

    def close(self) -> None:
        """LEDs off, every pin released; safe twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.button.close()
        finally:
            self.leds.close()


class NullPanel:
    """The "no panel" implementation: a laptop, a box built without LEDs, or ``[panel] enabled = false``.

    Same interface as :class:`Panel` (``show``, ``flash``, ``refresh``, ``close``, context manager,
    ``state``, ``closed``) and the same checks on :class:`PanelState`; it touches no pin and has no button,
    so its callbacks never fire. It remembers the last state shown, counts ``flashes`` and logs each change
    of state at DEBUG, so the appliance needs no ``if panel`` anywhere.
    """

    def __init__(self, pins: PanelPins | None = None, **ignored):
        self.pins = pins
        self.state = PanelState()
        self.flashes = 0
        self._closed = False

    def __enter__(self) -> "NullPanel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def show(self, state: PanelState) -> None:
        if self._closed:
            return
        if state != self.state:
            log.debug("panel (none): %s", state)
        self.state = state

    def flash(self) -> None:
        if not self._closed:
            self.flashes += 1

    def refresh(self) -> float:
        return MAX_SLEEP

    def close(self) -> None:
        self._closed = True
