"""``ledger.settings``: key/value settings with defaults, stored durably in the ledger.

``get(key, default=None)`` returns the stored value, else
``scheduler.model.DEFAULT_SETTINGS[key]``, else ``default``. ``set(key,
value)`` and ``update(mapping)`` store JSON values (one fsynced change;
``update`` is atomic). ``all()`` returns an immutable ``Settings``.
Raises ValueError for a value that is not JSON-serialisable or a bad key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from scheduler.model import Settings

if TYPE_CHECKING:  # pragma: no cover
    from firmware_py.ledger.ledger import Ledger


def _check(key: str, value: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > 100:
        raise ValueError(f"setting keys are non-empty strings, got {key!r}")
    try:
        round_trip = json.loads(json.dumps(value))
    except (TypeError, ValueError):
        raise ValueError(f"setting {key}: value is not JSON ({type(value).__name__})") from None
    if round_trip != value:
        raise ValueError(f"setting {key}: value does not survive JSON ({value!r})")


class LedgerSettings:
    """Settings stored in a Ledger (see module docstring)."""

    def __init__(self, ledger: "Ledger"):
        self._ledger = ledger

    def all(self) -> Settings:
        return self._ledger._settings_values()

    def get(self, key: str, default: Any = None) -> Any:
        return self.all().get(key, default)

    def set(self, key: str, value: Any) -> None:
        _check(key, value)
        self._ledger._settings_put({key: value})

    def update(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            _check(key, value)
        self._ledger._settings_put(dict(values))
