"""``python -m modem.simulator``: a real process serving a pty until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from modem.pdu import decode, encode_submit
from modem.simulator.__main__ import build_parser, main
from modem.simulator.wire import RawAtClient


@pytest.mark.slow
def test_cli_serves_the_link_until_sigterm(tmp_path):
    link = tmp_path / "serial" / "by-id" / "usb-SIMCOM_SIM800-if00"
    proc = subprocess.Popen(
        [sys.executable, "-m", "modem.simulator", "--link", str(link), "--profile", "sim800",
         "--latency", "0.1", "--report-delay", "0.1", "--phone", "+573001234567=failed"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == str(link)
        with RawAtClient(str(link)) as at:
            assert at.lines("ATE0")[-1] == "OK"
            assert at.lines("AT+CGMM") == ["SIMCOM_SIM800L", "OK"]
            assert at.lines("AT+CNMI=2,1,0,1,0") == ["OK"]
            pdu = encode_submit("+573001234567", "hola")[0]
            at.prompt(f"AT+CMGS={pdu.tpdu_length}")
            assert at.body(pdu.hex) == "\r\n+CMGS: 0\r\n\r\nOK\r\n"
            at.wait_for("+CDS:")
            assert decode(at.next_line()).status_class == "failed"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not link.exists() and not link.is_symlink()


def test_cli_rejects_a_bad_phone_outcome(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--phone", "+573001234567=maybe"])
    assert exc.value.code == 2
    assert "NUMBER=OUTCOME" in capsys.readouterr().err


def test_cli_rejects_an_unknown_profile(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--profile", "nokia"])
    assert "invalid choice" in capsys.readouterr().err
