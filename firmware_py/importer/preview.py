"""A quick look at a loan list before importing it: for the column-mapping step of the web page.

``preview_file(source, mapping=None)`` reads only the header and the first
rows and says how the file would be read: format, layout (or what is
missing), which header became which field, the headers not understood, and
a few sample rows. With the user's answers as ``mapping`` it can be called
again until ``missing`` is empty, then the same mapping goes to
:func:`~firmware_py.importer.import_loans`.

Raises :class:`ImportFileError` for an unreadable, empty or binary file
(and :class:`MappingError` for a bad mapping), like the import would.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.headers import FIELD_NAMES_ES, SYNONYMS, resolve_columns
from firmware_py.importer.layouts import detect_layout
from firmware_py.importer.reading import open_binary, open_table

FIELDS = tuple(SYNONYMS)


@dataclass
class Preview:
    """How a file would be read. ``missing`` is the Spanish explanation when no layout fits (else ``""``);
    ``columns`` maps field -> header; ``fields`` lists every field a header can be mapped to, with its
    Spanish name."""

    encoding: str
    delimiter: str
    header: list[str]
    columns: dict[str, str]
    unknown: list[str]
    layout: str = ""
    missing: str = ""
    sample: list[list[str]] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=lambda: dict(FIELD_NAMES_ES))

    def to_dict(self) -> dict:
        return asdict(self)


def preview_file(source, mapping: dict | None = None, *, rows: int = 5) -> Preview:
    """Describe ``source`` (path or binary stream); reads the header and ``rows`` sample rows only."""
    from firmware_py.importer.importer import LOOKAHEAD_ROWS, _find_header

    stream, owned = open_binary(source)
    try:
        # the same sheet, the same rows and the same column decisions as the import itself
        with open_table(stream, mapping=mapping) as table:
            records = iter(table.rows())
            header, _, pending = _find_header(records, mapping)
            lookahead = list(itertools.islice(itertools.chain(pending, records), max(LOOKAHEAD_ROWS, rows)))
            columns = resolve_columns(header.cells, mapping, samples=[r.cells for r in lookahead])
            sample = [[("" if c is None else str(c)) for c in r.cells] for r in lookahead[:rows]]
            fmt = table.format
    finally:
        if owned:
            stream.close()
        elif hasattr(stream, "seek"):
            stream.seek(0)  # the caller imports the same stream next
    result = Preview(encoding=fmt.encoding, delimiter=fmt.delimiter, header=list(columns.header),
                     columns={f: columns.header[i] for f, i in sorted(columns.columns.items(), key=lambda x: x[1])},
                     unknown=list(columns.unknown), sample=sample)
    try:
        result.layout = detect_layout(columns)
    except ImportFileError as exc:
        result.missing = str(exc)
    return result
