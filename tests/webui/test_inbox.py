"""The inbox: replies needing a person (written by the real responder), marking them handled, answering within
the rules (the real dispatcher sends the answer once), payment claims confirmed or rejected; roles, bad input,
English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.responder import ReplyHandler
from modem.sending import PartRef, SentSms
from scheduler.clock import ClockTrust
from scheduler.dispatcher import Dispatcher
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone
from scheduler.policy import load_policy
from webui.services import Services

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the clock of conftest's ledger and services

POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Coop Esperanza", timezone="America/Bogota").with_clock(
    ClockTrust(True, "network", "hora confirmada por la red móvil"))
ANA, BETO, CARLA = "+573001110001", "+573001110002", "+573001110003"
SHARED = "+573009990000"


class Box:
    def __init__(self):
        self.policy_value = POLICY
        self.woken = 0

    def policy(self):
        return self.policy_value

    def wake(self):
        self.woken += 1


@pytest.fixture
def box():
    return Box()


@pytest.fixture
def services(ledger, box):
    return Services(ledger=ledger, cooperative="Coop Esperanza", version="test", now=lambda: NOW,
                    policy=box.policy, wake=box.wake, timezone="America/Bogota", country="CO")


@pytest.fixture
def people(ledger):
    """Ana (one loan), Beto (two loans), Carla; Beto and Carla share a number."""
    debtors = [Debtor("d-ana", "Ana Ruiz", phones=(Phone(ANA),)),
               Debtor("d-beto", "Beto <b>Gómez</b>", phones=(Phone(BETO), Phone(SHARED))),
               Debtor("d-carla", "Carla Díaz", phones=(Phone(CARLA), Phone(SHARED)))]
    loans = [Loan("A1", "d-ana", instalments=(Instalment(1, date(2026, 12, 15), Decimal(150000)),)),
             Loan("B1", "d-beto", instalments=(Instalment(1, date(2026, 12, 15), Decimal(90000)),)),
             Loan("B2", "d-beto", instalments=(Instalment(1, date(2026, 12, 20), Decimal(50000)),)),
             Loan("C1", "d-carla", instalments=(Instalment(1, date(2026, 12, 15), Decimal(70000)),))]
    ledger.import_batch(debtors, loans, source="test", now=NOW)
    return ledger


def receive(ledger, number: str, text: str, key: str, at: datetime | None = None):
    """Store a reply as the recorder does (one event per debtor on the number) and let the responder act."""
    at = at or NOW - timedelta(minutes=30)
    owners = [d.id for d in ledger.debtors_by_phone(number)] or [""]
    stored = [ledger.append_contact(ContactEvent(at, owner, "reply", direction="inbound", phone=number,
                                                 contact_id=f"sms-in:{key}", text=text)) for owner in owners]
    handler = ReplyHandler(ledger, lambda: POLICY, clock=lambda: at)
    for reply in stored:
        handler.handle(reply)
    return stored


def inbox_key(ledger, key: str) -> str:
    notes = [e for e in ledger.contacts(kinds=("note",)) if e.contact_id == f"sms-in:{key}:tratado"]
    assert notes and notes[0].text == "bandeja", notes
    return notes[0].id


def body(response) -> str:
    return response.get_data(as_text=True)


@dataclass(frozen=True)
class Sent:
    member: str
    sent: SentSms


class Radio:
    def __init__(self):
        self.calls = []

    def send(self, number, text, *, message_id, transliterate=False):
        self.calls.append((number, text, message_id))
        return Sent("m1", SentSms(message_id, number, "sent", 1, (PartRef(len(self.calls), 1, 0.0),)))


# -- the list -------------------------------------------------------------------------------------------------------
def test_inbox_needs_login(app, admin):
    from webclient import Client

    anonymous = Client(app)
    for url in ("/bandeja", "/bandeja/respuesta/x"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/entrar" in response.headers["Location"]


def test_replies_for_a_person_are_listed_once_with_the_debtors(admin, people):
    receive(people, ANA, "<script>alert(1)</script> ¿quién es usted?", "k1")
    receive(people, SHARED, "ya pagué 50000", "k2")      # shared number: the responder cannot tell whose
    receive(people, "+573005550000", "hola", "k3")        # nobody's number
    receive(people, ANA, "SALDO", "k4")                  # answered automatically: not in the inbox
    page = body(admin.get("/bandeja"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; ¿quién es usted?" in page
    assert page.count('<blockquote class="message-text">ya pagué 50000') == 1
    assert "Beto &lt;b&gt;Gómez&lt;/b&gt;, Carla Díaz" in page and "Número sin deudor" in page
    assert "SALDO" not in page and "Mensajes desde el 01/10/2026" in page
    assert "otro mensaje" in page and "dice que pagó" in page  # what the responder understood


def test_the_debtors_shown_are_those_on_the_number_now(admin, people):
    at = NOW - timedelta(minutes=30)
    reply = people.append_contact(ContactEvent(at, "d-beto", "reply", direction="inbound", phone=SHARED,
                                               contact_id="sms-in:solo", text="¿quién habla?"))
    ReplyHandler(people, lambda: POLICY, clock=lambda: at).handle(reply)  # a note on Beto only
    page = body(admin.get(f"/bandeja/respuesta/{inbox_key(people, 'solo')}"))
    assert "Carla Díaz" in page and "lo comparten 2 deudores" in page


def test_long_inbox_lists_the_oldest_first_and_says_how_many_more(admin, people, monkeypatch):
    import webui.inbox as inbox

    monkeypatch.setattr(inbox, "MAX_LISTED", 2)
    for i in range(3):
        receive(people, ANA, f"pregunta número {i}", f"k{i}", at=NOW - timedelta(hours=3 - i))
    page = body(admin.get("/bandeja"))
    assert "pregunta número 0" in page and "pregunta número 1" in page and "pregunta número 2" not in page
    assert "Hay 1 respuestas más esperando" in page
    assert 'id="n-waiting">3<' in body(admin.get("/"))


def test_a_reply_older_than_the_window_is_read_for_its_note(admin, people):
    old = datetime(2026, 9, 20, 15, tzinfo=timezone.utc)  # before the first day of last month
    reply = people.append_contact(ContactEvent(old, "d-ana", "reply", direction="inbound", phone=ANA,
                                               contact_id="sms-in:viejo", text="mensaje de septiembre"))
    ReplyHandler(people, lambda: POLICY, clock=lambda: NOW - timedelta(hours=1)).handle(reply)  # caught up late
    page = body(admin.get("/bandeja"))
    assert "mensaje de septiembre" in page and "20/09/2026" in page


def test_a_reader_sees_but_cannot_act(make_user, people, box):
    receive(people, ANA, "¿quién es usted?", "k1")
    people.record_payment("A1", Decimal(50000), date(2026, 11, 25), source="sms", status="pending",
                          payment_id="pay-x")
    key = inbox_key(people, "k1")
    reader = make_user("lectura")
    page = body(reader.get("/bandeja"))
    assert "¿quién es usted?" in page and "Confirmar pago" not in page and "Marcar como atendida" not in page
    assert "Responder por SMS" not in body(reader.get(f"/bandeja/respuesta/{key}"))
    for url, data in ((f"/bandeja/respuesta/{key}/atendido", {}),
                      (f"/bandeja/respuesta/{key}/responder", {"text": "hola", "action": "enviar"}),
                      ("/bandeja/pago/pay-x/confirmar", {"loan": "A1"}),
                      ("/bandeja/pago/pay-x/rechazar", {})):
        assert reader.post(url, data, page="/bandeja").status_code == 403, url
    assert people.payment("pay-x").status == "pending" and box.woken == 0
    assert not [e for e in people.contacts(kinds=("note",)) if e.contact_id.endswith(":atendido")]


def test_unknown_ids_are_404(admin, people):
    assert admin.get("/bandeja/respuesta/nada").status_code == 404
    assert admin.post("/bandeja/respuesta/nada/atendido", page="/bandeja").status_code == 404
    assert admin.post("/bandeja/respuesta/nada/responder", {"text": "x", "action": "ver"},
                      page="/bandeja").status_code == 404
    assert admin.post("/bandeja/pago/nada/confirmar", {"loan": "A1"}, page="/bandeja").status_code == 404
    assert admin.post("/bandeja/pago/nada/rechazar", page="/bandeja").status_code == 404


# -- handled --------------------------------------------------------------------------------------------------------
def test_mark_handled(make_user, people):
    receive(people, SHARED, "¿quién habla?", "k1")
    key = inbox_key(people, "k1")
    operator = make_user("operador")
    assert operator.post(f"/bandeja/respuesta/{key}/atendido", page="/bandeja").status_code == 302
    marks = [e for e in people.contacts(kinds=("note",)) if e.contact_id == "sms-in:k1:tratado:atendido"]
    assert {e.debtor_id for e in marks} == {"d-beto", "d-carla"} and "u-operador" in marks[0].detail
    page = body(operator.get("/bandeja"))
    assert "¿quién habla?" not in page and "No hay respuestas esperando" in page
    again = operator.post(f"/bandeja/respuesta/{key}/atendido", page="/bandeja")
    assert again.status_code == 302 and len([e for e in people.contacts(kinds=("note",))
                                             if e.contact_id.endswith(":atendido")]) == 2


# -- answering ------------------------------------------------------------------------------------------------------
def test_preview_shows_cost_and_writes_nothing(admin, people, box):
    receive(people, ANA, "¿me pueden llamar?", "k1")
    key = inbox_key(people, "k1")
    response = admin.post(f"/bandeja/respuesta/{key}/responder",
                          {"text": "Hola Ana, la llamamos mañana.", "action": "ver", "handled": "y"},
                          page=f"/bandeja/respuesta/{key}")
    page = body(response)
    assert response.status_code == 200 and "Coop Esperanza: Hola Ana, la llamamos mañana." in page
    assert "caracteres · 1 SMS" in page
    assert not [e for e in people.contacts(kinds=("planned",)) if "manual" in e.contact_id] and box.woken == 0


def test_answer_is_planned_like_the_responder_and_sent_once_by_the_dispatcher(admin, people, box):
    receive(people, ANA, "¿me pueden llamar?", "k1")
    key = inbox_key(people, "k1")
    response = admin.post(f"/bandeja/respuesta/{key}/responder",
                          {"text": "Hola Ana, la llamamos mañana.", "action": "enviar", "handled": "y"},
                          page=f"/bandeja/respuesta/{key}")
    assert response.status_code == 302 and box.woken == 1
    planned = [e for e in people.contacts(kinds=("planned",)) if e.contact_id.startswith("auto:sms-in:k1:manual-")]
    assert len(planned) == 1
    event = planned[0]
    assert (event.contact_id, event.debtor_id, event.phone, event.reference, event.direction) == \
        ("auto:sms-in:k1:manual-1", "d-ana", ANA, "", "outbound")
    assert event.text == "Coop Esperanza: Hola Ana, la llamamos mañana."
    assert [e for e in people.contacts(kinds=("note",)) if e.contact_id == "sms-in:k1:tratado:atendido"]
    flashed = body(admin.get("/bandeja"))
    assert "Respuesta guardada: 45 caracteres, 1 SMS" in flashed
    radio = Radio()
    dispatcher = Dispatcher(people, radio, lambda: POLICY, clock=lambda: NOW)
    dispatcher.drain()
    dispatcher.drain()
    answers = [c for c in radio.calls if c[2] == "auto:sms-in:k1:manual-1"]
    assert answers == [(ANA, "Coop Esperanza: Hola Ana, la llamamos mañana.", "auto:sms-in:k1:manual-1")]
    # a second answer to the same reply gets the next number
    admin.post(f"/bandeja/respuesta/{key}/responder", {"text": "Otra cosa", "action": "enviar"},
               page=f"/bandeja/respuesta/{key}")
    assert [e.contact_id for e in people.contacts(kinds=("planned",)) if "manual" in e.contact_id] == \
        ["auto:sms-in:k1:manual-1", "auto:sms-in:k1:manual-2"]


def test_answer_waits_for_contact_hours_and_pause(admin, people, services, box):
    receive(people, ANA, "¿me pueden llamar?", "k1")
    key = inbox_key(people, "k1")
    night = NOW.replace(hour=3)  # 22:00 in Bogotá
    services.now = lambda: night
    page = body(admin.get(f"/bandeja/respuesta/{key}"))
    assert "Fuera del horario permitido: saldrá desde 26/11/2026 07:00" in page
    people.settings.set("sending_paused", True)
    page = body(admin.get(f"/bandeja/respuesta/{key}"))
    assert "pausa" in page


@pytest.mark.parametrize("data,status,message", [
    ({"text": "", "action": "enviar"}, 400, "Escriba la respuesta."),
    ({"text": "   ", "action": "enviar"}, 400, "Escriba la respuesta."),
    ({"text": "x" * 10_000, "action": "enviar"}, 400, "demasiado larga"),
    ({"text": "hola\x00", "action": "enviar"}, 400, "caracteres invisibles"),
    ({"text": "hola", "action": "borrar"}, 400, "Use uno de los dos botones."),
    ({"text": "😀" * 300, "action": "enviar"}, 400, "ocuparía"),
], ids=["empty", "blank", "huge", "control", "bad-action", "too-many-sms"])
def test_answer_bad_input(admin, people, box, data, status, message):
    receive(people, ANA, "¿me pueden llamar?", "k1")
    key = inbox_key(people, "k1")
    response = admin.post(f"/bandeja/respuesta/{key}/responder", data, page=f"/bandeja/respuesta/{key}")
    assert response.status_code == status and message in body(response)
    assert not [e for e in people.contacts(kinds=("planned",)) if "manual" in e.contact_id] and box.woken == 0


def test_answer_with_html_is_escaped_on_the_page(admin, people):
    receive(people, ANA, "¿me pueden llamar?", "k1")
    key = inbox_key(people, "k1")
    response = admin.post(f"/bandeja/respuesta/{key}/responder", {"text": "<script>alert(1)</script>", "action": "ver"},
                          page=f"/bandeja/respuesta/{key}")
    page = body(response)
    assert response.status_code == 200 and "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_shared_number_answer_may_not_mention_the_debt(admin, people):
    receive(people, SHARED, "¿quién habla?", "k1")
    key = inbox_key(people, "k1")
    assert "no mencione la deuda" in body(admin.get(f"/bandeja/respuesta/{key}"))
    refused = admin.post(f"/bandeja/respuesta/{key}/responder", {"text": "Su cuota vence el 15", "action": "enviar"},
                         page=f"/bandeja/respuesta/{key}")
    assert refused.status_code == 400 and "no puede hablar de la deuda" in body(refused)
    ok = admin.post(f"/bandeja/respuesta/{key}/responder",
                    {"text": "Somos la cooperativa; llámenos a la oficina.", "action": "enviar"},
                    page=f"/bandeja/respuesta/{key}")
    assert ok.status_code == 302
    event = [e for e in people.contacts(kinds=("planned",)) if "manual" in e.contact_id][0]
    assert event.debtor_id == "" and event.phone == SHARED  # like the responder: no single debtor


def test_no_answer_to_an_opted_out_number(admin, people):
    receive(people, ANA, "¿quién es usted?", "k1")
    key = inbox_key(people, "k1")
    people.record_opt_out(ANA)
    response = admin.post(f"/bandeja/respuesta/{key}/responder", {"text": "Hola", "action": "enviar"},
                          page=f"/bandeja/respuesta/{key}")
    assert response.status_code == 409 and "BAJA" in body(response)
    assert not [e for e in people.contacts(kinds=("planned",)) if "manual" in e.contact_id]


# -- payment claims -------------------------------------------------------------------------------------------------
def test_claim_with_the_loan_is_confirmed(make_user, people):
    receive(people, ANA, "ya pagué 50.000", "k1")  # the responder records a pending claim on A1
    claim = people.payment("pay-sms-in:k1")
    assert claim.status == "pending" and claim.loan_external_id == "A1"
    operator = make_user("operador")
    page = body(operator.get("/bandeja"))
    assert "$ 50.000" in page and "Ana Ruiz" in page and "26/11/2026" in page
    response = operator.post("/bandeja/pago/pay-sms-in:k1/confirmar", {"loan": ""}, page="/bandeja")
    assert response.status_code == 302
    assert people.payment("pay-sms-in:k1").status == "confirmed"
    assert people.loan("A1").outstanding == Decimal(100000)
    again = operator.post("/bandeja/pago/pay-sms-in:k1/confirmar", {"loan": "A1"}, page="/bandeja")
    assert again.status_code == 409 and "ya no está pendiente" in body(again)


def test_claim_without_a_loan_needs_one_of_the_debtors_loans(admin, people):
    people.record_payment(None, Decimal(90000), date(2026, 11, 25), debtor_id="d-beto", source="sms",
                          status="pending", payment_id="pay-beto", note="por SMS: «<i>pagué</i>»")
    page = body(admin.get("/bandeja"))
    assert "elija el préstamo" in page and "<i>pagué</i>" not in page and "&lt;i&gt;pagué&lt;/i&gt;" in page
    for loan, message in (("", "Elija a qué préstamo"), ("A1", "no es de este deudor"),
                          ("NO-EXISTE", "no es de este"),
                          ("x" * 10_000, "Elija un préstamo de la lista")):
        response = admin.post("/bandeja/pago/pay-beto/confirmar", {"loan": loan}, page="/bandeja")
        assert response.status_code == 400 and message in body(response), loan
        assert people.payment("pay-beto").status == "pending"
    assert admin.post("/bandeja/pago/pay-beto/confirmar", {"loan": "B2"}, page="/bandeja").status_code == 302
    payment = people.payment("pay-beto")
    assert payment.status == "confirmed" and payment.loan_external_id == "B2"


def test_claim_is_rejected_with_a_reason(admin, people):
    people.record_payment("A1", Decimal(50000), date(2026, 11, 25), source="sms", status="pending",
                          payment_id="pay-a", note="por SMS: «pagué»")
    long_reason = admin.post("/bandeja/pago/pay-a/rechazar", {"note": "x" * 10_000}, page="/bandeja")
    assert long_reason.status_code == 400 and "demasiado largo" in body(long_reason)
    response = admin.post("/bandeja/pago/pay-a/rechazar", {"note": "no aparece en el extracto"}, page="/bandeja")
    assert response.status_code == 302
    payment = people.payment("pay-a")
    assert payment.status == "rejected" and "no aparece en el extracto" in payment.note and "gerente" in payment.note
    assert people.loan("A1").outstanding == Decimal(150000)
    assert "No hay pagos por confirmar" in body(admin.get("/bandeja"))


# -- English --------------------------------------------------------------------------------------------------------
def test_inbox_in_english(admin, people):
    receive(people, ANA, "¿quién es usted?", "k1")
    people.record_payment("A1", Decimal(50000), date(2026, 11, 25), source="sms", status="pending", payment_id="p")
    admin.post("/idioma/en", {"next": "/bandeja"}, page="/bandeja")
    page = body(admin.get("/bandeja"))
    for text in ("Inbox", "Replies to read", "Payments to confirm", "Confirm payment", "Reject", "other message",
                 "Nov 25, 2026", "Messages since Oct 1, 2026"):
        assert text in page, text
    key = inbox_key(people, "k1")
    assert "Reply by SMS" in body(admin.get(f"/bandeja/respuesta/{key}"))


def test_every_inbox_text_has_english():
    from test_dashboard import missing_english
    from webui.inbox import INTENT_LABELS

    assert missing_english("inbox", ["webui/inbox.py", "webui/inbox_forms.py", "webui/templates/inbox"],
                           INTENT_LABELS.values()) == []
