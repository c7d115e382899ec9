"""A month partition's contact events in a binary form that loads without parsing JSON (a cache).

Filling the recent-history window (``recent.py``) from the partitions parses
and validates every JSON line of several months (100k events: seconds on a
Pi, before the appliance is ready). ``contacts/YYYY-MM.events`` holds the
events decoded from the first ``partition_size`` bytes of ``YYYY-MM.jsonl``
as columns:

- a header line (JSON): format, version, byte order, ``partition_size``,
  ``fingerprint`` (``ContactLog.fingerprint``: CRC-32 of the last 64 KiB of
  those bytes, so a partition replaced by another is noticed), ``rows``, and
  the length of the body and a CRC-32 of those numbers and the body;
- the body: the distinct strings as one JSON list, then the columns, each
  ``rows`` long: the instant (UTC microseconds, ``q``), its UTC offset in
  seconds (``i``), one string index per text field (``I``), the id (a string
  index, or ``HEX_ID`` and 16 bytes for a ``uuid4().hex`` id) and the schema
  version (``H``).

Rows are in the order ``recent.RecentContacts`` keeps events (time order, file
order among equal instants). Decoding checks what ``ContactEvent``'s constructor
checks once per distinct value (kind, channel, direction, UTC offset), not once
per event, then builds the events without repeating those checks.

It is only a cache: the partition stays the record. It is written with
``storage.atomic_write`` (a power cut leaves the old file or the new one); a
missing, damaged or foreign (other byte order or version) cache raises
``CacheUnreadable``; one covering more bytes than the partition holds or with
another fingerprint is ignored by the ledger; then the partition is read. Events appended after the cache was written
are read from the partition's bytes after ``partition_size``.
"""

from __future__ import annotations

import functools
import json
import sys
import zlib
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from scheduler.fastbuild import frozen_builder
from scheduler.model import CONTACT_CHANNELS, CONTACT_DIRECTIONS, CONTACT_KINDS, ContactEvent

_new_event = frozen_builder(ContactEvent, checked_by_caller=True)
"""``ContactEvent(...)`` without its per-event checks: :func:`check_values` made them once per distinct value."""

FORMAT = "cobrador-contact-events"
VERSION = 1
SUFFIX = ".events"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_SECOND = timedelta(seconds=1)
FIELDS = ("debtor_id", "kind", "channel", "direction", "phone", "contact_id", "loan_external_id", "text",
          "detail", "reference")
_INTERNED = {0, 4}  # debtor_id, phone: the same objects as the ledger's debtor records
HEX_ID = 0xFFFFFFFF


class CacheUnreadable(Exception):
    """The cache cannot be used (the message says why): read the partition instead."""


def _offset_seconds(at: datetime) -> int | None:
    offset = at.utcoffset()
    seconds = offset // _SECOND
    return seconds if timedelta(seconds=seconds) == offset else None


def encode(events: list[ContactEvent], partition_size: int, fingerprint: int) -> bytes:
    """The cache file's bytes for ``events`` (those of the partition's first ``partition_size`` bytes, whose
    ``ContactLog.fingerprint`` is ``fingerprint``).

    Raises ValueError for an event this format cannot hold exactly (a sub-second UTC offset)."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def ref(value: str) -> int:
        found = index.get(value)
        if found is None:
            found = index[value] = len(strings)
            strings.append(value)
        return found

    times, offsets = array("q"), array("i")
    columns = [array("I") for _ in FIELDS]
    id_refs, ids, schemas = array("I"), bytearray(), array("H")
    for event in events:
        offset = _offset_seconds(event.at)
        if offset is None:
            raise ValueError("sub-second UTC offset")
        times.append((event.at - _EPOCH) // _MICROSECOND)
        offsets.append(offset)
        for column, name in zip(columns, FIELDS):
            column.append(ref(getattr(event, name)))
        ident = event.id
        raw = None
        if len(ident) == 32:
            try:
                raw = bytes.fromhex(ident)
            except ValueError:
                raw = None
            if raw is not None and raw.hex() != ident:
                raw = None
        if raw is None:
            id_refs.append(ref(ident))
            ids += bytes(16)
        else:
            id_refs.append(HEX_ID)
            ids += raw
        schemas.append(event.schema_version)
    return encode_columns(Columns(strings, times, offsets, tuple(columns), id_refs, bytes(ids), schemas),
                          partition_size, fingerprint)


def encode_columns(columns: "Columns", partition_size: int, fingerprint: int) -> bytes:
    """:func:`encode` of rows already in columns (``RecentContacts.month_columns``: no events built)."""
    text = json.dumps(columns.strings, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    times = columns.times
    body = [text, times.tobytes(), columns.offsets.tobytes(), *(c.tobytes() for c in columns.texts),
            columns.id_refs.tobytes(), bytes(columns.ids), columns.schemas.tobytes()]
    crc = _header_crc(partition_size, fingerprint, len(times), len(text))
    for part in body:
        crc = zlib.crc32(part, crc)
    header = {"format": FORMAT, "version": VERSION, "byteorder": sys.byteorder, "partition_size": partition_size,
              "fingerprint": fingerprint, "rows": len(times), "strings_length": len(text), "length": sum(len(p) for p in body), "crc32": crc}
    return json.dumps(header).encode("ascii") + b"\n" + b"".join(body)


def _header_crc(partition_size: int, fingerprint: int, rows: int, strings_length: int) -> int:
    """The checksum starts with the header's numbers: a damaged header is refused like a damaged body."""
    return zlib.crc32(f"{partition_size},{fingerprint},{rows},{strings_length}".encode("ascii"))


def _intern(value: str, interned: bool) -> str:
    return sys.intern(value) if interned else value


@dataclass(frozen=True)
class Columns:
    """A cache's rows, as stored: ``strings`` (the distinct strings, shared), then per row its instant
    (``times``: UTC microseconds) and UTC offset (``offsets``: seconds), one string reference per text field
    (``texts``, in ``FIELDS`` order), the id (``id_refs``: a string reference, or ``HEX_ID`` and the 16 bytes
    at ``16 * row`` in ``ids``) and the schema version (``schemas``). Every value was checked as
    ``ContactEvent`` checks it."""

    strings: list[str]
    times: array
    offsets: array
    texts: tuple[array, ...]
    id_refs: array
    ids: bytes
    schemas: array

    def __len__(self) -> int:
        return len(self.times)

    def events(self) -> list[ContactEvent]:
        strings, ids = self.strings, self.ids
        idents = [ids[16 * i:16 * i + 16].hex() if ref == HEX_ID else strings[ref] for i, ref in enumerate(self.id_refs)]
        return events_from_columns(strings, self.times, self.offsets, self.texts, idents, self.schemas)


def decode(data: bytes, share: Callable[[str, bool], str] = _intern) -> tuple[int, int, list[ContactEvent]]:
    """(partition_size, fingerprint, events) from a cache file's bytes; raises CacheUnreadable.

    ``share(value, interned)`` gives the object each distinct string becomes (``interned``: it is a
    debtor id or a phone); by default those are ``sys.intern``-ed."""
    size, fingerprint, columns = decode_columns(data, share)
    try:
        return size, fingerprint, columns.events()
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise CacheUnreadable(f"invalid content ({exc})") from None


def decode_columns(data: bytes, share: Callable[[str, bool], str] = _intern) -> tuple[int, int, Columns]:
    """:func:`decode` without building the events: (partition_size, fingerprint, :class:`Columns`)."""
    newline = data.find(b"\n")
    try:
        if newline < 0:
            raise ValueError("no header line")
        header = json.loads(data[:newline])
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ValueError("unknown format or version")
        if header.get("byteorder") != sys.byteorder:
            raise ValueError("written with another byte order")
        size, rows, fingerprint = int(header["partition_size"]), int(header["rows"]), int(header["fingerprint"])
        text_length, length, crc = int(header["strings_length"]), int(header["length"]), int(header["crc32"])
        if size < 0 or rows < 0 or text_length < 0:
            raise ValueError("negative sizes")
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise CacheUnreadable(f"bad header ({exc})") from None
    start = newline + 1
    with memoryview(data) as view, view[start:] as body:
        if len(body) != length or zlib.crc32(body, _header_crc(size, fingerprint, rows, text_length)) != crc:
            raise CacheUnreadable("truncated or damaged (checksum mismatch)")
    try:
        strings = json.loads(data[start:start + text_length])
        if not isinstance(strings, list) or not all(type(s) is str for s in strings):
            raise ValueError("string table is not a list of strings")
        pos = start + text_length

        def take(code: str, width: int) -> array:
            nonlocal pos
            column = array(code)
            if column.itemsize != width:  # pragma: no cover - a platform with other C type sizes
                raise ValueError("unexpected item size")
            column.frombytes(data[pos:pos + width * rows])
            pos += width * rows
            return column

        times, offsets = take("q", 8), take("i", 4)
        columns = [take("I", 4) for _ in FIELDS]
        id_refs = take("I", 4)
        ids = data[pos:pos + 16 * rows]
        pos += 16 * rows
        schemas = take("H", 2)
        if pos != start + length or len(ids) != 16 * rows:
            raise ValueError("columns do not fill the body")
        interned = set().union(*(columns[i] for i in _INTERNED))
        strings = [share(value, i in interned) for i, value in enumerate(strings)]
        check_values(strings, columns, offsets, schemas)
        if any(ref != HEX_ID and ref >= len(strings) for ref in set(id_refs)):
            raise ValueError("an id reference beyond the table")
        return size, fingerprint, Columns(strings, times, offsets, tuple(columns), id_refs, ids, schemas)
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise CacheUnreadable(f"invalid content ({exc})") from None


_CHECKED = {FIELDS.index("kind"): CONTACT_KINDS, FIELDS.index("channel"): CONTACT_CHANNELS,
            FIELDS.index("direction"): CONTACT_DIRECTIONS}
_DAY_SECONDS = 24 * 3600


def check_values(strings: list[str], columns: list[array], offsets: array, schemas: array) -> None:
    """Check once per distinct value what ``ContactEvent.__post_init__`` checks per event (kind, channel and
    direction in their vocabularies; an instant with a valid UTC offset; the text fields strings), so that
    :func:`_events` can build the events without it. Raises ValueError."""
    for column, allowed in _CHECKED.items():
        for ref in set(columns[column]):
            if strings[ref] not in allowed:
                raise ValueError(f"{FIELDS[column]} {strings[ref]!r} is not one of {sorted(allowed)}")
    for column in columns:  # every reference names a string of the table
        if column and max(column) >= len(strings):
            raise ValueError("a string reference beyond the table")
    if offsets and not all(-_DAY_SECONDS < offset < _DAY_SECONDS for offset in set(offsets)):
        raise ValueError("a UTC offset of a day or more")


def events_from_columns(strings: list[str], times, offsets, texts, idents, schemas) -> list[ContactEvent]:
    """The events of rows given as columns (one value per row, in order): UTC ``times`` (microseconds) and
    ``offsets`` (seconds), ``texts`` (string references, in ``FIELDS`` order), ``idents`` (the ids, as
    strings) and ``schemas``. The one place rows become events: a cache's (:meth:`Columns.events`) and a
    window's (``rows.Rows.events``)."""
    bases = {offset: base(offset) for offset in set(offsets)}
    micro = _MICROSECOND
    instants = [bases[offset] + micro * us for offset, us in zip(offsets, times)]
    text = strings.__getitem__
    return list(map(_new_event, instants, *[map(text, column) for column in texts], idents, schemas))


@functools.lru_cache(maxsize=64)
def base(offset: int) -> datetime:
    """The epoch in the UTC offset of ``offset`` seconds (an instant in that offset is this plus its micros)."""
    return _EPOCH.astimezone(timezone.utc if offset == 0 else timezone(timedelta(seconds=offset)))
