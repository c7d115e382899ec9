"""PDUs captured on live networks and published in open-source test corpora, decoded by us exactly as their
source asserts — or cleanly rejected (``PduError``) where the source expects an error.

Each file under tests/modem/vectors/ names its source (repository, path, commit) and each vector the test
function it comes from; the expected fields are that function's own assertions, transcribed. Python-gsmmodem's
captures are in test_pdu_vectors.py.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from modem.errors import PduError
from modem.pdu import Deliver, StatusReport, Submit, decode

VECTORS = Path(__file__).with_name("vectors")
TYPES = {"deliver": Deliver, "submit": Submit, "status_report": StatusReport}


def load():
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        source = doc["source"]
        assert source["repository"] and source["path"], f"{path.name}: every corpus names its source"
        for vector in doc["vectors"]:
            yield pytest.param(source, vector, id=f"{path.stem}:{vector['id']}")


CASES = list(load())


def test_the_corpus_is_there():
    assert len(CASES) >= 15


@pytest.mark.parametrize("source, vector", CASES)
def test_captured_pdu_decodes_as_its_source_says(source, vector):
    where = f"{vector['id']} from {source['repository']}/{source['path']}"
    if vector.get("reject"):
        with pytest.raises(PduError):
            decode(vector["hex"])
        return
    expect = vector["expect"]
    message = decode(vector["hex"])
    assert isinstance(message, TYPES[expect["type"]]), f"{where}: {message!r}"
    if expect["smsc"] is not None:
        assert message.smsc == expect["smsc"], where
    if expect["number"] is not None:
        number = {Deliver: "sender", Submit: "number", StatusReport: "recipient"}[type(message)]
        assert getattr(message, number) == expect["number"], where
    if expect["timestamp"] is not None:
        stamp = message.service_centre_time if isinstance(message, StatusReport) else message.timestamp
        assert stamp == datetime.fromisoformat(expect["timestamp"]), f"{where}: {stamp}"
        assert stamp.utcoffset() == datetime.fromisoformat(expect["timestamp"]).utcoffset(), where
    if expect["text"] is not None:
        assert message.text == expect["text"], where
    if expect["data"] is not None:
        assert message.encoding == "8bit" and message.data == bytes.fromhex(expect["data"]), f"{where}: {message!r}"
    if not isinstance(message, StatusReport):
        assert (message.concat is not None) == expect["multipart"], f"{where}: concat {message.concat}"
