"""Per-modem quirks as data.

A :class:`Profile` says how one modem family talks: what it answers to the
identity commands, which commands set it up, how it delivers SMS status
reports, USSD and network time, which unsolicited result codes (URCs) it emits
at boot and at random, and how it announces call progress. The same data
drives both sides:

- ``modem.driver`` sends :attr:`Profile.init_commands` (then
  :attr:`Profile.best_effort_commands`, whose ``ERROR`` it only logs) after
  ``ATE0`` / ``AT+CMEE=1`` and waits for :attr:`Profile.ready_urc` after a
  reboot;
- ``modem.simulator`` answers identity commands with the strings here, emits
  :attr:`Profile.boot_urcs` on (re)boot, sprinkles :attr:`Profile.noise_samples`
  and reports status the way :attr:`Profile.status_report_delivery` says;
- ``modem.at`` recognises every prefix in :meth:`Profile.urc_prefixes` and
  word in :meth:`Profile.urc_words` as unsolicited.

URC prefixes are written with their colon (``"+CMTI:"``, ``"^RSSI:"``); bare
URC words (``"RING"``, ``"Call Ready"``) without. Sources: python-gsmmodem
evaluation note §6, pi-appliance note §3, SIM800 Series AT manual v1.09,
SIM7500/7600 AT manual, Quectel EC2x AT manual, chan_dongle / chan_quectel.
Where a vendor detail could not be confirmed the value is a modelled choice,
marked "modelled" in the profile's ``notes``.

Public API::

    PROFILES: Mapping[str, Profile]          # read-only
    get_profile(name: str | Profile) -> Profile   # raises UnknownProfileError
    Profile, NetworkTime                     # frozen dataclasses
    UnknownProfileError(ModemError, KeyError)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from modem.errors import ModemError

__all__ = [
    "CALL_URC_STYLES",
    "NetworkTime",
    "PROFILES",
    "Profile",
    "UnknownProfileError",
    "get_profile",
]

#: How a modem announces call progress (used by the voice layer):
#: ``clcc``                   automatic ``+CLCC:`` URCs after ``AT+CLCC=1`` (stat 6 = disconnected)
#: ``huawei-orig-conn-cend``  ``^ORIG:`` / ``^CONF:`` / ``^CONN:`` / ``^CEND:id,dur,end,cause``
#: ``simcom-voice-call``      ``VOICE CALL: BEGIN`` / ``VOICE CALL: END: hhmmss`` (+ ``+CLCC:``)
#: ``quectel-dsci``           ``^DSCI:`` after ``AT^DSCI=1``
CALL_URC_STYLES = ("clcc", "huawei-orig-conn-cend", "simcom-voice-call", "quectel-dsci")

#: URCs every modem may send regardless of profile (27.005 / 27.007 and the
#: call result codes that arrive after an ``ATD`` has already answered ``OK``).
STANDARD_URC_PREFIXES = (
    "+CMTI:", "+CMT:", "+CDSI:", "+CDS:", "+CBM:", "+CBMI:", "+CUSD:",
    "+CREG:", "+CGREG:", "+CEREG:", "+CLIP:", "+CRING:", "+CCWA:", "+CSSI:", "+CSSU:",
    "+CTZV:", "+CTZE:", "+CIEV:", "+CPIN:", "+CFUN:", "+CGEV:",
)
STANDARD_URC_WORDS = ("RING", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")


class UnknownProfileError(ModemError, KeyError):
    """``get_profile`` was given a name that is not in :data:`PROFILES`.

    ``name`` is the name asked for; ``known`` the valid names.
    """

    def __init__(self, name: str):
        self.name = name
        self.known = tuple(sorted(PROFILES))
        super().__init__(f"unknown modem profile {name!r}; known: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


@dataclass(frozen=True)
class NetworkTime:
    """How a modem is made to take the operator's network time (NITZ).

    ``enable_commands`` are sent at init (best effort: not every SIM/firmware
    accepts them). ``needs_restart``: the setting only applies after a modem
    restart (SIM800 ``AT+CLTS=1`` + ``AT&W``). ``urc_prefixes``: URCs carrying
    the time when the network sends it. ``query_command`` reads the clock
    (``+CCLK: "yy/MM/dd,hh:mm:ss±zz"``, zz in quarter hours); ``unset_clock`` is
    what it reads before any network time arrived (reject it).
    """

    enable_commands: tuple[str, ...]
    urc_prefixes: tuple[str, ...]
    needs_restart: bool = False
    query_command: str = "AT+CCLK?"
    unset_clock: str = "04/01/01,00:00:00+00"
    #: Example URC lines, as the modem prints them (for the simulator and tests).
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """One modem family's behaviour, as data. Immutable; compare by value."""

    name: str
    description: str
    #: What ``AT+CGMI`` / ``AT+CGMM`` / ``AT+CGMR`` answer (the information line verbatim).
    manufacturer: str
    model: str
    revision: str
    #: A valid (Luhn) example IMEI with this family's TAC, for the simulator.
    imei: str
    #: Commands after ``ATE0`` and ``AT+CMEE=1``, in order; each must answer ``OK``.
    init_commands: tuple[str, ...]
    #: Sent after ``init_commands``; an ``ERROR`` is logged, not fatal.
    best_effort_commands: tuple[str, ...]
    #: ``AT+CNMI=<this>``: mode,mt,bm,ds,bfr. mt=1 -> ``+CMTI``; ds=1 -> ``+CDS``, ds=2 -> ``+CDSI``.
    cnmi: str
    #: ``"cds"``: report PDU inline (``+CDS: <len>`` + PDU line); ``"cdsi"``: stored, ``+CDSI: "<mem>",<index>``.
    status_report_delivery: str
    #: Where ``+CDSI`` reports are stored (``"SR"``, ``"SM"``, ``"ME"``); ``None`` for ``cds``.
    status_report_storage: str | None
    #: ``"text"``: ``+CUSD: 0,"Su saldo es ...",15``; ``"hex"``: GSM-7 packed, hex-encoded, both ways.
    ussd_encoding: str
    #: 27.007 registration commands to enable and poll: ``("CREG",)`` or ``("CREG", "CEREG")``.
    registration_commands: tuple[str, ...]
    #: Lines the modem prints when it (re)boots, in order.
    boot_urcs: tuple[str, ...]
    #: The boot line after which SMS commands work (wait for it before init).
    ready_urc: str
    #: Prefixes of chatty URCs that carry nothing we act on (logged at debug).
    noise_urcs: tuple[str, ...]
    #: Example noise lines, as printed.
    noise_samples: tuple[str, ...]
    network_time: NetworkTime
    #: Message storage used for reading/writing/receiving (``AT+CPMS``), and its capacity.
    storage: str
    storage_capacity: int
    #: ``+CLCC`` lines carry an 8th alpha field (``...,129,""``) — python-gsmmodem bug 5.
    clcc_alpha_field: bool
    call_urc_style: str
    #: Commands that turn on the call URCs of ``call_urc_style``, caller id and key (DTMF) detection
    #: (sent by the voice layer before its first call and after every re-init; an ERROR is logged).
    call_enable_commands: tuple[str, ...]
    #: Call-state and key URC prefixes (with colon) this modem prints.
    call_urc_prefixes: tuple[str, ...]
    #: Other URC prefixes (with colon) and bare words this modem is known to print.
    extra_urc_prefixes: tuple[str, ...] = ()
    extra_urc_words: tuple[str, ...] = ()
    #: ``AT+CSCS`` character set used for USSD/phonebook strings.
    charset: str = "GSM"
    notes: str = ""
    #: Data coding scheme for ``AT+CUSD=1,<str>,<dcs>``.
    ussd_dcs: int = 15
    #: The modem echoes commands until ``ATE0``.
    echo_at_boot: bool = True
    #: Boot lines printed ONLY when the modem (re)starts: use these to detect a reboot
    #: under us. Other boot lines also appear in normal operation (``+CPIN: READY``
    #: after a PIN entry, ``+CFUN: 1`` after ``AT+CFUN=1``, Huawei ``^SRVST``/``^SIMST``
    #: on every service change) and must not trigger a re-init.
    reboot_urcs: tuple[str, ...] = ()
    #: The command that ends a voice call (SIMCom's LTE modules want ``AT+CHUP``).
    hangup_command: str = "ATH"
    #: Seconds between ``AT+CLCC`` polls while a call is up: the only progress indication of a modem
    #: without call URCs (generic), a safety net against a lost URC elsewhere.
    call_poll_interval: float = 2.0

    # -- derived views -------------------------------------------------

    @property
    def status_report_urc(self) -> str:
        """``"+CDS:"`` or ``"+CDSI:"``."""
        return "+CDS:" if self.status_report_delivery == "cds" else "+CDSI:"

    @property
    def supports_cereg(self) -> bool:
        return "CEREG" in self.registration_commands

    @property
    def cpms_command(self) -> str:
        """The ``AT+CPMS`` line in :attr:`init_commands`."""
        return f'AT+CPMS="{self.storage}","{self.storage}","{self.storage}"'

    def urc_prefixes(self) -> frozenset[str]:
        """Every URC prefix (with colon) this modem may print, standard ones included."""
        out = set(STANDARD_URC_PREFIXES)
        out.update(self.noise_urcs)
        out.update(self.network_time.urc_prefixes)
        out.update(self.call_urc_prefixes)
        out.update(self.extra_urc_prefixes)
        out.update(p for p in (_prefix_of(line) for line in self.boot_urcs) if p)
        return frozenset(out)

    def urc_words(self) -> frozenset[str]:
        """Every bare-word URC (no colon) this modem may print, standard ones included."""
        out = set(STANDARD_URC_WORDS)
        out.update(line for line in self.boot_urcs if not _prefix_of(line))
        out.update(self.extra_urc_words)
        return frozenset(out)


def _prefix_of(line: str) -> str | None:
    """``"+CPIN: READY"`` -> ``"+CPIN:"``; ``"Call Ready"`` -> ``None``."""
    head, sep, _ = line.partition(":")
    return head + ":" if sep and head else None


def _init(profile_cnmi: str, storage: str, registration: tuple[str, ...], *extra: str) -> tuple[str, ...]:
    """The common init sequence: PDU mode, storage, new-message indications, registration URCs."""
    regs = tuple(f"AT+{cmd}=2" for cmd in registration)
    return (
        "AT+CMGF=0",
        'AT+CSCS="GSM"',
        f'AT+CPMS="{storage}","{storage}","{storage}"',
        f"AT+CNMI={profile_cnmi}",
        *regs,
        *extra,
    )


_SIM800 = Profile(
    name="sim800",
    description="SIMCom SIM800/SIM800L/SIM800C (2G only, UART)",
    manufacturer="SIMCOM_Ltd",
    model="SIMCOM_SIM800L",
    revision="Revision:1418B04SIM800L24",
    imei="869962031234561",
    init_commands=_init("2,1,0,1,0", "SM", ("CREG",)),
    best_effort_commands=("AT+CLTS=1", "AT&W"),
    cnmi="2,1,0,1,0",
    status_report_delivery="cds",
    status_report_storage=None,
    ussd_encoding="text",
    registration_commands=("CREG",),
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"),
    ready_urc="SMS Ready",
    reboot_urcs=("RDY",),
    noise_urcs=(),
    noise_samples=(),
    network_time=NetworkTime(
        enable_commands=("AT+CLTS=1", "AT&W"),
        urc_prefixes=("*PSUTTZ:", "+CTZV:", "DST:"),
        needs_restart=True,
        samples=('*PSUTTZ: 24,12,15,13,5,30,"-20",0', '+CTZV: -20,0', "DST: 0"),
    ),
    storage="SM",
    storage_capacity=30,
    clcc_alpha_field=True,
    call_urc_style="clcc",
    call_enable_commands=("AT+CLIP=1", "AT+CLCC=1", "AT+MORING=1", "AT+DDET=1"),
    call_urc_prefixes=("+CLCC:", "+DTMF:"),
    extra_urc_prefixes=("+CMTE:",),
    extra_urc_words=(
        "MO RING", "MO CONNECTED", "NORMAL POWER DOWN", "UNDER-VOLTAGE POWER DOWN",
        "UNDER-VOLTAGE WARNNING", "OVER-VOLTAGE POWER DOWN", "OVER-VOLTAGE WARNNING",
    ),
    notes="Status reports inline as +CDS (f76). Network time only after AT+CLTS=1;&W and a restart, "
          "then *PSUTTZ/+CTZV/DST URCs; AT+CCLK? reads 04/01/01 until then. "
          "BUSY/NO ANSWER/NO CARRIER arrive after the ATD OK. 'WARNNING' is SIMCom's spelling.",
)

_SIM7600 = Profile(
    name="sim7600",
    description="SIMCom SIM7600E-H/SIM7600G (LTE Cat-1/4, USB)",
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600E-H",
    revision="+CGMR: LE20B04SIM7600M22",
    imei="867147031234561",
    init_commands=_init("2,1,0,2,0", "ME", ("CREG", "CEREG")),
    best_effort_commands=("AT+CTZU=1", "AT+CTZR=1"),
    cnmi="2,1,0,2,0",
    status_report_delivery="cdsi",
    status_report_storage="SR",
    ussd_encoding="text",
    registration_commands=("CREG", "CEREG"),
    boot_urcs=("RDY", "+CPIN: READY", "SMS DONE", "PB DONE"),
    ready_urc="PB DONE",
    reboot_urcs=("RDY",),
    noise_urcs=(),
    noise_samples=(),
    network_time=NetworkTime(
        enable_commands=("AT+CTZU=1", "AT+CTZR=1"),
        urc_prefixes=("+CTZV:",),
        samples=('+CTZV: -20,0',),
    ),
    storage="ME",
    storage_capacity=255,
    clcc_alpha_field=False,
    call_urc_style="simcom-voice-call",
    call_enable_commands=("AT+CLIP=1", "AT+CLCC=1"),
    call_urc_prefixes=("VOICE CALL:", "MISSED_CALL:", "+CLCC:", "+RXDTMF:"),
    hangup_command="AT+CHUP",
    extra_urc_prefixes=("+CGEV:",),
    extra_urc_words=("START", "CALL READY"),
    notes="Status reports stored in SR and announced as +CDSI: \"SR\",<n> (modelled after the EC25 "
          "behaviour; SIMCom manual lists SR storage). Voice: VOICE CALL: BEGIN / VOICE CALL: END: "
          "hhmmss, MISSED_CALL. Needs +CEREG for LTE-only attachment.",
)

_HUAWEI_E173 = Profile(
    name="huawei-e173",
    description="Huawei E173 / E1752 USB stick (3G, stick firmware, AT on the application port)",
    manufacturer="huawei",
    model="E173",
    revision="11.126.85.00.209",
    imei="357165041234568",
    init_commands=_init("2,1,0,1,0", "SM", ("CREG",)),
    # ^USSDMODE=1 is the power-on default; set again because another program (python-gsmmodem sets 0) may have
    # changed it, and best effort because some E173 firmwares lack the command (they are always transparent).
    best_effort_commands=("AT+CTZR=1", "AT^USSDMODE=1"),
    cnmi="2,1,0,1,0",
    status_report_delivery="cds",
    status_report_storage=None,
    ussd_encoding="hex",
    registration_commands=("CREG",),
    boot_urcs=("^SYSSTART", "+CPIN: READY", "^SIMST: 1", "^SRVST: 2"),
    ready_urc="^SRVST: 2",
    reboot_urcs=("^SYSSTART",),
    noise_urcs=("^RSSI:", "^BOOT:", "^MODE:", "^DSFLOWRPT:", "^SRVST:", "^SIMST:", "^HCSQ:", "^STIN:"),
    noise_samples=(
        "^RSSI:17",
        "^BOOT:20952066,0,0,0,72",
        "^MODE:5,4",
        "^DSFLOWRPT:0000012C,00000000,00000000,000000000000A1B2,0000000000003C4D,0003E800,0003E800",
    ),
    network_time=NetworkTime(
        enable_commands=("AT+CTZR=1",),
        urc_prefixes=("+CTZV:", "^NWTIME:"),
        samples=('+CTZV: -20,0',),
    ),
    storage="SM",
    storage_capacity=50,
    clcc_alpha_field=False,
    call_urc_style="huawei-orig-conn-cend",
    call_enable_commands=("AT+CLIP=1",),
    call_urc_prefixes=("^ORIG:", "^CONF:", "^CONN:", "^CEND:", "^DTMF:"),
    extra_urc_prefixes=("^CVOICE:",),
    extra_urc_words=(),
    notes="Noisy ^RSSI/^BOOT/^MODE/^DSFLOWRPT (b47: ^RSSI inside a +CMGR answer). USSD in the stick's "
          "default ^USSDMODE=1 ('transparent'): requests and answers are GSM-7 packed hex (DCS 15; UCS-2 answers "
          "UTF-16 hex, DCS 72), as gammu's ENCODED_USSD models (E173 among them) send and read them; a "
          "plain-text request is refused (+CME ERROR, python-gsmmodem's E1752 capture). ^USSDMODE=0, which "
          "python-gsmmodem sets, switches to plain text both ways. "
          "Answers COMMAND NOT SUPPORT instead of ERROR. Status reports as +CDS and the boot lines "
          "are modelled.",
)

_QUECTEL_EC25 = Profile(
    name="quectel-ec25",
    description="Quectel EC25 (LTE Cat-4, USB: if02 AT)",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25EFAR06A06M4G",
    imei="869356031234566",
    init_commands=_init("2,1,0,2,0", "ME", ("CREG", "CEREG")),
    best_effort_commands=('AT+QURCCFG="urcport","usbat"', "AT+CTZU=3", "AT+CTZR=2"),
    cnmi="2,1,0,2,0",
    status_report_delivery="cdsi",
    status_report_storage="SR",
    ussd_encoding="text",
    registration_commands=("CREG", "CEREG"),
    boot_urcs=("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    ready_urc="+QIND: SMS DONE",
    reboot_urcs=("RDY",),
    noise_urcs=("+QIND:", "+QUSIM:"),
    noise_samples=('+QIND: "csq",20,99',),
    network_time=NetworkTime(
        enable_commands=("AT+CTZU=3", "AT+CTZR=2"),
        urc_prefixes=("+CTZE:", "+CTZV:"),
        samples=('+CTZE: "-20",0,"2024/12/15,18:05:30"',),
    ),
    storage="ME",
    storage_capacity=255,
    clcc_alpha_field=False,
    call_urc_style="quectel-dsci",
    call_enable_commands=("AT+CLIP=1", "AT^DSCI=1", "AT+QTONEDET=1"),
    call_urc_prefixes=("^DSCI:", "+CLCC:", "+QTONEDET:"),
    extra_urc_prefixes=("+QSTK:", "+QNTP:"),
    extra_urc_words=("POWERED DOWN",),
    notes="Status reports stored in SR, +CDSI: \"SR\",<n>. AT+CTZU=3 keeps the RTC on network time, "
          "AT+CTZR=2 gives +CTZE. 7-field +CLCC. AT+QURCCFG picks the URC port. Needs +CEREG.",
)

_GENERIC = Profile(
    name="generic",
    description="Any 27.005/27.007 modem: only standard commands and URCs",
    manufacturer="Generic",
    model="GSM Modem",
    revision="1.0",
    imei="350000001234562",
    init_commands=_init("2,1,0,2,0", "SM", ("CREG",)),
    best_effort_commands=("AT+CTZR=1",),
    cnmi="2,1,0,2,0",
    status_report_delivery="cdsi",
    status_report_storage="SM",
    ussd_encoding="text",
    registration_commands=("CREG",),
    boot_urcs=("RDY", "+CPIN: READY"),
    ready_urc="+CPIN: READY",
    reboot_urcs=("RDY",),
    noise_urcs=(),
    noise_samples=(),
    network_time=NetworkTime(
        enable_commands=("AT+CTZR=1",),
        urc_prefixes=("+CTZV:",),
        samples=('+CTZV: -20,0',),
    ),
    storage="SM",
    storage_capacity=30,
    clcc_alpha_field=False,
    call_urc_style="clcc",
    call_enable_commands=("AT+CLIP=1",),
    call_urc_prefixes=("+CLCC:",),
    call_poll_interval=0.5,
    notes="The least common denominator; +CDSI reports stored on the SIM.",
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {p.name: p for p in (_SIM800, _SIM7600, _HUAWEI_E173, _QUECTEL_EC25, _GENERIC)}
)

_ALIASES = {"huawei": "huawei-e173", "e173": "huawei-e173", "e1752": "huawei-e173",
            "ec25": "quectel-ec25", "quectel": "quectel-ec25", "sim800l": "sim800", "sim800c": "sim800",
            "sim7600e": "sim7600", "sim7600g": "sim7600"}


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (case-insensitive, ``_`` = ``-``, a few aliases such as ``"e173"``).

    A :class:`Profile` is returned unchanged. Raises :class:`UnknownProfileError`
    (a ``KeyError``) for any other name.
    """
    if isinstance(name, Profile):
        return name
    if not isinstance(name, str):
        raise UnknownProfileError(repr(name))
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    try:
        return PROFILES[key]
    except KeyError:
        raise UnknownProfileError(name) from None
