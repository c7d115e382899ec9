"""What a simulated modem is: the shared profile plus simulator-only details.

:mod:`modem.profiles` holds the quirks both the driver and the simulator
need (identity strings, boot URCs, report delivery, USSD encoding, network
time...). The simulator needs a few more facts that no driver should rely on
(what ``ATI`` prints, which vendor command reads the ICCID, the URC a full SIM
produces, the access technology in ``+COPS?``, vendor-only commands). Those
live here, as data keyed by profile name; :func:`persona_for` merges both.

Memory-full choice (documented for the driver): when the receive storage is
full, an incoming SMS is *refused* (no ``+CMTI``), the virtual network keeps it
and retries once a slot is freed (``AT+CMGD``), and the modem emits
``memory_full_urc`` at each refusal: SIM800/SIM7600/generic
``+CIEV: "SMSFULL",1``, Huawei ``^SMMEMFULL: "SM"``, Quectel
``+QIND: "smsfull","ME"``. Writing to a full storage (``AT+CMGW``) answers
``+CMS ERROR: 322``.
"""

from __future__ import annotations

from dataclasses import dataclass

from modem.profiles import PROFILES, Profile, UnknownProfileError, get_profile

_EXTRA: dict[str, dict] = {
    "sim800": dict(
        ati=("SIM800 R14.18",),
        iccid_commands={"+CCID": "", "+ICCID": "+ICCID: "},
        cops_act=None, memory_full_urc='+CIEV: "SMSFULL",1', unknown_reply="ERROR",
        vendor_commands=("+DDET", "+CLTS", "+MORING", "+CSCLK", "+CCID", "+ICCID"),
    ),
    "sim7600": dict(
        ati=("Manufacturer: SIMCOM INCORPORATED", "Model: {model}", "Revision: SIM7600M22_V2.0",
             "IMEI: {imei}", "+GCAP: +CGSM"),
        iccid_commands={"+CICCID": "+ICCID: ", "+CCID": "+CCID: "},
        cops_act=7, memory_full_urc='+CIEV: "SMSFULL",1', unknown_reply="ERROR",
        vendor_commands=("+CICCID", "+CCID", "+CTZU", "+CTZR"),
    ),
    "huawei-e173": dict(
        ati=("Manufacturer: huawei", "Model: {model}", "Revision: {revision}", "IMEI: {imei}",
             "+GCAP: +CGSM,+DS,+ES"),
        iccid_commands={"^ICCID": "^ICCID: "},
        cops_act=2, memory_full_urc='^SMMEMFULL: "{mem}"', unknown_reply="COMMAND NOT SUPPORT",
        vendor_commands=("^USSDMODE", "^CURC", "^ICCID", "^CVOICE", "^DTMF", "^SYSINFO", "^PORTSEL",
                         "+CTZR"),
    ),
    "quectel-ec25": dict(
        ati=("Quectel", "{model}", "Revision: {revision}"),
        iccid_commands={"+QCCID": "+QCCID: ", "+CCID": "+CCID: "},
        cops_act=7, memory_full_urc='+QIND: "smsfull","{mem}"', unknown_reply="ERROR",
        vendor_commands=("+QCCID", "+CCID", "+CTZU", "+CTZR", "+QURCCFG", "+QINDCFG"),
    ),
    "generic": dict(
        ati=("{manufacturer}", "{model}", "Revision: {revision}"),
        iccid_commands={"+CCID": "+CCID: "},
        cops_act=0, memory_full_urc='+CIEV: "SMSFULL",1', unknown_reply="ERROR",
        vendor_commands=("+CCID", "+CTZR"),
    ),
}

PROFILE_NAMES = tuple(PROFILES)
UnknownProfile = UnknownProfileError


@dataclass(frozen=True)
class Persona:
    """Everything the simulator needs to behave like one modem model.

    ``profile`` is the shared :class:`~modem.profiles.Profile`; the other fields
    are simulator-only (see the module docstring).
    """

    profile: Profile
    ati: tuple[str, ...]
    imsi: str
    iccid: str
    iccid_commands: dict[str, str]          # command -> prefix of its answer ("" = bare digits)
    cops_act: int | None                    # <AcT> in +COPS? (None: 2G modems omit it)
    memory_full_urc: str | None             # "{mem}" is replaced by the storage name
    unknown_reply: str                      # final result for an unknown command
    vendor_commands: tuple[str, ...]

    # -- views on the shared profile, so handlers need one object
    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def manufacturer(self) -> str:
        return self.profile.manufacturer

    @property
    def model(self) -> str:
        return self.profile.model

    @property
    def revision(self) -> str:
        return self.profile.revision

    @property
    def imei(self) -> str:
        return self.profile.imei

    @property
    def storage(self) -> str:
        return self.profile.storage

    @property
    def capacity(self) -> int:
        return self.profile.storage_capacity

    @property
    def report_storage(self) -> str:
        """Where ``+CDSI`` reports go (the profile's, else "SR")."""
        return self.profile.status_report_storage or "SR"

    @property
    def ussd_encoding(self) -> str:
        return self.profile.ussd_encoding

    @property
    def boot_urcs(self) -> tuple[str, ...]:
        return self.profile.boot_urcs

    @property
    def noise_samples(self) -> tuple[str, ...]:
        return self.profile.noise_samples

    @property
    def supports_cereg(self) -> bool:
        return self.profile.supports_cereg

    @property
    def nitz(self) -> str | None:
        """``"clts"`` (SIM800: AT+CLTS=1;&W + restart) or ``"ctz"`` (AT+CTZU/AT+CTZR)."""
        commands = " ".join(self.profile.network_time.enable_commands).upper()
        if "+CLTS" in commands:
            return "clts"
        if "+CTZ" in commands:
            return "ctz"
        return None

    @property
    def has_ctzu(self) -> bool:
        return "+CTZU" in self.vendor_commands


def persona_for(name: str | Profile) -> Persona:
    """The persona of profile ``name``; raises :class:`~modem.profiles.UnknownProfileError`."""
    profile = get_profile(name)
    extra = dict(_EXTRA.get(profile.name, _EXTRA["generic"]))
    fmt = {"manufacturer": profile.manufacturer, "model": profile.model,
           "revision": profile.revision, "imei": profile.imei}
    extra["ati"] = tuple(line.format(**fmt) for line in extra["ati"])
    return Persona(profile=profile, imsi="732101234567890", iccid="8957101234567890123", **extra)
