"""Property tests of modem.pdu: round trips, planning vs encoding, and fuzzing of the decoder.

What reaches a debtor's phone is decided here, so the encoder is checked on arbitrary text
(emoji, escapes, boundaries) and the decoder on arbitrary bytes.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from modem.errors import PduError
from modem.pdu import (decode, encode_deliver, encode_status_report, encode_submit, plan, status_class,
                       transliterate)
from modem.pdu.segments import multipart_capacity

# Set COBRADOR_PDU_EXAMPLES=20 (a multiplier) for a long local fuzzing run; CI keeps the defaults.
SCALE = int(os.environ.get("COBRADOR_PDU_EXAMPLES", "1"))
SETTINGS = settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GSM_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà"
GSM_EXTENSION = "€[]{}\\~^|\f"
SPANISH_NON_GSM = "áíóúÁÍÓÚ‘’“”–—…"
ASTRAL = "😀👍🇨🇴𝄞"

# Text that hits the interesting boundaries: mostly GSM-7, some escapes, sometimes UCS-2 and emoji.
boundary_text = st.text(alphabet=st.sampled_from(GSM_BASIC + GSM_EXTENSION * 3 + SPANISH_NON_GSM + ASTRAL),
                        max_size=500)
gsm_text = st.text(alphabet=st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=500)
any_text = st.one_of(st.text(max_size=300), boundary_text, gsm_text)
numbers = st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True)
senders = st.one_of(numbers, st.text(alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123 ._-"),
                                     min_size=1, max_size=11).filter(lambda s: not s.strip("+0123456789") == ""))
zones = st.integers(min_value=-48, max_value=56).map(lambda q: timezone(timedelta(minutes=15 * q)))
moments = st.builds(lambda naive, zone: naive.replace(tzinfo=zone),
                    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59)),
                    zones).map(lambda d: d.replace(microsecond=0))
reference_bits = st.sampled_from([8, 16])


def joined(parts, *, expect_reference=None, bits=8):
    messages = [decode(p.hex) for p in parts]
    if len(messages) > 1:
        concats = [m.concat for m in messages]
        assert [c.sequence for c in concats] == list(range(1, len(messages) + 1))
        assert {(c.reference, c.total, c.bits) for c in concats} == {(expect_reference, len(messages), bits)}
    else:
        assert messages[0].concat is None
    return messages, "".join(m.text for m in messages)


@SETTINGS
@given(number=numbers, text=any_text, bits=reference_bits, ref=st.integers(0, 255), report=st.booleans(),
       transliterate_=st.booleans())
def test_submit_round_trips_and_matches_plan(number, text, bits, ref, report, transliterate_):
    parts = encode_submit(number, text, reference=ref, reference_bits=bits, status_report=report,
                          transliterate=transliterate_)
    expected = plan(text, transliterate=transliterate_, reference_bits=bits)
    assert expected.segments == len(parts)
    messages, decoded = joined(parts, expect_reference=ref, bits=bits)
    assert decoded == expected.text
    if not transliterate_:
        assert decoded == text
    for message, part in zip(messages, parts):
        assert message.number == number and message.status_report == report
        assert message.encoding == expected.encoding
        assert part.tpdu_length == len(bytes.fromhex(part.hex)) - 1
        assert part.hex == part.hex.upper()
        assert decode(bytes.fromhex(part.hex)) == message == decode(part.hex.encode())
        assert decode(bytes.fromhex(part.hex)[1:], smsc=False) == message
    # every part respects the 140-octet user-data limit, the last one holds what plan() says
    single = len(parts) == 1
    capacity = (160 if expected.encoding == "gsm7" else 70) if single else multipart_capacity(expected.encoding, bits)
    assert 0 <= expected.chars_left <= capacity
    for part in parts:
        raw = bytes.fromhex(part.hex)
        address_octets = 2 + (raw[3] + 1) // 2
        udl = raw[3 + address_octets + 2]
        ud = raw[3 + address_octets + 3:]
        assert len(ud) <= 140
        assert udl <= (160 if expected.encoding == "gsm7" else 140)


@SETTINGS
@given(sender=senders, text=any_text, when=moments, bits=reference_bits, ref=st.integers(0, 65535),
       smsc=st.one_of(st.none(), numbers))
def test_deliver_round_trips(sender, text, when, bits, ref, smsc):
    ref = ref if bits == 16 else ref % 256
    parts = encode_deliver(sender, text, when, reference=ref, reference_bits=bits, smsc=smsc)
    messages, decoded = joined(parts, expect_reference=ref, bits=bits)
    assert decoded == text
    for message in messages:
        assert (message.sender, message.timestamp, message.smsc) == (sender, when, smsc or None)
        assert message.timestamp.utcoffset() == when.utcoffset()


@SETTINGS
@given(mr=st.integers(0, 255), recipient=numbers, sent=moments, done=moments, status=st.integers(0, 255))
def test_status_report_round_trips(mr, recipient, sent, done, status):
    report = decode(encode_status_report(mr, recipient, sent, done, status).hex)
    assert (report.message_reference, report.recipient, report.service_centre_time, report.discharge_time,
            report.status) == (mr, recipient, sent, done, status)
    assert report.status_class == status_class(status)
    assert report.status_class == ("delivered" if status < 0x20 else "pending" if status < 0x40 else "failed")


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from("ñÑ¿¡éÉüÜáíóúÁÍÓÚ‘’“”–—…abc ?!"), max_size=200))
def test_transliteration_never_touches_spanish_gsm7_letters(text):
    result = transliterate(text)
    assert result == (text.translate(str.maketrans("áíóúÁÍÓÚ‘’“”–—", "aiouAIOU''\"\"--")).replace("…", "..."))
    for kept in "ñÑ¿¡éÉüÜ":
        assert result.count(kept) == text.count(kept)
    assert plan(text, transliterate=True).encoding == "gsm7"


@SETTINGS
@given(text=any_text)
def test_plan_is_consistent(text):
    result = plan(text)
    assert result.segments >= 1
    assert result.text == text
    if result.encoding == "ucs2":
        assert result.units == len(text.encode("utf-16-be")) // 2
    else:
        assert result.units == len(text) + sum(text.count(c) for c in GSM_EXTENSION)
    single = 160 if result.encoding == "gsm7" else 70
    if result.units <= single:
        assert result.segments == 1 and result.chars_left == single - result.units
    else:
        assert result.segments >= -(-result.units // multipart_capacity(result.encoding))


# --- fuzzing: decode() returns or raises PduError, never anything else ----------------------------

def _decode_or_pdu_error(data, smsc):
    try:
        decode(data, smsc=smsc)
    except PduError:
        pass


@settings(max_examples=300 * SCALE, deadline=None)
@given(data=st.binary(max_size=200), smsc=st.booleans())
def test_fuzz_random_bytes(data, smsc):
    _decode_or_pdu_error(data, smsc)
    _decode_or_pdu_error(data.hex(), smsc)


@settings(max_examples=150 * SCALE, deadline=None)
@given(text=st.text(max_size=60), smsc=st.booleans())
def test_fuzz_random_strings(text, smsc):
    _decode_or_pdu_error(text, smsc)


def _valid_pdus(draw_text, when):
    return [encode_submit("+573001234567", draw_text, reference=5)[0].hex,
            encode_deliver("Cobrador", draw_text, when, reference=7, reference_bits=16)[-1].hex,
            encode_deliver("+573001234567", draw_text, when)[0].hex,
            encode_status_report(9, "+573001234567", when, when, 0x41).hex]


@settings(max_examples=300 * SCALE, deadline=None)
@given(text=boundary_text, when=moments, which=st.integers(0, 3),
       edits=st.lists(st.tuples(st.sampled_from(["set", "insert", "delete", "truncate"]), st.integers(0, 400),
                                st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_valid_pdus(text, when, which, edits):
    data = bytearray(bytes.fromhex(_valid_pdus(text, when)[which]))
    for op, pos, value in edits:
        pos %= len(data) + 1
        if op == "set" and pos < len(data):
            data[pos] = value
        elif op == "insert":
            data.insert(pos, value)
        elif op == "delete" and pos < len(data):
            del data[pos]
        elif op == "truncate":
            del data[pos:]
    assume(data)
    _decode_or_pdu_error(bytes(data), True)
