"""A browser-like client for the web UI tests (not a test module): it keeps the session and sends each
form with its CSRF token, as a browser does — no test switches CSRF off."""

from __future__ import annotations

import re

PASSWORD = "una frase larga de prueba"
_TOKEN = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Client:
    """A Flask test client that behaves like a browser: it keeps the session and reads each form's token."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def token(self, page: str = "/entrar") -> str:
        body = self.http.get(page).data
        match = _TOKEN.search(body)
        assert match, f"no CSRF token on {page}"
        return (match.group(1) or match.group(2)).decode()

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def post(self, url, data=None, *, page: str | None = None, token: bool = True, **kw):
        data = dict(data or {})
        if token:
            data.setdefault("csrf_token", self.token(page or "/entrar"))
        return self.http.post(url, data=data, **kw)

    def setup_admin(self, name="gerente", password=PASSWORD):
        response = self.post("/configurar", {"name": name, "password": password, "confirm": password},
                             page="/configurar")
        assert response.status_code == 302, response.data
        return response

    def login(self, name, password=PASSWORD):
        response = self.post("/entrar", {"name": name, "password": password})
        assert response.status_code == 302, response.data
        return response

    def logout(self):
        return self.post("/salir", page="/")
