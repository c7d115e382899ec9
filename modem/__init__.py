"""Everything that speaks to a GSM modem.

- ``modem.at``: sans-I/O AT protocol (bytes in, events out).
- ``modem.pdu``: TS 23.040 SMS PDU codec and message-cost planner.
- ``modem.driver``: our own driver on pyserial (one reader thread, one lock per transaction).
- ``modem.profiles``: per-modem quirks as data.
- ``modem.pool``: several modems behind one ``send`` (round-robin, per-SIM caps and pacing,
  parking of failing modems); exported here as ``ModemPool``, ``PoolMember``, ``SimLimits``,
  ``PoolSend``, ``MemberHealth`` (with ``modem.errors.NoModemAvailable``).
- ``modem.simulator``: a virtual modem on a pseudo-terminal plus a virtual network of phones.
- ``modem.errors``: the error tree.

This package imports nothing else of Cobrador's: it knows nothing of debtors,
ledgers or schedules.
"""

from modem.errors import NoModemAvailable
from modem.pool import MemberHealth, ModemPool, PoolMember, PoolSend, SimLimits

__all__ = ["MemberHealth", "ModemPool", "NoModemAvailable", "PoolMember", "PoolSend", "SimLimits"]
