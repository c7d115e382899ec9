"""What the modem does with a message the network hands it (SMS-DELIVER or SMS-STATUS-REPORT).

Routing follows ``AT+CNMI=<mode>,<mt>,<bm>,<ds>,<bfr>`` (TS 27.005 §3.4.1):

- DELIVER, mt=2 (and mode != 0): routed, ``+CMT: ,<len>`` + PDU line, not stored;
  with ``AT+CSMS=1`` the client must ``AT+CNMA`` within ``device.cnma_timeout``
  seconds, else (TS 27.005 §3.4.1) the modem sets <mt> and <ds> of +CNMI to 0
  and the network delivers the message again later (then stored silently).
- DELIVER otherwise: stored in the ``<mem3>`` of ``AT+CPMS``; mt=1/3 announce it
  as ``+CMTI: "<mem>",<index>``. A full storage refuses it (returns False: the
  network keeps it) and prints the persona's memory-full URC.
- STATUS-REPORT, ds=1: ``+CDS: <len>`` + PDU line; ds=2: stored in the
  profile's report storage and announced as ``+CDSI: "<mem>",<index>``;
  ds=0: not routed (dropped, as the client did not ask).

Both functions return False when the modem cannot take the message now
(off, booting, unregistered, SIM locked, storage full).
"""

from __future__ import annotations

from modem.simulator.storage import REC_UNREAD, StorageFull


def receive_deliver(dev, pdu: str, length: int) -> bool:
    if not dev.can_receive:
        return False
    mode, mt = dev.settings.cnmi[0], dev.settings.cnmi[1]
    if mt == 2 and mode != 0:
        dev.urc(f"+CMT: ,{length}", pdu)
        if dev.settings.csms == 1:
            token = object()
            dev.cnma_waiting.append((token, pdu, length))
            dev.host.call_later(dev.cnma_timeout, _cnma_expired, dev, dev.generation, token)
        return True
    store = dev.stores[dev.settings.cpms[2]]
    try:
        msg = store.add(pdu, length, REC_UNREAD)
    except StorageFull:
        if dev.persona.memory_full_urc:
            dev.urc(dev.persona.memory_full_urc.replace("{mem}", store.name))
        return False
    if mt in (1, 2, 3) and mode != 0:
        dev.urc(f'+CMTI: "{store.name}",{msg.index}')
    return True


def receive_status_report(dev, pdu: str, length: int) -> bool:
    if not dev.can_receive:
        return False
    mode, ds = dev.settings.cnmi[0], dev.settings.cnmi[3]
    if ds == 0 or mode == 0:
        return True
    if ds == 1:
        dev.urc(f"+CDS: {length}", pdu)
        return True
    store = dev.stores[dev.persona.report_storage]
    try:
        msg = store.add(pdu, length, REC_UNREAD)
    except StorageFull:
        if dev.persona.memory_full_urc:
            dev.urc(dev.persona.memory_full_urc.replace("{mem}", store.name))
        return False
    dev.urc(f'+CDSI: "{store.name}",{msg.index}')
    return True


def _cnma_expired(dev, generation: int, token: object) -> None:
    if generation != dev.generation:
        return
    for entry in dev.cnma_waiting:
        if entry[0] is token:
            break
    else:
        return                                  # acknowledged in time
    dev.cnma_waiting.remove(entry)
    mode, _, bm, _, bfr = dev.settings.cnmi
    dev.settings.cnmi = (mode, 0, bm, 0, bfr)   # routing to the TE switched off
    dev.host.network.redeliver(entry[1], entry[2])
