"""jsonblocks: blocks of JSON text that concatenate to exactly what json.dumps writes."""

import json
import zlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger.jsonblocks import blocks_length, crc32_blocks, encode_blocks

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | \
    st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=5), max_leaves=40)


def _dumps(value, **kwargs) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), **kwargs).encode("utf-8")


@settings(max_examples=200)
@given(value=_json, depth=st.integers(0, 3), sort_keys=st.booleans(), block_size=st.integers(1, 64))
def test_blocks_concatenate_to_json_dumps(value, depth, sort_keys, block_size):
    blocks = encode_blocks(value, depth=depth, sort_keys=sort_keys, block_size=block_size)
    data = b"".join(blocks)
    assert data == _dumps(value, sort_keys=sort_keys)
    assert blocks_length(blocks) == len(data) and crc32_blocks(blocks) == zlib.crc32(data)


def test_default_hook_encodes_objects_one_at_a_time_and_blocks_stay_near_the_size():
    tables = {"t": {f"k{i}": Decimal(i) for i in range(1000)}, "other": {"ñ": [1, 2]}}
    blocks = encode_blocks(tables, depth=2, default=str, sort_keys=True, block_size=256)
    assert b"".join(blocks) == _dumps(tables, default=str, sort_keys=True)
    assert len(blocks) > 10 and max(len(b) for b in blocks) < 256 + 64


def test_non_string_keys_on_streamed_levels_are_refused():
    with pytest.raises(TypeError):
        encode_blocks({1: "x"}, depth=1)


@settings(max_examples=100)
@given(value=_json)
def test_journal_lines_are_the_same_bytes_whole_or_in_blocks(value):
    from firmware_py.ledger.journal import decode_line, encode_line, encode_line_blocks

    line = encode_line(value)
    assert b"".join(encode_line_blocks(value)) == line
    assert decode_line(line[:-1]) == value
