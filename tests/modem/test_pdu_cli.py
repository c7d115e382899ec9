"""The ``python -m modem.pdu`` command line, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from modem.pdu import decode, encode_deliver, encode_status_report

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 23, 9, 15, 30, tzinfo=timezone(timedelta(hours=-5)))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modem.pdu", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_decode_status_report():
    hex_ = encode_status_report(42, "+573001234567", T0, T0 + timedelta(minutes=2), 0x21).hex
    result = run("decode", hex_)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["type"] == "status-report"
    assert (out["number"], out["mr"], out["status"], out["status_class"]) == ("+573001234567", 42, 0x21, "pending")
    assert out["timestamp"] == "2026-11-23T09:17:30-05:00"
    assert out["text"] is None and out["udh"] is None


def test_decode_multipart_deliver_without_smsc():
    parts = encode_deliver("+573001234567", "¿Pagó? " * 30, T0, reference=300, reference_bits=16, smsc=None)
    result = run("decode", parts[1].hex[2:], "--no-smsc")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["type"] == "deliver" and out["number"] == "+573001234567"
    assert out["udh"] == {"ref": 300, "total": len(parts), "seq": 2, "bits": 16}
    assert out["timestamp"] == "2026-11-23T09:15:30-05:00"
    assert out["mr"] is None and out["status"] is None and out["status_class"] is None
    assert out["text"] == decode(parts[1].hex).text


def test_encode_prints_one_line_per_part_and_they_decode():
    result = run("encode", "--to", "+573001234567", "--no-report", "--transliterate", "Señor Núñez " * 20)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert len(lines) == 2
    messages = [decode(line) for line in lines]
    assert all(m.encoding == "gsm7" and not m.status_report for m in messages)
    assert "".join(m.text for m in messages) == "Señor Nuñez " * 20
    decoded_submit = json.loads(run("decode", lines[0]).stdout)
    assert decoded_submit["type"] == "submit" and decoded_submit["mr"] == 0


def test_plan_prints_json():
    result = run("plan", "--transliterate", "Cuota vencida – pagó")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"encoding": "gsm7", "segments": 1, "chars_left": 140, "units": 20,
                                         "text": "Cuota vencida - pago"}


@pytest.mark.parametrize("args", [
    ("decode", "0G"), ("decode", "00"), ("decode", "123"), ("encode", "--to", "no-number", "hola"),
    ("encode", "hola"), ("bogus",), ("decode",),
], ids=" ".join)
def test_bad_input_exits_non_zero_with_one_line(args):
    result = run(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_encode_options_reach_the_pdu():
    result = run("encode", "--to", "3001234567", "--reference", "4660", "--reference-bits", "16",
                 "--validity-minutes", "1440", "x" * 200)
    assert result.returncode == 0, result.stderr
    messages = [decode(line) for line in result.stdout.split()]
    assert [m.concat.reference for m in messages] == [4660, 4660]
    assert all(m.concat.bits == 16 and m.validity == timedelta(days=1) and m.status_report for m in messages)
    assert messages[0].number == "3001234567"


def test_plan_of_empty_text():
    result = run("plan", "")
    assert json.loads(result.stdout) == {"encoding": "gsm7", "segments": 1, "chars_left": 160, "units": 0,
                                         "text": ""}
