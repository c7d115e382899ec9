"""Snapshot bodies written one record per line: still plain JSON, read a record at a time,
and old single-line snapshots still open."""

from __future__ import annotations

import json
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger import Ledger
from firmware_py.ledger.jsonblocks import encode_blocks
from firmware_py.ledger.storage import SNAPSHOT_FORMAT, SNAPSHOT_VERSION, decode_snapshot, encode_snapshot
from ledger_factories import portfolio
from scheduler.model import Loan

_docs = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=3), max_leaves=12)
_tables = st.dictionaries(st.text(max_size=6), st.dictionaries(st.text(max_size=6), _docs, max_size=5), max_size=4)


def _body(data: bytes) -> bytes:
    return data.split(b"\n", 1)[1][:-1]


def _single_line_snapshot(tables: dict, seq: int) -> bytes:
    """The format written before bodies were line-framed."""
    body = json.dumps(tables, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    header = {"format": SNAPSHOT_FORMAT, "version": SNAPSHOT_VERSION, "seq": seq, "length": len(body),
              "crc32": zlib.crc32(body)}
    return json.dumps(header).encode("ascii") + b"\n" + body + b"\n"


@settings(max_examples=200)
@given(tables=_tables)
def test_line_framed_body_is_plain_json_and_reads_back_record_by_record(tables):
    data = encode_snapshot(tables, 7)
    assert json.loads(_body(data)) == tables  # any JSON reader (older Cobrador included) reads it
    seen = []

    def convert(table, key, doc):
        seen.append((table, key))
        return ("converted", doc)

    decoded, seq = decode_snapshot(data, convert=convert)
    assert seq == 7
    assert decoded == {name: {k: ("converted", v) for k, v in t.items()} for name, t in tables.items()}
    assert sorted(seen) == sorted((name, k) for name, t in tables.items() for k in t)
    assert decode_snapshot(data) == (tables, 7)


@settings(max_examples=100)
@given(tables=_tables)
def test_single_line_snapshots_still_read_with_the_same_conversion(tables):
    data = _single_line_snapshot(tables, 3)
    decoded, seq = decode_snapshot(data, convert=lambda table, key, doc: [doc])
    assert seq == 3 and decoded == {name: {k: [v] for k, v in t.items()} for name, t in tables.items()}


def test_tables_that_are_not_all_objects_are_written_on_one_line():
    tables = {"debtors": {"d": [1, 2]}, "damaged": 3}
    data = encode_snapshot(tables, 1)
    assert _body(data) == b"".join(encode_blocks(tables, depth=2, sort_keys=True))
    assert decode_snapshot(data) == (tables, 1)


def test_a_ledger_saved_before_line_framing_opens_with_every_record(tmp_path):
    debtors, loans = portfolio(20)
    with Ledger.open(tmp_path) as ledger:
        ledger.import_batch(debtors, loans, source="test")
        ledger.compact()
        expected = ledger.snapshot()
    state = tmp_path / "ledger" / "state.json"
    tables, seq = decode_snapshot(state.read_bytes())
    state.write_bytes(_single_line_snapshot(tables, seq))
    with Ledger.open(tmp_path) as ledger:
        assert ledger.snapshot().loans == expected.loans and ledger.snapshot().debtors == expected.debtors
        assert ledger.stats()["quarantined"] == 0


def test_loans_are_decoded_while_the_snapshot_is_read_and_bad_ones_still_quarantined(tmp_path):
    debtors, loans = portfolio(5)
    with Ledger.open(tmp_path) as ledger:
        ledger.import_batch(debtors, loans, source="test")
        ledger.compact()
    state = tmp_path / "ledger" / "state.json"
    tables, seq = decode_snapshot(state.read_bytes())
    bad_key = sorted(tables["loans"])[0]
    tables["loans"][bad_key]["instalments"][0]["amount"] = "-5"  # current schema, invalid value
    state.write_bytes(encode_snapshot(tables, seq))
    hooked = []
    decode_snapshot(state.read_bytes(), convert=lambda t, k, d: hooked.append(t) or d)
    assert hooked.count("loans") == len(loans)
    with Ledger.open(tmp_path) as ledger:
        assert ledger.loan(bad_key) is None and ledger.stats()["quarantined"] == 1
        assert all(isinstance(ledger.loan(k), Loan) for k in tables["loans"] if k != bad_key)
        assert len(ledger.loans()) == len(loans) - 1
