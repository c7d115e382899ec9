"""A deliberately dumb raw AT client on pyserial, for poking at the simulator (tests, debugging).

It is *not* the driver: it writes a line and collects raw bytes until a final
result code or the ``> `` prompt shows up, and it collects URCs only by
reading what else arrives. Use it to check what goes over the wire::

    with RawAtClient(sim.port) as at:
        at.command("ATE0")                  # -> "\\r\\nOK\\r\\n" (the raw answer text)
        at.lines("AT+CSQ")                  # -> ["+CSQ: 20,99", "OK"]
        at.wait_for("+CMTI:", timeout=2)    # -> the line
"""

from __future__ import annotations

import re
import time

import serial

FINAL = re.compile(r"\r\n(OK|ERROR|NO CARRIER|BUSY|NO ANSWER|NO DIALTONE|COMMAND NOT SUPPORT|"
                   r"\+CM[ES] ERROR:[^\r]*)\r\n")


class RawAtClient:
    """Opens ``port`` with pyserial; every method raises ``TimeoutError`` when the answer does not come."""

    def __init__(self, port: str, *, timeout: float = 3.0, **serial_kwargs):
        self.timeout = timeout
        self.serial = serial.Serial(port, timeout=0.05, **serial_kwargs)
        self.buffer = ""

    def close(self) -> None:
        if self.serial.is_open:
            self.serial.close()

    def __enter__(self) -> "RawAtClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def write(self, data: bytes | str) -> None:
        self.serial.write(data.encode("latin-1") if isinstance(data, str) else data)

    def read_until(self, pattern: str | re.Pattern, timeout: float | None = None) -> str:
        """Read until ``pattern`` (regex) matches the buffered text; return and consume the text up to the match end."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            m = regex.search(self.buffer)
            if m:
                out, self.buffer = self.buffer[:m.end()], self.buffer[m.end():]
                return out
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {regex.pattern!r} in {self.buffer!r}")
            chunk = self.serial.read(self.serial.in_waiting or 1)
            self.buffer += chunk.decode("latin-1")

    def command(self, line: str, timeout: float | None = None) -> str:
        """Send ``line`` + CR; return the raw text up to and including the final result."""
        self.write(line + "\r")
        return self.read_until(FINAL, timeout)

    def lines(self, line: str, timeout: float | None = None) -> list[str]:
        """Like :meth:`command` but as non-empty lines, echo included if echo is on."""
        return [part.strip() for part in self.command(line, timeout).split("\r\n") if part.strip()]

    def prompt(self, line: str, timeout: float | None = None) -> str:
        """Send ``line`` and wait for the ``> `` prompt."""
        self.write(line + "\r")
        return self.read_until(r"\r\n> ", timeout)

    def body(self, payload: str, terminator: bytes = b"\x1a", timeout: float | None = None) -> str:
        """After a prompt: send ``payload`` + Ctrl-Z (or ESC); return the text up to the final result."""
        self.write(payload.encode("latin-1") + terminator)
        return self.read_until(FINAL, timeout)

    def wait_for(self, prefix: str, timeout: float | None = None) -> str:
        """Wait for a whole line starting with ``prefix`` and return it (text before it is dropped)."""
        text = self.read_until(r"(?:^|\r\n)" + re.escape(prefix) + r"[^\r\n]*\r\n", timeout)
        return text.rstrip("\r\n").split("\r\n")[-1]

    def next_line(self, timeout: float | None = None) -> str:
        """The next non-empty line."""
        while True:
            line = self.read_until(r"\r\n", timeout)[:-2]
            if line.strip():
                return line.strip()

    def drain(self, quiet: float = 0.1) -> str:
        """Read whatever arrives until ``quiet`` seconds pass without bytes; return it (plus buffered)."""
        out, self.buffer = self.buffer, ""
        deadline = time.monotonic() + quiet
        while time.monotonic() < deadline:
            chunk = self.serial.read(4096)
            if chunk:
                out += chunk.decode("latin-1")
                deadline = time.monotonic() + quiet
        return out
