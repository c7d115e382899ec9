"""Schema migrations for stored documents: code, not hand edits.

Every stored document carries ``schema_version``; a document without it is
version 0 (written before versioning existed). ``migrate(kind, doc)`` returns
a *new* dict upgraded step by step to ``scheduler.model.SCHEMA_VERSION``; the
input is never modified. Migrations run whenever a document is decoded (from
the snapshot, the journal or a contact-log partition), so old files keep
loading forever; the next snapshot stores them upgraded.

Version 0 -> 1 (the shapes the first prototype wrote):
- debtor: a single ``phone`` string (or ``phones`` as plain strings) becomes
  ``phones`` of objects (personal, SMS only).
- loan: instalment ``paid`` becomes ``paid_amount``; numeric money becomes
  decimal strings.
- payment / promise: numeric money becomes decimal strings; a stored
  promise ``kept`` flag is dropped (kept/broken is evaluated from payments).
- contact: ``timestamp`` becomes ``at`` and ``status`` becomes ``kind``.

Raises :class:`MigrationError` (ValueError) for a version newer than this
code knows (data written by a newer Cobrador) or a negative/garbled one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

from scheduler.model import SCHEMA_VERSION


class MigrationError(ValueError):
    """A document's schema_version cannot be migrated by this code.

    ``too_new`` is True when the version is newer than this code knows.
    """

    def __init__(self, message: str, *, too_new: bool = False):
        super().__init__(message)
        self.too_new = too_new


def _money(value):
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _phone_from_legacy(value):
    if isinstance(value, str):
        return {"number": value.strip(), "personal": True, "channels": ["sms"], "opted_out": False}
    return value


def _debtor_0_to_1(doc: dict) -> dict:
    phones = doc.pop("phones", None)
    legacy = doc.pop("phone", None)
    result = [] if phones is None else [_phone_from_legacy(p) for p in phones]
    if legacy:
        numbers = {p.get("number") for p in result if isinstance(p, dict)}
        if legacy.strip() not in numbers:
            result.insert(0, _phone_from_legacy(legacy))
    doc["phones"] = result
    return doc


def _loan_0_to_1(doc: dict) -> dict:
    instalments = []
    for item in doc.get("instalments", ()):
        item = dict(item)
        if "paid" in item and "paid_amount" not in item:
            item["paid_amount"] = item.pop("paid")
        for key in ("amount", "paid_amount"):
            if key in item:
                item[key] = _money(item[key])
        instalments.append(item)
    doc["instalments"] = instalments
    return doc


def _payment_0_to_1(doc: dict) -> dict:
    if "amount" in doc:
        doc["amount"] = _money(doc["amount"])
    return doc


def _promise_0_to_1(doc: dict) -> dict:
    doc.pop("kept", None)
    if "amount" in doc:
        doc["amount"] = _money(doc["amount"])
    return doc


def _contact_0_to_1(doc: dict) -> dict:
    if "at" not in doc and "timestamp" in doc:
        doc["at"] = doc.pop("timestamp")
    if "kind" not in doc and "status" in doc:
        doc["kind"] = doc.pop("status")
    return doc


# kind -> {from_version: step}; each step upgrades by exactly one version.
STEPS: dict[str, dict[int, Callable[[dict], dict]]] = {
    "debtor": {0: _debtor_0_to_1},
    "loan": {0: _loan_0_to_1},
    "payment": {0: _payment_0_to_1},
    "promise": {0: _promise_0_to_1},
    "contact": {0: _contact_0_to_1},
}


def version_of(doc: dict) -> int:
    """The document's schema version (0 when absent)."""
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise MigrationError(f"invalid schema_version {version!r}")
    return version


def migrate(kind: str, doc: dict) -> dict:
    """A copy of ``doc`` upgraded to the current schema (see module docstring)."""
    version = version_of(doc)
    if version > SCHEMA_VERSION:
        raise MigrationError(
            f"{kind} has schema_version {version}, newer than this program ({SCHEMA_VERSION})", too_new=True
        )
    if version == SCHEMA_VERSION:
        return doc
    doc = dict(doc)
    steps = STEPS.get(kind, {})
    while version < SCHEMA_VERSION:
        step = steps.get(version)
        if step is not None:
            doc = step(doc)
        version += 1
        doc["schema_version"] = version
    return doc
