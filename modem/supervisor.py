"""The supervisor thread: init, URC handling, sweeps, liveness, reconnect — never on the reader thread.

Jobs arrive on an internal queue: URCs from the reader, "link lost" from the
reader or a writer, liveness requests after a command timeout. Between jobs,
the supervisor ticks:

- every ``maintenance_interval``: report-expiry and reassembly-timeout sweeps
  (driver clock), emitting DeliveryUpdate / incomplete IncomingSms;
- every ``sim_sweep_interval``: ``AT+CMGL=4`` (nothing stays on the SIM);
- when the modem has been silent for ``liveness_interval``: an ``AT`` probe;
  no answer within ``timeouts.liveness`` → hung → reopen.

Recovery (unplug, hang, reboot): close, reopen the same URL with backoff
(``reconnect_backoff``, unbounded), re-run init, then the deferred deletions,
the SIM sweep and the inline replay; ModemStateChanged disconnected →
reinitialised. A boot URC (``profile.boot_urcs``) means the modem rebooted
under us: init is re-run once the boot burst settles (``boot_settle`` s, or
at once on ``profile.ready_urc``). A wrong PIN or a PUK lock stops recovery
for good (state ``failed``): retrying a wrong PIN would block the SIM. A
temporary refusal of the PIN (``CmeError.temporary``: CME 14 SIM busy, 515
device busy...) is not a wrong PIN: it is raised as a plain CmeError and
retried with the reconnect backoff (or by ``open()``'s caller).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from modem.errors import (CmeError, CommandError, CommandTimeout, ModemDisconnected, ModemError, SimPinRequired,
                          SimPukRequired, WrongPin)
from modem.events import (CONNECTED, DISCONNECTED, FAILED, REINITIALISED, ModemStateChanged, NetworkTime,
                          ProtocolNoise)
from modem.queries import find_line, parse_cpms
from modem.urcs import UrcRouter

log = logging.getLogger("cobrador.modem.supervisor")

_PIN_STATES_READY = ("READY",)


class Supervisor:
    def __init__(self, modem):
        self.modem = modem
        self.jobs: queue.Queue = queue.Queue()
        self.router = UrcRouter(modem)
        self._thread = threading.Thread(target=self._run, name="cobrador-modem-supervisor", daemon=True)
        self._stop = threading.Event()
        self._fatal: ModemError | None = None
        self._reboot_due: float | None = None
        self._last_boot_line = 0.0
        self.initialising = False
        self.pin_entered = False
        self._next_maintenance = 0.0
        self._next_sim_sweep = 0.0
        self._liveness_requested = False
        self.reinitialisations = 0

    # -- called from other threads -------------------------------------------
    def post_urc(self, urc) -> None:
        self.jobs.put(("urc", urc))

    def post_lost(self, reason: str, generation: int) -> None:
        self.jobs.put(("lost", (reason, generation)))

    def request_liveness_check(self) -> None:
        self._liveness_requested = True
        self.jobs.put(("tick", None))

    def schedule_reinit(self, immediate: bool) -> None:
        """A boot URC arrived (reader thread): re-run init once the boot burst settles."""
        self.modem.ready.clear()
        self._last_boot_line = time.monotonic()
        self._reboot_due = self._last_boot_line + (0.0 if immediate else self.modem.boot_settle)
        self.jobs.put(("tick", None))

    @property
    def reboot_pending(self) -> bool:
        return self._reboot_due is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.jobs.put(("stop", None))
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    # -- connect and init --------------------------------------------------------
    def connect_first(self) -> None:
        """Open and init on the caller's thread (so open() raises typed errors)."""
        m = self.modem
        m.reopen_port()
        self.initialise()
        m.emit(ModemStateChanged(CONNECTED, f"{m.profile.name} on {m.url}", m.clock()))
        self.jobs.put(("after-connect", None))

    def initialise(self) -> None:
        """ATE0, CMEE, PIN, the profile's init and best-effort commands. Sets ``ready``."""
        m = self.modem
        m.ready.clear()
        started = time.monotonic()
        self.initialising, self.pin_entered = True, False
        try:
            self._initialise(started)
        finally:
            self.initialising = False

    def _initialise(self, started: float) -> None:
        m = self.modem
        self._sync()
        cmd = self._cmd
        cmd("ATE0")
        try:
            cmd("AT+CMEE=2")
        except CommandError:
            cmd("AT+CMEE=1")
        self._unlock_sim()
        for line in m.profile.init_commands:
            cmd(line)
        for line in m.profile.best_effort_commands:
            try:
                cmd(line)
            except CommandError as exc:
                log.info("%s not accepted (%s); continuing", line, exc)
        try:
            counts = parse_cpms(find_line(cmd("AT+CPMS?").lines, "+CPMS"))
            memory, used, total = counts[0]
            m.inbox.set_full(used >= total > 0, memory or m.profile.storage, used, total, "CPMS")
        except (CommandError, ModemError) as exc:
            log.info("storage counts unavailable: %s", exc)
        if self._reboot_due is not None and self._last_boot_line < started:
            self._reboot_due = None          # that boot burst was over before this init began
        m.ready.set()
        log.info("modem %s initialised (%s)", m.url, m.profile.name)

    def _cmd(self, line: str, timeout: float | None = None):
        return self.modem.command(line, timeout=timeout, _internal=True)

    def _sync(self) -> None:
        """A few bare ATs until the modem answers (it may still be echoing or booting).

        A modem that does not answer may be sitting at an SMS prompt (``> ``) left by a client that died
        between ``AT+CMGS`` and the body (a crash, a SIGKILL): it takes our ATs as that body and never
        answers. ESC cancels such a prompt (that SMS is not sent), so one is written after each timeout."""
        last: Exception | None = None
        for _ in range(3):
            try:
                self._cmd("AT", timeout=min(2.0, self.modem.timeouts.default))
                return
            except CommandTimeout as exc:
                last = exc
                self._cancel_prompt()
            except CommandError as exc:
                last = exc
        raise last

    def _cancel_prompt(self) -> None:
        """Write ESC outside any transaction and give the modem a moment to answer it (its OK, if any,
        arrives while no command waits and is dropped as such)."""
        log.warning("the modem does not answer: cancelling an SMS prompt it may be waiting in")
        self.modem._write(b"\x1b")
        self.modem._closing.wait(0.3)

    def _unlock_sim(self) -> None:
        m = self.modem
        if self._fatal is not None:
            raise self._fatal
        state = self._pin_state()
        if state in _PIN_STATES_READY:
            return
        if state == "SIM PUK":
            raise self._remember(SimPukRequired("AT+CPIN?", 12, "SIM PUK required"))
        if state != "SIM PIN":
            raise CmeError("AT+CPIN?", None, f"unexpected SIM state {state!r}")
        if m.pin is None:
            raise SimPinRequired("AT+CPIN?", 11, "SIM PIN required and none configured")
        try:
            self.pin_entered = True     # the SIM now prints its boot lines: expected, not a reboot
            self._cmd(f'AT+CPIN="{m.pin}"')
        except CmeError as exc:
            if exc.code == 12 or "PUK" in exc.text.upper():
                raise self._remember(SimPukRequired(exc.command, exc.code, exc.text)) from exc
            if exc.temporary:
                # SIM busy (14), device busy (515)...: the SIM did not judge the PIN, so no try was used.
                # Raised as-is (not remembered): open()'s caller / recover() retry with their backoff.
                raise CmeError('AT+CPIN="****"', exc.code, exc.text) from exc
            # 16 "incorrect password" and any refusal we cannot classify: we cannot tell whether the SIM
            # counted a try, so never retry it (three wrong tries lock the SIM).
            raise self._remember(WrongPin('AT+CPIN="****"', exc.code, exc.text)) from exc
        except CommandError as exc:
            raise self._remember(WrongPin('AT+CPIN="****"', exc.code, exc.text)) from exc
        deadline = time.monotonic() + m.timeouts.sim_ready
        while self._pin_state() != "READY":
            if time.monotonic() > deadline:
                raise CommandTimeout("AT+CPIN?", m.timeouts.sim_ready)
            time.sleep(0.1)

    def _pin_state(self) -> str:
        try:
            response = self._cmd("AT+CPIN?")
        except CmeError as exc:
            if exc.code == 11:
                return "SIM PIN"
            if exc.code == 12:
                return "SIM PUK"
            raise
        line = find_line(response.lines, "+CPIN")
        return line.split(":", 1)[1].strip().strip('"').upper()

    def _remember(self, exc: ModemError) -> ModemError:
        self._fatal = exc
        return exc

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                kind, payload = self.jobs.get(timeout=0.1)
            except queue.Empty:
                kind, payload = "tick", None
            if kind == "stop":
                break
            try:
                self._do(kind, payload)
                self._tick()
            except Exception:            # the supervisor must survive anything a modem says
                log.exception("supervisor job %s failed", kind)

    def _do(self, kind: str, payload) -> None:
        m = self.modem
        if kind == "urc":
            self.router.dispatch(payload)
        elif kind == "lost":
            reason, generation = payload
            if generation == m.generation:
                self.recover(reason)
        elif kind == "after-connect":
            self._after_connect()

    def _tick(self) -> None:
        m = self.modem
        now = time.monotonic()
        if self._reboot_due is not None and now >= self._reboot_due:
            self._reboot_due = None
            self._reinit_in_place()
            return
        if not m.ready.is_set():
            return
        if m.inbox.report_storage_dirty:
            self._guard(m.inbox.sweep_reports, m.inbox.report_storage_dirty)
        if now >= self._next_maintenance:
            self._next_maintenance = now + m.maintenance_interval
            self.maintain()
        if now >= self._next_sim_sweep:
            self._next_sim_sweep = now + m.sim_sweep_interval
            self._guard(m.inbox.sweep)
        if self._liveness_requested or now - m.last_rx >= m.liveness_interval:
            self._liveness_requested = False
            self._probe()

    def maintain(self) -> None:
        """Expiry and reassembly sweeps at the driver clock's ``now``."""
        m = self.modem
        now = m.clock()
        with m.state_lock:
            updates = m.tracker.sweep(now)
            incomplete = m.reassembler.sweep(now)
            if updates or incomplete:
                m.persist()
        for update in updates:
            m.emit(update)
        for assembled in incomplete:
            m.inbox.offer_assembled(assembled)

    def _guard(self, action, *args) -> None:
        try:
            action(*args)
        except (CommandTimeout, ModemDisconnected) as exc:
            log.warning("%s interrupted: %s", getattr(action, "__name__", action), exc)
        except (CommandError, ModemError) as exc:
            log.warning("%s failed: %s", getattr(action, "__name__", action), exc)

    def _probe(self) -> None:
        m = self.modem
        if m._txn is not None:
            return          # a command is in flight: it is the liveness check, with its own timeout
        try:
            m.command("AT", timeout=m.timeouts.liveness)
        except CommandTimeout:
            log.error("modem on %s does not answer: treating it as hung", m.url)
            m.link_lost(ModemDisconnected("no answer to liveness AT"), m.generation)
        except (ModemDisconnected, CommandError):
            pass

    def _after_connect(self) -> None:
        m = self.modem
        self._guard(m.inbox.run_deferred_deletes)
        self._guard(m.inbox.replay_inline)
        self._guard(m.inbox.sweep)
        self._next_sim_sweep = time.monotonic() + m.sim_sweep_interval

    def _reinit_in_place(self) -> None:
        """The modem rebooted but the port stayed: re-run init (reopen if that fails)."""
        m = self.modem
        log.warning("modem %s rebooted; re-initialising", m.url)
        m.emit(ModemStateChanged(DISCONNECTED, "modem rebooted", m.clock()))
        try:
            self.initialise()
        except (WrongPin, SimPukRequired, SimPinRequired) as exc:
            self._give_up(exc)
            return
        except (ModemError, OSError) as exc:
            log.warning("re-init after reboot failed (%s); reopening", exc)
            self.recover(f"re-init failed: {exc}", announce=False)
            return
        self.reinitialisations += 1
        m.emit(ModemStateChanged(REINITIALISED, "modem rebooted; init re-run", m.clock()))
        self._after_connect()

    def recover(self, reason: str, *, announce: bool = True) -> None:
        """Reopen the port with backoff and re-run init, until it works or the modem is closed."""
        m = self.modem
        log.warning("modem %s lost: %s; reconnecting", m.url, reason)
        m.close_port()
        if announce:
            m.emit(ModemStateChanged(DISCONNECTED, reason, m.clock()))
        failures = 0
        while not self._stop.is_set():
            try:
                m.reopen_port()
                self.initialise()
            except (WrongPin, SimPukRequired, SimPinRequired) as exc:
                self._give_up(exc)
                return
            except (ModemError, OSError) as exc:
                failures += 1
                m.close_port()
                delay = m.reconnect_backoff.delay(failures)
                log.info("reconnect attempt %d failed (%s); next in %.2f s", failures, exc, delay)
                if self._stop.wait(delay):
                    return
                continue
            # drop URCs/loss reports queued against the dead port
            self.reinitialisations += 1
            m.emit(ModemStateChanged(REINITIALISED, f"reconnected after: {reason}", m.clock()))
            self._after_connect()
            return

    def _give_up(self, exc: ModemError) -> None:
        m = self.modem
        log.error("modem %s needs a person: %s", m.url, exc)
        m.close_port()
        m.emit(ModemStateChanged(FAILED, str(exc), m.clock()))

    def network_time_urc(self, line: str) -> None:
        """A NITZ URC arrived: read the clock and report it if plausible."""
        m = self.modem
        try:
            when = m.network_time()
        except (ModemError, OSError) as exc:
            log.debug("network time read failed: %s", exc)
            return
        if when is not None:
            m.emit(NetworkTime(when, line, m.clock()))

    def noise(self, data: bytes, reason: str) -> None:
        self.modem.emit(ProtocolNoise(data, reason, self.modem.clock()))
