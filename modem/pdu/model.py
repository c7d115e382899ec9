"""Value types of the PDU codec (frozen dataclasses) and the status-report classifier.

Field order of the contract (CONTRACTS.md) comes first; fields added later have
defaults so positional construction keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

GSM7 = "gsm7"
UCS2 = "ucs2"
DATA8 = "8bit"

DELIVERED = "delivered"
PENDING = "pending"
FAILED = "failed"


def status_class(status: int) -> str:
    """Classify a TP-Status value (TS 23.040 §9.2.3.15).

    0x00-0x1F "delivered" (short message transaction completed), 0x20-0x3F "pending"
    (temporary error, the SC is still trying: NOT final), anything else "failed"
    (0x40-0x7F permanent or given-up errors; reserved 0x80+ and out-of-range values
    are treated as failed too).
    """
    if 0x00 <= status <= 0x1F:
        return DELIVERED
    if 0x20 <= status <= 0x3F:
        return PENDING
    return FAILED


@dataclass(frozen=True)
class Plan:
    """What a text costs. ``units`` are septets (gsm7) or UTF-16 code units (ucs2);
    ``chars_left`` is how many units still fit in the last segment; ``text`` is the
    text that would be sent (after transliteration, if asked)."""

    encoding: str
    segments: int
    chars_left: int
    text: str
    units: int


@dataclass(frozen=True)
class EncodedPdu:
    """One PDU ready for ``AT+CMGS=<tpdu_length>``.

    ``hex`` (upper case) includes the SMSC field first ("00" for SMS-SUBMIT: use the
    SIM's SMSC); ``tpdu_length`` counts the octets after the SMSC field."""

    hex: str
    tpdu_length: int


@dataclass(frozen=True)
class Concat:
    """Concatenation info from the user-data header (IEI 0x00 when bits=8, 0x08 when bits=16)."""

    reference: int
    total: int
    sequence: int
    bits: int = 8


@dataclass(frozen=True)
class Deliver:
    """A received SMS-DELIVER.

    ``sender`` is "+<digits>" (international), the digits (national/unknown) or the
    text of an alphanumeric sender. ``timestamp`` is the service-centre time stamp
    (timezone-aware). ``encoding`` is "gsm7", "ucs2" or "8bit"; for "8bit" the
    payload is in ``data`` and ``text`` is "". ``message_class`` is 0-3 or None.
    ``protocol_id`` is TP-PID: 0x40 marks a "type 0" (silent) message the receiver
    must acknowledge and discard; 0x41-0x47 ask to replace an earlier message.
    """

    sender: str
    text: str
    timestamp: datetime
    concat: Concat | None
    encoding: str
    smsc: str | None
    data: bytes | None
    message_class: int | None = None
    protocol_id: int = 0


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT (what the modem sends to the SC).

    ``validity`` is a timedelta (relative format), a datetime (absolute format) or
    None (absent, or the enhanced format, which is skipped)."""

    number: str
    text: str
    status_report: bool
    message_reference: int
    validity: timedelta | datetime | None
    concat: Concat | None
    encoding: str
    smsc: str | None = None
    data: bytes | None = None
    message_class: int | None = None
    protocol_id: int = 0


@dataclass(frozen=True)
class StatusReport:
    """A decoded SMS-STATUS-REPORT: the SC's answer about the SUBMIT with ``message_reference``
    sent to ``recipient``. ``status_class`` is "delivered", "pending" or "failed" (see status_class)."""

    message_reference: int
    recipient: str
    service_centre_time: datetime
    discharge_time: datetime
    status: int
    status_class: str
    smsc: str | None = None
