"""The appliance: wiring and lifecycle.

``Appliance(config)`` owns every long-lived part and is a context manager:
leaving the ``with`` block, SIGTERM or Ctrl-C stop everything in reverse
order; ``close()`` is safe to call twice. Start order:

1. the data directory and the ledger (``firmware_py.ledger``; one process owns it);
2. the demo dataset, with ``--demo`` on an empty ledger and the simulated modem only;
3. the radio (:mod:`firmware_py.modem_link`: a plugged-in modem or the simulator),
   whose events the recorder (:mod:`firmware_py.recorder`) writes to the ledger;
   each stored reply goes to the responder (:mod:`firmware_py.responder`);
4. the reminder engine: the modem pool (``modem.pool``) over the link's driver, and
   the dispatcher (``scheduler.dispatcher``), woken by APScheduler, which plans with
   the configuration's policy and the clock's trust (the network's time from the
   modem, the system's synchronisation) and sends at most once per contact; it is
   started last, in its own thread (its recovery reads the recent contact log), so the
   web page answers meanwhile; systemd is told READY once it runs (:meth:`Appliance.wait_started`);
5. the web server (waitress) around ``webui.create_app(services)``; the page may confirm the clock (kept in
   memory until restart), ask the prepaid balance (``[modem] balance_code``), download a backup, show the
   newest log lines (:class:`firmware_py.logs.RecentLines`), restart Cobrador (exit status
   :data:`RESTART_STATUS`, which systemd's ``Restart=on-failure`` restarts) and, when ``[web] allow_poweroff``,
   switch the box off.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from waitress.server import create_server

from firmware_py import __version__
from firmware_py.config import Config
from firmware_py.errors import CobradorError
from firmware_py.radio import choose_radio
from modem.stores import AtomicJsonFileStore

log = logging.getLogger("cobrador.app")

USB_ROOT = Path("/run/cobrador-usb")
"""Where ``systemd/cobrador-usb@.service`` mounts USB sticks, one folder per partition."""

RESTART_STATUS = 75
"""Exit status after a restart asked on the web page: not 0, so systemd (``Restart=on-failure``) starts it again."""


class Appliance:
    """The running Cobrador box.

    ``simulate`` forces the built-in simulated modem; ``demo`` loads the demo
    dataset into an empty ledger (only together with the simulated modem).
    ``clock`` (an aware ``datetime`` source, the system's by default) is the engine's time: the
    dispatcher's, the reply handler's, the importer's and the web page's ``now`` (tests drive a
    simulated day with it; the radio, the clock trust and the modem's reports stay on real time).
    """

    STATUS_INTERVAL = 10.0
    """Seconds between two writes of ``DATA/status.json`` (:mod:`firmware_py.status_file`, read by the CLI)."""

    def __init__(self, config: Config, *, simulate: bool = False, demo: bool = False, clock=None):
        self.config = config
        self.simulate = simulate
        self.demo = demo
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.data_dir = Path(config.data_dir)
        self.ledger = None
        self.simulation: dict | None = None  # on the simulated modem: why, and the demo's fate (see start)
        self.link = None
        self.recorder = None
        self.pool = None
        self.radio = None               # firmware_py.voice_link.VoiceRadio: the pool plus calls
        self.dispatcher = None
        self.responder = None
        self._catch_up: threading.Thread | None = None  # stored replies handled after the start
        self._dispatcher_start: threading.Thread | None = None  # the dispatcher's start, off the main thread
        self._policy = config.policy()
        self._policy_overrides: dict = {}
        self._server = None
        self._closed = False
        self._helpers: list = []        # status file, the CLI's control requests, clock keeping
        self.panel = None               # firmware_py.panel_link.LinkedPanel: the box's LEDs and button
        self.usb = None                 # firmware_py.usb.StickWatcher over USB_ROOT
        self._clock_confirmed = False   # staff confirmed the time on the web page (until restart)
        self._clock_was_trusted = False
        self._restart_requested = False
        self.recent_logs = None         # firmware_py.logs.RecentLines, attached to the root logger at start

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "Appliance":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Open the ledger, start the radio and prepare the web server (does not block; once only)."""
        if self.ledger is not None:
            return
        from firmware_py.panel_link import ApplianceStatus, appliance_callbacks, start_panel

        self.panel = start_panel(self.config, ApplianceStatus(self),
                                 appliance_callbacks(self, usb_import=lambda: self.usb and self.usb.scan_now()))
        from firmware_py.ledger import Ledger
        from firmware_py.logs import RecentLines

        self.recent_logs = RecentLines(200)
        logging.getLogger().addHandler(self.recent_logs)
        from firmware_py.modem_link import ModemLink
        from firmware_py.recorder import EventRecorder

        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CobradorError(f"No se puede crear el directorio de datos {self.data_dir}: {exc.strerror}.") from exc
        # the planner and the dispatcher read HISTORY_DAYS (120) of contacts on every pass: keep that much decoded
        # (the months it spans, from two days before it: the ledger drops the oldest month's earlier days)
        from scheduler.planner import HISTORY_DAYS

        self.ledger = Ledger.open(self.data_dir, recent_months=5, recent_days=HISTORY_DAYS + 2)
        choice = choose_radio(self.config.modem.port, simulate=self.simulate)
        log.info("radio: %s", choice.reason)
        if choice.kind == "simulator":
            # every page says so (webui.simulation): why the modem is simulated, and what became of the demo
            demo, loans = "off", 0
            if self.demo:
                from firmware_py.demo import load_demo

                now = self.clock()
                report = load_demo(self.ledger, self.config, now=now,
                                   today=now.astimezone(ZoneInfo(self.config.cooperative.timezone)).date())
                demo, loans = ("skipped", 0) if report is None else ("loaded", report.imported)
            self.simulation = {"why": "requested" if self.simulate else "no_modem", "demo": demo, "loans": loans}
        events: queue.Queue = queue.Queue()
        # The driver's matching state (outstanding reports, partial multiparts) changes with every SMS; it lives
        # in its own atomically replaced file so it neither grows the ledger's journal nor forces its compaction.
        self.link = ModemLink(choice, profile=self.config.modem.profile, pin=self.config.modem.pin,
                              store=AtomicJsonFileStore(self.data_dir / "modem-driver.json"), events=events,
                              sim_link=self.data_dir / "simulated-modem")
        self._start_engine()
        self.recorder = EventRecorder(self.ledger, events, country=self.config.cooperative.country,
                                      on_status=self.link.note_event, on_reply=self.responder.handle)
        self.recorder.start()
        self.link.start()
        if self.demo and choice.kind == "simulator":
            from firmware_py.demo import give_demo_phones_a_voice

            give_demo_phones_a_voice(self.link, self.ledger)
        self._start_usb()
        self._start_web()
        self._start_helpers()
        # Last, once the web page and the modem are up, each in its own thread: the dispatcher's start (its
        # recovery of contacts left "sending", then its first pass) and the replies of the last 30 days not
        # handled before a stop. Both read the recent contact log — seconds of decoding for a large one, which
        # would otherwise keep the page from answering until it is done.
        self._catch_up = threading.Thread(target=self._catch_up_replies, name="responder-catch-up", daemon=True)
        self._catch_up.start()
        self._dispatcher_start = threading.Thread(target=self._start_dispatcher, name="dispatcher-start",
                                                  daemon=True)
        self._dispatcher_start.start()
        log.info("cobrador %s started; data in %s", __version__, self.data_dir.resolve())

    def _start_dispatcher(self) -> None:
        """The dispatcher's start (recovery, then APScheduler's ticks), off the main thread; a failure is logged
        and leaves the appliance unhealthy (systemd is never told READY and the watchdog is not fed)."""
        try:
            self.dispatcher.start()
        except Exception:
            log.exception("the dispatcher could not start: nothing will be sent")

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until the dispatcher has started (True), failed or ``timeout`` passed (False)."""
        starter = self._dispatcher_start
        if starter is not None:
            starter.join(timeout)
            if starter.is_alive():
                return False
        return self.dispatcher is not None and self.dispatcher.running

    def _catch_up_replies(self) -> None:
        try:
            handled = self.responder.catch_up()
        except Exception:  # stopped meanwhile (ledger closed), a disk error: the next start catches up
            log.exception("replies stored before the start could not be handled now")
            return
        if handled:
            log.info("%d stored repl%s handled after the start", handled, "y" if handled == 1 else "ies")

    def _start_helpers(self) -> None:
        """``DATA/status.json`` for ``cobrador status`` (:mod:`firmware_py.status_file`), the command's requests
        in ``DATA/control`` (:mod:`firmware_py.control`: pause, resume, set-password) and the clock keeping
        (:mod:`firmware_py.clock_loop`: last known time, network-time corrections)."""
        from firmware_py.clock_loop import ClockLoop
        from firmware_py.control import ControlWatcher, appliance_handlers
        from firmware_py.status_file import StatusPublisher

        self._helpers = [ControlWatcher(self.data_dir, appliance_handlers(self)),
                         ClockLoop(self.data_dir, trust=lambda: self.policy().clock,
                                   network_now=self.link.network_now),
                         StatusPublisher(self, interval=self.STATUS_INTERVAL)]
        for helper in self._helpers:
            helper.start()

    def password_reset_allowed(self) -> bool:
        """The web page's password reset is open: the panel's button was held at start, or
        ``cobrador set-password --allow-web-reset MINUTES`` opened it (``DATA/control/password-reset-until``)."""
        from firmware_py.control import password_reset_open

        panel = self.panel is not None and self.panel.password_reset_allowed()
        return bool(panel) or password_reset_open(self.data_dir)

    def _start_engine(self) -> None:
        from firmware_py.modem_link import LinkedModem
        from firmware_py.responder import ReplyHandler
        from modem.pool import ModemPool, PoolMember, SimLimits
        from scheduler.dispatcher import Dispatcher

        from firmware_py.voice_link import VoiceRadio

        zone = ZoneInfo(self.config.cooperative.timezone)
        limits = SimLimits(min_gap=float(self.config.modem.min_gap_seconds))
        voice = self.config.voice
        member = LinkedModem(self.link, audio_port=voice.audio_port)
        self.pool = ModemPool([PoolMember("módem 1", member, limits)],
                              day=lambda epoch: datetime.fromtimestamp(epoch, zone).date(),
                              sent_today={"módem 1": _sent_today(self.ledger, zone)})
        self.radio = VoiceRadio(self.pool, voice, can_play=member.why_no_audio)
        self.dispatcher = Dispatcher(self.ledger, self.radio, self.policy, workers=1, on_event=self.panel.on_event,
                                     interval=float(self.config.engine_interval), clock=self.clock,
                                     on_reply=lambda reply: self.responder.handle(reply),
                                     keypad_promise_days=voice.keypad_promise_days)
        self.responder = ReplyHandler(self.ledger, self.policy, wake=self.dispatcher.wake, clock=self.clock,
                                      keypad_promise_days=voice.keypad_promise_days,
                                      inbound_call_balance=voice.inbound_call_balance)

    def policy(self):
        """The configuration's policy, with the engine settings edited on the web page laid over it
        (``scheduler.policy.merge_sections``) and the clock's trust as of now (network time from the modem)."""
        from firmware_py.timekeeping import system_clock_trust
        from scheduler.errors import PolicyError
        from scheduler.policy import SETTINGS_KEY, load_policy, merge_sections

        overrides = (self.ledger.settings.get(SETTINGS_KEY) if self.ledger is not None else None) or {}
        if overrides != self._policy_overrides:
            coop = self.config.cooperative
            try:
                self._policy = load_policy(merge_sections(self.config.engine, overrides), country=coop.country,
                                           cooperative_name=coop.name, language=coop.language,
                                           timezone=coop.timezone)
            except PolicyError as exc:  # the page validates before saving; an old bad value must not stop sending
                log.error("engine settings from the web page refused, keeping the file's: %s", exc)
            self._policy_overrides = overrides
        now = datetime.now(timezone.utc)
        network = self.link.network_now() if self.link is not None else None
        policy = self._policy.with_clock(system_clock_trust(now, network_now=network,
                                                            confirmed_by_staff=self._clock_confirmed))
        if self.radio is not None:  # a call step on a box that cannot play audio now goes to its fallback
            policy = policy.with_channels(self.radio.channels())
        if policy.clock.trusted and not self._clock_was_trusted and self.dispatcher is not None:
            self.dispatcher.wake()  # the time just became trusted: what waited for it goes now, not at the next tick
        self._clock_was_trusted = policy.clock.trusted
        return policy

    # -- what the web page may ask -------------------------------------------
    def confirm_clock(self) -> None:
        """Staff compared the box's time with their phone on the web page: the clock counts as confirmed until
        Cobrador restarts (a clock before the release or far from the network's time stays untrusted)."""
        self._clock_confirmed = True
        log.info("clock confirmed by staff on the web page")

    def check_balance(self) -> str:
        """The operator's answer to ``[modem] balance_code`` (USSD); RuntimeError with a Spanish message when the
        modem is not connected or the network does not answer."""
        from modem.errors import ModemError

        modem = self.link.modem if self.link is not None else None
        if modem is None or modem.closed:
            raise RuntimeError("No hay módem conectado: no se puede consultar el saldo ahora.")
        health = next((h.sim_health for h in self._helpers if getattr(h, "sim_health", None) is not None), None)
        if health is not None and health.limits.balance_code:
            # through the SIM's health record, so the page, `cobrador status` and the alert LED see this answer
            record = health.check_balance(timeout=30)
            balance = record.get("balance") or {}
            if balance.get("at") != record.get("checked_at"):   # not answered now: the previous amount was kept
                raise RuntimeError(f"La consulta de saldo no tuvo respuesta ({balance.get('error')}). "
                                   "Inténtelo más tarde.")
            return balance.get("raw") or ""
        try:
            return modem.ussd(self.config.modem.balance_code, timeout=30)
        except ModemError as exc:
            raise RuntimeError(f"El operador no respondió la consulta de saldo ({exc}). "
                               "Inténtelo más tarde.") from exc

    def backup_copy(self) -> Path:
        """A consistent copy of the ledger in a new temporary directory (the caller deletes that directory)."""
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="cobrador-respaldo-"))
        try:
            return self.ledger.backup(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def request_restart(self) -> None:
        """Restart asked on the web page: SIGTERM to this process a moment later (the answer goes out first);
        :meth:`serve_forever` then ends with :data:`RESTART_STATUS` so systemd starts Cobrador again."""
        import os

        self._restart_requested = True
        log.warning("restart asked on the web page")
        timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    def poweroff(self) -> None:
        """Switch the box off (``systemctl poweroff``: Cobrador is stopped cleanly first). Only offered when
        ``[web] allow_poweroff``; RuntimeError with a Spanish message when the system refuses."""
        import subprocess

        log.warning("power-off asked on the web page")
        try:
            result = subprocess.run(["systemctl", "poweroff"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"No se pudo apagar el equipo ({exc}). Avise al soporte técnico.") from exc
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip()[:200] or f"código {result.returncode}"
            raise RuntimeError(f"El sistema no dejó apagar el equipo ({reason}). Falta el permiso del "
                               "servicio para apagar; avise al soporte técnico.")

    def _start_usb(self) -> None:
        """Watch USB_ROOT for sticks mounted by ``cobrador-usb@.service`` (nothing there on a laptop)."""
        from firmware_py.usb import StickWatcher, process_stick

        def handle(mount):
            report = process_stick(mount, self.ledger, self.config, now=datetime.now(timezone.utc),
                                   progress=lambda _step: self.panel.flash())
            if report.imported_files:
                self.dispatcher.wake()
            return report

        self.usb = StickWatcher(USB_ROOT, handle).start()

    def _start_web(self) -> None:
        from webui import create_app

        app = create_app(self.services())
        try:
            self._server = create_server(app, host=self.config.web.host, port=self.config.web.port, threads=4)
        except OSError as exc:
            raise CobradorError(
                f"No se puede abrir la página web en {self.config.web.host}:{self.config.web.port}: {exc.strerror}. "
                "¿Hay otro Cobrador funcionando? Pruebe con --port."
            ) from exc

    @property
    def url(self) -> str:
        host = self.config.web.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        port = self._server.effective_port if self._server else self.config.web.port
        return f"http://{shown}:{port}/"

    def services(self):
        """The objects the web UI works through (:class:`webui.services.Services`)."""
        from webui.services import Services

        return Services(ledger=self.ledger, cooperative=self.config.cooperative.name, version=__version__,
                        policy=self.policy, modem_status=self.link.status, wake=self.dispatcher.wake,
                        engine_base=lambda: self.config.engine, confirm_clock=self.confirm_clock,
                        check_balance=self.check_balance if self.config.modem.balance_code else None,
                        backup=self.backup_copy, restart=self.request_restart,
                        shutdown=self.poweroff if self.config.web.allow_poweroff else None,
                        recent_logs=self.recent_logs.lines if self.recent_logs is not None else None,
                        password_reset_allowed=self.password_reset_allowed,
                        secret_key=_secret_key(self.data_dir), country=self.config.cooperative.country,
                        timezone=self.config.cooperative.timezone, now=self.clock,
                        simulation=self.simulation,
                        # the dashboard plans with the dispatcher's memory; the debtor list is warmed once the
                        # dispatcher has run (its recovery and first plan read the contact log and every debtor:
                        # systemd's READY waits for the first, and both at once would only make a higher peak)
                        extra={"planner": self.dispatcher.planner,
                               "warm_after": getattr(self.dispatcher, "ticked", None)},
                        **importer_services(self.config, self.ledger, now=self.clock))

    def serve_forever(self) -> None:
        """Serve the web UI until SIGTERM/SIGINT."""
        if self._server is None:
            self.start()
        if threading.current_thread() is threading.main_thread():
            # waitress's loop ends cleanly on SystemExit/KeyboardInterrupt raised in the main thread.
            signal.signal(signal.SIGTERM, _raise_system_exit)
        print(f"Cobrador está funcionando: abra {self.url} en el navegador (Ctrl-C para salir).", flush=True)
        from firmware_py.sdnotify import Watchdog, notify

        def ready() -> None:  # systemd hears READY once the dispatcher is up too (the page answers meanwhile)
            if self.wait_started():
                notify(f"READY=1\nSTATUS=Cobrador funcionando en {self.url}")

        threading.Thread(target=ready, name="notify-ready", daemon=True).start()
        with Watchdog(self.healthy):
            try:
                self._server.run()
            finally:
                notify("STOPPING=1")
        log.info("stopping")
        if self._restart_requested:
            raise SystemExit(RESTART_STATUS)

    def healthy(self) -> bool:
        """True while every long-lived part is alive (what the systemd watchdog is fed on)."""
        parts_alive = (self.ledger is not None and not self.ledger.closed
                       and self.recorder is not None and self.recorder.alive
                       and self.dispatcher is not None and self.dispatcher.running)
        return bool(parts_alive)

    def close(self) -> None:
        """Stop every part in reverse order; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for helper in reversed(self._helpers):
            helper.close()
        if self._server is not None:
            self._server.close()
        if self._catch_up is not None:
            self._catch_up.join(timeout=10)  # a stored reply half handled is handled again at the next start
        if self._dispatcher_start is not None:
            self._dispatcher_start.join()  # its recovery writes the ledger; then it is stopped below
        if self.dispatcher is not None:
            self.dispatcher.close()   # a send in flight finishes and its outcome is written
        if self.pool is not None:
            self.pool.close()
        if self.link is not None:
            self.link.close()
        if self.recorder is not None:
            self.recorder.close()
        if self.usb is not None:
            self.usb.close()
        if self.ledger is not None:
            self.ledger.close()
        if self.panel is not None:
            self.panel.close()   # last: the LEDs go dark once everything has stopped
        log.info("cobrador stopped")
        if self.recent_logs is not None:
            logging.getLogger().removeHandler(self.recent_logs)


def importer_services(config: Config, ledger, *, now=lambda: datetime.now(timezone.utc)) -> dict:
    """The web page's ``preview_file`` and ``import_file`` (:class:`webui.services.Services`): the importer the
    CLI uses, with the configuration's country, time zone and language, into ``ledger``. A file that cannot be
    imported raises ``ImportFileError`` (a ``ValueError`` with ``reason``); a ledger error during the batch
    (disk full, integrity) is raised as one too, its Spanish message kept (nothing was written)."""
    from firmware_py.importer import ImportFileError, ImportOptions, import_loans
    from firmware_py.importer import preview_file as _preview

    def preview_file(stream, mapping=None):
        return _preview(stream, mapping)

    def import_file(stream, *, mapping=None, dry_run=False, source_name="", rejects=None, progress=None):
        options = ImportOptions.from_config(config, mapping=mapping, dry_run=dry_run, rejects=rejects,
                                            source_name=source_name)
        try:
            return import_loans(stream, ledger, now=now(), options=options, progress=progress)
        except ImportFileError:
            raise
        except CobradorError as exc:
            raise ImportFileError(str(exc), reason="ledger") from exc

    return {"preview_file": preview_file, "import_file": import_file}


def _secret_key(data_dir: Path) -> bytes:
    """The web session's signing key, made once and kept in the data directory (readable by Cobrador only),
    so sessions survive a restart."""
    import os

    path = data_dir / "web-secret"
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _sent_today(ledger, zone) -> int:
    """SMS the SIM already sent today (the pool's daily cap survives a restart)."""
    now = datetime.now(timezone.utc)
    start = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
    return sum(1 for e in ledger.contacts(since=start, kinds=("sent",)) if e.channel == "sms")


def _raise_system_exit(signum, frame):
    raise SystemExit(0)
