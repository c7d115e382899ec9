"""``python -m modem.simulator --journal FILE``: one JSON line per accepted SMS-SUBMIT, written before +CMGS is
answered (the dispatch-kill test counts deliveries with it after the sender was SIGKILLed)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from modem.pdu import encode_submit
from modem.simulator import Simulator
from modem.simulator.__main__ import _journal_submissions, build_parser
from modem.simulator.wire import RawAtClient


def test_journal_lines_per_segment_before_the_answer(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Simulator("generic", link=tmp_path / "tty", boot_time=0.05) as sim, open(path, "a") as journal:
        _journal_submissions(sim, journal)
        with RawAtClient(sim.port) as at:
            assert at.lines("ATE0")[-1] == "OK"
            long = encode_submit("+573001234567", "Ñandú " * 40)
            assert len(long) > 1
            for pdu in long + encode_submit("+573009999999", "hola"):
                at.prompt(f"AT+CMGS={pdu.tpdu_length}")
                answer = at.body(pdu.hex)
                mr = int(answer.split("+CMGS:")[1].split()[0])
                last = json.loads(path.read_text().splitlines()[-1])    # already written when +CMGS came
                assert last["mr"] == mr and last["pdu"] == pdu.hex
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    n = len(long)
    assert [line["seq"] for line in lines] == list(range(1, n + 2))
    assert [line["number"] for line in lines] == ["+573001234567"] * n + ["+573009999999"]
    assert "".join(line["text"] for line in lines[:n]) == "Ñandú " * 40
    assert [line["concat"][1:] for line in lines[:n]] == [[n, i] for i in range(1, n + 1)]
    assert lines[n]["concat"] is None and lines[n]["text"] == "hola" and lines[n]["at"]


def test_journal_option_is_parsed():
    assert build_parser().parse_args(["--journal", "x.jsonl"]).journal == "x.jsonl"


@pytest.mark.slow
def test_cli_journal_survives_the_client(tmp_path):
    link, path = tmp_path / "tty", tmp_path / "journal.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "modem.simulator", "--link", str(link), "--journal", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == str(link)
        with RawAtClient(str(link)) as at:
            at.lines("ATE0")
            pdu = encode_submit("+573001234567", "Recordatorio")[0]
            at.prompt(f"AT+CMGS={pdu.tpdu_length}")
            at.body(pdu.hex)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    [line] = [json.loads(x) for x in path.read_text().splitlines()]
    assert (line["number"], line["text"], line["seq"]) == ("+573001234567", "Recordatorio", 1)
