"""The contact log: append-only history partitioned by month.

Every planned, sent, delivered, failed or uncertain SMS/call and every
inbound reply is one line in ``contacts/YYYY-MM.jsonl`` (the month of the
event's ``at``, in UTC), written with ``journal.encode_line`` and fsynced
before ``append`` returns. Appending costs one write + fsync whatever the
size of the history; nothing is ever rewritten or deleted by the ledger
(keep two years or more: removing old partitions is an administrator's act).

An in-memory index (debtor id -> packed (partition, offset) in an
``array('q')``, 8 bytes per event) answers "history of this debtor" with
one positioned read per event. Each partition's part of the index is saved
beside it (``YYYY-MM.idx``, checksummed, atomic) on close and, for all but
the newest month, on open; an index covers the partition's first ``size``
bytes, and only the bytes after that are scanned on open (only the JSON
prefix holding ``debtor_id`` is looked at). An index is a cache: a missing,
stale or damaged one just means a rescan. A torn last line in a partition
(power cut mid-append) is cut off on open.

``ContactLog(directory, read_only=True)`` (a read-only SD card, an export)
reads the same history and writes nothing: a missing directory is an empty
history, a torn last line is only skipped, no index is saved, and
``append``/``bulk_append`` raise ``LedgerReadOnly``.

Beside a partition the ledger may keep ``YYYY-MM.events``, its decoded
events in a binary form (``eventcache.py``; written and read through
``write_cache``/``read_cache``, tied to the partition's bytes by
``size_of``/``fingerprint``): a cache like the index, never the record.

``MemoryContactLog`` is the same interface over a list (tests, demos).
Documents are plain dicts (``codec.encode_contact``); decoding is the
ledger's job.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import zlib
from array import array
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from firmware_py.errors import LedgerReadOnly, LedgerWriteError
from firmware_py.ledger.eventcache import SUFFIX as eventcache_suffix
from firmware_py.ledger.journal import AppendFile, check_line, encode_line, iter_lines
from firmware_py.ledger.storage import (
    SnapshotUnreadable,
    atomic_write,
    encode_snapshot,
    fsync_dir,
    read_snapshot_file,
    remove_stale_temps,
)

log = logging.getLogger("cobrador.ledger.contactlog")

_PARTITION = re.compile(r"^(\d{4})-(\d{2})\.jsonl$")
_PARSE_BATCH = 1024
_DECODER = json.JSONDecoder()   # json.loads's own (strict)
_OFFSET_BITS = 40
_OFFSET_MASK = (1 << _OFFSET_BITS) - 1
_PREFIX = b'{"debtor_id":"'


def parse_bodies(bodies: list[bytes]) -> list[Any]:
    """``json.loads`` of each line body (checked lines, so without a new line), those that are not JSON left out:
    the batch decoded as one text and read a value at a time (a call per line costs a third more); if any body
    is not one JSON value in UTF-8 with nothing around it (as the ledger writes them), one by one, exactly as
    ``json.loads`` reads each."""
    try:
        text = b"\n".join(bodies).decode("utf-8")
        docs, pos, size, decode = [], 0, len(text), _DECODER.raw_decode
        for _ in bodies:
            doc, pos = decode(text, pos)
            if pos < size and text[pos] != "\n":
                raise ValueError("not one value alone in a line")
            docs.append(doc)
            pos += 1
        return docs
    except ValueError:  # (UnicodeDecodeError too)
        pass
    docs = []
    for body in bodies:
        try:
            docs.append(json.loads(body))
        except ValueError:
            continue
    return docs


def partition_for(at: datetime) -> str:
    """Partition name (``YYYY-MM``) of an aware instant, by its UTC month."""
    utc = at.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc.month:02d}"


def _debtor_of(body: bytes) -> str | None:
    if body.startswith(_PREFIX):
        end = body.find(b'"', len(_PREFIX))
        if end > 0 and b"\\" not in body[len(_PREFIX) : end]:
            return body[len(_PREFIX) : end].decode("utf-8")
    try:
        doc = json.loads(body)
        return doc.get("debtor_id") if isinstance(doc, dict) else None
    except ValueError:
        return None


class ContactLog:
    """Monthly append-only partitions under ``directory`` (see module docstring)."""

    def __init__(self, directory: Path, *, read_only: bool = False):
        self.directory = Path(directory)
        self.read_only = read_only
        if not read_only:
            try:
                if not self.directory.is_dir():
                    self.directory.mkdir(parents=True, exist_ok=True)
                    fsync_dir(self.directory.parent)
            except OSError as exc:
                raise LedgerWriteError.from_os_error(self.directory, exc) from exc
        self._names: list[str] = []  # partition index -> "YYYY-MM"
        self._index_of: dict[str, int] = {}
        self._by_debtor: dict[str, array] = {}
        self._writers: dict[str, AppendFile] = {}
        self._readers: dict[int, int] = {}  # partition index -> read fd
        self._end: dict[str, int] = {}  # partition -> end of its last valid record
        self._sidecar_size: dict[str, int] = {}  # partition -> bytes covered by its saved index
        self._cache_size: dict[str, int] = {}  # partition -> bytes covered by its events cache
        self._damaged_in: dict[str, int] = {}
        self.count = 0
        self.damaged_lines = 0
        self._closed = False
        if read_only:
            names = sorted(self.directory.iterdir()) if self.directory.is_dir() else []
        else:
            remove_stale_temps(self.directory)
            names = sorted(self.directory.iterdir())
        for path in names:
            if _PARTITION.match(path.name):
                self._load_partition(path)
        self.write_sidecars(include_newest=False)

    # -- index ---------------------------------------------------------------------------------
    def _partition_index(self, name: str) -> int:
        idx = self._index_of.get(name)
        if idx is None:
            idx = len(self._names)
            self._names.append(name)
            self._index_of[name] = idx
        return idx

    def _remember(self, debtor_id: str, idx: int, offset: int) -> None:
        slots = self._by_debtor.get(debtor_id)
        if slots is None:
            # interned: the same string object as the ledger's debtor records (codec interns ids)
            slots = self._by_debtor[sys.intern(debtor_id)] = array("q")
        slots.append((idx << _OFFSET_BITS) | offset)
        self.count += 1

    def _load_partition(self, path: Path) -> None:
        name = path.name[: -len(".jsonl")]
        idx = self._partition_index(name)
        size = path.stat().st_size
        start = 0
        sidecar = self._read_sidecar(name)
        if sidecar is not None and sidecar["size"] <= size:
            base = idx << _OFFSET_BITS
            for debtor, offsets in sidecar["debtors"].items():
                slots = self._by_debtor.get(debtor)
                if slots is None:
                    slots = self._by_debtor[sys.intern(debtor)] = array("q")
                slots.extend([base | offset for offset in offsets])
                self.count += len(offsets)
            self.damaged_lines += sidecar.get("damaged", 0)
            start = self._sidecar_size[name] = sidecar["size"]
            self._damaged_in[name] = sidecar.get("damaged", 0)
        with path.open("rb") as fh:
            fh.seek(start)
            data = fh.read()
        valid_end = start
        pending_bad = 0
        for rel, line, complete in iter_lines(data):
            body = check_line(line) if complete else None
            debtor = _debtor_of(body) if body is not None else None
            if debtor is None:
                if line.strip(b"\x00 \t\r"):
                    pending_bad += 1
                continue
            self.damaged_lines += pending_bad
            self._damaged_in[name] = self._damaged_in.get(name, 0) + pending_bad
            pending_bad = 0
            self._remember(debtor, idx, start + rel)
            valid_end = start + rel + len(line) + 1
        self._end[name] = valid_end
        if valid_end < start + len(data):
            # Unfinished last line: an append that never returned. Cut it so the
            # next append starts on a clean line (read-only: only skipped).
            log.warning("%s: torn last record (%d bytes) dropped", path.name, start + len(data) - valid_end)
            if not self.read_only:
                writer = AppendFile(path, valid_end=valid_end)
                self._writers[name] = writer

    # -- sidecar index files (a cache: losing or damaging one only costs a rescan) -------------
    def _sidecar_path(self, name: str) -> Path:
        return self.directory / f"{name}.idx"

    def _read_sidecar(self, name: str) -> dict | None:
        path = self._sidecar_path(name)
        if not path.exists():
            return None
        try:
            tables, size = read_snapshot_file(path)
            debtors = tables["debtors"]
            if not isinstance(debtors, dict) or size < 0:
                raise ValueError("bad index")
            return {"size": size, "debtors": debtors, "damaged": int(tables.get("damaged", 0))}
        except (SnapshotUnreadable, KeyError, TypeError, ValueError) as exc:
            log.warning("index %s unusable (%s): rescanning the partition", path.name, exc)
            return None

    def write_sidecars(self, *, include_newest: bool = True) -> int:
        """Save the per-partition index for partitions that grew since their index was saved.

        Returns how many were written (none when read-only). Failures are logged, never raised.
        """
        if self.read_only:
            return 0
        stale = [n for n in self._names if self._end.get(n, 0) != self._sidecar_size.get(n)]
        if not include_newest and self._names:
            newest = max(self._names)
            stale = [n for n in stale if n != newest]
        if not stale:
            return 0
        wanted = {self._index_of[n]: n for n in stale}
        per_partition: dict[str, dict[str, list[int]]] = {n: {} for n in stale}
        for debtor, slots in self._by_debtor.items():
            for packed in slots:
                name = wanted.get(packed >> _OFFSET_BITS)
                if name is not None:
                    per_partition[name].setdefault(debtor, []).append(packed & _OFFSET_MASK)
        written = 0
        for name, debtors in per_partition.items():
            size = self._end.get(name, 0)
            try:
                atomic_write(self._sidecar_path(name), encode_snapshot(
                    {"debtors": debtors, "damaged": self._damaged_in.get(name, 0)}, size))
            except LedgerWriteError as exc:  # a cache: the history itself is saved
                log.warning("could not save index of %s (%s): it is rebuilt at the next open", name,
                            exc.short_reason)
                continue
            self._sidecar_size[name] = size
            written += 1
        return written

    # -- writing -------------------------------------------------------------------------------
    def append(self, doc: dict[str, Any], at: datetime) -> None:
        """Append one event document durably (raises LedgerWriteError; LedgerReadOnly when read-only)."""
        if self.read_only:
            raise LedgerReadOnly(self.directory.parent)
        line = encode_line(doc)
        if not line[9:].startswith(_PREFIX):
            raise ValueError("contact documents must start with debtor_id")
        name = partition_for(at)
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = AppendFile(self.directory / f"{name}.jsonl", repair=False)
        offset = writer.append_line(line)
        self._end[name] = writer.size
        self._remember(doc["debtor_id"], self._partition_index(name), offset)

    # -- reading -------------------------------------------------------------------------------
    def _read_at(self, idx: int, offset: int) -> dict | None:
        fd = self._readers.get(idx)
        if fd is None:
            fd = self._readers[idx] = os.open(self.directory / f"{self._names[idx]}.jsonl", os.O_RDONLY)
        chunk = b""
        size = 1024
        while True:
            chunk = os.pread(fd, size, offset)
            end = chunk.find(b"\n")
            if end >= 0:
                chunk = chunk[:end]
                break
            if len(chunk) < size:
                return None
            size *= 4
        body = check_line(chunk)
        if body is None:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return None

    def _months(self, since: datetime | None, until: datetime | None) -> list[int]:
        low = partition_for(since) if since is not None else ""
        high = partition_for(until) if until is not None else "9999-99"
        return sorted(
            (i for i, name in enumerate(self._names) if low <= name <= high),
            key=lambda i: self._names[i],
        )

    def docs(
        self, *, debtor_id: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[dict]:
        """Documents of one debtor (indexed) or of everyone, limited to the partitions
        that can hold events in [since, until]. Exact time filtering is the caller's."""
        wanted = set(self._months(since, until))
        if debtor_id is not None:
            for packed in self._by_debtor.get(debtor_id, ()):
                idx = packed >> _OFFSET_BITS
                if idx in wanted:
                    doc = self._read_at(idx, packed & _OFFSET_MASK)
                    if doc is not None:
                        yield doc
            return
        for idx in self._months(since, until):
            yield from self.partition_docs(self._names[idx])

    def months(self, since: datetime | None = None, until: datetime | None = None) -> list[str]:
        """Names (``YYYY-MM``) of the partitions that can hold events in [since, until], oldest first."""
        return [self._names[i] for i in self._months(since, until)]

    def partition_docs(self, name: str) -> list[dict]:
        """Every valid document of one partition, in file order."""
        return list(self.iter_partition(name))

    def iter_partition(self, name: str, start: int = 0, end: int | None = None) -> Iterator[dict]:
        """``partition_docs`` one document at a time (only the file's bytes and one document in memory),
        from byte ``start`` (the start of a record) to ``end`` (the end of one; ``None``: the file's end).
        Safe without the ledger's lock up to a size it reported (the file only grows)."""
        try:
            with (self.directory / f"{name}.jsonl").open("rb") as fh:
                fh.seek(start)
                data = fh.read() if end is None else fh.read(max(end - start, 0))
        except FileNotFoundError:
            return
        bodies = []
        for _offset, line, complete in iter_lines(data):
            body = check_line(line) if complete else None
            if body is not None:
                bodies.append(body)
                if len(bodies) == _PARSE_BATCH:
                    yield from parse_bodies(bodies)
                    bodies = []
        yield from parse_bodies(bodies)

    def debtor_count(self, debtor_id: str) -> int:
        return len(self._by_debtor.get(debtor_id, ()))

    # -- decoded-events caches (``eventcache``: the ledger encodes and decodes them) -------------
    _FINGERPRINT = 1 << 16

    def size_of(self, name: str) -> int:
        """Bytes of whole records in a partition now."""
        return self._end.get(name, 0)

    def fingerprint(self, name: str, size: int) -> int | None:
        """CRC-32 of the last 64 KiB of a partition's first ``size`` bytes (None if it holds fewer): ties a cache
        to the bytes it was made from (a partition replaced by another one is noticed)."""
        if size > self._end.get(name, 0):
            return None
        start = max(0, size - self._FINGERPRINT)
        try:
            with (self.directory / f"{name}.jsonl").open("rb") as fh:
                fh.seek(start)
                data = fh.read(size - start)
        except OSError:
            return None
        return zlib.crc32(data) if len(data) == size - start else None

    def read_cache(self, name: str) -> bytes | None:
        """The bytes of a partition's events cache, or None when there is none."""
        try:
            return (self.directory / f"{name}{eventcache_suffix}").read_bytes()
        except OSError:
            return None

    def note_cache(self, name: str, size: int) -> None:
        """Remember that the cache of ``name`` on disk covers its first ``size`` bytes."""
        self._cache_size[name] = size

    def cache_is_current(self, name: str) -> bool:
        return self._cache_size.get(name) == self._end.get(name, 0)

    def write_cache(self, name: str, data: bytes, size: int) -> bool:
        """Replace a partition's events cache atomically (nothing when read-only). A cache: failures are
        logged, never raised (the partition is read instead next time)."""
        if self.read_only:
            return False
        try:
            atomic_write(self.directory / f"{name}{eventcache_suffix}", data)
        except LedgerWriteError as exc:
            log.warning("could not save the events cache of %s (%s): the partition is read instead", name,
                        exc.short_reason)
            return False
        self._cache_size[name] = size
        return True

    def sizes(self) -> dict[str, int]:
        """Partition -> bytes of whole records now (a consistent cut for backups)."""
        return {name: self._end.get(name, 0) for name in self._names}

    def partition_bytes(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of a partition (whole records, as ``sizes()`` gave)."""
        with (self.directory / f"{name}.jsonl").open("rb") as fh:
            return fh.read(size)

    def bulk_append(self, docs_with_time: list[tuple[dict, datetime]]) -> None:
        """Append many events with ONE fsync per partition (history loading, migrations).

        Not for live traffic: if it raises, a prefix of the events may be stored.
        """
        if self.read_only:
            raise LedgerReadOnly(self.directory.parent)
        by_name: dict[str, list[tuple[dict, bytes]]] = {}
        for doc, at in docs_with_time:
            by_name.setdefault(partition_for(at), []).append((doc, encode_line(doc)))
        for name, items in by_name.items():
            writer = self._writers.get(name)
            if writer is None:
                writer = self._writers[name] = AppendFile(self.directory / f"{name}.jsonl", repair=False)
            idx = self._partition_index(name)
            offset = writer.append_line(b"".join(line for _doc, line in items))
            for doc, line in items:
                self._remember(doc["debtor_id"], idx, offset)
                offset += len(line)
            self._end[name] = writer.size

    def close(self) -> None:
        """Save stale indexes and close files; safe twice."""
        if self._closed:
            return
        self._closed = True
        self.write_sidecars()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        for fd in self._readers.values():
            os.close(fd)
        self._readers.clear()


class MemoryContactLog:
    """``ContactLog`` without files."""

    def __init__(self) -> None:
        self._docs: list[tuple[str, dict]] = []
        self.count = 0
        self.damaged_lines = 0

    def append(self, doc: dict, at: datetime) -> None:
        self._docs.append((partition_for(at), json.loads(json.dumps(doc))))
        self.count += 1

    def bulk_append(self, docs_with_time: list[tuple[dict, datetime]]) -> None:
        for doc, at in docs_with_time:
            self.append(doc, at)

    def docs(self, *, debtor_id=None, since=None, until=None) -> Iterator[dict]:
        low = partition_for(since) if since is not None else ""
        high = partition_for(until) if until is not None else "9999-99"
        for name, doc in self._docs:
            if low <= name <= high and (debtor_id is None or doc["debtor_id"] == debtor_id):
                yield dict(doc)

    def debtor_count(self, debtor_id: str) -> int:
        return sum(1 for _n, d in self._docs if d["debtor_id"] == debtor_id)

    def months(self, since=None, until=None) -> list[str]:
        low = partition_for(since) if since is not None else ""
        high = partition_for(until) if until is not None else "9999-99"
        return sorted({name for name, _doc in self._docs if low <= name <= high})

    def partition_docs(self, name: str) -> list[dict]:
        return [dict(doc) for n, doc in self._docs if n == name]

    def iter_partition(self, name: str, start: int = 0, end: int | None = None) -> Iterator[dict]:
        return iter(self.partition_docs(name)[start:end])

    def size_of(self, name: str) -> int:
        return self.sizes().get(name, 0)

    def fingerprint(self, name: str, size: int) -> int | None:
        return None

    def read_cache(self, name: str) -> bytes | None:
        return None

    def note_cache(self, name: str, size: int) -> None:
        """In memory there is no cache file to keep track of."""

    def cache_is_current(self, name: str) -> bool:
        return True  # nothing to save

    def write_cache(self, name: str, data: bytes, size: int) -> bool:
        return False

    def sizes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, _doc in self._docs:
            counts[name] = counts.get(name, 0) + 1
        return counts

    def partition_bytes(self, name: str, size: int) -> bytes:
        return b"".join(encode_line(doc) for doc in self.partition_docs(name)[:size])

    def close(self) -> None:
        pass
