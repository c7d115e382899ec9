"""Choosing the radio: a real modem on a serial port, or the built-in simulator.

With ``[modem] port = "auto"`` Cobrador looks for a plugged-in modem under
``/dev/serial/by-id`` (stable names that survive re-plugging, see
pi-appliance notes) and prefers the interface that carries AT commands. With
no modem found, or with ``--simulate``, the appliance runs against
``modem.simulator``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BY_ID_DIR = Path("/dev/serial/by-id")

# USB interface numbers that carry the primary AT port on modems we know
# (ModemManager port-type rules): Quectel EC25 and SIMCom SIM7600 use if02;
# Huawei E173 sticks in modem mode expose AT on if02 too (if00 is PPP).
_AT_INTERFACE = re.compile(r"-if0?2-port0$")


@dataclass(frozen=True)
class RadioChoice:
    """What to talk to: ``kind`` is ``"serial"`` (``port`` set) or ``"simulator"``; ``reason`` explains it."""

    kind: str
    port: str | None
    reason: str


def find_modem_ports(by_id_dir: Path = BY_ID_DIR) -> list[Path]:
    """Serial devices under ``by_id_dir``, the likely AT interface first; empty if none."""
    try:
        entries = sorted(p for p in by_id_dir.iterdir() if p.exists())
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    return sorted(entries, key=lambda p: (not _AT_INTERFACE.search(p.name), p.name))


def choose_radio(configured_port: str, *, simulate: bool, by_id_dir: Path = BY_ID_DIR) -> RadioChoice:
    """Decide which radio to use.

    ``configured_port`` is ``[modem] port``: ``"auto"``, a device path or a
    pyserial URL. ``simulate`` (``--simulate``) always wins.
    """
    if simulate:
        return RadioChoice("simulator", None, "se pidió el módem simulado (--simulate)")
    if configured_port and configured_port != "auto":
        return RadioChoice("serial", configured_port, "puerto configurado en [modem] port")
    ports = find_modem_ports(by_id_dir)
    if ports:
        return RadioChoice("serial", str(ports[0]), f"módem encontrado en {ports[0]}")
    return RadioChoice("simulator", None, "no hay ningún módem conectado: se usa el módem simulado")
