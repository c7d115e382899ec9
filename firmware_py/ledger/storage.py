"""Crash-safe files: atomic replace, directory fsync, checksummed snapshots.

TinyDB's own ``JSONStorage`` rewrites its file in place, so a power cut in
the middle leaves neither the old nor the new JSON. Everything here writes a
temporary file in the same directory, fsyncs it, ``os.replace``s it over the
target and fsyncs the directory, so a reader finds either the complete old
file or the complete new one.

- ``atomic_write(path, data, backup=False)``: the primitive. With ``backup``
  the previous file is kept as ``<path>.bak`` (hard link, so ``path`` never
  disappears).
- ``write_snapshot(path, tables, seq, default=None)`` / ``read_snapshot(path,
  convert=None)``: a JSON document framed by a header line with its length
  and CRC-32, so a damaged file is detected instead of half-loaded; tables
  of records are written one record per line and read back a record at a
  time (``convert`` may turn each document into something smaller as it is
  read). ``read_snapshot`` falls back to ``<path>.bak``.
- ``AtomicJSONStorage``: a TinyDB ``Storage`` (the two-method read/write seam)
  over a snapshot file, for small TinyDB databases that want crash safety
  without the journal. ``MemoryStorage`` (TinyDB's) is the in-memory twin.

Errors: ``LedgerWriteError`` when a write cannot be made durable (nothing is
replaced); ``SnapshotUnreadable`` (internal) when a file is missing or damaged.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Callable, Sequence

from tinydb.storages import MemoryStorage, Storage

from firmware_py.errors import LedgerWriteError
from firmware_py.ledger.jsonblocks import BlockWriter, blocks_length, crc32_blocks, encode_blocks, json_encoder

__all__ = [
    "AtomicJSONStorage",
    "MemoryStorage",
    "SnapshotUnreadable",
    "atomic_write",
    "fsync_dir",
    "read_snapshot",
    "remove_stale_temps",
    "snapshot_blocks",
    "write_all",
    "write_snapshot",
]

log = logging.getLogger("cobrador.ledger.storage")

SNAPSHOT_FORMAT = "cobrador-ledger-snapshot"
SNAPSHOT_VERSION = 1


class SnapshotUnreadable(Exception):
    """A snapshot file is missing or damaged (message says which and why)."""


def fsync_dir(directory: Path) -> None:
    """fsync a directory so that a rename or a new file inside it survives a power cut."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | Sequence[bytes]) -> None:
    """Write ``data`` (bytes, or blocks of bytes written in order) completely; raises OSError."""
    for block in ((data,) if isinstance(data, (bytes, bytearray, memoryview)) else data):
        view = memoryview(block)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def atomic_write(path: Path, data: bytes | Sequence[bytes], *, backup: bool = False) -> None:
    """Replace ``path`` with ``data`` (bytes, or blocks of bytes) atomically and durably.

    With ``backup=True`` an existing ``path`` is first hard-linked to
    ``<path>.bak`` (replacing an older backup). Raises LedgerWriteError if
    anything fails; ``path`` then still holds its previous content.
    """
    path = Path(path)
    directory = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LedgerWriteError.from_os_error(path, exc) from exc
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if backup and path.exists():
            bak = path.with_name(path.name + ".bak")
            link_tmp = path.with_name(f".{path.name}.bak.tmp")
            try:
                link_tmp.unlink(missing_ok=True)
                os.link(path, link_tmp)
                os.replace(link_tmp, bak)
                # rename() between two links of the same file is a no-op that leaves
                # link_tmp behind (after a kill between the two renames below)
                link_tmp.unlink(missing_ok=True)
            except OSError as exc:  # filesystems without hard links: keep going without a backup
                log.warning("could not keep backup of %s: %s", path, exc)
        os.replace(tmp_name, path)
        fsync_dir(directory)
    except OSError as exc:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise LedgerWriteError.from_os_error(path, exc) from exc


def remove_stale_temps(directory: Path) -> int:
    """Delete temporary files ``atomic_write`` left behind when killed mid-write.

    Only call this while holding the directory lock (nobody else is writing).
    Returns how many were removed.
    """
    removed = 0
    for path in Path(directory).iterdir():
        if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_file():
            try:
                path.unlink()
                removed += 1
            except OSError as exc:
                log.warning("could not remove stale temporary file %s: %s", path, exc)
    if removed:
        log.info("removed %d stale temporary file(s) in %s", removed, directory)
    return removed


def snapshot_blocks(tables: dict, seq: int, default: Callable[[Any], Any] | None = None) -> list[bytes]:
    """The snapshot file's bytes as blocks (``jsonblocks``: no whole-file copies while encoding).

    ``default`` encodes values JSON cannot (``json.dumps`` hook), one at a time.
    """
    body = _snapshot_body(tables, default)
    header = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "seq": seq,
        "length": blocks_length(body),
        "crc32": crc32_blocks(body),
    }
    return [json.dumps(header).encode("ascii") + b"\n", *body, b"\n"]


def encode_snapshot(tables: dict, seq: int, default: Callable[[Any], Any] | None = None) -> bytes:
    """The snapshot file's bytes (small files; see ``snapshot_blocks``)."""
    return b"".join(snapshot_blocks(tables, seq, default))


def _snapshot_body(tables: dict, default: Callable[[Any], Any] | None) -> list[bytes]:
    """Compact JSON with sorted keys. When every table is an object, the body is "line-framed":
    ``{``, then per table a ``"name":{`` line, one ``"key":document`` line per record and a
    closing line, then ``}``. Any JSON reader reads it the same (newlines are whitespace);
    ``read_snapshot`` parses it one record at a time."""
    if not all(isinstance(table, dict) for table in tables.values()):
        return encode_blocks(tables, depth=2, default=default, sort_keys=True)
    dumps = json_encoder(default, sort_keys=True)
    writer = BlockWriter()
    writer.write("{\n")
    names = sorted(_string_keys(tables))
    for table_index, name in enumerate(names):
        writer.write(dumps(name) + ":{\n")
        table = tables[name]
        keys = sorted(_string_keys(table))
        last = len(keys) - 1
        for index, key in enumerate(keys):
            writer.write(dumps(key) + ":" + dumps(table[key]) + (",\n" if index < last else "\n"))
        writer.write("},\n" if table_index < len(names) - 1 else "}\n")
    writer.write("}")
    return writer.finish()


def _string_keys(mapping: dict) -> list[str]:
    keys = list(mapping)
    if not all(isinstance(key, str) for key in keys):
        raise TypeError("snapshot keys must be strings")
    return keys


Convert = Callable[[str, str, Any], Any]
"""``convert(table, key, document) -> value`` applied to each record as a snapshot is read."""


def decode_snapshot(data: bytes, where: str = "snapshot", convert: Convert | None = None) -> tuple[dict, int]:
    """(tables, seq) from snapshot bytes; raises SnapshotUnreadable.

    ``convert`` (optional) replaces each record's document as it is read: a
    line-framed snapshot is then never held as documents all at once.
    """
    start, length, seq = _checked_body(data, where)
    try:
        if data.startswith(b"{\n", start):
            return _parse_line_framed(data, start + 2, start + length, convert), seq
        with memoryview(data) as view, view[start:start + length] as body:
            text = str(body, "utf-8")
        tables = json.loads(text)
        del text
        if not isinstance(tables, dict):
            raise ValueError("not an object")
        if convert is not None:
            for name, table in tables.items():
                if isinstance(table, dict):
                    for key in list(table):
                        table[key] = convert(name, key, table[key])
        return tables, seq
    except (ValueError, TypeError, AttributeError) as exc:
        raise SnapshotUnreadable(f"{where}: invalid JSON ({exc})") from None


def _checked_body(data: bytes, where: str) -> tuple[int, int, int]:
    """(offset, length, seq) of the body once the header and checksum match; raises SnapshotUnreadable.

    The checksum is computed through a memoryview: no copy of a snapshot of
    many megabytes is made.
    """
    newline = data.find(b"\n")
    if newline < 0:
        raise SnapshotUnreadable(f"{where}: no header line")
    try:
        header = json.loads(data[:newline])
        if header.get("format") != SNAPSHOT_FORMAT:
            raise ValueError("unknown format")
        if header.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported version {header.get('version')!r}")
        length, crc, seq = int(header["length"]), int(header["crc32"]), int(header["seq"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SnapshotUnreadable(f"{where}: bad header ({exc})") from None
    start = newline + 1
    with memoryview(data) as view, view[start:start + max(length, 0)] as body:
        if len(body) != length or zlib.crc32(body) != crc:
            raise SnapshotUnreadable(f"{where}: truncated or damaged (checksum mismatch)")
    return start, length, seq


_RECORDS_PER_PARSE = 500


def _parse_line_framed(data: bytes, pos: int, end: int, convert: Convert | None) -> dict:
    """Tables from a line-framed body (see ``_snapshot_body``); raises ValueError if it is not one.

    Record lines are parsed a few hundred at a time (one ``json.loads`` shares
    the key strings of its documents) and converted before the next batch.
    """
    tables: dict = {}
    table: dict | None = None
    name = ""
    batch: list[bytes] = []
    closed = False

    def flush() -> None:
        if batch:
            batch[-1] = batch[-1].removesuffix(b",")
            parsed = json.loads(b"{" + b"".join(batch) + b"}")
            batch.clear()
            if convert is not None:
                for key, doc in parsed.items():
                    parsed[key] = convert(name, key, doc)
            table.update(parsed)

    while pos < end:
        newline = data.find(b"\n", pos, end)
        stop = end if newline < 0 else newline
        line, pos = data[pos:stop], stop + 1
        if closed:
            raise ValueError("data after the end of the snapshot")
        if table is None:
            if line == b"}":
                closed = True
                continue
            if not line.endswith(b":{"):
                raise ValueError("expected a table")
            name = json.loads(line[:-2])
            if not isinstance(name, str):
                raise ValueError("table name is not a string")
            table = tables[name] = {}
        elif line in (b"}", b"},"):
            flush()
            table = None
        else:
            batch.append(line)
            if len(batch) >= _RECORDS_PER_PARSE:
                flush()
    if not closed:
        raise ValueError("unterminated snapshot")
    return tables


def write_snapshot(path: Path, tables: dict, seq: int, *, backup: bool = True,
                   default: Callable[[Any], Any] | None = None) -> None:
    """Atomically write ``tables`` as of journal sequence ``seq`` (see module docstring)."""
    atomic_write(path, snapshot_blocks(tables, seq, default), backup=backup)


def read_snapshot_file(path: Path, convert: Convert | None = None) -> tuple[dict, int]:
    """(tables, seq) from one file; raises SnapshotUnreadable if missing or damaged."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SnapshotUnreadable(f"{path}: missing") from None
    except OSError as exc:
        raise SnapshotUnreadable(f"{path}: unreadable ({exc.strerror})") from None
    return decode_snapshot(data, str(path), convert)


def read_snapshot(path: Path, convert: Convert | None = None) -> tuple[dict, int, Path]:
    """(tables, seq, file used): ``path`` or, if it is damaged or missing, ``path.bak``.

    ``convert``: see ``decode_snapshot``. Raises SnapshotUnreadable (listing
    both problems) when neither loads.
    """
    path = Path(path)
    problems = []
    for candidate in (path, path.with_name(path.name + ".bak")):
        try:
            tables, seq = read_snapshot_file(candidate, convert)
        except SnapshotUnreadable as exc:
            problems.append(str(exc))
            continue
        if candidate != path:
            log.error("snapshot %s unusable, restored from backup %s", path, candidate)
        return tables, seq, candidate
    raise SnapshotUnreadable("; ".join(problems))


class AtomicJSONStorage(Storage):
    """TinyDB storage over one crash-safe snapshot file (temp + fsync + replace + dir fsync).

    ``read()`` loads the file once (falling back to ``.bak``) and then serves
    from memory; ``write(data)`` replaces the file atomically, keeping the
    previous version as ``.bak``. A missing file reads as ``None`` (empty
    database); a file that cannot be recovered raises ``LedgerCorrupt``.
    Each write costs O(size of the database): use it for small databases.
    """

    def __init__(self, path: str | os.PathLike, create_dirs: bool = False):
        super().__init__()
        self.path = Path(path)
        if create_dirs:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._data: dict | None = None
        self._loaded = False

    def read(self) -> dict | None:
        if not self._loaded:
            bak = self.path.with_name(self.path.name + ".bak")
            if self.path.exists() or bak.exists():
                try:
                    self._data, _seq, _used = read_snapshot(self.path)
                except SnapshotUnreadable as exc:
                    from firmware_py.errors import LedgerCorrupt

                    raise LedgerCorrupt(self.path, str(exc)) from None
            self._loaded = True
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        write_snapshot(self.path, data, 0)
        self._data = data
        self._loaded = True

    def close(self) -> None:
        pass
