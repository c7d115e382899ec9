"""The simulator through its pty with pyserial: line discipline, basic commands, sending, life cycle."""

from __future__ import annotations

import os
import threading
import time

import pytest
import serial

from modem.pdu import decode, encode_submit
from modem.profiles import PROFILES
from modem.simulator import Simulator
from modem.simulator.wire import RawAtClient


@pytest.fixture
def sim():
    with Simulator("generic") as s:
        yield s


@pytest.fixture
def at(sim):
    with RawAtClient(sim.port) as client:
        yield client


def wait_until(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def send_pdu(at: RawAtClient, number: str, text: str, **kw) -> str:
    pdu = encode_submit(number, text, **kw)[0]
    at.prompt(f"AT+CMGS={pdu.tpdu_length}")
    return at.body(pdu.hex)


# ---------------------------------------------------------------- pty and line discipline
def test_echo_is_on_until_ate0(at):
    assert at.command("AT") == "AT\r\r\nOK\r\n"
    assert at.command("ATE0") == "ATE0\r\r\nOK\r\n"
    assert at.command("AT") == "\r\nOK\r\n"


def test_pty_is_raw_so_bytes_pass_untouched(sim, at):
    at.command("ATE0")
    sim.inject(b"\r\n\x00\xff\n\r")
    assert at.drain() == "\r\n\x00\xff\n\r"


def test_chunked_input_and_lf_after_cr(at):
    at.write("A")
    at.write("T+CS")
    at.write("Q\r\n")
    assert at.read_until(r"OK\r\n").endswith("+CSQ: 20,99\r\n\r\nOK\r\n")
    assert at.command("ATE0") .endswith("OK\r\n")
    assert at.drain() == ""     # the LF after CR was not a second (empty) command


def test_several_commands_on_one_line_each_framed(at):
    at.command("ATE0")
    assert at.command("AT+CSQ;+CREG?") == "\r\n+CSQ: 20,99\r\n\r\n+CREG: 0,1\r\n\r\nOK\r\n"


def test_unknown_command_and_error_verbosity(at):
    at.command("ATE0")
    assert at.lines("AT+NOPE") == ["ERROR"]
    assert at.lines("AT+CPIN=1234") == ["ERROR"]          # CMEE=0: plain ERROR
    assert at.lines("AT+CMEE=1") == ["OK"]
    assert at.lines("AT+CPIN=1234") == ["+CME ERROR: 3"]
    assert at.lines("AT+CMEE=2") == ["OK"]
    assert at.lines("AT+CPIN=1234") == ["+CME ERROR: operation not allowed"]


def test_garbage_before_at_is_ignored(at):
    at.command("ATE0")
    assert at.lines("\x00zz AT") == ["OK"]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_identity_comes_from_the_profile(name):
    profile = PROFILES[name]
    with Simulator(name) as sim, RawAtClient(sim.port) as at:
        at.command("ATE0")
        assert at.lines("AT+CGMI") == [profile.manufacturer, "OK"]
        assert at.lines("AT+CGMM") == [profile.model, "OK"]
        assert at.lines("AT+CGMR") == [profile.revision, "OK"]
        assert at.lines("AT+CGSN") == [profile.imei, "OK"]
        assert at.lines("ATI")[-1] == "OK"


# ---------------------------------------------------------------- sending
def test_cmgs_prompt_pdu_and_submitted(sim, at):
    at.command("ATE0")
    answer = send_pdu(at, "+573001234567", "Hola, su cuota vence hoy")
    assert answer == "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    [submit] = sim.network.submitted
    assert (submit.number, submit.text, submit.message_reference) == ("+573001234567",
                                                                      "Hola, su cuota vence hoy", 0)
    assert submit.status_report is True
    phone = sim.network.phone("+573001234567")
    wait_until(lambda: phone.received)
    assert [(r.text, r.parts) for r in phone.received] == [("Hola, su cuota vence hoy", 1)]


def test_cmgs_body_is_echoed_when_echo_on(at):
    pdu = encode_submit("+573001234567", "x")[0]
    at.write(f"AT+CMGS={pdu.tpdu_length}\r")
    assert at.read_until(r"> ") == f"AT+CMGS={pdu.tpdu_length}\r\r\n> "
    answer = at.body(pdu.hex)
    assert answer.startswith(pdu.hex) and answer.endswith("+CMGS: 0\r\n\r\nOK\r\n")


def test_message_references_wrap_at_255(sim, at):
    at.command("ATE0")
    sim.next_message_reference = 254
    answers = [send_pdu(at, "+573001234567", "ref") for _ in range(3)]
    assert answers == [f"\r\n+CMGS: {mr}\r\n\r\nOK\r\n" for mr in (254, 255, 0)]
    assert [s.message_reference for s in sim.network.submitted] == [254, 255, 0]


def test_escape_cancels_the_message(sim, at):
    at.command("ATE0")
    pdu = encode_submit("+573001234567", "no")[0]
    at.prompt(f"AT+CMGS={pdu.tpdu_length}")
    assert at.body(pdu.hex, terminator=b"\x1b") == "\r\nOK\r\n"
    assert sim.network.submitted == []


@pytest.mark.parametrize("body, length_delta", [("00ZZ", 0), ("0011000C", 0), (None, 1)], ids=[
    "not-hex", "truncated", "wrong-length"])
def test_bad_pdu_is_cms_304(sim, at, body, length_delta):
    at.command("ATE0")
    pdu = encode_submit("+573001234567", "x")[0]
    at.prompt(f"AT+CMGS={pdu.tpdu_length + length_delta}")
    assert at.body(body or pdu.hex) == "\r\n+CMS ERROR: 304\r\n"
    assert sim.network.submitted == []


def test_latency_delays_the_cmgs_answer_and_queues_input(sim, at):
    at.command("ATE0")
    sim.latency = 0.4
    pdu = encode_submit("+573001234567", "lento")[0]
    at.prompt(f"AT+CMGS={pdu.tpdu_length}")
    started = time.monotonic()
    at.write(pdu.hex + "\x1a")
    at.write("AT+CSQ\r")          # typed while the network is busy: answered afterwards, not lost
    text = at.read_until(r"\+CSQ: [^\r]*\r\n\r\nOK\r\n")
    assert time.monotonic() - started >= 0.35
    assert text.index("+CMGS: 0") < text.index("+CSQ:")


def test_fail_next_on_cmgs_comes_after_the_body(sim, at):
    at.command("ATE0")
    sim.fail_next("AT+CMGS", "+CMS ERROR: 500")
    assert send_pdu(at, "+573001234567", "x") == "\r\n+CMS ERROR: 500\r\n"
    assert sim.network.submitted == []
    assert send_pdu(at, "+573001234567", "x").endswith("OK\r\n")


def test_fail_next_on_a_plain_command_counts_down(sim, at):
    at.command("ATE0")
    sim.fail_next("AT+CSQ", "+CME ERROR: 14", count=2)
    assert at.lines("AT+CSQ") == ["+CME ERROR: 14"]
    assert at.lines("AT+CSQ") == ["+CME ERROR: 14"]
    assert at.lines("AT+CSQ") == ["+CSQ: 20,99", "OK"]


def test_unregistered_modem_refuses_to_send(sim, at):
    at.command("ATE0")
    sim.set_registration(2)
    assert send_pdu(at, "+573001234567", "x") == "\r\n+CMS ERROR: 331\r\n"


# ---------------------------------------------------------------- life cycle
def test_close_is_safe_twice_and_leaves_no_thread():
    before = {t.name for t in threading.enumerate()}
    sim = Simulator("sim800").start()
    assert any(t.name.startswith("modem-simulator") for t in threading.enumerate())
    sim.close()
    sim.close()
    assert sim.port is None
    assert {t.name for t in threading.enumerate()} <= before


def test_link_symlink_points_at_the_pty(tmp_path):
    link = tmp_path / "by-id" / "usb-SimCom-if02"
    with Simulator("sim7600", link=link) as sim:
        assert sim.port == str(link)
        assert os.path.realpath(link) == sim.slave_path
    assert not link.exists() and not link.is_symlink()


def test_unplug_gives_the_client_a_serial_exception_and_replug_works(tmp_path):
    link = tmp_path / "ttyGSM"
    with Simulator("quectel-ec25", link=link, boot_time=0.05) as sim:
        client = serial.Serial(sim.port, timeout=0.5)
        client.write(b"AT\r")
        assert b"OK" in client.read_until(b"OK\r\n")
        old_slave = sim.slave_path
        sim.unplug()
        assert not link.exists()
        with pytest.raises(serial.SerialException):
            client.write(b"AT\r")
            client.read(10)
        client.close()
        sim.replug()
        assert os.path.realpath(link) == sim.slave_path
        with RawAtClient(sim.port) as at:
            at.wait_for("+QIND: PB DONE")         # the last boot URC of the profile
            assert at.lines("AT") == ["AT", "OK"]   # echo back on after the power cycle
        assert old_slave is not None


def test_decoded_submit_matches_pdu_decoder(sim, at):
    at.command("ATE0")
    pdus = encode_submit("+573001234567", "ñandú " * 40)
    for p in pdus:
        at.prompt(f"AT+CMGS={p.tpdu_length}")
        at.body(p.hex)
    assert len(pdus) > 1
    assert [s.text for s in sim.network.submitted] == [decode(p.hex).text for p in pdus]
    phone = sim.network.phone("+573001234567")
    wait_until(lambda: phone.received)
    assert [(r.text, r.parts) for r in phone.received] == [("ñandú " * 40, len(pdus))]


def test_joined_commands_with_basic_after_extended(sim, at):
    at.command("ATE0")
    assert at.lines("AT+CMEE=1;&W") == ["OK"]
    assert at.lines("AT+CMEE=0;Z") == ["OK"]                # ATZ brings back the saved CMEE=1
    assert at.lines("AT+CMEE?") == ["+CMEE: 1", "OK"]


@pytest.mark.parametrize("name, has, lacks", [
    ("huawei-e173", ["AT^USSDMODE", "AT^ICCID", "AT+CMGS"], ["AT+QCCID", "AT+CLTS"]),
    ("sim800", ["AT+CLTS", "AT+CCID", "AT+CMGS"], ["AT^USSDMODE", "AT+CTZU", "AT+CEREG"]),
    ("quectel-ec25", ["AT+QCCID", "AT+CTZU", "AT+CEREG"], ["AT^USSDMODE", "AT+CLTS"]),
])
def test_clac_lists_the_profile_s_commands(name, has, lacks):
    with Simulator(name) as sim, RawAtClient(sim.port) as at:
        at.command("ATE0")
        listed = at.lines("AT+CLAC")
        assert listed[-1] == "OK"
        assert set(has) <= set(listed) and not set(lacks) & set(listed)


def test_binary_sms_from_a_phone(sim, at):
    at.command("ATE0")
    at.command("AT+CNMI=2,1,0,0,0")
    sim.network.phone("+573009998877").send_data(b"\x00\x01\xff", message_class=0)
    index = int(at.wait_for("+CMTI:").split(",")[1])
    message = decode(at.lines(f"AT+CMGR={index}")[1])
    assert message.data == b"\x00\x01\xff" and message.message_class == 0


def test_unplug_wakes_a_client_blocked_in_read():
    with Simulator("sim800") as sim:
        client = serial.Serial(sim.port, timeout=5)
        outcome = []

        def reader():
            started = time.monotonic()
            try:
                client.read(10)
                outcome.append(("returned", time.monotonic() - started))
            except serial.SerialException:
                outcome.append(("SerialException", time.monotonic() - started))

        thread = threading.Thread(target=reader)
        thread.start()
        time.sleep(0.1)
        sim.unplug()
        thread.join(5)
        client.close()
    assert outcome and outcome[0][0] == "SerialException" and outcome[0][1] < 2


def test_transcript_shows_both_directions(sim, at):
    at.command("AT+CSQ")
    text = sim.transcript()
    assert "<< AT+CSQ\\r" in text and ">> " in text and "+CSQ: 20,99" in text


def test_backspace_and_repeat_last_command(at):
    at.command("ATE0")
    at.write("AT+CSX\bQ\r")
    assert at.read_until(r"OK\r\n") == "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    at.write("A/\r")
    assert at.read_until(r"OK\r\n") == "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"


def test_s_registers_and_lowercase(at):
    at.command("ATE0")
    assert at.lines("ats0=2") == ["OK"]
    assert at.lines("ATS0?") == ["002", "OK"]
    assert at.lines("at+cgmi") == ["Generic", "OK"]
