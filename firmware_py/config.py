"""One TOML configuration file with validated defaults.

The file is optional: every setting has a default suited to development.
On the device it lives at ``/etc/cobrador/cobrador.toml``; ``--config FILE``
overrides it. Example::

    [cooperative]
    name = "Cooperativa La Esperanza"
    country = "CO"                 # ISO 3166 alpha-2, used to read local phone numbers
    timezone = "America/Bogota"

    [modem]
    port = "auto"                  # "auto", a device path or a pyserial URL
    profile = "generic"            # sim800, sim7600, huawei-e173, quectel-ec25, generic
    pin = ""                       # SIM PIN, empty if none
    balance_code = ""              # older place of [sim] balance_code (still read when [sim] has none)

    [web]
    host = "127.0.0.1"
    port = 8080
    allow_poweroff = false         # the settings page may switch the box off (systemctl poweroff)

    [data]
    dir = "/var/lib/cobrador"

    [panel]                        # the box's LEDs and button (hardware/README.md)
    enabled = true                 # false (the default): no panel, e.g. on a laptop
    listo = 17                     # BCM numbers (not header pins): listo, senal, actividad, alerta, boton
    senal = 27
    actividad = 22
    alerta = 23
    boton = 24
    active_high = true             # each LED from its pin through a resistor to GND
    allow_poweroff = true          # holding the button 10 s switches the box off (systemd/install.sh's polkit rule)

    [sim]                          # the SIM's health (firmware_py.sim_health)
    balance_code = "*611#"         # USSD code answering the prepaid balance; empty: never asked
    low_balance = 2000             # below this amount the panel and the page warn (0: no warning)
    balance_every_hours = 6        # ask the balance this often...
    balance_after_sends = 100      # ...and after this many SMS
    stop_errors = 5                # failed sends in a row before "la SIM dejó de enviar"

    [rules]                        # contact rules (scheduler.policy): CO, MX, PE, EC, CL, US or custom
    profile = "CO"
    extra_holidays = ["2026-08-15"]

    [messages]
    payment_methods = "Nequi 300 123 4567 o en la oficina"

The reminder engine's sections (``[rules]``, ``[ladders.NAME]``,
``[[segments]]``, ``[templates.NAME]``, ``[messages]``) are validated by
:func:`scheduler.policy.load_policy` when the file is loaded, so a wrong
profile, template or hour is refused at start-up, naming the key;
``Config.policy()`` returns the validated :class:`scheduler.policy.Policy`.

``load_config`` raises :class:`firmware_py.errors.ConfigError` with a Spanish
message naming the file and the setting at fault.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from firmware_py.errors import ConfigError

DEVICE_CONFIG = Path("/etc/cobrador/cobrador.toml")
DEVICE_DATA_DIR = Path("/var/lib/cobrador")
DEV_DATA_DIR = Path("var")
_USSD = re.compile(r"[*#][0-9*#]{0,30}#")
MODEM_PROFILES = ("auto", "sim800", "sim7600", "huawei-e173", "quectel-ec25", "generic")


@dataclass(frozen=True)
class CooperativeConfig:
    name: str = "Cooperativa"
    country: str = "CO"
    timezone: str = "America/Bogota"
    language: str = "es"


@dataclass(frozen=True)
class ModemConfig:
    port: str = "auto"
    profile: str = "auto"
    pin: str = ""
    baudrate: int = 115200
    min_gap_seconds: int = 0  # at least this long between two SMS of the SIM (operators block spammy SIMs)
    balance_code: str = ""  # USSD code answering the prepaid balance ("*611#"); "" = the page cannot ask


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    allow_poweroff: bool = False  # the settings page may switch the box off (``systemctl poweroff``)


@dataclass(frozen=True)
class DataConfig:
    dir: Path | None = None  # None: $STATE_DIRECTORY under systemd, else ./var


@dataclass(frozen=True)
class PanelConfig:
    """The box's front panel (:mod:`hardware.panel`, wired by :mod:`firmware_py.panel_link`): BCM pin numbers;
    off by default, so a laptop never touches GPIO."""

    enabled: bool = False
    listo: int = 17
    senal: int = 27
    actividad: int = 22
    alerta: int = 23
    boton: int = 24
    active_high: bool = True
    allow_poweroff: bool = True  # holding the button 10 s switches the box off (a person is at the box)


@dataclass(frozen=True)
class SimConfig:
    """The SIM's health checks (:mod:`firmware_py.sim_health`)."""

    balance_code: str = ""          # USSD code answering the prepaid balance; "" = ``[modem] balance_code`` or none
    low_balance: float = 0.0        # below this the balance is low (0: never)
    balance_every_hours: int = 6
    balance_after_sends: int = 100
    stop_errors: int = 5


PANEL_PINS = ("listo", "senal", "actividad", "alerta", "boton")


@dataclass(frozen=True)
class VoiceConfig:
    """Reminder calls (ladder steps ``call`` and ``ring``; :mod:`firmware_py.voice_link`)."""

    enabled: bool = True
    ring_seconds: int = 15  # a ring reminder rings this long, then hangs up before anyone answers
    ring_timeout: int = 30  # a spoken call gives up after ringing this long (no answer)
    repeat: int = 2  # the spoken message is played this many times once answered
    espeak_voice: str = "es-419"  # espeak-ng voice of the spoken messages
    audio_port: str = ""  # the modem's audio serial port (Huawei/SIM7600 voice port), "" = none
    keypad_promise_days: int = 7  # pressing 1 during a call promises to pay within this many days
    inbound_call_balance: bool = False  # a debtor who calls the box gets an SMS with the balance


VOICE_LIMITS = {"ring_seconds": (5, 60), "ring_timeout": (10, 90), "repeat": (1, 3), "keypad_promise_days": (1, 60)}


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``source`` is the file it came from, if any."""

    cooperative: CooperativeConfig = field(default_factory=CooperativeConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    web: WebConfig = field(default_factory=WebConfig)
    data: DataConfig = field(default_factory=DataConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    log_level: str = "INFO"
    source: Path | None = None
    engine: dict = field(default_factory=dict)  # the engine's raw sections, validated at load
    engine_interval: int = 60  # seconds between the dispatcher's wake-ups when nothing wakes it sooner

    def policy(self, clock=None):
        """The reminder engine's :class:`scheduler.policy.Policy` for this configuration (already validated
        at load; ``clock`` a :class:`scheduler.clock.ClockTrust`)."""
        from scheduler.policy import load_policy

        coop = self.cooperative
        return load_policy(self.engine, country=coop.country, cooperative_name=coop.name, language=coop.language,
                           timezone=coop.timezone, clock=clock)

    @property
    def data_dir(self) -> Path:
        """Where the ledger lives: ``[data] dir``, else systemd's StateDirectory, else ``./var``."""
        if self.data.dir is not None:
            return Path(self.data.dir)
        state = os.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0])
        return DEV_DATA_DIR

    def with_overrides(self, *, data_dir=None, host=None, port=None) -> "Config":
        """Return a copy with command-line overrides applied (``None`` keeps the file's value)."""
        cfg = self
        if data_dir is not None:
            cfg = replace(cfg, data=replace(cfg.data, dir=Path(data_dir)))
        if host is not None or port is not None:
            cfg = replace(
                cfg,
                web=replace(cfg.web, host=host if host is not None else cfg.web.host,
                            port=port if port is not None else cfg.web.port),
            )
        return cfg


_SECTIONS = {"cooperative": CooperativeConfig, "modem": ModemConfig, "web": WebConfig, "data": DataConfig,
             "panel": PanelConfig, "voice": VoiceConfig, "sim": SimConfig}


def default_config_path() -> Path | None:
    """The device config file if it exists, else ``None`` (defaults only)."""
    return DEVICE_CONFIG if DEVICE_CONFIG.is_file() else None


def load_config(path: str | os.PathLike | None = None) -> Config:
    """Read and validate the TOML file at ``path`` (``None``: the device file if present).

    Unknown sections or keys, wrong types and impossible values raise
    :class:`ConfigError`; a missing explicitly-named file is an error too.
    """
    if path is None:
        path = default_config_path()
        if path is None:
            return Config()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"No se encuentra el archivo de configuración {path}.", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"No se puede leer el archivo de configuración {path}: {exc}.", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"El archivo de configuración {path} tiene un error de formato: {exc}.", path=path) from exc
    return _build(raw, path)


def _build(raw: dict, path: Path) -> Config:
    from scheduler.policy import SECTIONS as ENGINE_SECTIONS

    sections = {}
    top = {}
    engine = {}
    for key, value in raw.items():
        if key in ENGINE_SECTIONS:
            engine[key] = value
        elif key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"En {path}, [{key}] debe ser una sección.", path=path, key=key)
            sections[key] = _section(_SECTIONS[key], key, value, path)
        elif key == "log_level":
            if not isinstance(value, str) or value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
                raise ConfigError(f"En {path}, log_level debe ser DEBUG, INFO, WARNING o ERROR.", path=path, key=key)
            top[key] = value.upper()
        else:
            raise ConfigError(f"En {path}, la sección o clave «{key}» no existe.", path=path, key=key)
    cfg = Config(**sections, **top, source=path, engine=engine)
    _validate(cfg, path)
    return cfg


def _section(cls, name: str, values: dict, path: Path):
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"En {path}, la clave «{name}.{key}» no existe.", path=path, key=f"{name}.{key}")
        default = getattr(cls(), key)
        expected = type(default) if default is not None else str
        if expected is bool and not isinstance(value, bool):
            raise ConfigError(f"En {path}, «{name}.{key}» debe ser true o false.", path=path, key=f"{name}.{key}")
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"En {path}, «{name}.{key}» debe ser un número entero.", path=path, key=f"{name}.{key}")
        if expected is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"En {path}, «{name}.{key}» debe ser un número.", path=path, key=f"{name}.{key}")
            value = float(value)
        if expected is str and not isinstance(value, str):
            raise ConfigError(f"En {path}, «{name}.{key}» debe ser un texto entre comillas.", path=path, key=f"{name}.{key}")
        kwargs[key] = Path(value) if name == "data" and key == "dir" else value
    return cls(**kwargs)


def _validate(cfg: Config, path: Path) -> None:
    import phonenumbers

    country = cfg.cooperative.country.upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"En {path}, cooperative.country «{cfg.cooperative.country}» no es un código de país válido (por ejemplo CO, MX, PE).",
                          path=path, key="cooperative.country")
    try:
        zoneinfo.ZoneInfo(cfg.cooperative.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"En {path}, cooperative.timezone «{cfg.cooperative.timezone}» no es una zona horaria válida (por ejemplo America/Bogota).",
                          path=path, key="cooperative.timezone") from None
    if cfg.cooperative.language not in ("es", "en"):
        raise ConfigError(f"En {path}, cooperative.language debe ser «es» o «en».", path=path, key="cooperative.language")
    if cfg.modem.profile not in MODEM_PROFILES:
        raise ConfigError(f"En {path}, modem.profile debe ser uno de: {', '.join(MODEM_PROFILES)}.", path=path, key="modem.profile")
    if cfg.modem.balance_code and not _USSD.fullmatch(cfg.modem.balance_code):
        raise ConfigError(f"En {path}, modem.balance_code debe ser un código USSD como \"*611#\" (solo dígitos, * y #, "
                          "terminado en #).", path=path, key="modem.balance_code")
    if cfg.sim.balance_code and not _USSD.fullmatch(cfg.sim.balance_code):
        raise ConfigError(f"En {path}, sim.balance_code debe ser un código USSD como \"*611#\" (solo dígitos, * y #, "
                          "terminado en #).", path=path, key="sim.balance_code")
    for key in ("low_balance", "balance_every_hours", "balance_after_sends", "stop_errors"):
        if getattr(cfg.sim, key) < 0:
            raise ConfigError(f"En {path}, sim.{key} no puede ser negativo.", path=path, key=f"sim.{key}")
    if cfg.sim.stop_errors == 0 or cfg.sim.balance_every_hours == 0:
        key = "stop_errors" if cfg.sim.stop_errors == 0 else "balance_every_hours"
        raise ConfigError(f"En {path}, sim.{key} debe ser al menos 1.", path=path, key=f"sim.{key}")
    if not 1 <= cfg.web.port <= 65535:
        raise ConfigError(f"En {path}, web.port debe estar entre 1 y 65535.", path=path, key="web.port")
    used: dict[int, str] = {}
    for key in PANEL_PINS:
        pin = getattr(cfg.panel, key)
        if not 0 <= pin <= 27:
            raise ConfigError(f"En {path}, panel.{key} debe ser un número BCM entre 0 y 27 (el número GPIO, no el de "
                              "la patita del conector).", path=path, key=f"panel.{key}")
        if pin in used:
            raise ConfigError(f"En {path}, panel.{key} usa el mismo pin ({pin}) que panel.{used[pin]}.",
                              path=path, key=f"panel.{key}")
        used[pin] = key
    for key, (low, high) in VOICE_LIMITS.items():
        if not low <= getattr(cfg.voice, key) <= high:
            raise ConfigError(f"En {path}, voice.{key} debe estar entre {low} y {high}.", path=path,
                              key=f"voice.{key}")
    from scheduler.errors import PolicyError

    try:
        cfg.policy()
    except PolicyError as exc:
        raise ConfigError(f"En {path}, {exc}", path=path, key=exc.key) from None
