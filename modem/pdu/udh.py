"""User-data header (TS 23.040 §9.2.3.24): building the concatenation IE, parsing any UDH.

A UDH is ``UDHL`` followed by information elements ``IEI, IEDL, data``. We build
only concatenation IEs (0x00 with an 8-bit reference, 0x08 with a 16-bit one) and,
when parsing, skip every other IE by its length.
"""

from __future__ import annotations

import logging

from modem.errors import PduError
from modem.pdu.model import Concat

log = logging.getLogger("cobrador.modem.pdu.udh")

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08
IEI_SINGLE_SHIFT = 0x24


def concat_header(reference: int, total: int, sequence: int, bits: int = 8) -> bytes:
    """The complete UDH (UDHL included) for one part of a concatenated message.

    8-bit: 05 00 03 ref total seq (6 octets); 16-bit: 06 08 04 refhi reflo total seq (7 octets).
    Raises PduError for out-of-range values.
    """
    if bits not in (8, 16):
        raise PduError(f"reference_bits must be 8 or 16, not {bits!r}")
    if not 0 <= reference < (1 << bits):
        raise PduError(f"concatenation reference {reference} does not fit in {bits} bits")
    if not 1 <= sequence <= total <= 255:
        raise PduError(f"concatenation part {sequence}/{total} is out of range (1-255)")
    if bits == 8:
        return bytes([5, IEI_CONCAT_8, 3, reference, total, sequence])
    return bytes([6, IEI_CONCAT_16, 4, reference >> 8, reference & 0xFF, total, sequence])


def header_length(bits: int) -> int:
    """Octets (UDHL included) of a concatenation-only UDH."""
    return 6 if bits == 8 else 7


def information_elements(header: bytes) -> list[tuple[int, bytes]]:
    """The (IEI, data) pairs of a UDH (``header`` EXCLUDES the UDHL octet).

    Never raises: the caller has already checked that UDHL fits the user data, so
    the text is recoverable whatever the IEs hold. An IE that runs past the header
    ends parsing (real captures exist where a network wrote a bogus IE inside a
    correct UDHL, e.g. python-gsmmodem issue 51).
    """
    out = []
    pos = 0
    while pos + 2 <= len(header):
        iei, length = header[pos], header[pos + 1]
        data = header[pos + 2:pos + 2 + length]
        if len(data) != length:
            log.debug("UDH IE 0x%02X declares %d octets, only %d left: rest of header ignored", iei, length,
                      len(data))
            break
        out.append((iei, data))
        pos += 2 + length
    return out


def parse_header(header: bytes) -> Concat | None:
    """The concatenation IE of a UDH (``header`` EXCLUDES the UDHL octet), or None. Never raises.

    Unknown IEs are skipped by their length (see information_elements). A
    concatenation IE with a wrong length is ignored, and so is one whose total or
    sequence is 0 or whose sequence exceeds total (as TS 23.040 §9.2.3.24.1 says);
    the part is then treated as a single message. If several valid concatenation
    IEs appear the last one wins.
    """
    concat = None
    for iei, data in information_elements(header):
        if iei == IEI_CONCAT_8 and len(data) == 3:
            reference, total, sequence, bits = data[0], data[1], data[2], 8
        elif iei == IEI_CONCAT_16 and len(data) == 4:
            reference, total, sequence, bits = (data[0] << 8) | data[1], data[2], data[3], 16
        else:
            continue
        if 1 <= sequence <= total:
            concat = Concat(reference, total, sequence, bits)
    return concat


def single_shift_language(header: bytes) -> int | None:
    """The national language of a single-shift IE (0x24, TS 23.038 §A.2), or None. Never raises."""
    language = None
    for iei, data in information_elements(header):
        if iei == IEI_SINGLE_SHIFT and len(data) == 1:
            language = data[0]
    return language
