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
- ``BlockWriter``: the accumulator, for callers that lay out their own text
  (``write(text)``, ``finish() -> list[bytes]``);
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
    writer = BlockWriter(block_size)
    _walk(writer, json_encoder(default, sort_keys), sort_keys, value, depth)
    return writer.finish()


def json_encoder(default: Callable[[Any], Any] | None = None, sort_keys: bool = False) -> Callable[[Any], str]:
    """Compact, non-ASCII-escaping ``encode`` function (one JSONEncoder reused for every piece)."""
    return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys,
                            default=default).encode


class BlockWriter:
    """Accumulates text pieces as UTF-8 blocks of about ``block_size`` bytes."""

    def __init__(self, block_size: int = BLOCK_SIZE):
        self.block_size = block_size
        self._blocks: list[bytes] = []
        self._pending: list[bytes] = []
        self._pending_size = 0

    def write(self, text: str) -> None:
        piece = text.encode("utf-8")
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size >= self.block_size:
            self._blocks.append(b"".join(self._pending))
            self._pending.clear()
            self._pending_size = 0

    def finish(self) -> list[bytes]:
        """The blocks written so far (the writer is then empty)."""
        if self._pending:
            self._blocks.append(b"".join(self._pending))
            self._pending.clear()
            self._pending_size = 0
        blocks, self._blocks = self._blocks, []
        return blocks


def _walk(writer: BlockWriter, dumps: Callable[[Any], str], sort_keys: bool, item: Any, levels: int) -> None:
    if levels > 0 and isinstance(item, dict):
        writer.write("{")
        for index, (key, inner) in enumerate(sorted(item.items()) if sort_keys else item.items()):
            if not isinstance(key, str):
                raise TypeError(f"keys must be strings, not {type(key).__name__}")
            writer.write(("," if index else "") + dumps(key) + ":")
            _walk(writer, dumps, sort_keys, inner, levels - 1)
        writer.write("}")
    elif levels > 0 and isinstance(item, (list, tuple)):
        writer.write("[")
        for index, inner in enumerate(item):
            if index:
                writer.write(",")
            _walk(writer, dumps, sort_keys, inner, levels - 1)
        writer.write("]")
    else:
        writer.write(dumps(item))


def crc32_blocks(blocks: Iterable[bytes]) -> int:
    crc = 0
    for block in blocks:
        crc = zlib.crc32(block, crc)
    return crc


def blocks_length(blocks: Iterable[bytes]) -> int:
    return sum(len(block) for block in blocks)
