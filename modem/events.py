"""Events the driver puts on its ``queue.Queue`` for consumers.

The driver's I/O thread never calls consumer code: everything a consumer
should know (a message arrived, a delivery report matched, the modem went
away) becomes one of these frozen dataclasses on ``Modem.events``. Consumers
run in their own threads and may call back into the driver (``ack()``,
``send_sms``) from there.

Every event carries ``at``: the driver clock's time (epoch seconds) when it
was created.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

# ModemStateChanged.state values
CONNECTED = "connected"
DISCONNECTED = "disconnected"
REINITIALISED = "reinitialised"
FAILED = "failed"      # gave up for good (wrong PIN, PUK): needs a person
CLOSED = "closed"


@dataclass(frozen=True)
class PartStatus:
    """Delivery state of one segment of a sent message.

    ``mr`` is the TP-Message-Reference the modem gave (``+CMGS: <mr>``);
    ``status`` the TP-Status of the latest report (``None`` before any);
    ``state`` one of ``"sent" | "pending" | "delivered" | "failed" | "expired"``.
    """

    sequence: int
    mr: int
    state: str
    status: int | None = None


@dataclass(frozen=True)
class DeliveryUpdate:
    """The aggregate delivery state of a sent message changed (or a part's report arrived).

    ``state`` is the message state (``delivered`` when every part is delivered,
    ``failed`` when any part failed permanently, ``pending`` when the SC is
    still trying, ``expired`` when no final report came within the window,
    ``sent`` otherwise); ``parts`` holds each segment's status.
    """

    message_id: str
    number: str
    state: str
    parts: tuple[PartStatus, ...]
    final: bool
    at: float


class _Ack:
    """One-shot acknowledgement callable shared by incoming-message events."""

    def __init__(self, action: Callable[[], bool] | None):
        self._action = action
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> bool:
        with self._lock:
            if self._done:
                return True
            if self._action is None:
                self._done = True
                return True
            self._done = bool(self._action())
            return self._done


@dataclass(frozen=True)
class IncomingSms:
    """An SMS (single or reassembled multipart) from ``sender``.

    The message stays on the SIM (or in the driver store for ``+CMT``
    deliveries) until the consumer calls :meth:`ack` after it stored the
    message durably. ``complete`` is False when the reassembly timeout gave
    up waiting for missing parts (``parts_received`` of ``parts_total``).
    ``message_key`` identifies the message stably across re-offers (the same
    message offered again after a restart has the same key), so consumers can
    de-duplicate.
    """

    sender: str
    text: str
    timestamp: datetime | None
    message_key: str
    complete: bool = True
    parts_total: int = 1
    parts_received: int = 1
    sim_indexes: tuple[int, ...] = ()
    at: float = 0.0
    _ack: _Ack = field(default_factory=lambda: _Ack(None), repr=False, compare=False)

    def ack(self) -> bool:
        """Tell the driver the message is stored: it may now be deleted from the SIM.

        Returns True once the deletion is done (or deferred until the modem is
        back, when it is unplugged right now). Safe to call twice.
        """
        return self._ack()


@dataclass(frozen=True)
class UndecodableSms:
    """A stored or inline message whose PDU could not be decoded.

    Kept on the SIM until acked, like :class:`IncomingSms`; ``pdu`` is the raw
    hex so it can be archived; ``error`` says why decoding failed.
    """

    pdu: str
    error: str
    sim_index: int | None
    at: float = 0.0
    _ack: _Ack = field(default_factory=lambda: _Ack(None), repr=False, compare=False)

    def ack(self) -> bool:
        """Archive done: delete the message from the SIM. Safe to call twice."""
        return self._ack()


@dataclass(frozen=True)
class SignalChanged:
    """Signal quality read or reported: ``rssi`` 0-31 (99 unknown), ``dbm`` or None."""

    rssi: int
    dbm: int | None
    at: float


@dataclass(frozen=True)
class StorageFull:
    """Message storage ``storage`` is full (``used`` of ``total``); ``source`` says how we learnt it."""

    storage: str
    used: int | None
    total: int | None
    source: str
    at: float


@dataclass(frozen=True)
class ModemStateChanged:
    """Connection lifecycle: ``state`` is connected / disconnected / reinitialised / failed / closed."""

    state: str
    reason: str
    at: float


@dataclass(frozen=True)
class NetworkTime:
    """The network sent its time (NITZ URC) or ``network_time()`` read a plausible clock."""

    when: datetime
    source: str
    at: float


@dataclass(frozen=True)
class ProtocolNoise:
    """Bytes or lines the driver could not make sense of (logged, reported, never fatal)."""

    data: bytes
    reason: str
    at: float


@dataclass(frozen=True)
class UnhandledUrc:
    """An unsolicited line no handler claimed (kept for diagnostics)."""

    name: str
    line: str
    at: float


@dataclass(frozen=True)
class CallUrc:
    """A call-state unsolicited code, routed by the profile's ``call_urc_style``.

    The voice layer (a later issue) consumes these; the driver only classifies.
    """

    style: str
    name: str
    value: str
    line: str
    at: float


@dataclass(frozen=True)
class IncomingCall:
    """Someone called the modem: ``number`` (caller id; None when withheld or unknown) and what the
    voice layer did: ``action`` "rejected" (hung up), "answered", "ignored" (left ringing, reported
    once) or "missed" (it stopped ringing before we acted). See :mod:`modem.voice.calls`."""

    number: str | None
    at: float
    action: str
