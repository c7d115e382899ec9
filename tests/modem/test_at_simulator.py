"""modem.at end to end: the parser talks to modem.simulator over a real pseudo-terminal (pyserial).

Per profile: init commands answer OK, identity commands answer the profile's
strings as bare lines, an SMS submit is one prompt/body/answer transaction,
the status report arrives the way the profile says (+CDS with its PDU body, or
+CDSI in the profile's storage), an incoming SMS is announced with +CMTI, and
injected garbage comes out as Noise without hiding the URC after it.
"""

from __future__ import annotations

import time

import pytest
import serial

from modem.at import AtParser, Noise, Prompt, Response, Urc
from modem.pdu import decode, encode_submit
from modem.profiles import PROFILES
from modem.simulator import Simulator

pytestmark = pytest.mark.slow


class Client:
    """A minimal synchronous AT client over pyserial built on AtParser (what the driver does, minus threads)."""

    def __init__(self, port_path: str, profile: str):
        self.port = serial.Serial(port_path, timeout=0.05)
        self.parser = AtParser(profile)
        self.urcs: list[Urc] = []
        self.noise: list[Noise] = []

    def close(self):
        self.port.close()

    def _events(self):
        for event in self.parser.feed(self.port.read(512)):
            if isinstance(event, Urc):
                self.urcs.append(event)
            elif isinstance(event, Noise):
                self.noise.append(event)
            yield event

    def command(self, line: str, *, body: str | None = None, timeout: float = 10.0) -> Response:
        self.port.write(self.parser.command(line, expect_prompt=body is not None))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self._events():
                if isinstance(event, Prompt):
                    self.port.write(self.parser.body(body))
                elif isinstance(event, Response):
                    return event
        raise AssertionError(f"no answer to {line!r}")

    def wait_urc(self, name: str, timeout: float = 10.0) -> Urc:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for urc in self.urcs:
                if urc.name == name:
                    self.urcs.remove(urc)
                    return urc
            list(self._events())
        raise AssertionError(f"no {name} URC; got {self.urcs}")


@pytest.fixture(params=list(PROFILES), ids=list(PROFILES))
def client(request):
    with Simulator(request.param, boot_time=0.05) as sim:
        c = Client(sim.port, request.param)
        c.sim = sim
        c.profile = PROFILES[request.param]
        try:
            yield c
        finally:
            c.close()


def test_init_identity_submit_report_and_incoming(client):
    profile = client.profile
    assert client.command("AT").ok
    for line in ("ATE0", "AT+CMEE=1", *profile.init_commands):
        response = client.command(line)
        assert response.ok, response
    assert client.command("AT+CGMI").lines == (profile.manufacturer,)
    assert client.command("AT+CGMM").lines == (profile.model,)
    assert client.command("AT+CGMR").lines == (profile.revision,)
    assert client.command("AT+CGSN").lines == (profile.imei,)
    csq = client.command("AT+CSQ")
    assert len(csq.values("+CSQ:")) == 1

    phone = client.sim.network.phone("+573001234567")
    phone.outcome = "delivered"
    pdu = encode_submit("+573001234567", "Hola, su cuota vence mañana", status_report=True)[0]
    sent = client.command(f"AT+CMGS={pdu.tpdu_length}", body=pdu.hex)
    assert sent.ok and len(sent.values("+CMGS:")) == 1
    mr = int(sent.values("+CMGS:")[0])

    report = client.wait_urc(profile.status_report_urc[:-1])
    if profile.status_report_delivery == "cds":
        status = decode(report.body)
    else:
        memory, index = report.value.split(",")
        assert memory.strip('"') == profile.status_report_storage
        if profile.status_report_storage != profile.storage:
            assert client.command(f'AT+CPMS="{profile.status_report_storage}"').ok
        read = client.command(f"AT+CMGR={index}")
        assert read.ok and len(read.lines) == 2
        status = decode(read.lines[1])
    assert status.message_reference == mr and status.status_class == "delivered"

    client.sim.network.phone("+573009999999").send("SALDO")
    cmti = client.wait_urc("+CMTI")
    assert cmti.value.split(",")[0].strip('"') in {profile.storage, "SM", "ME"}

    client.sim.inject(b"\xff\xfe\x00garbage\r\n")
    client.sim.network.phone("+573009999999").send("BAJA")
    client.wait_urc("+CMTI")
    assert any(n.data.startswith(b"\xff\xfe") for n in client.noise)
