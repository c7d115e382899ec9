"""Transcript tests for modem.at (h11 style): one table, every row fed four ways.

Each transcript is a list of steps — send a command (``C``), receive bytes
(``R``), send the SMS body after a prompt (``B``), abort it (``X``) — and the
events that must come out. Every row is run with the received bytes fed
whole, byte by byte, in random chunkings (hypothesis) and with trailing junk
appended: the events must be the same each time. Rows named ``bug<N>-...``
are python-gsmmodem's failures (evaluation note §2) turned into regressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.at import AtParser, FinalResult, Noise, Prompt, Response, Urc


@dataclass(frozen=True)
class C:
    """Send a command."""
    line: str
    prompt: bool = False


@dataclass(frozen=True)
class R:
    """Receive bytes from the modem."""
    data: bytes


@dataclass(frozen=True)
class B:
    """Send the SMS body (after a Prompt)."""
    payload: str


@dataclass(frozen=True)
class X:
    """Abort the prompt with ESC."""


OK = FinalResult("OK", None, "OK")
ERROR = FinalResult("ERROR", None, "ERROR")


def ok(command: str, *lines: str) -> Response:
    return Response(command, lines, OK)


def urc(name: str, value: str, line: str | None = None, body: str | None = None, known: bool = True) -> Urc:
    if line is None:
        line = f"{name}: {value}" if value else name
    return Urc(name, value, line, body, known)


PDU_A = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
PDU_B = "07917283010010F5040BC87238880900F100009930925161958003C16010"
PDU_SR = "07917283010010F506410B917238880900F1993092516195809930925161958000"
CMGS_PDU = "0011000B917238880900F10000AA0AE8329BFD4697D9EC37"

# (id, profile, steps, expected events)
TRANSCRIPTS = [
    ("csq-plain", None, [C("AT+CSQ"), R(b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")],
     [ok("AT+CSQ", "+CSQ: 20,0")]),
    ("bug1-cmti-between-csq-and-reply", None,
     [C("AT+CSQ"), R(b'\r\n+CMTI: "SM",3\r\n\r\n+CSQ: 20,0\r\n\r\nOK\r\n')],
     [urc("+CMTI", '"SM",3'), ok("AT+CSQ", "+CSQ: 20,0")]),
    ("bug1-cmti-between-info-and-ok", None,
     [C("AT+CSQ"), R(b'\r\n+CSQ: 20,0\r\n\r\n+CMTI: "SM",4\r\n\r\nOK\r\n')],
     [urc("+CMTI", '"SM",4'), ok("AT+CSQ", "+CSQ: 20,0")]),
    ("b47-rssi-inside-cmgr", "huawei-e173",
     [C("AT+CMGR=3"), R(b"\r\n+CMGR: 0,,35\r\n^RSSI:17\r\n" + PDU_A.encode() + b"\r\n\r\nOK\r\n")],
     [urc("^RSSI", "17", "^RSSI:17"), ok("AT+CMGR=3", "+CMGR: 0,,35", PDU_A)]),
    ("rssi-unknown-to-sim800-still-not-the-pdu", "sim800",
     [C("AT+CMGR=3"), R(b"\r\n+CMGR: 0,,35\r\n^RSSI:17\r\n" + PDU_A.encode() + b"\r\n\r\nOK\r\n")],
     [urc("^RSSI", "17", "^RSSI:17", known=False), ok("AT+CMGR=3", "+CMGR: 0,,35", PDU_A)]),
    ("cmt-with-pdu-during-cmgr", None,
     [C("AT+CMGR=1"), R(b"\r\n+CMT: ,30\r\n" + PDU_B.encode() + b"\r\n+CMGR: 1,,35\r\n"
                        + PDU_A.encode() + b"\r\n\r\nOK\r\n")],
     [urc("+CMT", ",30", body=PDU_B), ok("AT+CMGR=1", "+CMGR: 1,,35", PDU_A)]),
    ("cmt-between-cmgr-header-and-its-pdu", None,
     [C("AT+CMGR=1"), R(b"\r\n+CMGR: 1,,35\r\n+CMT: ,30\r\n" + PDU_B.encode() + b"\r\n"
                        + PDU_A.encode() + b"\r\nOK\r\n")],
     [urc("+CMT", ",30", body=PDU_B), ok("AT+CMGR=1", "+CMGR: 1,,35", PDU_A)]),
    ("cds-with-pdu-during-csq", "sim800",
     [C("AT+CSQ"), R(b"\r\n+CDS: 25\r\n" + PDU_SR.encode() + b"\r\n+CSQ: 9,0\r\n\r\nOK\r\n")],
     [urc("+CDS", "25", body=PDU_SR), ok("AT+CSQ", "+CSQ: 9,0")]),
    ("cds-idle", "sim800", [R(b"\r\n+CDS: 25\r\n" + PDU_SR.encode() + b"\r\n")],
     [urc("+CDS", "25", body=PDU_SR)]),
    ("cmt-header-without-body-before-ok", None,
     [C("AT+CSQ"), R(b"\r\n+CMT: ,30\r\n+CSQ: 9,0\r\nOK\r\n")],
     [urc("+CMT", ",30"), ok("AT+CSQ", "+CSQ: 9,0")]),
    ("cdsi-sr-storage", "quectel-ec25", [R(b'\r\n+CDSI: "SR",0\r\n')], [urc("+CDSI", '"SR",0')]),
    ("cmgr-status-report-from-sr", "quectel-ec25",
     [C("AT+CMGR=0"), R(b"\r\n+CMGR: 0,,25\r\n" + PDU_SR.encode() + b"\r\n\r\nOK\r\n")],
     [ok("AT+CMGR=0", "+CMGR: 0,,25", PDU_SR)]),
    ("cmgl-several-with-urcs-between", None,
     [C("AT+CMGL=4"), R(b"\r\n+CMGL: 1,1,,35\r\n" + PDU_A.encode() + b"\r\n+CMGL: 2,0,,30\r\n"
                        + PDU_B.encode() + b'\r\n+CMTI: "SM",3\r\n+CMGL: 5,1,,25\r\n' + PDU_SR.encode()
                        + b"\r\n\r\nOK\r\n")],
     [urc("+CMTI", '"SM",3'),
      ok("AT+CMGL=4", "+CMGL: 1,1,,35", PDU_A, "+CMGL: 2,0,,30", PDU_B, "+CMGL: 5,1,,25", PDU_SR)]),
    ("cmgl-empty", None, [C("AT+CMGL=4"), R(b"\r\nOK\r\n")], [ok("AT+CMGL=4")]),
    ("echo-on", None, [C("AT+CSQ"), R(b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")], [ok("AT+CSQ", "+CSQ: 20,0")]),
    ("echo-trailing-cr-only", None, [C("AT+CSQ"), R(b"AT+CSQ\r+CSQ: 20,0\rOK\r")], [ok("AT+CSQ", "+CSQ: 20,0")]),
    ("echo-other-case", None, [C("at+csq"), R(b"AT+CSQ\r\n+CSQ: 1,0\r\nOK\r\n")], [ok("at+csq", "+CSQ: 1,0")]),
    ("echo-of-bare-command-not-collected", None,
     [C("AT+CGSN"), R(b"AT+CGSN\r\r\n869962031234561\r\n\r\nOK\r\n")], [ok("AT+CGSN", "869962031234561")]),
    ("lf-only-endings", None, [C("AT+CSQ"), R(b"\n+CSQ: 20,0\n\nOK\n")], [ok("AT+CSQ", "+CSQ: 20,0")]),
    ("cr-cr-lf-endings", None, [C("AT+CSQ"), R(b"\r\r\n+CSQ: 20,0\r\r\n\r\r\nOK\r\r\n")],
     [ok("AT+CSQ", "+CSQ: 20,0")]),
    ("nul-bytes-at-power-up", "sim800", [R(b"\x00\x00\r\nRDY\r\n\x00R\x00DY\r\n")],
     [Noise(b"\x00\x00", "NUL bytes removed"), urc("RDY", ""),
      Noise(b"\x00R\x00DY", "NUL bytes removed"), urc("RDY", "")]),
    ("bug3-non-utf8-idle", None, [R(b"\xff\xfe\xfd\r\n+CMTI: \"SM\",1\r\n")],
     [Noise(b"\xff\xfe\xfd", "undecodable bytes or control characters"), urc("+CMTI", '"SM",1')]),
    ("bug3-non-utf8-inside-response", None,
     [C("AT+CSQ"), R(b"\r\n\x80\x81\x82\r\n+CSQ: 5,0\r\n\r\nOK\r\n")],
     [Noise(b"\x80\x81\x82", "undecodable bytes or control characters"), ok("AT+CSQ", "+CSQ: 5,0")]),
    ("garbage-glued-before-urc", None, [R(b"\xff\xfe+CMTI: \"SM\",2\r\n")],
     [Noise(b"\xff\xfe", "garbage before a line"), urc("+CMTI", '"SM",2')]),
    ("latin1-in-known-urc-kept", None, [R(b'+CUSD: 0,"Se\xf1or",15\r\n')],
     [urc("+CUSD", '0,"Se\ufffdor",15')]),
    ("very-long-line-dropped-then-resync", None, [R(b"A" * 5000 + b"\r\n+CMTI: \"SM\",9\r\n")],
     [Noise(b"A" * 4096, "line longer than 4096 bytes dropped"), urc("+CMTI", '"SM",9')]),
    ("unknown-urc-idle", None, [R(b"\r\n+QFOO: 1,2\r\nHELLO WORLD\r\n")],
     [urc("+QFOO", "1,2", known=False), Urc("HELLO WORLD", "", "HELLO WORLD", None, False)]),
    ("unknown-urc-while-pending-is-not-collected", None,
     [C("AT+CSQ"), R(b"\r\n+QFOO: 1\r\n+CSQ: 3,0\r\nOK\r\n")],
     [urc("+QFOO", "1", known=False), ok("AT+CSQ", "+CSQ: 3,0")]),
    ("creg-answer-vs-urc", None,
     [C("AT+CREG?"), R(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n\r\n+CREG: 5\r\n"), C("AT+CSQ"),
      R(b"\r\n+CREG: 1\r\n+CSQ: 9,0\r\nOK\r\n")],
     [ok("AT+CREG?", "+CREG: 0,1"), urc("+CREG", "5"), urc("+CREG", "1"), ok("AT+CSQ", "+CSQ: 9,0")]),
    ("cereg-with-cell-info", "quectel-ec25",
     [C("AT+CEREG?"), R(b'\r\n+CEREG: 2,1,"1A2B","01C3D4E5",7\r\nOK\r\n+CEREG: 1,"1A2B","01C3D4E5",7\r\n')],
     [ok("AT+CEREG?", '+CEREG: 2,1,"1A2B","01C3D4E5",7'), urc("+CEREG", '1,"1A2B","01C3D4E5",7')]),
    ("cusd-after-ok-is-urc", None,
     [C('AT+CUSD=1,"*611#",15'), R(b'\r\nOK\r\n\r\n+CUSD: 0,"Su saldo es $1.234",15\r\n')],
     [ok('AT+CUSD=1,"*611#",15'), urc("+CUSD", '0,"Su saldo es $1.234",15')]),
    ("cusd-before-ok-is-urc", None,
     [C('AT+CUSD=1,"*611#",15'), R(b'\r\n+CUSD: 0,"Saldo $5",15\r\n\r\nOK\r\n')],
     [urc("+CUSD", '0,"Saldo $5",15'), ok('AT+CUSD=1,"*611#",15')]),
    ("cusd-read-is-answer", None, [C("AT+CUSD?"), R(b"\r\n+CUSD: 1\r\nOK\r\n")], [ok("AT+CUSD?", "+CUSD: 1")]),
    ("bug6-spring-is-not-ring", None, [R(b'\r\n+CUSD: 0,"Compra el SPRING bundle, RING RING",15\r\n')],
     [urc("+CUSD", '0,"Compra el SPRING bundle, RING RING",15')]),
    ("cusd-multiline-text", None,
     [R(b'\r\n+CUSD: 1,"Menu\r\n1. Saldo\r\nRING\r\n2. SPRING",15\r\nRING\r\n')],
     [urc("+CUSD", '1,"Menu\n1. Saldo\nRING\n2. SPRING",15', '+CUSD: 1,"Menu\n1. Saldo\nRING\n2. SPRING",15'),
      urc("RING", "")]),
    ("cusd-unterminated-ended-by-ok", None,
     [C('AT+CUSD=1,"*611#",15'), R(b'\r\n+CUSD: 0,"Saldo\r\nOK\r\n')],
     [urc("+CUSD", '0,"Saldo'), ok('AT+CUSD=1,"*611#",15')]),
    ("cusd-hex-huawei", "huawei-e173",
     [C('AT+CUSD=1,"AA180C3602",15'), R(b'\r\nOK\r\n\r\n+CUSD: 0,"D3E61434A7D96C",15\r\n')],
     [ok('AT+CUSD=1,"AA180C3602",15'), urc("+CUSD", '0,"D3E61434A7D96C",15')]),
    ("cme-numeric", None, [C("AT+CPIN?"), R(b"\r\n+CME ERROR: 11\r\n")],
     [Response("AT+CPIN?", (), FinalResult("CME", 11, "SIM PIN required"))]),
    ("cme-verbose", None, [C("AT+CPIN?"), R(b"\r\n+CME ERROR: SIM PIN required\r\n")],
     [Response("AT+CPIN?", (), FinalResult("CME", 11, "SIM PIN required"))]),
    ("cme-verbose-unknown-text", None, [C("AT+CPIN?"), R(b"\r\n+CME ERROR: flux capacitor\r\n")],
     [Response("AT+CPIN?", (), FinalResult("CME", None, "flux capacitor"))]),
    ("cms-numeric", None, [C("AT+CMGR=1"), R(b"\r\n+CMS ERROR: 321\r\n")],
     [Response("AT+CMGR=1", (), FinalResult("CMS", 321, "invalid memory index"))]),
    ("cms-verbose", None, [C("AT+CMGR=1"), R(b"\r\n+CMS ERROR: invalid memory index\r\n")],
     [Response("AT+CMGR=1", (), FinalResult("CMS", 321, "invalid memory index"))]),
    ("huawei-command-not-support", "huawei-e173", [C("AT+CLAC"), R(b"\r\nCOMMAND NOT SUPPORT\r\n")],
     [Response("AT+CLAC", (), FinalResult("ERROR", None, "COMMAND NOT SUPPORT"))]),
    ("cmgs-prompt-and-body", None,
     [C("AT+CMGS=23", prompt=True), R(b"\r\n> "), B(CMGS_PDU), R(b"\r\n+CMGS: 17\r\n\r\nOK\r\n")],
     [Prompt(), ok("AT+CMGS=23", "+CMGS: 17")]),
    ("cmgs-bare-prompt", None,
     [C("AT+CMGS=23", prompt=True), R(b"> "), B(CMGS_PDU), R(b"\r\n+CMGS: 0\r\nOK\r\n")],
     [Prompt(), ok("AT+CMGS=23", "+CMGS: 0")]),
    ("cmgs-echo-on", None,
     [C("AT+CMGS=23", prompt=True), R(b"AT+CMGS=23\r\r\n> "), B(CMGS_PDU),
      R(CMGS_PDU.encode() + b"\x1a\r\n+CMGS: 18\r\n\r\nOK\r\n")],
     [Prompt(), ok("AT+CMGS=23", "+CMGS: 18")]),
    ("cmgs-urc-between-prompt-and-answer", None,
     [C("AT+CMGS=23", prompt=True), R(b"\r\n> "), B(CMGS_PDU),
      R(b'\r\n+CMTI: "SM",7\r\n\r\n+CMGS: 19\r\n\r\nOK\r\n')],
     [Prompt(), urc("+CMTI", '"SM",7'), ok("AT+CMGS=23", "+CMGS: 19")]),
    ("cmgs-cms-error-after-body", None,
     [C("AT+CMGS=23", prompt=True), R(b"\r\n> "), B(CMGS_PDU), R(b"\r\n+CMS ERROR: 304\r\n")],
     [Prompt(), Response("AT+CMGS=23", (), FinalResult("CMS", 304, "invalid PDU mode parameter"))]),
    ("cmgs-error-instead-of-prompt", None,
     [C("AT+CMGS=23", prompt=True), R(b"\r\n+CMS ERROR: 330\r\n")],
     [Response("AT+CMGS=23", (), FinalResult("CMS", 330, "SMSC address unknown"))]),
    ("cmgs-cancelled", None,
     [C("AT+CMGS=23", prompt=True), R(b"\r\n> "), X(), R(b"\r\nOK\r\n")],
     [Prompt(), ok("AT+CMGS=23")]),
    ("stray-prompt-is-noise", None, [R(b"\r\n> \r\n")], [Noise(b"> ", "prompt with no command waiting for one")]),
    ("ok-with-nothing-pending-is-noise", None, [R(b"\r\nOK\r\n")],
     [Noise(b"OK", "final result with no command outstanding")]),
    ("bug7-no-carrier-idle-is-urc", None, [R(b"\r\nNO CARRIER\r\n\r\nBUSY\r\n")],
     [urc("NO CARRIER", ""), urc("BUSY", "")]),
    ("bug7-no-carrier-during-csq-is-urc", None, [C("AT+CSQ"), R(b"\r\nNO CARRIER\r\n+CSQ: 9,0\r\nOK\r\n")],
     [urc("NO CARRIER", ""), ok("AT+CSQ", "+CSQ: 9,0")]),
    ("atd-busy-is-final", None, [C("ATD+573001234567;"), R(b"\r\nBUSY\r\n")],
     [Response("ATD+573001234567;", (), FinalResult("BUSY", None, "BUSY"))]),
    ("atd-ok-then-no-answer-urc", "sim800", [C("ATD+573001234567;"), R(b"\r\nOK\r\n\r\nMO RING\r\n\r\nNO ANSWER\r\n")],
     [ok("ATD+573001234567;"), urc("MO RING", ""), urc("NO ANSWER", "")]),
    ("atd-connect", None, [C("ATD*99#"), R(b"\r\nCONNECT 150000000\r\n")],
     [Response("ATD*99#", (), FinalResult("CONNECT", None, "CONNECT 150000000"))]),
    ("bug5-sim800-clcc-alpha", "sim800",
     [C("AT+CLCC"), R(b'\r\n+CLCC: 1,0,3,0,0,"+573001234567",145,""\r\n\r\nOK\r\n')],
     [ok("AT+CLCC", '+CLCC: 1,0,3,0,0,"+573001234567",145,""')]),
    ("sim800-clcc-urc-idle", "sim800", [R(b'\r\n+CLCC: 1,0,6,0,0,"+573001234567",145,""\r\n')],
     [urc("+CLCC", '1,0,6,0,0,"+573001234567",145,""')]),
    ("ring-and-clip", None, [R(b'\r\nRING\r\n\r\n+CLIP: "+573001234567",145,"",0,"",0\r\n')],
     [urc("RING", ""), urc("+CLIP", '"+573001234567",145,"",0,"",0')]),
    ("cpin-set-then-ready-urc", "sim800", [C('AT+CPIN="1234"'), R(b"\r\nOK\r\n\r\n+CPIN: READY\r\n")],
     [ok('AT+CPIN="1234"'), urc("+CPIN", "READY")]),
    ("cpin-ready-urc-before-ok", "sim800", [C('AT+CPIN="1234"'), R(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")],
     [urc("+CPIN", "READY"), ok('AT+CPIN="1234"')]),
    ("cpin-read-is-answer", "sim800", [C("AT+CPIN?"), R(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")],
     [ok("AT+CPIN?", "+CPIN: READY")]),
    ("sim800-boot", "sim800", [R(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n")],
     [urc("RDY", ""), urc("+CFUN", "1"), urc("+CPIN", "READY"), urc("Call Ready", ""), urc("SMS Ready", "")]),
    ("sim800-network-time", "sim800",
     [R(b'\r\n*PSUTTZ: 24,12,15,13,5,30,"-20",0\r\n\r\nDST: 0\r\n\r\n+CTZV: -20,0\r\n')],
     [urc("*PSUTTZ", '24,12,15,13,5,30,"-20",0'), urc("DST", "0"), urc("+CTZV", "-20,0")]),
    ("sim800-power-warnings", "sim800", [R(b"\r\nUNDER-VOLTAGE WARNNING\r\n\r\nNORMAL POWER DOWN\r\n")],
     [urc("UNDER-VOLTAGE WARNNING", ""), urc("NORMAL POWER DOWN", "")]),
    ("sim800-cgmr-bare-with-colon", "sim800", [C("AT+CGMR"), R(b"\r\nRevision:1418B04SIM800L24\r\n\r\nOK\r\n")],
     [ok("AT+CGMR", "Revision:1418B04SIM800L24")]),
    ("huawei-noise-and-calls", "huawei-e173",
     [R(b"\r\n^BOOT:20952066,0,0,0,72\r\n\r\n^MODE:5,4\r\n\r\n^ORIG:1,0\r\n\r\n^CONN:1,0\r\n\r\n^CEND:1,5,104,16\r\n")],
     [urc("^BOOT", "20952066,0,0,0,72", "^BOOT:20952066,0,0,0,72"), urc("^MODE", "5,4", "^MODE:5,4"),
      urc("^ORIG", "1,0", "^ORIG:1,0"), urc("^CONN", "1,0", "^CONN:1,0"),
      urc("^CEND", "1,5,104,16", "^CEND:1,5,104,16")]),
    ("huawei-rssi-during-sysinfo", "huawei-e173",
     [C("AT^SYSINFO"), R(b"\r\n^RSSI:9\r\n^SYSINFO:2,3,0,5,1,,4\r\n\r\nOK\r\n")],
     [urc("^RSSI", "9", "^RSSI:9"), ok("AT^SYSINFO", "^SYSINFO:2,3,0,5,1,,4")]),
    ("quectel-boot-and-time", "quectel-ec25",
     [R(b'\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n'
        b'\r\n+CTZE: "-20",0,"2024/12/15,18:05:30"\r\n')],
     [urc("RDY", ""), urc("+CFUN", "1"), urc("+QUSIM", "1"), urc("+QIND", "SMS DONE"), urc("+QIND", "PB DONE"),
      urc("+CTZE", '"-20",0,"2024/12/15,18:05:30"')]),
    ("quectel-dsci", "quectel-ec25", [R(b'\r\n^DSCI: 1,0,3,0,"3001234567",129\r\n')],
     [urc("^DSCI", '1,0,3,0,"3001234567",129')]),
    ("quectel-qccid", "quectel-ec25", [C("AT+QCCID"), R(b"\r\n+QCCID: 8957101234567890123F\r\n\r\nOK\r\n")],
     [ok("AT+QCCID", "+QCCID: 8957101234567890123F")]),
    ("sim7600-voice-call", "sim7600",
     [R(b"\r\nVOICE CALL: BEGIN\r\n\r\nVOICE CALL: END: 000012\r\n\r\nMISSED_CALL: 10:30AM 3001234567\r\n"
        b"\r\nSMS DONE\r\n\r\nPB DONE\r\n")],
     [urc("VOICE CALL", "BEGIN"), urc("VOICE CALL", "END: 000012"), urc("MISSED_CALL", "10:30AM 3001234567"),
      urc("SMS DONE", ""), urc("PB DONE", "")]),
    ("sim7600-ccid-alias", "sim7600", [C("AT+CCID"), R(b"\r\n+ICCID: 8957101234567890123\r\n\r\nOK\r\n")],
     [ok("AT+CCID", "+ICCID: 8957101234567890123")]),
    ("ati-multiline-bare", None,
     [C("ATI"), R(b"\r\nManufacturer: Quectel\r\nModel: EC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n")],
     [ok("ATI", "Manufacturer: Quectel", "Model: EC25", "Revision: EC25EFAR06A06M4G")]),
    ("cpms-set-returns-counts", None,
     [C('AT+CPMS="SM","SM","SM"'), R(b"\r\n+CPMS: 3,30,3,30,3,30\r\n\r\nOK\r\n")],
     [ok('AT+CPMS="SM","SM","SM"', "+CPMS: 3,30,3,30,3,30")]),
    ("two-commands-in-a-row", None,
     [C("AT"), R(b"\r\nOK\r\n"), C("AT+CCLK?"), R(b'\r\n+CCLK: "24/12/15,13:05:30-20"\r\n\r\nOK\r\n')],
     [ok("AT"), ok("AT+CCLK?", '+CCLK: "24/12/15,13:05:30-20"')]),
    # quirks of python-gsmmodem's fake modems (fakemodems.py), as transcripts
    ("wavecom-leading-space-bare-answer", None, [C("AT+CGMI"), R(b" WAVECOM MODEM\r\nOK\r\n")],
     [ok("AT+CGMI", "WAVECOM MODEM")]),
    ("wavecom-cme-515-device-busy", None, [C("AT+CPMS?"), R(b"+CME ERROR: 515\r\n")],
     [Response("AT+CPMS?", (), FinalResult("CME", 515, ""))]),
    ("e1752-clac-bare-lines-with-stray-cr", "huawei-e173",
     [C("AT+CLAC"), R(b"&C\r\r\n+CMGS\r\r\n$QCSIMSTAT\r\r\n^CURC\r\r\nS0\r\r\n\r\nOK\r\n")],
     [ok("AT+CLAC", "&C", "+CMGS", "$QCSIMSTAT", "^CURC", "S0")]),
    ("k3715-clac-single-prefixed-line", "huawei-e173",
     [C("AT+CLAC"), R(b"+CLAC:&C,&D,+CMGS,^SYSINFO,$QCPDPP\r\nOK\r\n")],
     [ok("AT+CLAC", "+CLAC:&C,&D,+CMGS,^SYSINFO,$QCPDPP")]),
    ("cpms-test-nested-lists", None,
     [C("AT+CPMS=?"), R(b'+CPMS: (("SM","BM","SR"),("SM"))\r\nOK\r\n')],
     [ok("AT+CPMS=?", '+CPMS: (("SM","BM","SR"),("SM"))')]),
    ("cring-and-clip-empty-fields", None, [R(b'+CRING: VOICE\r\n+CLIP: "+27820000000",145,,,,0\r\n')],
     [urc("+CRING", "VOICE"), urc("+CLIP", '"+27820000000",145,,,,0')]),
    ("set-command-error", None, [C("AT+CNMI=2,1,0,1,0"), R(b"\r\nERROR\r\n")],
     [Response("AT+CNMI=2,1,0,1,0", (), ERROR)]),
]


def run(transcript, chunker):
    """Play ``transcript`` (profile, steps) through a fresh parser, feeding each R step via ``chunker``."""
    profile, steps = transcript
    parser = AtParser(profile)
    events = []
    for step in steps:
        if isinstance(step, C):
            assert parser.command(step.line, expect_prompt=step.prompt) == step.line.encode() + b"\r"
        elif isinstance(step, B):
            assert parser.body(step.payload) == step.payload.encode() + b"\x1a"
        elif isinstance(step, X):
            assert parser.cancel_body() == b"\x1b"
        else:
            for chunk in chunker(step.data):
                events.extend(parser.feed(chunk))
    return events, parser


def whole(data):
    return [data]


def byte_by_byte(data):
    return [data[i:i + 1] for i in range(len(data))]


CASES = [pytest.param((profile, steps), expected, id=name) for name, profile, steps, expected in TRANSCRIPTS]


def test_transcript_ids_are_unique():
    names = [t[0] for t in TRANSCRIPTS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("transcript, expected", CASES)
def test_fed_whole(transcript, expected):
    events, parser = run(transcript, whole)
    assert events == expected
    assert parser.pending is None


@pytest.mark.parametrize("transcript, expected", CASES)
def test_fed_byte_by_byte(transcript, expected):
    events, _ = run(transcript, byte_by_byte)
    assert events == expected


@pytest.mark.parametrize("junk", [b"\xff\x00garb", b"\r\n\xfe\xff\r\nAT", b"\r\n+CMTI: \"SM\",99\r\n"],
                         ids=["partial-garbage", "garbage-lines", "extra-urc"])
@pytest.mark.parametrize("transcript, expected", CASES)
def test_with_trailing_junk(transcript, expected, junk):
    profile, steps = transcript
    last = max(i for i, s in enumerate(steps) if isinstance(s, R))
    steps = list(steps)
    steps[last] = R(steps[last].data + junk)
    events, _ = run((profile, steps), whole)
    assert events[: len(expected)] == expected
    assert all(isinstance(e, (Noise, Urc)) for e in events[len(expected):])


@pytest.mark.parametrize("transcript, expected", CASES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fed_in_random_chunks(transcript, expected, data):
    def chunker(raw):
        cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(raw) - 1)), max_size=12)))
        bounds = [0, *cuts, len(raw)]
        return [raw[a:b] for a, b in zip(bounds, bounds[1:])]

    events, _ = run(transcript, chunker)
    assert events == expected
