"""The byte pipe to the modem: a serial port opened by URL, reopenable.

:class:`SerialTransport` wraps :func:`serial.serial_for_url`, so ``url`` may
be a plain device path (``/dev/ttyUSB2``, a ``/dev/serial/by-id/...``
symlink, the simulator's pty or its ``link``) or any pyserial URL
(``loop://``, ``spy:///dev/ttyUSB2``, ``rfc2217://host:port``). Every
failure of the port — ``SerialException``, ``OSError`` (EIO after an unplug),
a closed port — surfaces as :class:`modem.errors.ModemDisconnected`, the one
error the driver's supervisor reacts to. :meth:`open` may be called again
after a failure: it opens the same URL afresh (a re-plugged USB modem gets a
new tty behind the same by-id symlink).
"""

from __future__ import annotations

import logging
import threading

import serial

try:
    from termios import error as _TermiosError
except ImportError:          # not POSIX
    class _TermiosError(Exception):
        pass

from modem.errors import ModemDisconnected

log = logging.getLogger("cobrador.modem.transport")


class SerialTransport:
    """A reopenable serial port. ``read_timeout`` bounds how long :meth:`read` blocks."""

    def __init__(self, url: str, *, baudrate: int = 115200, read_timeout: float = 0.1,
                 write_timeout: float = 10.0):
        self.url = str(url)
        self.baudrate = baudrate
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self._port: serial.SerialBase | None = None
        self._write_lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        port = self._port
        return port is not None and port.is_open

    def open(self) -> None:
        """Open (or reopen) the port. Raises ModemDisconnected when it cannot be opened."""
        self.close()
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.read_timeout,
                                         write_timeout=self.write_timeout, rtscts=False, dsrdtr=False,
                                         exclusive=True if "://" not in self.url else None)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ModemDisconnected(f"cannot open {self.url}: {exc}") from exc
        try:
            port.reset_input_buffer()
        except (serial.SerialException, OSError, _TermiosError):
            pass
        self._port = port
        log.info("opened %s", self.url)

    def read(self) -> bytes:
        """Bytes available now (waiting up to ``read_timeout`` for the first); b"" on timeout."""
        port = self._port
        if port is None:
            raise ModemDisconnected(f"{self.url} is not open")
        try:
            waiting = port.in_waiting
            return port.read(waiting or 1)
        except (serial.SerialException, OSError, _TermiosError, TypeError, AttributeError) as exc:
            # TypeError/AttributeError: pyserial internals after a concurrent close()
            raise ModemDisconnected(f"read from {self.url} failed: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Write all of ``data``. Raises ModemDisconnected when the port is gone."""
        port = self._port
        if port is None:
            raise ModemDisconnected(f"{self.url} is not open")
        with self._write_lock:
            try:
                port.write(data)
                port.flush()
            except (serial.SerialException, OSError, _TermiosError, TypeError, AttributeError) as exc:
                raise ModemDisconnected(f"write to {self.url} failed: {exc}") from exc

    def close(self) -> None:
        """Close the port; safe to call twice and from any thread."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError, _TermiosError):
                pass
