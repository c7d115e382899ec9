"""The settings page: the cooperative's settings saved to the ledger and read by the policy, the default
language, backup download, restart, power-off and logs; administrators only; bad input; English. Also the
appliance's wiring of those services (firmware_py.app) and the log ring buffer (firmware_py.logs)."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from firmware_py.app import Appliance
from firmware_py.config import Config, ConfigError, DataConfig, ModemConfig, WebConfig, load_config
from firmware_py.ledger import Ledger
from firmware_py.logs import RecentLines
from scheduler.model import Debtor, Phone
from scheduler.policy import load_policy
from webui.services import Services
from webclient import Client

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)  # the clock of conftest's ledger and services

GOOD = {"cooperative_name": "Cooperativa San José", "callback_number": "+57 604 444 5566",
        "payment_methods": "Nequi 300 123 4567 o en la oficina", "daily_sms_cap": "250",
        "promise_grace_days": "2", "language": "es"}


class Box:
    def __init__(self):
        self.restarts = 0
        self.shutdowns = 0
        self.shutdown_error = None
        self.backups: list[Path] = []
        self.lines = ["2026-11-26 10:00:00 INFO cobrador.app: cobrador started",
                      "2026-11-26 10:01:00 WARNING cobrador.modem: <script>alert(1)</script>"]

    def restart(self):
        self.restarts += 1

    def shutdown(self):
        if self.shutdown_error is not None:
            raise self.shutdown_error
        self.shutdowns += 1

    def recent_logs(self):
        return list(self.lines)


@pytest.fixture
def box():
    return Box()


@pytest.fixture
def services(ledger, box):
    def backup():
        path = ledger.backup(tempfile.mkdtemp(prefix="cobrador-test-respaldo-"))
        box.backups.append(path)
        return path

    return Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                    backup=backup, restart=box.restart, shutdown=box.shutdown, recent_logs=box.recent_logs,
                    timezone="America/Bogota", country="CO")


def body(response) -> str:
    return response.get_data(as_text=True)


# -- access ---------------------------------------------------------------------------------------------------------
def test_settings_are_for_administrators_only(app, make_user, ledger, box):
    for role in ("lectura", "operador"):
        other = make_user(role)
        assert other.get("/ajustes").status_code == 403
        assert other.get("/ajustes/registro").status_code == 403
        for url in ("/ajustes", "/ajustes/respaldo", "/ajustes/reiniciar", "/ajustes/apagar"):
            assert other.post(url, GOOD, page="/").status_code == 403, (role, url)
        assert "Ajustes" not in body(other.get("/"))
    assert box.restarts == 0 and box.shutdowns == 0 and not box.backups
    assert ledger.settings.get("cooperative_name") == "Cooperativa"
    anonymous = Client(app)
    assert "/entrar" in anonymous.get("/ajustes").headers["Location"]


# -- the form -------------------------------------------------------------------------------------------------------
def test_form_shows_the_current_values(admin, ledger):
    page = body(admin.get("/ajustes"))
    assert 'value="Cooperativa La Esperanza"' in page  # the configuration's name until the page sets one
    assert 'value="300"' in page and 'value="1"' in page  # the defaults of the SIM cap and grace days


def test_saving_changes_the_ledger_and_the_policy(admin, ledger):
    response = admin.post("/ajustes", GOOD, page="/ajustes")
    assert response.status_code == 302
    settings = ledger.settings
    assert settings.get("cooperative_name") == "Cooperativa San José"
    assert settings.get("callback_number") == "+57 604 444 5566"
    assert settings.get("daily_sms_cap") == 250 and settings.get("promise_grace_days") == 2
    policy = load_policy(country="CO").with_settings(settings.all())
    assert policy.cooperative.name == "Cooperativa San José" and policy.daily_sms_cap == 250
    assert policy.cooperative.payment_methods == "Nequi 300 123 4567 o en la oficina"
    assert policy.cooperative.phone == "+57 604 444 5566" and policy.promise_grace_days == 2
    page = body(admin.get("/ajustes"))
    assert "Ajustes guardados" in page and 'value="Cooperativa San José"' in page


@pytest.mark.parametrize("field,value,message", [
    ("cooperative_name", "", "Escriba el nombre de la cooperativa."),
    ("cooperative_name", "x" * 10_000, "entre 2 y 60 caracteres"),
    ("cooperative_name", "Coop\x07", "caracteres invisibles"),
    ("callback_number", "llámenos", "Escriba un teléfono de 7 a 15 dígitos"),
    ("callback_number", "123", "Escriba un teléfono de 7 a 15 dígitos"),
    ("payment_methods", "y" * 10_000, "Máximo 160 caracteres"),
    ("daily_sms_cap", "-5", "de 1 a 10000"),
    ("daily_sms_cap", "0", "de 1 a 10000"),
    ("daily_sms_cap", "doscientos", "de 1 a 10000"),
    ("daily_sms_cap", "1.000", "de 1 a 10000"),
    ("daily_sms_cap", "9" * 10_000, "de 1 a 10000"),
    ("daily_sms_cap", "", "Escriba cuántos SMS"),
    ("promise_grace_days", "31", "de 0 a 30"),
    ("promise_grace_days", "-1", "de 0 a 30"),
    ("promise_grace_days", "٣", "de 0 a 30"),
    ("language", "fr", "Elija Español o English."),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "long")
def test_bad_values_are_refused_and_nothing_is_saved(admin, ledger, field, value, message):
    response = admin.post("/ajustes", {**GOOD, field: value}, page="/ajustes")
    page = body(response)
    assert response.status_code == 400 and message in page and "No se guardó nada" in page
    assert ledger.settings.get("cooperative_name") == "Cooperativa" and ledger.settings.get("daily_sms_cap") == 300


def test_html_in_settings_is_escaped(admin, ledger):
    hostile = "<script>alert(1)</script>"
    assert admin.post("/ajustes", {**GOOD, "cooperative_name": hostile[:60], "payment_methods": hostile},
                      page="/ajustes").status_code == 302
    assert ledger.settings.get("payment_methods") == hostile  # kept as typed: it is text for an SMS
    page = body(admin.get("/ajustes"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_default_language_applies_to_visitors_who_did_not_choose(app, admin, ledger):
    assert admin.post("/ajustes", {**GOOD, "language": "en"}, page="/ajustes").status_code == 302
    visitor = Client(app)
    assert "Log in" in body(visitor.get("/entrar"))
    spanish = Client(app)
    spanish.http.set_cookie("cobrador_idioma", "es")
    assert "Entrar" in body(spanish.get("/entrar"))


# -- backup ---------------------------------------------------------------------------------------------------------
def test_backup_downloads_a_zip_that_opens_as_a_ledger(admin, ledger, box, tmp_path):
    ledger.import_batch([Debtor("d-1", "Ana Ruiz", phones=(Phone("+573001112233"),))], [], source="t")
    ledger.settings.set("callback_number", "6044445566")
    response = admin.post("/ajustes/respaldo", page="/ajustes")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "cobrador-respaldo-" in response.headers["Content-Disposition"]
    data = response.get_data()
    response.close()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp_path)
    folder = next(tmp_path.glob("cobrador-respaldo-*"))
    with Ledger.open(folder, read_only=True) as copy:
        assert copy.debtor("d-1").name == "Ana Ruiz" and copy.settings.get("callback_number") == "6044445566"
    assert box.backups and not box.backups[0].parent.exists()  # the temporary copy is deleted


def test_backup_failures_are_explained(admin, services):
    def full():
        raise OSError(28, "No queda espacio en el disco: libere espacio o use otra memoria.")
    services.backup = full
    response = admin.post("/ajustes/respaldo", page="/ajustes")
    assert response.status_code == 503 and "No queda espacio" in body(response)
    services.backup = None
    response = admin.post("/ajustes/respaldo", page="/ajustes")
    assert response.status_code == 409 and "no ofrece copias" in body(response)


# -- restart and power-off ------------------------------------------------------------------------------------------
def test_restart(admin, box):
    response = admin.post("/ajustes/reiniciar", page="/ajustes")
    assert response.status_code == 200 and box.restarts == 1 and "reiniciando" in body(response)


def test_shutdown_only_when_allowed(admin, services, box):
    response = admin.post("/ajustes/apagar", page="/ajustes")
    assert response.status_code == 200 and box.shutdowns == 1 and "apagando" in body(response)
    box.shutdown_error = RuntimeError("El sistema no dejó apagar el equipo (Access denied).")
    response = admin.post("/ajustes/apagar", page="/ajustes")
    assert response.status_code == 503 and "no dejó apagar" in body(response)
    services.shutdown = None
    page = body(admin.get("/ajustes"))
    assert "Apagar el equipo" not in page and "no está permitido" in page
    response = admin.post("/ajustes/apagar", page="/ajustes")
    assert response.status_code == 409 and "allow_poweroff" in body(response)


# -- logs -----------------------------------------------------------------------------------------------------------
def test_logs_newest_first_and_escaped(admin, box, services):
    page = body(admin.get("/ajustes/registro"))
    assert page.index("WARNING cobrador.modem") < page.index("cobrador started")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    box.lines = [f"line {i}" for i in range(500)]
    page = body(admin.get("/ajustes/registro"))
    assert "line 499" in page and "line 300" in page and "line 299" not in page
    services.recent_logs = None
    assert "no guarda el registro" in body(admin.get("/ajustes/registro"))


def test_settings_in_english(admin):
    admin.post("/idioma/en", {"next": "/ajustes"}, page="/ajustes")
    page = body(admin.get("/ajustes"))
    for text in ("Settings", "Cooperative name", "Save settings", "Download backup", "Restart Cobrador", "System"):
        assert text in page, text
    response = admin.post("/ajustes", {**GOOD, "daily_sms_cap": "-1"}, page="/ajustes")
    assert response.status_code == 400 and "whole number from 1 to 10000" in body(response)


# -- the appliance's side -------------------------------------------------------------------------------------------
def test_recent_lines_keep_the_newest():
    handler = RecentLines(3)
    logger = logging.getLogger("cobrador.test.recent")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for i in range(5):
            logger.info("línea %d", i)
        logger.info("x" * 10_000)
    finally:
        logger.removeHandler(handler)
    lines = handler.lines()
    assert len(lines) == 3 and "línea 3" in lines[0] and "línea 4" in lines[1]
    assert len(lines[2]) < 4100 and lines[2].endswith("…")
    with pytest.raises(ValueError):
        RecentLines(0)


def test_allow_poweroff_in_the_configuration(tmp_path):
    good = tmp_path / "c.toml"
    good.write_text("[web]\nallow_poweroff = true\n")
    assert load_config(good).web.allow_poweroff is True
    assert WebConfig().allow_poweroff is False
    bad = tmp_path / "bad.toml"
    bad.write_text('[web]\nallow_poweroff = "sí"\n')
    with pytest.raises(ConfigError, match="true o false"):
        load_config(bad)


@pytest.fixture
def appliance(tmp_path):
    config = Config(data=DataConfig(dir=tmp_path), modem=ModemConfig(balance_code="*611#"))
    box = Appliance(config)
    box.ledger = Ledger.memory()
    box.recent_logs = RecentLines(10)
    box.link = SimpleNamespace(status=lambda: None, modem=None, network_now=lambda: None)
    box.dispatcher = SimpleNamespace(wake=lambda: None, planner=object())
    box.panel = SimpleNamespace(password_reset_allowed=lambda: False)  # the box's button (another module)
    yield box
    box.ledger.close()


def test_appliance_wires_the_page_services(appliance, tmp_path):
    services = appliance.services()
    assert services.check_balance == appliance.check_balance and services.shutdown is None
    assert services.confirm_clock == appliance.confirm_clock and services.restart == appliance.request_restart
    assert services.recent_logs == appliance.recent_logs.lines
    assert services.extra["planner"] is appliance.dispatcher.planner  # the dashboard plans with the dispatcher's
    plain = Appliance(Config(data=DataConfig(dir=tmp_path), web=WebConfig(allow_poweroff=True)))
    plain.ledger, plain.link, plain.dispatcher, plain.panel = (appliance.ledger, appliance.link,
                                                              appliance.dispatcher, appliance.panel)
    wired = plain.services()
    assert wired.check_balance is None and wired.shutdown == plain.poweroff


def test_appliance_clock_confirmation_is_remembered(appliance, monkeypatch, tmp_path):
    import firmware_py.timekeeping as timekeeping

    monkeypatch.setattr(timekeeping, "TIMESYNC_FLAG", tmp_path / "no-such-flag")
    monkeypatch.setattr(timekeeping, "kernel_synchronised", lambda: False)
    assert appliance.policy().clock.source == "no_source"
    appliance.confirm_clock()
    assert appliance.policy().clock.trusted and appliance.policy().clock.source == "staff"


def test_appliance_balance(appliance):
    with pytest.raises(RuntimeError, match="No hay módem conectado"):
        appliance.check_balance()
    from modem.errors import CommandTimeout

    asked = []

    class Modem:
        closed = False

        def ussd(self, code, timeout=None):
            asked.append(code)
            if len(asked) > 1:
                raise CommandTimeout("AT+CUSD", 30)
            return "Saldo: $ 5.000"

    appliance.link.modem = Modem()
    assert appliance.check_balance() == "Saldo: $ 5.000" and asked == ["*611#"]
    with pytest.raises(RuntimeError, match="no respondió"):
        appliance.check_balance()


def test_appliance_backup_copy_is_a_ledger_in_a_temporary_folder(appliance):
    appliance.ledger.settings.set("callback_number", "6044445566")
    folder = appliance.backup_copy()
    try:
        assert Path(tempfile.gettempdir()).resolve() in folder.resolve().parents
        with Ledger.open(folder, read_only=True) as copy:
            assert copy.settings.get("callback_number") == "6044445566"
    finally:
        shutil.rmtree(folder.parent)


def test_appliance_restart_signals_itself_and_exits_for_systemd(appliance, monkeypatch):
    import firmware_py.app as app_module

    signalled = threading.Event()
    monkeypatch.setattr(os, "kill", lambda pid, sig: signalled.set())
    appliance.request_restart()
    assert signalled.wait(5)
    assert appliance._restart_requested and app_module.RESTART_STATUS != 0


def test_appliance_poweroff_reports_a_refusal(appliance, monkeypatch):
    calls = []

    def refuse(args, **kw):
        calls.append(args)
        return subprocess.CompletedProcess(args, 1, "", "Access denied")
    monkeypatch.setattr(subprocess, "run", refuse)
    with pytest.raises(RuntimeError, match="Access denied"):
        appliance.poweroff()
    assert calls == [["systemctl", "poweroff"]]


def test_every_settings_text_has_english():
    from test_dashboard import missing_english

    assert missing_english("settings", ["webui/settings.py", "webui/settings_forms.py",
                                        "webui/templates/settings"]) == []
