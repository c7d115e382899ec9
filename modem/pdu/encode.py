"""Building SMS-SUBMIT, SMS-DELIVER and SMS-STATUS-REPORT PDUs (TS 23.040 §9.2.2).

All encoders return upper-case hex that starts with the SMSC field, and raise
PduError (only) for values that cannot be encoded.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.fields import (encode_address, encode_smsc, encode_timestamp, relative_validity_octet)
from modem.pdu.model import GSM7, EncodedPdu
from modem.pdu.segments import split
from modem.pdu.udh import concat_header

log = logging.getLogger("cobrador.modem.pdu.encode")

MTI_DELIVER = 0x00
MTI_SUBMIT = 0x01
MTI_STATUS_REPORT = 0x02
FLAG_MORE_MESSAGES_NOT = 0x04   # TP-MMS=1: no more messages waiting (DELIVER / STATUS-REPORT)
VPF_RELATIVE = 0x10
FLAG_STATUS_REPORT_REQUEST = 0x20
FLAG_UDHI = 0x40
DCS_GSM7 = 0x00
DCS_UCS2 = 0x08


def user_data(encoding: str, text: str, header: bytes) -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for ``text`` after an optional UDH (``header`` includes UDHL).

    GSM-7: UDL counts septets, header included (rounded up to whole septets, the
    difference being fill bits). UCS-2: UDL counts octets."""
    if encoding == GSM7:
        septets = gsm7.to_septets(text)
        header_septets = (len(header) * 8 + 6) // 7
        fill = header_septets * 7 - len(header) * 8
        return header_septets + len(septets), header + gsm7.pack(septets, fill)
    body = header + text.encode("utf-16-be")
    return len(body), body


def _parts(text: str, reference: int | None, reference_bits: int, transliterate: bool):
    encoding, parts = split(text, reference_bits, transliterate_text=transliterate)
    total = len(parts)
    if reference is None:
        reference = random.randrange(1 << reference_bits)
    elif not isinstance(reference, int) or isinstance(reference, bool) or not 0 <= reference < (1 << reference_bits):
        raise PduError(f"concatenation reference {reference!r} does not fit in {reference_bits} bits")
    for sequence, part in enumerate(parts, 1):
        header = concat_header(reference, total, sequence, reference_bits) if total > 1 else b""
        udl, ud = user_data(encoding, part, header)
        yield encoding, header, udl, ud


def _finish(smsc_field: bytes, tpdu: bytes) -> EncodedPdu:
    return EncodedPdu(hex=(smsc_field + tpdu).hex().upper(), tpdu_length=len(tpdu))


def _check_octet(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
        raise PduError(f"{what} must be an integer 0-255, not {value!r}")
    return value


def encode_submit(number: str, text: str, *, status_report: bool = True, validity: timedelta | None = None,
                  reference: int | None = None, reference_bits: int = 8, transliterate: bool = False,
                  message_reference: int = 0) -> list[EncodedPdu]:
    """SMS-SUBMIT PDUs for ``text`` to ``number`` ("+<digits>" international, else digits).

    One EncodedPdu per segment (see modem.pdu.segments for the alphabet and split
    rules). Multipart messages carry a concatenation UDH with ``reference`` (random
    when None) of ``reference_bits`` (8 or 16). ``status_report`` sets TP-SRR;
    ``validity`` adds a relative TP-VP (rounded up, capped at 63 weeks). Part ``i``
    (0-based) gets TP-MR ``(message_reference + i) % 256`` (modems usually replace it).
    The SMSC field is "00": the modem uses the SIM's SMSC. Raises PduError.
    """
    destination = encode_address(number, "number")
    _check_octet(message_reference, "message_reference")
    vp = b"" if validity is None else bytes([relative_validity_octet(validity)])
    out = []
    for index, (encoding, header, udl, ud) in enumerate(_parts(text, reference, reference_bits, transliterate)):
        first = MTI_SUBMIT | (VPF_RELATIVE if vp else 0) | (FLAG_STATUS_REPORT_REQUEST if status_report else 0)
        first |= FLAG_UDHI if header else 0
        dcs = DCS_GSM7 if encoding == GSM7 else DCS_UCS2
        tpdu = (bytes([first, (message_reference + index) % 256]) + destination + bytes([0x00, dcs]) + vp
                + bytes([udl]) + ud)
        out.append(_finish(b"\x00", tpdu))
    log.debug("encoded SMS-SUBMIT to %s: %d part(s)", number, len(out))
    return out


def encode_deliver(sender: str, text: str, timestamp: datetime, *, reference: int | None = None,
                   reference_bits: int = 8, smsc: str = "+573000000000", protocol_id: int = 0) -> list[EncodedPdu]:
    """SMS-DELIVER PDUs (what a modem receives) from ``sender`` with SC time stamp ``timestamp``.

    ``sender`` is a number ("+<digits>" or digits) or an alphanumeric name of at most
    11 GSM-7 septets. ``timestamp`` must be timezone-aware (quarter-hour offset).
    ``smsc`` None or "" gives an empty SMSC field. ``protocol_id`` is TP-PID (0x40: a
    "type 0" silent message). Raises PduError.
    """
    _check_octet(protocol_id, "protocol_id")
    originator = encode_address(sender, "sender", allow_alphanumeric=True)
    scts = encode_timestamp(timestamp, "timestamp")
    smsc_field = encode_smsc(smsc)
    out = []
    for encoding, header, udl, ud in _parts(text, reference, reference_bits, False):
        first = MTI_DELIVER | FLAG_MORE_MESSAGES_NOT | (FLAG_UDHI if header else 0)
        dcs = DCS_GSM7 if encoding == GSM7 else DCS_UCS2
        tpdu = bytes([first]) + originator + bytes([protocol_id, dcs]) + scts + bytes([udl]) + ud
        out.append(_finish(smsc_field, tpdu))
    return out


def encode_deliver_data(sender: str, data: bytes, timestamp: datetime, *, smsc: str = "+573000000000",
                        message_class: int | None = None) -> EncodedPdu:
    """A single SMS-DELIVER with 8-bit ``data`` (at most 140 octets), DCS 0x04 or 0xF4-0xF7
    when ``message_class`` (0-3) is given. Raises PduError."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > 140:
        raise PduError("8-bit data must be bytes of at most 140 octets")
    if message_class is None:
        dcs = 0x04
    elif message_class in (0, 1, 2, 3):
        dcs = 0xF4 | message_class
    else:
        raise PduError(f"message_class must be 0-3, not {message_class!r}")
    tpdu = (bytes([MTI_DELIVER | FLAG_MORE_MESSAGES_NOT]) + encode_address(sender, "sender", allow_alphanumeric=True)
            + bytes([0x00, dcs]) + encode_timestamp(timestamp, "timestamp") + bytes([len(data)]) + bytes(data))
    return _finish(encode_smsc(smsc), tpdu)


def encode_status_report(message_reference: int, recipient: str, service_centre_time: datetime,
                         discharge_time: datetime, status: int, *, smsc: str = "+573000000000") -> EncodedPdu:
    """SMS-STATUS-REPORT (TS 23.040 §9.2.2.3) for the SUBMIT with TP-MR ``message_reference``.

    ``status`` is TP-ST 0-255 (see status_class). Both times must be aware. No
    optional parameters (TP-PI) are added. Raises PduError.
    """
    _check_octet(message_reference, "message_reference")
    _check_octet(status, "status")
    tpdu = (bytes([MTI_STATUS_REPORT | FLAG_MORE_MESSAGES_NOT, message_reference])
            + encode_address(recipient, "recipient")
            + encode_timestamp(service_centre_time, "service_centre_time")
            + encode_timestamp(discharge_time, "discharge_time") + bytes([status]))
    return _finish(encode_smsc(smsc), tpdu)
