"""modem.at: command expectations, final results and their errors, field splitting, parser API contract."""

from __future__ import annotations

import pytest

from modem.at import (
    CME_CODES,
    CMS_CODES,
    AtParser,
    Expectation,
    FinalResult,
    Noise,
    Prompt,
    Response,
    Urc,
    UrcGrammar,
    expectation_for,
    parse_final,
    split_fields,
)
from modem.errors import (
    AtProtocolError,
    CmeError,
    CmsError,
    CommandError,
    SimPinRequired,
    SimPukRequired,
    WrongPin,
)
from modem.profiles import PROFILES


@pytest.mark.parametrize(
    "command, expected",
    [
        pytest.param("AT+CSQ", Expectation(("+CSQ:",)), id="exec"),
        pytest.param("AT+CREG?", Expectation(("+CREG:",)), id="read"),
        pytest.param("AT+CREG=2", Expectation(), id="set-creg-no-info"),
        pytest.param("AT+COPS=?", Expectation(("+COPS:",)), id="test"),
        pytest.param("AT+CMGR=3", Expectation(("+CMGR:",), pdu_follows=True), id="cmgr-pdu"),
        pytest.param("AT+CMGL=4", Expectation(("+CMGL:",), pdu_follows=True), id="cmgl-pdu"),
        pytest.param("AT+CMGS=23", Expectation(("+CMGS:",)), id="cmgs"),
        pytest.param('AT+CUSD=1,"*611#",15', Expectation(), id="cusd-set-urc-later"),
        pytest.param("AT+CUSD?", Expectation(("+CUSD:",)), id="cusd-read"),
        pytest.param('AT+CPIN="1234"', Expectation(), id="cpin-set"),
        pytest.param("AT+CLCC", Expectation(("+CLCC:",)), id="clcc-exec"),
        pytest.param("AT+CLCC=1", Expectation(), id="clcc-urc-enable"),
        pytest.param("AT+CGSN", Expectation(("+CGSN:", "+GSN:"), bare=True), id="bare-imei"),
        pytest.param("AT+CCID", Expectation(("+CCID:", "+ICCID:", "+QCCID:"), bare=True), id="ccid-aliases"),
        pytest.param("AT^SYSINFO", Expectation(("^SYSINFO:",)), id="huawei-vendor"),
        pytest.param("ATD+573001234567;", Expectation(call_results=True), id="dial"),
        pytest.param("ATA", Expectation(call_results=True), id="answer"),
        pytest.param("ATH", Expectation(), id="hangup"),
        pytest.param("ATE0", Expectation(), id="echo-off"),
        pytest.param("ATI", Expectation(bare=True), id="ati"),
        pytest.param("AT", Expectation(), id="at"),
        pytest.param("AT+CLTS=1;&W", Expectation(), id="chained"),
        pytest.param("at+csq", Expectation(("+CSQ:",)), id="lower-case"),
    ],
)
def test_expectation_for(command, expected):
    assert expectation_for(command) == expected


@pytest.mark.parametrize(
    "line, call_results, expected",
    [
        pytest.param("OK", False, FinalResult("OK", None, "OK"), id="ok"),
        pytest.param("ERROR", False, FinalResult("ERROR", None, "ERROR"), id="error"),
        pytest.param("+CME ERROR: 10", False, FinalResult("CME", 10, "SIM not inserted"), id="cme-10"),
        pytest.param("+CME ERROR:16", False, FinalResult("CME", 16, "incorrect password"), id="cme-no-space"),
        pytest.param("+CME ERROR: SIM PUK required", False, FinalResult("CME", 12, "SIM PUK required"),
                     id="cme-verbose-puk"),
        pytest.param("+CME ERROR: incorrect password", False, FinalResult("CME", 16, "incorrect password"),
                     id="cme-verbose-wrong-pin"),
        pytest.param("+CME ERROR: SIM busy", False, FinalResult("CME", 14, "SIM busy"), id="cme-verbose-busy"),
        pytest.param("+CME ERROR: 515", False, FinalResult("CME", 515, ""), id="cme-vendor-code"),
        pytest.param("+CMS ERROR: 500", False, FinalResult("CMS", 500, "unknown error"), id="cms-500"),
        pytest.param("+CMS ERROR: memory full", False, FinalResult("CMS", 322, "memory full"), id="cms-verbose"),
        pytest.param("+CMS ERROR: (U)SIM not inserted", False, FinalResult("CMS", 310, "(U)SIM not inserted"),
                     id="cms-verbose-usim"),
        pytest.param("+CMS ERROR: SMSC address unknown", False, FinalResult("CMS", 330, "SMSC address unknown"),
                     id="cms-verbose-smsc"),
        pytest.param("COMMAND NOT SUPPORT", False, FinalResult("ERROR", None, "COMMAND NOT SUPPORT"),
                     id="huawei"),
        pytest.param("NO CARRIER", True, FinalResult("NO CARRIER", None, "NO CARRIER"), id="no-carrier-dial"),
        pytest.param("NO CARRIER", False, None, id="no-carrier-not-final-elsewhere"),
        pytest.param("BUSY", True, FinalResult("BUSY", None, "BUSY"), id="busy"),
        pytest.param("NO ANSWER", True, FinalResult("NO ANSWER", None, "NO ANSWER"), id="no-answer"),
        pytest.param("NO DIALTONE", True, FinalResult("NO DIALTONE", None, "NO DIALTONE"), id="no-dialtone"),
        pytest.param("CONNECT 9600", True, FinalResult("CONNECT", None, "CONNECT 9600"), id="connect"),
        pytest.param("OKAY", False, None, id="not-ok"),
        pytest.param("+CSQ: 20,0", False, None, id="info"),
    ],
)
def test_parse_final(line, call_results, expected):
    assert parse_final(line, call_results=call_results) == expected


@pytest.mark.parametrize(
    "result, error_type, code",
    [
        pytest.param(FinalResult("CME", 11, "SIM PIN required"), SimPinRequired, 11, id="cme11-pin"),
        pytest.param(FinalResult("CME", 12, "SIM PUK required"), SimPukRequired, 12, id="cme12-puk"),
        pytest.param(FinalResult("CME", 16, "incorrect password"), WrongPin, 16, id="cme16-wrong-pin"),
        pytest.param(FinalResult("CME", 10, "SIM not inserted"), CmeError, 10, id="cme-other"),
        pytest.param(FinalResult("CME", None, "weird"), CmeError, None, id="cme-unknown-text"),
        pytest.param(FinalResult("CMS", 322, "memory full"), CmsError, 322, id="cms"),
        pytest.param(FinalResult("ERROR", None, "ERROR"), CommandError, None, id="error"),
        pytest.param(FinalResult("NO CARRIER", None, "NO CARRIER"), CommandError, None, id="no-carrier"),
        pytest.param(FinalResult("BUSY", None, "BUSY"), CommandError, None, id="busy"),
    ],
)
def test_raise_for(result, error_type, code):
    assert not result.ok
    with pytest.raises(error_type) as info:
        result.raise_for("AT+X")
    assert type(info.value) is error_type
    assert info.value.command == "AT+X" and info.value.code == code


def test_response_raise_for_and_values():
    good = Response("AT+CSQ", ("+CSQ: 20,0", "+CSQ:  9,99"), FinalResult("OK", None, "OK"))
    assert good.raise_for() is good and good.ok
    assert good.values("+CSQ:") == ("20,0", "9,99") and good.values("+CREG:") == ()
    bad = Response("AT+CMGS=23", (), FinalResult("CMS", 500, "unknown error"))
    with pytest.raises(CmsError) as info:
        bad.raise_for()
    assert info.value.command == "AT+CMGS=23" and info.value.temporary


def test_raise_for_verbose_pin_text_end_to_end():
    final = parse_final("+CME ERROR: SIM PIN required", call_results=False)
    with pytest.raises(SimPinRequired):
        final.raise_for("AT+CPIN?")
    assert parse_final("+CMS ERROR: 331", call_results=False).kind == "CMS"


@pytest.mark.parametrize("result", [FinalResult("OK", None, "OK"), FinalResult("CONNECT", None, "CONNECT")],
                         ids=["ok", "connect"])
def test_raise_for_success_returns_none(result):
    assert result.ok and result.raise_for("ATD1") is None


def test_code_tables_cover_the_standard_ranges():
    assert {3, 4, 10, 11, 12, 13, 14, 16, 20, 21, 22, 30, 31, 100} <= set(CME_CODES)
    assert {300, 302, 304, 310, 311, 321, 322, 330, 331, 332, 500} <= set(CMS_CODES)
    for code, text in CME_CODES.items():  # every verbose text maps back to its code
        assert parse_final(f"+CME ERROR: {text}", call_results=False).code == code
    for code, text in CMS_CODES.items():
        assert parse_final(f"+CMS ERROR: {text}", call_results=False).code == code


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param('"SM",3', ("SM", 3), id="cmti"),
        pytest.param('1,0,3,0,0,"+573001234567",145,""', (1, 0, 3, 0, 0, "+573001234567", 145, ""),
                     id="bug5-clcc-8-fields"),
        pytest.param('1,0,3,0,0,"+573001234567",129', (1, 0, 3, 0, 0, "+573001234567", 129), id="clcc-7"),
        pytest.param('0,"Saldo: $1,234 pesos",15', (0, "Saldo: $1,234 pesos", 15), id="comma-in-quotes"),
        pytest.param("0,,23", (0, None, 23), id="empty-field"),
        pytest.param('(0-5),(1,2),"x"', ("(0-5)", "(1,2)", "x"), id="parenthesised"),
        pytest.param("-20,0", (-20, 0), id="negative"),
        pytest.param("", (), id="empty"),
        pytest.param('1,"unterminated', (1, "unterminated"), id="open-quote"),
        pytest.param("READY", ("READY",), id="word"),
    ],
)
def test_split_fields(value, expected):
    assert split_fields(value) == expected


# -- parser API contract ---------------------------------------------------------


def test_command_returns_bytes_and_marks_pending():
    parser = AtParser()
    assert parser.pending is None
    assert parser.command("+CSQ") == b"AT+CSQ\r"
    assert parser.pending == "AT+CSQ"
    assert parser.feed(b"\r\nOK\r\n") == [Response("AT+CSQ", (), FinalResult("OK", None, "OK"))]
    assert parser.pending is None


def test_bug2_second_command_while_one_is_outstanding_is_refused():
    parser = AtParser()
    parser.command("AT+CMGS=23", expect_prompt=True)
    with pytest.raises(AtProtocolError):
        parser.command("AT+CSQ")
    assert parser.feed(b"\r\n> ") == [Prompt()]
    with pytest.raises(AtProtocolError):
        parser.command("AT+CSQ")       # the body belongs to the same transaction
    assert parser.body("00") == b"00\x1a"


@pytest.mark.parametrize("line", ["AT+CSQ\r", "AT\nX", "AT+X\x1a", "AT+CUSD=1,\"ñ\""])
def test_command_rejects_bad_characters(line):
    with pytest.raises(AtProtocolError):
        AtParser().command(line)


def test_body_without_prompt_is_refused():
    parser = AtParser()
    with pytest.raises(AtProtocolError):
        parser.body("00")
    parser.command("AT+CMGS=23", expect_prompt=True)
    with pytest.raises(AtProtocolError):
        parser.body("00")          # prompt not seen yet
    parser.feed(b"> ")
    with pytest.raises(AtProtocolError):
        parser.body("00\x1a")      # Ctrl-Z inside the payload would end it early


def test_prompt_only_when_asked_for():
    parser = AtParser()
    parser.command("AT+CSQ")
    events = parser.feed(b"\r\n> \r\nOK\r\n")
    assert events == [Noise(b"> ", "prompt with no command waiting for one"),
                      Response("AT+CSQ", (), FinalResult("OK", None, "OK"))]


def test_prompt_split_across_chunks():
    parser = AtParser()
    parser.command("AT+CMGS=10", expect_prompt=True)
    assert parser.feed(b"\r") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b">") == [Prompt()]
    assert parser.feed(b" ") == []
    assert not parser.awaiting_prompt


def test_abandon_turns_a_late_answer_into_noise():
    parser = AtParser()
    parser.command("AT+CSQ")
    assert parser.abandon() == "AT+CSQ"
    assert parser.abandon() is None
    assert parser.feed(b"\r\n+CSQ: 9,0\r\nOK\r\n") == [
        Urc("+CSQ", "9,0", "+CSQ: 9,0", None, False),
        Noise(b"OK", "final result with no command outstanding"),
    ]


def test_wavecom_cpin_without_ok_stays_outstanding_until_abandoned():
    """python-gsmmodem's Wavecom fake answers AT+CPIN? with no final result: the driver's timeout decides."""
    parser = AtParser()
    parser.command("AT+CPIN?")
    assert parser.feed(b"+CPIN: READY\r\n") == []
    assert parser.pending == "AT+CPIN?"
    assert parser.abandon() == "AT+CPIN?"
    parser.command("AT")
    assert parser.feed(b"OK\r\n") == [Response("AT", (), FinalResult("OK", None, "OK"))]


def test_bug4_reset_forgets_partial_line_and_command_after_unplug():
    parser = AtParser()
    parser.command("AT+CMGR=1")
    parser.feed(b"\r\n+CMGR: 0,,23\r\n0791AB")   # unplugged mid-PDU
    parser.reset()
    assert parser.pending is None and parser.buffered == 0
    assert parser.feed(b"\r\nRDY\r\n") == [Urc("RDY", "", "RDY")]
    parser.command("AT")
    assert parser.feed(b"\r\nOK\r\n") == [Response("AT", (), FinalResult("OK", None, "OK"))]


def test_reset_forgets_owed_urc_body():
    parser = AtParser()
    parser.feed(b"+CMT: ,23\r\n")
    parser.reset()
    assert parser.feed(b"0791AB\r\n") == [Urc("0791AB", "", "0791AB", None, False)]


def test_buffer_is_bounded():
    parser = AtParser(max_line=64)
    events = parser.feed(b"x" * 1000)
    assert events == [Noise(b"x" * 64, "line longer than 64 bytes dropped")]
    assert parser.buffered == 0
    assert parser.feed(b"y" * 1000) == []           # still inside the same over-long line
    assert parser.feed(b"\r\nRING\r\n") == [Urc("RING", "", "RING")]


def test_response_length_is_bounded():
    parser = AtParser(max_response_lines=2)
    parser.command("ATI")
    events = parser.feed(b"a\r\nb\r\nc\r\nOK\r\n")
    assert events[0] == Noise(b"c", "response longer than 2 lines; line dropped")
    assert events[1].lines == ("a", "b")


def test_explicit_expectations_override_derivation():
    parser = AtParser()
    parser.command("AT+QVENDOR", expect=("+QV:",), bare=False)
    assert parser.feed(b"+QV: 1\r\nstray\r\nOK\r\n") == [
        Urc("stray", "", "stray", None, False),
        Response("AT+QVENDOR", ("+QV: 1",), FinalResult("OK", None, "OK")),
    ]


def test_profile_by_name_and_grammar():
    assert AtParser("sim800").profile is PROFILES["sim800"]
    grammar = UrcGrammar(PROFILES["huawei-e173"])
    assert grammar.match("^RSSI:17") == ("^RSSI", "17")
    assert grammar.match("RING") == ("RING", "")
    assert grammar.match("SPRING") is None
    assert UrcGrammar(PROFILES["sim800"]).match("^RSSI:17") is None
    everything = UrcGrammar(None)
    for profile in PROFILES.values():
        for line in profile.boot_urcs + profile.noise_samples + profile.network_time.samples:
            assert everything.match(line) is not None, line
            assert UrcGrammar(profile).match(line) is not None, line


def test_urc_values_for_body_urcs_and_words():
    parser = AtParser()
    events = parser.feed(b"+CMT: \"+573001234567\",30\r\n0791AB\r\nCall Ready\r\n")
    assert events == [Urc("+CMT", '"+573001234567",30', '+CMT: "+573001234567",30', "0791AB"),
                      Urc("Call Ready", "", "Call Ready")]
