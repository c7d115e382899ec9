"""Writing cells that a spreadsheet will open: formula-injection safety and locale formats.

The functions live in :mod:`scheduler.csvcells` (pure, shared with the web
page, which never imports ``firmware_py``) and are re-exported here for the
importer's rejects file and exports: :func:`neutralise` (a cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets an
apostrophe, unless it is a plain signed number), :func:`spreadsheet_conventions`
(``(";", ",")`` or ``(",", ".")`` for a country), :func:`format_amount` and
:func:`format_date`.
"""

from __future__ import annotations

from scheduler.csvcells import (  # noqa: F401  (re-exported)
    DANGEROUS_START,
    format_amount,
    format_date,
    neutralise,
    spreadsheet_conventions,
)

__all__ = ["DANGEROUS_START", "format_amount", "format_date", "neutralise", "spreadsheet_conventions"]
