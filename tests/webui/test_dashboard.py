"""The dashboard: modem and SIM, clock (confirm), sending pause/resume, today's numbers, replies waiting,
contacts in doubt (staff decisions), prepaid balance; roles, bad input and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from firmware_py.config import load_config
from firmware_py.errors import ConfigError
from scheduler.clock import ClockTrust
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone
from scheduler.planner import HISTORY_DAYS, SEND, WAIT, plan
from scheduler.policy import load_policy
from webui.dashboard import DECISION_SUFFIX, signal_bars
from webui.services import Services

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the clock of conftest's ledger and services

POLICY = load_policy({"segments": [{"name": "todos", "ladder": "al_dia"}]}, country="CO",
                     cooperative_name="Cooperativa La Esperanza", timezone="America/Bogota")


@dataclass(frozen=True)
class Status:
    """The fields of firmware_py.modem_link.ModemStatus the page reads."""

    state: str = "connected"
    detail: str = "Módem conectado."
    simulated: bool = False
    port: str | None = "/dev/ttyUSB0"
    profile: str = "sim800"
    signal_dbm: int | None = -81
    operator: str | None = "Claro"
    storage_full: bool = False
    since: float = 0.0


class Box:
    """What the appliance would hand in, with knobs the tests turn."""

    def __init__(self):
        self.clock = ClockTrust(False, "no_source", "ninguna fuente confirmó la hora")
        self.status = Status()
        self.confirmed = 0
        self.woken = 0
        self.balance = "Su saldo es $ 5.000. Vence el 30/11."
        self.balance_asked = 0

    def policy(self):
        return POLICY.with_clock(self.clock)

    def confirm_clock(self):
        self.confirmed += 1
        self.clock = ClockTrust(True, "staff", "hora confirmada por el personal")

    def wake(self):
        self.woken += 1

    def check_balance(self):
        self.balance_asked += 1
        if isinstance(self.balance, Exception):
            raise self.balance
        return self.balance


@pytest.fixture
def box():
    return Box()


@pytest.fixture
def services(ledger, box):
    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                    policy=box.policy, modem_status=lambda: box.status, wake=box.wake,
                    confirm_clock=box.confirm_clock, check_balance=box.check_balance,
                    timezone="America/Bogota", country="CO")


def body(response) -> str:
    return response.get_data(as_text=True)


def add_debtors(ledger, count=2):
    debtors = [Debtor(f"d-{i}", f"Socia {i}", phones=(Phone(f"+57300123450{i}"),)) for i in range(count)]
    loans = [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, date(2026, 11, 26), Decimal(150000)),))
             for i in range(count)]
    ledger.import_batch(debtors, loans, source="test", now=NOW)


def uncertain(ledger, debtor="d-0", cid="d-0:L0:1:s1", text="Hola Socia, su cuota vence hoy.", at=None):
    at = at or NOW - timedelta(hours=2)
    ledger.append_contact(ContactEvent(at, debtor, "sending", phone="+573001234500", contact_id=cid, text=text))
    return ledger.append_contact(ContactEvent(at + timedelta(seconds=5), debtor, "uncertain", phone="+573001234500",
                                              contact_id=cid, detail="el módem no confirmó si salió"))


# -- pure helpers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dbm,bars", [(None, None), (-51, 4), (-73, 4), (-74, 3), (-83, 3), (-90, 2), (-100, 1),
                                      (-105, 1), (-106, 0), (-113, 0)])
def test_signal_bars(dbm, bars):
    assert signal_bars(dbm) == bars


def test_balance_code_in_the_configuration(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[modem]\nbalance_code = "*611#"\n')
    assert load_config(good).modem.balance_code == "*611#"
    bad = tmp_path / "bad.toml"
    bad.write_text('[modem]\nbalance_code = "ATD*611#;"\n')
    with pytest.raises(ConfigError, match="balance_code"):
        load_config(bad)
    from firmware_py.config import ModemConfig
    assert ModemConfig().balance_code == ""


# -- the page -------------------------------------------------------------------------------------------------------
def test_dashboard_needs_login(client, app):
    client.setup_admin()
    client.logout()
    response = client.get("/")
    assert response.status_code == 302 and "/entrar" in response.headers["Location"]


def test_dashboard_shows_modem_clock_sending_and_record(admin, box):
    page = body(admin.get("/"))
    assert "Conectado" in page and "Módem conectado." in page and "Claro" in page
    assert "3 de 4" in page and "-81 dBm" in page and "sim800" in page and "/dev/ttyUSB0" in page
    assert "módem simulado" not in page and "memoria de mensajes de la SIM está llena" not in page
    assert "Hora no confiable" in page and "26/11/2026 10:00" in page  # the box's time in Bogotá
    assert "La hora es correcta" in page
    assert 'id="sending-state">Funcionando' in page
    assert 'id="debtors">0<' in page


def test_simulated_full_storage_and_unknown_signal(admin, box):
    box.status = Status(state="needs-attention", detail="La SIM pide un PIN.", simulated=True, signal_dbm=None,
                        storage_full=True, operator=None, port=None)
    page = body(admin.get("/"))
    assert "Necesita atención" in page and "La SIM pide un PIN." in page
    assert 'id="simulated"' in page and "módem simulado" in page
    assert "desconocida" in page and "memoria de mensajes de la SIM está llena" in page and "sin red" in page


def test_modem_detail_is_escaped(admin, box):
    box.status = Status(detail="<script>alert(1)</script>", operator="<b>op</b>")
    page = body(admin.get("/"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "<b>op</b>" not in page


def test_today_numbers_and_planned(app, admin, ledger, box):
    add_debtors(ledger, 5)  # d-3 and d-4 have no history: their first step is due today
    box.clock = ClockTrust(True, "network", "hora confirmada por la red móvil")
    start = NOW - timedelta(hours=1)
    for kind in ("sending", "sent", "delivered"):
        ledger.append_contact(ContactEvent(start, "d-0", kind, phone="+573001234500", contact_id="d-0:L0:1:a"))
    ledger.append_contact(ContactEvent(start, "d-1", "failed", phone="+573001234501", contact_id="d-1:L1:1:a"))
    ledger.append_contact(ContactEvent(start, "d-1", "expired", phone="+573001234501", contact_id="d-1:L1:1:b"))
    # yesterday (Bogotá) does not count; a reply on a shared number counts once
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=11), "d-2", "sent", phone="+573001234502",
                                       contact_id="d-2:L2:0:x"))
    for debtor in ("d-0", "d-1"):
        ledger.append_contact(ContactEvent(start, debtor, "reply", direction="inbound", phone="+573001234500",
                                           contact_id="sms-in:abc", text="gracias"))
    uncertain(ledger, "d-2", "d-2:L2:1:z")
    first = body(admin.get("/"))  # the plan is counted in the background: the page does not wait for it
    assert 'id="n-planned">…<' in first and "Calculando" in first
    app.extensions["cobrador.dashboard.planned"].join(30)
    page = body(admin.get("/"))
    for name, value in (("sent", 1), ("delivered", 1), ("failed", 1), ("expired", 1), ("uncertain", 1),
                        ("replies", 1)):
        assert f'id="n-{name}">{value}<' in page, name
    snapshot = ledger.snapshot(contacts_since=NOW - timedelta(days=HISTORY_DAYS))
    decisions = plan(snapshot, box.policy().with_settings(ledger.settings.all()), NOW)
    expected = sum(1 for d in decisions if d.action == SEND or (d.action == WAIT and d.at.date() == NOW.date()))
    assert expected >= 2 and f'id="n-planned">{expected}<' in page and "calculado: 26/11/2026 10:00" in page
    admin.post("/envios/pausar", page="/")  # another state: the old count is not shown for it
    assert 'id="n-planned">…<' in body(admin.get("/"))


def test_a_failing_plan_count_is_said_and_the_page_still_works(app, admin, monkeypatch):
    import webui.dashboard as dashboard

    def broken(*args):
        raise RuntimeError("planner bug")
    monkeypatch.setattr(dashboard, "count_planned", broken)
    assert admin.get("/").status_code == 200
    app.extensions["cobrador.dashboard.planned"].join(30)
    page = body(admin.get("/"))
    assert 'id="n-planned">' in page and "No se pudo calcular" in page


def test_a_count_cut_short_by_the_ledger_closing_is_not_an_error(caplog):
    """The appliance stopping (or a test ending) while the background count runs: no traceback in the log."""
    from zoneinfo import ZoneInfo

    from firmware_py.ledger import Ledger
    from webui.dashboard import PlannedToday

    counter = PlannedToday()
    zone = ZoneInfo("America/Bogota")
    with Ledger.memory() as ledger:
        counter._count(ledger, None, NOW, zone, "key", None)  # a real failure (no policy) is logged
    assert counter.failed and "could not be counted" in caplog.text
    caplog.clear()
    counter = PlannedToday()
    counter._count(ledger, None, NOW, zone, "key", None)  # the same, once the ledger is closed
    assert not counter.failed and caplog.text == ""


@pytest.mark.parametrize("now,since", [
    (datetime(2026, 11, 26, 15, tzinfo=timezone.utc), datetime(2026, 10, 1, tzinfo=timezone.utc)),
    (datetime(2027, 1, 15, 3, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc)),
    (datetime(2027, 3, 1, 0, 0, tzinfo=timezone.utc), datetime(2027, 2, 1, tzinfo=timezone.utc)),
])
def test_pages_read_the_log_from_the_first_day_of_last_month(now, since):
    from webui.dashboard import recent_since

    assert recent_since(now) == since


def test_planned_is_dash_without_a_policy(app, ledger, admin, services):
    services.policy = None
    page = body(admin.get("/"))
    assert 'id="n-planned">—<' in page and "No se pudo calcular" in page
    assert "no informa si su hora es confiable" in page


def test_html_in_debtor_names_is_escaped_in_doubts(admin, ledger):
    ledger.import_batch([Debtor("d-x", "<script>alert(1)</script> Ana", phones=(Phone("+573001112233"),))], [],
                        source="t")
    uncertain(ledger, "d-x", "d-x:L:1:s", text="<img src=x onerror=alert(1)>")
    page = body(admin.get("/"))
    assert "<script>alert" not in page and "<img src=x" not in page and "&lt;img src=x" in page


# -- clock ----------------------------------------------------------------------------------------------------------
def test_confirm_clock(admin, box):
    response = admin.post("/reloj/confirmar", {"shown": str(int(NOW.timestamp()))}, page="/")
    assert response.status_code == 302 and box.confirmed == 1
    page = body(admin.get("/"))
    assert "Hora confirmada" in page and "Hora confiable" in page


@pytest.mark.parametrize("shown,status,message", [
    ("", 400, "no envió la hora"), ("abc", 400, "no envió la hora"), ("-5", 400, "no envió la hora"),
    ("1" * 10_000, 400, "no envió la hora"), ("<script>", 400, "no envió la hora"),
    (str(int((NOW - timedelta(hours=1)).timestamp())), 409, "más de 15 minutos"),
], ids=["empty", "text", "negative", "huge", "html", "stale"])
def test_confirm_clock_refuses_bad_or_stale_times(admin, box, shown, status, message):
    response = admin.post("/reloj/confirmar", {"shown": shown}, page="/")
    assert response.status_code == status and message in body(response)
    assert box.confirmed == 0


def test_wrong_clock_offers_no_confirmation(admin, box):
    box.clock = ClockTrust(False, "skew", "el reloj difiere de la hora de la red en 42 minutos")
    page = body(admin.get("/"))
    assert "La hora es correcta" not in page and "42 minutos" in page and "no se arregla confirmando" in page


def test_confirm_without_the_service(admin, services, box):
    services.confirm_clock = None
    response = admin.post("/reloj/confirmar", {"shown": str(int(NOW.timestamp()))}, page="/")
    assert response.status_code == 409 and "no permite confirmar" in body(response)


# -- pause / resume -------------------------------------------------------------------------------------------------
def test_pause_and_resume(admin, ledger, box):
    assert admin.post("/envios/pausar", page="/").status_code == 302
    assert ledger.settings.get("sending_paused") is True
    page = body(admin.get("/"))
    assert 'id="sending-state">En pausa' in page and "Reanudar envíos" in page
    assert admin.post("/envios/reanudar", page="/").status_code == 302
    assert ledger.settings.get("sending_paused") is False and box.woken == 1


def test_read_only_user_sees_but_cannot_act(make_user, ledger, box):
    uncertain(ledger)
    reader = make_user("lectura")
    page = body(reader.get("/"))
    assert "Pausar envíos" not in page and "La hora es correcta" not in page and "Consultar ahora" not in page
    assert "Salió (lo recibió)" not in page and "Hola Socia" in page
    event_id = ledger.contacts(kinds=("uncertain",))[0].id
    for url, data in (("/envios/pausar", {}), ("/envios/reanudar", {}), ("/saldo", {}),
                      ("/reloj/confirmar", {"shown": str(int(NOW.timestamp()))}),
                      (f"/envios/dudoso/{event_id}", {"outcome": "salio"})):
        assert reader.post(url, data, page="/").status_code == 403, url
    assert ledger.settings.get("sending_paused") is False and box.confirmed == 0 and box.balance_asked == 0
    assert not [e for e in ledger.contacts(kinds=("note",))]


# -- contacts in doubt ----------------------------------------------------------------------------------------------
def test_uncertain_contact_decisions_are_notes_and_never_resend(make_user, ledger):
    add_debtors(ledger, 1)
    first = uncertain(ledger, cid="d-0:L0:1:s1", text="Primer mensaje")
    second = uncertain(ledger, cid="d-0:L0:1:s2", text="Segundo mensaje", at=NOW - timedelta(hours=1))
    operator = make_user("operador")
    page = body(operator.get("/"))
    assert "Primer mensaje" in page and "Segundo mensaje" in page and "siguiente paso" in page
    assert operator.post(f"/envios/dudoso/{first.id}", {"outcome": "salio"}, page="/").status_code == 302
    assert operator.post(f"/envios/dudoso/{second.id}", {"outcome": "no_salio"}, page="/").status_code == 302
    notes = {e.contact_id: e for e in ledger.contacts(kinds=("note",))}
    assert notes["d-0:L0:1:s1" + DECISION_SUFFIX].reference == "salio"
    assert notes["d-0:L0:1:s2" + DECISION_SUFFIX].reference == "no_salio"
    assert "u-operador" in notes["d-0:L0:1:s2" + DECISION_SUFFIX].detail
    assert notes["d-0:L0:1:s2" + DECISION_SUFFIX].direction == "internal"
    assert not ledger.contacts(kinds=("planned", "sending", "retry"), since=NOW - timedelta(minutes=30))
    page = body(operator.get("/"))
    assert "Primer mensaje" not in page and "No hay mensajes en duda" in page
    again = operator.post(f"/envios/dudoso/{first.id}", {"outcome": "no_salio"}, page="/")
    assert again.status_code == 409 and "ya tiene una decisión" in body(again)


def test_decision_bad_input(admin, ledger):
    event = uncertain(ledger)
    assert admin.post("/envios/dudoso/no-existe", {"outcome": "salio"}, page="/").status_code == 404
    for outcome in ("", "quizas", "<script>x</script>", "s" * 10_000):
        response = admin.post(f"/envios/dudoso/{event.id}", {"outcome": outcome}, page="/")
        assert response.status_code == 400 and "Elija «salió» o «no salió»" in body(response), outcome
        assert "<script>x" not in body(response)
    assert not ledger.contacts(kinds=("note",))


# -- replies waiting ------------------------------------------------------------------------------------------------
def test_replies_waiting_link_to_the_inbox(admin, ledger):
    add_debtors(ledger, 1)
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=1), "d-0", "reply", direction="inbound",
                                       phone="+573001234500", contact_id="sms-in:1", text="¿quién habla?"))
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=1), "d-0", "note", direction="internal",
                                       phone="+573001234500", contact_id="sms-in:1:tratado", text="bandeja",
                                       detail="mensaje para una persona: a la bandeja", reference="other"))
    page = body(admin.get("/"))
    assert 'id="n-waiting">1<' in page and 'href="/bandeja"' in page


# -- balance --------------------------------------------------------------------------------------------------------
def test_check_balance(admin, box):
    assert admin.post("/saldo", page="/").status_code == 302 and box.balance_asked == 1
    page = body(admin.get("/"))
    assert "Su saldo es $ 5.000" in page and "consultado" in page


def test_balance_failure_and_hostile_answer(admin, box):
    box.balance = RuntimeError("No hay módem conectado: no se puede consultar el saldo ahora.")
    response = admin.post("/saldo", page="/")
    assert response.status_code == 503 and "No hay módem conectado" in body(response)
    box.balance = "<script>alert(1)</script>" + "x" * 10_000
    assert admin.post("/saldo", page="/").status_code == 302
    page = body(admin.get("/"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "x" * 600 not in page


def test_balance_without_a_code(admin, services):
    services.check_balance = None
    page = body(admin.get("/"))
    assert "Consultar ahora" not in page and "balance_code" in page
    response = admin.post("/saldo", page="/")
    assert response.status_code == 409 and "código de consulta de saldo" in body(response)


# -- English --------------------------------------------------------------------------------------------------------
def test_dashboard_in_english(admin, ledger, box):
    uncertain(ledger)
    admin.post("/idioma/en", {"next": "/"}, page="/")
    page = body(admin.get("/"))
    for text in ("Modem and SIM", "Connected", "Clock", "Time not trusted", "Sending", "Running", "Today",
                 "Messages in doubt", "It went out (received)", "Debtors", "Nov 26, 2026 10:00"):
        assert text in page, text
    assert "Mensajes en duda" not in page


def missing_english(area: str, sources: list[str], dynamic=()) -> list[str]:
    """Texts of ``sources`` (Python and Jinja, through Babel's extractors) without English in the area's
    catalogue."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with (root / "webui/translations" / area / "en/LC_MESSAGES/messages.po").open("rb") as handle:
        english = {m.id: m.string for m in read_po(handle, locale="en") if m.id}
    wanted = list(dynamic)
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    for source in sources:
        path = root / source
        for file in sorted(path.rglob("*.html")) if path.is_dir() else [path]:
            method = "jinja2" if file.suffix == ".html" else "python"
            options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
            for _line, message, _comments, _context in extract_from_file(method, str(file), keywords=keywords,
                                                                          options=options):
                wanted.append(message[0] if isinstance(message, tuple) else message)
    return [m for m in dict.fromkeys(wanted) if not english.get(m)]


def test_every_dashboard_text_has_english():
    from webui.dashboard import CLOCK_TEXTS, STATE_LABELS

    assert missing_english("dashboard", ["webui/dashboard.py", "webui/dashboard_forms.py",
                                         "webui/templates/dashboard"],
                           [*STATE_LABELS.values(), *CLOCK_TEXTS.values()]) == []
