"""The AT command interpreter of one simulated modem (bytes in, bytes out).

:class:`Device` knows nothing of ptys or threads: it receives the client's
bytes through :meth:`Device.feed` and answers through ``host.emit(bytes)``;
delays go through ``host.call_later(delay, fn)``. The simulator serialises all
calls under one lock, so the device has no locking of its own.

Line discipline (what real modules do): a command line is ``AT...`` ended by
``\\r`` (a ``\\n`` after it is ignored, bytes before ``AT`` are dropped); with
echo on (until ``ATE0``) the line is echoed back; answers are framed
``\\r\\n<line>\\r\\n``; ``AT+CMGS=<n>`` shows ``\\r\\n> `` and takes hex up to
Ctrl-Z (0x1A) or ESC (0x1B, cancel). While a command waits for the network
(``Later``) further input is queued, not lost; URCs still flow.

Commands are looked up in :data:`modem.simulator.handlers.REGISTRY`.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from modem.simulator import handlers
from modem.simulator.atline import AtSyntaxError, Command, parse_line
from modem.simulator.persona import Persona
from modem.simulator.results import CmeReject, Later, Prompt, Reject, Unknown
from modem.simulator.storage import MessageStore

log = logging.getLogger("cobrador.modem.simulator.device")

CTRL_Z, ESC = 0x1A, 0x1B
MAX_LINE = 1024
MAX_BODY = 2 * (1 + 12 + 176) + 8
MAX_QUEUED = 64 * 1024      # input typed while the modem waits for the network
COMMAND_LOG_SIZE = 20_000   # a simulator serving `cobrador run` for months must not grow forever
BOOT_CLOCK = datetime(2004, 1, 1, tzinfo=timezone.utc)   # what un-synchronised modules report


@dataclass
class Settings:
    """Volatile settings: a reboot or ATZ brings back the saved copy (``AT&W``), ``AT&F`` the factory one."""

    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    cnmi: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    cpms: tuple[str, str, str] = ("SM", "SM", "SM")
    cscs: str = "GSM"
    csms: int = 0
    creg: int = 0
    cereg: int = 0
    cops_format: int = 0
    cmms: int = 0
    csmp: tuple[int, int, int, int] = (17, 167, 0, 0)
    clts: int = 0
    ctzu: int = 0
    ctzr: int = 0
    ussdmode: int = 1
    curc: int = 1
    cusd: int = 0
    flags: dict[str, str] = field(default_factory=dict)   # simple stored values (+CLIP, +CRC, +CVHU, ...)


@dataclass
class FailRule:
    """A scripted reply for the next ``count`` commands starting with ``prefix``."""

    prefix: str
    reply: str
    count: int


class ModemClock:
    """The module's real-time clock (``AT+CCLK``): a value that ticks with the monotonic clock."""

    def __init__(self, value: datetime = BOOT_CLOCK):
        self.set(value)

    def set(self, value: datetime) -> None:
        self._value, self._at = value, time.monotonic()

    def now(self) -> datetime:
        from datetime import timedelta
        return self._value + timedelta(seconds=time.monotonic() - self._at)


class Device:
    """One modem: settings, SIM, storages, network view, and the line interpreter.

    ``host`` provides ``emit(bytes)``, ``call_later(delay, fn, *args)`` and
    ``network`` (the :class:`~modem.simulator.network.VirtualNetwork`).
    """

    def __init__(self, persona: Persona, host, *, pin: str | None = None, puk: str = "12345678",
                 latency: float = 0.0, boot_time: float = 0.2, smsc: str = "+573000000000"):
        self.persona = persona
        self.host = host
        self.pin, self.puk = pin, puk
        self.latency = latency
        self.smsc = smsc          # AT+CSCA, kept on the SIM
        self.boot_time = boot_time
        self.factory = Settings(cpms=(persona.storage,) * 3, cscs=persona.profile.charset,
                                echo=persona.profile.echo_at_boot)
        self.saved = copy.deepcopy(self.factory)
        self.settings = copy.deepcopy(self.factory)
        self.stores = {name: MessageStore(name, persona.capacity) for name in ("SM", "ME", "SR")}
        self.clts_active = 0     # SIM800: AT+CLTS=1 applies after AT&W and a restart
        self.clock = ModemClock()
        self.rssi, self.ber = 20, 99
        self.reg_stat = 1
        self.cfun = 1
        self.sim_state = "SIM PIN" if pin else "READY"
        self.pin_tries = 3
        self.next_mr = 0
        self.cnma_waiting: deque[tuple[object, str, int]] = deque()   # +CMTs the client must AT+CNMA
        self.cnma_timeout = 15.0
        self.powered = True
        self.booting = False
        self.hung = False
        self.generation = 0
        self.fail_rules: list[FailRule] = []
        self.command_log: deque[str] = deque(maxlen=COMMAND_LOG_SIZE)
        self.noise_in_responses = False   # Huawei-style ^RSSI between a response's lines (b47)
        self.service_urcs = False         # Huawei ^SRVST on every registration change (opt-in, see Simulator)
        self.calls: list = []             # voice calls in progress (modem.simulator.calls.SimCall)
        self.last_call_cause = 0          # 24.008 cause of the last released call (AT+CEER)
        self._line = bytearray()
        self._last_line = ""
        self._skip_lf = False
        self._prompt: Prompt | None = None
        self._body = bytearray()
        self._busy = False
        self._queued = bytearray()

    # ------------------------------------------------------------------ output
    def emit(self, data: bytes | str) -> None:
        if not self.powered or self.hung:
            return
        self.host.emit(data.encode("latin-1", "replace") if isinstance(data, str) else data)

    def urc(self, line: str, body: str | None = None) -> None:
        """An unsolicited result code (dropped while off, booting or hung)."""
        if self.booting:
            return
        self.emit(f"\r\n{line}\r\n" + (f"{body}\r\n" if body is not None else ""))

    def _final(self, blocks: list[list[str]], final: str) -> None:
        """Each command's information lines as one framed block, then the final result."""
        blocks = [list(b) for b in blocks if b]
        if self.noise_in_responses and blocks and len(blocks[0]) > 1 and self.persona.noise_samples:
            noise = self.persona.noise_samples[len(self.command_log) % len(self.persona.noise_samples)]
            blocks[0][1:1] = ["", noise, ""]      # framed as its own line, right after the first
        out = "".join("\r\n" + "\r\n".join(block) + "\r\n" for block in blocks)
        self.emit(out + f"\r\n{final}\r\n")

    def rejection(self, exc: Reject) -> str:
        return exc.final(self.settings.cmee)

    # ------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:
        """Bytes from the client, in any chunking."""
        if not self.powered or self.hung or self.booting:
            return
        if self._busy:
            self._queued += data
            del self._queued[:-MAX_QUEUED]
            return
        for pos, b in enumerate(data):
            if self._prompt is not None:
                self._feed_body(b)
            elif b == 0x0D:
                raw = bytes(self._line)
                self._line.clear()
                self._skip_lf = True
                self._run_line(raw)
            elif b == 0x0A and self._skip_lf:
                self._skip_lf = False
            elif b in (0x08, 0x7F):
                del self._line[-1:]
            else:
                self._skip_lf = False
                if len(self._line) < MAX_LINE:
                    self._line.append(b)
            if self._busy:
                self._queued += data[pos + 1:]
                del self._queued[:-MAX_QUEUED]
                return
            if not self.powered or self.hung or self.booting:
                return

    def _feed_body(self, b: int) -> None:
        if self._prompt.length is not None:      # raw upload: counted bytes, any value
            self._body.append(b)
            if len(self._body) >= self._prompt.length:
                prompt, body = self._prompt, bytes(self._body)
                self._prompt, self._body = None, bytearray()
                self._answer([], lambda: prompt.on_body(body))
            return
        if b == CTRL_Z:
            prompt, body = self._prompt, self._body.decode("latin-1")
            self._prompt, self._body = None, bytearray()
            if prompt.forced_reply is not None:
                self.emit(f"\r\n{prompt.forced_reply}\r\n")
                return
            self._answer([], lambda: prompt.on_body(body.strip()))
        elif b == ESC:
            self._prompt, self._body = None, bytearray()
            self._final([], "OK")
        elif b in (0x0D, 0x0A):
            pass
        else:
            if self.settings.echo:
                self.emit(bytes([b]))
            if len(self._body) < MAX_BODY:
                self._body.append(b)

    def _run_line(self, raw: bytes) -> None:
        text = raw.decode("latin-1")
        if self.settings.echo:
            self.emit(raw + b"\r")
        start = text.upper().find("AT")
        if start < 0:
            if text.strip().upper() == "A/" and self._last_line:
                text, start = self._last_line, 0
            else:
                return   # noise on the line: real modules stay silent
        text = text[start:].strip()
        self._last_line = text
        self.command_log.append(text)
        log.debug("<- %s", text)
        try:
            commands = parse_line(text)
        except AtSyntaxError:
            self._final([], "ERROR")
            return
        forced = self._match_fail_rule(text, commands)
        if forced is not None:
            rule_cmd, reply = forced
            if rule_cmd is not None and rule_cmd.name in ("+CMGS", "+CMGW") and rule_cmd.form == "set":
                self._prompt = Prompt(on_body=lambda body: None, forced_reply=reply)
                self.emit("\r\n> ")
            else:
                self.emit(f"\r\n{reply}\r\n")
            return
        lines: list[list[str]] = []
        for cmd in commands:
            try:
                result = self.execute(cmd)
            except Reject as exc:
                self._final(lines, self.rejection(exc))
                return
            if isinstance(result, Prompt):
                if any(lines):
                    self.emit("".join("\r\n" + "\r\n".join(b) + "\r\n" for b in lines if b))
                self._prompt, self._body = result, bytearray()
                self.emit("\r\n" + result.text)
                return
            if isinstance(result, Later):
                self._defer(lines, result)
                return
            lines.append(list(result or ()))
            if not self.powered or self.booting:
                return   # AT+CFUN=1,1 and friends: no final result, the module restarts
        self._final(lines, "OK")

    def execute(self, cmd: Command):
        """Run one command's handler (raises :class:`Reject` for errors)."""
        entry = handlers.REGISTRY.get(cmd.name)
        if entry is None or not entry.offered_by(self.persona, cmd.name):
            log.debug("unknown command %s", cmd.text)
            raise Unknown(self.persona.unknown_reply)
        if entry.needs_sim and self.sim_state != "READY":
            raise CmeReject(12 if self.sim_state == "SIM PUK" else 11)
        return entry.fn(self, cmd)

    def _answer(self, lines: list[list[str]], fn) -> None:
        try:
            result = fn()
        except Reject as exc:
            self._final(lines, self.rejection(exc))
            return
        if isinstance(result, Later):
            self._defer(lines, result)
            return
        self._final(lines + [list(result or ())], "OK")

    def _defer(self, lines: list[list[str]], later: Later) -> None:
        self._busy = True
        self.host.call_later(max(0.0, later.delay), self._finish_later, self.generation, lines, later)

    def _finish_later(self, generation: int, lines: list[list[str]], later: Later) -> None:
        if generation != self.generation:
            return
        self._busy = False
        self._answer(lines, later.finish)
        if not self._busy and self._queued:
            pending, self._queued = bytes(self._queued), bytearray()
            self.feed(pending)

    def _match_fail_rule(self, text: str, commands: list[Command]):
        candidates = [(None, text.upper())] + [(c, ("AT" + c.text).upper()) for c in commands]
        for rule in list(self.fail_rules):
            for cmd, candidate in candidates:
                if candidate.startswith(rule.prefix.upper()):
                    rule.count -= 1
                    if rule.count <= 0:
                        self.fail_rules.remove(rule)
                    target = cmd if cmd is not None else (commands[0] if commands else None)
                    return target, rule.reply
        return None

    # ------------------------------------------------------------------ life cycle
    def reset_volatile(self) -> None:
        """Forget what a power cycle forgets: settings, half-typed lines, pending answers."""
        self.generation += 1
        self.settings = copy.deepcopy(self.saved)
        self._line.clear()
        self._prompt, self._body = None, bytearray()
        self._busy, self._queued = False, bytearray()
        self.cnma_waiting.clear()
        if self.calls:
            from modem.simulator.calls import drop_all
            drop_all(self)                # a power cycle drops every call
        self.cfun = 1
        self.clock = ModemClock()
        self.clts_active = self.saved.clts
        if self.pin and self.sim_state != "SIM PUK":
            self.sim_state, self.pin_tries = "SIM PIN", 3

    def power_off(self) -> None:
        self.reset_volatile()
        self.powered = False

    def boot(self) -> None:
        """Power on (or restart): settings back to saved, boot URCs after ``boot_time``."""
        self.reset_volatile()
        self.powered, self.booting, self.hung = True, True, False
        self.host.call_later(self.boot_time, self._booted, self.generation)

    def _booted(self, generation: int) -> None:
        if generation != self.generation:
            return
        self.booting = False
        for line in self.persona.boot_urcs:
            if line == "+CPIN: READY" and self.sim_state != "READY":
                self.urc(f"+CPIN: {self.sim_state}")
                return     # the rest comes once the PIN is entered (sim_unlocked)
            self.urc(line)
        self.host.network.modem_ready()

    def sim_unlocked(self) -> None:
        """PIN accepted: the boot lines from ``+CPIN: READY`` on, then the network may deliver."""
        lines = self.persona.boot_urcs
        start = lines.index("+CPIN: READY") if "+CPIN: READY" in lines else len(lines)
        self.urc("+CPIN: READY")
        for line in lines[start + 1:]:
            self.urc(line)
        self.host.network.modem_ready()

    def connected_call(self):
        """The connected voice call (a :class:`modem.simulator.calls.SimCall` with ``number`` and
        ``started``, monotonic time of the answer), or None."""
        from modem.simulator.calls import connected_call
        return connected_call(self)

    # ------------------------------------------------------------------ network view
    @property
    def registered(self) -> bool:
        return self.cfun == 1 and self.reg_stat in (1, 5)

    @property
    def can_receive(self) -> bool:
        return self.powered and not self.booting and self.registered and self.sim_state == "READY"

    def take_message_reference(self) -> int:
        """The next TP-MR (0-255, wraps)."""
        mr = self.next_mr
        self.next_mr = (self.next_mr + 1) % 256
        return mr

    def emit_registration(self) -> None:
        """+CREG/+CEREG URCs for the current state, as enabled by AT+CREG=1/2, AT+CEREG=1/2."""
        from modem.simulator.handlers.network_cmds import registration_value
        if self.service_urcs and "^SRVST:" in self.persona.profile.noise_urcs and self.settings.curc:
            self.urc(f"^SRVST: {2 if self.registered else 0}")     # Huawei: every service change
        if self.settings.creg:
            self.urc("+CREG: " + registration_value(self, "CREG", urc=True))
        if self.settings.cereg and self.persona.supports_cereg:
            self.urc("+CEREG: " + registration_value(self, "CEREG", urc=True))
