"""Split the value of an information line or URC into fields.

``split_fields('"SM",3')`` -> ``("SM", 3)``. Quoted fields come back as
``str`` (quotes removed, commas inside kept), unquoted integers as ``int``,
empty fields as ``None``, anything else as the stripped ``str``. A
parenthesised list (``(0-5),(1,2)``) stays one ``str`` field. Any number of
fields is accepted: SIM800's ``+CLCC`` has an 8th alpha field that broke
python-gsmmodem's 7-field regex (bug 5). Never raises: an unterminated quote
runs to the end of the text.
"""

from __future__ import annotations

__all__ = ["split_fields"]

Field = str | int | None


def split_fields(value: str) -> tuple[Field, ...]:
    """Fields of ``value`` (the text after ``"+NAME:"``), typed as described in the module docstring."""
    fields: list[Field] = []
    current: list[str] = []
    quoted = False      # inside "..."
    was_quoted = False  # the current field had quotes
    depth = 0           # inside (...)
    for ch in value:
        if quoted:
            if ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = was_quoted = True
        elif ch == "(":
            depth += 1
            current.append(ch)
        elif ch == ")" and depth:
            depth -= 1
            current.append(ch)
        elif ch == "," and not depth:
            fields.append(_typed("".join(current), was_quoted))
            current, was_quoted = [], False
        else:
            current.append(ch)
    fields.append(_typed("".join(current), was_quoted))
    if fields == [None]:
        return ()
    return tuple(fields)


def _typed(text: str, was_quoted: bool) -> Field:
    if was_quoted:
        return text
    text = text.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit() and text.count("-") <= 1:
        return int(text)
    return text
