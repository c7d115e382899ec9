"""Incoming messages and status reports: read, decode, reassemble, offer, delete only after ack.

Runs on the supervisor thread (never the reader). The rules:

- ``+CMTI`` → ``AT+CMGR=<i>``; the message is decoded and offered as
  :class:`modem.events.IncomingSms`; ``AT+CMGD=<i>`` happens ONLY when the
  consumer calls ``event.ack()``. A message never acked stays on the SIM and
  is offered again after a restart (the SIM sweep finds it); within one run it
  is offered once (``offered`` remembers the index).
- A deletion that got no answer (timeout, link lost) may or may not have
  happened: the index leaves ``offered`` and goes to ``deferred_deletes`` with
  the acked PDU's fingerprint; it is completed (after a reconnect, or when a
  sweep or ``+CMTI`` meets the slot) only if the slot still holds that PDU —
  a new message in the reused slot is offered, never deleted unread.
- ``+CMT`` (inline, not stored by the modem) is saved in the DriverStore
  ("inline inbox") before it is offered, and removed on ack; a restart
  offers it again.
- Multipart parts go through the durable :class:`modem.reassembly.Reassembler`
  keyed on (sender, reference, total); the ack deletes every part.
- ``AT+CMGL=4`` sweeps the storage periodically and at (re)connect, so
  messages that arrived while the port was closed are not left behind.
- A message in another memory than the profile's storage (``+CMTI: "SM",i``
  on an "ME" profile: class-2 SMS always go to the SIM) is read there under
  ``storage_lock`` (``AT+CPMS`` switched and restored), kept durably like a
  ``+CMT``, deleted from that memory and offered; the sweep covers "SM" too.
- A PDU that does not decode becomes :class:`UndecodableSms` (raw hex kept,
  deleted only on ack) — the reader and the other messages are unaffected.
- Status reports (``+CDS`` inline, ``+CDSI`` from the report storage, or a
  report found in the message storage) go to the report tracker; stored
  reports are deleted once matched or recorded.
- Storage full: ``AT+CPMS?`` counts after each new message and sweep,
  ``+CMS ERROR: 322``, and the vendors' "SMS full" URCs → one
  :class:`StorageFull` event per transition to full.

Deletion and reading share ``storage_lock`` with the ``+CDSI`` storage switch
(``AT+CPMS="SR"`` … restore), so an ack can never delete from the wrong memory.
"""

from __future__ import annotations

import hashlib
import logging
import threading

from modem.errors import CommandError, CommandTimeout, ModemDisconnected, ModemError, PduError
from modem.events import IncomingSms, StorageFull, UndecodableSms, _Ack
from modem.pdu import Deliver, StatusReport, Submit, decode
from modem.queries import parse_cmgl_header, parse_cmgr_header, parse_cpms
from modem.reassembly import Assembled
from modem.reports import Report

log = logging.getLogger("cobrador.modem.incoming")


def _pairs(lines: list[str]) -> list[tuple[int, str]]:
    """(index, pdu) of each well-formed ``+CMGL:`` header + PDU line pair."""
    out = []
    for n, line in enumerate(lines):
        if line.upper().startswith("+CMGL") and n + 1 < len(lines) and not lines[n + 1].upper().startswith("+CMGL"):
            try:
                out.append((parse_cmgl_header(line).index, lines[n + 1]))
            except ModemError:
                continue
    return out


def _fingerprint(pdu: str) -> str:
    """What identifies the content of a storage slot (to tell a reused slot from the acked message)."""
    return _key("pdu", pdu.strip().upper())


def _key(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:20]


class Inbox:
    """Incoming-side state of one modem (in-memory parts; durable parts live in the modem's store)."""

    def __init__(self, modem):
        self.modem = modem
        self.storage_lock = threading.RLock()
        self.offered: set[int] = set()
        self.fingerprints: dict[int, str] = {}           # index -> fingerprint of the PDU read from it
        # deletions acked while the modem did not answer: index -> fingerprint of the acked PDU (None: unknown).
        # The slot may be reused by then, so the deletion only runs if the slot still holds that PDU.
        self.deferred_deletes: dict[int, str | None] = {}
        self.storage_full = False
        self.report_storage_dirty: str | None = None    # a report storage with unread reports ("SR")

    # -- entry points (supervisor thread) ------------------------------------
    def on_stored(self, index: int, memory: str | None = None) -> None:
        """``+CMTI``: read message ``index`` from ``memory`` (default: the message storage) and offer it.

        A message in another memory (a class-2 SMS on the SIM of an "ME"
        profile) is read there and moved (:meth:`take_foreign`), never read
        from the message storage at the same index.
        """
        if self._foreign(memory):
            self.take_foreign(memory.upper(), index)
            return
        if index in self.deferred_deletes:
            self._settle_deferred(index)      # a new message in a slot whose deletion was left pending
            self.check_storage("CPMS")
            return
        if index in self.offered:
            return
        pdu = self._read(index)
        if pdu is not None:
            self._handle(pdu, index, None)
        self.check_storage("CPMS")

    def _foreign(self, memory: str | None) -> bool:
        return bool(memory) and memory.upper() != self.modem.profile.storage.upper()

    def take_foreign(self, memory: str, index: int | None = None) -> None:
        """Move the messages in ``memory`` (just ``index``, or all listed) out of it, then offer them.

        Acks, ``offered`` and deferred deletions only know message-storage
        indexes, so a message found in another memory is read there (storage
        switched with ``AT+CPMS`` under ``storage_lock``, then restored), kept
        durably like an inline ``+CMT`` (offered again after a restart until
        acked), deleted from that memory, and offered with that durable copy.
        Status reports found there are applied and deleted; stored outgoing
        messages are left alone.
        """
        m = self.modem
        taken: list[tuple[str, str]] = []
        try:
            with self.storage_lock:
                m.command(f'AT+CPMS="{memory}"')
                try:
                    if index is None:
                        pairs = _pairs(list(m.command("AT+CMGL=4").lines))
                    else:
                        pdu = self._read(index)
                        pairs = [(index, pdu)] if pdu else []
                    for slot, pdu in pairs:
                        offer = self._take(slot, pdu)
                        if offer is not None:
                            taken.append(offer)
                finally:
                    self._restore_storage()
        finally:
            for pdu, token in taken:          # saved durably already: offer them whatever happened after
                self._handle(pdu, None, token)

    def _restore_storage(self) -> None:
        """Back to the profile's storage after a switch; if that fails, force a reconnect (init restores it).

        Staying on another memory would make the next ack delete the wrong message.
        """
        m = self.modem
        try:
            m.command(m.profile.cpms_command)
        except (CommandError, CommandTimeout) as exc:
            log.error("cannot restore the message storage (%s); reconnecting to re-run init", exc)
            m.link_lost(ModemDisconnected(f"message storage not restored: {exc}"), m.generation)

    def _take(self, index: int, pdu: str) -> tuple[str, str] | None:
        """One message of a foreign memory (storage already switched): (pdu, token) to offer, or None."""
        m = self.modem
        pdu = pdu.strip()
        try:
            message = decode(pdu)
        except PduError:
            message = None                  # kept and offered as UndecodableSms, like any other
        if isinstance(message, StatusReport):
            self.apply_report(message)
            self._delete_now([index], track=False)
            return None
        if message is not None and not isinstance(message, Deliver):
            return None                     # a stored outgoing message: not ours to touch
        token = _key("inline", pdu.upper())
        with m.state_lock:
            fresh = token not in m.inline_inbox
            m.inline_inbox[token] = {"pdu": pdu, "at": m.clock()}
            m.persist(now=True)             # durable before it leaves the SIM
            saved = not m.state.unsaved
        if saved:
            self._delete_now([index], track=False)
        else:
            log.error("message %d of another memory not saved durably; left there until a save works", index)
        return (pdu, token) if fresh else None

    def on_inline(self, pdu: str) -> None:
        """``+CMT``: an SMS delivered inline; saved durably before it is offered."""
        m = self.modem
        token = _key("inline", pdu.strip().upper())
        with m.state_lock:
            m.inline_inbox[token] = {"pdu": pdu.strip(), "at": m.clock()}
            m.persist(now=True)       # it exists nowhere else until the consumer acks it
        self._handle(pdu, None, token)

    def replay_inline(self) -> None:
        """At open: offer again every inline message that was never acked."""
        for token, entry in list(self.modem.inline_inbox.items()):
            self._handle(str(entry.get("pdu", "")), None, token)

    def on_report_pdu(self, pdu: str) -> None:
        """``+CDS``: an inline status report."""
        try:
            message = decode(pdu)
        except PduError as exc:
            log.error("undecodable status report %r: %s", pdu[:80], exc)
            return
        if isinstance(message, StatusReport):
            self.apply_report(message)
        else:
            log.warning("+CDS carried a %s, not a status report", type(message).__name__)

    def on_stored_report(self, memory: str | None, index: int) -> None:
        """``+CDSI``: read report ``index`` from ``memory``, apply it, delete it.

        Reports kept apart (memory "SR") are not read one by one: the URC only
        marks the report storage dirty and the supervisor sweeps it
        (:meth:`sweep_reports`: one storage switch and one listing for every
        report that arrived meanwhile), so a burst of reports cannot outgrow the
        storage while sends keep the port busy.
        """
        m = self.modem
        storage = m.profile.storage
        if memory and memory.upper() != storage.upper():
            self.report_storage_dirty = memory
            return
        with self.storage_lock:
            switched = False
            try:
                if switched:
                    m.command(f'AT+CPMS="{memory}"')
                if index in self.offered:
                    return          # an SMS offered there and not acked yet: the report was taken already
                pdu = self._read(index)
                if pdu is not None:
                    # Normally the report; but if a sweep took that report first, the slot may hold a new SMS
                    # by now: _handle applies and deletes a report, offers an SMS (deleted only on its ack).
                    self._handle(pdu, index, None)
            finally:
                if switched:
                    try:
                        m.command(m.profile.cpms_command)
                    except (CommandError, CommandTimeout) as exc:
                        log.error("cannot restore message storage after reading a report: %s", exc)

    def apply_report(self, report: StatusReport) -> None:
        m = self.modem
        sc_time = report.service_centre_time.timestamp() if report.service_centre_time else None
        with m.state_lock:
            updates = m.tracker.on_report(Report(report.message_reference, report.recipient, report.status, sc_time),
                                          now=m.clock())
            m.persist()
        for update in updates:
            m.emit(update)

    def sweep(self) -> None:
        """``AT+CMGL=4``: offer every stored message not offered yet in this run; check the counts.

        Profiles that store status reports apart (``+CDSI`` into "SR") get that
        storage swept too, so reports that arrived while the port was closed still match.
        """
        m = self.modem
        with self.storage_lock:
            response = m.command("AT+CMGL=4")
        self._offer_listing(list(response.lines))
        if self._foreign("SM"):
            try:
                self.take_foreign("SM")     # class-2 SMS always go to the SIM, whatever the storage
            except CommandError as exc:
                log.warning("cannot sweep the SIM storage: %s", exc)
        self.check_storage("CPMS")
        memory = m.profile.status_report_storage
        if m.profile.status_report_delivery == "cdsi" and memory and memory.upper() != m.profile.storage.upper():
            self.sweep_reports(memory)

    def sweep_reports(self, memory: str) -> None:
        """Read, apply and delete every status report stored in ``memory`` (e.g. "SR")."""
        m = self.modem
        self.report_storage_dirty = None
        with self.storage_lock:
            try:
                m.command(f'AT+CPMS="{memory}"')
                listing = list(m.command("AT+CMGL=4").lines)
                for index, pdu in _pairs(listing):
                    self.on_report_pdu(pdu)
                    self._delete_now([index], track=False)
            finally:
                self._restore_storage()

    def _offer_listing(self, lines: list[str]) -> None:
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.upper().startswith("+CMGL"):
                try:
                    header = parse_cmgl_header(line)
                except ModemError as exc:
                    log.warning("skipping garbled +CMGL line %r: %s", line, exc)
                    i += 1
                    continue
                pdu = lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].upper().startswith("+CMGL") else ""
                i += 2 if pdu else 1
                if header.index in self.deferred_deletes:
                    self._settle_deferred(header.index, pdu)
                elif header.index not in self.offered:
                    self._handle(pdu, header.index, None)
            else:
                i += 1

    def run_deferred_deletes(self) -> None:
        """After a reconnect: the deletions acked while the port was down (each checked first)."""
        pending = sorted(self.deferred_deletes)
        if pending:
            log.info("running %d deferred deletion(s)", len(pending))
        for index in pending:
            self._settle_deferred(index)

    def _settle_deferred(self, index: int, pdu: str | None = None) -> None:
        """A pending deletion of slot ``index``: delete only if the slot still holds the acked PDU.

        ``pdu`` is the slot's content when a listing already gave it; else it is
        read (``AT+CMGR``). An empty slot drops the pending deletion; a slot that
        now holds another message (the acked one was deleted after all and the
        slot reused) drops it too and offers that message — never deleted unread.
        """
        if pdu is None:
            pdu = self._read(index)
        expected = self.deferred_deletes.get(index)
        if not pdu or not pdu.strip():
            self.deferred_deletes.pop(index, None)
            return
        if expected is not None and _fingerprint(pdu) == expected:
            self._delete_now([index])
            return
        log.warning("slot %d holds another message than the one acked; offering it instead of deleting", index)
        self.deferred_deletes.pop(index, None)
        self.offered.discard(index)
        self._handle(pdu, index, None)

    def check_storage(self, source: str) -> None:
        """Read ``AT+CPMS?`` and report a transition to full."""
        m = self.modem
        try:
            with self.storage_lock:
                response = m.command("AT+CPMS?")
            line = next((l for l in response.lines if l.upper().startswith("+CPMS")), None)
            if line is None:
                return
            memory, used, total = parse_cpms(line)[0]
        except (CommandError, CommandTimeout, ModemError) as exc:
            log.debug("storage check failed: %s", exc)
            return
        self.set_full(used >= total > 0, memory or m.profile.storage, used, total, source)

    def set_full(self, full: bool, memory: str, used: int | None, total: int | None, source: str) -> None:
        if full and not self.storage_full:
            log.error("message storage %s full (%s/%s, %s)", memory, used, total, source)
            self.modem.emit(StorageFull(memory, used, total, source, self.modem.clock()))
        self.storage_full = full

    # -- internals -------------------------------------------------------------
    def _read(self, index: int) -> str | None:
        m = self.modem
        try:
            with self.storage_lock:
                response = m.command(f"AT+CMGR={index}")
        except CommandError as exc:
            log.warning("cannot read message %d: %s", index, exc)
            if exc.code == 322:
                self.set_full(True, m.profile.storage, None, None, "+CMS ERROR 322")
            return None
        lines = list(response.lines)
        for n, line in enumerate(lines):
            if line.upper().startswith("+CMGR"):
                try:
                    parse_cmgr_header(line)
                except ModemError as exc:
                    log.warning("garbled +CMGR header %r: %s", line, exc)
                return lines[n + 1] if n + 1 < len(lines) else ""
        log.info("message %d is empty", index)
        return None

    def _handle(self, pdu: str, index: int | None, token: str | None) -> None:
        m = self.modem
        if index is not None:
            self.fingerprints[index] = _fingerprint(pdu)
        try:
            message = decode(pdu.strip())
        except PduError as exc:
            log.error("undecodable message at %s: %s", index if index is not None else "inline", exc)
            if index is not None:
                self.offered.add(index)
            ack = _Ack(lambda: self.acknowledge((index,) if index is not None else (), (token,) if token else ()))
            m.emit(UndecodableSms(pdu.strip(), str(exc), index, m.clock(), ack))
            return
        if isinstance(message, StatusReport):
            self.apply_report(message)
            self.acknowledge((index,) if index is not None else (), (token,) if token else ())
            return
        if isinstance(message, Submit) or not isinstance(message, Deliver):
            log.debug("leaving stored %s at %s alone", type(message).__name__, index)
            if index is not None:
                self.offered.add(index)
            return
        if index is not None:
            self.offered.add(index)
        concat = message.concat
        if concat is not None and concat.total > 1:
            try:
                with m.state_lock:
                    assembled = m.reassembler.add(sender=message.sender, reference=concat.reference,
                                                  total=concat.total, sequence=concat.sequence, text=message.text,
                                                  timestamp=message.timestamp, sim_index=index, now=m.clock(),
                                                  token=token)
                    m.persist()
            except ValueError as exc:
                log.warning("impossible concatenation info (%s); offering the part alone", exc)
            else:
                if assembled is not None:
                    self.offer_assembled(assembled)
                return
        m.emit(IncomingSms(sender=message.sender, text=message.text, timestamp=message.timestamp,
                           message_key=_key("single", pdu.strip().upper()), complete=True,
                           sim_indexes=(index,) if index is not None else (), at=m.clock(),
                           _ack=self._ack_for((index,) if index is not None else (), (token,) if token else ())))

    def offer_assembled(self, a: Assembled) -> None:
        m = self.modem
        self.offered.update(a.sim_indexes)
        m.emit(IncomingSms(sender=a.sender, text=a.text, timestamp=a.timestamp,
                           message_key=_key("multi", a.key, a.timestamp.isoformat() if a.timestamp else ""),
                           complete=a.complete, parts_total=a.total, parts_received=len(a.sequences),
                           sim_indexes=a.sim_indexes, at=m.clock(), _ack=self._ack_for(a.sim_indexes, a.tokens)))

    def _ack_for(self, indexes: tuple[int, ...], tokens: tuple[str, ...]) -> _Ack:
        return _Ack(lambda: self.acknowledge(indexes, tokens))

    def acknowledge(self, indexes, tokens) -> bool:
        """The consumer stored the message: forget inline copies, delete SIM copies (deferred if offline)."""
        m = self.modem
        if tokens:
            with m.state_lock:
                for token in tokens:
                    m.inline_inbox.pop(token, None)
                m.persist()
        if indexes:
            self._delete_now(list(indexes))
        return True

    def _delete_now(self, indexes: list[int], *, track: bool = True) -> None:
        m = self.modem
        for n, index in enumerate(indexes):
            try:
                with self.storage_lock:
                    m.command(f"AT+CMGD={index}")
            except (ModemDisconnected, CommandTimeout) as exc:
                if track:
                    # The deletion may or may not have happened: the slot may hold a new message next, so it
                    # leaves `offered` (a new message there is offered) and the deletion remembers what it deletes.
                    log.warning("deletion of %s deferred until the modem is back: %s", indexes[n:], exc)
                    for pending in indexes[n:]:
                        self.deferred_deletes[pending] = self.fingerprints.get(pending)
                        self.offered.discard(pending)
                return
            except CommandError as exc:
                log.warning("AT+CMGD=%d refused (%s); treating as already gone", index, exc)
            if track:        # (untracked: reports, other memories — indexes outside `offered`'s namespace)
                self.deferred_deletes.pop(index, None)
                self.offered.discard(index)
                self.fingerprints.pop(index, None)
        if track and self.storage_full:
            self.check_storage("CPMS")
