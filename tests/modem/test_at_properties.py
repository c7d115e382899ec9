"""Properties of the AT parser (hypothesis).

1. Any bytes, any chunking: ``feed`` never raises, the buffer stays bounded,
   and the events are the same as when the bytes arrive in one piece.
2. A well-formed URC line, framed by line endings and placed between
   arbitrary bytes, always comes out as that Urc (for bare words: unless the
   junk before it opened a quoted +CUSD text, whose lines are text).
3. Bug 1 as a property: URCs (with or without a PDU body line) inserted
   between any two lines of any response, with echo on or off and any line
   endings, never enter the Response and are never lost; the Response holds
   exactly the information lines.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from modem.at import AtParser, FinalResult, Prompt, Response, Urc
from modem.profiles import PROFILES

PDU_A = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
PDU_B = "07917283010010F5040BC87238880900F100009930925161958003C16010"
PDU_SR = "07917283010010F506410B917238880900F1993092516195809930925161958000"

TOKENS = [
    b"\r\n", b"\r", b"\n", b"OK", b"ERROR", b"> ", b">", b"+CMT: ,23", b'+CUSD: 0,"', b'"', b",15",
    b"RING", b'+CMTI: "SM",1', b"0791AB", b"\x00", b"\xff", b"\xc3", b"AT+CSQ", b"+CSQ: 1,0",
    b"+CMGR: 0,,23", b"+CME ERROR: 11", b"+CMS ERROR: SIM busy", b"NO CARRIER", b"^RSSI:5", b"\x1a",
    b"VOICE CALL: BEGIN", b"+CDS: 25", b"AT+CMGS=23", b"BUSY", b" ",
]
streams = st.lists(st.one_of(st.binary(max_size=24), st.sampled_from(TOKENS)), max_size=40).map(b"".join)
COMMANDS = [None, ("AT+CSQ", False), ("AT+CMGR=1", False), ("AT+CMGL=4", False), ("AT+CGSN", False),
            ("AT+CMGS=23", True), ("ATD+573001234567;", False), ('AT+CUSD=1,"*611#",15', False)]
profiles = st.sampled_from([None, *PROFILES])


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def play(profile, command, chunks, max_line=4096):
    parser = AtParser(profile, max_line=max_line)
    if command is not None:
        parser.command(command[0], expect_prompt=command[1])
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
        assert parser.buffered <= max_line
    return events


@settings(max_examples=300, deadline=None)
@given(data=streams, cuts=st.lists(st.integers(0, 2000), max_size=30), command=st.sampled_from(COMMANDS),
       profile=profiles, max_line=st.sampled_from([16, 4096]))
def test_any_bytes_any_chunking_same_events_never_raises(data, cuts, command, profile, max_line):
    whole = play(profile, command, [data], max_line)
    pieces = play(profile, command, chunked(data, cuts), max_line)
    one_by_one = play(profile, command, [data[i:i + 1] for i in range(len(data))], max_line)
    assert pieces == whole
    assert one_by_one == whole


COLON_URCS = ['+CMTI: "SM",3', '+CDSI: "SR",0', "^RSSI:17", '+CUSD: 0,"hola SPRING",15', "+CREG: 1",
              '*PSUTTZ: 24,12,15,13,5,30,"-20",0', "VOICE CALL: BEGIN", "+QIND: SMS DONE", '+CLIP: "+573001234567",145']
WORD_URCS = ["RING", "SMS Ready", "NO CARRIER", "Call Ready", "PB DONE"]
NOT_DIAL = [c for c in COMMANDS if c is None or not c[0].startswith("ATD")]


@settings(max_examples=300, deadline=None)
@given(junk1=streams, junk2=streams, line=st.sampled_from(COLON_URCS), command=st.sampled_from(NOT_DIAL),
       max_line=st.sampled_from([16, 4096]), cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_colon_urc_between_junk_is_never_lost(junk1, junk2, line, command, max_line, cuts):
    data = junk1 + b"\r\n" + line.encode() + b"\r\n" + junk2
    events = play(None, command, chunked(data, cuts), max_line=max(max_line, len(line)))
    assert any(isinstance(e, Urc) and e.line == line and e.known for e in events)


@settings(max_examples=200, deadline=None)
@given(junk1=streams, junk2=streams, line=st.sampled_from(WORD_URCS), command=st.sampled_from(NOT_DIAL),
       cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_word_urc_between_junk_is_never_lost(junk1, junk2, line, command, cuts):
    assume(b'"' not in junk1)   # an open quoted +CUSD text makes the following lines text
    data = junk1 + b"\r\n" + line.encode() + b"\r\n" + junk2
    events = play(None, command, chunked(data, cuts))
    assert any(isinstance(e, Urc) and e.line == line and e.name == line for e in events)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_characters='"\r\n\x00', blacklist_categories=("Cs",)), max_size=60))
def test_text_inside_cusd_never_becomes_a_ring(text):
    line = f'+CUSD: 0,"{text}RING{text}",15'
    events = AtParser().feed(b"\r\n" + line.encode() + b"\r\n")
    assert [e.name for e in events if isinstance(e, Urc)] == ["+CUSD"]


RESPONSES = [
    ("AT+CSQ", ["+CSQ: 20,0"]),
    ("AT+CMGR=3", ["+CMGR: 0,,35", PDU_A]),
    ("AT+CMGL=4", ["+CMGL: 1,1,,35", PDU_A, "+CMGL: 2,1,,30", PDU_B, "+CMGL: 4,0,,25", PDU_SR]),
    ("AT+CGSN", ["869962031234561"]),
    ("AT+CREG?", ["+CREG: 0,1"]),
    ('AT+CUSD=1,"*611#",15', []),
    ("AT+CLCC", ['+CLCC: 1,0,0,0,0,"+573001234567",145,""', '+CLCC: 2,1,4,0,0,"+573009999999",145,""']),
    ("AT+CPMS?", ['+CPMS: "SM",3,30,"SM",3,30,"SM",3,30']),
]
URC_UNITS = [
    ('+CMTI: "SM",3',), ("^RSSI:17",), ("+CMT: ,30", PDU_B), ("+CDS: 25", PDU_SR), ("RING",),
    ("+CREG: 1",), ('+CUSD: 0,"Hay SPRING RING",15',), ("NO CARRIER",), ("Call Ready",), ("+QIND: PB DONE",),
    ("VOICE CALL: END: 000012",), ("*PSUTTZ: 24,1,2,3,4,5,\"-20\",0",),
]
ENDINGS = [b"\r\n", b"\n", b"\r\r\n", b"\r"]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), response=st.sampled_from(RESPONSES), echo=st.booleans(),
       profile=st.sampled_from([None, "huawei-e173", "sim800", "quectel-ec25"]))
def test_urcs_never_enter_a_response_and_are_never_lost(data, response, echo, profile):
    command, info = response
    units = [u for u in URC_UNITS if not (command == "AT+CREG?" and u[0].startswith("+CREG"))]
    inserted = data.draw(st.lists(st.tuples(st.integers(0, len(info) + 1), st.sampled_from(units)), max_size=6))
    lines: list[str] = [command] if echo else []
    slots: list[list[tuple[str, ...]]] = [[] for _ in range(len(info) + 2)]
    for position, unit in inserted:
        slots[position].append(unit)
    expected_urcs = []
    body = [*slots[0]]
    for i, info_line in enumerate(info):
        body.append((info_line,))
        body.extend(slots[i + 1])
    body.extend(slots[len(info) + 1])
    for unit in body:
        lines.extend(unit)
        if unit[0] not in info:
            expected_urcs.append(unit)
    lines.append("OK")
    raw = b""
    for line in lines:
        raw += data.draw(st.sampled_from(ENDINGS)) + line.encode()
    raw += data.draw(st.sampled_from(ENDINGS))
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=15))

    parser = AtParser(profile)
    parser.command(command)
    events = []
    for chunk in chunked(raw, cuts):
        events.extend(parser.feed(chunk))

    assert events[-1] == Response(command, tuple(info), FinalResult("OK", None, "OK"))
    got = [(e.line, e.body) for e in events[:-1] if isinstance(e, Urc)]
    want = [(u[0], u[1] if len(u) > 1 else None) for u in expected_urcs]
    assert got == want
    assert all(isinstance(e, Urc) for e in events[:-1])
    assert parser.pending is None


@settings(max_examples=100, deadline=None)
@given(data=st.data(), urcs=st.lists(st.sampled_from([u for u in URC_UNITS if len(u) == 1]), max_size=4),
       echo=st.booleans())
def test_sms_submit_is_one_transaction_whatever_arrives(data, urcs, echo):
    """Bug 2: prompt, body and answer belong to the same command; URCs around them stay URCs."""
    pdu = "0011000B917238880900F10000AA0AE8329BFD4697D9EC37"
    parser = AtParser()
    parser.command("AT+CMGS=23", expect_prompt=True)
    first = (b"AT+CMGS=23\r" if echo else b"") + b"\r\n> "
    events = []
    for chunk in chunked(first, data.draw(st.lists(st.integers(0, len(first)), max_size=5))):
        events.extend(parser.feed(chunk))
    assert events == [Prompt()]
    assert parser.body(pdu) == pdu.encode() + b"\x1a"
    rest = (pdu.encode() + b"\x1a" if echo else b"") + b"".join(b"\r\n" + u[0].encode() + b"\r\n" for u in urcs)
    rest += b"\r\n+CMGS: 42\r\n\r\nOK\r\n"
    events = []
    for chunk in chunked(rest, data.draw(st.lists(st.integers(0, len(rest)), max_size=8))):
        events.extend(parser.feed(chunk))
    assert [e.line for e in events[:-1]] == [u[0] for u in urcs]
    assert events[-1] == Response("AT+CMGS=23", ("+CMGS: 42",), FinalResult("OK", None, "OK"))
