"""What replies cause (pure), and the appliance applying it to a ledger exactly once."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.ledger import Ledger
from firmware_py.responder import INBOX, ReplyHandler
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy
from scheduler.replies import understand
from scheduler.responder import answer_window_ok, respond

BOGOTA = timezone(timedelta(hours=-5))
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=BOGOTA)  # Thursday
POLICY = load_policy(country="CO", cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))
ANA = Debtor("d-ana", "Ana Pérez", phones=(Phone("+573001110000"),))
LUIS = Debtor("d-luis", "Luis Díaz", phones=(Phone("+573002220000", personal=False),))
MARTA = Debtor("d-marta", "Marta Ríos", phones=(Phone("+573002220000", personal=False),))


def loan(id, debtor, due=date(2026, 11, 20), amount=150000):
    return Loan(id, debtor, instalments=(Instalment(1, due, Decimal(amount)), Instalment(2, due + timedelta(days=30),
                                                                                         Decimal(amount))))


LOANS = {"d-ana": (loan("L1", "d-ana"),), "d-luis": (loan("L2", "d-luis"),), "d-marta": (loan("L3", "d-marta"),)}


def reply(text, phone="+573001110000", debtor="d-ana", key="k1"):
    return ContactEvent(NOW, debtor, "reply", direction="inbound", phone=phone, text=text, contact_id=f"sms-in:{key}")


def effects(text, debtors=(ANA,), **kw):
    event = reply(text, **kw)
    return respond(event, understand(text, today=NOW.date()), debtors, LOANS, POLICY, NOW)


def test_opt_out_is_honoured_and_confirmed_even_at_night():
    result = effects("BAJA")
    assert result.opt_out == "+573001110000"
    assert result.answer.exempt and "No le enviaremos" in result.answer.text


def test_balance_to_a_personal_phone_shows_the_amounts():
    result = effects("SALDO")
    assert "$ 300.000" in result.answer.text and "20/11" in result.answer.text and not result.inbox


def test_balance_with_something_late_says_what_is_overdue_and_since_when_not_a_past_next_instalment():
    text = effects("SALDO").answer.text  # the first instalment was due on 20/11, it is the 26th
    assert "su saldo es $ 300.000. Vencido: $ 150.000 desde el 20/11. Ref L1." in text and "xima" not in text
    assert effects("SALDO").answer.contact_id.endswith(":balance")  # the answer's id is the kind's, whatever its words
    two = {"d-ana": (loan("L1", "d-ana"), loan("L9", "d-ana", due=date(2026, 11, 10), amount=50000))}
    text = respond(reply("SALDO"), understand("SALDO", today=NOW.date()), (ANA,), two, POLICY, NOW).answer.text
    assert "su saldo es $ 400.000. Vencido: $ 200.000 desde el 10/11. Ref L9." in text  # both loans' late amounts


def test_balance_on_time_gives_the_next_instalment_counted_on_the_debtors_own_day():
    evening = datetime(2026, 11, 26, 20, 0, tzinfo=BOGOTA).astimezone(timezone.utc)  # already the 27th in UTC
    due_today = {"d-ana": (loan("L1", "d-ana", due=date(2026, 11, 26)),)}
    result = respond(reply("SALDO"), understand("SALDO", today=date(2026, 11, 26)), (ANA,), due_today, POLICY,
                     evening)
    assert "xima cuota: $ 150.000 el 26/11. Ref L1." in result.answer.text and "Vencido" not in result.answer.text
    english = Debtor("d-ana", "Ana Pérez", phones=(Phone("+573001110000"),), language="en")
    late = respond(reply("SALDO"), understand("SALDO", today=NOW.date()), (english,), LOANS, POLICY, NOW)
    assert "Overdue: $ 150.000 since" in late.answer.text


def test_balance_to_a_shared_phone_discloses_nothing():
    result = effects("cuanto debo", debtors=(LUIS, MARTA), phone="+573002220000", debtor="d-luis")
    assert "$" not in result.answer.text and "oficina" in result.answer.text


def test_payment_claim_is_pending_never_a_payment():
    result = effects("ya pagué 50.000")
    assert result.claim.amount == Decimal(50000) and result.claim.loan_external_id == "L1"
    assert result.promise is None and "Verificaremos" in result.answer.text


def test_promise_records_the_date_and_the_overdue_amount():
    result = effects("PROMESA 1/12")
    assert result.promise.due_date == date(2026, 12, 1) and result.promise.amount == Decimal(150000)
    assert "01/12" in result.answer.text


@pytest.mark.parametrize("text,debtors,phone", [
    ("me pueden llamar?", (ANA,), "+573001110000"),
    ("PROMESA 01/12", (LUIS, MARTA), "+573002220000"),
    ("SALDO", (), "+573009999999"),
], ids=["free-text", "promise-from-a-shared-phone", "unknown-number"])
def test_what_needs_a_person_goes_to_the_inbox(text, debtors, phone):
    result = effects(text, debtors=debtors, phone=phone)
    assert result.inbox and result.answer is None and result.promise is None


def test_answers_wait_for_contact_hours_but_not_for_caps():
    night = datetime(2026, 11, 26, 21, 0, tzinfo=BOGOTA)
    assert answer_window_ok(POLICY, ANA, night) == datetime(2026, 11, 27, 7, 0, tzinfo=BOGOTA)
    assert answer_window_ok(POLICY, ANA, NOW) == NOW


def make_ledger():
    ledger = Ledger.memory()
    ledger.import_batch([ANA, LUIS, MARTA], [l for ls in LOANS.values() for l in ls], source="t", now=NOW)
    return ledger


def stored(ledger, text, **kw):
    return ledger.append_contact(reply(text, **kw))


def test_handler_applies_once_even_if_called_twice():
    ledger = make_ledger()
    handler = ReplyHandler(ledger, lambda: POLICY, clock=lambda: NOW)
    event = stored(ledger, "PROMESA 1/12")
    assert handler.handle(event).intent == "promise"
    assert handler.handle(event) is None
    assert len(ledger.promises("d-ana")) == 1
    assert [e.kind for e in ledger.contacts() if e.contact_id.startswith("auto:")] == ["planned"]
    assert handler.catch_up() == 0


def test_handler_catches_up_after_a_crash_without_duplicates():
    ledger = make_ledger()
    stored(ledger, "ya pague 20000", key="k9")
    handler = ReplyHandler(ledger, lambda: POLICY, clock=lambda: NOW)
    assert handler.catch_up() == 1
    assert [p.status for p in ledger.payments(debtor_id="d-ana")] == ["pending"]
    assert handler.catch_up() == 0


def test_opt_out_stops_planned_reminders_at_once_and_only_the_confirmation_goes():
    ledger = make_ledger()
    sent = []

    class Radio:
        def send(self, number, text, *, message_id, transliterate=False):
            from modem.sending import PartRef, SentSms

            sent.append((number, message_id, text))

            class R:
                member = "m"
                sent_sms = None
            result = R()
            result.sent = SentSms(message_id, number, "sent", 1, (PartRef(1, 1, 0.0),))
            return result

    night = datetime(2026, 11, 26, 22, 0, tzinfo=BOGOTA)
    handler = ReplyHandler(ledger, lambda: POLICY, clock=lambda: night)
    handler.handle(stored(ledger, "no me manden mas mensajes"))
    assert ledger.opted_out("+573001110000")
    Dispatcher(ledger, Radio(), lambda: POLICY, clock=lambda: night).drain()
    assert [m for _, m, _ in sent] == ["auto:sms-in:k1:opt_out"]   # at night: only the exempt confirmation
    morning = datetime(2026, 11, 27, 9, 0, tzinfo=BOGOTA)
    Dispatcher(ledger, Radio(), lambda: POLICY, clock=lambda: morning).drain()
    assert all(number != "+573001110000" or m.startswith("auto:") for number, m, _ in sent)
    assert len([m for _, m, _ in sent if m.startswith("auto:")]) == 1


def test_inbox_note_on_the_timeline():
    ledger = make_ledger()
    ReplyHandler(ledger, lambda: POLICY, clock=lambda: NOW).handle(stored(ledger, "<script>alert(1)</script>"))
    note = [e for e in ledger.contacts() if e.kind == "note"][0]
    assert note.text == INBOX and note.debtor_id == "d-ana"


def test_a_phone_that_answers_everything_does_not_get_answers_all_day():
    ledger = make_ledger()
    handler = ReplyHandler(ledger, lambda: POLICY, clock=lambda: NOW)
    results = [handler.handle(stored(ledger, "SALDO", key=f"k{i}")) for i in range(6)]
    answered = [r for r in results if r.answer is not None]
    assert len(answered) == 3 and all(r.inbox for r in results[3:])
    assert len([e for e in ledger.contacts(kinds=("planned",)) if e.contact_id.startswith("auto:")]) == 3
