"""Decoding SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT PDUs (TS 23.040 §9.2.2).

``decode()`` raises PduError and nothing else on malformed input. The message type
comes from TP-MTI as seen by the mobile: 00 DELIVER, 01 SUBMIT, 10 STATUS-REPORT.
"""

from __future__ import annotations

import binascii
from datetime import datetime, timedelta

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.fields import (Reader, decode_address, decode_smsc, decode_timestamp, relative_validity)
from modem.pdu.model import (DATA8, GSM7, UCS2, Concat, Deliver, StatusReport, Submit, status_class)
from modem.pdu.udh import parse_header, single_shift_language

FLAG_UDHI = 0x40
FLAG_STATUS_REPORT_REQUEST = 0x20


def parse_dcs(dcs: int) -> tuple[str, int | None]:
    """(alphabet, message class or None) for a TP-DCS octet (TS 23.038 §4).

    00xx/01xx general data coding (bit 5 = compressed -> PduError; bit 4 = class in
    bits 1-0; alphabet in bits 3-2, reserved 11 treated as GSM-7); 1000-1011 reserved
    -> GSM-7; 1100/1101 message waiting, GSM-7; 1110 message waiting, UCS-2;
    1111: bit 2 selects 8-bit data over GSM-7, class in bits 1-0.
    """
    group = dcs >> 4
    if group <= 0x7:
        if dcs & 0x20:
            raise PduError(f"compressed user data (DCS 0x{dcs:02X}) is not supported")
        alphabet = {0: GSM7, 1: DATA8, 2: UCS2, 3: GSM7}[(dcs >> 2) & 0x3]
        return alphabet, (dcs & 0x3) if dcs & 0x10 else None
    if group == 0xF:
        return (DATA8 if dcs & 0x04 else GSM7), dcs & 0x3
    if group == 0xE:
        return UCS2, None
    return GSM7, None


_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _to_bytes(pdu: str | bytes) -> bytes:
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        raw = bytes(pdu)
        stripped = raw.strip()
        # Hex text read from the serial port as bytes. Never a raw PDU: every well-formed address has a
        # type-of-address octet >= 0x80, which is not an ASCII hex digit.
        if stripped and all(b in _HEX_DIGITS for b in stripped):
            pdu = stripped.decode("ascii")
        else:
            return raw
    if not isinstance(pdu, str):
        raise PduError(f"PDU must be a hex string or bytes, got {type(pdu).__name__}")
    text = pdu.strip()
    if len(text) % 2:
        raise PduError(f"PDU hex has an odd number of digits ({len(text)})")
    try:
        return binascii.unhexlify(text.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        raise PduError("PDU is not hexadecimal") from None


def read_user_data(reader: Reader, udhi: bool, alphabet: str) -> tuple[str, bytes | None, Concat | None]:
    """Read TP-UDL and TP-UD; return (text, 8-bit data or None, concatenation or None).

    GSM-7 text after a UDH starts at the next septet boundary (fill bits skipped); a
    Spanish single-shift IE (0x24 = 2) switches ESC codes to that table (á, í, ó, ú, ç...).
    UCS-2 is decoded as UTF-16-BE; an odd octet or a lone surrogate becomes U+FFFD
    so the rest of the message survives. Raises PduError on overrunning lengths.
    """
    udl = reader.octet("user data length")
    octets = (udl * 7 + 7) // 8 if alphabet == GSM7 else udl
    ud = reader.take(octets, "user data")
    concat = None
    single_shift = None
    header_octets = 0
    if udhi:
        if not ud:
            raise PduError("user-data header indicated but user data is empty")
        header_octets = 1 + ud[0]
        if header_octets > len(ud):
            raise PduError(f"user-data header length {ud[0]} overruns the {len(ud)}-octet user data")
        concat = parse_header(ud[1:header_octets])
        single_shift = single_shift_language(ud[1:header_octets])
    if alphabet == GSM7:
        start = (header_octets * 8 + 6) // 7
        if start > udl:
            raise PduError(f"user-data header ({start} septets) is longer than the user data ({udl} septets)")
        return gsm7.from_septets(gsm7.unpack(ud, udl - start, start), single_shift), None, concat
    body = ud[header_octets:]
    if alphabet == UCS2:
        return body.decode("utf-16-be", errors="replace"), None, concat
    return "", body, concat


def _deliver(reader: Reader, first: int, smsc: str | None) -> Deliver:
    sender = decode_address(reader, "sender address")
    protocol_id = reader.octet("protocol identifier")
    alphabet, message_class = parse_dcs(reader.octet("data coding scheme"))
    timestamp = decode_timestamp(reader, "service-centre time stamp")
    text, data, concat = read_user_data(reader, bool(first & FLAG_UDHI), alphabet)
    return Deliver(sender=sender, text=text, timestamp=timestamp, concat=concat, encoding=alphabet, smsc=smsc,
                   data=data, message_class=message_class, protocol_id=protocol_id)


def _submit(reader: Reader, first: int, smsc: str | None) -> Submit:
    message_reference = reader.octet("message reference")
    number = decode_address(reader, "destination address")
    protocol_id = reader.octet("protocol identifier")
    alphabet, message_class = parse_dcs(reader.octet("data coding scheme"))
    vpf = (first >> 3) & 0x3
    validity: timedelta | datetime | None = None
    if vpf == 2:
        validity = relative_validity(reader.octet("validity period"))
    elif vpf == 3:
        validity = decode_timestamp(reader, "validity period")
    elif vpf == 1:
        reader.take(7, "enhanced validity period")
    text, data, concat = read_user_data(reader, bool(first & FLAG_UDHI), alphabet)
    return Submit(number=number, text=text, status_report=bool(first & FLAG_STATUS_REPORT_REQUEST),
                  message_reference=message_reference, validity=validity, concat=concat, encoding=alphabet,
                  smsc=smsc, data=data, message_class=message_class, protocol_id=protocol_id)


def _skip_optional_parameters(reader: Reader) -> None:
    """TP-PI and what it announces (PID, DCS, UDL+UD). Optional, so any damage is tolerated."""
    try:
        indicator = reader.octet("parameter indicator")
        extension = indicator
        while extension & 0x80 and reader.remaining:
            extension = reader.octet("parameter indicator extension")
        if indicator & 0x01:
            reader.octet("protocol identifier")
        alphabet = GSM7
        if indicator & 0x02:
            alphabet, _ = parse_dcs(reader.octet("data coding scheme"))
        if indicator & 0x04:
            read_user_data(reader, False, alphabet)
    except PduError:
        pass


def _status_report(reader: Reader, first: int, smsc: str | None) -> StatusReport:
    message_reference = reader.octet("message reference")
    recipient = decode_address(reader, "recipient address")
    service_centre_time = decode_timestamp(reader, "service-centre time stamp")
    discharge_time = decode_timestamp(reader, "discharge time")
    status = reader.octet("status")
    if reader.remaining:
        _skip_optional_parameters(reader)
    return StatusReport(message_reference=message_reference, recipient=recipient,
                        service_centre_time=service_centre_time, discharge_time=discharge_time, status=status,
                        status_class=status_class(status), smsc=smsc)


def decode(pdu: str | bytes, *, smsc: bool = True) -> Deliver | Submit | StatusReport:
    """Decode one PDU given as hex text (surrounding whitespace ignored, any case) or raw bytes.

    Bytes made only of ASCII hex digits (plus surrounding whitespace), e.g. a line read from
    the serial port, are taken as hex text; other bytes are the raw octets.

    ``smsc=True`` when the PDU starts with the SMSC field (what +CMGR/+CMGL/+CMT/+CDS
    give in PDU mode); False for a bare TPDU. Trailing octets after the last field
    are ignored. Raises PduError, and only PduError, for anything malformed.
    """
    reader = Reader(_to_bytes(pdu))
    centre = decode_smsc(reader) if smsc else None
    first = reader.octet("first octet")
    mti = first & 0x3
    if mti == 0:
        return _deliver(reader, first, centre)
    if mti == 1:
        return _submit(reader, first, centre)
    if mti == 2:
        return _status_report(reader, first, centre)
    raise PduError("reserved message type indicator 3")
