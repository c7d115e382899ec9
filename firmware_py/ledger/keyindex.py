"""A key -> values index that keeps a lone value bare (the ledger's phone -> debtors, debtor -> loans and
loan -> payments indices)."""

from __future__ import annotations

from typing import Iterator, Mapping


class KeyIndex(Mapping[str, tuple[str, ...]]):
    """key -> the tuple of values added under it (a set's semantics: no duplicates, kept in the order added).

    Almost every key has one value (a phone's one debtor, a debtor's one loan): that value is held bare, not in
    a 1-tuple (48 bytes each, tens of thousands of them); reads give tuples all the same."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, str | tuple[str, ...]] = {}  # a bare value, or a tuple of two or more

    def __getitem__(self, key: str) -> tuple[str, ...]:
        values = self._values[key]
        return values if type(values) is tuple else (values,)

    def get(self, key: str, default=None):
        values = self._values.get(key)
        if values is None:
            return default
        return values if type(values) is tuple else (values,)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def add(self, key: str, value: str) -> None:
        """Add ``value`` to the values of ``key`` (nothing if it is there already)."""
        values = self._values.get(key)
        if values is None:
            self._values[key] = value
        elif type(values) is not tuple:
            if values != value:
                self._values[key] = (values, value)
        elif value not in values:
            self._values[key] = values + (value,)

    def discard(self, key: str, value: str) -> None:
        """Remove ``value`` from the values of ``key`` (dropping the key when none is left)."""
        values = self._values.get(key)
        if values is None:
            return
        if type(values) is not tuple:
            if values == value:
                del self._values[key]
            return
        if value in values:
            kept = tuple(v for v in values if v != value)
            self._values[key] = kept[0] if len(kept) == 1 else kept
