"""``cobrador doctor``: one line per check, ✓ or ✗ and what to do; ``–`` for what cannot be checked here.

Checks, in order: the configuration file; whether the service runs; the modem (found under
``/dev/serial/by-id``, :mod:`firmware_py.radio`); ModemManager kept away from it (``systemctl is-active
ModemManager`` and the udev rule ``/etc/udev/rules.d/99-cobrador-modem.rules``); the SIM (PIN); signal;
the SMS centre (``AT+CSCA?``); network registration; the clock (:mod:`firmware_py.timekeeping`, with the
modem's network time); the spoken messages (espeak-ng and the modem's audio path,
:mod:`firmware_py.commands.doctor_audio`); the data; free space in the data folder (✗ under 500 MB); under-voltage
(``vcgencmd get_throttled``, bits 0 and 16, on a Raspberry Pi).

The service owns the modem: while it runs, the modem checks read what it publishes
(:mod:`firmware_py.status_file`); when it does not, the doctor opens the modem itself. ``--simulate`` runs
the modem checks against the built-in simulator. Exit status 0 when no line is ✗, else 1.

The configuration file is itself a check, so an invalid one is reported (and the defaults are used for the
rest) instead of stopping the command: ``doctor`` reads ``--config`` itself.

:class:`ModemSession` (open a modem or the simulator for a short job, with Spanish reasons when it cannot)
is shared with ``cobrador send-test``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from firmware_py.cli import _, add_data_option, choices, upper_choice
from firmware_py.errors import CobradorError

OK, FAIL, SKIP = "ok", "fail", "skip"
MARKS = {OK: "✓", FAIL: "✗", SKIP: "–"}
MIN_FREE = 500 * 1000 * 1000
WEAK_SIGNAL_DBM = -105
UDEV_RULE = Path("/etc/udev/rules.d/99-cobrador-modem.rules")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``state`` is ok / fail / skip; ``title`` and ``detail`` are for people."""

    state: str
    title: str
    detail: str

    def line(self) -> str:
        return f"{MARKS[self.state]} {self.title}: {self.detail}"


def _run(command: list[str]) -> tuple[int, str] | None:
    """Run a system program; (exit status, standard output), or None when it is not installed."""
    if shutil.which(command[0]) is None:
        return None
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.returncode, result.stdout.strip()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Environment:
    """What the doctor looks at on this machine (tests give their own)."""

    by_id_dir: Path = field(default_factory=lambda: Path("/dev/serial/by-id"))
    udev_rule: Path = UDEV_RULE
    run: Callable[[list[str]], tuple[int, str] | None] = _run
    now: Callable[[], datetime] = _utcnow
    min_free: int = MIN_FREE


def register(subparsers, common: argparse.ArgumentParser) -> None:
    # No ``common`` parent: the configuration is one of the checks, so --config is read here, not by the command
    # line (an invalid file is a ✗ line, not the end of the command).
    p = subparsers.add_parser("doctor", help=_("revisa el equipo: módem, SIM, señal, reloj, disco, alimentación"),
                              description=_("Revisa el equipo y dice qué hacer: configuración, módem, ModemManager, "
                                            "SIM, señal, centro de mensajes, red, reloj, datos, disco y "
                                            "alimentación. Termina con 0 si no hay ningún ✗."))
    p.add_argument("--config", dest="doctor_config", metavar=_("ARCHIVO"), default=None,
                   help=_("archivo de configuración TOML (por defecto /etc/cobrador/cobrador.toml si existe)"))
    p.add_argument("--log-level", default=None, type=upper_choice, choices=choices("DEBUG", "INFO", "WARNING", "ERROR"),
                   help=_("nivel de detalle del registro (por defecto INFO para «run», WARNING para los demás "
                          "comandos)"))
    add_data_option(p)
    p.add_argument("--simulate", action="store_true", help=_("probar el módem simulado en lugar del conectado"))
    p.set_defaults(func=main, config=os.devnull)   # the command line loads an empty file; doctor reads --config


def main(args: argparse.Namespace, config, *, env: Environment | None = None, simulator=None) -> int:
    """``env``: the machine to look at; ``simulator``: a running :class:`modem.simulator.Simulator` to check
    instead of the modem (tests give their own)."""
    checks = run_checks(args.doctor_config, args.data, simulate=args.simulate, env=env or Environment(),
                        simulator=simulator)
    for check in checks:
        print(check.line(), flush=True)
    failed = sum(1 for c in checks if c.state == FAIL)
    if failed:
        print(_("{count} comprobaciones con ✗: siga las indicaciones de esas líneas.").format(count=failed))
        return 1
    print(_("Todo en orden."))
    return 0


def run_checks(config_path, data_dir, *, simulate: bool = False, env: Environment | None = None,
               simulator=None) -> list[Check]:
    """Every check, in the order shown."""
    from firmware_py.commands.doctor_audio import audio_checks
    from firmware_py.config import Config, load_config
    from firmware_py.status_file import read_status

    env = env or Environment()
    checks = []
    try:
        config = load_config(config_path)
    except CobradorError as exc:
        checks.append(Check(FAIL, _("Configuración"), _("{error} Corríjalo; mientras tanto se revisa con los valores "
                                                        "por defecto.").format(error=exc)))
        config = Config()
    else:
        where = str(config.source) if config.source else _("sin archivo, valores por defecto")
        checks.append(Check(OK, _("Configuración"), _("válida ({source}).").format(source=where)))
    config = config.with_overrides(data_dir=data_dir)
    folder = Path(config.data_dir)
    published = read_status(folder, now=env.now()) if folder.is_dir() else None
    service = published if published is not None and published.running else None
    simulate = simulate or simulator is not None
    if service is not None and simulate:
        checks.append(Check(OK, _("Servicio"), _("funcionando (proceso {pid}); se revisa un módem simulado aparte, "
                                                 "no el del servicio.").format(pid=service.data.get("pid", "?"))))
    elif service is not None:
        checks.append(Check(OK, _("Servicio"), _("funcionando (proceso {pid}); el módem se revisa con lo que publica "
                                                 "el servicio.").format(pid=service.data.get("pid", "?"))))
    else:
        checks.append(Check(SKIP, _("Servicio"), _("no está funcionando; el módem se revisa directamente.")))
    if service is not None and not simulate:
        checks += _modem_from_service(service.data, env)
    else:
        checks += _modem_directly(config, simulate, env, simulator)
    checks += audio_checks(config)
    checks.append(_data_check(folder))
    checks.append(_disk_check(folder, env))
    checks.append(_power_check(env))
    return checks


# -- the modem through the service --------------------------------------------------------------------------------
def _modem_from_service(data: dict, env: Environment) -> list[Check]:
    modem = data.get("modem") or {}
    sim = data.get("sim") or {}
    state = modem.get("state")
    detail = modem.get("detail") or ""
    checks = []
    if state == "connected":
        where = _("módem simulado") if modem.get("simulated") else modem.get("port") or "?"
        checks.append(Check(OK, _("Módem"), _("conectado ({port}).").format(port=where)))
    else:
        checks.append(Check(FAIL, _("Módem"), _("el servicio no tiene módem: {detail} Conecte el módem directamente "
                                                "al equipo (sin hub) y espere un minuto.").format(detail=detail)))
    checks.append(_modemmanager_check(env))
    if state == "connected":
        checks.append(Check(OK, _("SIM"), _("lista.")))
    elif state == "needs-attention":
        checks.append(Check(FAIL, _("SIM"), detail))
    else:
        checks.append(Check(SKIP, _("SIM"), _("no se puede revisar sin módem.")))
    if state != "connected":
        return checks + [Check(SKIP, title, _("no se puede revisar sin módem."))
                         for title in (_("Señal"), _("Centro de mensajes"), _("Red"))] + [_clock_from(data)]
    checks.append(_signal_check(sim.get("signal_dbm")))
    checks.append(_smsc_check(sim.get("smsc")))
    if sim.get("registered"):
        checks.append(Check(OK, _("Red"), _("registrada en {operator}.").format(operator=sim.get("operator"))))
    else:
        checks.append(Check(FAIL, _("Red"), _("la SIM no está registrada en la red. Revise que la SIM tenga servicio "
                                              "(pruébela en un teléfono) y la cobertura del lugar.")))
    checks += _sim_health_checks(data.get("sim_health"))
    checks.append(_clock_from(data))
    return checks


def _sim_health_checks(health: dict | None) -> list[Check]:
    """The SIM's balance and sending (:mod:`firmware_py.sim_health`), when the service checked them."""
    if not health:
        return []
    sending = health.get("sending") or {}
    if sending.get("state") == "stopped":
        return [Check(FAIL, _("Envío de la SIM"), health.get("alert") or "")]
    if health.get("low_balance"):
        return [Check(FAIL, _("Saldo"), health.get("alert") or "")]
    amount = (health.get("balance") or {}).get("amount")
    if amount is not None:
        return [Check(OK, _("Saldo"), _("{amount} disponibles.").format(
            amount=f"{(health.get('balance') or {}).get('currency') or ''} {amount}".strip()))]
    return []


def _clock_from(data: dict) -> Check:
    clock = data.get("clock")
    if not clock:
        return Check(SKIP, _("Reloj"), _("el servicio no publicó el estado del reloj."))
    return _clock_check(bool(clock.get("trusted")), clock.get("detail") or "")


# -- the modem, opened here ----------------------------------------------------------------------------------------
def _modem_directly(config, simulate: bool, env: Environment, simulator=None) -> list[Check]:
    from firmware_py.radio import choose_radio
    from firmware_py.status_file import smsc_of
    from firmware_py.timekeeping import system_clock_trust
    from modem.errors import ModemError

    checks = []
    rest = (_("SIM"), _("Señal"), _("Centro de mensajes"), _("Red"))
    choice = choose_radio(config.modem.port, simulate=simulate, by_id_dir=env.by_id_dir)
    missing = None
    if choice.kind == "simulator" and not simulate:
        missing = _("no se encontró ningún módem USB en {folder}. Conecte el módem directamente al equipo (sin hub), "
                    "espere 10 s y compruebe con «ls {folder}»; si usa otro puerto, escríbalo en [modem] port.") \
            .format(folder=env.by_id_dir)
    elif choice.kind == "serial" and choice.port.startswith("/") and not Path(choice.port).exists():
        missing = _("el puerto configurado en [modem] port ({port}) no existe. Conecte el módem o corrija el "
                    "puerto (o use port = \"auto\").").format(port=choice.port)
    if missing:
        checks.append(Check(FAIL, _("Módem"), missing))
        checks.append(_modemmanager_check(env))
        checks += [Check(SKIP, title, _("no se puede revisar sin módem.")) for title in rest]
        checks.append(_clock_check_local(None, env))
        return checks
    network = None
    try:
        with ModemSession(config, simulate=simulate, simulator=simulator) as session:
            modem = session.modem
            checks.append(Check(OK, _("Módem"), session.description()))
            checks.append(_modemmanager_check(env))
            checks.append(Check(OK, _("SIM"), _("lista (PIN correcto o sin PIN).")))
            try:
                checks.append(_signal_check(modem.signal().dbm))
            except ModemError as exc:
                checks.append(Check(FAIL, _("Señal"), _("el módem no respondió ({error}).").format(error=exc)))
            checks.append(_smsc_check(smsc_of(modem)))
            checks.append(_registration_check(modem))
            network = _network_time(modem)
    except SessionError as exc:
        title = _("SIM") if exc.sim else _("Módem")
        if exc.sim:
            checks.append(Check(OK, _("Módem"), _("responde en {port}.").format(port=exc.port)))
        checks.append(Check(FAIL, title, str(exc)))
        checks.append(_modemmanager_check(env))
        checks += [Check(SKIP, t, _("no se puede revisar sin módem.")) for t in rest if t != title]
        checks.append(_clock_check_local(None, env))
        return checks
    now = env.now()
    trust = system_clock_trust(now, network_now=network)
    checks.append(_clock_check(trust.trusted, trust.detail))
    return checks


def _network_time(modem, wait: float = 3.0):
    """The modem's network time, waiting a moment for one the network has just sent; None without one."""
    import time

    from modem.errors import ModemError

    deadline = time.monotonic() + wait
    while True:
        try:
            when = modem.network_time()
        except ModemError:
            return None
        if when is not None or time.monotonic() >= deadline:
            return when
        time.sleep(0.2)


def _clock_check_local(network, env: Environment) -> Check:
    from firmware_py.timekeeping import system_clock_trust

    trust = system_clock_trust(env.now(), network_now=network)
    return _clock_check(trust.trusted, trust.detail)


def _registration_check(modem) -> Check:
    from modem.errors import ModemError

    try:
        registration = modem.registration()
        operator = modem.operator()
    except ModemError as exc:
        return Check(FAIL, _("Red"), _("el módem no respondió ({error}).").format(error=exc))
    if registration.registered:
        extra = _(" (en itinerancia)") if registration.roaming else ""
        return Check(OK, _("Red"), _("registrada en {operator}{roaming}.")
                     .format(operator=operator or "?", roaming=extra))
    stats = set(registration.stats.values())
    if 3 in stats:
        return Check(FAIL, _("Red"), _("la red rechazó la SIM (registro denegado). Llame al operador: la línea puede "
                                       "estar suspendida o sin saldo."))
    if 2 in stats:
        return Check(FAIL, _("Red"), _("el módem todavía busca red. Espere un minuto; si sigue, acerque el equipo a "
                                       "una ventana o use una antena externa."))
    return Check(FAIL, _("Red"), _("la SIM no está registrada en ninguna red. Revise que la SIM tenga servicio "
                                   "(pruébela en un teléfono) y la cobertura del lugar."))


# -- single checks -----------------------------------------------------------------------------------------------
def _modemmanager_check(env: Environment) -> Check:
    answer = env.run(["systemctl", "is-active", "ModemManager"])
    rule = env.udev_rule.is_file()
    if answer is None:
        return Check(SKIP, _("ModemManager"), _("no se puede comprobar aquí (no hay systemctl)."))
    active = answer[0] == 0 and answer[1].splitlines()[:1] == ["active"]
    if not active:
        return Check(OK, _("ModemManager"), _("no está funcionando: no interfiere con el módem."))
    if rule:
        return Check(OK, _("ModemManager"), _("funciona, pero la regla {rule} lo mantiene lejos del módem.")
                     .format(rule=env.udev_rule))
    return Check(FAIL, _("ModemManager"), _("está funcionando y puede quedarse con el módem (falta la regla {rule}). "
                                            "Instale Cobrador con «sudo systemd/install.sh» o desactívelo: «sudo "
                                            "systemctl disable --now ModemManager».").format(rule=env.udev_rule))


def _signal_check(dbm) -> Check:
    if dbm is None:
        return Check(FAIL, _("Señal"), _("sin señal. Acerque el equipo a una ventana, pruebe otro lugar o use una "
                                         "antena externa."))
    if dbm < WEAK_SIGNAL_DBM:
        return Check(FAIL, _("Señal"), _("muy débil ({dbm} dBm): los mensajes pueden fallar. Acerque el equipo a una "
                                         "ventana o use una antena externa.").format(dbm=dbm))
    return Check(OK, _("Señal"), _("{dbm} dBm.").format(dbm=dbm))


def _smsc_check(smsc) -> Check:
    if smsc is None:
        return Check(SKIP, _("Centro de mensajes"), _("no se pudo leer (AT+CSCA?)."))
    if not smsc.strip():
        return Check(FAIL, _("Centro de mensajes"), _("la SIM no tiene número de centro de mensajes (SMSC): no podrá "
                                                      "enviar SMS. Pida el número al operador o ponga la SIM en un "
                                                      "teléfono y envíe un SMS desde él para que lo configure."))
    return Check(OK, _("Centro de mensajes"), f"{smsc}.")


def _clock_check(trusted: bool, detail: str) -> Check:
    if trusted:
        return Check(OK, _("Reloj"), _("confiable ({detail}).").format(detail=detail))
    return Check(FAIL, _("Reloj"), _("no confiable ({detail}). No se envía nada hasta que la red móvil dé la hora "
                                     "o el personal la confirme en la página web.").format(detail=detail))


def _data_check(folder: Path) -> Check:
    from firmware_py.ledger import Ledger

    if not (folder / "ledger").is_dir():
        return Check(SKIP, _("Datos"), _("todavía no hay datos de cobranza en {folder}.").format(folder=folder))
    try:
        with Ledger.open(folder, read_only=True) as ledger:
            stats = ledger.stats()
    except CobradorError as exc:
        return Check(FAIL, _("Datos"), str(exc))
    return Check(OK, _("Datos"), _("{debtors} deudores, {loans} préstamos.").format(**stats))


def _disk_check(folder: Path, env: Environment) -> Check:
    from firmware_py.commands.status import size
    from firmware_py.status_file import free_space

    space = free_space(folder)
    if space is None:
        return Check(SKIP, _("Disco"), _("no se pudo medir el espacio libre de {folder}.").format(folder=folder))
    free = space[0]
    if free < env.min_free:
        return Check(FAIL, _("Disco"), _("quedan solo {free} libres en {folder}. Libere espacio (copias viejas, "
                                         "ledger.antes-*) o use una tarjeta más grande.")
                     .format(free=size(free), folder=folder))
    return Check(OK, _("Disco"), _("{free} libres.").format(free=size(free)))


def _power_check(env: Environment) -> Check:
    answer = env.run(["vcgencmd", "get_throttled"])
    if answer is None or answer[0] != 0 or "=" not in answer[1]:
        return Check(SKIP, _("Alimentación"), _("no se puede comprobar aquí (no hay vcgencmd: no es una Raspberry "
                                                "Pi)."))
    try:
        flags = int(answer[1].split("=", 1)[1].strip(), 16)
    except ValueError:
        return Check(SKIP, _("Alimentación"), _("respuesta de vcgencmd no reconocida: {answer}.")
                     .format(answer=answer[1]))
    if flags & 0x1:
        return Check(FAIL, _("Alimentación"), _("hay bajo voltaje ahora. Use la fuente oficial de la Raspberry Pi "
                                                "(5,1 V, 3 A) y un cable corto; el módem necesita picos de corriente."))
    if flags & 0x10000:
        return Check(FAIL, _("Alimentación"), _("hubo bajo voltaje desde el último arranque. Use la fuente oficial "
                                                "de la Raspberry Pi (5,1 V, 3 A) y un cable corto."))
    return Check(OK, _("Alimentación"), _("sin bajo voltaje desde el arranque."))


# -- opening a modem for a short job ---------------------------------------------------------------------------
class SessionError(CobradorError):
    """The modem could not be opened; ``str`` says why and what to do. ``sim`` when the modem answered but the
    SIM is the problem (PIN, PUK, missing)."""

    def __init__(self, message: str, *, port: str = "", sim: bool = False):
        super().__init__(message)
        self.port = port
        self.sim = sim


class ModemSession:
    """A modem opened for a short job (``doctor``, ``send-test``): the configured/plugged-in one, or the
    built-in simulator with ``simulate``. Context manager; :class:`SessionError` when it cannot open.
    ``simulator`` is the :class:`modem.simulator.Simulator` (or None) so tests can script its network."""

    def __init__(self, config, *, simulate: bool = False, simulator=None):
        self.config = config
        self.simulate = simulate or simulator is not None
        self.simulator = simulator
        self._own_simulator = False
        self.modem = None
        self.port = ""

    def __enter__(self) -> "ModemSession":
        from firmware_py.radio import choose_radio
        from modem.driver import Modem
        from modem.errors import CmeError, ModemError, SimPinRequired, SimPukRequired, WrongPin

        profile = "generic" if self.config.modem.profile == "auto" else self.config.modem.profile
        if self.simulate:
            if self.simulator is None:
                from modem.simulator import Simulator

                self.simulator = Simulator(profile)
                self._own_simulator = True
            self.simulator.start()
            self.port = self.simulator.port
        else:
            choice = choose_radio(self.config.modem.port, simulate=False)
            if choice.kind != "serial":
                raise SessionError(_("No hay ningún módem conectado. Conecte el módem directamente al equipo (sin hub) "
                                     "y espere 10 s, o use --simulate para probar con el módem simulado."))
            self.port = choice.port
        modem = Modem(self.port, profile=profile, pin=self.config.modem.pin or None,
                      baudrate=self.config.modem.baudrate)
        try:
            modem.open()
        except WrongPin:
            self._close_simulator()
            raise SessionError(_("la SIM rechazó el PIN configurado. Corrija [modem] pin en la configuración (no se "
                                 "reintenta, para no bloquear la SIM)."), port=self.port, sim=True) from None
        except SimPukRequired:
            self._close_simulator()
            raise SessionError(_("la SIM está bloqueada y pide el PUK. Desbloquéela en un teléfono con el PUK del "
                                 "operador."), port=self.port, sim=True) from None
        except SimPinRequired:
            self._close_simulator()
            raise SessionError(_("la SIM pide un PIN. Escríbalo en [modem] pin en la configuración."), port=self.port,
                               sim=True) from None
        except CmeError as exc:
            self._close_simulator()
            if exc.code in (10, 13):
                raise SessionError(_("el módem no encuentra la SIM. Apague el equipo, revise que la SIM esté bien "
                                     "puesta (contactos hacia abajo) y vuelva a encenderlo."),
                                   port=self.port, sim=True) from None
            raise SessionError(_("el módem en {port} respondió con un error al prepararse ({error}). Desconéctelo y "
                                 "vuelva a conectarlo.").format(port=self.port, error=exc), port=self.port) from None
        except (ModemError, OSError, ValueError) as exc:
            self._close_simulator()
            raise SessionError(_("el módem en {port} no responde ({error}). Desconéctelo y vuelva a conectarlo; si "
                                 "sigue igual, revise que ningún otro programa lo esté usando (ModemManager, el "
                                 "servicio Cobrador).").format(port=self.port, error=exc), port=self.port) from None
        self.modem = modem
        if self._own_simulator:   # the simulated operator sends its time (NITZ), as real ones do after registering
            from modem.simulator.network import BOGOTA

            self.simulator.set_network_time(datetime.now(BOGOTA))
        return self

    def description(self) -> str:
        from modem.errors import ModemError

        if self.simulator is not None:
            return _("módem simulado ({profile}).").format(profile=self.simulator.profile.name)
        try:
            identity = self.modem.identity()
            name = f"{identity.manufacturer} {identity.model}".strip()
        except ModemError:
            name = ""
        return _("{name} en {port}.").format(name=name or _("módem"), port=self.port)

    def _close_simulator(self) -> None:
        if self.simulator is not None and self._own_simulator:
            self.simulator.close()

    def __exit__(self, *exc) -> None:
        if self.modem is not None:
            self.modem.close()
        self._close_simulator()
