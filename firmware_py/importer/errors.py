"""Errors of the importer.

A *file* error stops the whole import (nothing is written to the ledger); a
bad *row* is not an error at all: it is a rejection written to the rejects
file and listed in the report. Every message is a Spanish sentence that says
what to do.
"""

from __future__ import annotations

from firmware_py.errors import CobradorError


class ImportFileError(CobradorError, ValueError):
    """The file as a whole cannot be imported (binary, empty, no known columns...).

    ``reason`` is a short machine-readable code (``"empty"``, ``"binary"``,
    ``"no_rows"``, ``"missing_columns"``, ``"too_many_rows"``, ``"unreadable"``,
    ``"bad_mapping"``, ``"excel_binary"``, ``"rejects_unwritable"``), ``str(error)``
    the Spanish message.
    """

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class MappingError(ImportFileError):
    """The explicit column mapping (``--map FILE``) is invalid."""

    def __init__(self, message: str):
        super().__init__(message, reason="bad_mapping")
