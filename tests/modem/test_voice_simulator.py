"""The simulator's calls seen raw on the wire: each modem family's call URCs, the scripts, the commands.

A plain pyserial client types AT commands (no driver of ours), so these tests pin
down exactly what the simulated modems print.
"""

from __future__ import annotations

import time

import pytest
import serial

from modem.simulator import Simulator
from modem.simulator.calls import CallScript

NUMBER = "+573001234567"
ENABLE = ["ATE0", "AT+CLIP=1", "AT+CLCC=1", "AT+MORING=1", "AT+DDET=1", "AT^DSCI=1", "AT+QTONEDET=1"]


class Wire:
    """A raw AT client on the simulator's pty: ``send`` a line, ``lines`` read so far."""

    def __init__(self, sim):
        self.port = serial.Serial(sim.port, timeout=0.05)
        self.buffer = b""

    def send(self, line: str, pause: float = 0.05) -> None:
        self.port.write(line.encode() + b"\r")
        time.sleep(pause)

    def lines(self) -> list[str]:
        self.buffer += self.port.read(65536)
        return [x for x in self.buffer.decode("latin-1").split("\r\n") if x]

    def wait_for(self, text: str, timeout: float = 3.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(text) for line in self.lines()):
                return self.lines()
        raise AssertionError(f"{text!r} never came; got {self.lines()}")

    def clear(self) -> None:
        """Forget everything printed so far."""
        time.sleep(0.05)
        self.lines()
        self.buffer = b""

    def close(self) -> None:
        self.port.close()


@pytest.fixture
def wire_for(tmp_path):
    opened = []

    def make(profile: str):
        sim = Simulator(profile, link=tmp_path / f"tty-{profile}", boot_time=0.01).start()
        sim.network.call_setup_delay = 0.05
        time.sleep(0.05)
        wire = Wire(sim)
        opened.append((sim, wire))
        for line in ENABLE:
            wire.send(line, 0.02)
        wire.clear()
        return sim, wire

    yield make
    for sim, wire in opened:
        wire.close()
        sim.close()


EXPECTED = {   # what an answered call, a key and the far end's hang-up look like
    "sim800": ["OK", '+CLCC: 1,0,2,0,0,"+573001234567",145,""', '+CLCC: 1,0,3,0,0,"+573001234567",145,""',
               "MO RING", '+CLCC: 1,0,0,0,0,"+573001234567",145,""', "MO CONNECTED", "+DTMF: 7",
               '+CLCC: 1,0,6,0,0,"+573001234567",145,""', "NO CARRIER"],
    "sim7600": ["OK", '+CLCC: 1,0,2,0,0,"+573001234567",145', '+CLCC: 1,0,3,0,0,"+573001234567",145',
                '+CLCC: 1,0,0,0,0,"+573001234567",145', "VOICE CALL: BEGIN", "+RXDTMF: 7",
                '+CLCC: 1,0,6,0,0,"+573001234567",145', "VOICE CALL: END: 000000", "NO CARRIER"],
    "huawei-e173": ["OK", "^ORIG:1,0", "^CONF:1", "^CONN:1,0", "^DTMF:1,7", "^CEND:1,0,104,16"],
    "quectel-ec25": ["OK", '+CLCC: 1,0,2,0,0,"+573001234567",145', '^DSCI: 1,0,2,0,"+573001234567",145',
                     '+CLCC: 1,0,3,0,0,"+573001234567",145', '^DSCI: 1,0,3,0,"+573001234567",145',
                     '+CLCC: 1,0,0,0,0,"+573001234567",145', '^DSCI: 1,0,0,0,"+573001234567",145',
                     "+QTONEDET: 55", '+CLCC: 1,0,6,0,0,"+573001234567",145', '^DSCI: 1,0,6,0,"+573001234567",145',
                     "NO CARRIER"],
    "generic": ["OK", '+CLCC: 1,0,2,0,0,"+573001234567",145', '+CLCC: 1,0,3,0,0,"+573001234567",145',
                '+CLCC: 1,0,0,0,0,"+573001234567",145', '+CLCC: 1,0,6,0,0,"+573001234567",145', "NO CARRIER"],
}


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_each_modem_family_announces_a_call_its_own_way(wire_for, profile):
    sim, wire = wire_for(profile)
    sim.network.phone(NUMBER).script = CallScript(answer_after=0.1, digits=(("7", 0.05),), hang_up_after=0.15)
    wire.send(f"ATD{NUMBER};", 0.5)
    assert [x for x in wire.lines() if not x.startswith("^RSSI")] == EXPECTED[profile]
    (record,) = sim.network.phone(NUMBER).calls
    assert record.outcome == "answered" and record.cause == 16 and 0.1 <= record.talk < 0.4


@pytest.mark.parametrize("script, word, cause, ceer", [
    (CallScript(busy=True), "BUSY", 17, "User busy"),
    (CallScript(off=True), "NO CARRIER", 20, "Subscriber absent"),
    (CallScript(reject=True, reject_after=0.05), "NO CARRIER", 21, "Call rejected"),
    (CallScript(no_answer=True), "NO ANSWER", 19, "User alerting, no answer"),
    (CallScript(fail_cause=1), "NO CARRIER", 1, "Unassigned (unallocated) number"),
])
def test_unanswered_calls_end_with_the_result_code_and_ceer_cause(wire_for, script, word, cause, ceer):
    sim, wire = wire_for("sim800")
    sim.network.no_answer_after = 0.2
    sim.network.phone(NUMBER).script = script
    wire.send(f"ATD{NUMBER};", 0.4)
    assert wire.lines()[-1] == word
    wire.send("AT+CEER")
    assert wire.lines()[-2:] == [f"+CEER: {ceer}", "OK"]
    assert sim.network.phone(NUMBER).calls[-1].cause == cause


def test_huawei_cend_carries_the_cause_and_quectel_ceer_its_own_format(wire_for):
    sim, wire = wire_for("huawei-e173")
    sim.network.phone(NUMBER).script = CallScript(busy=True)
    wire.send(f"ATD{NUMBER};", 0.2)
    assert wire.lines()[-1] == "^CEND:1,0,29,17"
    sim2, wire2 = wire_for("quectel-ec25")
    sim2.network.phone(NUMBER).script = CallScript(busy=True)
    wire2.send(f"ATD{NUMBER};", 0.2)
    wire2.send("AT+CEER")
    assert wire2.lines()[-2:] == ['+CEER: "CC INFO","User busy"', "OK"]


def test_our_hang_up_clcc_list_vts_and_connected_call(wire_for):
    sim, wire = wire_for("sim800")
    sim.network.phone(NUMBER).script = CallScript(answer_after=0.05)
    wire.send(f"ATD{NUMBER};", 0.2)
    call = sim.device.connected_call()
    assert call is not None and call.number == NUMBER and call.started <= time.monotonic()
    wire.clear()
    wire.send("AT+CLCC")
    assert wire.lines() == ['+CLCC: 1,0,0,0,0,"+573001234567",145,""', "OK"]
    wire.send("AT+VTS=5")
    assert call.digits_sent == ["5"]
    wire.send("ATH")
    assert sim.device.connected_call() is None and sim.device.calls == []
    assert sim.network.phone(NUMBER).calls[-1].outcome == "answered"
    wire.clear()
    wire.send("AT+VTS=5")
    wire.send("AT+CLCC")
    assert wire.lines() == ["+CME ERROR: 3", "OK"] or wire.lines() == ["ERROR", "OK"]


def test_dial_refusals(wire_for):
    sim, wire = wire_for("generic")
    sim.network.phone(NUMBER).script = CallScript(answer_after=5.0)
    wire.send("AT+CMEE=1")
    wire.send("ATD12345")                      # no ';': a data call
    wire.send(f"ATD{NUMBER};")
    wire.send(f"ATD{NUMBER};")                 # a second call while the first rings
    wire.send("ATH")
    sim.set_registration(0)
    wire.send(f"ATD{NUMBER};")
    wire.send("ATA")                           # nothing to answer
    lines = [x for x in wire.lines() if not x.startswith("+CLCC")]
    assert lines == ["OK", "NO CARRIER", "OK", "+CME ERROR: 3", "OK", "+CME ERROR: 30", "NO CARRIER"]


def test_incoming_call_rings_with_caller_id_until_taken_or_given_up(wire_for):
    sim, wire = wire_for("sim7600")
    sim.network.ring_interval = 0.1
    assert sim.network.call_in("+573009999999", ring_for=0.35)
    lines = wire.wait_for("MISSED_CALL")
    assert lines.count("RING") >= 3 and '+CLIP: "+573009999999",145,"",0,"",0' in lines
    assert sim.network.phone("+573009999999").calls[-1].outcome == "missed"
    wire.clear()
    sim.network.call_in("+573009999999", ring_for=5.0)
    wire.wait_for("RING")
    wire.send("ATA")
    assert sim.device.connected_call().number == "+573009999999"
    assert not sim.network.call_in("+573008888888")          # busy with a call: the second caller is refused
    wire.send("AT+CHUP")
    assert sim.network.phone("+573009999999").calls[-1].outcome == "answered"


def test_a_power_cycle_drops_the_call(wire_for):
    sim, wire = wire_for("quectel-ec25")
    sim.network.phone(NUMBER).script = CallScript(answer_after=0.05)
    wire.send(f"ATD{NUMBER};", 0.2)
    assert sim.device.connected_call() is not None
    sim.reboot()
    assert sim.device.calls == [] and sim.network.phone(NUMBER).calls[-1].outcome == "dropped"


def test_call_scripts_refuse_impossible_keys():
    with pytest.raises(ValueError):
        CallScript(digits=(("x", 1.0),))
    with pytest.raises(ValueError):
        CallScript(digits=(("1", -1.0),))
    assert CallScript(digits=(("#", 0.5),)).digits == (("#", 0.5),)


# python-gsmmodem-new, an independent AT client, dials through the simulator. Its SIM800 support breaks on
# the 8-field +CLCC (its known bug: the poll expects 7 fields), so that profile is left out.
@pytest.mark.slow
@pytest.mark.parametrize("profile", ["huawei-e173", "quectel-ec25", "sim7600", "generic"])
def test_python_gsmmodem_dials_and_sees_the_answer(profile):
    gsmmodem_modem = pytest.importorskip("gsmmodem.modem", reason="python-gsmmodem-new is a test dependency")
    with Simulator(profile, boot_time=0.01) as sim:
        sim.network.call_setup_delay = 0.1
        sim.network.phone(NUMBER).script = CallScript(answer_after=1.0)     # it polls +CLCC every 0.5 s
        client = gsmmodem_modem.GsmModem(sim.port, 115200)
        try:
            client.connect()
            call = client.dial(NUMBER, timeout=5)
            deadline = time.monotonic() + 5
            while not call.answered and time.monotonic() < deadline:
                time.sleep(0.02)
            assert call.answered
            call.hangup()
            deadline = time.monotonic() + 3
            while not sim.network.phone(NUMBER).calls and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            client.close()
        (record,) = sim.network.phone(NUMBER).calls
        assert record.outcome == "answered" and record.rang >= 0.9
