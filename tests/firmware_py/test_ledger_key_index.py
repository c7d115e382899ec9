"""``firmware_py.ledger.keyindex.KeyIndex``: the ledger's key -> keys indices (a phone's debtors, a debtor's loans,
a loan's payments) read as tuples whatever is held; a single value is held bare."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_py.ledger.keyindex import KeyIndex

_KEYS = st.sampled_from(["+573001", "+573002", "d-1"])
_VALUES = st.sampled_from(["a", "b", "c", "ab"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _KEYS, _VALUES), max_size=30))
def test_reads_as_a_dict_of_tuples_in_the_order_added(operations):
    index, model = KeyIndex(), {}
    for add, key, value in operations:
        if add:
            index.add(key, value)
            values = model.setdefault(key, [])
            if value not in values:
                values.append(value)
        else:
            index.discard(key, value)
            if value in model.get(key, []):
                model[key].remove(value)
                if not model[key]:
                    del model[key]
        expected = {key: tuple(values) for key, values in model.items()}
        assert dict(index) == expected
        assert len(index) == len(expected) and set(index) == set(expected)
        for key in ("+573001", "+573002", "d-1", "missing"):
            assert (key in index) == (key in expected)
            assert index.get(key, ()) == expected.get(key, ())
            assert index.get(key) == expected.get(key)
            if key in expected:
                assert index[key] == expected[key]
                assert all(type(value) is str for value in index[key])  # never the characters of a bare value


def test_one_value_is_held_bare():
    index = KeyIndex()
    index.add("+573001", "debtor-1")
    assert index._values == {"+573001": "debtor-1"}
    index.add("+573001", "debtor-2")
    index.discard("+573001", "debtor-1")
    assert index._values == {"+573001": "debtor-2"} and index["+573001"] == ("debtor-2",)
