"""Loan-list import (CSV from Spanish-locale spreadsheets, XLSX) and CSV export.

The one entry point for the CLI, the USB stick and the web page is
:func:`import_loans` (path or binary stream + :class:`ImportOptions` ->
:class:`ImportReport`). See ``examples/README.md`` for the two layouts and
the columns, and each module's docstring for its rules:

reading (bytes -> rows: encoding, delimiter), headers (column names and
mapping), parsing (numbers, dates, phones), rows (one row -> records or a
Spanish reason), layouts (rules across rows), rejects (the rejects file),
importer (orchestration), preview (header + sample rows for a mapping step),
xlsx (workbooks), cells and export (CSV out), samples (synthetic files).
"""

from firmware_py.importer.errors import ImportFileError, MappingError
from firmware_py.importer.importer import ImportOptions, ImportReport, Rejection, import_loans, load_mapping
from firmware_py.importer.preview import Preview, preview_file

__all__ = ["ImportFileError", "MappingError", "ImportOptions", "ImportReport", "Rejection", "import_loans",
           "load_mapping", "Preview", "preview_file"]
