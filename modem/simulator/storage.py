"""Message storages of the simulated modem ("SM" SIM, "ME" phone memory, "SR" reports).

Indices start at 1 like on SIMCom/Huawei/Quectel modules; a deleted slot is
reused first. Status values are TS 27.005's PDU-mode ``<stat>``:
0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
"""

from __future__ import annotations

from dataclasses import dataclass

REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT, ALL = 0, 1, 2, 3, 4
STAT_NAMES = {"REC UNREAD": 0, "REC READ": 1, "STO UNSENT": 2, "STO SENT": 3, "ALL": 4}


class StorageFull(Exception):
    """No free slot (the modem answers +CMS ERROR: 322)."""


@dataclass
class StoredMessage:
    """One slot: ``pdu`` is hex including the SMSC octets; ``length`` the TPDU octets."""

    memory: str
    index: int
    status: int
    pdu: str
    length: int


class MessageStore:
    """A fixed-capacity storage of PDUs."""

    def __init__(self, name: str, capacity: int):
        self.name = name
        self.capacity = capacity
        self._slots: dict[int, StoredMessage] = {}

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        return len(self._slots) >= self.capacity

    def add(self, pdu: str, length: int, status: int) -> StoredMessage:
        """Store a PDU in the lowest free index; raises :class:`StorageFull`."""
        for index in range(1, self.capacity + 1):
            if index not in self._slots:
                msg = StoredMessage(self.name, index, status, pdu.upper(), length)
                self._slots[index] = msg
                return msg
        raise StorageFull(self.name)

    def get(self, index: int) -> StoredMessage | None:
        return self._slots.get(index)

    def delete(self, index: int) -> bool:
        return self._slots.pop(index, None) is not None

    def delete_by_flag(self, flag: int) -> int:
        """AT+CMGD=<i>,<flag> for flag 1-4: 1 read, 2 read+sent, 3 read+sent+unsent, 4 all."""
        doomed = {1: {REC_READ}, 2: {REC_READ, STO_SENT}, 3: {REC_READ, STO_SENT, STO_UNSENT},
                  4: {REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT}}[flag]
        indices = [i for i, m in self._slots.items() if m.status in doomed]
        for i in indices:
            del self._slots[i]
        return len(indices)

    def messages(self, stat: int = ALL) -> list[StoredMessage]:
        return [m for _, m in sorted(self._slots.items()) if stat == ALL or m.status == stat]
