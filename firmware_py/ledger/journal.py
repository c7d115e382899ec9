"""Append-only, fsynced, checksummed JSON-lines files.

Line format: 8 hex digits of CRC-32 of the JSON body, a space, the body,
``\\n``. A line whose checksum or JSON does not match is damaged. After a
power cut only the *last* line can be torn (each append is fsynced before it
is acknowledged), so a damaged last line is an unacknowledged write and is
skipped; ``repair_tail`` cuts it off so that the next append starts on a
clean line. A damaged line in the middle (media corruption) is skipped and
counted, never fatal.

- ``encode_line(obj, default=None) -> bytes`` (``encode_line_blocks``: the same as blocks) / ``decode_line(bytes) -> obj | None``
- ``scan(path) -> ScanResult`` (records with their offsets, where the valid
  data ends, counts of damaged lines)
- ``AppendFile(path)``: the open file records are appended to; ``append``
  returns the offset of the record once it is on disk.

``AppendFile.append`` raises ``LedgerWriteError`` if the record could not be
made durable; the file is then cut back to its previous length.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from firmware_py.errors import LedgerWriteError
from firmware_py.ledger.jsonblocks import blocks_length, crc32_blocks, encode_blocks
from firmware_py.ledger.storage import fsync_dir, write_all

log = logging.getLogger("cobrador.ledger.journal")


def encode_line(obj: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """One line for ``obj`` (a small record: one ``json.dumps``); ``default`` turns objects JSON
    cannot encode into JSON values."""
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=default).encode("utf-8")
    return b"".join((b"%08x " % zlib.crc32(body), body, b"\n"))


def encode_line_blocks(obj: Any, default: Callable[[Any], Any] | None = None) -> list[bytes]:
    """``encode_line`` as blocks (``jsonblocks``), for records that may be large (a change set):
    an import of many megabytes is encoded without whole-line copies; ``default`` is called one
    object at a time. Same bytes as ``encode_line``."""
    body = encode_blocks(obj, depth=2, default=default)
    return [b"%08x " % crc32_blocks(body), *body, b"\n"]


def check_line(line: bytes) -> bytes | None:
    """The JSON body of a line (without newline) if its checksum matches, else None."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    body = line[9:]
    if zlib.crc32(body) != crc:
        return None
    return body


def decode_line(line: bytes) -> Any | None:
    """The object stored in one line (without its newline), or None if damaged."""
    body = check_line(line)
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class ScanResult:
    """What ``scan`` found in a file.

    ``records``: (offset, object) for every valid line; ``valid_end``: offset
    just after the last valid line; ``size``: file size; ``damaged``: damaged
    lines before the end; ``torn_tail``: True if bytes after ``valid_end`` are
    an unfinished or damaged last line.
    """

    records: list[tuple[int, Any]] = field(default_factory=list)
    valid_end: int = 0
    size: int = 0
    damaged: int = 0
    torn_tail: bool = False


def iter_lines(data: bytes, start: int = 0):
    """(offset, line without newline, complete) for each line of ``data``."""
    offset = start
    length = len(data)
    while offset < length:
        end = data.find(b"\n", offset)
        if end < 0:
            yield offset, data[offset:], False
            return
        yield offset, data[offset:end], True
        offset = end + 1


def scan(path: Path, *, parse: bool = True) -> ScanResult:
    """Read every valid record of ``path`` (missing file: empty result).

    With ``parse=False`` the records are the raw JSON bodies (bytes), for
    callers that only need a field or two.
    """
    result = ScanResult()
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return result
    result.size = len(data)
    pending_bad = 0  # damaged non-blank lines since the last valid record
    bad_since: int | None = None
    for offset, line, complete in iter_lines(data):
        body = check_line(line) if complete else None
        obj: Any = body
        if body is not None and parse:
            try:
                obj = json.loads(body)
            except ValueError:
                body = None
        if body is None:
            if bad_since is None:
                bad_since = offset
            if line.strip(b"\x00 \t\r"):
                pending_bad += 1
            continue
        if bad_since is not None:
            log.error("%s: damaged data at byte %d skipped", path, bad_since)
            result.damaged += pending_bad
            pending_bad, bad_since = 0, None
        result.records.append((offset, obj))
        result.valid_end = offset + len(line) + 1
    # whatever follows the last valid record is a torn tail, not mid-file damage
    result.torn_tail = bad_since is not None
    return result


class AppendFile:
    """A file that only grows by whole, fsynced lines.

    Opening cuts off a torn tail (``repair=True``) so new records start on a
    clean line. ``append(obj)`` returns the record's byte offset after the
    line is fsynced. ``close()`` is safe twice.
    """

    def __init__(self, path: Path, *, valid_end: int | None = None, repair: bool = True):
        self.path = Path(path)
        existed = self.path.exists()
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise LedgerWriteError(self.path, exc.strerror or str(exc)) from exc
        try:
            if not existed:
                fsync_dir(self.path.parent)
            size = os.fstat(self._fd).st_size
            if repair:
                if valid_end is None:
                    valid_end = scan(self.path, parse=False).valid_end
                if valid_end < size:
                    log.warning("%s: cutting %d bytes of torn tail", self.path, size - valid_end)
                    os.ftruncate(self._fd, valid_end)
                    os.fsync(self._fd)
                    size = valid_end
        except OSError as exc:
            os.close(self._fd)
            raise LedgerWriteError(self.path, exc.strerror or str(exc)) from exc
        self.size = size

    def append(self, obj: Any) -> int:
        """Append one record durably; return its offset. Raises LedgerWriteError."""
        return self.append_line(encode_line(obj))

    def append_line(self, line: bytes | Sequence[bytes]) -> int:
        """Append one encoded line (bytes, or its blocks) durably; return its offset."""
        if self._fd is None:
            raise LedgerWriteError(self.path, "archivo cerrado")
        offset = self.size
        try:
            write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, offset)
            except OSError:
                pass
            raise LedgerWriteError(self.path, exc.strerror or str(exc)) from exc
        self.size = offset + (len(line) if isinstance(line, bytes) else blocks_length(line))
        return offset

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
