"""Pure parsers used by the driver (modem.queries, modem.retry, modem.info's USSD encoding)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.errors import (AtProtocolError, CmeError, CmsError, CommandError, CommandTimeout, ModemDisconnected,
                          WrongPin)
from modem.info import encode_ussd_request
from modem.queries import (decode_ussd, parse_cclk, parse_cmgl_header, parse_cops, parse_cpms, parse_csq,
                           parse_cusd, parse_index_urc, parse_reg, rssi_to_dbm)
from modem.retry import ABORT, FAIL, RETRY, Backoff, classify


@pytest.mark.parametrize("rssi,dbm", [(0, -113), (1, -111), (31, -51), (99, None), (40, None)])
def test_rssi_to_dbm(rssi, dbm):
    assert rssi_to_dbm(rssi) == dbm


def test_csq():
    assert parse_csq("+CSQ: 17,99") == 17
    with pytest.raises(AtProtocolError):
        parse_csq("+CSQ: x,99")


@pytest.mark.parametrize("line,name,stat", [
    ("+CREG: 0,1", "CREG", 1), ("+CREG: 2,5,\"00C3\",\"0F1A\"", "CREG", 5), ("1,\"00C3\",\"0F1A\"", "CREG", 1),
    ("+CEREG: 2,1,\"1A2B\",\"01ABCDEF\",7", "CEREG", 1), ("2", "CREG", 2),
])
def test_registration(line, name, stat):
    assert parse_reg(line, name) == stat


def test_cops():
    assert parse_cops('+COPS: 0,0,"Claro CO",7') == "Claro CO"
    assert parse_cops("+COPS: 0") is None


@pytest.mark.parametrize("line,expected", [
    ('+CCLK: "26/11/23,10:20:30-20"', datetime(2026, 11, 23, 10, 20, 30, tzinfo=timezone(timedelta(hours=-5)))),
    ('+CCLK: "24/12/15,18:05:30+00"', datetime(2024, 12, 15, 18, 5, 30, tzinfo=timezone.utc)),
    ('+CCLK: "04/01/01,00:00:00+00"', None),      # SIM800 factory default
    ('+CCLK: "80/01/06,00:00:00+00"', None),      # 1980 epoch default
])
def test_cclk(line, expected):
    assert parse_cclk(line) == expected


@pytest.mark.parametrize("bad", ['+CCLK: "garbage"', '+CCLK: "26/13/45,10:20:30+00"'])
def test_cclk_garbled(bad):
    with pytest.raises(AtProtocolError):
        parse_cclk(bad)


def test_cpms_and_indexes():
    assert parse_cpms('+CPMS: "SM",30,30,"SM",30,30,"SM",30,30')[0] == ("SM", 30, 30)
    assert parse_cpms("+CPMS: 2,50,2,50,2,50")[0] == (None, 2, 50)
    assert parse_index_urc('"SM",7') == ("SM", 7)
    assert parse_index_urc('"SR",0') == ("SR", 0)
    assert parse_cmgl_header("+CMGL: 3,0,,25").index == 3


def test_cusd_text_with_ring_is_text():
    assert parse_cusd('0,"SPRING bundle: RING RING",15') == (0, "SPRING bundle: RING RING", 15)


@settings(max_examples=150)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 *#.,$:", min_size=1,
               max_size=160))
def test_hex_ussd_round_trip(text):
    assert decode_ussd(encode_ussd_request(text, "hex"), 15, "hex") == text.rstrip("@")


def test_ussd_ucs2_hex_and_plain_text():
    assert decode_ussd("Saldo: ñ".encode("utf-16-be").hex().upper(), 72, "hex") == "Saldo: ñ"
    assert decode_ussd("Su saldo es $1.234", 15, "text") == "Su saldo es $1.234"


@pytest.mark.parametrize("exc,decision", [
    (CmsError("AT+CMGS=20", 332, "network timeout"), RETRY),
    (CmsError("AT+CMGS=20", 500, "unknown"), RETRY),
    (CmsError("AT+CMGS=20", 330, "SMSC address unknown"), FAIL),
    (CmsError("AT+CMGS=20", 304, "invalid PDU"), FAIL),
    (CmsError("AT+CMGS=20", 21, "short message transfer rejected"), FAIL),
    (CmeError("AT+CPIN", 14, "SIM busy"), RETRY),
    (WrongPin("AT+CPIN", 16, "incorrect password"), FAIL),
    (CommandError("AT", None, "ERROR"), FAIL),
    (ModemDisconnected("gone"), ABORT),
    (CommandTimeout("AT+CMGS=20", 60), ABORT),
])
def test_classify(exc, decision):
    assert classify(exc) == decision


@settings(max_examples=100)
@given(st.integers(1, 20), st.floats(0, 5), st.floats(1, 4), st.floats(0, 60))
def test_backoff_bounded_and_monotonic(attempts, base, factor, cap):
    b = Backoff(attempts=attempts, base=base, factor=factor, cap=cap)
    delays = b.delays()
    assert len(delays) == attempts - 1
    assert all(0 <= d <= cap for d in delays)
    assert delays == sorted(delays)
