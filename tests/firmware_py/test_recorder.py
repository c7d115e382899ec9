"""Driver events into the contact log: stored before acked, recorded once."""

import queue
from datetime import datetime, timezone

import pytest

from firmware_py.ledger import Ledger
from firmware_py.recorder import EventRecorder
from modem.events import DeliveryUpdate, IncomingSms, PartStatus, UndecodableSms, _Ack
from scheduler.model import Debtor, Phone

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc).timestamp()


def make_ledger():
    ledger = Ledger.memory()
    debtors = [Debtor(id="d1", name="Ana", phones=(Phone("+573001112233", personal=False),)),
               Debtor(id="d2", name="Luis", phones=(Phone("+573001112233", personal=False),))]
    ledger.import_batch(debtors, [], source="test")
    return ledger


def incoming(ledger, text, acks, key="k1", sender="+573001112233", **kw):
    """A real driver event whose ack notes how many replies the ledger held at that moment."""
    def ack():
        acks.append((key, len(ledger.contacts(kinds=["reply"]))))
        return True
    return IncomingSms(sender=sender, text=text, timestamp=None, message_key=key, at=NOW, _ack=_Ack(ack), **kw)


def test_reply_is_stored_for_every_debtor_sharing_the_phone_before_the_ack():
    ledger = make_ledger()
    acks = []
    EventRecorder(ledger, queue.Queue()).handle(incoming(ledger, "PAGUÉ", acks))
    replies = ledger.contacts(kinds=["reply"])
    assert sorted(r.debtor_id for r in replies) == ["d1", "d2"]
    assert acks == [("k1", 2)]   # the ack came after both were on the ledger


def test_the_same_message_offered_twice_is_recorded_once_and_acked_twice():
    ledger = make_ledger()
    acks = []
    recorder = EventRecorder(ledger, queue.Queue())
    recorder.handle(incoming(ledger, "BAJA", acks, sender="+573009990000"))
    recorder.handle(incoming(ledger, "BAJA", acks, sender="+573009990000"))
    assert len(ledger.contacts(kinds=["reply"])) == 1
    assert len(acks) == 2


def test_incomplete_and_undecodable_messages_are_kept_with_a_spanish_detail():
    ledger = make_ledger()
    acked = []
    recorder = EventRecorder(ledger, queue.Queue())
    recorder.handle(incoming(ledger, "PROMESA 15/", acked, key="k2", complete=False, parts_total=3, parts_received=2))
    recorder.handle(UndecodableSms(pdu="07FF", error="truncated", sim_index=4, at=NOW,
                                   _ack=_Ack(lambda: acked.append("bad") or True)))
    details = sorted(r.detail for r in ledger.contacts(kinds=["reply"]))
    assert any("llegaron 2 de 3 partes" in d for d in details)
    assert any("mensaje ilegible" in d for d in details)
    assert "bad" in acked


def test_final_delivery_reports_are_logged_and_interim_ones_are_not():
    ledger = make_ledger()
    recorder = EventRecorder(ledger, queue.Queue())
    part = PartStatus(sequence=1, mr=7, state="pending", status=0x20)
    recorder.handle(DeliveryUpdate("m1", "+573001112233", "pending", (part,), final=False, at=NOW))
    assert ledger.contacts(kinds=["delivered", "failed", "uncertain"]) == ()
    done = PartStatus(sequence=1, mr=7, state="delivered", status=0)
    recorder.handle(DeliveryUpdate("m1", "+573001112233", "delivered", (done,), final=True, at=NOW))
    delivered = ledger.contacts(kinds=["delivered"])
    assert {d.debtor_id for d in delivered} == {"d1", "d2"} and delivered[0].reference == "m1"


def test_a_bad_event_does_not_stop_the_thread():
    ledger = make_ledger()
    events = queue.Queue()
    recorder = EventRecorder(ledger, events)
    recorder.start()
    events.put(object.__new__(IncomingSms))          # a broken event: no fields at all
    events.put(IncomingSms(sender="+573001112233", text="SALDO", timestamp=None, message_key="k9", at=NOW))
    recorder.close()
    assert [r.text for r in ledger.contacts(kinds=["reply"])][:1] == ["SALDO"]


def test_a_sender_in_national_form_is_linked_to_the_debtor():
    ledger = make_ledger()
    acks = []
    EventRecorder(ledger, queue.Queue(), country="CO").handle(incoming(ledger, "BAJA", acks, sender="3001112233"))
    replies = ledger.contacts(kinds=["reply"])
    assert sorted(r.debtor_id for r in replies) == ["d1", "d2"]
    assert {r.phone for r in replies} == {"+573001112233"} and "3001112233" in replies[0].detail


def test_alphanumeric_senders_stay_as_they_are():
    ledger = make_ledger()
    EventRecorder(ledger, queue.Queue()).handle(incoming(ledger, "Su recarga", [], sender="Claro"))
    assert [(r.phone, r.debtor_id) for r in ledger.contacts(kinds=["reply"])] == [("Claro", "")]


def test_undecodable_parts_sharing_a_header_are_each_kept_with_their_pdu():
    """Parts of one multipart share SMSC, sender, DCS and timestamp: a key on the PDU's start would merge them."""
    ledger = make_ledger()
    recorder = EventRecorder(ledger, queue.Queue())
    header = "07915730000000F0" + "440C915730011122330020" + "62113251000000" + "A0"
    pdus = [header + "050003A70301" + "AB" * 150, header + "050003A70302" + "CD" * 150]
    for i, pdu in enumerate(pdus):
        recorder.handle(UndecodableSms(pdu=pdu, error="compressed", sim_index=i, at=NOW, _ack=_Ack(lambda: True)))
    kept = ledger.contacts(kinds=["reply"])
    assert len(kept) == 2
    assert sorted(pdu in r.detail for r in kept for pdu in pdus).count(True) == 2


def test_a_report_for_a_shared_phone_lands_on_the_contact_that_caused_it():
    from scheduler.model import ContactEvent
    ledger = make_ledger()
    sent_at = datetime.fromtimestamp(NOW - 60, tz=timezone.utc)
    cid = "d2:L9:1:0"
    ledger.append_contact(ContactEvent(sent_at, "d2", "sending", phone="+573001112233", contact_id=cid,
                                       loan_external_id="L9"))
    update = DeliveryUpdate(message_id=cid, number="+573001112233", state="delivered",
                            parts=(PartStatus(1, 7, "delivered", 0),), final=True, at=NOW)
    EventRecorder(ledger, queue.Queue()).handle(update)
    delivered = ledger.contacts(kinds=["delivered"])
    assert [(e.debtor_id, e.contact_id, e.loan_external_id) for e in delivered] == [("d2", cid, "L9")]


def test_expired_report_is_expired_not_uncertain():
    from scheduler.model import ContactEvent
    ledger = make_ledger()
    cid = "d1:L1:1:+3"
    ledger.append_contact(ContactEvent(datetime.fromtimestamp(NOW - 99999, tz=timezone.utc), "d1", "sending",
                                       phone="+573001112233", contact_id=cid))
    EventRecorder(ledger, queue.Queue()).handle(
        DeliveryUpdate(message_id=cid, number="+573001112233", state="expired", parts=(), final=True, at=NOW))
    assert [e.kind for e in ledger.contacts() if e.contact_id == cid] == ["sending", "expired"]


def test_a_reoffer_after_the_clock_jumped_a_year_is_still_recorded_once():
    ledger = make_ledger()
    acks = []
    recorder = EventRecorder(ledger, queue.Queue())
    first = incoming(ledger, "SALDO", acks, key="k7")
    recorder.handle(first)
    later = IncomingSms(sender=first.sender, text="SALDO", timestamp=None, message_key="k7",
                        at=NOW + 400 * 86400, _ack=_Ack(lambda: True))
    recorder.handle(later)
    assert len([e for e in ledger.contacts(kinds=["reply"]) if e.debtor_id == "d1"]) == 1


def test_a_call_to_the_box_is_stored_once_as_a_call_reply_and_handed_on():
    from modem.events import IncomingCall

    ledger = make_ledger()
    handed = []
    recorder = EventRecorder(ledger, queue.Queue(), on_reply=handed.append)
    call = IncomingCall("3001112233", NOW, "rejected")          # national form, as some networks give it
    recorder.handle(call)
    recorder.handle(call)                                        # the same call reported twice
    replies = ledger.contacts(kinds=["reply"])
    assert sorted(r.debtor_id for r in replies) == ["d1", "d2"] and len(handed) == 2
    assert all(r.channel == "call" and r.phone == "+573001112233" and r.reference == "llamada entrante"
               and "se colgó" in r.detail and r.text == "" for r in replies)
    recorder.handle(IncomingCall(None, NOW + 60, "missed"))      # a withheld number: linked to nobody
    hidden = [r for r in ledger.contacts(kinds=["reply"]) if r.debtor_id == ""]
    assert len(hidden) == 1 and "oculto" in hidden[0].detail


@pytest.mark.parametrize("state,parts,expected", [
    ("delivered", ((1, "delivered", 0x00),), ""),  # the kind says it all
    ("delivered", ((1, "delivered", 0x00), (2, "delivered", 0x00)), "entregado (las 2 partes)"),
    ("failed", ((1, "failed", 0x62),), "no entregado: el teléfono no respondió (apagado o sin señal) (estado 0x62)"),
    ("failed", ((1, "delivered", 0x00), (2, "failed", 0x41)),
     "parte 1: entregado; parte 2: no entregado: destino incompatible (estado 0x41)"),
    ("failed", ((1, "failed", 0x7A),), "no entregado: error temporal de la red (estado 0x7A)"),  # reserved code
    ("expired", (), "sin informe de entrega a tiempo"),
], ids=["delivered", "two-parts", "no-answer", "one-part-of-two", "unknown-code", "expired"])
def test_a_delivery_report_is_written_in_words_staff_read(state, parts, expected):
    """The contact log and the dashboard's last error show the detail: Spanish, with the report's code."""
    from scheduler.model import ContactEvent
    ledger = make_ledger()
    cid = "d1:L1:1:0"
    ledger.append_contact(ContactEvent(datetime.fromtimestamp(NOW - 60, tz=timezone.utc), "d1", "sending",
                                       phone="+573001112233", contact_id=cid))
    update = DeliveryUpdate(cid, "+573001112233", state, tuple(PartStatus(n, 7 + n, s, c) for n, s, c in parts),
                            final=True, at=NOW)
    EventRecorder(ledger, queue.Queue()).handle(update)
    assert [e.detail for e in ledger.contacts(kinds=[state])] == [expected]
