"""The campaigns page: contact rules, days off, segments, ladders and "what the planner would do tomorrow" —
roles, validation by the engine before anything is stored, simulation without storing, and the comparison."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import SETTINGS_KEY
from webui.services import Services
from webclient import Client

from conftest import NOW

# NOW is Thursday 2026-11-26 15:00 UTC: "tomorrow 09:00" is Friday 2026-11-27 09:00 in Bogotá.
FRIDAY = date(2026, 11, 27)


def engine_services(ledger, base):
    """Services as the appliance builds them (see ``Appliance.policy``)."""
    from scheduler.clock import ClockTrust
    from scheduler.policy import load_policy, merge_sections

    def policy():
        return load_policy(merge_sections(base, ledger.settings.get(SETTINGS_KEY) or {}), country="CO",
                           cooperative_name="Cooperativa La Esperanza", language="es", timezone="America/Bogota",
                           clock=ClockTrust.trusted_for_tests())
    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                    policy=policy, engine_base=lambda: base)


@pytest.fixture
def base():
    return {"rules": {"profile": "CO", "extra_holidays": ["2026-12-07", {"date": "2026-12-24", "name": "Nochebuena"}]}}


@pytest.fixture
def services(ledger, base):
    return engine_services(ledger, base)


@pytest.fixture
def due_friday(ledger):
    """Two debtors with an instalment due tomorrow: the al_dia ladder's step 0 goes out at 09:00."""
    ledger.import_batch(
        [Debtor("d-1", "Ana <b>Pérez</b>", phones=(Phone("+573001112233"),)),
         Debtor("d-2", "Luis Gómez", phones=(Phone("+573001112244"),))],
        [Loan("CR-1", "d-1", instalments=(Instalment(1, FRIDAY, Decimal(100000)),)),
         Loan("CR-2", "d-2", instalments=(Instalment(1, FRIDAY, Decimal(90000)),))], source="prueba")


def stored(ledger):
    return ledger.settings.get(SETTINGS_KEY) or {}


def text(response):
    return response.get_data(as_text=True)


def summary(body):
    found = re.search(r'<p class="summary"><strong>(.*?)</strong></p>', body, re.S)
    return re.sub(r"\s+", " ", found.group(1)).strip() if found else None


CUSTOM = {"profile": "custom", "hours_0": "07:00-19:00", "hours_1": "07:00-19:00", "hours_2": "07:00-19:00",
          "hours_3": "07:00-19:00", "hours_4": "", "hours_5": "", "hours_6": "", "max_per_day": "1",
          "max_sms_per_week": "2", "sms_min_gap_days": "2", "holidays_closed": "y", "action": "save"}


# -- reading ---------------------------------------------------------------------------------------------------------
def test_overview_shows_rules_days_off_segments_and_ladders(admin):
    response = admin.get("/campanas")
    body = text(response)
    assert response.status_code == 200
    assert "Colombia — Ley 2300 de 2023" in body and "07:00–19:00" in body and "sin contactos" in body
    assert "24/12/2026" in body and "Nochebuena" in body
    assert "Mora grave" in body and "al menos 31 días de atraso" in body
    assert "/campanas/escaleras/mora_temprana" in body and "recordatorio_manana" in body


def test_readers_see_everything_but_no_form(app, make_user):
    assert Client(app).get("/campanas").status_code == 302
    reader = make_user("lectura")
    body = text(reader.get("/campanas"))
    assert "Colombia" in body and 'value="save"' not in body
    assert reader.get("/campanas/escaleras/al_dia").status_code == 200
    assert reader.get("/campanas/simulacion").status_code == 200


@pytest.mark.parametrize("url,data", [
    ("/campanas/reglas", dict(CUSTOM)), ("/campanas/feriados", {"day": "2026-12-31", "action": "save"}),
    ("/campanas/feriados/quitar", {"day": "2026-12-07"}), ("/campanas/segmentos", {"ladders-0": "al_dia"}),
    ("/campanas/escaleras", {"name": "nueva_x", "copy_from": "al_dia"}),
    ("/campanas/escaleras/al_dia", {"label": "x", "action": "save"}),
    ("/campanas/escaleras/al_dia/restablecer", {}),
    ("/campanas/agradecimiento", {"thank_you": "y", "thank_you_days": "5", "action": "save"})])
def test_only_an_administrator_changes_anything(make_user, ledger, url, data):
    for role in ("lectura", "operador"):
        assert make_user(role).post(url, data, page="/campanas").status_code == 403
    assert stored(ledger) == {}


def test_unknown_ladder_is_404(admin):
    assert admin.get("/campanas/escaleras/no_existe").status_code == 404
    assert admin.post("/campanas/escaleras/no_existe", {"action": "save"}, page="/campanas").status_code == 404
    assert admin.post("/campanas/escaleras/al_dia/restablecer", page="/campanas").status_code == 404  # not edited


# -- rules -----------------------------------------------------------------------------------------------------------
def test_choosing_a_country_profile(admin, ledger, services):
    response = admin.post("/campanas/reglas", {"profile": "MX", "action": "save"}, page="/campanas")
    assert response.status_code == 200 and "Qué cambia mañana" in text(response)
    assert stored(ledger)["rules"]["profile"] == "MX" and stored(ledger)["rules"]["custom"] == {}
    assert services.policy().profiles.default.code == "MX"
    assert stored(ledger)["rules"].get("extra_holidays") is None  # the file's days off are untouched


def test_custom_rules_are_stored_and_change_tomorrow(admin, ledger, services, due_friday):
    response = admin.post("/campanas/reglas", CUSTOM, page="/campanas")
    body = text(response)
    assert response.status_code == 200, body
    assert summary(body) == "−2 envíos, +2 esperas (día sin contacto según las reglas)"
    custom = stored(ledger)["rules"]["custom"]
    assert custom["hours"] == {"lun": "07:00-19:00", "mar": "07:00-19:00", "mie": "07:00-19:00", "jue": "07:00-19:00"}
    assert custom["max_sms_per_week"] == 2 and custom["sms_min_gap_days"] == 2 and custom["one_channel_per_week"] is False
    profile = services.policy().profiles.default
    assert profile.code == "custom" and profile.windows_on(4) == () and not profile.one_channel_per_week
    assert "Ana &lt;b&gt;Pérez&lt;/b&gt;" in body and "<b>Pérez" not in body  # names escaped in the decisions
    form = admin.get("/campanas")
    assert re.search(r'name="hours_4"[^>]*value=""', text(form)) and re.search(r'name="hours_0"[^>]*value="07:00-19:00"',
                                                                           text(form))


def test_simulating_stores_nothing(admin, ledger, due_friday):
    response = admin.post("/campanas/reglas", dict(CUSTOM, action="simulate"), page="/campanas")
    assert response.status_code == 200 and "nada se guardó" in text(response)
    assert summary(text(response)) == "−2 envíos, +2 esperas (día sin contacto según las reglas)"
    assert stored(ledger) == {}


@pytest.mark.parametrize("changes,message", [
    ({"hours_0": "25:00-26:00"}, "hora inválida"),
    ({"hours_0": "19:00-07:00"}, "está vacío"),
    ({"hours_0": "por la mañana"}, "mal escrito"),
    ({"hours_0": "", "hours_1": "", "hours_2": "", "hours_3": ""}, "no deja ningún día"),
    ({"max_per_day": "uno"}, "número entero"),
    ({"max_per_day": "-1"}, "número entero"),
    ({"max_sms_per_week": "9" * 40}, "número entero"),
    ({"hours_0": "0" * 10_000}, "Máximo 100"),
    ({"profile": "XX"}, "Not a valid choice"),
])
def test_bad_rules_are_refused_with_a_message(admin, ledger, changes, message):
    response = admin.post("/campanas/reglas", dict(CUSTOM, **changes), page="/campanas")
    body = text(response)
    assert response.status_code == 400
    assert message.lower() in body.lower() or (message == "Not a valid choice" and "opción" in body.lower())
    assert stored(ledger) == {}


def test_a_file_custom_table_does_not_block_choosing_a_country(ledger, base):
    from webui import create_app
    base["rules"] = {"profile": "custom", "custom": {"hours": {"lun-vie": "08:00-17:00"}}}
    client = Client(create_app(engine_services(ledger, base), testing=True))
    client.setup_admin()
    response = client.post("/campanas/reglas", {"profile": "PE", "action": "save"}, page="/campanas")
    assert response.status_code == 200 and stored(ledger)["rules"] == {"profile": "PE", "custom": {}}


# -- thanks for paying on time ----------------------------------------------------------------------------------------
@pytest.fixture
def paid_on_time(ledger):
    """A debtor who paid instalment 1 (due Monday 30/11) in full on Wednesday 25/11, recorded on the appliance."""
    ledger.import_batch(
        [Debtor("d-3", "Marta Ruiz", phones=(Phone("+573001112255"),))],
        [Loan("CR-3", "d-3", instalments=(Instalment(1, date(2026, 11, 30), Decimal(100000)),
                                          Instalment(2, date(2026, 12, 30), Decimal(100000))))], source="prueba")
    ledger.record_payment("CR-3", 100_000, date(2026, 11, 25), source="web")


def appliance_policy(ledger, base):
    """The policy as the appliance loads it on its next plan (``Appliance.policy``): the file's engine sections
    with the ledger's engine setting laid over them."""
    from scheduler.policy import load_policy, merge_sections
    return load_policy(merge_sections(base, ledger.settings.get(SETTINGS_KEY) or {}), country="CO",
                       cooperative_name="Cooperativa La Esperanza", language="es", timezone="America/Bogota")


def thanks_form(body):
    found = re.search(r'<form method="post" action="/campanas/agradecimiento".*?</form>', body, re.S)
    return found.group(0) if found else None


def test_thanks_are_off_by_default_with_the_template_preview(admin, ledger, base):
    body = text(admin.get("/campanas"))
    form = thanks_form(body)
    assert form and "Agradecer los pagos a tiempo" in form and "Días para agradecer después del pago" in form
    assert re.search(r'<input id="thank_you" name="thank_you" type="checkbox" value="y">', form)  # not checked
    assert re.search(r'name="thank_you_days"[^>]*value="3"', form)
    assert "Desactivado: no se agradecen los pagos." in body
    assert "Cooperativa La Esperanza: ¡Gracias, Ana! Recibimos su pago a tiempo. Su saldo es $ 1.350.000." in body
    assert "Cooperativa La Esperanza: Thank you, Ana! We received your payment on time." in body
    assert "/plantillas/gracias_pago" in body
    assert appliance_policy(ledger, base).thank_you is False


def test_saving_thanks_turns_them_on_for_the_planner(admin, ledger, base, paid_on_time):
    ledger.settings.set(SETTINGS_KEY, {"messages": {"transliterate": False}})  # set on the template page
    response = admin.post("/campanas/agradecimiento", {"thank_you": "y", "thank_you_days": "5", "action": "save"},
                          page="/campanas")
    body = text(response)
    assert response.status_code == 200, body
    assert stored(ledger)["messages"] == {"transliterate": False, "thank_you": True, "thank_you_days": 5}
    policy = appliance_policy(ledger, base)
    assert policy.thank_you is True and policy.thank_you_days == 5 and policy.transliterate is False
    assert summary(body) == "+1 envíos" and "gracias_pago" in body
    page = text(admin.get("/campanas"))
    assert re.search(r'<input checked id="thank_you"', thanks_form(page))
    assert re.search(r'name="thank_you_days"[^>]*value="5"', thanks_form(page))
    assert "Activado: se agradece cada pago a tiempo hasta 5 días después del pago." in page
    response = admin.post("/campanas/agradecimiento", {"thank_you_days": "5", "action": "save"}, page="/campanas")
    assert response.status_code == 200 and summary(text(response)) == "−1 envíos"
    assert appliance_policy(ledger, base).thank_you is False


def test_simulating_thanks_stores_nothing(admin, ledger, base, paid_on_time):
    response = admin.post("/campanas/agradecimiento", {"thank_you": "y", "thank_you_days": "1",
                                                       "action": "simulate"}, page="/campanas")
    assert response.status_code == 200 and "nada se guardó" in text(response)
    assert summary(text(response)) == "Sin cambios: mañana el planificador decidiría lo mismo."  # paid 2 days ago
    assert stored(ledger) == {} and appliance_policy(ledger, base).thank_you is False


@pytest.mark.parametrize("days", ["31", "-1", "tres", "", " ", "2.5", "9" * 40, "\x00"])
def test_bad_thank_you_days_are_refused(admin, ledger, base, days):
    response = admin.post("/campanas/agradecimiento", {"thank_you": "y", "thank_you_days": days, "action": "save"},
                          page="/campanas")
    assert response.status_code == 400
    form = thanks_form(text(response))
    assert "Escriba un número entero entre 0 y 30." in form and "<input checked" in form  # kept what was posted
    assert stored(ledger) == {} and appliance_policy(ledger, base).thank_you is False


def test_readers_cannot_change_thanks(make_user, ledger, base):
    for role in ("lectura", "operador"):
        user = make_user(role)
        body = text(user.get("/campanas"))
        assert thanks_form(body) is None and "Desactivado: no se agradecen los pagos." in body
        response = user.post("/campanas/agradecimiento", {"thank_you": "y", "thank_you_days": "5", "action": "save"},
                             page="/campanas")
        assert response.status_code == 403
    assert stored(ledger) == {} and appliance_policy(ledger, base).thank_you is False


def test_thanks_set_in_the_file_show_on_the_page(ledger, base):
    from webui import create_app
    base["messages"] = {"thank_you": True, "thank_you_days": 7}
    client = Client(create_app(engine_services(ledger, base), testing=True))
    client.setup_admin()
    body = text(client.get("/campanas"))
    assert re.search(r'<input checked id="thank_you"', thanks_form(body))
    assert re.search(r'name="thank_you_days"[^>]*value="7"', thanks_form(body))


# -- days off --------------------------------------------------------------------------------------------------------
def test_adding_and_removing_a_day_off(admin, ledger, services, due_friday):
    response = admin.post("/campanas/feriados", {"day": "2026-11-27", "name": "<i>Fiesta</i> patronal",
                                                 "action": "save"}, page="/campanas")
    body = text(response)
    assert response.status_code == 200 and "&lt;i&gt;Fiesta&lt;/i&gt;" in body and "<i>Fiesta" not in body
    assert summary(body) == "−2 envíos, +2 esperas (día festivo)"
    days = stored(ledger)["rules"]["extra_holidays"]
    assert days == [{"date": "2026-11-27", "name": "<i>Fiesta</i> patronal"}, {"date": "2026-12-07", "name": ""},
                    {"date": "2026-12-24", "name": "Nochebuena"}]
    assert date(2026, 11, 27) in services.policy().extra_holidays
    response = admin.post("/campanas/feriados/quitar", {"day": "2026-12-07", "action": "save"}, page="/campanas")
    assert response.status_code == 200
    assert [d["date"] for d in stored(ledger)["rules"]["extra_holidays"]] == ["2026-11-27", "2026-12-24"]
    assert admin.post("/campanas/feriados/quitar", {"day": "2027-01-01"}, page="/campanas").status_code == 404


@pytest.mark.parametrize("day", ["2026-02-30", "30/02/2026", "mañana", "1850-01-01", "", "2026-1-5", "9" * 10_000])
def test_impossible_days_off_are_refused(admin, ledger, day):
    response = admin.post("/campanas/feriados", {"day": day, "action": "save"}, page="/campanas")
    assert response.status_code == 400
    body = text(response)
    assert "fecha" in body.lower()
    assert stored(ledger) == {}
    assert admin.post("/campanas/feriados/quitar", {"day": day}, page="/campanas").status_code == 400


def test_invisible_characters_are_refused(admin, ledger):
    response = admin.post("/campanas/feriados", {"day": "2026-12-31", "name": "Fin\x07 de año", "action": "save"},
                          page="/campanas")
    assert response.status_code == 400 and "caracteres invisibles" in text(response)
    assert stored(ledger) == {}


def test_a_day_off_written_the_office_way(admin, ledger):
    assert admin.post("/campanas/feriados", {"day": "31/12/2026", "action": "save"}, page="/campanas").status_code == 200
    assert {"date": "2026-12-31", "name": ""} in stored(ledger)["rules"]["extra_holidays"]


# -- segments and ladders --------------------------------------------------------------------------------------------
def segment_form(ladders, action="save"):
    data = {f"ladders-{i}": name for i, name in enumerate(ladders)}
    data["action"] = action
    return data


DEFAULT_SEGMENT_LADDERS = ["mora_grave", "mora_grave", "mora_temprana", "ocasional", "ocasional", "al_dia"]


def test_a_segment_gets_another_ladder(admin, ledger, services, due_friday):
    chosen = DEFAULT_SEGMENT_LADDERS[:-1] + ["ocasional"]
    response = admin.post("/campanas/segmentos", segment_form(chosen), page="/campanas")
    assert response.status_code == 200
    segments = stored(ledger)["segments"]
    assert [s["ladder"] for s in segments] == chosen
    assert segments[0] == {"name": "mora_grave", "label": "Mora grave", "ladder": "mora_grave", "tone": "firme",
                           "min_days_late": 31}
    assert services.policy().segments[-1].ladder == "ocasional"


def test_segment_form_refuses_unknown_ladders_and_a_changed_list(admin, ledger):
    bad = admin.post("/campanas/segmentos", segment_form(DEFAULT_SEGMENT_LADDERS[:-1] + ["<script>"]), page="/campanas")
    assert bad.status_code == 400 and "<script>" not in text(bad)
    short = admin.post("/campanas/segmentos", segment_form(DEFAULT_SEGMENT_LADDERS[:2]), page="/campanas")
    assert short.status_code == 400 and "cambió" in text(short)
    assert stored(ledger) == {}


def ladder_form(steps, label="Al día", action="save"):
    data = {"label": label, "action": action}
    for i, step in enumerate(steps):
        full = {"offset": "0", "hour": "09:00", "channel": "sms", "fallback": "", "template": "vence_hoy",
                "no_promise": "y", "use_best_hour": "y", "repeat_every": ""}
        full.update(step)
        for key, value in full.items():
            if value is not None:
                data[f"steps-{i}-{key}"] = value
    return data


AL_DIA = [{"offset": "-3", "template": "recordatorio_previo"}, {"offset": "0"},
          {"offset": "3", "template": "mora_amable"},
          {"offset": "7", "template": "mora_amable", "no_reply": "y"}]


def test_editing_a_ladder(admin, ledger, services, due_friday):
    page = "/campanas/escaleras/al_dia"
    steps = [dict(s) for s in AL_DIA]
    steps[1].update(hour="11:30", fallback="call")
    response = admin.post(page, ladder_form(steps), page=page)
    body = text(response)
    assert response.status_code == 200, body[-3000:]
    # at 09:00 the step of the day has not come: the one of three days before is still valid and goes instead
    assert summary(body) == "Los mismos totales, pero 2 préstamos cambian de paso, canal, plantilla u hora."
    saved = stored(ledger)["ladders"]["al_dia"]
    assert saved["steps"][1] == {"offset": 0, "channel": "sms", "template": "vence_hoy", "hour": "11:30",
                                 "when": ["unpaid", "no_promise"], "use_best_hour": True, "fallback": "call"}
    assert saved["steps"][3]["when"] == ["unpaid", "no_promise", "no_reply"]
    ladder = services.policy().ladders["al_dia"]
    assert ladder.steps[1].hour.hour == 11 and ladder.steps[1].fallback == "call"
    assert "cambiada en esta página" in text(admin.get(page))
    response = admin.post(page, ladder_form(steps[1:]), page=page)   # without the step before: they wait
    assert summary(text(response)) == "−2 envíos, +2 esperas (el paso aún no llega a su fecha y hora)"
    assert [s["offset"] for s in stored(ledger)["ladders"]["al_dia"]["steps"]] == [0, 3, 7]


def test_steps_are_added_removed_and_moved_without_storing(admin, ledger):
    page = "/campanas/escaleras/al_dia"
    added = text(admin.post(page, ladder_form(AL_DIA, action="add"), page=page))
    assert 'name="steps-4-offset"' in added and "Cambios sin guardar" in added
    removed = text(admin.post(page, ladder_form(AL_DIA, action="remove-0"), page=page))
    assert 'name="steps-3-offset"' not in removed and 'value="-3"' not in removed
    moved = text(admin.post(page, ladder_form(AL_DIA, action="down-0"), page=page))
    # the first step now does what the second did (vence_hoy) and keeps its day (-3)
    first = moved[moved.index('name="steps-0-offset"'):moved.index('name="steps-1-offset"')]
    assert 'value="-3"' in first and '<option selected value="vence_hoy">' in first
    assert stored(ledger) == {}
    assert admin.post(page, ladder_form(AL_DIA, action="remove-99"), page=page).status_code == 400
    assert admin.post(page, ladder_form(AL_DIA, action="explode"), page=page).status_code == 400


@pytest.mark.parametrize("change,message", [
    ({"offset": "mañana"}, "número entero"),
    ({"offset": "400"}, "número entero entre -60 y 365"),
    ({"offset": "-3"}, "mismo día"),                      # two steps on the same day
    ({"hour": "25:61"}, "HH:MM"),
    ({"hour": "<script>"}, "HH:MM"),
    ({"template": "no_existe"}, "Not a valid choice"),
    ({"channel": "paloma"}, "Not a valid choice"),
    ({"fallback": "sms"}, "respaldo inválido"),           # the fallback is the step's own channel
    ({"repeat_every": "5"}, "solo el último paso"),
    ({"repeat_every": "x" * 10_000}, "número entero"),
])
def test_bad_steps_are_refused_next_to_the_field(admin, ledger, change, message):
    steps = [dict(s) for s in AL_DIA]
    steps[1].update(change)
    page = "/campanas/escaleras/al_dia"
    response = admin.post(page, ladder_form(steps), page=page)
    body = text(response)
    assert response.status_code == 400
    assert message in body or (message == "Not a valid choice" and "opción" in body.lower()), body[-3000:]
    assert "<script>" not in body.split("</header>", 1)[1].replace('<script src="', "")
    assert stored(ledger) == {}


def test_a_ladder_needs_a_step_and_a_label(admin, ledger):
    page = "/campanas/escaleras/al_dia"
    assert "al menos un paso" in text(admin.post(page, ladder_form([]), page=page))
    assert admin.post(page, ladder_form(AL_DIA, label=""), page=page).status_code == 400
    assert admin.post(page, ladder_form(AL_DIA, label="x" * 10_000), page=page).status_code == 400
    assert stored(ledger) == {}


def test_new_ladder_assigned_to_a_segment_then_reset(admin, ledger, services):
    response = admin.post("/campanas/escaleras", {"name": "mora_suave", "copy_from": "ocasional"}, page="/campanas")
    assert response.status_code == 302 and response.headers["Location"].endswith("/campanas/escaleras/mora_suave")
    assert len(stored(ledger)["ladders"]["mora_suave"]["steps"]) == 7
    assert "mora_suave" in services.policy().ladders
    admin.post("/campanas/segmentos", segment_form(DEFAULT_SEGMENT_LADDERS[:-1] + ["mora_suave"]), page="/campanas")
    refused = admin.post("/campanas/escaleras/mora_suave/restablecer", page="/campanas/escaleras/mora_suave")
    assert refused.status_code == 400 and "mora_suave" in text(refused)
    admin.post("/campanas/segmentos", segment_form(DEFAULT_SEGMENT_LADDERS), page="/campanas")
    assert admin.post("/campanas/escaleras/mora_suave/restablecer", page="/campanas").status_code == 302
    assert "mora_suave" not in services.policy().ladders


@pytest.mark.parametrize("name,message", [("Mora Suave", "minúsculas"), ("al_dia", "Ya existe"), ("", "Escriba"),
                                          ("m" * 300, "Máximo")])
def test_new_ladder_names_are_checked(admin, ledger, name, message):
    response = admin.post("/campanas/escaleras", {"name": name, "copy_from": "ocasional"}, page="/campanas")
    assert response.status_code == 400 and message in text(response)
    assert stored(ledger) == {}


# -- tomorrow --------------------------------------------------------------------------------------------------------
def test_simulation_of_tomorrow(admin, due_friday, ledger):
    ledger.settings.set("sending_paused", True)
    body = text(admin.get("/campanas/simulacion"))
    assert "27/11 09:00" in body and "como si no lo estuvieran" in body
    assert "Primeras decisiones (2 de 2)" in body and "vence_hoy" in body and "toca enviar este paso" in body
    assert summary(body) is None  # nothing to compare


def test_simulation_with_an_empty_ledger(admin):
    body = text(admin.get("/campanas/simulacion"))
    assert "No hay préstamos activos" in body


def test_the_page_says_so_when_the_engine_is_not_handed_in(ledger):
    from webui import create_app
    client = Client(create_app(Services(ledger=ledger, now=lambda: NOW), testing=True))
    client.setup_admin()
    assert client.get("/campanas").status_code == 503
    assert client.post("/campanas/reglas", {"profile": "MX"}, page="/entrar").status_code == 503


def test_english_page(admin, due_friday):
    admin.post("/idioma/en", {"next": "/campanas"}, page="/campanas")
    body = text(admin.get("/campanas"))
    assert "Contact rules" in body and "Reminder ladders" in body and "Simulate without saving" in body
    assert "Thank debtors who pay on time" in body and "Days to thank after the payment" in body
    body = text(admin.get("/campanas/simulacion"))
    assert "What the planner would do tomorrow" in body and "this step is due" in body


def test_every_text_of_the_page_is_in_the_english_catalogue():
    from glob import glob
    from test_message_templates import untranslated

    po = "webui/translations/campaigns/en/LC_MESSAGES/messages.po"
    files = ["webui/campaigns.py", "webui/campaigns_forms.py", *glob("webui/templates/campaigns/*.html")]
    assert untranslated(po, *files) == []


def test_hostile_posts_never_fail_with_500(admin, ledger, due_friday):
    """Random junk in every field of every form of the page: a message and a 4xx (or a simulation), never an
    error page."""
    import random

    rng = random.Random(11)
    junk = ["", "x", "-1", "0", "9" * 30, "<script>alert(1)</script>", "\x00", "2026-02-30", "y", "sms", "custom",
            "al_dia", "remove-0", "up-3", "down-9", "save", "simulate", "add", "a" * 3000, "🙂", "24:00", "07:00-19:00"]
    fields = ["action", "profile", "hours_0", "hours_4", "max_per_day", "max_sms_per_week", "sms_min_gap_days",
              "holidays_closed", "one_channel_per_week", "day", "name", "ladders-0", "ladders-7", "ladders-x", "label",
              "steps-0-offset", "steps-0-hour", "steps-0-channel", "steps-0-fallback", "steps-0-template",
              "steps-0-repeat_every", "steps-1-offset", "steps-999-offset", "steps-x-offset", "copy_from",
              "thank_you", "thank_you_days"]
    urls = ["/campanas/reglas", "/campanas/feriados", "/campanas/feriados/quitar", "/campanas/segmentos",
            "/campanas/escaleras", "/campanas/escaleras/al_dia", "/campanas/escaleras/%3Cb%3E",
            "/campanas/escaleras/al_dia/restablecer", "/campanas/agradecimiento"]
    token = admin.token("/campanas")
    for _ in range(150):
        data = {f: rng.choice(junk) for f in rng.sample(fields, rng.randint(0, 12))}
        data["csrf_token"] = token
        url = rng.choice(urls)
        response = admin.http.post(url, data=data)
        assert response.status_code < 500, (url, data)
        assert "<script>alert(1)" not in response.get_data(as_text=True)
