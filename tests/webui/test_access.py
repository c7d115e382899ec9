"""Access to the web page: setup once, login everywhere, roles, CSRF, throttling, headers, languages."""

from __future__ import annotations

import pytest

from webui.access import PUBLIC
from webclient import PASSWORD, Client


def routes(app, method="GET"):
    """Every rule answering ``method`` that is not public, with placeholder arguments."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or method not in rule.methods:
            continue
        args = {name: "x" for name in rule.arguments}
        yield rule.endpoint, rule.rule, args


def test_first_visit_leads_to_setup_and_setup_happens_once(client):
    assert client.get("/").headers["Location"].endswith("/configurar")
    client.setup_admin()
    other = Client(client.app)
    assert other.get("/configurar").headers["Location"].endswith("/entrar")
    response = other.post("/configurar", {"name": "intruso", "password": PASSWORD, "confirm": PASSWORD},
                          page="/entrar")
    assert response.status_code == 302 and other.app.extensions["cobrador.users"].get("intruso") is None


@pytest.mark.parametrize("password,message", [("corta", "al menos 10"), ("aaaaaaaaaaaa", "fácil")],
                         ids=["too-short", "too-obvious"])
def test_setup_refuses_weak_passwords(client, password, message):
    response = client.post("/configurar", {"name": "gerente", "password": password, "confirm": password},
                           page="/configurar")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_every_page_needs_login(app, admin):
    anonymous = Client(app)
    for endpoint, rule, args in routes(app):
        url = app.url_map.bind("localhost").build(endpoint, args)
        response = anonymous.get(url)
        assert response.status_code == 302 and "/entrar" in response.headers["Location"], (rule, response.status_code)


def test_every_post_needs_a_csrf_token(app, admin):
    for endpoint, rule, args in routes(app, "POST"):
        url = app.url_map.bind("localhost").build(endpoint, args)
        response = admin.post(url, {}, token=False)
        assert response.status_code == 400, (rule, response.status_code)
        assert "caducó" in response.get_data(as_text=True)


def test_login_logout_and_wrong_password(app, admin):
    admin.logout()
    assert admin.get("/").status_code == 302
    wrong = admin.post("/entrar", {"name": "gerente", "password": "otra cosa distinta"})
    assert wrong.status_code == 401 and "incorrectos" in wrong.get_data(as_text=True)
    admin.login("gerente")
    assert admin.get("/").status_code == 200


def test_login_is_throttled_after_repeated_failures(app, admin):
    attacker = Client(app)
    codes = [attacker.post("/entrar", {"name": "gerente", "password": f"intento {i} malo"}).status_code
             for i in range(8)]
    assert codes[:5] == [401] * 5 and 429 in codes
    blocked = attacker.post("/entrar", {"name": "gerente", "password": PASSWORD})
    assert blocked.status_code == 429  # even the right password waits out the delay


def test_open_redirect_after_login_is_refused(app, admin):
    admin.logout()
    response = admin.post("/entrar?next=//evil.example/", {"name": "gerente", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_roles(app, make_user):
    reader = make_user("lectura")
    assert reader.get("/").status_code == 200
    assert reader.get("/usuarios").status_code == 403
    operator = make_user("operador")
    assert operator.post("/usuarios", {"name": "x1", "password": PASSWORD, "confirm": PASSWORD,
                                       "role": "administrador"}, page="/").status_code == 403


def test_admin_cannot_delete_the_only_admin_or_themselves(admin):
    response = admin.post("/usuarios/gerente/borrar", page="/usuarios")
    assert response.status_code == 400
    assert admin.app.extensions["cobrador.users"].get("gerente") is not None


def test_removed_user_is_logged_out(app, admin, make_user):
    reader = make_user("lectura", "lector")
    admin.post("/usuarios/lector/borrar", page="/usuarios")
    assert reader.get("/").status_code == 302


def test_password_reset_needs_physical_presence(app, services, admin):
    visitor = Client(app)
    assert visitor.get("/restablecer").status_code == 403
    services.password_reset_allowed = lambda: True
    response = visitor.post("/restablecer", {"name": "gerente", "password": "nueva frase secreta",
                                             "confirm": "nueva frase secreta"}, page="/restablecer")
    assert response.status_code == 302
    visitor.login("gerente", "nueva frase secreta")


def test_security_headers_on_every_answer(admin):
    for url in ("/", "/entrar", "/no-existe", "/static/style.css"):
        headers = admin.get(url).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_inline_script_anywhere(app, admin):
    for endpoint, rule, args in routes(app):
        if args:
            continue
        body = admin.get(app.url_map.bind("localhost").build(endpoint, args)).get_data(as_text=True)
        assert "<script>" not in body and "onclick=" not in body, rule


def test_errors_are_spanish_pages(admin):
    response = admin.get("/no-existe")
    assert response.status_code == 404 and "no existe" in response.get_data(as_text=True)


def test_english_is_available_and_remembered(app, admin):
    response = admin.post("/idioma/en", {"next": "/"}, page="/")
    assert response.status_code == 302
    body = admin.get("/").get_data(as_text=True)
    assert "Debtors" in body and 'lang="en"' in body
    fresh = Client(app)
    fresh.http.set_cookie("cobrador_idioma", "en")
    assert "Log in" in fresh.get("/entrar").get_data(as_text=True)


def test_html_in_names_is_escaped(app, ledger, admin):
    from scheduler.model import Debtor, Phone
    ledger.import_batch([Debtor("d-x", "<script>alert(1)</script> Ana", phones=(Phone("+573001112233"),))], [],
                        source="t")
    # every page that shows names must escape them; the dashboard is checked here, the others in their areas
    assert "<script>alert" not in admin.get("/").get_data(as_text=True)


def test_uploads_over_the_limit_are_refused_on_every_route(admin):
    response = admin.post("/usuarios", {"name": "x" * 10, "blob": "y" * (21 * 1024 * 1024)}, page="/usuarios")
    assert response.status_code == 413 and "demasiado grande" in response.get_data(as_text=True)


def test_the_icon_is_public_and_linked_from_every_page(client, admin):
    """A browser asks for /favicon.ico before anyone logs in: an icon, not a 404 in its console."""
    anonymous = Client(client.app)
    response = anonymous.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<svg")
    assert 'rel="icon" href="/static/favicon.svg"' in admin.get("/").get_data(as_text=True)
