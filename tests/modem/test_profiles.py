"""Every modem profile is complete and internally consistent (quirks as data)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from modem.errors import ModemError
from modem.profiles import (
    CALL_URC_STYLES,
    PROFILES,
    NetworkTime,
    Profile,
    UnknownProfileError,
    get_profile,
)

NAMES = ["sim800", "sim7600", "huawei-e173", "quectel-ec25", "generic"]
ALL = [pytest.param(PROFILES[n], id=n) for n in NAMES]
URC_PREFIX = re.compile(r"^[+^*]?[A-Z][A-Z0-9_ ]*:$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def test_the_agreed_names_exist():
    assert sorted(PROFILES) == sorted(NAMES)


@pytest.mark.parametrize("profile", ALL)
def test_every_field_is_filled(profile: Profile):
    allowed_empty = {"noise_urcs", "noise_samples", "extra_urc_prefixes", "extra_urc_words",
                     "call_enable_commands", "status_report_storage", "notes"}
    for f in dataclasses.fields(profile):
        value = getattr(profile, f.name)
        if f.name in allowed_empty:
            continue
        assert value not in (None, "", ()), f.name


@pytest.mark.parametrize("profile", ALL)
def test_profile_is_frozen(profile: Profile):
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.cnmi = "0,0,0,0,0"  # type: ignore[misc]
    assert isinstance(profile.network_time, NetworkTime)
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.network_time.needs_restart = True  # type: ignore[misc]


@pytest.mark.parametrize("profile", ALL)
def test_cnmi_agrees_with_status_report_delivery(profile: Profile):
    fields = profile.cnmi.split(",")
    assert len(fields) == 5 and all(f.isdigit() for f in fields)
    assert fields[1] == "1", "new SMS must be announced as +CMTI (mt=1)"
    ds = fields[3]
    assert {"1": "cds", "2": "cdsi"}[ds] == profile.status_report_delivery
    assert profile.status_report_urc == {"cds": "+CDS:", "cdsi": "+CDSI:"}[profile.status_report_delivery]
    # stored reports need a storage, inline ones must not claim one
    assert (profile.status_report_storage is None) == (profile.status_report_delivery == "cds")
    assert f"AT+CNMI={profile.cnmi}" in profile.init_commands


@pytest.mark.parametrize("profile", ALL)
def test_init_sets_pdu_mode_storage_and_registration(profile: Profile):
    cmds = profile.init_commands
    assert cmds[0] == "AT+CMGF=0"
    assert profile.cpms_command in cmds
    assert profile.storage in {"SM", "ME", "MT"}
    assert 0 < profile.storage_capacity <= 255
    assert "CREG" in profile.registration_commands
    for reg in profile.registration_commands:
        assert f"AT+{reg}=2" in cmds
    assert profile.supports_cereg == ("AT+CEREG=2" in cmds)
    # ATE0 / CMEE are the driver's, never repeated here
    assert not any(c.upper().startswith(("ATE", "AT+CMEE")) for c in cmds)


@pytest.mark.parametrize("profile", ALL)
def test_all_commands_are_at_lines_without_line_endings(profile: Profile):
    commands = (profile.init_commands + profile.best_effort_commands + profile.call_enable_commands
                + profile.network_time.enable_commands + (profile.network_time.query_command,))
    for c in commands:
        assert c.startswith("AT") and not any(ch in c for ch in "\r\n\x1a"), c
    assert len(set(profile.init_commands)) == len(profile.init_commands)
    assert not set(profile.init_commands) & set(profile.best_effort_commands)


@pytest.mark.parametrize("profile", ALL)
def test_network_time_is_enabled_at_init(profile: Profile):
    nt = profile.network_time
    sent = set(profile.init_commands) | set(profile.best_effort_commands)
    assert set(nt.enable_commands) <= sent
    assert nt.urc_prefixes and all(URC_PREFIX.match(p) for p in nt.urc_prefixes)
    for sample in nt.samples:
        assert sample.startswith(nt.urc_prefixes), sample
    assert nt.unset_clock.startswith("04/01/01")


@pytest.mark.parametrize("profile", ALL)
def test_urc_data_is_well_formed(profile: Profile):
    prefixes = profile.urc_prefixes()
    words = profile.urc_words()
    for p in prefixes:
        assert URC_PREFIX.match(p), p
    for w in words:
        assert ":" not in w and w == w.strip() and w, w
    assert {"+CMTI:", "+CDS:", "+CDSI:", "+CUSD:", "+CREG:"} <= prefixes
    assert {"RING", "NO CARRIER"} <= words
    for sample in profile.noise_samples:
        assert sample.startswith(profile.noise_urcs), sample
    assert profile.boot_urcs and profile.ready_urc in profile.boot_urcs
    assert profile.reboot_urcs and set(profile.reboot_urcs) <= set(profile.boot_urcs)
    for line in profile.reboot_urcs:   # lines that also follow ordinary commands or service changes
        assert not line.startswith(("+CPIN:", "+CFUN:", "^SRVST:", "^SIMST:")), line
        assert not any(line.startswith(noise) for noise in profile.noise_urcs), line
    for line in profile.boot_urcs:
        assert line in words or line.startswith(tuple(prefixes)), line
    assert profile.call_urc_style in CALL_URC_STYLES
    assert set(profile.call_urc_prefixes) <= prefixes


@pytest.mark.parametrize("profile", ALL)
def test_identity_strings_and_imei(profile: Profile):
    assert profile.manufacturer and profile.model and profile.revision
    assert len(profile.imei) == 15 and profile.imei.isdigit() and luhn_ok(profile.imei)


def test_imeis_are_distinct():
    assert len({p.imei for p in PROFILES.values()}) == len(PROFILES)


@pytest.mark.parametrize(
    "name, attribute, expected",
    [
        pytest.param("sim800", "status_report_delivery", "cds", id="sim800-cds"),
        pytest.param("sim800", "clcc_alpha_field", True, id="sim800-clcc-alpha"),
        pytest.param("sim800", "storage_capacity", 30, id="sim800-sm-30"),
        pytest.param("sim800", "ready_urc", "SMS Ready", id="sim800-ready"),
        pytest.param("sim7600", "status_report_storage", "SR", id="sim7600-sr"),
        pytest.param("sim7600", "call_urc_style", "simcom-voice-call", id="sim7600-voice-call"),
        pytest.param("quectel-ec25", "status_report_delivery", "cdsi", id="ec25-cdsi"),
        pytest.param("quectel-ec25", "call_urc_style", "quectel-dsci", id="ec25-dsci"),
        pytest.param("huawei-e173", "ussd_encoding", "hex", id="e173-hex-ussd"),
        pytest.param("huawei-e173", "call_urc_style", "huawei-orig-conn-cend", id="e173-cend"),
        pytest.param("generic", "clcc_alpha_field", False, id="generic-7-field-clcc"),
    ],
)
def test_documented_quirks(name, attribute, expected):
    assert getattr(PROFILES[name], attribute) == expected


def test_vendor_specific_quirks():
    sim800 = PROFILES["sim800"]
    assert sim800.network_time.enable_commands[0] == "AT+CLTS=1" and sim800.network_time.needs_restart
    assert "*PSUTTZ:" in sim800.urc_prefixes() and "MO RING" in sim800.urc_words()
    ec25 = PROFILES["quectel-ec25"]
    assert {"AT+CTZU=3", "AT+CTZR=2"} <= set(ec25.network_time.enable_commands)
    assert "+CTZE:" in ec25.urc_prefixes()
    huawei = PROFILES["huawei-e173"]
    assert "AT^USSDMODE=1" in huawei.best_effort_commands and not any("USSDMODE" in c for c in huawei.init_commands)
    assert {"^RSSI:", "^BOOT:", "^MODE:"} <= set(huawei.noise_urcs)
    assert "VOICE CALL:" in PROFILES["sim7600"].urc_prefixes()
    for name in ("sim7600", "quectel-ec25"):
        assert PROFILES[name].supports_cereg
    assert not PROFILES["sim800"].supports_cereg


@pytest.mark.parametrize(
    "asked, expected",
    [
        pytest.param("sim800", "sim800", id="exact"),
        pytest.param("SIM800", "sim800", id="upper"),
        pytest.param(" huawei_e173 ", "huawei-e173", id="underscore-space"),
        pytest.param("e173", "huawei-e173", id="alias-e173"),
        pytest.param("EC25", "quectel-ec25", id="alias-ec25"),
    ],
)
def test_get_profile(asked, expected):
    assert get_profile(asked) is PROFILES[expected]


def test_get_profile_passes_profiles_through():
    assert get_profile(PROFILES["generic"]) is PROFILES["generic"]


@pytest.mark.parametrize("bad", ["sim900", "", "huawei-e3372x", None, 7])
def test_unknown_profile_is_a_typed_key_error(bad):
    with pytest.raises(UnknownProfileError) as info:
        get_profile(bad)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ModemError)
    assert "sim800" in str(info.value) and info.value.known == tuple(sorted(PROFILES))


def test_profiles_mapping_is_read_only():
    with pytest.raises(TypeError):
        PROFILES["x"] = PROFILES["generic"]  # type: ignore[index]
