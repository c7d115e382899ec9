"""The command table of the simulated modem: command name -> handler.

A handler is ``fn(device, command) -> None | list[str] | Prompt | Later`` and
raises :class:`~modem.simulator.results.Reject` (or a CME/CMS subclass) to
fail. Register one with::

    @handles("+CSQ")
    def csq(dev, cmd): ...

``needs_sim=True`` makes the command answer ``+CME ERROR: 11`` (or 12) while
the SIM is locked. One module per area: :mod:`.basic` (V.250 and identity),
:mod:`.simcard`, :mod:`.network_cmds`, :mod:`.sms`, :mod:`.ussd`,
:mod:`.voice` (the place where call commands go), :mod:`.audio` (uploads and playing
clips into a call), :mod:`.probes`
(phonebook and other commands clients such as gammu probe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Entry:
    fn: Callable
    needs_sim: bool = False
    vendor: bool = False     # only on profiles listing it in Persona.vendor_commands

    def offered_by(self, persona, name: str) -> bool:
        return not self.vendor or name in persona.vendor_commands


REGISTRY: dict[str, Entry] = {}


def handles(*names: str, needs_sim: bool = False, vendor: bool = False):
    """Decorator: register ``fn`` for each command name (upper case, with its prefix).

    ``vendor=True``: the command exists only on profiles that list it in
    ``Persona.vendor_commands`` (others answer ERROR, as for any unknown command).
    """
    def register(fn):
        for name in names:
            REGISTRY[name.upper()] = Entry(fn, needs_sim, vendor)
        return fn
    return register


def int_arg(value: str, low: int, high: int) -> int:
    """Parse an integer argument in ``[low, high]``; raises Reject."""
    from modem.simulator.results import Reject
    try:
        number = int(value)
    except ValueError:
        raise Reject() from None
    if not low <= number <= high:
        raise Reject()
    return number


from modem.simulator.handlers import audio, basic, network_cmds, probes, simcard, sms, ussd, voice  # noqa: E402,F401
