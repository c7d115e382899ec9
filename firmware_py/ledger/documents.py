"""Named JSON documents kept durably in the ledger: ``ledger.document_store(name)``.

A ``DocumentStore`` has the two-method seam other packages expect
(``modem.stores.DriverStore``): ``load() -> dict`` and ``save(dict)``. Each
``save`` is one fsynced journal line (cost independent of history), so the
modem driver's report-matching state or the dispatcher's outbox can live in
the ledger instead of in files of their own. ``load`` returns a copy; an
unknown name loads as ``{}``.

``save`` raises ValueError/TypeError for a state that is not a JSON object
and LedgerWriteError when it cannot be made durable (nothing changed then).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from firmware_py.ledger.ledger import Ledger


class DocumentStore:
    """One named JSON object in a Ledger (see module docstring)."""

    def __init__(self, ledger: "Ledger", name: str):
        if not isinstance(name, str) or not name or len(name) > 100:
            raise ValueError(f"document names are non-empty strings, got {name!r}")
        self._ledger = ledger
        self.name = name

    def load(self) -> dict:
        return self._ledger._document_get(self.name)

    def save(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise TypeError(f"a document is a dict, got {type(state).__name__}")
        self._ledger._document_put(self.name, json.loads(json.dumps(state)))
