"""Fixtures for the web UI tests: an app on a temporary ledger, browser-like clients (``webclient``)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from firmware_py.ledger import Ledger
from webui import create_app
from webui.services import Services

from webclient import PASSWORD, Client

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


@pytest.fixture
def ledger():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        yield ledger


@pytest.fixture
def services(ledger):
    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW)


@pytest.fixture
def app(services):
    return create_app(services, testing=True)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def admin(client):
    """A client logged in as the administrator created on the setup page."""
    client.setup_admin()
    return client


@pytest.fixture
def make_user(app, admin):
    """make_user(role) -> a new client logged in as a user with that role."""
    def make(role: str, name: str | None = None) -> Client:
        name = name or f"u-{role}"
        admin.post("/usuarios", {"name": name, "password": PASSWORD, "confirm": PASSWORD, "role": role},
                   page="/usuarios")
        other = Client(app)
        other.login(name)
        return other
    return make
