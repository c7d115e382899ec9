"""VoiceRadio: what the box can do now (its channels), speech rendered once per text, disabled voice."""

from __future__ import annotations

from firmware_py.config import VoiceConfig
from firmware_py.voice_link import VoiceRadio
from modem.voice.audio import AudioClip
from modem.voice.speech import SpeechUnavailable


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_channels_follow_speech_and_the_audio_path_and_are_rechecked_after_a_while():
    problems = ["el módem no tiene puerto de voz"]
    clock = Clock()
    radio = VoiceRadio(None, VoiceConfig(), speak=lambda text, voice: AudioClip.silence(0.1),
                       can_play=lambda: problems[0], monotonic=clock)
    assert radio.channels() == {"sms", "ring"}
    problems[0] = None
    assert radio.channels() == {"sms", "ring"}              # cached: the audio check is not redone every plan
    clock.now += VoiceRadio.CHANNELS_TTL + 1
    assert radio.channels() == {"sms", "ring", "call"}


def test_without_espeak_calls_fall_back_and_doctor_is_told_why():
    def missing(text, voice):
        raise SpeechUnavailable("falta espeak-ng (sudo apt-get install espeak-ng)")

    radio = VoiceRadio(None, VoiceConfig(), speak=missing, can_play=lambda: None)
    assert radio.channels() == {"sms", "ring"} and "espeak-ng" in radio.why_no_spoken_calls()


def test_voice_switched_off_leaves_sms_only():
    radio = VoiceRadio(None, VoiceConfig(enabled=False), speak=lambda text, voice: AudioClip.silence(0.1))
    assert radio.channels() == {"sms"} and "desactivadas" in radio.why_no_spoken_calls()


def test_a_text_is_spoken_once_for_a_whole_batch():
    spoken = []

    def speak(text, voice):
        spoken.append((text, voice))
        return AudioClip.silence(0.2)

    radio = VoiceRadio(None, VoiceConfig(espeak_voice="es"), speak=speak)
    first = radio.clip("Su cuota vence hoy")
    assert radio.clip("Su cuota vence hoy") is first and spoken == [("Su cuota vence hoy", "es")]
    for i in range(VoiceRadio.CACHE_SIZE + 5):
        radio.clip(f"texto {i}")
    assert len(radio._clips) == VoiceRadio.CACHE_SIZE


def test_the_start_up_speech_check_loads_no_audio_library():
    """The appliance asks at start whether it can speak; numpy and soxr (~15 MB) wait for the first call."""
    import subprocess
    import sys

    code = ("import sys\nfrom firmware_py.voice_link import VoiceRadio\nfrom firmware_py.config import VoiceConfig\n"
            "VoiceRadio(None, VoiceConfig()).why_no_spoken_calls()\n"
            "print(sorted(m for m in ('numpy', 'soxr') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
