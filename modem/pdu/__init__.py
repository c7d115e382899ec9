"""TS 23.040 / TS 23.038 SMS PDU codec and message-cost planner.

Public API (see each function's docstring for the full contract):

    plan(text, transliterate=False, *, reference_bits=8) -> Plan
    encode_submit(number, text, *, status_report=True, validity=None, reference=None,
                  reference_bits=8, transliterate=False, message_reference=0) -> list[EncodedPdu]
    encode_deliver(sender, text, timestamp, *, reference=None, reference_bits=8,
                   smsc="+573000000000", protocol_id=0) -> list[EncodedPdu]
    encode_deliver_data(sender, data, timestamp, *, smsc=..., message_class=None) -> EncodedPdu
    encode_status_report(message_reference, recipient, service_centre_time, discharge_time,
                         status, *, smsc="+573000000000") -> EncodedPdu
    decode(pdu, *, smsc=True) -> Deliver | Submit | StatusReport      # raises PduError only
    status_class(status) -> "delivered" | "pending" | "failed"

Every error is :class:`modem.errors.PduError`. Numbers: international numbers are
"+<digits>", others plain digits; alphanumeric senders come back as their text.
CLI: ``python -m modem.pdu {decode,encode,plan} ...`` (see ``modem.pdu.__main__``).
"""

from modem.errors import PduError
from modem.pdu.decode import decode, parse_dcs
from modem.pdu.encode import encode_deliver, encode_deliver_data, encode_status_report, encode_submit
from modem.pdu.model import (DATA8, DELIVERED, FAILED, GSM7, PENDING, UCS2, Concat, Deliver, EncodedPdu, Plan,
                             StatusReport, Submit, status_class)
from modem.pdu.segments import plan, transliterate

__all__ = [
    "PduError", "decode", "parse_dcs", "encode_submit", "encode_deliver", "encode_deliver_data",
    "encode_status_report", "plan", "transliterate", "status_class", "Plan", "EncodedPdu", "Concat", "Deliver",
    "Submit", "StatusReport", "GSM7", "UCS2", "DATA8", "DELIVERED", "PENDING", "FAILED",
]
