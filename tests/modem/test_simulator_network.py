"""The virtual network through the pty: status reports, incoming SMS, storage, USSD."""

from __future__ import annotations

import time

import pytest

from modem.pdu import Deliver, StatusReport, decode, encode_submit
from modem.simulator import Simulator
from modem.simulator.wire import RawAtClient

NUMBER = "+573001234567"


def wait_until(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def open_client(sim: Simulator, *init: str) -> RawAtClient:
    at = RawAtClient(sim.port)
    for line in ("ATE0", "AT+CMEE=1", *init):
        assert at.lines(line)[-1] == "OK", line
    return at


def send(at: RawAtClient, text: str, number: str = NUMBER, **kw) -> list[int]:
    refs = []
    for pdu in encode_submit(number, text, **kw):
        at.prompt(f"AT+CMGS={pdu.tpdu_length}")
        answer = at.body(pdu.hex)
        assert answer.endswith("\r\nOK\r\n"), answer
        refs.append(int(answer.split("+CMGS: ")[1].split("\r")[0]))
    return refs


def read_report_cds(at: RawAtClient, timeout: float = 3.0) -> StatusReport:
    header = at.wait_for("+CDS:", timeout)
    pdu = at.next_line(timeout)
    report = decode(pdu)
    assert isinstance(report, StatusReport)
    assert int(header.split(":")[1]) == len(bytes.fromhex(pdu)) - 1 - bytes.fromhex(pdu)[0]
    return report


# ---------------------------------------------------------------- status reports
@pytest.mark.parametrize("outcome, statuses", [
    ("delivered", [0x00]),
    ("failed", [0x41]),
    ("pending", [0x20, 0x00]),
    ("late", [0x00]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_status_report_per_outcome_as_cds(outcome, statuses):
    with Simulator("sim800", report_delay=0.05) as sim:
        sim.network.late_delay = 0.4
        phone = sim.network.phone(NUMBER)
        phone.outcome = outcome
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            started = time.monotonic()
            [mr] = send(at, "Recordatorio")
            seen = [read_report_cds(at) for _ in statuses]
            assert [r.status for r in seen] == statuses
            assert {r.message_reference for r in seen} == {mr}
            assert {r.recipient for r in seen} == {NUMBER}
            if outcome == "late":
                assert time.monotonic() - started >= 0.35
            assert at.drain(0.2) == ""
        expected_received = [] if outcome == "failed" else ["Recordatorio"]
        assert [r.text for r in phone.received] == expected_received


def test_never_outcome_delivers_but_sends_no_report():
    with Simulator("sim800", report_delay=0.05) as sim:
        phone = sim.network.phone(NUMBER)
        phone.outcome = "never"
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            send(at, "sin informe")
            wait_until(lambda: phone.received)
            assert at.drain(0.3) == ""


def test_report_as_cdsi_is_stored_and_readable():
    with Simulator("quectel-ec25") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,2,0") as at:
            [mr] = send(at, "hola")
            line = at.wait_for("+CDSI:")
            assert line.startswith('+CDSI: "SR",')
            index = int(line.split(",")[1])
            assert at.lines('AT+CPMS="SR"')[0].startswith("+CPMS: 1,255")
            header, pdu, ok = at.lines(f"AT+CMGR={index}")
            assert header.startswith("+CMGR: 0,,") and ok == "OK"
            report = decode(pdu)
            assert (report.message_reference, report.status_class) == (mr, "delivered")
            assert at.lines(f"AT+CMGD={index}") == ["OK"]
            assert at.lines('AT+CPMS?')[0].startswith('+CPMS: "SR",0,255')


@pytest.mark.parametrize("cnmi, srr", [("2,1,0,0,0", True), ("2,1,0,1,0", False)], ids=["ds0", "no-srr"])
def test_no_report_unless_asked_by_cnmi_and_submit(cnmi, srr):
    with Simulator("sim800") as sim:
        with open_client(sim, f"AT+CNMI={cnmi}") as at:
            send(at, "hola", status_report=srr)
            wait_until(lambda: sim.network.phone(NUMBER).received)
            assert at.drain(0.2) == ""


def test_each_part_of_a_multipart_message_gets_its_report():
    with Simulator("sim800", report_delay=0.3) as sim:     # reports after all parts are sent
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            refs = send(at, "z" * 300)
            reports = [read_report_cds(at) for _ in refs]
            assert sorted(r.message_reference for r in reports) == sorted(refs)
        phone = sim.network.phone(NUMBER)
        assert [(r.text, r.parts) for r in phone.received] == [("z" * 300, len(refs))]


# ---------------------------------------------------------------- incoming SMS
def test_incoming_sms_as_cmti_then_cmgr_cmgl_cmgd():
    with Simulator("sim800") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            sim.network.phone("+573009998877").send("SALDO")
            assert at.wait_for("+CMTI:") == '+CMTI: "SM",1'
            header, pdu, _ = at.lines("AT+CMGR=1")
            assert header == f"+CMGR: 0,,{len(bytes.fromhex(pdu)) - 8}"
            message = decode(pdu)
            assert isinstance(message, Deliver)
            assert (message.sender, message.text) == ("+573009998877", "SALDO")
            assert at.lines("AT+CMGR=1")[0].startswith("+CMGR: 1,,")        # now read
            assert at.lines("AT+CMGL=0") == ["OK"]                          # no unread left
            assert at.lines("AT+CMGL=4")[0].startswith("+CMGL: 1,1,,")
            assert at.lines("AT+CMGD=1") == ["OK"]
            assert at.lines("AT+CMGR=1") == ["+CMS ERROR: 321"]
            assert sim.storage == []


def test_incoming_sms_routed_as_cmt_needs_cnma_with_csms_1():
    with Simulator("quectel-ec25") as sim:
        with open_client(sim, "AT+CSMS=1", "AT+CNMI=2,2,0,1,0") as at:
            sim.network.phone("+573009998877").send("BAJA")
            header = at.wait_for("+CMT:")
            pdu = at.next_line()
            assert header == f"+CMT: ,{len(bytes.fromhex(pdu)) - 8}"
            assert decode(pdu).text == "BAJA"
            assert sim.storage == []                         # routed, not stored
            assert at.lines("AT+CNMA") == ["OK"]
            assert at.lines("AT+CNMA") == ["+CMS ERROR: 340"]  # nothing left to acknowledge


def test_unacknowledged_cmt_turns_routing_off_and_comes_back_stored():
    with Simulator("sim800") as sim:
        sim.cnma_timeout = 0.2
        with open_client(sim, "AT+CSMS=1", "AT+CNMI=2,2,0,1,0") as at:
            sim.network.phone("+573009998877").send("sin acuse")
            at.wait_for("+CMT:")
            at.next_line()
            time.sleep(0.4)
            assert at.lines("AT+CNMI?") == ["+CNMI: 2,0,0,0,0", "OK"]     # the modem gave up on the TE
            wait_until(lambda: sim.storage, timeout=3)                     # redelivered, stored silently
            assert decode(sim.storage[0].pdu).text == "sin acuse"
            assert at.lines("AT+CNMA") == ["+CMS ERROR: 340"]


def test_cnmi_mt0_stores_silently():
    with Simulator("generic") as sim:
        with open_client(sim, "AT+CNMI=2,0,0,0,0") as at:
            sim.network.phone("+573009998877").send("silencio")
            wait_until(lambda: sim.storage)
            assert at.drain(0.2) == ""
            assert at.lines("AT+CMGL=4")[-1] == "OK"


def test_multipart_parts_out_of_order_and_dropped():
    with Simulator("sim800") as sim:
        with open_client(sim, "AT+CNMI=2,2,0,0,0") as at:
            text = "".join(f"{i:03d}-" for i in range(120))        # 480 chars: 4 parts
            sim.network.phone("+573009998877").send(text, parts_order=[3, 1, 4, 2], drop_parts=[4])
            got = []
            for _ in range(3):
                at.wait_for("+CMT:")
                got.append(decode(at.next_line()))
            assert at.drain(0.2) == ""
    assert [m.concat.sequence for m in got] == [3, 1, 2]
    assert {m.concat.total for m in got} == {4}
    assert len({m.concat.reference for m in got}) == 1
    by_sequence = {m.concat.sequence: m.text for m in got}
    assert by_sequence[1] + by_sequence[2] + by_sequence[3] == text[:len(by_sequence[1]) * 3]


def test_messages_wait_in_the_network_while_unregistered():
    with Simulator("sim800") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            sim.set_registration(2)
            sim.network.phone("+573009998877").send("espera")
            time.sleep(0.2)
            assert sim.network.waiting == 1 and sim.storage == []
            sim.set_registration(1)
            assert at.wait_for("+CMTI:") == '+CMTI: "SM",1'
            assert sim.network.waiting == 0


# ---------------------------------------------------------------- storage
def test_cpms_reports_counts_and_capacity_of_the_profile():
    with Simulator("huawei-e173") as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CPMS=?") == ['+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")', "OK"]
            assert at.lines("AT+CPMS?") == ['+CPMS: "SM",0,50,"SM",0,50,"SM",0,50', "OK"]
            sim.fill_storage()
            assert at.lines('AT+CPMS="SM","SM","SM"') == ["+CPMS: 50,50,50,50,50,50", "OK"]
            assert at.lines('AT+CPMS="XX"') == ["+CMS ERROR: 302"]


@pytest.mark.parametrize("profile, urc", [
    ("sim800", '+CIEV: "SMSFULL",1'),
    ("huawei-e173", '^SMMEMFULL: "SM"'),
    ("quectel-ec25", '+QIND: "smsfull","ME"'),
])
def test_full_storage_refuses_then_delivers_after_delete(profile, urc):
    with Simulator(profile) as sim:
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            capacity = sim.fill_storage()
            assert capacity == sim.profile.storage_capacity
            sim.network.phone("+573009998877").send("no cabe")
            assert at.wait_for(urc.split(":")[0]) == urc
            assert sim.network.waiting == 1
            assert "+CMTI" not in at.drain(0.2)
            assert at.lines("AT+CMGD=7") == ["OK"]
            assert at.wait_for("+CMTI:") == f'+CMTI: "{sim.profile.storage}",7'
            assert decode(at.lines("AT+CMGR=7")[1]).text == "no cabe"
            assert sim.network.waiting == 0


def test_write_to_full_storage_is_cms_322():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            sim.fill_storage()
            pdu = encode_submit(NUMBER, "borrador")[0]
            at.prompt(f"AT+CMGW={pdu.tpdu_length}")
            assert at.body(pdu.hex) == "\r\n+CMS ERROR: 322\r\n"


def test_cmgw_then_cmss_sends_from_storage():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            pdu = encode_submit(NUMBER, "guardado")[0]
            at.prompt(f"AT+CMGW={pdu.tpdu_length}")
            assert at.body(pdu.hex) == "\r\n+CMGW: 1\r\n\r\nOK\r\n"
            assert at.lines("AT+CMSS=1") == ["+CMSS: 0", "OK"]
            assert [s.text for s in sim.network.submitted] == ["guardado"]


def test_cmgd_delete_flags():
    with Simulator("generic") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,0,0") as at:
            for text in ("uno", "dos", "tres"):
                sim.network.phone("+573009998877").send(text)
                at.wait_for("+CMTI:")
            at.lines("AT+CMGR=2")                          # read one
            assert at.lines("AT+CMGD=1,1") == ["OK"]       # delete read ones
            assert [m.index for m in sim.storage] == [1, 3]
            assert at.lines("AT+CMGD=1,4") == ["OK"]       # delete all
            assert sim.storage == []


# ---------------------------------------------------------------- USSD
@pytest.mark.parametrize("profile", ["sim800", "sim7600", "quectel-ec25", "generic"])
def test_ussd_text_profiles(profile):
    with Simulator(profile) as sim:
        sim.network.ussd["*611#"] = "Su saldo es $1.234"
        with open_client(sim) as at:
            assert at.lines('AT+CUSD=1,"*611#",15') == ["OK"]
            assert at.wait_for("+CUSD:") == '+CUSD: 0,"Su saldo es $1.234",15'
            assert at.lines('AT+CUSD=1,"*999#",15') == ["OK"]
            assert at.wait_for("+CUSD:") == "+CUSD: 4"


def test_ussd_in_ucs2_charset_is_hex_both_ways():
    with Simulator("sim7600") as sim:
        sim.network.ussd["*611#"] = "Señor"
        with open_client(sim, 'AT+CSCS="UCS2"') as at:
            request = "*611#".encode("utf-16-be").hex().upper()
            assert at.lines(f'AT+CUSD=1,"{request}",15') == ["OK"]
            answer = at.wait_for("+CUSD:")
            assert answer == f'+CUSD: 0,"{"Señor".encode("utf-16-be").hex().upper()}",72'


def test_huawei_ussd_is_packed_hex_by_default_and_text_after_ussdmode_0():
    from modem.simulator.handlers.ussd import pack_gsm7, unpack_gsm7
    with Simulator("huawei-e173") as sim:
        sim.network.ussd["*611#"] = "Saldo $1.234"
        with open_client(sim) as at:
            packed = pack_gsm7("*611#").hex().upper()
            assert at.lines('AT+CUSD=1,"*611#",15') == ["+CME ERROR: 100"]   # default ^USSDMODE=1: hex only
            assert at.lines(f'AT+CUSD=1,"{packed}",15') == ["OK"]
            answer = at.wait_for("+CUSD:")
            hex_text = answer.split('"')[1]
            assert answer.endswith(",15") and unpack_gsm7(bytes.fromhex(hex_text)) == "Saldo $1.234"
            assert at.lines("AT^USSDMODE=0") == ["OK"]
            assert at.lines('AT+CUSD=1,"*611#",15') == ["OK"]          # text in, text out
            assert at.wait_for("+CUSD:") == '+CUSD: 0,"Saldo $1.234",15'


def test_the_network_sends_its_time_when_the_host_asks_for_time_updates():
    """A host that connects after the boot-time NITZ still learns the time: enabling +CTZR brings an update."""
    from datetime import datetime, timezone

    with Simulator("generic") as sim:
        sim.set_network_time(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc))
        with open_client(sim) as at:
            assert at.lines("AT+CTZR=1")[-1] == "OK"
            wait_until(lambda: '+CCLK: "26/11/26,' in at.command("AT+CCLK?"))
