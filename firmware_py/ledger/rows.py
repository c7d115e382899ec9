"""Contact events as columns: what the recent window (``recent.py``) and its views (``contactsview.py``) hold.

A row is an event: its instant (UTC microseconds, ``array('q')``) and UTC offset (seconds), one reference per
text field (``SHARED_FIELDS``) into a table of distinct strings, its id (16 raw bytes for a ``uuid4().hex``
id, else a string reference), its schema version and a serial number (the order rows were added to their
window). :meth:`Rows.events` builds ``ContactEvent`` objects from rows, a column at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from operator import itemgetter
from typing import Iterable

from firmware_py.ledger.eventcache import HEX_ID, events_from_columns
from scheduler.model import ContactEvent

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
# fields shared between events (everything but the instant, the id and the schema version)
SHARED_FIELDS = tuple(f.name for f in fields(ContactEvent) if f.name not in ("at", "id", "schema_version"))
# the text columns (indices into ``Rows.texts``)
KIND = SHARED_FIELDS.index("kind")
DEBTOR = SHARED_FIELDS.index("debtor_id")
CONTACT = SHARED_FIELDS.index("contact_id")
DIRECTION = SHARED_FIELDS.index("direction")
CHANNEL = SHARED_FIELDS.index("channel")
NO_RAW_ID = bytes(16)


def micros(at: datetime) -> int:
    """Microseconds since the epoch (UTC) of an aware instant (exact: no floating point)."""
    return (at - EPOCH) // MICROSECOND


class Rows:
    """Contact events as columns (see the module docstring); ``serials`` number the rows in the order they
    were added to their window (never reused: a row's serial identifies it for as long as the window lives)."""

    __slots__ = ("times", "offsets", "texts", "id_refs", "raw_ids", "schemas", "serials")

    def __init__(self) -> None:
        self.times = array("q")
        self.offsets = array("i")
        self.texts = tuple(array("I") for _ in SHARED_FIELDS)
        self.id_refs = array("I")
        self.raw_ids = bytearray()
        self.schemas = array("H")
        self.serials = array("Q")

    def __len__(self) -> int:
        return len(self.times)

    def sliced(self, start: int, stop: int) -> "Rows":
        """A copy of rows ``start:stop``."""
        rows = Rows()
        rows.times, rows.offsets = self.times[start:stop], self.offsets[start:stop]
        rows.texts = tuple(column[start:stop] for column in self.texts)
        rows.id_refs, rows.raw_ids = self.id_refs[start:stop], self.raw_ids[16 * start:16 * stop]
        rows.schemas, rows.serials = self.schemas[start:stop], self.serials[start:stop]
        return rows

    def delete_before(self, stop: int) -> None:
        for column in (self.times, self.offsets, *self.texts, self.id_refs, self.schemas, self.serials):
            del column[:stop]
        del self.raw_ids[:16 * stop]

    def insert(self, index: int, at: int, offset: int, refs: list[int], id_ref: int, raw_id: bytes, schema: int,
               serial: int) -> None:
        """Put a row at ``index`` (``len(self)``: at the end)."""
        if index == len(self.times):
            self.times.append(at)
            self.offsets.append(offset)
            for column, ref in zip(self.texts, refs):
                column.append(ref)
            self.id_refs.append(id_ref)
            self.raw_ids += raw_id
            self.schemas.append(schema)
            self.serials.append(serial)
            return
        self.times.insert(index, at)
        self.offsets.insert(index, offset)
        for column, ref in zip(self.texts, refs):
            column.insert(index, ref)
        self.id_refs.insert(index, id_ref)
        self.raw_ids[16 * index:16 * index] = raw_id
        self.schemas.insert(index, schema)
        self.serials.insert(index, serial)

    def events(self, strings: list[str], rows: Sequence[int]) -> list[ContactEvent]:
        """The events of ``rows`` (indices, in the order given), built a column at a time."""
        count = len(rows)
        if not count:
            return []
        if isinstance(rows, range) and rows.step == 1:
            first, end = rows.start, rows.stop

            def pick(column):
                return column[first:end]
        elif count == 1:
            only = rows[0]

            def pick(column):
                return (column[only],)
        else:
            pick = itemgetter(*rows)
        raw = self.raw_ids
        ids = [raw[16 * i:16 * i + 16].hex() if ref == HEX_ID else strings[ref]
               for i, ref in zip(rows, pick(self.id_refs))]
        return events_from_columns(strings, pick(self.times), pick(self.offsets),
                                   [pick(column) for column in self.texts], ids, pick(self.schemas))


def raw_id(ident: str) -> bytes | None:
    """The 16 bytes of a ``uuid4().hex`` id (lowercase hex), ``None`` for any other id (kept as a string)."""
    if len(ident) != 32:
        return None
    try:
        raw = bytes.fromhex(ident)
    except ValueError:
        return None
    return raw if raw.hex() == ident else None


def matching_rows(rows: Rows, strings: list[str], span: Iterable[int], *, debtor_id: str | None = None,
              kinds: Iterable[str] | None = None, contact_id: str | None = None) -> list[int]:
    """The row indices of ``span`` whose debtor, kind and contact id are those asked (``None``: any)."""
    found = list(span)
    for column, wanted in ((DEBTOR, None if debtor_id is None else {debtor_id}),
                           (CONTACT, None if contact_id is None else {contact_id}),
                           (KIND, None if kinds is None else set(kinds))):
        if wanted is None or not found:
            continue
        refs = rows.texts[column]
        good = {ref for ref in set(refs[i] for i in found) if strings[ref] in wanted}
        found = [i for i in found if refs[i] in good]
    return found
