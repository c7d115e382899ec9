"""The serial transport opened by URL (pyserial serial_for_url): loop://, plain paths, failures typed."""

from __future__ import annotations

import pytest

from modem.errors import ModemDisconnected
from modem.transport import SerialTransport


def test_loop_url_round_trip_and_reopen():
    t = SerialTransport("loop://", read_timeout=0.05)
    t.open()
    t.write(b"AT\r")
    assert t.read() == b"AT\r"
    assert t.read() == b""                 # timeout, no data
    t.open()                               # reopen the same URL
    assert t.is_open
    t.close()
    t.close()                              # safe twice
    assert not t.is_open


def test_missing_path_is_modem_disconnected(tmp_path):
    t = SerialTransport(str(tmp_path / "no-such-tty"))
    with pytest.raises(ModemDisconnected):
        t.open()
    with pytest.raises(ModemDisconnected):
        t.read()
    with pytest.raises(ModemDisconnected):
        t.write(b"AT\r")


def test_plain_pty_path_and_unplug(tmp_path):
    from modem.simulator import Simulator
    with Simulator("generic", link=tmp_path / "tty", boot_time=0.0) as sim:
        t = SerialTransport(sim.port, read_timeout=0.2)
        t.open()
        t.write(b"AT\r")
        data = b""
        for _ in range(20):
            data += t.read()
            if b"OK" in data:
                break
        assert b"OK" in data
        sim.unplug()
        with pytest.raises(ModemDisconnected):
            for _ in range(20):
                t.read()
                t.write(b"AT\r")
        t.close()
