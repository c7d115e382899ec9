"""The simulated modem as a whole: a pty, the AT interpreter, the virtual network, and the control API.

One serving thread selects on the pty master, a wake-up pipe and the next
timer (no busy loop). Every touch of the device or network state - from that
thread, from timers or from the control API called by tests on other
threads - happens under one lock, so tests can script faults while a client
talks. Example::

    with Simulator("sim800", latency=0.2) as sim:
        port = serial.Serial(sim.port, timeout=1)
        sim.network.phone("+573001234567").outcome = "failed"
        sim.fail_next("AT+CMGS", "+CMS ERROR: 500")
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import random
import select
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path

from modem.pdu import encode_deliver
from modem.simulator.audio import AudioSink
from modem.simulator.device import Device, FailRule
from modem.simulator.network import BOGOTA, VirtualNetwork
from modem.simulator.persona import persona_for
from modem.simulator.pty_link import PtyLink
from modem.simulator.storage import REC_READ, StorageFull, StoredMessage

log = logging.getLogger("cobrador.modem.simulator")


class Simulator:
    """A virtual GSM modem on a pseudo-terminal plus a virtual network of phones.

    ``profile``: one of :data:`modem.profiles.PROFILES` (raises
    :class:`~modem.profiles.UnknownProfileError`). ``latency``: seconds before
    ``+CMGS``/``+CUSD`` answers. ``report_delay``: default delay of status
    reports. ``pin``: the SIM asks for it (``+CPIN: SIM PIN``) at every boot.
    ``link``: a symlink kept pointing at the current pty (stable across
    :meth:`unplug`/:meth:`replug`). ``boot_time``: seconds a (re)boot takes
    before the boot URCs. ``noise_interval``: if set, print one of the
    profile's noise lines (Huawei ``^RSSI``...) every so many seconds.
    ``noise_in_responses``: put one noise line inside every multi-line answer,
    right after its first line (Huawei's ``^RSSI`` inside ``+CMGR``, python-gsmmodem b47).
    ``service_urcs``: Huawei prints ``^SRVST: 2``/``^SRVST: 0`` on every registration change,
    lines that are also among its boot URCs (a driver must not take them for a reboot; see
    ``Profile.reboot_urcs``). On by default, as on a real Huawei; ``False`` silences them.
    """

    def __init__(self, profile: str = "generic", *, latency: float = 0.0, report_delay: float = 0.05,
                 pin: str | None = None, link: str | Path | None = None, boot_time: float = 0.2,
                 noise_interval: float | None = None, noise_in_responses: bool = False,
                 service_urcs: bool = True, seed: int = 0):
        self.persona = persona_for(profile)
        self.profile = self.persona.profile
        self.lock = threading.RLock()
        self._link = PtyLink(link)
        self._timers: list = []
        self._seq = itertools.count()
        self._wake_r = self._wake_w = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self._random = random.Random(seed)
        self._hang_token: object | None = None
        self.noise_interval = noise_interval
        self.traffic: deque[tuple[str, bytes]] = deque(maxlen=4000)
        self.network = VirtualNetwork(self, report_delay=report_delay)
        self.device = Device(self.persona, self, pin=pin, latency=latency, boot_time=boot_time,
                             smsc=self.network.smsc)
        self.device.noise_in_responses = noise_in_responses
        self.device.service_urcs = service_urcs
        self.audio = AudioSink(self)     # what the far phones heard; Huawei/SIM7600 voice port

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "Simulator":
        """Create the pty and start serving. Returns self. Idempotent."""
        with self.lock:
            if self._closed:
                raise RuntimeError("simulator is closed")
            if self._thread is not None:
                return self
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._link.plug()
            self.audio.plug()
            self._thread = threading.Thread(target=self._serve, name=f"modem-simulator-{self.profile.name}",
                                            daemon=True)
            self._thread.start()
            if self.noise_interval:
                self.call_later(self.noise_interval, self._noise)
        log.info("simulated %s modem on %s", self.profile.name, self.port)
        return self

    def close(self) -> None:
        """Stop the thread, close the pty, remove the symlink. Safe to call twice."""
        with self.lock:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
            self._wake()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self.lock:
            self._link.unplug()
            self.audio.unplug()
            for fd in (self._wake_r, self._wake_w):
                if fd is not None:
                    os.close(fd)
            self._wake_r = self._wake_w = None
            self._timers.clear()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def port(self) -> str | None:
        """What an AT client opens: the symlink ``link`` if given, else the current pty slave path."""
        return self._link.port

    @property
    def slave_path(self) -> str | None:
        return self._link.slave_path

    @property
    def voice_port(self) -> str | None:
        """The raw PCM voice tty of Huawei / SIM7600 (None for other modems): see :mod:`.audio`."""
        return self.audio.port

    # ------------------------------------------------------------------ control API
    @property
    def latency(self) -> float:
        return self.device.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self.lock:
            self.device.latency = max(0.0, float(seconds))

    @property
    def cnma_timeout(self) -> float:
        """Seconds a ``+CMT`` (with ``AT+CSMS=1``) waits for ``AT+CNMA`` before the modem gives up."""
        return self.device.cnma_timeout

    @cnma_timeout.setter
    def cnma_timeout(self, seconds: float) -> None:
        with self.lock:
            self.device.cnma_timeout = float(seconds)

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def inject(self, data: bytes) -> None:
        """Write raw bytes to the client now (garbage, stray URCs, half lines)."""
        with self.lock:
            self._record("out", data)
            self._link.write(bytes(data))
            self._wake()

    def urc(self, line: str) -> None:
        """Print one well-framed unsolicited line (``\\r\\n<line>\\r\\n``)."""
        with self.lock:
            self.device.urc(line)
            self._wake()

    def fail_next(self, command_prefix: str, reply: str, count: int = 1) -> None:
        """Answer the next ``count`` commands starting with ``command_prefix`` (e.g. ``"AT+CMGS"``)
        with ``reply`` (e.g. ``"+CMS ERROR: 500"``). For ``AT+CMGS``/``AT+CMGW`` the prompt
        is shown and the reply comes after the PDU body, as on a real modem. ``count=0``
        cancels the pending rules for that prefix."""
        with self.lock:
            rules = self.device.fail_rules
            if count <= 0:
                rules[:] = [r for r in rules if r.prefix.upper() != command_prefix.upper()]
                return
            rules.append(FailRule(command_prefix, reply, count))

    def clear_faults(self) -> None:
        """Forget every pending ``fail_next`` rule and end a hang."""
        with self.lock:
            self.device.fail_rules.clear()
        self.unhang()

    def reboot(self) -> None:
        """Restart the modem: settings back to saved (echo on, CMEE 0, CNMI 0, PDU mode), SIM
        re-locked if it has a PIN, pending answers dropped; boot URCs after ``boot_time``."""
        with self.lock:
            if self._link.plugged:
                self.device.boot()
            self._wake()

    restart_modem = reboot

    def hang(self, seconds: float | None) -> None:
        """Stop answering (input is read and discarded, nothing is printed) for ``seconds``,
        or until :meth:`unhang` when None. The network keeps delivering meanwhile: an SMS
        arriving during a hang is stored but its ``+CMTI`` is lost, as on a wedged module."""
        with self.lock:
            self.device.hung = True
            self._hang_token = token = object()
            if seconds is not None:
                self.call_later(seconds, self._end_hang, token)

    def unhang(self) -> None:
        with self.lock:
            self.device.hung = False
            self._hang_token = None
            self._wake()

    def unplug(self) -> None:
        """Pull the USB plug: the pty closes (clients get EIO/SerialException), the symlink goes."""
        with self.lock:
            self.device.power_off()
            self._link.unplug()
            self.audio.unplug()
            self._wake()

    def replug(self) -> None:
        """Plug back in: a new pty (the symlink points to it) and a fresh boot."""
        with self.lock:
            if self._closed:
                raise RuntimeError("simulator is closed")
            self._link.plug()
            self.audio.plug()
            self.device.boot()
            self._wake()

    def set_signal(self, rssi: int, ber: int = 99) -> None:
        """Signal quality for ``+CSQ`` (0-31, 99 unknown); Huawei also prints ``^RSSI:<n>``."""
        with self.lock:
            self.device.rssi, self.device.ber = int(rssi), int(ber)
            if any(s.startswith("^RSSI:") for s in self.persona.noise_samples) and self.device.settings.curc:
                self.device.urc(f"^RSSI:{int(rssi)}")
            self._wake()

    def set_registration(self, stat: int) -> None:
        """Registration state (0 not searching, 1 home, 2 searching, 3 denied, 5 roaming);
        prints ``+CREG``/``+CEREG`` URCs if enabled; (re)registering lets waiting messages in."""
        with self.lock:
            was = self.device.registered
            self.device.reg_stat = int(stat)
            self.device.emit_registration()
            if self.device.registered and not was:
                self.network.modem_ready()
            self._wake()

    def set_network_time(self, value: datetime) -> None:
        """The operator sends its time (NITZ); the modem takes it as its profile and settings say."""
        with self.lock:
            self.network.set_network_time(value)
            self._wake()

    def fill_storage(self, memory: str | None = None) -> int:
        """Fill the receive storage (``<mem3>``, or ``memory``) with read messages; returns how many added."""
        with self.lock:
            store = self.device.stores[memory or self.device.settings.cpms[2]]
            filler = encode_deliver("+573009999999", "relleno", datetime(2026, 1, 1, tzinfo=BOGOTA))[0]
            added = 0
            while True:
                try:
                    store.add(filler.hex, filler.tpdu_length, REC_READ)
                except StorageFull:
                    return added
                added += 1

    def store_message(self, pdu: str, length: int, *, memory: str | None = None, status: int = 0,
                      announce: bool = True) -> StoredMessage:
        """Put a raw PDU (hex with SMSC octets, even a malformed one) in ``memory`` (default: where
        incoming SMS go) and, if ``announce``, print ``+CMTI: "<mem>",<index>``. Raises
        :class:`~modem.simulator.storage.StorageFull`."""
        with self.lock:
            store = self.device.stores[memory or self.device.settings.cpms[2]]
            msg = store.add(pdu, length, status)
            if announce:
                self.device.urc(f'+CMTI: "{store.name}",{msg.index}')
            self._wake()
            return msg

    @property
    def storage(self) -> list[StoredMessage]:
        """Every stored message in every storage (memory, index, status, pdu, length)."""
        with self.lock:
            return [m for name in ("SM", "ME", "SR") for m in self.device.stores[name].messages()]

    @property
    def commands(self) -> list[str]:
        """Every command line the client sent, in order."""
        with self.lock:
            return list(self.device.command_log)

    @property
    def next_message_reference(self) -> int:
        return self.device.next_mr

    @next_message_reference.setter
    def next_message_reference(self, value: int) -> None:
        with self.lock:
            self.device.next_mr = int(value) % 256

    def transcript(self, last: int = 200) -> str:
        """The last ``last`` chunks of wire traffic, ``<<`` from the client and ``>>`` to it (for
        failing tests and debugging)."""
        with self.lock:
            chunks = list(self.traffic)[-last:]
        return "\n".join(("<< " if d == "in" else ">> ") + repr(data)[2:-1] for d, data in chunks)

    # ------------------------------------------------------------------ host interface (device, network)
    def emit(self, data: bytes) -> None:
        log.debug("-> %r", data)
        self._record("out", data)
        self._link.write(data)
        self._wake()

    def call_later(self, delay: float, fn, *args) -> None:
        with self.lock:
            heapq.heappush(self._timers, (time.monotonic() + max(0.0, delay), next(self._seq), fn, args))
            self._wake()

    # ------------------------------------------------------------------ internals
    def _end_hang(self, token) -> None:
        if self._hang_token is token:
            self.device.hung = False

    def _noise(self) -> None:
        samples = self.persona.noise_samples
        if samples and self.device.settings.curc:
            self.device.urc(self._random.choice(samples))
        if self.noise_interval:
            self.call_later(self.noise_interval, self._noise)

    def _record(self, direction: str, data: bytes) -> None:
        self.traffic.append((direction, bytes(data)))

    def _wake(self) -> None:
        if self._wake_w is not None and threading.current_thread() is not self._thread:
            try:
                os.write(self._wake_w, b"x")
            except (BlockingIOError, OSError):
                pass

    def _serve(self) -> None:
        while True:
            with self.lock:
                if self._stopping:
                    return
                fd = self._link.fd
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                readers = [self._wake_r] + ([fd] if fd is not None else [])
                voice_fd = self.audio.fd
                if voice_fd is not None:
                    readers.append(voice_fd)
                writers = [fd] if fd is not None and self._link.has_output else []
            try:
                readable, _, _ = select.select(readers, writers, [], timeout)
            except (OSError, ValueError):
                continue   # the pty was closed under us (unplug); loop picks up the new state
            with self.lock:
                if self._stopping:
                    return
                if self._wake_r in readable:
                    try:
                        while os.read(self._wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                if fd is not None and fd in readable and fd == self._link.fd:
                    data = self._link.read()
                    if data:
                        self._record("in", data)
                        self._safely(self.device.feed, data)
                if voice_fd is not None and voice_fd in readable and voice_fd == self.audio.fd:
                    self._safely(self.audio.read_port)
                self._run_timers()
                self._link.flush()

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, fn, args = heapq.heappop(self._timers)
            self._safely(fn, *args)

    @staticmethod
    def _safely(fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a bug in one handler must not kill the modem
            log.exception("simulator error in %s", getattr(fn, "__name__", fn))
