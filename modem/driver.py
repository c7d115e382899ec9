"""Our own GSM modem driver: one reader thread, one lock per transaction, events on a queue.

``Modem(url, profile=..., pin=..., store=..., events=..., clock=...)`` talks
AT commands (PDU mode) over a port opened by URL (:mod:`modem.transport`).

Threads and locks (the design that makes python-gsmmodem's bugs 1-4, 8-10
impossible here — see docs/architecture.md, "Why our own modem driver"):

- ONE reader thread only reads bytes and feeds :class:`modem.at.AtParser`,
  which classifies every line as unsolicited or response *before* collecting
  it. Responses complete the waiting transaction; a ``> `` prompt wakes it;
  URCs go to the supervisor's job queue. The reader never runs consumer code
  and never writes, so it cannot block; any exception from the parser or a
  handler is logged and the thread goes on (a dead reader is impossible by
  construction: its loop catches everything but ``SystemExit``).
- ONE lock per *transaction*: ``AT+CMGS=<len>`` → prompt → body + Ctrl-Z →
  final result is held under one lock, so a concurrent signal poll can never
  land inside a body.
- The supervisor thread (:mod:`modem.supervisor`) runs everything that needs
  commands in reaction to the modem (``+CMTI`` → ``AT+CMGR``, ``+CDSI``, SIM
  sweeps, expiry sweeps, liveness, reconnect and re-init). Consumers get
  :mod:`modem.events` objects on ``modem.events`` (a ``queue.Queue``) and run
  in their own threads.
- The transaction lock is FIFO (:class:`modem.transaction.FairLock`): a
  sender in a tight loop cannot starve the supervisor's ``+CMTI`` reads.
- A small store thread writes the durable state (report matching,
  reassembly, inline messages) behind the send path, coalescing bursts
  (``persist_delay``), so an fsync never sits between two sends; inline
  ``+CMT`` messages are saved before they are offered; ``close()`` flushes.

Typical use::

    with Modem("/dev/serial/by-id/usb-Quectel_EC25-if02-port0", profile="quectel-ec25",
               store=AtomicJsonFileStore(state_dir / "modem.json")) as modem:
        sent = modem.send_sms("+573001234567", "Su cuota vence mañana", message_id="c-1")  # id optional
        event = modem.events.get()          # IncomingSms / DeliveryUpdate / ModemStateChanged ...
        if isinstance(event, IncomingSms):
            ledger.store(event); event.ack()      # deleted from the SIM only now

Calls: :meth:`Modem.call` dials and follows a call to its outcome, :meth:`Modem.ring`
rings and hangs up (a ring reminder); both return :class:`modem.voice.calls.CallResult`
and hold ``radio_lock`` (the lock of a whole SMS send) from dial to hang-up. Incoming
calls are rejected (``incoming_calls="reject"``, or "answer" / "ignore") and reported
as :class:`modem.events.IncomingCall`. See :mod:`modem.voice.calls`.

Sending: :meth:`Modem.send_sms` returns :class:`modem.sending.SentSms` (see
its docstring for the states ``sent`` / ``failed`` / ``uncertain``); it
raises :class:`ModemDisconnected` only when nothing reached the modem (safe
to resend), and :class:`PduError` for text or numbers that cannot be encoded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from modem import info
from modem.at import AtParser, Noise, Prompt, Response, Urc
from modem.errors import CommandTimeout, ModemDisconnected, ModemError
from modem.events import CLOSED, ModemStateChanged, ProtocolNoise
from modem.profiles import Profile, get_profile
from modem.retry import Backoff
from modem.state import DriverState
from modem.stores import DriverStore, MemoryStore
from modem.transport import SerialTransport
from modem.transaction import FairLock, SendProgress, Timeouts, Transaction

log = logging.getLogger("cobrador.modem.driver")


def redact(line: str) -> str:
    """A command line fit for logs and error messages: the SIM PIN/PUK never leaves the driver."""
    if line.upper().startswith(("AT+CPIN=", "AT+CPWD=", "AT+CLCK=")):
        return line.split("=", 1)[0] + '="****"'
    return line


class Modem:
    """A GSM modem on ``url`` (device path or pyserial URL). Context manager; ``close()`` safe twice.

    ``profile``: a :class:`Profile` or its name. ``pin``: the SIM PIN, if the SIM
    has one. ``store``: a :class:`DriverStore` for report-matching, reassembly
    and unacked inline messages (default: in memory). ``events``: the queue
    events are put on (default: a new one, ``modem.events``). ``clock``: epoch
    seconds for report/reassembly windows (injectable for tests).
    ``report_expiry``: seconds without a final status report before a part is
    ``expired``; ``reassembly_timeout``: seconds before a partial multipart is
    delivered incomplete. ``send_backoff``: retries for temporary CMS errors.
    ``incoming_calls``: "reject" (default), "answer" or "ignore" (see :mod:`modem.voice.calls`).
    """

    def __init__(self, url: str, *, profile: Profile | str = "generic", pin: str | None = None,
                 store: DriverStore | None = None, events: queue.Queue | None = None, clock=time.time,
                 timeouts: Timeouts = Timeouts(), send_backoff: Backoff = Backoff(attempts=3, base=0.5),
                 reconnect_backoff: Backoff = Backoff(attempts=1_000_000, base=0.1, factor=2.0, cap=5.0),
                 report_expiry: float = 2 * 86400.0, report_retention: float | None = None,
                 reassembly_timeout: float = 3600.0, liveness_interval: float = 30.0,
                 sim_sweep_interval: float = 300.0, maintenance_interval: float = 1.0,
                 boot_settle: float = 0.5, persist_delay: float = 0.05, baudrate: int = 115200,
                 incoming_calls: str = "reject"):
        from modem.incoming import Inbox
        from modem.sending import Sender
        from modem.supervisor import Supervisor
        from modem.voice.calls import Voice

        self.url = str(url)
        self.profile = get_profile(profile)
        self.pin = pin
        self.store = store if store is not None else MemoryStore()
        self.events: queue.Queue = events if events is not None else queue.Queue()
        self.clock = clock
        self.timeouts = timeouts
        self.send_backoff = send_backoff
        self.reconnect_backoff = reconnect_backoff
        self.liveness_interval = liveness_interval
        self.sim_sweep_interval = sim_sweep_interval
        self.maintenance_interval = maintenance_interval
        self.boot_settle = boot_settle
        self._transport = SerialTransport(self.url, baudrate=baudrate)
        self._parser = AtParser(self.profile)
        self._parser_lock = threading.Lock()      # feed() vs command()/body(): tiny critical sections
        self._txn_lock = FairLock()               # one transaction at a time, waiters served in order
        self._txn: Transaction | None = None
        self.ussd_lock = threading.Lock()         # one USSD session at a time
        self.state = DriverState(self.store, report_expiry=report_expiry, report_retention=report_retention,
                                 reassembly_timeout=reassembly_timeout, delay=persist_delay)
        self.state_lock = self.state.lock         # tracker + reassembler + inline inbox
        self.tracker = self.state.tracker
        self.reassembler = self.state.reassembler
        self.inline_inbox = self.state.inline

        self._port_open = threading.Event()       # the reader may read
        self.ready = threading.Event()            # init done: user commands allowed
        self._closing = threading.Event()
        self._closed = False
        self._opened = False
        self.generation = 0                       # bumped on every (re)open; stale loss reports are ignored
        self.last_rx = time.monotonic()
        self.last_cmgs_final: float | None = None  # monotonic time of the last CMGS final result (benchmarks)
        self.dead_times: list[float] = []          # CMGS final -> next CMGS bytes out, seconds (bounded)

        self.sender = Sender(self)
        self.inbox = Inbox(self)
        self.supervisor = Supervisor(self)
        self.radio_lock = self.sender._lock       # a whole SMS send, or a whole call: never both at once
        self.voice = Voice(self, incoming_calls=incoming_calls)
        self.supervisor.router.call_handlers[self.profile.call_urc_style] = self.voice.on_urc
        self._reader = threading.Thread(target=self._read_loop, name="cobrador-modem-reader", daemon=True)

    # -- lifecycle -------------------------------------------------------
    def __enter__(self) -> "Modem":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Open the port, run the profile's init, start the threads.

        Raises ModemDisconnected (port cannot be opened), CommandTimeout (no
        answer), SimPinRequired / WrongPin / SimPukRequired (SIM locked; a
        wrong PIN is never retried), CmeError/CommandError from init.
        """
        if self._opened:
            return
        if self._closed:
            raise ModemDisconnected("modem was closed")
        self._opened = True
        self._reader.start()
        self.state.start()
        try:
            self.supervisor.connect_first()
        except BaseException:
            self.close()
            raise
        self.supervisor.start()

    def close(self) -> None:
        """Stop the threads and close the port; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self.ready.clear()
        self._port_open.clear()
        self.voice.close()
        self._fail_transaction(ModemDisconnected("modem closed"))   # wakes a supervisor mid-command
        self.supervisor.stop()
        self._fail_transaction(ModemDisconnected("modem closed"))
        self.state.stop()
        self._transport.close()
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(timeout=2.0)
        self.emit(ModemStateChanged(CLOSED, "closed by the application", self.clock()))
        log.info("modem %s closed", self.url)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- events and persistence --------------------------------------------
    def emit(self, event) -> None:
        """Hand an event to consumers (never blocks: the queue is unbounded unless the caller made it not)."""
        try:
            self.events.put_nowait(event)
        except queue.Full:
            log.error("event queue full; dropping %r", event)

    def persist(self, *, now: bool = False) -> None:
        """The durable state changed (call with ``state_lock`` held); see :meth:`DriverState.persist`."""
        self.state.persist(now=now)

    # -- the reader thread -----------------------------------------------------
    def _read_loop(self) -> None:
        while not self._closing.is_set():
            if not self._port_open.wait(0.2):
                continue
            generation = self.generation
            try:
                data = self._transport.read()
            except ModemDisconnected as exc:
                self.link_lost(exc, generation)
                time.sleep(0.01)
                continue
            except Exception:           # never let the reader die
                log.exception("unexpected error reading the port")
                continue
            if data:
                self.last_rx = time.monotonic()
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("< %r", data[:200])
                self._feed(data)

    def _feed(self, data: bytes) -> None:
        try:
            with self._parser_lock:
                events = self._parser.feed(data)
        except Exception:
            log.exception("AT parser failed on %r", data[:200])
            self.emit(ProtocolNoise(bytes(data), "parser error", self.clock()))
            return
        for event in events:
            try:
                self._route(event)
            except Exception:
                log.exception("routing %r failed", event)

    def _route(self, event) -> None:
        if isinstance(event, Response):
            txn = self._txn
            if txn is not None and txn.response is None and txn.lost is None:
                txn.final_at = time.monotonic()
                txn.response = event
                txn.changed.set()
            else:
                log.warning("response with no command waiting: %r", event)
        elif isinstance(event, Prompt):
            txn = self._txn
            if txn is not None:
                txn.prompt = True
                txn.changed.set()
        elif isinstance(event, Urc):
            self.supervisor.router.early(event)
            self.supervisor.post_urc(event)
        elif isinstance(event, Noise):
            log.warning("modem noise (%s): %r", event.reason, event.data[:120])
            self.emit(ProtocolNoise(bytes(event.data), event.reason, self.clock()))
        else:
            log.debug("unknown parser event %r", event)

    # -- link state ------------------------------------------------------------
    def link_lost(self, exc: BaseException, generation: int | None = None) -> None:
        """The port failed (from the reader, a writer, or a hang): fail the transaction, wake the supervisor."""
        if generation is not None and generation != self.generation:
            return
        if not self._port_open.is_set() or self._closing.is_set():
            return
        self._port_open.clear()
        self.ready.clear()
        lost = exc if isinstance(exc, ModemDisconnected) else ModemDisconnected(str(exc))
        self._fail_transaction(lost)
        self.supervisor.post_lost(str(exc), self.generation)

    def reopen_port(self) -> None:
        """(Supervisor) close and reopen the same URL; the reader resumes on the new port."""
        self._port_open.clear()
        self._transport.close()
        self.generation += 1
        self._transport.open()
        with self._parser_lock:
            self._parser.reset()
        self.last_rx = time.monotonic()
        self._port_open.set()

    def close_port(self) -> None:
        self._port_open.clear()
        self.ready.clear()
        self._transport.close()

    def _fail_transaction(self, exc: ModemDisconnected) -> None:
        txn = self._txn
        if txn is not None and txn.response is None:
            txn.lost = exc
            txn.changed.set()

    def require_ready(self) -> None:
        if self._closed:
            raise ModemDisconnected("modem is closed")
        if not self.ready.is_set():
            raise ModemDisconnected(f"modem on {self.url} is not connected (reconnecting)")

    # -- transactions ------------------------------------------------------------
    def command(self, line: str, *, timeout: float | None = None, check: bool = True,
                _internal: bool = False) -> Response:
        """Send one AT command and wait for its final result.

        Returns the :class:`Response`; with ``check`` a non-OK result raises
        (CommandError / CmeError / CmsError). Raises CommandTimeout,
        ModemDisconnected (port gone, or not initialised yet).
        """
        if not _internal:
            self.require_ready()
        response = self._transact(line, timeout=timeout if timeout is not None else self.timeouts.for_command(line))
        if check and not response.result.ok:
            response.result.raise_for(redact(line))
        return response

    def transact_send(self, line: str, body: str, progress: SendProgress) -> Response:
        """``AT+CMGS=<len>`` → prompt → ``body`` + Ctrl-Z → final result, as ONE transaction."""
        self.require_ready()     # never into a modem that is rebooting or not re-initialised yet
        return self._transact(line, timeout=self.timeouts.send, body=body, progress=progress)

    def transact_upload(self, line: str, data: bytes, *, prompt: bytes = b">", timeout: float = 60.0) -> Response:
        """``line`` → ``prompt`` (``> ``, or Quectel's ``CONNECT``) → ``data`` as is (no Ctrl-Z) → final
        result, as ONE transaction: file uploads (SIM800 ``AT+FSWRITE``, Quectel ``AT+QFUPL``). Raises
        like :meth:`command` (a non-OK result raises CommandError/CmeError)."""
        self.require_ready()
        response = self._transact(line, timeout=timeout, body=bytes(data), prompt=prompt)
        if not response.result.ok:
            response.result.raise_for(redact(line))
        return response

    def _transact(self, line: str, *, timeout: float, body: str | bytes | None = None,
                  progress: SendProgress | None = None, prompt: bytes = b">") -> Response:
        with self._txn_lock:
            if not self._port_open.is_set() or self._closing.is_set():
                raise ModemDisconnected(f"{self.url} is not open")
            txn = Transaction(line)
            with self._parser_lock:
                self._txn = txn
                data = self._parser.command(line, expect_prompt=body is not None, prompt=prompt)
            try:
                if isinstance(body, str) and self.last_cmgs_final is not None:
                    gap = time.monotonic() - self.last_cmgs_final
                    if len(self.dead_times) < 100_000:
                        self.dead_times.append(gap)
                self._write(data)
                if body is not None:
                    self._wait(txn, self.timeouts.prompt, want_prompt=True)
                    if txn.response is None:
                        with self._parser_lock:
                            payload = (self._parser.body(body) if isinstance(body, str)
                                       else self._parser.raw_body(body))
                        if progress is not None:
                            progress.body_written = True
                        self._write(payload)
                self._wait(txn, timeout, want_prompt=False)
                if isinstance(body, str):
                    self.last_cmgs_final = txn.final_at
                return txn.response
            finally:
                with self._parser_lock:
                    if txn.response is None:
                        self._parser.abandon()   # a late answer becomes Noise, never another command's
                    self._txn = None

    def _write(self, data: bytes) -> None:
        if log.isEnabledFor(logging.DEBUG):
            shown = redact(data.decode("ascii", "replace").rstrip("\r\x1a"))
            log.debug("> %s", shown if len(shown) < 80 else f"{shown[:60]}… ({len(data)} bytes)")
        generation = self.generation
        try:
            self._transport.write(data)
        except ModemDisconnected as exc:
            self.link_lost(exc, generation)
            raise

    def _wait(self, txn: Transaction, timeout: float, *, want_prompt: bool) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if txn.lost is not None:
                raise txn.lost
            if self._closing.is_set() and txn.response is None:
                raise ModemDisconnected("modem closed")
            if txn.response is not None or (want_prompt and txn.prompt):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._abandon(txn, want_prompt)
                raise CommandTimeout(redact(txn.command), timeout)
            txn.changed.wait(remaining)
            txn.changed.clear()
            # re-check the fields: they are set before the event, so a clear() here never loses a wake-up
            if txn.lost is not None or txn.response is not None or (want_prompt and txn.prompt):
                continue

    def _abandon(self, txn: Transaction, waiting_prompt: bool) -> None:
        """A command timed out: cancel a pending prompt (briefly awaiting its final result), ask for a liveness check."""
        if waiting_prompt and txn.response is None and txn.lost is None:
            try:
                with self._parser_lock:
                    cancel = self._parser.cancel_body()
                self._transport.write(cancel)
                txn.changed.wait(1.0)
            except ModemError:
                pass
        log.warning("no answer to %r; checking the modem", redact(txn.command))
        self.supervisor.request_liveness_check()

    # -- public API ------------------------------------------------------------------
    def send_sms(self, number: str, text: str, *, transliterate: bool = False, message_id: str | None = None):
        """Send an SMS; returns :class:`modem.sending.SentSms` (state sent / failed / uncertain).

        ``message_id``: the id the result, its DeliveryUpdate events and the
        durable report-matching state carry (default: a random uuid); a chosen
        one must be a non-empty str of at most 200 characters without control
        characters, not still awaiting reports on this modem (ValueError).
        Raises ModemDisconnected (or CommandTimeout) only when nothing of the
        message reached the modem — resending later is safe — and PduError for
        text or numbers that cannot be encoded. See :mod:`modem.sending`.
        """
        return self.sender.send(number, text, transliterate=transliterate, message_id=message_id)

    def ussd(self, code: str, *, timeout: float | None = None) -> str:
        """The network's answer to USSD ``code`` (e.g. ``"*611#"``), decoded per profile."""
        return info.ussd(self, code, timeout=timeout)

    def signal(self) -> "info.Signal":
        """``AT+CSQ`` → Signal(rssi, dbm) (dbm None when unknown)."""
        result = info.signal(self)
        self.supervisor.router._signal(result.rssi)
        return result

    def registration(self) -> "info.Registration":
        """``AT+CREG?`` (and ``AT+CEREG?`` on LTE profiles) → Registration."""
        return info.registration(self)

    def operator(self) -> str | None:
        """``AT+COPS?`` → operator name, or None when not registered."""
        return info.operator(self)

    def network_time(self):
        """``AT+CCLK?`` → aware datetime, or None when the modem shows a factory default (e.g. 04/01/01)."""
        return info.network_time(self)

    def identity(self) -> "info.Identity":
        """(imei, imsi, iccid, manufacturer, model)."""
        return info.identity(self)

    def sweep_sim(self) -> None:
        """Run the SIM storage sweep (``AT+CMGL=4``) now, on the caller's thread."""
        self.inbox.sweep()

    def maintain(self) -> None:
        """Run the report-expiry and reassembly-timeout sweeps now (the supervisor also runs them)."""
        self.supervisor.maintain()

    def call(self, number: str, *, call_id: str | None = None, ring_timeout: float = 30.0, message=None,
             repeat: int = 2, listen_after: float = 6.0, player=None):
        """Dial ``number`` and follow the call to its outcome: :class:`modem.voice.calls.CallResult`
        (answered / busy / no_answer / rejected / unreachable / failed). Hangs up ``ring_timeout`` s
        after it began to ring; when answered, plays ``message`` with ``player`` ``repeat`` times,
        listens ``listen_after`` s for keys, hangs up. Raises ModemDisconnected only when nothing
        was dialled, ValueError for a number that cannot be dialled. See :mod:`modem.voice.calls`."""
        return self.voice.call(number, call_id=call_id, ring_timeout=ring_timeout, message=message, repeat=repeat,
                               listen_after=listen_after, player=player)

    def ring(self, number: str, *, seconds: float = 15.0, call_id: str | None = None):
        """A ring reminder ("llamada perdida"): ring ``seconds`` and hang up before an answer.
        Outcome rang / busy / unreachable / rejected / failed, or answered (hung up at once)."""
        return self.voice.ring(number, seconds=seconds, call_id=call_id)

    @property
    def call_handlers(self) -> dict:
        """Handlers for call-state URCs keyed by ``profile.call_urc_style`` (the voice layer's seam)."""
        return self.supervisor.router.call_handlers
