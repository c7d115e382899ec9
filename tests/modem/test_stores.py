"""DriverStore implementations: same contract, crash safety of the file store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.stores import AtomicJsonFileStore, DriverStore, MemoryStore


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else AtomicJsonFileStore(tmp_path / "sub" / "driver.json")


def test_empty_then_round_trip(store):
    assert isinstance(store, DriverStore)
    assert store.load() == {}
    store.save({"a": [1, 2], "b": {"c": "ñ"}})
    assert store.load() == {"a": [1, 2], "b": {"c": "ñ"}}


def test_later_mutation_does_not_leak(store):
    state = {"x": [1]}
    store.save(state)
    state["x"].append(2)
    assert store.load() == {"x": [1]}


def test_non_json_rejected_and_previous_kept(store):
    store.save({"ok": 1})
    with pytest.raises((TypeError, ValueError)):
        store.save({"bad": object()})
    assert store.load() == {"ok": 1}


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=20),
                       lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                       max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), JSONISH, max_size=5))
def test_file_round_trip_property(tmp_path_factory, state):
    store = AtomicJsonFileStore(tmp_path_factory.mktemp("s") / "d.json")
    store.save(state)
    assert store.load() == state


def test_corrupt_file_moved_aside(tmp_path):
    path = tmp_path / "driver.json"
    path.write_bytes(b'{"half": ')
    store = AtomicJsonFileStore(path)
    assert store.load() == {}
    assert (tmp_path / "driver.json.corrupt-1").read_bytes() == b'{"half": '
    store.save({"n": 1})
    assert store.load() == {"n": 1}


def test_no_temp_files_left(tmp_path):
    store = AtomicJsonFileStore(tmp_path / "d.json")
    for i in range(5):
        store.save({"i": i})
    assert sorted(os.listdir(tmp_path)) == ["d.json"]


@pytest.mark.slow
def test_kill_mid_write_leaves_old_or_new(tmp_path):
    """SIGKILL a writer in a loop: the file always parses as one of the written states."""
    path = tmp_path / "d.json"
    code = ("import sys; from modem.stores import AtomicJsonFileStore as S; s=S(sys.argv[1]); i=0\n"
            "while True:\n i+=1; s.save({'i': i, 'pad': 'x'*20000})\n")
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)])
        try:
            proc.wait(timeout=0.15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if path.exists():
            state = json.loads(path.read_text())
            assert state["pad"] == "x" * 20000
