"""Large JSON texts encoded in blocks of about a megabyte (snapshots, an import's journal line).

``json.dumps(...).encode()`` of a whole ledger holds the text while the C
encoder joins its pieces and again while it is encoded to bytes: writing a
snapshot or a big import briefly needs about three times its size.
``encode_blocks`` encodes the outer ``depth`` levels of containers itself and
every value below them with ``json.dumps``, joining the pieces into blocks of
about ``block_size`` bytes. The blocks, concatenated, are exactly the bytes of
``json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=...,
default=...).encode("utf-8")``; the peak is one copy of the text.

- ``encode_blocks(value, depth=, default=None, sort_keys=False) -> list[bytes]``
  (dict keys on the streamed levels must be strings: TypeError otherwise);
- ``crc32_blocks(blocks) -> int`` and ``blocks_length(blocks) -> int``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Callable, Iterable

BLOCK_SIZE = 1 << 20


def encode_blocks(value: Any, *, depth: int, default: Callable[[Any], Any] | None = None,
                  sort_keys: bool = False, block_size: int = BLOCK_SIZE) -> list[bytes]:
    """Compact UTF-8 JSON of ``value`` as a list of blocks (see the module docstring)."""
    # one JSONEncoder for every piece (json.dumps with options builds a new one per call)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=default).encode
    encoder = _BlockEncoder(dumps, sort_keys, block_size)
    encoder.walk(value, depth)
    return encoder.finish()


class _BlockEncoder:
    """Accumulates encoded pieces into blocks (a class, not closures: no reference cycle keeps the
    blocks alive after ``encode_blocks`` returns)."""

    def __init__(self, dumps: Callable[[Any], str], sort_keys: bool, block_size: int):
        self.dumps = dumps
        self.sort_keys = sort_keys
        self.block_size = block_size
        self.blocks: list[bytes] = []
        self.pending: list[bytes] = []
        self.pending_size = 0

    def emit(self, text: str) -> None:
        piece = text.encode("utf-8")
        self.pending.append(piece)
        self.pending_size += len(piece)
        if self.pending_size >= self.block_size:
            self.blocks.append(b"".join(self.pending))
            self.pending.clear()
            self.pending_size = 0

    def walk(self, item: Any, levels: int) -> None:
        if levels > 0 and isinstance(item, dict):
            self.emit("{")
            for index, (key, inner) in enumerate(sorted(item.items()) if self.sort_keys else item.items()):
                if not isinstance(key, str):
                    raise TypeError(f"keys must be strings, not {type(key).__name__}")
                self.emit(("," if index else "") + self.dumps(key) + ":")
                self.walk(inner, levels - 1)
            self.emit("}")
        elif levels > 0 and isinstance(item, (list, tuple)):
            self.emit("[")
            for index, inner in enumerate(item):
                if index:
                    self.emit(",")
                self.walk(inner, levels - 1)
            self.emit("]")
        else:
            self.emit(self.dumps(item))

    def finish(self) -> list[bytes]:
        if self.pending:
            self.blocks.append(b"".join(self.pending))
            self.pending.clear()
        blocks, self.blocks = self.blocks, []
        return blocks


def crc32_blocks(blocks: Iterable[bytes]) -> int:
    crc = 0
    for block in blocks:
        crc = zlib.crc32(block, crc)
    return crc


def blocks_length(blocks: Iterable[bytes]) -> int:
    return sum(len(block) for block in blocks)
