"""Multipart reassembly (pure): order, duplicates, timeout, durability."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.reassembly import MISSING_PART_MARK, Reassembler

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def add(r, seq, total=3, *, text=None, sender="+573001234567", ref=42, idx=None, now=0.0):
    return r.add(sender=sender, reference=ref, total=total, sequence=seq, text=text or f"<{seq}>",
                 timestamp=T0, sim_index=idx, now=now)


def test_in_order():
    r = Reassembler()
    assert add(r, 1, idx=3) is None
    assert add(r, 2, idx=4) is None
    done = add(r, 3, idx=5)
    assert done.text == "<1><2><3>" and done.complete and done.sim_indexes == (3, 4, 5)
    assert len(r) == 0


def test_same_reference_from_two_senders_kept_apart():
    r = Reassembler()
    add(r, 1, total=2, sender="+571", text="a")
    add(r, 1, total=2, sender="+572", text="x")
    assert add(r, 2, total=2, sender="+572", text="y").text == "xy"
    assert add(r, 2, total=2, sender="+571", text="b").text == "ab"


def test_same_reference_different_total_kept_apart():
    r = Reassembler()
    add(r, 1, total=2, text="a")
    assert add(r, 1, total=1, text="solo").text == "solo"
    assert add(r, 2, total=2, text="b").text == "ab"


def test_duplicate_part_keeps_index():
    r = Reassembler()
    add(r, 1, total=2, idx=7)
    add(r, 1, total=2, idx=None)
    assert add(r, 2, total=2, idx=8).sim_indexes == (7, 8)


def test_timeout_delivers_incomplete_with_gap_mark():
    r = Reassembler(timeout=60)
    add(r, 1, idx=1, now=0)
    add(r, 3, idx=3, now=10)
    assert r.sweep(now=59) == []
    [inc] = r.sweep(now=60)
    assert not inc.complete
    assert inc.text == f"<1>{MISSING_PART_MARK}<3>"
    assert inc.sequences == (1, 3) and inc.sim_indexes == (1, 3)
    assert len(r) == 0


def test_state_round_trip():
    r = Reassembler()
    add(r, 2, idx=9)
    r2 = Reassembler(state=json.loads(json.dumps(r.to_dict())))
    assert r2.known_sim_indexes() == {9}
    add(r2, 1)
    assert add(r2, 3).text == "<1><2><3>"


@pytest.mark.parametrize("seq,total", [(0, 2), (3, 2), (1, 0)])
def test_impossible_parts_rejected(seq, total):
    with pytest.raises(ValueError):
        add(Reassembler(), seq, total=total)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.permutations(range(1, n + 1)))),
       st.lists(st.integers(1, 8), max_size=4))
def test_any_order_any_duplicates_gives_the_text_once(total_perm, dups):
    total, order = total_perm
    r = Reassembler()
    results = []
    seq_stream = list(order[:-1]) + [d for d in dups if d <= total and d in order[:-1]] + [order[-1]]
    for s in seq_stream:
        out = add(r, s, total=total, text=f"p{s};")
        if out:
            results.append(out)
    assert len(results) == 1
    assert results[0].text == "".join(f"p{s};" for s in range(1, total + 1))
    assert len(r) == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(1, n), min_size=1,
                                                                         max_size=n - 1))))
def test_dropped_parts_never_lose_what_arrived(total_got):
    total, got = total_got
    r = Reassembler(timeout=5)
    for s in sorted(got):
        assert add(r, s, total=total, text=f"p{s}", idx=s) is None
    [inc] = r.sweep(now=5)
    assert not inc.complete
    for s in got:
        assert f"p{s}" in inc.text
    assert set(inc.sim_indexes) == got
    assert inc.text.count(MISSING_PART_MARK) == total - len(got)
