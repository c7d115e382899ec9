"""Routing unsolicited result codes to their handlers (on the supervisor thread).

:meth:`UrcRouter.early` runs on the reader thread and only flags a reboot
(no I/O, no consumer code) so no user command slips in before the re-init.
:meth:`UrcRouter.dispatch` runs on the supervisor thread: new messages and
reports go to :class:`modem.incoming.Inbox`, ``+CUSD`` to the waiting
``ussd()`` call, signal and storage-full indications become events,
network-time URCs trigger a clock read, and call-state URCs go to
``call_handlers[profile.call_urc_style]`` — the seam the voice layer (a later
issue) plugs into; the default handler puts a :class:`CallUrc` on the queue.
Anything unknown becomes an :class:`UnhandledUrc` event: logged, never fatal.

Only exact prefixes count: a USSD text containing "RING" is the ``+CUSD``
answer, never a call (python-gsmmodem bug 6).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from modem.errors import ModemDisconnected, ModemError
from modem.events import CallUrc, SignalChanged, UnhandledUrc
from modem.queries import fields, parse_index_urc, parse_reg, rssi_to_dbm

log = logging.getLogger("cobrador.modem.urcs")

CALL_WORDS = frozenset({"RING", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "MO RING", "MO CONNECTED"})
CALL_PREFIXES = frozenset({"+CRING", "+CLIP", "+CCWA", "+CLCC", "+DTMF", "^ORIG", "^CONF", "^CONN", "^CEND",
                           "^DTMF", "VOICE CALL", "MISSED_CALL", "^DSCI", "+CSSI", "+CSSU"})
STORAGE_FULL_PREFIXES = frozenset({"^SMMEMFULL", "+SMSFULL"})


def _bare(prefix: str) -> str:
    return prefix.rstrip(":").strip().upper()


class UssdWaiter:
    """One pending ``ussd()`` call: the router fills ``value`` and sets ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.value: str | None = None


class UrcRouter:
    def __init__(self, modem):
        self.modem = modem
        p = modem.profile
        self.boot_lines = frozenset(line.strip().upper() for line in p.boot_urcs)
        # Only the profile's reboot lines say "I restarted": other boot lines (+CPIN: READY, ^SRVST: 2) also
        # appear in normal life (PIN entry, a registration change) and only mean "settled" after a restart.
        self.restart_lines = frozenset(line.strip().upper() for line in (p.reboot_urcs or p.boot_urcs[:1]))
        self.boot_lines |= self.restart_lines
        self.ready_line = p.ready_urc.strip().upper()
        self.noise = frozenset(_bare(x) for x in p.noise_urcs)
        self.nitz = frozenset(_bare(x) for x in p.network_time.urc_prefixes)
        self.call = CALL_PREFIXES | frozenset(_bare(x) for x in p.call_urc_prefixes)
        self.call_handlers: dict[str, Callable] = {}
        self.ussd_waiter: UssdWaiter | None = None
        self.last_rssi: int | None = None
        self.registration: dict[str, int] = {}

    # -- reader thread ------------------------------------------------------
    def early(self, urc) -> None:
        """Reader thread: a boot line means the modem restarted; block user commands until re-init."""
        line = urc.line.strip().upper()
        if self.modem.closed or line not in self.boot_lines:
            return
        supervisor = self.modem.supervisor
        if line in self.restart_lines:
            if supervisor.initialising and supervisor.pin_entered:
                return      # defensive: boot lines a SIM prints once its PIN is accepted
            # a rebooted modem dropped whatever it was answering: fail that command now, not at its timeout
            self.modem._fail_transaction(ModemDisconnected(f"modem rebooted ({urc.line.strip()})"))
            supervisor.schedule_reinit(immediate=line == self.ready_line)
        elif line == self.ready_line and supervisor.reboot_pending:
            supervisor.schedule_reinit(immediate=True)

    # -- supervisor thread ------------------------------------------------------
    def dispatch(self, urc) -> None:
        m = self.modem
        name = urc.name.strip().upper()
        line = urc.line.strip()
        try:
            if line.upper() in self.boot_lines:
                log.info("boot line %r", line)
            elif name == "+CMTI":
                memory, index = parse_index_urc(urc.value)
                m.inbox.on_stored(index, memory)
            elif name == "+CMT":
                if urc.body:
                    m.inbox.on_inline(urc.body)
                else:
                    log.warning("+CMT without a PDU line: %r", line)
            elif name == "+CDS":
                if urc.body:
                    m.inbox.on_report_pdu(urc.body)
                else:
                    log.warning("+CDS without a PDU line: %r", line)
            elif name == "+CDSI":
                memory, index = parse_index_urc(urc.value)
                m.inbox.on_stored_report(memory, index)
            elif name == "+CUSD":
                waiter = self.ussd_waiter
                if waiter is not None:
                    waiter.value = urc.value
                    waiter.done.set()
                else:
                    log.info("unsolicited USSD: %r", line)
            elif name in ("+CSQ", "^RSSI"):
                self._signal(int(fields(urc.value)[0]))
            elif name in ("+CREG", "+CEREG", "+CGREG"):
                self.registration[name[1:]] = parse_reg(urc.value, name[1:])
            elif name in STORAGE_FULL_PREFIXES or (name in ("+CIEV", "+QIND") and "FULL" in urc.value.upper()):
                memory = next((f.upper() for f in fields(urc.value) if f.upper() in ("SM", "ME", "MT", "SR")),
                              m.profile.storage)
                if memory == "SR":
                    m.inbox.report_storage_dirty = "SR"      # the report storage: sweep it now
                m.inbox.set_full(True, memory, None, None, line)
            elif name == "+QIND" and urc.value.strip().lower().startswith('"csq"'):
                self._signal(int(fields(urc.value)[1]))
            elif name in self.nitz:
                m.supervisor.network_time_urc(line)
            elif name in self.call or name in CALL_WORDS:
                style = m.profile.call_urc_style
                handler = self.call_handlers.get(style)
                if handler is not None:
                    handler(urc)
                else:
                    m.emit(CallUrc(style, name, urc.value, line, m.clock()))
            elif name in self.noise:
                log.debug("noise URC %r", line)
            else:
                log.info("unhandled URC %r", line)
                m.emit(UnhandledUrc(name, line, m.clock()))
        except (ModemError, ValueError, IndexError) as exc:
            log.warning("URC %r not handled: %s", line, exc)
            m.emit(UnhandledUrc(name, line, m.clock()))

    def _signal(self, rssi: int) -> None:
        if rssi != self.last_rssi:
            self.last_rssi = rssi
            self.modem.emit(SignalChanged(rssi, rssi_to_dbm(rssi), self.modem.clock()))
