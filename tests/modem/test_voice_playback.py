"""modem.voice.playback end to end: our driver places a real simulated call over a pty
(``Modem.call(..., message=clip, player=p)``) and the simulator's audio sink records what the far phone heard.
Nothing of ours is mocked."""

from __future__ import annotations

import io
import shutil
import time
import wave

import numpy as np
import pytest
import serial

from modem.driver import Modem
from modem.errors import CmeError
from modem.simulator import Simulator
from modem.simulator.calls import CallScript
from modem.voice.audio import AMR_MAGIC, AudioClip, amr_duration
from modem.voice.playback import (
    SIM800_CHUNK,
    NoAudioPath,
    PlaybackError,
    audio_problem,
    player_for,
)

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None,
                                reason="espeak-ng or sox is missing (scripts/install-test-deps installs both)")

PHONE = "+573001234567"
AUDIO_PROFILES = ["sim800", "quectel-ec25", "huawei-e173", "sim7600"]
VIA = {"sim800": "crec", "quectel-ec25": "qpsnd", "huawei-e173": "voice-port", "sim7600": "voice-port"}


@pytest.fixture(scope="module")
def message() -> AudioClip:
    from modem.voice.speech import speak
    return speak("Buenos días. Le recordamos que su cuota de cincuenta mil pesos vence mañana.")


def rig(profile: str, script: CallScript = CallScript(answer_after=0.3)):
    sim = Simulator(profile, boot_time=0.05).start()
    sim.network.phone(PHONE).script = script
    modem = Modem(sim.port, profile=profile, boot_settle=0.1)
    modem.open()
    return sim, modem


def envelope(clip: AudioClip) -> np.ndarray:
    """Loudness every 20 ms (what survives a speech codec)."""
    samples = clip.samples.astype(float)
    samples = samples[:len(samples) // 160 * 160]
    return np.sqrt((samples.reshape(-1, 160) ** 2).mean(axis=1))


def wait_finished(sim, count: int = 1, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        played = sim.audio.played
        if len(played) >= count and all(p.finished for p in played):
            return played
        time.sleep(0.05)
    raise AssertionError(f"the sink has {sim.audio.played}")


@pytest.mark.slow
@pytest.mark.parametrize("profile", AUDIO_PROFILES)
def test_the_spoken_message_reaches_the_far_phone(profile, message):
    sim, modem = rig(profile)
    try:
        player = player_for(profile, audio_port=sim.voice_port)
        assert player.available(modem) is None
        result = modem.call(PHONE, message=message, player=player, repeat=1, listen_after=0.2)
        assert result.outcome == "answered", result
        assert result.played_seconds == pytest.approx(message.duration, rel=0.05)
        [heard] = wait_finished(sim)
    finally:
        modem.close()
        sim.close()
    assert (heard.number, heard.via, heard.rate) == (PHONE, VIA[profile], 8000)
    assert heard.duration == pytest.approx(message.duration, rel=0.20)
    assert heard.rms() > 0.5 * message.rms() and heard.rms() > 500       # speech, not silence
    if profile == "sim800":        # AMR is lossy: same length, same loudness, the same words' envelope
        file = sim.audio.files["C:\\USER\\COBRADOR.AMR"]
        assert file.startswith(AMR_MAGIC) and amr_duration(file) == pytest.approx(message.duration, abs=0.04)
        said, got = envelope(message), envelope(heard.clip())
        n = min(len(said), len(got))
        assert np.corrcoef(said[:n], got[:n])[0, 1] > 0.8
    else:                          # PCM and WAV are exact
        assert bytes(heard.pcm[:len(message.pcm)]) == message.pcm
    if profile == "quectel-ec25":
        with wave.open(io.BytesIO(sim.audio.files["RAM:COBRADOR.WAV"])) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
    if VIA[profile] == "voice-port":                  # paced in real time, 20 ms a frame
        assert heard.arrival_span == pytest.approx(message.duration, rel=0.15)


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["quectel-ec25", "sim7600"])
def test_the_message_is_said_twice(profile):
    from modem.voice.speech import speak
    short = speak("Su cuota vence mañana.")
    sim, modem = rig(profile)
    try:
        player = player_for(profile, audio_port=sim.voice_port)
        result = modem.call(PHONE, message=short, player=player, repeat=2, listen_after=0.2)
        played = wait_finished(sim, 2)
    finally:
        modem.close()
        sim.close()
    assert result.played_seconds == pytest.approx(2 * short.duration, rel=0.05)
    assert len(played) == 2
    for heard in played:
        assert heard.duration == pytest.approx(short.duration, rel=0.20) and heard.rms() > 500


@pytest.mark.parametrize("profile", ["sim800", "huawei-e173"])
def test_a_person_who_hangs_up_stops_the_message(profile, message):
    sim, modem = rig(profile, CallScript(answer_after=0.3, hang_up_after=1.0))
    try:
        player = player_for(profile, audio_port=sim.voice_port)
        result = modem.call(PHONE, message=message, player=player, repeat=2, listen_after=0.2)
        [heard] = wait_finished(sim)
    finally:
        modem.close()
        sim.close()
    assert 0.5 < result.played_seconds < 2.0 < message.duration
    assert 0.5 < heard.duration < 1.6


def test_nothing_plays_without_a_connected_call(message):
    sim, modem = rig("sim800")
    try:
        player = player_for("sim800")
        player.prepare(modem, message)
        with pytest.raises(PlaybackError):
            player.play(modem, message)
        with pytest.raises(CmeError) as refused:
            modem.command('AT+CREC=4,"C:\\User\\cobrador.amr",0,90')
        assert refused.value.code == 3
    finally:
        modem.close()
        sim.close()
    assert sim.audio.played == []


def test_the_voice_port_drops_audio_when_no_call_is_connected():
    sim, modem = rig("huawei-e173")
    try:
        with pytest.raises(CmeError) as refused:
            modem.command("AT^DDSETEX=2")
        assert refused.value.code == 3
        with serial.Serial(sim.voice_port, timeout=0) as port:
            port.write(bytes(3200))
        deadline = time.monotonic() + 3
        while sim.audio.discarded < 3200 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        modem.close()
        sim.close()
    assert sim.audio.discarded == 3200 and sim.audio.played == []


def test_a_long_clip_is_uploaded_in_10_kb_chunks_and_only_once():
    t = np.arange(8 * 8000) / 8000
    clip = AudioClip((8000 * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes())
    sim, modem = rig("sim800")
    try:
        player = player_for("sim800")
        player.prepare(modem, clip)
        player.prepare(modem, clip)
        writes = [c for c in sim.commands if c.startswith("AT+FSWRITE")]
    finally:
        modem.close()
        sim.close()
    amr = clip.to_amr()
    assert len(writes) == -(-len(amr) // SIM800_CHUNK) >= 2
    assert sim.audio.files["C:\\USER\\COBRADOR.AMR"] == amr


def test_which_modems_can_play_and_why_not(tmp_path):
    assert player_for("generic") is None
    assert "no reproduce audio" in audio_problem("generic")
    no_port = player_for("huawei-e173")
    assert isinstance(no_port, NoAudioPath) and "puerto de voz" in no_port.available(None)
    with pytest.raises(PlaybackError, match="puerto de voz"):
        no_port.prepare(None, AudioClip.silence(0.1))
    assert "no existe el puerto de voz" in audio_problem("sim7600", audio_port=str(tmp_path / "ttyUSB4"))
    assert audio_problem("quectel-ec25") is None and audio_problem("sim800") is None


def test_the_doctor_says_why_there_is_no_spoken_message():
    from firmware_py.commands.doctor_audio import audio_checks
    from firmware_py.config import Config, ModemConfig, VoiceConfig

    _, huawei = audio_checks(Config(modem=ModemConfig(profile="huawei-e173")))
    assert huawei.state == "fail" and "puerto de voz" in huawei.detail and "timbre o SMS" in huawei.detail
    _, generic = audio_checks(Config(modem=ModemConfig(profile="generic")))
    assert generic.state == "skip" and "no reproduce audio" in generic.detail
    with Simulator("sim7600") as sim:
        config = Config(modem=ModemConfig(profile="sim7600"), voice=VoiceConfig(audio_port=sim.voice_port))
        speech, path = audio_checks(config)
    assert (speech.state, path.state) == ("ok", "ok") and "AT+CPCMREG" in path.detail
