"""Sending SMS: segments, retries, message references, and what a send's outcome means.

:meth:`Sender.send` (exposed as ``Modem.send_sms``) encodes the text
(:func:`modem.pdu.encode_submit`, status report requested), then sends each
segment as ONE transaction (``AT+CMGS=<len>`` → ``> `` → PDU + Ctrl-Z →
``+CMGS: <mr>``), with ``AT+CMMS=2`` around multipart messages (and
``AT+CMMS=0`` after). Each accepted segment's MR is registered at once with
the report tracker (and saved through the DriverStore) so reports match even
across a restart.

Outcome (:class:`SentSms.state`):

- ``"sent"``: every segment was accepted (``+CMGS: <mr>`` per part);
- ``"failed"``: the modem/network refused a segment with a permanent error,
  or a temporary one that persisted through the bounded retries
  (``error`` holds the CmsError/CmeError; ``parts`` the segments that did go —
  a multipart may be partially delivered). The next message is unaffected;
- ``"uncertain"``: the link died or stopped answering *after* a segment's
  body was written, or the modem answered it with an error that does not say
  whether the network took it (``CommandError.outcome_unknown``: CMS 332
  network timeout, 500 unknown — never retried, see ``modem.errors``): that
  segment may or may not have reached the network.
  It is never resent automatically; the caller decides (e.g. ask a person).

``ModemDisconnected`` (or ``CommandTimeout`` before any body was written) is
**raised** only when nothing of this message reached the network: resending
later is safe. ``PduError`` is raised for text/numbers that cannot be encoded.

Message ids: every send has a ``message_id`` that names it in
:class:`SentSms`, in every :class:`modem.events.DeliveryUpdate` and in the
durable report-matching state (so a report that arrives after a restart
still carries it). By default it is a random uuid; the caller may choose it
(``send(..., message_id="c-1")``, e.g. its own contact id) so that a late
report finds the caller's record without a mapping of its own. A chosen id
must be a non-empty ``str`` of at most :data:`MAX_MESSAGE_ID` characters
without control characters (``ValueError`` otherwise), and must not name a
message of this modem that is still waiting for status reports
(``ValueError``: the two messages' reports would be mixed). Ids are per
modem: each ``Modem`` needs its own store.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field

from modem.at import Response
from modem.errors import AtProtocolError, CommandError, CommandTimeout, ModemDisconnected, ModemError
from modem.events import StorageFull
from modem.pdu import encode_submit
from modem.queries import find_line, fields
from modem.retry import ABORT, FAIL, RETRY, classify
from modem.transaction import SendProgress

log = logging.getLogger("cobrador.modem.sending")

#: Longest caller-chosen message id (characters).
MAX_MESSAGE_ID = 200


def check_message_id(message_id) -> str:
    """``message_id`` if it is a valid caller-chosen id; ``ValueError`` otherwise (see the module docstring)."""
    if not isinstance(message_id, str):
        raise ValueError(f"message_id must be a str, not {type(message_id).__name__}")
    if not message_id:
        raise ValueError("message_id must not be empty")
    if len(message_id) > MAX_MESSAGE_ID:
        raise ValueError(f"message_id is {len(message_id)} characters long (at most {MAX_MESSAGE_ID})")
    if any(unicodedata.category(ch) == "Cc" for ch in message_id):
        raise ValueError(f"message_id contains a control character: {message_id!r}")
    return message_id


@dataclass(frozen=True)
class PartRef:
    """One accepted segment: ``mr`` from ``+CMGS: <mr>``, ``sequence`` 1-based, ``sent_at`` (driver clock)."""

    mr: int
    sequence: int
    sent_at: float


@dataclass(frozen=True)
class SentSms:
    """What happened to one ``send_sms`` call (see the module docstring for ``state``)."""

    message_id: str
    number: str
    state: str
    segments: int
    parts: tuple[PartRef, ...] = ()
    error: BaseException | None = field(default=None, compare=False)
    uncertain_sequence: int | None = None

    @property
    def references(self) -> tuple[int, ...]:
        return tuple(p.mr for p in self.parts)


class Sender:
    """The send path of one :class:`modem.driver.Modem`."""

    def __init__(self, modem):
        self.modem = modem
        self._lock = threading.Lock()   # one message at a time keeps a multipart's segments together

    def send(self, number: str, text: str, *, transliterate: bool = False,
             message_id: str | None = None) -> SentSms:
        m = self.modem
        if message_id is not None:
            check_message_id(message_id)
        pdus = encode_submit(number, text, status_report=True, transliterate=transliterate)
        if message_id is None:
            message_id = uuid.uuid4().hex
        total = len(pdus)
        with self._lock:
            with m.state_lock:
                if m.tracker.state_of(message_id) is not None:
                    raise ValueError(f"message_id {message_id!r} names a message still waiting for status "
                                     "reports on this modem")
            m.require_ready()
            if total > 1:
                self._best_effort("AT+CMMS=2")
            parts: list[PartRef] = []
            try:
                for sequence, pdu in enumerate(pdus, start=1):
                    progress = SendProgress()
                    try:
                        mr = self._send_segment(pdu.hex, pdu.tpdu_length, progress)
                    except (ModemDisconnected, CommandTimeout) as exc:
                        if not parts and not progress.body_written:
                            raise           # nothing left: safe to resend
                        state = "uncertain" if progress.body_written else "failed"
                        log.error("send %s to %s interrupted at part %d/%d (%s): %s",
                                  message_id, number, sequence, total, state, exc)
                        return self._finish(message_id, number, state, total, parts, exc,
                                            sequence if progress.body_written else None)
                    except AtProtocolError as exc:
                        # accepted (OK) but the MR is unreadable: sent, yet its reports cannot be matched
                        log.error("send %s: garbled +CMGS answer at part %d: %s", message_id, sequence, exc)
                        return self._finish(message_id, number, "uncertain", total, parts, exc, sequence)
                    except CommandError as exc:
                        if progress.body_written:       # an answer that does not say whether it went out
                            log.error("send %s to %s: outcome of part %d/%d unknown (uncertain): %s",
                                      message_id, number, sequence, total, exc)
                            return self._finish(message_id, number, "uncertain", total, parts, exc, sequence)
                        log.warning("send %s to %s failed at part %d/%d: %s", message_id, number, sequence, total, exc)
                        return self._finish(message_id, number, "failed", total, parts, exc, None)
                    now = m.clock()
                    parts.append(PartRef(mr, sequence, now))
                    with m.state_lock:
                        updates = m.tracker.register(message_id, number, sequence=sequence, total=total,
                                                     mr=mr, now=now)
                        m.persist()
                    for update in updates:
                        m.emit(update)
            finally:
                if total > 1:
                    try:
                        self._best_effort("AT+CMMS=0")
                    except (CommandTimeout, ModemDisconnected):
                        pass   # the link is gone: CMMS resets with it; the outcome above stands
        log.info("sent %s to %s: %d part(s), MR %s", message_id, number, total, [p.mr for p in parts])
        return SentSms(message_id, number, "sent", total, tuple(parts))

    def _finish(self, message_id, number, state, total, parts, error, uncertain_sequence) -> SentSms:
        m = self.modem
        if parts:
            with m.state_lock:
                updates = m.tracker.truncate(message_id, m.clock())
                m.persist()
            for update in updates:
                m.emit(update)
        return SentSms(message_id, number, state, total, tuple(parts), error, uncertain_sequence)

    def _send_segment(self, pdu_hex: str, tpdu_length: int, progress) -> int:
        """One segment with bounded retries on temporary errors; returns the MR."""
        m = self.modem
        backoff = m.send_backoff
        failures = 0
        while True:
            response = m.transact_send(f"AT+CMGS={tpdu_length}", pdu_hex, progress)
            if response.result.ok:
                return _parse_mr(response)
            try:
                response.result.raise_for(f"AT+CMGS={tpdu_length}")
            except CommandError as exc:
                if progress.body_written and exc.outcome_unknown:
                    raise           # the SMSC may have it (network timeout, unknown): "uncertain", no retry
                progress.body_written = False   # refused: this body did not go out (even if we now wait)
                if exc.code == 322:
                    m.emit(StorageFull(m.profile.storage, None, None, "+CMS ERROR 322", m.clock()))
                failures += 1
                decision = classify(exc)
                if decision == FAIL or decision == ABORT or failures >= backoff.attempts:
                    raise
                assert decision == RETRY
                delay = backoff.delay(failures)
                log.info("temporary error %s; retry %d/%d in %.2f s", exc, failures, backoff.attempts - 1, delay)
                if m._closing.wait(delay):
                    raise ModemDisconnected("modem closed during retry") from exc
                m.require_ready()

    def _best_effort(self, line: str) -> None:
        try:
            self.modem.command(line)
        except CommandError as exc:
            log.debug("%s refused (%s); continuing", line, exc)
        except (CommandTimeout, ModemDisconnected):
            raise
        except ModemError as exc:
            log.debug("%s failed (%s)", line, exc)


def _parse_mr(response: Response) -> int:
    line = find_line(response.lines, "+CMGS")
    f = fields(line, "+CMGS")
    try:
        return int(f[0]) & 0xFF
    except (IndexError, ValueError):
        raise AtProtocolError(f"bad +CMGS answer {line!r}") from None
