"""The message-template page: list, editor with preview and worst case, live JSON preview, new, reset,
transliteration — roles, validation through the engine's own checks, and what is stored in the ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from scheduler.model import Debtor, Instalment, Loan, Phone
from scheduler.policy import SETTINGS_KEY
from webui.services import Services
from webclient import Client

from conftest import NOW

URL = "/plantillas/recordatorio_previo"


@pytest.fixture
def base():
    """The configuration file's engine sections in these tests."""
    return {"templates": {"aviso_archivo": {"es": "{cooperativa}: hola {nombre}.",
                                            "es_compartido": "{cooperativa}: mensaje para {nombre}."}},
            "messages": {"transliterate": True}}


def engine_services(ledger, base):
    """Services as the appliance builds them: the policy is the file's sections with the page's edits laid
    over them (``Appliance.policy``), ``engine_base`` the file's."""
    from scheduler.clock import ClockTrust
    from scheduler.policy import load_policy, merge_sections

    def policy():
        return load_policy(merge_sections(base, ledger.settings.get(SETTINGS_KEY) or {}), country="CO",
                           cooperative_name="Cooperativa La Esperanza", language="es", timezone="America/Bogota",
                           clock=ClockTrust.trusted_for_tests())
    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                    policy=policy, engine_base=lambda: base)


@pytest.fixture
def services(ledger, base):
    return engine_services(ledger, base)


def add_debtors(ledger, count=3, name="Ana", amount=150000):
    debtors, loans = [], []
    today = NOW.date()
    for i in range(count):
        debtors.append(Debtor(f"d-{i:04d}", f"{name} {i} Pérez", document=f"10{i:04d}",
                              phones=(Phone(f"+5730011{i:05d}"),)))
        loans.append(Loan(f"CR-{i:04d}", f"d-{i:04d}", instalments=(
            Instalment(1, today - timedelta(days=10), Decimal(amount + i)),
            Instalment(2, today + timedelta(days=20), Decimal(amount)))))
    ledger.import_batch(debtors, loans, source="prueba")


def edit_form(**changes):
    data = {"tone": "amable",
            "es": "{cooperativa}: Hola {nombre}, su cuota de {monto} vence el {vence}.",
            "es_compartido": "{cooperativa}: mensaje para {nombre}. Llámenos: {telefono_cooperativa}.",
            "en": "{cooperativa}: Hi {nombre}, {monto} is due on {vence}.",
            "en_compartido": "{cooperativa}: a message for {nombre}.",
            "debtor": "", "transliterate": "y", "action": "save"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def stored(ledger):
    return ledger.settings.get(SETTINGS_KEY) or {}


def text(response):
    return response.get_data(as_text=True)


# -- reading ---------------------------------------------------------------------------------------------------------
def test_list_shows_every_template_with_its_origin(admin):
    response = admin.get("/plantillas")
    body = text(response)
    assert response.status_code == 200
    for name in ("recordatorio_previo", "mora_firme", "visita", "aviso_archivo"):
        assert f"/plantillas/{name}" in body
    assert "archivo de configuración" in body and "predeterminada" in body
    assert "{referencia_pago}" in body and "revela la deuda" in body  # the placeholders and the shared-phone rule


def test_list_and_editor_need_login_and_reading_is_for_everyone(app, make_user):
    assert Client(app).get("/plantillas").status_code == 302
    reader = make_user("lectura")
    assert reader.get("/plantillas").status_code == 200
    body = text(reader.get(URL))
    assert reader.get(URL).status_code == 200 and 'value="save"' not in body  # no save button for a reader


def test_unknown_template_is_404(admin):
    assert admin.get("/plantillas/no_existe").status_code == 404
    assert admin.post("/plantillas/no_existe", edit_form(), page="/plantillas").status_code == 404


def test_editor_shows_the_texts_side_by_side_with_their_cost(admin):
    body = text(admin.get(URL))
    assert 'data-preview="es_compartido"' in body and 'data-preview="en"' in body
    assert "Cooperativa La Esperanza: Hola Ana," in body      # the example debtor, with the cooperative's name
    assert "GSM-7" in body or "UCS-2" in body
    assert "templates.js" in body and "<script>" not in body


# -- saving ----------------------------------------------------------------------------------------------------------
def test_admin_saves_a_template_into_the_engine_setting(admin, ledger, services):
    response = admin.post(URL, edit_form(), page=URL)
    assert response.status_code == 302, text(response)
    saved = stored(ledger)["templates"]["recordatorio_previo"]
    assert saved["es"].startswith("{cooperativa}: Hola {nombre}, su cuota") and saved["tone"] == "amable"
    policy = services.policy()
    assert policy.templates.templates["recordatorio_previo"].text("en", False) == "{cooperativa}: a message for {nombre}."
    assert "cambiada en esta página" in text(admin.get("/plantillas"))


def test_reader_and_operator_cannot_save(make_user, ledger):
    for role in ("lectura", "operador"):
        other = make_user(role)
        assert other.post(URL, edit_form(), page=URL).status_code == 403
        assert other.post("/plantillas/nueva", {"name": "otra", "copy_from": "visita"}, page="/plantillas").status_code == 403
        assert other.post("/plantillas/transliteracion", {}, page="/plantillas").status_code == 403
    assert SETTINGS_KEY not in dict(ledger.settings.all().values)


def test_reader_may_preview(make_user):
    reader = make_user("lectura")
    response = reader.post(URL, edit_form(action="preview"), page=URL)
    assert response.status_code == 200 and "Hola Ana" in text(response)


@pytest.mark.parametrize("field,value,message", [
    ("es", "{cooperativa}: hola {nombr}", "no existe"),                                # unknown placeholder
    ("es", "Hola {nombre}, pague su cuota", "{cooperativa}"),                          # the creditor unnamed
    ("es_compartido", "{cooperativa}: {nombre} debe {monto}", "revelaría la deuda"),  # debt placeholder
    ("es_compartido", "{cooperativa}: {nombre}, recuerde su cuota", "revelaría la deuda"),  # debt word
    ("en_compartido", "{cooperativa}: {nombre}, balance {saldo}", "revelaría la deuda"),
    ("es", "{cooperativa}: una llave { sola", "llave"),
    ("es", "", "no puede quedar vacío"),
    ("es", "{cooperativa} " + "x" * 10_000, "demasiado largo"),
    ("es", "{cooperativa}: hola\x00 {nombre}", "caracteres invisibles"),
    ("en", "{cooperativa}: hi\u200b {nombre}", "caracteres invisibles"),            # a zero-width space
])
def test_bad_texts_are_refused_next_to_the_field(admin, ledger, field, value, message):
    response = admin.post(URL, edit_form(**{field: value}), page=URL)
    body = text(response)
    assert response.status_code == 400 and message in body
    assert "templates" not in stored(ledger)


def test_html_in_a_template_is_shown_escaped(admin, ledger):
    hostile = "{cooperativa}: <script>alert(1)</script> {nombre}"
    response = admin.post(URL, edit_form(es=hostile), page=URL)
    assert response.status_code == 302
    body = text(admin.get(URL))
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in text(admin.get("/plantillas"))


def test_a_template_used_by_no_ladder_can_be_created_from_a_copy_and_reset(admin, ledger):
    response = admin.post("/plantillas/nueva", {"name": "aviso_feria", "copy_from": "vence_hoy"}, page="/plantillas")
    assert response.status_code == 302 and response.headers["Location"].endswith("/plantillas/aviso_feria")
    assert "aviso_feria" in stored(ledger)["templates"]
    assert admin.get("/plantillas/aviso_feria").status_code == 200
    response = admin.post("/plantillas/aviso_feria/restablecer", page="/plantillas/aviso_feria")
    assert response.status_code == 302 and "aviso_feria" not in stored(ledger)["templates"]
    assert admin.get("/plantillas/aviso_feria").status_code == 404


@pytest.mark.parametrize("name,message", [("Aviso Feria", "minúsculas"), ("mora_firme", "Ya existe"),
                                          ("nueva", "Ya existe"), ("", "Escriba un nombre"), ("a" * 500, "Máximo")])
def test_new_template_names_are_checked(admin, ledger, name, message):
    response = admin.post("/plantillas/nueva", {"name": name, "copy_from": "vence_hoy"}, page="/plantillas")
    assert response.status_code == 400 and message in text(response)
    assert "templates" not in stored(ledger)


def test_new_template_from_an_unknown_template_is_refused(admin):
    response = admin.post("/plantillas/nueva", {"name": "otra", "copy_from": "no_existe"}, page="/plantillas")
    assert response.status_code == 400


def test_reset_restores_the_file_or_default_text(admin, ledger, services):
    admin.post(URL, edit_form(), page=URL)
    assert admin.post("/plantillas/recordatorio_previo/restablecer", page=URL).status_code == 302
    assert "recordatorio_previo" not in stored(ledger)["templates"]
    default = services.policy().templates.templates["recordatorio_previo"].text("es", True)
    assert default.startswith("{cooperativa}: Hola {nombre}, le recordamos")
    assert admin.post("/plantillas/recordatorio_previo/restablecer", page=URL).status_code == 404  # nothing to reset
    assert admin.post("/plantillas/nada/restablecer", page=URL).status_code == 404


def test_reset_refused_when_a_ladder_still_uses_the_template(admin, ledger, services):
    admin.post("/plantillas/nueva", {"name": "aviso_feria", "copy_from": "vence_hoy"}, page="/plantillas")
    overrides = stored(ledger)
    overrides["ladders"] = {"al_dia": {"label": "Al día", "steps": [{"offset": 0, "channel": "sms",
                                                                      "template": "aviso_feria"}]}}
    ledger.settings.set(SETTINGS_KEY, overrides)
    response = admin.post("/plantillas/aviso_feria/restablecer", page="/plantillas/aviso_feria")
    assert response.status_code == 400 and "aviso_feria" in text(response)
    assert "aviso_feria" in stored(ledger)["templates"]


def test_transliteration_switch(admin, ledger, services):
    assert admin.post("/plantillas/transliteracion", {}, page="/plantillas").status_code == 302
    assert stored(ledger)["messages"]["transliterate"] is False and services.policy().transliterate is False
    admin.post("/plantillas/transliteracion", {"transliterate": "y"}, page="/plantillas")
    assert services.policy().transliterate is True


# -- preview ---------------------------------------------------------------------------------------------------------
def test_preview_for_a_chosen_debtor_with_transliteration(admin, ledger):
    add_debtors(ledger, 2, name="Íñigo")
    form = edit_form(action="preview", debtor="íñigo 1", es="{cooperativa}: Señor {nombre}, pagó {monto}. Ref {referencia_pago}.")
    body = text(admin.post(URL, form, page=URL))
    assert "Señor Iñigo, pago $ 150.001. Ref CR-0001" in body  # as sent: Í and ó lose their accent (GSM)
    form["debtor"] = "d-0000"
    assert "pago $ 150.000" in text(admin.post(URL, form, page=URL))
    form["debtor"] = "100001"  # the document
    assert "Ref CR-0001" in text(admin.post(URL, form, page=URL))
    form.update(debtor="", es="{cooperativa}: Ahí está {nombre}", transliterate="y")
    assert "Ahi esta Ana" in text(admin.post(URL, form, page=URL))  # á í without accent: GSM
    form.pop("transliterate")
    assert "Ahí está Ana" in text(admin.post(URL, form, page=URL))


def test_preview_for_an_unknown_debtor_says_so(admin):
    response = admin.post(URL, edit_form(action="preview", debtor="<b>nadie</b>"), page=URL)
    body = text(response)
    assert response.status_code == 400 and "No hay ningún deudor" in body and "<b>nadie" not in body


def test_worst_case_is_over_a_bounded_sample(admin, ledger, monkeypatch):
    import webui.message_templates as page
    add_debtors(ledger, 5)
    ledger.import_batch([Debtor("d-long", "Maximiliano " * 8, phones=(Phone("+573009999999"),))],
                        [Loan("CR-L", "d-long", instalments=(Instalment(1, NOW.date(), Decimal("99999999")),))],
                        source="prueba")
    body = text(admin.get(URL))
    assert "6 deudores con saldo" in body and "muestra de" not in body
    monkeypatch.setattr(page, "WORST_SAMPLE", 2)
    body = text(admin.get(URL))
    assert "muestra de 2 de 6 deudores" in body


def test_live_preview_json(admin, ledger):
    add_debtors(ledger, 1)
    token = admin.token(URL)
    data = dict(edit_form(debtor="d-0000"), csrf_token=token)
    response = admin.http.post("/plantillas/vista-previa", data=data)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["variants"]["es"]["sent"].startswith("Cooperativa La Esperanza: Hola Ana")
    assert answer["variants"]["es"]["encoding"] in ("GSM-7", "UCS-2") and answer["variants"]["es"]["segments"] >= 1
    assert answer["debtor"] == "Ana 0 Pérez" and answer["errors"] == {}
    data["es_compartido"] = "{cooperativa}: {nombre} debe {monto}"
    response = admin.http.post("/plantillas/vista-previa", data=data)
    answer = response.get_json()
    assert response.status_code == 400 and "revelaría la deuda" in answer["errors"]["es_compartido"]
    assert "es_compartido" not in answer["variants"] and "es" in answer["variants"]
    data["es"] = "x" * 10_000
    answer = admin.http.post("/plantillas/vista-previa", data=data).get_json()
    assert "demasiado largo" in answer["errors"]["es"]


def test_live_preview_needs_the_csrf_token(admin):
    response = admin.http.post("/plantillas/vista-previa", data=edit_form())
    assert response.status_code == 400


def test_the_page_says_so_when_the_engine_is_not_handed_in(ledger):
    from webui import create_app
    app = create_app(Services(ledger=ledger, now=lambda: NOW), testing=True)
    client = Client(app)
    client.setup_admin()
    response = client.get("/plantillas")
    assert response.status_code == 503 and "soporte técnico" in text(response)


def test_english_page(admin):
    admin.post("/idioma/en", {"next": "/plantillas"}, page="/plantillas")
    body = text(admin.get(URL))
    assert "Spanish — personal phone" in body and "Worst case" in body and "Save template" in body
    assert "Message templates" in text(admin.get("/plantillas"))


def untranslated(po_path, *files):
    """Texts of ``files`` (Python and Jinja) that the English catalogue ``po_path`` lacks."""
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    with open(po_path, "rb") as handle:
        known = {m.id for m in read_po(handle) if m.id and m.string}
    missing = []
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    for path in files:
        method = "jinja2.ext.babel_extract" if path.endswith(".html") else "python"
        options = {"extensions": "jinja2.ext.i18n"} if path.endswith(".html") else {}
        for _line, message, _comments, _context in extract_from_file(method, path, keywords=keywords, options=options):
            if message and message not in known:
                missing.append(message)
    return missing


def test_every_text_of_the_page_is_in_the_english_catalogue():
    from glob import glob
    from scheduler.templates import PLACEHOLDERS

    po = "webui/translations/message_templates/en/LC_MESSAGES/messages.po"
    files = ["webui/message_templates.py", "webui/message_templates_forms.py",
             *glob("webui/templates/message_templates/*.html")]
    assert untranslated(po, *files) == []
    from babel.messages.pofile import read_po
    with open(po, "rb") as handle:
        known = {m.id for m in read_po(handle)}
    assert set(PLACEHOLDERS.values()) <= known and "Plantillas" in known


def test_worst_case_ranking_agrees_with_costing_every_rendering(app, ledger, services, monkeypatch):
    """The cheap pre-ranking keeps the exact answer even when only the top-ranked rendering is costed: a short
    name outside the GSM alphabet (UCS-2) beats longer GSM names, and an extension character counts twice."""
    import webui.message_templates as page
    monkeypatch.setattr(page, "EXACT_CANDIDATES", 1)
    from scheduler.templates import placeholder_values, substitute, worst_case

    names = ["Françoise Ñúñez", "Bartolomeo Maximiliano Villavicencio", "Ana [Bea] ~ Ruiz", "Íñigo Ó"]
    ledger.import_batch([Debtor(f"w-{i}", n, phones=(Phone(f"+57301000000{i}"),)) for i, n in enumerate(names)],
                        [Loan(f"W-{i}", f"w-{i}", instalments=(Instalment(1, NOW.date(), Decimal(1000 + i)),))
                         for i in range(len(names))], source="prueba")
    texts = {"es": "{cooperativa}: " + "x" * 120 + " {nombre} {monto}", "es_compartido": "{cooperativa} {nombre}",
             "en": "{cooperativa}: hi {nombre}", "en_compartido": ""}
    policy = services.policy()
    with app.test_request_context():
        cooperative = page._cooperative(policy)
        for transliterate in (True, False):
            found = page.worst_cases(texts, {}, cooperative, transliterate, NOW.date())
            facts = [page.debtor_facts(d, ledger.loans(d.id), NOW.date()) for d in ledger.debtors()]
            for name, text in texts.items():
                if not text:
                    continue
                language = "en" if name.startswith("en") else "es"
                every = [substitute(text, placeholder_values(f, cooperative, language)) for f in facts]
                assert found.variants[name] == worst_case(every, transliterate=transliterate), (name, transliterate)


def test_hostile_posts_never_fail_with_500(admin, ledger):
    """Random junk in every field of every form of the page: a message and a 4xx, never an error page."""
    import random

    rng = random.Random(7)
    junk = ["", "x", "-1", "9" * 30, "<script>alert(1)</script>", "\x00", "{", "}}", "%s%d", "{nombre", "y", "save",
            "preview", "a" * 3000, "🙂", "d-0000", "recordatorio_previo"]
    fields = ["action", "tone", "es", "es_compartido", "en", "en_compartido", "debtor", "transliterate", "name",
              "copy_from"]
    urls = [URL, "/plantillas/vista-previa", "/plantillas/nueva", "/plantillas/transliteracion",
            "/plantillas/recordatorio_previo/restablecer", "/plantillas/%3Cb%3E"]
    token = admin.token(URL)
    for _ in range(150):
        data = {f: rng.choice(junk) for f in rng.sample(fields, rng.randint(0, len(fields)))}
        data["csrf_token"] = token
        url = rng.choice(urls)
        response = admin.http.post(url, data=data)
        assert response.status_code < 500, (url, data)
        assert "<script>alert(1)" not in response.get_data(as_text=True)
