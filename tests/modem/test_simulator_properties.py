"""Properties of the AT interpreter, driven without a pty through a recording host.

- the same input gives the same output however it is chunked;
- no input, however wrong, makes the interpreter raise or stop answering;
- everything the simulator prints is classified by our own sans-I/O parser
  (modem.at) as responses and URCs - never as noise - for every profile.
"""

from __future__ import annotations

import heapq
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.at import AtParser, Noise, Prompt, Response
from modem.pdu import encode_submit
from modem.profiles import PROFILES
from modem.simulator.device import Device
from modem.simulator.network import VirtualNetwork
from modem.simulator.persona import persona_for


class RecordingHost:
    """A real host for one Device: output in a buffer, timers on a virtual clock run by :meth:`advance`."""

    def __init__(self, profile: str):
        import threading
        self.lock = threading.RLock()
        self.out = bytearray()
        self.clock = 0.0
        self._timers: list = []
        self._seq = itertools.count()
        self.network = VirtualNetwork(self, report_delay=0.0)
        self.device = Device(persona_for(profile), self, smsc=self.network.smsc)

    def emit(self, data: bytes) -> None:
        self.out += data

    def call_later(self, delay, fn, *args) -> None:
        heapq.heappush(self._timers, (self.clock + delay, next(self._seq), fn, args))

    def restart_modem(self) -> None:
        self.device.boot()

    def advance(self, seconds: float = 10.0) -> None:
        until = self.clock + seconds
        while self._timers and self._timers[0][0] <= until:
            due, _, fn, args = heapq.heappop(self._timers)
            self.clock = max(self.clock, due)
            fn(*args)
        self.clock = until

    def take(self) -> bytes:
        out, self.out = bytes(self.out), bytearray()
        return out


SUBMIT = encode_submit("+573001234567", "Cuota vence hoy")[0]
COMMANDS = [
    b"AT\r", b"ATE0\r", b"ATE1\r", b"AT+CSQ\r", b"AT+CREG?\r", b"ATI\r", b"AT+CMGF=0\r", b"AT+CPMS?\r",
    b"AT+CNMI=2,1,0,1,0\r", b"AT+CNMI?\r", b"AT+FOO=1\r", b"AT+CMEE=2\r", b"AT+CMEE=1\r", b"garbage\r",
    b"AT+CSQ;+CGMI\r\n", b"AT+CMGL=4\r", b"AT+CPIN?\r", b"AT+COPS?\r", b"AT+CLAC\r",
    f"AT+CMGS={SUBMIT.tpdu_length}\r".encode() + SUBMIT.hex.encode() + b"\x1a",
    f"AT+CMGS={SUBMIT.tpdu_length}\r".encode() + b"00" + b"\x1b",
]


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points + [len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=12),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=20),
       profile=st.sampled_from(sorted(PROFILES)))
def test_output_does_not_depend_on_chunking(script, cuts, profile):
    data = b"".join(script)
    whole = RecordingHost(profile)
    whole.device.feed(data)
    pieces = RecordingHost(profile)
    for piece in chunked(data, cuts):
        pieces.device.feed(piece)
    assert pieces.take() == whole.take()


@settings(max_examples=200, deadline=None)
@given(junk=st.binary(max_size=300), profile=st.sampled_from(sorted(PROFILES)))
def test_no_input_breaks_the_interpreter(junk, profile):
    host = RecordingHost(profile)
    host.device.feed(junk)
    host.advance(30)
    host.device.feed(b"\x1b\r")            # leave a half-typed SMS body, if the junk opened one
    host.advance(30)
    host.take()
    host.device.feed(b"AT\r")
    assert host.take().endswith(b"\r\nOK\r\n")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(st.sampled_from([
    ("AT+CSQ", False), ("AT+CREG?", False), ("AT+CGMI", False), ("AT+CGSN", False), ("ATI", False),
    ("AT+CPMS?", False), ("AT+CNMI=2,1,0,1,0", False), ("AT+CNMI=2,2,0,1,0", False), ("AT+CMGL=4", False),
    ("AT+CMGR=1", False), ("AT+NOPE", False), ("AT+CMEE=2", False), ("AT+CCLK?", False),
    ("AT+COPS?", False), ("AT+CPIN?", False), (f"AT+CMGS={SUBMIT.tpdu_length}", True),
    ("INCOMING", False), ("INCOMING-LONG", False),
]), min_size=1, max_size=10), profile=st.sampled_from(sorted(PROFILES)),
       echo=st.booleans())
def test_our_parser_understands_everything_the_simulator_prints(script, profile, echo):
    host = RecordingHost(profile)
    parser = AtParser(PROFILES[profile])
    events = []

    def run(line: str, prompt: bool) -> None:
        host.device.feed(parser.command(line, expect_prompt=prompt))
        new = parser.feed(host.take())
        if prompt:
            assert isinstance(new[-1], Prompt)
            host.device.feed(parser.body(SUBMIT.hex))
            host.advance(1)
            new += parser.feed(host.take())
        assert [e.command for e in new if isinstance(e, Response)] == [line], new
        events.extend(new)

    run("ATE1" if echo else "ATE0", False)
    run("AT+CMEE=1", False)
    for line, prompt in script:
        if line.startswith("INCOMING"):
            host.network.send_from_phone("+573009998877", "SALDO" * (60 if line.endswith("LONG") else 1),
                                         None, ())
            host.advance(1)
            events.extend(parser.feed(host.take()))
            continue
        run(line, prompt)
    host.advance(10)                       # status reports and the rest
    events.extend(parser.feed(host.take()))
    assert [e for e in events if isinstance(e, Noise)] == []


EXPECTED_STATUSES = {"delivered": [0x00], "failed": [0x41], "late": [0x00], "never": [], "pending": [0x20, 0x00]}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcome=st.sampled_from(sorted(EXPECTED_STATUSES)), parts=st.integers(1, 3), srr=st.booleans(),
       ds=st.sampled_from([0, 1, 2]), profile=st.sampled_from(sorted(PROFILES)), first_mr=st.integers(250, 255))
def test_reports_follow_the_outcome_for_every_part(outcome, parts, srr, ds, profile, first_mr):
    from modem.pdu import decode as decode_pdu
    host = RecordingHost(profile)
    host.network.late_delay = 5.0
    phone = host.network.phone("+573001234567")
    phone.outcome = outcome
    host.device.next_mr = first_mr
    host.device.feed(f"ATE0\rAT+CNMI=2,1,0,{ds},0\r".encode())
    text = "x" * (153 * (parts - 1) + 10)
    pdus = encode_submit("+573001234567", text, status_report=srr)
    assert len(pdus) == parts
    for pdu in pdus:
        host.device.feed(f"AT+CMGS={pdu.tpdu_length}\r{pdu.hex}\x1a".encode())
    host.take()
    host.advance(60)
    out = host.take().decode("latin-1").split("\r\n")
    reports = []
    for i, line in enumerate(out):
        if line.startswith("+CDS:"):
            reports.append(decode_pdu(out[i + 1]))
        elif line.startswith("+CDSI:"):
            memory, index = line.split(": ")[1].split(",")
            reports.append(decode_pdu(host.device.stores[memory.strip('"')].get(int(index)).pdu))
    mrs = [(first_mr + i) % 256 for i in range(parts)]
    expected = EXPECTED_STATUSES[outcome] if srr and ds else []
    assert sorted((r.message_reference, r.status) for r in reports) == sorted(
        (mr, status) for mr in mrs for status in expected)
    assert [(r.text, r.parts) for r in phone.received] == ([] if outcome == "failed" else [(text, parts)])
