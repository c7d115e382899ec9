"""The maintenance commands against a running appliance (in this process, with the simulated modem) and against
the built-in simulator: the published status, pause/resume and set-password picked up by the service, the
reset window, backup while it runs, refusals that protect it; send-test and doctor with ``--simulate``."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_py import cli
from firmware_py.app import Appliance
from firmware_py.clock_loop import ClockLoop
from firmware_py.clockkeeper import REQUEST_FILE
from firmware_py.config import Config
from modem.simulator import Simulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"
PASSWORD = "una frase larga de prueba"
PHONE = "+573001234567"


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def parse(*argv):
    with cli.speaking("es"):
        return cli.build_parser().parse_args([str(a) for a in argv])


@pytest.fixture
def data(tmp_path, capsys):
    folder = tmp_path / "datos"
    assert cli.main(["import", str(LOANS), "--data", str(folder)]) == 0
    capsys.readouterr()
    return folder


@pytest.fixture
def appliance(data):
    box = Appliance(Config().with_overrides(data_dir=data, port=0), simulate=True)
    box.STATUS_INTERVAL = 0.2
    box.start()
    try:
        wait_until(lambda: box.link.status().state == "connected")
        yield box
    finally:
        box.close()


def published(folder: Path) -> dict:
    return json.loads((folder / "status.json").read_text())


# -- status --------------------------------------------------------------------------------------------------------
def test_the_running_appliance_publishes_its_status(appliance, data, capsys):
    # the first file is written at start without the planner's count (ready sooner); the count follows
    wait_until(lambda: (published(data).get("sim") or {}).get("operator") and published(data).get("queue"))
    status, out, _ = run(capsys, "status", "--json", "--data", data)
    report = json.loads(out)
    assert status == 0 and report["service"]["running"] is True and report["service"]["age_seconds"] < 60
    service = report["service"]["published"]
    assert service["modem"]["state"] == "connected" and service["modem"]["simulated"] is True
    assert service["sim"] == {"operator": "Claro CO", "signal_dbm": service["sim"]["signal_dbm"], "registered": True,
                              "smsc": "+573000000000"}
    assert isinstance(service["queue"]["due_now"], int) and service["clock"]["trusted"] in (True, False)
    assert service["disk"]["free_bytes"] > 0 and service["web"].startswith("http://127.0.0.1:")
    assert report["ledger"]["loans"] == 4
    status, out, _ = run(capsys, "status", "--data", data)
    assert status == 0 and out.startswith("Servicio: funcionando (Cobrador ")
    assert "Módem: conectado (módem simulado)" in out and "SIM: operador Claro CO" in out
    appliance.close()
    assert published(data)["state"] == "stopped"
    status, out, _ = run(capsys, "status", "--data", data)
    assert status == 3 and out.startswith("Servicio: no está funcionando")


# -- pause / resume ---------------------------------------------------------------------------------------------------
def test_pause_and_resume_are_picked_up_by_the_running_appliance(appliance, data, capsys):
    status, out, _ = run(capsys, "pause", "--data", data)
    assert status == 0 and out == "Envíos en pausa: el servicio en funcionamiento aplicó la solicitud.\n"
    assert appliance.ledger.settings.get("sending_paused") is True
    wait_until(lambda: published(data)["sending_paused"] is True)
    status, out, _ = run(capsys, "resume", "--data", data)
    assert status == 0 and out.startswith("Envíos reanudados: el servicio en funcionamiento aplicó la solicitud")
    assert appliance.ledger.settings.get("sending_paused") is False
    assert not (data / "control" / "pause").exists() and not (data / "control" / "resume").exists()


def test_a_request_left_while_the_service_was_stopped_is_applied_when_it_starts(data):
    from firmware_py import control

    control.write_request(data, control.PAUSE)
    box = Appliance(Config().with_overrides(data_dir=data, port=0), simulate=True)
    with box:
        wait_until(lambda: box.ledger.settings.get("sending_paused") is True, timeout=10)


# -- set-password and the reset window ------------------------------------------------------------------------------------
def test_set_password_through_the_running_appliance_then_log_in(appliance, data, capsys, monkeypatch):
    from tests.webui.webclient import Client
    from webui import create_app

    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status, out, _ = run(capsys, "set-password", "gerente", "--password-stdin", "--data", data)
    assert status == 0
    assert out == ("Usuario «gerente» creado como administrador, con esa contraseña. El servicio en funcionamiento "
                   "aplicó el cambio.\n")
    client = Client(create_app(appliance.services(), testing=True))
    client.login("gerente")
    assert client.get("/usuarios").status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO("la segunda frase secreta\n"))
    status, out, _ = run(capsys, "set-password", "gerente", "--password-stdin", "--data", data)
    assert status == 0 and out.startswith("Contraseña del usuario «gerente» cambiada.")
    Client(create_app(appliance.services(), testing=True)).login("gerente", "la segunda frase secreta")


def test_allow_web_reset_opens_the_running_appliances_reset_page(appliance, data, capsys):
    from tests.webui.webclient import Client
    from webui import create_app

    client = Client(create_app(appliance.services(), testing=True))
    assert client.get("/restablecer").status_code == 403
    status, out, _ = run(capsys, "set-password", "--allow-web-reset", "5", "--data", data)
    assert status == 0 and "(5 minutos)" in out
    assert appliance.services().password_reset_allowed() is True
    assert client.get("/restablecer").status_code == 200


# -- backup, restore, send-test and doctor while it runs ----------------------------------------------------------------------
def test_backup_works_while_the_appliance_runs_and_restore_is_refused(appliance, data, tmp_path, capsys):
    usb = tmp_path / "usb"
    usb.mkdir()
    appliance.ledger.settings.set("sending_paused", True)   # written just before the copy: it is in it
    status, out, _ = run(capsys, "backup", usb, "--data", data)
    assert status == 0 and "3 deudores, 4 préstamos" in out
    [copy] = list(usb.iterdir())
    from firmware_py.ledger import Ledger

    with Ledger.open(copy, read_only=True) as ledger:
        assert ledger.settings.get("sending_paused") is True
    status, _, err = run(capsys, "restore", copy, "--data", data)
    assert status == 1 and "deténgalo antes de restaurar" in err


def test_send_test_and_doctor_leave_the_services_modem_alone(appliance, data, tmp_path, capsys):
    status, _, err = run(capsys, "send-test", "3001234567", "--data", data)
    assert status == 1 and "El servicio Cobrador está funcionando y tiene el módem" in err
    wait_until(lambda: (published(data).get("sim") or {}).get("smsc"))
    status, out, _ = run(capsys, "doctor", "--data", data)
    assert "✓ Servicio: funcionando" in out and "✓ Módem: conectado (módem simulado)." in out
    assert "✓ Centro de mensajes: +573000000000." in out and "✓ Red: registrada en Claro CO." in out


def test_the_appliance_asks_for_the_networks_time_when_the_clock_is_off(appliance, data):
    appliance.link.simulator.set_network_time(datetime.now(timezone.utc) + timedelta(hours=3))
    wait_until(lambda: appliance.link.network_now() is not None)
    [loop] = [h for h in appliance._helpers if isinstance(h, ClockLoop)]
    # the loop's own thread ticks when it starts: on a slow machine it may see the network's time and ask
    # first (then this tick does not ask again); one request is on disk either way
    loop.tick()
    request = json.loads((data / REQUEST_FILE).read_text())
    assert request["source"] == "modem"
    network = datetime.fromisoformat(request["network_time"])
    assert abs(network - datetime.now(timezone.utc) - timedelta(hours=3)) < timedelta(minutes=1)


# -- send-test against the simulator ------------------------------------------------------------------------------------------
def test_send_test_through_the_simulator_with_its_delivery_report(tmp_path, capsys):
    status, out, _ = run(capsys, "send-test", "300 123 4567", "--simulate", "--data", tmp_path)
    lines = out.splitlines()
    assert status == 0, out
    assert lines[0] == "Enviando a +573001234567…"
    assert lines[1] == "✓ Enviado: el operador aceptó el mensaje (referencia 0)."
    assert lines[-1] == "✓ Entregado al teléfono."


@pytest.mark.parametrize("outcome, status, last", [
    ("failed", 1, "✗ El operador no pudo entregarlo: el número no existe, está bloqueado o no recibe SMS."),
    ("never", 0, "Sin aviso de entrega en 1 s: el teléfono puede estar apagado o sin señal"),
])
def test_send_test_reports_what_the_network_said(tmp_path, capsys, outcome, status, last):
    from firmware_py.commands import send_test

    with Simulator("generic") as sim:
        sim.network.phone(PHONE).outcome = outcome
        args = parse("send-test", "3001234567", "--text", "Hola", "--wait", "1", "--data", tmp_path)
        assert send_test.main(args, Config(), simulator=sim) == status
        assert sim.network.submitted[-1].text == "Hola"
    assert capsys.readouterr().out.splitlines()[-1].startswith(last)


def test_send_test_says_the_modems_error_in_spanish(tmp_path, capsys):
    from firmware_py.commands import send_test

    with Simulator("generic") as sim:
        sim.fail_next("AT+CMGS", "+CMS ERROR: 330")
        assert send_test.main(parse("send-test", PHONE, "--data", tmp_path), Config(), simulator=sim) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == ("✗ No se envió: la SIM no tiene número de centro de mensajes (SMSC) "
                                    "(+CMS ERROR 330).")


def test_send_test_refuses_a_number_it_cannot_read(tmp_path, capsys):
    status, _, err = run(capsys, "send-test", "12", "--simulate", "--data", tmp_path)
    assert status == 1 and "Número inválido «12»" in err and "+57 300 123 4567" in err


# -- doctor against the simulator -------------------------------------------------------------------------------------------
def test_doctor_with_the_simulator_is_all_good(data, tmp_path, capsys):
    from firmware_py.commands import doctor
    from tests.firmware_py.test_cli_maintenance import lines_of, machine

    env = machine(tmp_path, systemctl=(3, "inactive"), vcgencmd=(0, "throttled=0x0"))
    assert doctor.main(parse("doctor", "--simulate", "--data", data), Config(), env=env) == 0
    out = capsys.readouterr().out
    lines = lines_of(out)
    assert lines.pop("Servicio") == "– Servicio: no está funcionando; el módem se revisa directamente."
    assert lines.pop("Mensajes de voz").startswith("– Mensajes de voz: el perfil del módem es «auto»")
    assert set(lines) == {"Configuración", "Módem", "ModemManager", "SIM", "Señal", "Centro de mensajes", "Red",
                          "Reloj", "Voz (espeak-ng)", "Datos", "Disco", "Alimentación"}
    assert all(line.startswith("✓") for line in lines.values()), out
    assert "✓ Reloj: confiable (hora confirmada por la red móvil)." in out and out.endswith("Todo en orden.\n")
    status, out, _ = run(capsys, "doctor", "--simulate", "--data", data)   # this machine, through the command line
    for title in ("Módem", "SIM", "Señal", "Centro de mensajes", "Red", "Reloj"):
        assert lines_of(out)[title].startswith("✓"), out


def test_doctor_simulating_beside_a_running_service_says_which_modem_it_checks(data, tmp_path, capsys):
    from firmware_py.commands import doctor
    from tests.firmware_py.test_cli_maintenance import lines_of, machine, publish_running

    publish_running(data)
    env = machine(tmp_path, systemctl=(3, "inactive"), vcgencmd=(0, "throttled=0x0"))
    doctor.main(parse("doctor", "--simulate", "--data", data), Config(), env=env)
    lines = lines_of(capsys.readouterr().out)
    assert "se revisa un módem simulado aparte, no el del servicio" in lines["Servicio"]
    assert lines["Módem"].startswith("✓ Módem: módem simulado (")  # its own simulator, not the published status


def test_doctor_names_a_sim_that_asks_for_its_pin(data, tmp_path, capsys):
    from firmware_py.commands import doctor
    from tests.firmware_py.test_cli_maintenance import lines_of, machine

    with Simulator("generic", pin="1234") as sim:
        assert doctor.main(parse("doctor", "--data", data), Config(), env=machine(tmp_path), simulator=sim) == 1
    lines = lines_of(capsys.readouterr().out)
    assert lines["Módem"].startswith("✓ Módem: responde en")
    assert lines["SIM"] == "✗ SIM: la SIM pide un PIN. Escríbalo en [modem] pin en la configuración."
    assert lines["Señal"].startswith("–")


def test_asking_the_balance_on_the_page_updates_the_sims_health_record(data):
    from dataclasses import replace

    from firmware_py.config import SimConfig

    config = replace(Config().with_overrides(data_dir=data, port=0), sim=SimConfig(balance_code="*611#",
                                                                                   low_balance=5000))
    box = Appliance(config, simulate=True)
    box.STATUS_INTERVAL = 0.2
    box.start()
    try:
        wait_until(lambda: box.link.status().state == "connected")
        wait_until(lambda: any(getattr(h, "sim_health", None) for h in box._helpers))
        box.link.simulator.network.ussd["*611#"] = "Su saldo es $3.200. Vence el 30/12."
        assert box.check_balance() == "Su saldo es $3.200. Vence el 30/12."
        record = box.ledger.settings.get("sim_health")
        assert record["balance"]["amount"] == "3200" and record["low_balance"] is True
    finally:
        box.close()
