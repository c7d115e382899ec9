"""The sans-I/O AT protocol state machine: bytes in, events out.

:class:`AtParser` does no I/O, starts no threads and never sleeps. The driver
writes what :meth:`AtParser.command` / :meth:`AtParser.body` return to the
port, and hands every chunk it reads to :meth:`AtParser.feed`, which returns
the events completed by that chunk. The same bytes give the same events
however they are chunked (whole, byte by byte, or at random).

Framing: a line ends at ``\\r`` or ``\\n`` (so ``\\r\\n``, ``\\r\\r\\n``,
``\\n`` and a lone ``\\r`` all work); empty lines are skipped. The ``"> "``
prompt has no line ending: it is recognised at the start of a line while a
command sent with ``expect_prompt=True`` waits for it. NUL bytes are removed
(reported as :class:`Noise`); other bytes are decoded as UTF-8 with
``errors="replace"``. A line longer than ``max_line`` bytes is reported as
Noise (its first ``max_line`` bytes) and dropped up to the next line end.

Classification happens for every line *before* anything is collected, in this
order:

1. the body line owed to a ``+CMT``/``+CDS``/``+CBM`` header URC (unless the
   line is a final result, a known URC or ``+NAME:``-shaped: then the header
   had no body and is emitted with ``body=None``);
2. the continuation of a ``+CUSD`` text whose quote is still open (a final
   result or a known ``NAME:`` URC ends it early; bare words like ``RING`` are text);
3. the echo of the outstanding command (``ATE1``), and of the SMS body;
4. a final result code of the outstanding command (``NO CARRIER``/``BUSY``/...
   only for dial-like commands), which completes a :class:`Response`; with no
   command outstanding ``OK``/``ERROR``/``+CME``/``+CMS`` are Noise;
5. an information line of the outstanding command (its expected prefix, see
   :func:`modem.at.grammar.expectation_for`);
6. a known URC (profile grammar) -> :class:`Urc`;
7. the PDU line owed to a ``+CMGR:``/``+CMGL:`` line, or a bare answer line
   (``AT+CGSN``) -> collected;
8. otherwise an undecodable/control-character line is :class:`Noise` (after
   trying to salvage a known line from its clean tail) and anything else is an
   unknown :class:`Urc` (``known=False``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from modem.errors import AtProtocolError
from modem.profiles import Profile, get_profile

from .events import Event, FinalResult, Noise, Prompt, Response, Urc, parse_final
from .grammar import BODY_URCS, Expectation, UrcGrammar, expectation_for, split_name, urc_shaped

__all__ = ["AtParser"]

_TERMINATOR = re.compile(rb"[\r\n]")
_BAD_CHAR = re.compile(r"[\ufffd\x00-\x08\x0b-\x1f\x7f]")
_CTRL_Z, _ESC = b"\x1a", b"\x1b"
#: How many physical lines a +CUSD text with an open quote may span.
MAX_CONTINUATION_LINES = 24

#: The outstanding command's states, (state, input) -> next state (h11 style).
#: A command starts "sent"; only commands sent with ``expect_prompt`` take "prompt".
#: Pairs not in the table are not allowed: ``body()`` raises, a stray ``>`` is Noise.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("sent", "prompt"): "prompted",      # "> " arrived
    ("prompted", "body"): "body",        # body() sent payload + Ctrl-Z
    ("sent", "cancel"): "cancelled",     # cancel_body() before the prompt
    ("prompted", "cancel"): "cancelled",  # cancel_body() after it
}


@dataclass
class _Pending:
    command: str
    expect: Expectation
    expect_prompt: bool
    prompt: bytes = b">"         # what starts the prompt line (Quectel file uploads: b"CONNECT")
    state: str = "sent"          # see TRANSITIONS
    lines: list[str] = field(default_factory=list)
    echo_seen: bool = False
    payload: str | None = None
    body_echo_seen: bool = False
    owes_pdu: bool = False       # the last +CMGR:/+CMGL: line is owed its PDU line


class AtParser:
    """Sans-I/O AT protocol: commands out as bytes, bytes in, events out.

    ``profile`` (a :class:`~modem.profiles.Profile` or its name) selects the URC
    grammar; ``None`` knows the URCs of every profile. ``max_line`` bounds a
    line (and so the buffer); ``max_response_lines`` bounds one response.

    One command is outstanding at a time; :meth:`command` while another is
    outstanding raises :class:`~modem.errors.AtProtocolError` (a driver bug).
    :meth:`feed` never raises.
    """

    def __init__(self, profile: Profile | str | None = None, *, max_line: int = 4096,
                 max_response_lines: int = 4096):
        self.profile = get_profile(profile) if profile is not None else None
        self.grammar = UrcGrammar(self.profile)
        self.max_line = max_line
        self.max_response_lines = max_response_lines
        self._buf = bytearray()
        self._discarding = False
        self._pending: _Pending | None = None
        self._header: Urc | None = None
        self._continuation: list[str] | None = None

    # -- commands out -------------------------------------------------------

    @property
    def pending(self) -> str | None:
        """The outstanding command line (as given to :meth:`command`), or ``None``."""
        return self._pending.command if self._pending else None

    @property
    def awaiting_prompt(self) -> bool:
        """True while the outstanding command waits for its ``"> "`` prompt."""
        pending = self._pending
        return bool(pending and pending.expect_prompt and (pending.state, "prompt") in TRANSITIONS)

    @property
    def buffered(self) -> int:
        """Bytes of the current partial line held (never more than ``max_line``)."""
        return len(self._buf)

    def command(self, line: str, *, expect_prompt: bool = False, expect: tuple[str, ...] | str | None = None,
                bare: bool | None = None, prompt: bytes = b">") -> bytes:
        """Mark ``line`` outstanding and return the bytes to write (``b"AT...\\r"``).

        ``line`` may omit the leading ``AT``. ``expect_prompt``: the command
        (``AT+CMGS=<len>``) answers with ``"> "`` first. ``expect`` / ``bare``
        override the information-line prefixes / bare-line acceptance derived
        from the command. ``prompt``: the bytes that start the prompt (``b">"``; Quectel's
        ``AT+QFUPL`` answers ``CONNECT``). Raises :class:`~modem.errors.AtProtocolError` if a
        command is already outstanding, or ``line`` has line endings, Ctrl-Z/ESC
        or non-ASCII characters.
        """
        if self._pending is not None:
            raise AtProtocolError(f"{line!r} sent while {self._pending.command!r} is outstanding")
        line = line.strip(" \t")
        if line[:2].upper() != "AT":
            line = "AT" + line
        if any(ch in line for ch in "\r\n\x1a\x1b") or not line.isascii():
            raise AtProtocolError(f"invalid characters in command {line!r}")
        derived = expectation_for(line)
        if expect is not None:
            prefixes = (expect,) if isinstance(expect, str) else tuple(expect)
            derived = Expectation(prefixes, derived.bare, derived.pdu_follows, derived.call_results)
        if bare is not None:
            derived = Expectation(derived.prefixes, bare, derived.pdu_follows, derived.call_results)
        self._pending = _Pending(line, derived, expect_prompt, prompt)
        return line.encode("ascii") + b"\r"

    def body(self, payload: str) -> bytes:
        """After a :class:`Prompt`: the bytes that send ``payload`` (``payload + b"\\x1a"``).

        The answer (``+CMGS: <mr>`` / ``OK`` or ``+CMS ERROR``) completes the
        same command's :class:`Response`. Raises
        :class:`~modem.errors.AtProtocolError` when no prompt is waiting or the
        payload holds line endings, Ctrl-Z/ESC or non-ASCII characters.
        """
        pending = self._pending
        if pending is None or (pending.state, "body") not in TRANSITIONS:
            raise AtProtocolError("body() without a prompt waiting for it")
        if any(ch in payload for ch in "\r\n\x1a\x1b") or not payload.isascii():
            raise AtProtocolError("invalid characters in SMS body")
        pending.state, pending.payload = TRANSITIONS[pending.state, "body"], payload
        return payload.encode("ascii") + _CTRL_Z

    def raw_body(self, data: bytes) -> bytes:
        """After a :class:`Prompt`: ``data`` exactly as given, no terminator (a file upload of a
        counted length: SIM800 ``AT+FSWRITE``, Quectel ``AT+QFUPL``). Raises
        :class:`~modem.errors.AtProtocolError` when no prompt is waiting."""
        pending = self._pending
        if pending is None or (pending.state, "body") not in TRANSITIONS:
            raise AtProtocolError("raw_body() without a prompt waiting for it")
        pending.state = TRANSITIONS[pending.state, "body"]
        return bytes(data)

    def cancel_body(self) -> bytes:
        """The bytes that abort a prompt (``b"\\x1b"``). The command stays outstanding:
        wait briefly for its final result, then :meth:`abandon` it."""
        pending = self._pending
        if pending is not None and (pending.state, "cancel") in TRANSITIONS:
            pending.state = TRANSITIONS[pending.state, "cancel"]
        return _ESC

    def abandon(self) -> str | None:
        """Forget the outstanding command (after a timeout); return it. A late final result becomes Noise."""
        pending, self._pending = self._pending, None
        return pending.command if pending else None

    def reset(self) -> None:
        """Forget everything: partial line, outstanding command, owed bodies (after the port reopens)."""
        self._buf.clear()
        self._discarding = False
        self._pending = None
        self._header = None
        self._continuation = None

    # -- bytes in -----------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data`` (any chunk of the byte stream); return the events it completed. Never raises."""
        events: list[Event] = []
        if not data:
            return events
        self._buf += data
        start = 0
        buf = self._buf
        while True:
            match = _TERMINATOR.search(buf, start)
            if match is None:
                break
            end = match.start()
            if self._discarding:
                self._discarding = False
            elif end > start:
                self._raw_line(bytes(buf[start:end]), events)
            start = end + 1
        del buf[:start]
        if self._discarding:
            buf.clear()
            return events
        # The prompt is taken before the length bound, as in _raw_line, so events never depend on chunking.
        if buf and self.awaiting_prompt:
            rest = self._take_prompt(bytes(buf), events)
            if rest is not None:
                buf[:] = rest
        if len(buf) > self.max_line:
            events.append(Noise(bytes(buf[: self.max_line]), f"line longer than {self.max_line} bytes dropped"))
            self._discarding = True
            buf.clear()
        return events

    # -- lines --------------------------------------------------------------

    def _take_prompt(self, raw: bytes, events: list[Event]) -> bytes | None:
        """If ``raw`` (the start of a line) is the prompt, emit it and return what follows ``>``."""
        stripped = raw.lstrip(b" \t\x00")
        assert self._pending is not None
        if stripped.startswith(self._pending.prompt):
            self._pending.state = TRANSITIONS[self._pending.state, "prompt"]
            events.append(Prompt())
            return stripped[len(self._pending.prompt):]
        return None

    def _raw_line(self, raw: bytes, events: list[Event]) -> None:
        if self.awaiting_prompt:
            rest = self._take_prompt(raw, events)
            if rest is not None:
                raw = rest
        if len(raw) > self.max_line:
            events.append(Noise(raw[: self.max_line], f"line longer than {self.max_line} bytes dropped"))
            return
        if b"\x00" in raw:
            events.append(Noise(raw, "NUL bytes removed"))
            raw = raw.replace(b"\x00", b"")
        text = raw.decode("utf-8", "replace").strip(" \t")
        if text:
            self._line(text, raw, events)

    def _line(self, text: str, raw: bytes, events: list[Event]) -> None:
        if self._continuation is not None:
            if self._continue_ussd(text, events):
                return
        if self._header is not None:
            header, self._header = self._header, None
            if not (self._recognised(text) or urc_shaped(text)):
                events.append(Urc(header.name, header.value, header.line, text))
                return
            events.append(header)
        self._classify(text, raw, events)

    def _recognised(self, text: str) -> bool:
        """A final result or a known URC: never taken as a body/continuation line."""
        return parse_final(text, call_results=True) is not None or self.grammar.match(text) is not None

    def _continue_ussd(self, text: str, events: list[Event]) -> bool:
        """Add ``text`` to the open +CUSD text; return False if it ends the text without belonging to it."""
        parts = self._continuation
        assert parts is not None
        ends_text = (parse_final(text, call_results=False) is not None
                     or (":" in text and self.grammar.match(text) is not None))
        if not ends_text:
            parts.append(text)
        if ends_text or "\n".join(parts).count('"') % 2 == 0 or len(parts) >= MAX_CONTINUATION_LINES:
            self._continuation = None
            self._emit_urc("\n".join(parts), events, may_continue=False)
        return not ends_text

    def _classify(self, text: str, raw: bytes, events: list[Event]) -> None:
        pending = self._pending
        if pending is not None and self._is_echo(pending, text):
            return
        final = parse_final(text, call_results=pending.expect.call_results if pending else False)
        if final is not None:
            if pending is None:
                events.append(Noise(raw, "final result with no command outstanding"))
            else:
                self._finish(final, events)
            return
        if pending is not None and text.startswith(pending.expect.prefixes):
            self._collect(pending, text, events)
            pending.owes_pdu = pending.expect.pdu_follows
            return
        if self.grammar.match(text) is not None:
            self._emit_urc(text, events)
            return
        if pending is not None and not urc_shaped(text) and not _BAD_CHAR.search(text):
            if pending.owes_pdu:
                pending.owes_pdu = False
                self._collect(pending, text, events)
                return
            if pending.expect.bare:
                self._collect(pending, text, events)
                return
        if _BAD_CHAR.search(text):
            self._garbled(text, raw, events)
            return
        if text.startswith(">"):
            events.append(Noise(raw, "prompt with no command waiting for one"))
            return
        name, value = split_name(text)
        events.append(Urc(name, value, text, None, False))

    def _is_echo(self, pending: _Pending, text: str) -> bool:
        if pending.state == "body" and not pending.body_echo_seen and pending.payload is not None:
            if text.rstrip("\x1a\x1b \t") == pending.payload:
                pending.body_echo_seen = True
                return True
        if not pending.echo_seen and pending.state == "sent" and not pending.lines:
            if text.casefold() == pending.command.casefold():
                pending.echo_seen = True
                return True
        return False

    def _collect(self, pending: _Pending, text: str, events: list[Event]) -> None:
        if len(pending.lines) >= self.max_response_lines:
            events.append(Noise(text.encode("utf-8", "replace"),
                                f"response longer than {self.max_response_lines} lines; line dropped"))
        else:
            pending.lines.append(text)

    def _finish(self, final: FinalResult, events: list[Event]) -> None:
        pending, self._pending = self._pending, None
        assert pending is not None
        events.append(Response(pending.command, tuple(pending.lines), final))

    def _emit_urc(self, text: str, events: list[Event], *, may_continue: bool = True) -> None:
        match = self.grammar.match(text.split("\n", 1)[0])
        name, value = match if match is not None else split_name(text)
        if match is not None and "\n" in text:
            value = text.partition(":")[2].strip()
        if name in BODY_URCS:
            self._header = Urc(name, value, text)
            return
        if name == "+CUSD" and text.count('"') % 2 and may_continue:
            self._continuation = [text]
            return
        events.append(Urc(name, value, text, None, match is not None))

    def _garbled(self, text: str, raw: bytes, events: list[Event]) -> None:
        """A line with undecodable bytes or control characters: salvage a known tail, else Noise."""
        tail = _BAD_CHAR.split(text)[-1].strip(" \t")
        if tail and tail != text and self._recognised(tail):
            head = raw[: len(raw) - len(tail.encode("utf-8"))] if raw.endswith(tail.encode("utf-8")) else raw
            events.append(Noise(head, "garbage before a line"))
            self._classify(tail, tail.encode("utf-8"), events)
            return
        events.append(Noise(raw, "undecodable bytes or control characters"))
