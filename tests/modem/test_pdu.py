"""Example-based tests of modem.pdu: layouts checked octet by octet, real captures, error cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from modem.errors import PduError
from modem.pdu import (Concat, Deliver, EncodedPdu, StatusReport, Submit, decode, encode_deliver, encode_deliver_data,
                       encode_status_report, encode_submit, plan, status_class, transliterate)
from modem.pdu import gsm7
from modem.pdu.fields import relative_validity, relative_validity_octet

BOGOTA = timezone(timedelta(hours=-5))
MADRID = timezone(timedelta(hours=1))
T0 = datetime(2026, 11, 23, 9, 15, 30, tzinfo=BOGOTA)


# --- GSM-7 alphabet and packing -------------------------------------------------------------

def test_packing_matches_the_spec_example():
    # TS 23.038 classic: "hellohello" -> E8329BFD4697D9EC37
    assert gsm7.pack(gsm7.to_septets("hellohello")).hex().upper() == "E8329BFD4697D9EC37"
    assert gsm7.from_septets(gsm7.unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10)) == "hellohello"


@pytest.mark.parametrize("char, septets", [
    ("@", (0x00,)), ("§", (0x5F,)), ("ñ", (0x7D,)), ("Ñ", (0x5D,)), ("¿", (0x60,)), ("¡", (0x40,)),
    ("é", (0x05,)), ("É", (0x1F,)), ("ü", (0x7E,)), ("Ü", (0x5E,)), ("à", (0x7F,)), ("$", (0x02,)),
    ("€", (0x1B, 0x65)), ("[", (0x1B, 0x3C)), ("]", (0x1B, 0x3E)), ("{", (0x1B, 0x28)), ("}", (0x1B, 0x29)),
    ("\\", (0x1B, 0x2F)), ("~", (0x1B, 0x3D)), ("^", (0x1B, 0x14)), ("|", (0x1B, 0x40)), ("\f", (0x1B, 0x0A)),
], ids=repr)
def test_gsm7_table(char, septets):
    assert gsm7.char_septets(char) == septets
    assert gsm7.from_septets(list(septets)) == char


@pytest.mark.parametrize("char", ["`", "á", "ÿ", "ç", "\x1b", "😀", "✓"], ids=repr)
def test_characters_outside_gsm7_force_ucs2(char):
    assert not gsm7.is_gsm7(char)
    with pytest.raises(PduError):
        gsm7.char_septets(char)
    assert plan("hola " + char).encoding == "ucs2"


def test_tolerant_escape_decoding():
    assert gsm7.from_septets([0x1B, 0x41]) == "A"       # undefined extension -> basic character
    assert gsm7.from_septets([0x1B, 0x1B, 0x41]) == " A"  # ESC ESC: reserved, shown as space
    assert gsm7.from_septets([0x41, 0x1B]) == "A"       # trailing lone ESC dropped


def test_pack_with_fill_bits_and_unpack_from_offset():
    septets = gsm7.to_septets("Cobrador")
    packed = bytes(6) + gsm7.pack(septets, 1)   # 6-octet UDH -> 1 fill bit -> text starts at septet 7
    assert gsm7.unpack(packed, len(septets), 7) == septets
    with pytest.raises(PduError):
        gsm7.unpack(b"\x00", 2)


# --- planning -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, encoding, segments, chars_left, units", [
    ("", "gsm7", 1, 160, 0),
    ("a" * 160, "gsm7", 1, 0, 160),
    ("a" * 161, "gsm7", 2, 153 * 2 - 161, 161),
    ("€" * 80, "gsm7", 1, 0, 160),
    ("€" * 81, "gsm7", 2, 153 - (162 - 152), 162),   # escape pair not split: 76 € (152) + 5 € (10)
    ("á" * 70, "ucs2", 1, 0, 70),
    ("á" * 71, "ucs2", 2, 67 * 2 - 71, 71),
    ("😀" * 35, "ucs2", 1, 0, 70),
    ("😀" * 36, "ucs2", 2, 67 - 6, 72),               # 33 emoji (66 units) then 3 emoji (6 units)
    ("Señor Núñez, ¿pagó?", "ucs2", 1, 70 - 19, 19),
    ("Señor Nuñez, ¿pago?", "gsm7", 1, 160 - 19, 19),
], ids=lambda v: repr(v)[:20])
def test_plan(text, encoding, segments, chars_left, units):
    result = plan(text)
    assert (result.encoding, result.segments, result.chars_left, result.units) == (encoding, segments, chars_left,
                                                                                   units)
    assert result.text == text
    assert len(encode_submit("+573001234567", text, reference=1)) == segments


def test_plan_with_16_bit_references():
    assert plan("a" * 161, reference_bits=16).chars_left == 152 * 2 - 161
    assert plan("á" * 133, reference_bits=16).segments == 3  # 66 + 66 + 1
    assert plan("á" * 134).segments == 2


def test_transliteration_only_touches_the_listed_characters():
    text = "¡Hola Ñañez! ¿Pagó su cuota? Última “oferta” – ‘ya’… É ü Ü é"
    result = plan(text, transliterate=True)
    assert result.text == "¡Hola Ñañez! ¿Pago su cuota? Ultima \"oferta\" - 'ya'... É ü Ü é"
    assert result.encoding == "gsm7"
    assert plan(text).encoding == "ucs2"
    assert transliterate("ÁÍÓÚáíóú—") == "AIOUaiou-"


def test_transliteration_keeps_text_that_would_be_ucs2_anyway():
    assert transliterate("Pagó ✓") == "Pagó ✓"
    assert plan("Pagó 😀", transliterate=True).text == "Pagó 😀"


def test_transliteration_composes_decomposed_accents():
    assert transliterate("Pago\u0301 man\u0303ana") == "Pago mañana"


# --- SMS-SUBMIT -----------------------------------------------------------------------------

def test_submit_layout_single_gsm7():
    (pdu,) = encode_submit("+573001234567", "hellohello", message_reference=7)
    assert pdu == EncodedPdu(hex="0021070C917503103254760000" + "0A" + "E8329BFD4697D9EC37", tpdu_length=22)


def test_submit_national_number_no_report_with_validity():
    (pdu,) = encode_submit("3001234567", "hi", status_report=False, validity=timedelta(days=1))
    # SMSC 00, first octet 0x11 (SUBMIT + relative VP, no SRR), MR 00, DA 10 digits unknown TON, PID, DCS,
    # VP 167 (1 day), UDL 2, "hi"
    assert pdu.hex == "00" + "11" + "00" + "0A81" + "0310325476" + "00" + "00" + "A7" + "02" + "E834"
    message = decode(pdu.hex)
    assert message == Submit(number="3001234567", text="hi", status_report=False, message_reference=0,
                             validity=timedelta(days=1), concat=None, encoding="gsm7")


def test_submit_multipart_gsm7_8bit_reference():
    text = "x" * 200
    parts = encode_submit("+573001234567", text, reference=0xAB)
    assert len(parts) == 2
    first = bytes.fromhex(parts[0].hex)
    assert first[1] & 0x40  # UDHI
    assert first[14:20] == bytes.fromhex("050003AB0201")
    assert first[13] == 160  # 7 header septets + 153 text septets
    decoded = [decode(p.hex) for p in parts]
    assert [m.concat for m in decoded] == [Concat(0xAB, 2, 1, 8), Concat(0xAB, 2, 2, 8)]
    assert "".join(m.text for m in decoded) == text
    assert [len(m.text) for m in decoded] == [153, 47]
    assert all(p.tpdu_length == len(bytes.fromhex(p.hex)) - 1 for p in parts)


def test_submit_multipart_gsm7_16bit_reference_keeps_all_152_characters():
    text = "".join(chr(ord("a") + i % 26) for i in range(300))
    parts = encode_submit("+573001234567", text, reference=0x1234, reference_bits=16)
    decoded = [decode(p.hex) for p in parts]
    assert [len(m.text) for m in decoded] == [152, 148]
    assert decoded[0].concat == Concat(0x1234, 2, 1, 16)
    assert "".join(m.text for m in decoded) == text


def test_submit_multipart_ucs2_never_splits_surrogate_pairs():
    text = "a" + "😀" * 40
    parts = encode_submit("+573001234567", text, reference=3)
    decoded = [decode(p.hex) for p in parts]
    assert [m.text for m in decoded] == ["a" + "😀" * 33, "😀" * 7]


def test_submit_escape_pair_at_segment_boundary():
    text = "a" * 152 + "€" + "b" * 10
    decoded = [decode(p.hex) for p in encode_submit("+573001234567", text, reference=9)]
    assert [m.text for m in decoded] == ["a" * 152, "€" + "b" * 10]


def test_submit_random_reference_is_shared_by_all_parts():
    parts = [decode(p.hex) for p in encode_submit("+573001234567", "z" * 400)]
    assert len({m.concat.reference for m in parts}) == 1
    assert [m.concat.sequence for m in parts] == [1, 2, 3]
    assert [m.message_reference for m in parts] == [0, 1, 2]


@pytest.mark.parametrize("kwargs", [
    dict(number="", text="x"), dict(number="+57 300", text="x"), dict(number="abc", text="x"),
    dict(number="+573001234567", text="\ud83d"), dict(number="+573001234567", text=b"x"),
    dict(number="+573001234567", text="x" * 161, reference=256),
    dict(number="+573001234567", text="x", reference=-1),
    dict(number="+573001234567", text="x", reference=65536, reference_bits=16),
    dict(number="+573001234567", text="x", reference_bits=12),
    dict(number="+573001234567", text="x", validity=timedelta(minutes=-1)),
    dict(number="+573001234567", text="x", message_reference=256),
    dict(number="+573001234567", text="x" * (153 * 255 + 1)),
], ids=lambda v: repr(v)[:40])
def test_submit_rejects_bad_input_with_pdu_error(kwargs):
    with pytest.raises(PduError):
        encode_submit(**kwargs)


@pytest.mark.parametrize("period, octet", [
    (timedelta(0), 0), (timedelta(minutes=5), 0), (timedelta(minutes=6), 1), (timedelta(hours=12), 143),
    (timedelta(hours=12, minutes=1), 144), (timedelta(hours=24), 167), (timedelta(days=2), 168),
    (timedelta(days=30), 196), (timedelta(days=31), 197), (timedelta(weeks=63), 255), (timedelta(weeks=500), 255),
])
def test_relative_validity(period, octet):
    assert relative_validity_octet(period) == octet
    assert relative_validity(octet) >= min(period, timedelta(weeks=63))


# --- SMS-DELIVER ----------------------------------------------------------------------------

def test_deliver_round_trip_alphanumeric_sender_and_negative_zone():
    (pdu,) = encode_deliver("Cobrador", "Su cuota vence mañana", T0)
    message = decode(pdu.hex)
    assert message == Deliver(sender="Cobrador", text="Su cuota vence mañana", timestamp=T0, concat=None,
                              encoding="gsm7", smsc="+573000000000", data=None)
    assert message.timestamp.utcoffset() == timedelta(hours=-5)


def test_deliver_time_zone_octet():
    (pdu,) = encode_deliver("+573001234567", "x", T0, smsc=None)
    raw = bytes.fromhex(pdu.hex)
    assert raw[0] == 0  # empty SMSC field
    scts = raw[1 + 1 + 8 + 2:][:7]  # SMSC, first octet, OA (8), PID, DCS
    assert scts == bytes.fromhex("6211329051030A")
    quarter = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=45)))
    assert decode(encode_deliver("123", "x", quarter)[0].hex).timestamp == quarter


@pytest.mark.parametrize("sender", ["InfoSMS", "Cobrador", "A", "Banco@Agrario"[:11], "ABCDEFGH"])
def test_alphanumeric_senders(sender):
    assert decode(encode_deliver(sender, "x", T0)[0].hex).sender == sender


def test_deliver_8bit_data():
    pdu = encode_deliver_data("+573001234567", b"\x00\x01\xfe\xff", T0, message_class=1)
    message = decode(pdu.hex)
    assert message.encoding == "8bit" and message.data == b"\x00\x01\xfe\xff" and message.text == ""
    assert message.message_class == 1


# --- SMS-STATUS-REPORT ----------------------------------------------------------------------

REAL_STATUS_REPORT = "0006D60B911326880736F4111011719551401110117195714000"  # python-gsmmodem test vector


def test_real_status_report():
    report = decode(REAL_STATUS_REPORT)
    assert report == StatusReport(message_reference=0xD6, recipient="+31628870634",
                                  service_centre_time=datetime(2011, 1, 11, 17, 59, 15, tzinfo=MADRID),
                                  discharge_time=datetime(2011, 1, 11, 17, 59, 17, tzinfo=MADRID),
                                  status=0, status_class="delivered", smsc=None)


@pytest.mark.parametrize("status, expected", [
    (0x00, "delivered"), (0x01, "delivered"), (0x1F, "delivered"), (0x20, "pending"), (0x30, "pending"),
    (0x3F, "pending"), (0x40, "failed"), (0x45, "failed"), (0x7F, "failed"), (0x80, "failed"), (0xFF, "failed"),
])
def test_status_class(status, expected):
    assert status_class(status) == expected
    pdu = encode_status_report(12, "+573001234567", T0, T0 + timedelta(minutes=1), status)
    report = decode(pdu.hex)
    assert (report.status, report.status_class, report.message_reference) == (status, expected, 12)
    assert pdu.tpdu_length == len(bytes.fromhex(pdu.hex)) - 8


def test_status_report_tolerates_optional_parameters():
    base = encode_status_report(1, "+573001234567", T0, T0, 0).hex
    for tail in ["00", "01" + "00", "03" + "0000", "07000003C8341B", "07", "0700", "FF", "04FF"]:
        assert decode(base + tail).status_class == "delivered", tail


# --- malformed input ------------------------------------------------------------------------

GOOD = encode_submit("+573001234567", "hola", message_reference=1)[0].hex


@pytest.mark.parametrize("pdu", [
    "", "0", "0G", "zz", "00", "0001", GOOD[:-2], GOOD[:20], "00" + "03", "ÿÿ",
    "0004" + "0B91" + "1326880736F4" + "0000" + "11101171955140" + "05",         # UD shorter than UDL
    "0044" + "0B91" + "1326880736F4" + "0000" + "11101171955140" + "02" + "0500",  # UDHL overruns
    "0004" + "0B91" + "1326880736F4" + "0000" + "1A101171955140" + "00",         # month 1A not BCD
    "0004" + "0B91" + "1326880736F4" + "0000" + "11221171955140" + "00",         # month 22
    "0004" + "0B91" + "1326880736F4" + "0020" + "11101171955140" + "00",         # compressed
    "0003",                                                                       # MTI 3 reserved
    "0044" + "0B91" + "1326880736F4" + "0008" + "11101171955140" + "00",                # UDHI, empty UD
    "0044" + "0B91" + "1326880736F4" + "0000" + "11101171955140" + "01" + "0A",         # UDH longer than UDL
    "0C",                                                                                # SMSC length 12
])
def test_malformed_pdus_raise_pdu_error(pdu):
    with pytest.raises(PduError):
        decode(pdu)


def test_decode_accepts_bytes_and_lower_case_and_whitespace():
    assert decode(bytes.fromhex(GOOD)) == decode(GOOD.lower()) == decode(f"  {GOOD}\r\n")
    assert decode(GOOD.encode() + b"\r\n") == decode(bytearray(bytes.fromhex(GOOD))) == decode(GOOD)
    with pytest.raises(PduError):
        decode(123)


def test_decode_without_smsc_field():
    assert decode(GOOD[2:], smsc=False) == decode(GOOD)


@pytest.mark.parametrize("udh", [
    "0500030A0200",      # sequence 0: ignored as TS 23.040 says
    "0500030A0203",      # sequence > total
    "050002010200",      # concatenation IE with length 2, then an empty IE 0x00
    "050401020A02",      # IE 0x04 (1 octet), then IE 0x0A declaring 2 octets past the header
    "05C01BF40201",      # IE runs past the header (python-gsmmodem issue 51 capture)
], ids=str)
def test_damaged_information_elements_keep_the_text(udh):
    pdu = "00" + "44" + "0B91" + "1326880736F4" + "0008" + "11101171955140" + "08" + udh + "0041"
    message = decode(pdu)
    assert message.concat is None and message.text == "A"


def test_ignored_concatenation_with_sequence_zero():
    pdu = ("00" + "44" + "0B91" + "1326880736F4" + "0008" + "11101171955140" + "08" + "0500030A0200" + "0041")
    message = decode(pdu)
    assert message.concat is None and message.text == "A"


# --- data coding schemes ----------------------------------------------------------------------

def _deliver_with_dcs(dcs: int, user_data_hex: str, udl: int) -> str:
    return "00" + "04" + "0B91" + "1326880736F4" + "00" + f"{dcs:02X}" + "11101171955140" + f"{udl:02X}" + user_data_hex


HOLA_GSM7 = ("C8373B0C", 4)          # "Hola" packed
HOLA_UCS2 = ("0048006F006C0061", 8)


@pytest.mark.parametrize("dcs, payload, encoding, message_class", [
    (0x00, HOLA_GSM7, "gsm7", None), (0x08, HOLA_UCS2, "ucs2", None), (0x04, ("486F6C61", 4), "8bit", None),
    (0x0C, HOLA_GSM7, "gsm7", None),                                        # reserved alphabet -> GSM-7
    (0x10, HOLA_GSM7, "gsm7", 0), (0x11, HOLA_GSM7, "gsm7", 1), (0x12, HOLA_GSM7, "gsm7", 2),
    (0x13, HOLA_GSM7, "gsm7", 3), (0x18, HOLA_UCS2, "ucs2", 0), (0x15, ("486F6C61", 4), "8bit", 1),
    (0x40, HOLA_GSM7, "gsm7", None), (0x48, HOLA_UCS2, "ucs2", None),          # automatic-deletion group
    (0x80, HOLA_GSM7, "gsm7", None), (0xB4, HOLA_GSM7, "gsm7", None),          # reserved groups -> GSM-7
    (0xC0, HOLA_GSM7, "gsm7", None), (0xC8, HOLA_GSM7, "gsm7", None),          # MWI discard
    (0xD0, HOLA_GSM7, "gsm7", None), (0xD9, HOLA_GSM7, "gsm7", None),          # MWI store, GSM-7
    (0xE0, HOLA_UCS2, "ucs2", None), (0xEB, HOLA_UCS2, "ucs2", None),          # MWI store, UCS-2
    (0xF0, HOLA_GSM7, "gsm7", 0), (0xF1, HOLA_GSM7, "gsm7", 1), (0xF3, HOLA_GSM7, "gsm7", 3),
    (0xF4, ("486F6C61", 4), "8bit", 0), (0xF6, ("486F6C61", 4), "8bit", 2),
], ids=lambda v: f"{v:02X}" if isinstance(v, int) else None)
def test_every_dcs_group(dcs, payload, encoding, message_class):
    message = decode(_deliver_with_dcs(dcs, *payload))
    assert (message.encoding, message.message_class) == (encoding, message_class)
    if encoding == "8bit":
        assert message.data == b"Hola" and message.text == ""
    else:
        assert message.text == "Hola" and message.data is None


@pytest.mark.parametrize("dcs", [0x20, 0x24, 0x28, 0x30, 0x3F, 0x60, 0x7A])
def test_compressed_user_data_is_refused(dcs):
    with pytest.raises(PduError, match="compressed"):
        decode(_deliver_with_dcs(dcs, *HOLA_GSM7))


def test_every_dcs_value_decodes_or_raises_pdu_error():
    for dcs in range(256):
        try:
            decode(_deliver_with_dcs(dcs, *HOLA_UCS2))
        except PduError:
            assert dcs & 0xC0 == 0 or dcs & 0xC0 == 0x40
            assert dcs & 0x20


def test_gsm7_text_after_udh_with_other_information_elements():
    # UDH (UDHL 11): port addressing IE 05 (4 octets) then 8-bit concatenation; 12 octets -> 14 septets, 2 fill bits
    header = bytes.fromhex("0B" "05040B840000" "00032A0201")
    septets = gsm7.to_septets("Hola [mundo]")
    header_septets = (len(header) * 8 + 6) // 7
    fill = header_septets * 7 - len(header) * 8
    ud = header + gsm7.pack(septets, fill)
    pdu = ("00" + "44" + "0B91" + "1326880736F4" + "0000" + "11101171955140"
           + f"{header_septets + len(septets):02X}" + ud.hex())
    message = decode(pdu)
    assert message.text == "Hola [mundo]"
    assert message.concat == Concat(0x2A, 2, 1, 8)


def test_spanish_single_shift_table_from_the_udh():
    # UDH 03 24 01 02: single-shift IE, language 2 (Spanish): ESC 0x6F is "ó", ESC 0x61 "á", ESC 0x09 "ç"
    header = bytes.fromhex("03240102")
    septets = gsm7.to_septets("Pag") + [0x1B, 0x6F] + gsm7.to_septets(" ma") + [0x1B, 0x09, 0x1B, 0x61] \
        + gsm7.to_septets(" €")
    header_septets = (len(header) * 8 + 6) // 7
    ud = header + gsm7.pack(septets, header_septets * 7 - len(header) * 8)
    pdu = ("00" + "44" + "0B91" + "1326880736F4" + "0000" + "11101171955140"
           + f"{header_septets + len(septets):02X}" + ud.hex())
    assert decode(pdu).text == "Pagó maçá €"
    # without the IE the same escapes fall back to the basic table's letters
    assert gsm7.from_septets(septets) == "Pago maÇa €"


@pytest.mark.parametrize("body, text", [
    ("D83D0041", "\ufffdA"),          # high surrogate without its pair (a sender split an emoji across parts)
    ("DE000041", "\ufffdA"),          # lone low surrogate
    ("004100", "A\ufffd"),            # odd octet count
    ("D83DDE00", "😀"),
], ids=str)
def test_ucs2_damage_becomes_replacement_characters(body, text):
    pdu = _deliver_with_dcs(0x08, body, len(body) // 2)
    decoded = decode(pdu).text
    assert decoded == text
    decoded.encode("utf-8")  # never a lone surrogate (python-gsmmodem bug 11)


def test_protocol_identifier_is_reported():
    (silent,) = encode_deliver("+573001234567", "", T0, protocol_id=0x40)
    assert decode(silent.hex).protocol_id == 0x40
    assert decode(encode_deliver("+573001234567", "hola", T0)[0].hex).protocol_id == 0
    with pytest.raises(PduError):
        encode_deliver("+573001234567", "", T0, protocol_id=256)


def test_address_longer_than_20_digits_is_malformed():
    with pytest.raises(PduError, match="semi-octets"):
        decode("00" + "04" + "15" + "91" + "11" * 11 + "0000" + "11101171955140" + "00")
