"""Faults and state changes scripted from the control API while a client talks through the pty."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from modem.pdu import encode_submit
from modem.simulator import Simulator
from modem.simulator.wire import RawAtClient

BOGOTA = timezone(timedelta(hours=-5))


def open_client(sim: Simulator, *init: str) -> RawAtClient:
    at = RawAtClient(sim.port)
    for line in ("ATE0", "AT+CMEE=1", *init):
        assert at.lines(line)[-1] == "OK", line
    return at


# ---------------------------------------------------------------- reboot
@pytest.mark.parametrize("profile", ["sim800", "sim7600", "huawei-e173", "quectel-ec25", "generic"])
def test_reboot_forgets_settings_and_prints_boot_urcs(profile):
    with Simulator(profile, boot_time=0.05) as sim:
        with open_client(sim, "AT+CNMI=2,1,0,1,0", "AT+CREG=2") as at:
            sim.reboot()
            for line in sim.profile.boot_urcs:
                assert at.next_line() == line
            assert at.lines("AT") == ["AT", "OK"]                       # echo is back on
            assert at.lines("AT+CNMI?") == ["AT+CNMI?", "+CNMI: 0,0,0,0,0", "OK"]
            assert at.lines("AT+CREG?") == ["AT+CREG?", "+CREG: 0,1", "OK"]
            assert at.lines("AT+CPIN=1") == ["AT+CPIN=1", "ERROR"]      # CMEE back to 0


def test_atz_restores_saved_settings_and_at_f_factory():
    with Simulator("sim800") as sim:
        with open_client(sim) as at:
            assert at.lines("AT&W") == ["OK"]                 # saved with echo off, CMEE=1
            at.lines("AT+CMEE=0")
            assert at.lines("ATZ") == ["OK"]
            assert at.lines("AT+CMEE?") == ["+CMEE: 1", "OK"]
            at.lines("AT&F")
            assert at.lines("AT") == ["AT", "OK"]


def test_input_during_boot_is_ignored_and_pending_answers_dropped():
    with Simulator("sim800", boot_time=0.3, latency=0.5) as sim:
        with open_client(sim) as at:
            pdu = encode_submit("+573001234567", "perdido")[0]
            at.prompt(f"AT+CMGS={pdu.tpdu_length}")
            at.write(pdu.hex + "\x1a")
            time.sleep(0.05)
            sim.reboot()                        # before the network answered
            at.write("AT\r")                    # ignored: still booting
            assert at.next_line() == "RDY"
            assert "+CMGS" not in at.drain(0.6)
            assert sim.network.submitted == []


def test_cfun_restart_reboots():
    with Simulator("sim800", boot_time=0.05) as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CFUN=1,1") == ["OK"]
            assert at.next_line() == "RDY"


# ---------------------------------------------------------------- hang, garbage
def test_hang_stops_answering_for_a_while():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            sim.hang(0.4)
            at.write("AT+CSQ\r")
            assert at.drain(0.2) == ""
            time.sleep(0.3)
            assert at.lines("AT") == ["OK"]     # the hung command was lost, new ones work


def test_hang_until_unhung():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            sim.hang(None)
            at.write("AT\r")
            assert at.drain(0.3) == ""
            sim.unhang()
            assert at.lines("AT") == ["OK"]


def test_inject_and_urc_reach_the_client_between_answers():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            sim.inject(b"\xff\x00garbage")
            sim.urc('+CMTI: "SM",9')
            assert at.drain(0.1) == '\xff\x00garbage\r\n+CMTI: "SM",9\r\n'


# ---------------------------------------------------------------- SIM PIN
def test_sim_pin_flow_wrong_pin_and_puk():
    with Simulator("sim800", pin="1234", boot_time=0.05) as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]
            assert at.lines("AT+CPMS?") == ["+CME ERROR: 11"]
            assert at.lines("AT+CPIN=1234") == ["OK"]
            assert at.next_line() == "+CPIN: READY"
            assert at.next_line() == "Call Ready"
            assert at.next_line() == "SMS Ready"
            assert at.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]
            sim.reboot()
            assert at.next_line() == "RDY"
            at.drain(0.1)
            at.lines("ATE0")
            at.lines("AT+CMEE=1")
            assert at.lines("AT+CPIN?") == ["+CPIN: SIM PIN", "OK"]       # asks again after a reboot
            assert at.lines('AT+CPIN="0000"') == ["+CME ERROR: 16"]
            assert at.lines('AT+CPIN="0000"') == ["+CME ERROR: 16"]
            assert at.lines('AT+CPIN="0000"') == ["+CME ERROR: 16"]
            assert at.wait_for("+CPIN:") == "+CPIN: SIM PUK"
            assert at.lines("AT+CPIN?") == ["+CPIN: SIM PUK", "OK"]
            assert at.lines("AT+CPIN=1234") == ["+CME ERROR: 16"]          # the PIN no longer helps
            assert at.lines('AT+CMGL=4') == ["+CME ERROR: 12"]
            assert at.lines('AT+CPIN="12345678","4321"') == ["OK"]
            assert at.lines("AT+CPIN?") == ["+CPIN: READY", "OK"]


def test_sms_waits_for_the_pin():
    with Simulator("generic", pin="1234") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,0,0") as at:
            sim.network.phone("+573009998877").send("después del PIN")
            time.sleep(0.2)
            assert sim.storage == [] and sim.network.waiting == 1
            assert at.lines("AT+CPIN=1234") == ["OK"]
            assert at.wait_for("+CMTI:") == '+CMTI: "SM",1'


# ---------------------------------------------------------------- radio
def test_signal_changes_and_huawei_rssi_urc():
    with Simulator("huawei-e173") as sim:
        with open_client(sim) as at:
            sim.set_signal(7)
            assert at.next_line() == "^RSSI:7"
            assert at.lines("AT+CSQ") == ["+CSQ: 7,99", "OK"]
            assert at.lines("AT^CURC=0") == ["OK"]
            sim.set_signal(9)
            assert at.drain(0.1) == ""


@pytest.mark.parametrize("profile, lines", [
    ("sim800", ["+CREG: 2", "+CREG: 1,\"1A2B\",\"00C3D4\""]),
    ("quectel-ec25", ["+CREG: 2", "+CEREG: 2", "+CREG: 1,\"1A2B\",\"00C3D4\",7",
                      "+CEREG: 1,\"2F5A\",\"0A1B2C3D\",7"]),
])
def test_registration_urcs(profile, lines):
    with Simulator(profile) as sim:
        init = ["AT+CREG=2"] + (["AT+CEREG=2"] if sim.profile.supports_cereg else [])
        with open_client(sim, *init) as at:
            sim.set_registration(2)
            sim.set_registration(1)
            seen = [at.next_line() for _ in lines]
            assert sorted(seen) == sorted(lines)
            assert at.lines("AT+COPS?")[0].startswith('+COPS: 0,0,"Claro CO"')


def test_cereg_is_an_error_on_2g_modems():
    with Simulator("sim800") as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CEREG?") == ["ERROR"]


def test_unknown_command_on_huawei_says_command_not_support():
    with Simulator("huawei-e173") as sim:
        with open_client(sim) as at:
            assert at.lines("AT+QCCID") == ["COMMAND NOT SUPPORT"]
            assert at.lines("AT^ICCID?")[0].startswith("^ICCID: 8957")


def test_noise_urcs_from_the_profile():
    with Simulator("huawei-e173", noise_interval=0.05) as sim:
        with RawAtClient(sim.port) as at:
            lines = [at.next_line() for _ in range(4)]
    assert all(line in sim.profile.noise_samples for line in lines)


# ---------------------------------------------------------------- network time
def test_sim800_network_time_needs_clts_saved_and_a_restart():
    when = datetime(2026, 11, 23, 9, 30, 0, tzinfo=BOGOTA)
    with Simulator("sim800", boot_time=0.05) as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CCLK?") == ['+CCLK: "04/01/01,00:00:00+00"', "OK"]
            at.lines("AT+CLTS=1")
            sim.set_network_time(when)
            assert at.drain(0.2) == ""                          # not before AT&W + restart
            at.lines("AT&W")
            sim.reboot()
            urcs = [at.next_line() for _ in range(5 + 3)]
            assert urcs[-3:] == ['*PSUTTZ: 26,11,23,9,30,0,"-20",0', "+CTZV: -20,0", "DST: 0"]
            at.lines("ATE0")
            [cclk, ok] = at.lines("AT+CCLK?")
            assert cclk.startswith('+CCLK: "26/11/23,09:30:0') and cclk.endswith('-20"')


def test_quectel_ctze_and_clock_update():
    when = datetime(2026, 12, 15, 18, 5, 30, tzinfo=BOGOTA)
    with Simulator("quectel-ec25") as sim:
        with open_client(sim, "AT+CTZU=3", "AT+CTZR=2") as at:
            sim.set_network_time(when)
            assert at.next_line() == '+CTZE: "-20",0,"2026/12/15,18:05:30"'
            assert at.lines("AT+CCLK?")[0].startswith('+CCLK: "26/12/15,18:05:3')


def test_cclk_can_be_set():
    with Simulator("generic") as sim:
        with open_client(sim) as at:
            assert at.lines('AT+CCLK="26/11/23,10:00:00-20"') == ["OK"]
            assert at.lines("AT+CCLK?")[0].startswith('+CCLK: "26/11/23,10:00:0')
            assert at.lines('AT+CCLK="bad"') == ["+CME ERROR: 50"]


# ---------------------------------------------------------------- thread safety
def test_control_api_from_other_threads_while_the_client_talks():
    with Simulator("sim800") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,1,0") as at:
            stop = threading.Event()

            def script():
                i = 0
                while not stop.is_set():
                    sim.set_signal(10 + i % 20)
                    sim.network.phone(f"+5730000000{i % 10:02d}")
                    i += 1

            threads = [threading.Thread(target=script) for _ in range(3)]
            for t in threads:
                t.start()
            try:
                for _ in range(50):
                    assert at.lines("AT+CSQ")[-1] == "OK"
            finally:
                stop.set()
                for t in threads:
                    t.join()


def test_noise_inside_a_multi_line_answer():
    with Simulator("huawei-e173", noise_in_responses=True) as sim:
        with open_client(sim, "AT+CNMI=2,1,0,0,0") as at:
            sim.network.phone("+573009998877").send("hola")
            at.wait_for("+CMTI:")
            header, noise, pdu, ok = at.lines("AT+CMGR=1")
            assert header.startswith("+CMGR: 0,,") and noise in sim.profile.noise_samples
            assert pdu.startswith("07") and ok == "OK"
            assert at.lines("AT+CSQ") == ["+CSQ: 20,99", "OK"]


def test_unknown_profile_is_a_typed_error():
    from modem.profiles import UnknownProfileError
    with pytest.raises(UnknownProfileError):
        Simulator("nokia-3310")


def test_sms_arriving_during_a_hang_is_stored_without_indication():
    with Simulator("sim800") as sim:
        with open_client(sim, "AT+CNMI=2,1,0,0,0") as at:
            sim.hang(None)
            sim.network.phone("+573009998877").send("durante el cuelgue")
            deadline = time.monotonic() + 3
            while not sim.storage and time.monotonic() < deadline:
                time.sleep(0.01)
            sim.unhang()
            assert at.drain(0.2) == ""                      # the +CMTI was lost
            listed = at.lines("AT+CMGL=4")                   # a storage sweep finds it
            assert listed[0].startswith("+CMGL: 1,0,,") and listed[-1] == "OK"


def test_radio_back_on_repeats_some_boot_lines_but_not_the_reboot_ones():
    with Simulator("quectel-ec25") as sim:
        with open_client(sim) as at:
            assert at.lines("AT+CFUN=4") == ["OK"]
            assert at.lines("AT+CSQ") == ["+CSQ: 99,99", "OK"]
            assert at.lines("AT+CFUN=1") == ["OK"]
            assert [at.next_line(), at.next_line()] == ["+CFUN: 1", "+CPIN: READY"]
            assert not set(sim.profile.reboot_urcs) & set(at.drain(0.1).split("\r\n"))


def test_huawei_prints_srvst_on_service_changes():
    with Simulator("huawei-e173", service_urcs=True) as sim:
        with open_client(sim) as at:
            sim.set_registration(2)
            assert at.next_line() == "^SRVST: 0"
            sim.set_registration(1)
            assert at.next_line() == "^SRVST: 2"
