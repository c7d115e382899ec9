"""Splitting an AT command line into commands (ITU-T V.250 §5.2 syntax).

``AT`` is followed by any number of commands: basic ones run together
(``ATE0V1``, ``AT&W``, ``ATS0=0``), extended ones (``+CMGS``, ``^USSDMODE``)
separated by ``;`` (``AT+CLTS=1;&W``). ``D`` (dial) takes the rest of the line.

Each command has a *form*: ``exec`` (``AT+CSQ``), ``set`` (``AT+CMEE=1``),
``read`` (``AT+CREG?``) or ``test`` (``AT+CPMS=?``). Pure functions, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXTENDED = re.compile(r"([+^$%*#!][A-Za-z0-9_.%#!-]*)(=\?|\?|=)?(.*)", re.S)
_FORMS = {None: "exec", "=": "set", "?": "read", "=?": "test"}


class AtSyntaxError(ValueError):
    """The line is not valid AT syntax (the modem answers ERROR)."""


@dataclass(frozen=True)
class Command:
    """One command of a line.

    ``name``: upper-case, with its prefix (``"+CMGS"``, ``"^USSDMODE"``, ``"E"``,
    ``"&W"``, ``"S0"``, ``"D"``); ``form``: exec/set/read/test; ``arg``: the raw
    text after ``=`` (set), the digits of a basic command, or the dial string;
    ``text``: the command as sent, without ``AT`` (used to match fault rules).
    """

    name: str
    form: str
    arg: str
    text: str

    @property
    def args(self) -> list[str]:
        """``arg`` split on commas outside quotes, each stripped and unquoted."""
        return split_args(self.arg)

    def quoted(self, index: int) -> bool:
        """True when argument ``index`` was given as a quoted string."""
        raw = _split_raw(self.arg)
        return index < len(raw) and raw[index].strip().startswith('"')


def parse_line(line: str) -> list[Command]:
    """Commands in ``line`` (which starts with ``AT``, any case).

    Raises :class:`AtSyntaxError` when the line does not start with ``AT`` or
    holds something that is not a command.
    """
    if line[:2].upper() != "AT":
        raise AtSyntaxError(f"not a command line: {line!r}")
    body = line[2:]
    commands: list[Command] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c in " ;":
            i += 1
            continue
        if c in "+^$%*#!":
            j = _scan_to_semicolon(body, i)
            text = body[i:j].rstrip()
            m = _EXTENDED.fullmatch(text)
            if m is None or len(m.group(1)) < 2:
                raise AtSyntaxError(f"bad extended command {text!r}")
            op = m.group(2)
            arg = m.group(3) if op == "=" else m.group(3).strip()
            if op in ("?", "=?") and arg:
                raise AtSyntaxError(f"junk after {text!r}")
            commands.append(Command(m.group(1).upper(), _FORMS[op], arg, text))
            i = j
        elif c == "&":
            if i + 1 >= n or not body[i + 1].isalpha():
                raise AtSyntaxError("bad & command")
            j = i + 2
            while j < n and body[j].isdigit():
                j += 1
            commands.append(Command("&" + body[i + 1].upper(), "exec", body[i + 2:j], body[i:j]))
            i = j
        elif c in "Dd":
            text = body[i:]
            commands.append(Command("D", "exec", text[1:].strip(), text))
            break
        elif c in "Ss":
            m = re.match(r"[Ss](\d+)(=\?|\?|=)?(\d*)", body[i:])
            if m is None:
                raise AtSyntaxError("bad S-register command")
            commands.append(Command("S" + m.group(1), _FORMS[m.group(2)], m.group(3), m.group(0)))
            i += m.end()
        elif c.isalpha():
            j = i + 1
            while j < n and body[j].isdigit():
                j += 1
            form = "exec"
            if j < n and body[j] == "?":
                form, j = "read", j + 1
            commands.append(Command(c.upper(), form, body[i + 1:j].rstrip("?"), body[i:j]))
            i = j
        else:
            raise AtSyntaxError(f"unexpected {c!r}")
    return commands


def split_args(arg: str) -> list[str]:
    """Comma-separated arguments, quotes removed: ``'1,"*611#",15'`` -> ``["1", "*611#", "15"]``."""
    out = []
    for raw in _split_raw(arg):
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        out.append(raw)
    return out


def _split_raw(arg: str) -> list[str]:
    if arg == "":
        return []
    parts, current, quoted = [], [], False
    for ch in arg:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _scan_to_semicolon(body: str, i: int) -> int:
    quoted = False
    while i < len(body):
        ch = body[i]
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            return i
        i += 1
    return i
