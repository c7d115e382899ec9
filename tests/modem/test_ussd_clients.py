"""USSD on every simulated modem: gammu (an independent C client), python-gsmmodem and our driver.

The simulated Huawei E173 answers USSD the way the stick does in its power-on ``^USSDMODE=1``: GSM-7 packed
hex in, hex out (DCS 15, or UTF-16 with DCS 72 when the answer needs UCS-2). gammu sends and reads it that way
for the Huawei models it flags ``ENCODED_USSD`` (the E173 among them), so ``gammu getussd`` must work on every
profile; our driver must work in that default mode and after another program switched the stick to text.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from _driver_support import assert_no_driver_threads, make_modem
from modem.profiles import PROFILES
from modem.simulator import Simulator

ALL_PROFILES = sorted(PROFILES)
gammu_binary = shutil.which("gammu")
needs_gammu = pytest.mark.skipif(gammu_binary is None, reason="the gammu CLI is not installed")


def gammu_getussd(tmp_path, sim: Simulator, code: str) -> subprocess.CompletedProcess:
    """``gammu getussd CODE`` against the simulator. After printing the network's answer gammu keeps listening
    for further USSD messages ("Press Ctrl+C to break…", ~10 s): we press Ctrl+C once the final answer (status
    "No action needed" or an error) is out, and report that run as a success (0); anything else keeps gammu's
    own exit status."""
    rc = tmp_path / "gammurc"
    rc.write_text(f"[gammu]\ndevice = {sim.port}\nconnection = at\n")
    process = subprocess.Popen([gammu_binary, "-c", str(rc), "getussd", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines, answered = [], False
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Service reply") or "Not supported" in line:
                answered = True
                process.send_signal(signal.SIGINT)
                break
        rest, err = process.communicate(timeout=90)
    except BaseException:
        process.kill()
        raise
    status = 0 if answered and lines[0].startswith("USSD received") else process.returncode
    return subprocess.CompletedProcess(process.args, status, "".join(lines) + rest, err)


@pytest.mark.slow
@needs_gammu
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_gammu_getussd_on_every_profile(tmp_path, profile):
    with Simulator(profile) as sim:
        sim.network.ussd["*611#"] = "Su saldo es $1.250,50. Vence 15/12"
        result = gammu_getussd(tmp_path, sim, "*611#")
        commands = sim.commands
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Service reply        : "Su saldo es $1.250,50. Vence 15/12"' in result.stdout
    cusd = [c for c in commands if c.startswith('AT+CUSD=1,"')]
    if PROFILES[profile].ussd_encoding == "hex":     # gammu packed it: its ENCODED_USSD flag for Huawei sticks
        assert cusd == ['AT+CUSD=1,"2A5B2C3602",15']
    else:
        assert len(cusd) == 1


@pytest.mark.slow
@needs_gammu
def test_gammu_reads_a_ucs2_answer_from_the_huawei(tmp_path):
    with Simulator("huawei-e173") as sim:
        sim.network.ussd["*611#"] = "Tu saldo es S/ 3.20 — válido hasta el 30/11"
        result = gammu_getussd(tmp_path, sim, "*611#")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tu saldo es S/ 3.20 — válido hasta el 30/11" in result.stdout


@pytest.mark.slow
@needs_gammu
def test_gammu_reports_an_unknown_code(tmp_path):
    with Simulator("huawei-e173") as sim:
        result = gammu_getussd(tmp_path, sim, "*999#")
    assert "Not supported" in result.stdout or result.returncode != 0, result.stdout


@pytest.mark.parametrize("answer", ["Su saldo es $1.234", "Saldo: S/ 3.20 — válido"])
def test_our_driver_in_the_e173_default_mode(answer):
    with Simulator("huawei-e173", boot_time=0.05) as sim:
        sim.network.ussd["*611#"] = answer
        modem = make_modem(sim, "huawei-e173")
        modem.open()
        try:
            assert modem.ussd("*611#") == answer
            assert "AT^USSDMODE=0" not in sim.commands
            assert 'AT+CUSD=1,"2A5B2C3602",15' in sim.commands
        finally:
            modem.close()
    assert_no_driver_threads()


def test_our_driver_after_another_program_left_the_stick_in_text_mode():
    """python-gsmmodem (or a person with minicom) set ^USSDMODE=0; our init sets the default back."""
    with Simulator("huawei-e173", boot_time=0.05) as sim:
        sim.device.settings.ussdmode = 0
        sim.network.ussd["*611#"] = "Saldo recarga: $0.00"
        modem = make_modem(sim, "huawei-e173")
        modem.open()
        try:
            assert modem.ussd("*611#") == "Saldo recarga: $0.00"
            assert "AT^USSDMODE=1" in sim.commands
        finally:
            modem.close()
    assert_no_driver_threads()


@pytest.mark.parametrize("profile", [p for p in ALL_PROFILES if p != "huawei-e173"])
def test_our_driver_on_the_text_profiles(profile):
    with Simulator(profile, boot_time=0.05) as sim:
        sim.network.ussd["*611#"] = "Tu saldo principal es de 2500 pesos vence 15/12"
        modem = make_modem(sim, profile)
        modem.open()
        try:
            assert modem.ussd("*611#") == "Tu saldo principal es de 2500 pesos vence 15/12"
        finally:
            modem.close()
    assert_no_driver_threads()
