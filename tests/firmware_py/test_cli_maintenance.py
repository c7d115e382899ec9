"""The maintenance commands with no service running: status, pause/resume, set-password, backup/restore, doctor,
send-test and clock — each through ``firmware_py.cli.main`` (or its module's ``main`` when a test must hand
in a fake: a clock setter, the machine the doctor looks at, a scripted simulator)."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_py import cli, control
from firmware_py.clockkeeper import REQUEST_FILE, ClockKeeper
from firmware_py.config import Config
from firmware_py.ledger import Ledger
from firmware_py.status_file import STATUS_FILE

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"
PASSWORD = "una frase larga de prueba"


def run(capsys, *argv):
    """``cobrador ARGV`` in this process: (exit status, standard output, standard error)."""
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def parse(*argv):
    """The parsed command line, for calling a command's ``main`` with a test's fake."""
    with cli.speaking("es"):
        return cli.build_parser().parse_args([str(a) for a in argv])


@pytest.fixture
def data(tmp_path, capsys):
    """A data folder with the example loan list imported."""
    folder = tmp_path / "datos"
    assert cli.main(["import", str(LOANS), "--data", str(folder)]) == 0
    capsys.readouterr()
    return folder


def publish_running(folder: Path, **fields) -> None:
    """A status file as a running service would leave it (this process plays the service)."""
    now = datetime.now(timezone.utc)
    status = {"state": "running", "version": "9.9", "pid": os.getpid(), "started_at": now.isoformat(),
              "written_at": now.isoformat(),
              "modem": {"state": "connected", "detail": "Módem conectado.", "simulated": True, "port": "/dev/x",
                        "profile": "generic", "storage_full": False, "since": now.isoformat()},
              "sim": {"operator": "Claro CO", "signal_dbm": -71, "registered": True, "smsc": "+573010000000"},
              "sending_paused": False, "queue": {"due_now": 2, "waiting": 5, "planned_at": now.isoformat()},
              "last_send": {"at": now.isoformat(), "kind": "sent", "channel": "sms"},
              "clock": {"trusted": True, "source": "network", "detail": "hora confirmada por la red móvil",
                        "network_time": now.isoformat()},
              "disk": None}
    status.update(fields)
    control.write_json(folder / STATUS_FILE, status)


# -- status ---------------------------------------------------------------------------------------------------------
def test_status_without_the_service_reads_the_ledger_and_the_disk(data, capsys):
    status, out, _ = run(capsys, "status", "--data", data)
    assert status == 3
    lines = out.splitlines()
    assert lines[0].startswith("Servicio: no está funcionando") and "sudo systemctl start cobrador" in lines[0]
    assert "Datos: 3 deudores, 4 préstamos, 0 pagos, 0 promesas, 0 contactos registrados." in lines
    assert any(line.startswith("Disco: ") and "libres de" in line for line in lines)


def test_status_reads_what_the_running_service_publishes(data, capsys):
    publish_running(data, sending_paused=True)
    status, out, _ = run(capsys, "status", "--data", data)
    assert status == 0, out
    assert "Servicio: funcionando (Cobrador 9.9, proceso" in out
    assert "Módem: conectado (módem simulado) — Módem conectado." in out
    assert "SIM: operador Claro CO, señal -71 dBm." in out
    assert "Envíos: EN PAUSA" in out and "Cola: 2 para enviar ahora, 5 en espera" in out
    assert "(enviado)" in out and "Reloj: confiable (hora confirmada por la red móvil)." in out
    status, out, _ = run(capsys, "status", "--json", "--data", data)
    report = json.loads(out)
    assert status == 0 and report["service"]["running"] is True
    assert report["service"]["published"]["sim"]["operator"] == "Claro CO" and report["ledger"]["loans"] == 4


@pytest.mark.parametrize("change", [{"written_at": "2026-01-01T00:00:00+00:00"}, {"state": "stopped"},
                                    {"pid": 2 ** 22 + 12345}], ids=["old", "stopped", "dead-process"])
def test_an_old_or_stopped_status_means_not_running(data, capsys, change):
    publish_running(data, **change)
    status, out, _ = run(capsys, "status", "--json", "--data", data)
    assert status == 3 and json.loads(out)["service"]["running"] is False
    status, out, _ = run(capsys, "status", "--data", data)
    assert out.startswith("Servicio: no está funcionando (su último estado es del ")


def test_status_of_a_missing_data_folder_is_an_error(tmp_path, capsys):
    status, out, err = run(capsys, "status", "--data", tmp_path / "nada")
    assert status == 1 and "no existe; indique la correcta con --data" in err


# -- pause / resume -------------------------------------------------------------------------------------------------
def test_pause_and_resume_without_the_service_write_the_ledger(data, capsys):
    status, out, _ = run(capsys, "pause", "--data", data)
    assert status == 0 and out.startswith("Envíos en pausa. El servicio no está funcionando")
    with Ledger.open(data, read_only=True) as ledger:
        assert ledger.settings.get("sending_paused") is True
    status, out, _ = run(capsys, "resume", "--data", data)
    assert status == 0 and out.startswith("Envíos reanudados. El servicio no está funcionando")
    with Ledger.open(data, read_only=True) as ledger:
        assert ledger.settings.get("sending_paused") is False


def test_a_request_nobody_picks_up_stays_waiting_and_a_direct_write_supersedes_it(data, capsys):
    from firmware_py.commands.pause import set_paused

    with Ledger.open(data):   # someone holds the ledger but reads no requests
        assert set_paused(data, True, wait=0.3) == 1
    out = capsys.readouterr().out
    assert "no respondió en 0 s" in out and "queda pendiente" in out
    assert control.pending(data, control.PAUSE) is not None
    assert run(capsys, "resume", "--data", data)[0] == 0
    assert control.pending(data, control.PAUSE) is None and control.pending(data, control.RESUME) is None


# -- set-password ---------------------------------------------------------------------------------------------------
def web_client(folder: Path, **services):
    from tests.webui.webclient import Client
    from webui import create_app
    from webui.services import Services

    ledger = Ledger.open(folder)
    return ledger, Client(create_app(Services(ledger=ledger, **services), testing=True))


def test_set_password_creates_an_administrator_who_can_log_in(data, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status, out, _ = run(capsys, "set-password", "Gerente", "--password-stdin", "--data", data)
    assert status == 0 and out.startswith("Usuario «gerente» creado como administrador, con esa contraseña.")
    monkeypatch.setattr("sys.stdin", io.StringIO("otra frase secreta\r\n"))
    status, out, _ = run(capsys, "set-password", "gerente", "--password-stdin", "--data", data)
    assert status == 0 and out.startswith("Contraseña del usuario «gerente» cambiada.")
    ledger, client = web_client(data)
    with ledger:
        assert client.post("/entrar", {"name": "gerente", "password": PASSWORD}).status_code != 302
        client.login("gerente", "otra frase secreta")
        assert client.get("/usuarios").status_code == 200   # an administrator's page
        stored = json.dumps(ledger.settings.get("web.users"))
        assert "otra frase secreta" not in stored and PASSWORD not in stored


def test_set_password_asks_twice_without_echo(data, capsys):
    from firmware_py.commands import set_password

    answers = iter([PASSWORD, PASSWORD])
    prompts = []

    def ask(prompt):
        prompts.append(prompt)
        return next(answers)

    assert set_password.main(parse("set-password", "cajera", "--data", data), Config(), ask=ask) == 0
    assert prompts == ["Contraseña nueva para «cajera»: ", "Repítala: "]
    answers = iter([PASSWORD, PASSWORD + "x"])
    with pytest.raises(Exception, match="no coinciden; no se cambió nada"):
        set_password.main(parse("set-password", "cajera", "--data", data), Config(), ask=lambda p: next(answers))


@pytest.mark.parametrize("password, words", [("corta", "al menos 10 caracteres"),
                                             ("1234567890", "demasiado fácil")])
def test_set_password_refuses_what_the_web_page_refuses(data, capsys, monkeypatch, password, words):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    status, out, err = run(capsys, "set-password", "gerente", "--password-stdin", "--data", data)
    assert status == 1 and words in err and out == ""
    with Ledger.open(data, read_only=True) as ledger:
        assert not ledger.settings.get("web.users")


def test_set_password_needs_a_user_or_the_reset_window(data, capsys):
    status, _, err = run(capsys, "set-password", "--data", data)
    assert status == 1 and "Indique el USUARIO" in err


def test_allow_web_reset_opens_the_reset_page_for_that_long(data, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(capsys, "set-password", "gerente", "--password-stdin", "--data", data)[0] == 0
    assert not control.password_reset_open(data)
    status, out, _ = run(capsys, "set-password", "--allow-web-reset", "15", "--data", data)
    assert status == 0 and "La página /restablecer queda abierta hasta las" in out and "(15 minutos)" in out
    now = datetime.now(timezone.utc)
    assert control.password_reset_open(data, now=now)
    assert not control.password_reset_open(data, now=now + timedelta(minutes=16))
    ledger, visitor = web_client(data, password_reset_allowed=lambda: control.password_reset_open(data))
    with ledger:
        response = visitor.post("/restablecer", {"name": "gerente", "password": "nueva frase secreta",
                                                 "confirm": "nueva frase secreta"}, page="/restablecer")
        assert response.status_code == 302
        visitor.login("gerente", "nueva frase secreta")
    control.write_json(control.control_dir(data) / control.RESET_WINDOW,
                       {"until": (now + timedelta(days=30)).isoformat()})
    assert not control.password_reset_open(data, now=now)   # a far-off window is not believed


# -- backup / restore -------------------------------------------------------------------------------------------------
def counts(folder: Path) -> tuple:
    with Ledger.open(folder, read_only=True) as ledger:
        stats = ledger.stats()
        return stats["debtors"], stats["loans"], ledger.settings.get("sending_paused")


def test_backup_then_restore_brings_the_data_back(data, tmp_path, capsys):
    usb = tmp_path / "usb"
    usb.mkdir()
    status, out, _ = run(capsys, "backup", str(usb), "--data", data)
    assert status == 0 and "Copia de seguridad lista en" in out and "3 deudores, 4 préstamos" in out
    [copy] = list(usb.iterdir())
    assert copy.name.startswith("cobrador-respaldo-") and f"cobrador restore {copy}" in out
    before = counts(data)
    assert run(capsys, "pause", "--data", data)[0] == 0   # a change after the backup
    assert counts(data) != before
    status, out, _ = run(capsys, "restore", str(copy), "--data", data)
    assert status == 0, out
    assert f"Copia restaurada desde {copy}: 3 deudores, 4 préstamos" in out
    assert "sudo systemctl start cobrador" in out
    assert counts(data) == before
    [aside] = list(data.glob("ledger.antes-*"))
    assert counts_of_ledger(aside)[2] is True and f"Los datos anteriores quedaron en {aside}" in out
    assert not list(data.glob(".ledger.restaurando-*"))
    assert run(capsys, "import", str(LOANS), "--data", data)[0] == 0   # the restored ledger is writable


def counts_of_ledger(ledger_dir: Path) -> tuple:
    work = ledger_dir.parent / "mirar"
    work.mkdir(exist_ok=True)
    shutil.copytree(ledger_dir, work / "ledger", dirs_exist_ok=True)
    return counts(work)


def test_restore_from_the_web_pages_zip_and_from_the_ledger_folder(data, tmp_path, capsys):
    copy = Ledger.open(data, read_only=True)
    with copy:
        folder = copy.backup(tmp_path)
    archive = tmp_path / "respaldo.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in folder.rglob("*"):
            bundle.write(path, path.relative_to(folder.parent))
    target = tmp_path / "nuevo"
    status, out, _ = run(capsys, "restore", archive, "--data", target)
    assert status == 0 and counts(target)[:2] == (3, 4)
    assert "quedaron en" not in out   # nothing was there before
    status, out, _ = run(capsys, "restore", folder / "ledger", "--data", target)
    assert status == 0 and len(list(target.glob("ledger.antes-*"))) == 1


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(data, tmp_path, capsys):
    (tmp_path / "vacia" / "ledger").mkdir(parents=True)
    (tmp_path / "otra").mkdir()
    for source, words in ((tmp_path / "no-existe", "No existe"), (tmp_path / "otra", "no es una copia de seguridad"),
                          (tmp_path / "vacia", "no tiene datos de cobranza")):
        status, _, err = run(capsys, "restore", source, "--data", data)
        assert status == 1 and words in err, err
    evil = tmp_path / "malo.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../fuera/ledger/state.json", "{}")
    status, _, err = run(capsys, "restore", evil, "--data", data)
    assert status == 1 and "rutas peligrosas" in err
    assert not (tmp_path / "fuera").exists() and not list(data.glob("ledger.antes-*")) and counts(data)[:2] == (3, 4)


def test_restore_refuses_while_the_service_runs(data, tmp_path, capsys):
    with Ledger.open(data, read_only=True) as ledger:
        copy = ledger.backup(tmp_path)
    publish_running(data)
    status, _, err = run(capsys, "restore", copy, "--data", data)
    assert status == 1 and "El servicio Cobrador está funcionando: deténgalo antes de restaurar" in err
    (data / STATUS_FILE).unlink()
    with Ledger.open(data):   # a writer that publishes nothing (another command) holds it
        status, _, err = run(capsys, "restore", copy, "--data", data)
    assert status == 1 and "abiertos por otro proceso de Cobrador" in err
    assert not list(data.glob("ledger.antes-*")) and not list(data.glob(".ledger.restaurando-*"))


def test_backup_errors_say_what_to_do(data, tmp_path, capsys):
    status, _, err = run(capsys, "backup", tmp_path / "no-hay-usb", "--data", data)
    assert status == 1 and "conecte la memoria USB" in err
    status, _, err = run(capsys, "backup", tmp_path, "--data", tmp_path)
    assert status == 1 and "nada que respaldar" in err


# -- doctor (no modem) -------------------------------------------------------------------------------------------------
def machine(tmp_path, *, systemctl=None, vcgencmd=None, rule=False, **kwargs):
    """The machine the doctor looks at: no modem plugged in, programs answering as given (None: missing)."""
    from firmware_py.commands.doctor import Environment

    by_id = tmp_path / "by-id"
    by_id.mkdir(exist_ok=True)
    rule_path = tmp_path / "99-cobrador-modem.rules"
    if rule:
        rule_path.write_text("# regla\n")
    answers = {"systemctl": systemctl, "vcgencmd": vcgencmd}
    return Environment(by_id_dir=by_id, udev_rule=rule_path, run=lambda command: answers[command[0]], **kwargs)


def doctor(tmp_path, data, env, *extra):
    from firmware_py.commands import doctor as command

    return command.main(parse("doctor", "--data", data, *extra), Config(), env=env)


def lines_of(out: str) -> dict:
    return {line[2:].split(":", 1)[0]: line for line in out.splitlines() if line[:1] in "✓✗–"}


def test_doctor_without_a_modem_says_to_plug_it_in(data, tmp_path, capsys):
    status = doctor(tmp_path, data, machine(tmp_path))
    out = capsys.readouterr().out
    lines = lines_of(out)
    assert status == 1
    assert lines["Módem"].startswith("✗ Módem: no se encontró ningún módem USB en") and "ls " in lines["Módem"]
    assert lines["SIM"] == "– SIM: no se puede revisar sin módem."
    assert lines["Configuración"].startswith("✓") and lines["Datos"] == "✓ Datos: 3 deudores, 4 préstamos."
    assert lines["ModemManager"].startswith("– ModemManager: no se puede comprobar aquí")
    assert lines["Alimentación"].startswith("– Alimentación: no se puede comprobar aquí")
    assert out.rstrip().endswith("siga las indicaciones de esas líneas.")


def test_doctor_through_the_command_line_without_a_modem(data, tmp_path, capsys):
    if Path("/dev/serial/by-id").exists() and list(Path("/dev/serial/by-id").iterdir()):
        pytest.skip("a modem is plugged into this machine")
    status, out, _ = run(capsys, "doctor", "--data", data)
    assert status == 1 and "✗ Módem: no se encontró ningún módem USB" in out


@pytest.mark.parametrize("answer, mark, words", [
    ((0, "throttled=0x0"), "✓", "sin bajo voltaje"),
    ((0, "throttled=0x50005"), "✗", "hay bajo voltaje ahora"),
    ((0, "throttled=0x50000"), "✗", "hubo bajo voltaje desde el último arranque"),
])
def test_doctor_decodes_the_pis_under_voltage_bits(data, tmp_path, capsys, answer, mark, words):
    doctor(tmp_path, data, machine(tmp_path, vcgencmd=answer))
    line = lines_of(capsys.readouterr().out)["Alimentación"]
    assert line.startswith(mark) and words in line


@pytest.mark.parametrize("answer, rule, mark, words", [
    ((0, "active"), False, "✗", "sudo systemctl disable --now ModemManager"),
    ((0, "active"), True, "✓", "lo mantiene lejos del módem"),
    ((3, "inactive"), False, "✓", "no está funcionando"),
])
def test_doctor_checks_that_modemmanager_keeps_away(data, tmp_path, capsys, answer, rule, mark, words):
    doctor(tmp_path, data, machine(tmp_path, systemctl=answer, rule=rule))
    line = lines_of(capsys.readouterr().out)["ModemManager"]
    assert line.startswith(mark) and words in line


def test_doctor_warns_of_a_nearly_full_disk(data, tmp_path, capsys):
    doctor(tmp_path, data, machine(tmp_path, min_free=10 ** 18))
    line = lines_of(capsys.readouterr().out)["Disco"]
    assert line.startswith("✗ Disco: quedan solo") and "Libere espacio" in line


def test_doctor_reports_a_bad_configuration_and_goes_on(data, tmp_path, capsys):
    bad = tmp_path / "cobrador.toml"
    bad.write_text("[modem]\npinn = \"1234\"\n")
    status, out, _ = run(capsys, "doctor", "--config", bad, "--data", data)
    lines = lines_of(out)
    assert status == 1 and lines["Configuración"].startswith("✗ Configuración: En ")
    assert "modem.pinn" in lines["Configuración"] and "Corríjalo" in lines["Configuración"]
    assert "Datos" in lines and "Disco" in lines


def test_doctor_reads_the_running_services_status(data, tmp_path, capsys):
    publish_running(data)
    status = doctor(tmp_path, data, machine(tmp_path))
    lines = lines_of(capsys.readouterr().out)
    assert status == 0, lines
    assert lines["Servicio"].startswith("✓ Servicio: funcionando (proceso")
    assert lines["Módem"] == "✓ Módem: conectado (módem simulado)."
    assert lines["Señal"] == "✓ Señal: -71 dBm." and lines["Centro de mensajes"] == "✓ Centro de mensajes: +573010000000."
    assert lines["Red"] == "✓ Red: registrada en Claro CO."
    publish_running(data, modem={"state": "needs-attention", "detail": "La SIM pide un PIN.", "simulated": False},
                    sim={"operator": None, "signal_dbm": None, "registered": False, "smsc": None})
    assert doctor(tmp_path, data, machine(tmp_path)) == 1
    lines = lines_of(capsys.readouterr().out)
    assert lines["SIM"] == "✗ SIM: La SIM pide un PIN." and lines["Módem"].startswith("✗ Módem: el servicio no tiene")


# -- clock -----------------------------------------------------------------------------------------------------------
class FakeClock:
    """Stands for the system clock's setter (``clock_settime`` needs root)."""

    def __init__(self):
        self.set_to = []

    def __call__(self, moment):
        self.set_to.append(moment)


def clock(action, folder, *, setter, now=None):
    from firmware_py.commands import clock as command

    return command.main(parse("clock", action, "--data", folder), Config(), setter=setter, now=now)


def test_clock_restore_moves_a_clock_that_is_behind_forward(tmp_path, capsys):
    known = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)
    ClockKeeper(tmp_path).remember(known)
    fake = FakeClock()
    assert clock("restore", tmp_path, setter=fake, now=datetime(2026, 1, 1, tzinfo=timezone.utc)) == 0
    assert fake.set_to == [known]
    assert "se adelantó a 20/11/2026 10:00:00" in capsys.readouterr().out   # Bogotá time
    assert clock("restore", tmp_path, setter=fake, now=known + timedelta(hours=1)) == 0
    assert fake.set_to == [known] and "no se cambió" in capsys.readouterr().out


def test_clock_restore_with_nothing_saved_changes_nothing(tmp_path, capsys):
    status, out, _ = run(capsys, "clock", "restore", "--data", tmp_path)
    assert status == 0 and out == "No hay ninguna hora guardada todavía; el reloj no se cambió.\n"


def test_clock_apply_sets_the_networks_time(tmp_path, capsys):
    now = datetime.now(timezone.utc)
    network = now + timedelta(hours=3)
    ClockKeeper(tmp_path).request(network, now=now, source="modem")
    fake = FakeClock()
    assert clock("apply", tmp_path, setter=fake, now=now) == 0
    [moment] = fake.set_to
    assert abs(moment - network) < timedelta(seconds=5)
    assert "Reloj puesto a la hora de la red móvil" in capsys.readouterr().out
    assert not (tmp_path / REQUEST_FILE).exists()
    status, out, _ = run(capsys, "clock", "apply", "--data", tmp_path)   # the path unit fires on the removal too
    assert status == 0 and out == "No hay ninguna solicitud de hora pendiente; nada que hacer.\n"


def test_clock_apply_refuses_a_network_time_before_the_last_known_one(tmp_path, capsys):
    now = datetime.now(timezone.utc)
    ClockKeeper(tmp_path).remember(now + timedelta(days=1))
    ClockKeeper(tmp_path).request(now - timedelta(hours=1), now=now, source="modem")
    fake = FakeClock()
    from firmware_py.errors import CobradorError

    with pytest.raises(CobradorError, match="no se retrocede el reloj"):
        clock("apply", tmp_path, setter=fake, now=now)
    assert fake.set_to == []


def test_clock_needs_an_action(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["clock"])
    assert info.value.code == 2 and "faltan argumentos obligatorios: ACCIÓN" in capsys.readouterr().err
