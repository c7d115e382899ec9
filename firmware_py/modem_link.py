"""Keeping the appliance's radio up: a real modem or the built-in simulator.

:class:`ModemLink` owns the simulator (when one is used) and the
:class:`modem.driver.Modem`. ``start()`` returns at once: a background thread
opens the modem and, while it cannot (unplugged at boot, SIM still booting),
retries with backoff, so the web page is served from the first second and
shows why there is no radio. Once open, the driver's own supervisor handles
unplug/hang/reboot. A SIM that needs a person (wrong PIN, PUK) stops the
retries and is shown as such: retrying a wrong PIN would lock the SIM.

``status()`` is a :class:`ModemStatus` snapshot for the web page and LEDs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from firmware_py.radio import RadioChoice
from modem.errors import ModemError, SimPinRequired, SimPukRequired, WrongPin

log = logging.getLogger("cobrador.modem_link")

STARTING = "starting"
CONNECTED = "connected"
DISCONNECTED = "disconnected"
NEEDS_ATTENTION = "needs-attention"   # wrong PIN / PUK / PIN missing: a person must act
STOPPED = "stopped"
SIMULATED_PROFILE = "quectel-ec25"


@dataclass(frozen=True)
class ModemStatus:
    """What the radio is doing, for people. ``detail`` is a Spanish sentence."""

    state: str
    detail: str
    simulated: bool
    port: str | None
    profile: str
    signal_dbm: int | None = None
    operator: str | None = None
    storage_full: bool = False
    since: float = 0.0


class ModemLink:
    """The appliance's modem connection (context manager; ``close()`` safe twice).

    ``choice`` says serial port or simulator; ``profile`` and ``pin`` come
    from the config; ``store`` is the driver's durable state (a ledger
    document); ``sim_link`` is where the simulator's stable port symlink goes.
    Driver events are put on ``events`` (a ``queue.Queue``) for the recorder.
    """

    def __init__(self, choice: RadioChoice, *, profile: str, pin: str | None, store, events: queue.Queue,
                 sim_link: Path, retry_cap: float = 30.0, poll_interval: float = 60.0, clock=time.time):
        self.choice = choice
        # "auto" on a real port: the generic profile (standard commands only). The built-in simulator
        # plays a Quectel EC25 (it takes the network's time at once and plays audio files), so the demo
        # shows spoken calls too.
        if profile == "auto":
            profile = SIMULATED_PROFILE if choice.kind == "simulator" else "generic"
        self.profile = profile
        self.pin = pin or None
        self.store = store
        self.events = events
        self.sim_link = Path(sim_link)
        self.retry_cap = retry_cap
        self.poll_interval = poll_interval
        self.clock = clock
        self.simulator = None
        self.modem = None
        self._network_time: tuple[datetime, float] | None = None  # (network time, monotonic when read)
        self._status = ModemStatus(STARTING, "Conectando con el módem…", choice.kind == "simulator",
                                   choice.port, self.profile, since=clock())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __enter__(self) -> "ModemLink":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> None:
        """Start the simulator if chosen, then open the modem in the background."""
        if self.choice.kind == "simulator":
            from modem.simulator import Simulator

            self.sim_link.parent.mkdir(parents=True, exist_ok=True)
            self.simulator = Simulator(self.profile, link=self.sim_link)
            self.simulator.start()
            log.info("simulated %s modem on %s", self.profile, self.simulator.port)
        self._thread = threading.Thread(target=self._connect_loop, name="cobrador-modem-link", daemon=True)
        self._thread.start()

    @property
    def port(self) -> str:
        return self.simulator.port if self.simulator is not None else self.choice.port

    def _connect_loop(self) -> None:
        """Open the modem (retrying), then poll signal, operator and storage until closed."""
        try:
            if self._connect():
                while not self._stop.is_set():
                    self.poll()
                    self._stop.wait(self.poll_interval)
        except Exception:   # the status must never freeze at "starting" because of a surprise
            log.exception("modem link stopped")
            self._set(NEEDS_ATTENTION, "Error inesperado con el módem; revise el registro del sistema y reinicie "
                                       "Cobrador.")

    def _connect(self) -> bool:
        from modem.driver import Modem

        delay = 1.0
        while not self._stop.is_set():
            modem = Modem(self.port, profile=self.profile, pin=self.pin, store=self.store, events=self.events)
            try:
                modem.open()
            except (WrongPin, SimPukRequired, SimPinRequired) as exc:
                self._set(NEEDS_ATTENTION, _sim_message(exc))
                log.error("modem needs attention: %s", exc)
                return False
            except (ModemError, OSError, ValueError) as exc:   # ValueError: a malformed port URL
                self._set(DISCONNECTED, f"No hay comunicación con el módem ({self.port}); se reintenta sola.")
                log.warning("modem open failed: %s; retrying in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_cap)
                continue
            with self._lock:
                if self._closed:
                    modem.close()
                    return False
                self.modem = modem
            self._set(CONNECTED, "Módem conectado.")
            return True
        return False

    def poll(self) -> None:
        """Refresh signal, operator and SIM storage (which also clears a storage-full warning)."""
        from modem.queries import parse_cpms

        modem = self.modem
        if modem is None or modem.closed:
            return
        try:
            signal = modem.signal()
            operator = modem.operator()
            memories = parse_cpms(next(line for line in modem.command("AT+CPMS?").lines
                                       if line.startswith("+CPMS:")))
        except (ModemError, StopIteration) as exc:   # the driver's supervisor handles the link itself
            log.debug("status poll failed: %s", exc)
            return
        full = any(total and used >= total for _, used, total in memories)
        self._set(signal_dbm=signal.dbm, operator=operator, storage_full=full)
        try:
            when = modem.network_time()
        except ModemError as exc:
            log.debug("network time query failed: %s", exc)
            return
        if when is not None:
            self._note_network_time(when)

    def _note_network_time(self, when: datetime) -> None:
        with self._lock:
            self._network_time = (when, time.monotonic())

    def network_now(self) -> datetime | None:
        """The mobile network's idea of *now* (its last time, plus the time elapsed since), or None when the
        modem never gave one. Fed to :func:`firmware_py.timekeeping.system_clock_trust`."""
        with self._lock:
            known = self._network_time
        if known is None:
            return None
        when, read_at = known
        return when + timedelta(seconds=time.monotonic() - read_at)

    def close(self) -> None:
        """Close the modem, then the simulator; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            modem, self.modem = self.modem, None
        self._stop.set()
        if modem is not None:
            modem.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.simulator is not None:
            self.simulator.close()
        self._set(STOPPED, "Módem detenido.")

    # -- status --------------------------------------------------------------
    def status(self) -> ModemStatus:
        with self._lock:
            return self._status

    def _set(self, state: str | None = None, detail: str | None = None, **fields) -> None:
        with self._lock:
            changes = dict(fields)
            if state is not None and state != self._status.state:
                changes.update(state=state, since=self.clock())
            if detail is not None:
                changes["detail"] = detail
            self._status = replace(self._status, **changes)

    def note_event(self, event) -> None:
        """Fold a driver event into the status (called by the recorder thread)."""
        from modem import events as ev

        if isinstance(event, ev.ModemStateChanged):
            if event.state in (ev.CONNECTED, ev.REINITIALISED):
                self._set(CONNECTED, "Módem conectado.")
            elif event.state == ev.DISCONNECTED:
                self._set(DISCONNECTED, "Se perdió la comunicación con el módem; reconectando…")
            elif event.state == ev.FAILED:
                self._set(NEEDS_ATTENTION, f"El módem necesita atención: {event.reason}")
        elif isinstance(event, ev.SignalChanged):
            self._set(signal_dbm=event.dbm)
        elif isinstance(event, ev.NetworkTime):
            self._note_network_time(event.when)
        elif isinstance(event, ev.StorageFull):
            self._set(storage_full=True)


class LinkedModem:
    """The link's current driver as a :class:`modem.pool.PoolMember`'s modem: ``send_sms``, ``call`` and
    ``ring`` raise :class:`modem.errors.ModemDisconnected` (nothing sent, nobody dialled) while no driver is
    open, so the pool re-routes or the dispatcher retries later. A spoken call plays its message with the
    player of the link's modem profile (:func:`modem.voice.playback.player_for`; ``audio_port`` is the
    modem's voice port for the profiles that play through one)."""

    def __init__(self, link: ModemLink, *, audio_port: str = ""):
        self.link = link
        self.audio_port = audio_port or None
        self._players: dict[str, object] = {}

    def _modem(self):
        from modem.errors import ModemDisconnected

        modem = self.link.modem
        if modem is None or modem.closed:
            raise ModemDisconnected("no hay módem conectado")
        return modem

    def send_sms(self, number: str, text: str, *, transliterate: bool = False, message_id: str | None = None):
        return self._modem().send_sms(number, text, transliterate=transliterate, message_id=message_id)

    def call(self, number: str, **options):
        """:meth:`modem.driver.Modem.call` with this profile's player (``options`` as there)."""
        modem = self._modem()
        return modem.call(number, player=self.player(), **options)

    def ring(self, number: str, **options):
        """:meth:`modem.driver.Modem.ring` (``options`` as there)."""
        return self._modem().ring(number, **options)

    def player(self):
        """The audio player for the link's modem profile, or None (this modem cannot play audio)."""
        from modem.voice.playback import player_for

        modem = self.link.modem
        profile = getattr(getattr(modem, "profile", None), "name", None) or self.link.profile
        if profile not in self._players:
            self._players[profile] = player_for(profile, audio_port=self.audio_port)
        return self._players[profile]

    def why_no_audio(self) -> str | None:
        """None when the connected modem can play a spoken message now; else why not, in Spanish."""
        player = self.player()
        if player is None:
            return (f"este tipo de módem no tiene cómo reproducir audio en una llamada: se usa el "
                    "timbrazo o el SMS que diga la escalera")
        modem = self.link.modem
        if modem is None or modem.closed:
            return "no hay módem conectado"
        return player.available(modem)


def _sim_message(exc: Exception) -> str:
    if isinstance(exc, WrongPin):
        return ("La SIM rechazó el PIN configurado. Corrija [modem] pin en la configuración; "
                "no se reintenta para no bloquear la SIM.")
    if isinstance(exc, SimPukRequired):
        return "La SIM está bloqueada (pide el PUK). Desbloquéela en un teléfono con el PUK del operador."
    return "La SIM pide un PIN. Escríbalo en [modem] pin en la configuración y reinicie Cobrador."
