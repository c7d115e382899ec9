"""modem.voice.speech: Spanish speech from the real espeak-ng, text passed safely, Spanish errors; the doctor's
voice line when espeak-ng is missing."""

from __future__ import annotations

import shutil

import pytest

from modem.voice.speech import MAX_CHARS, SpeechTextError, SpeechUnavailable, clean_text, speak, speech_problem

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (scripts/install-test-deps installs it)")

MESSAGE = ("Buenos días, le saluda la Cooperativa San José. Le recordamos que su cuota de cincuenta mil pesos "
           "vence mañana. Gracias por su pago.")        # 22 words


def test_a_reminder_is_spoken_at_8_khz_with_a_plausible_length_and_not_silence():
    clip = speak(MESSAGE)
    assert clip.rate == 8000
    words = len(MESSAGE.split())
    assert words / 250 * 60 < clip.duration < words / 100 * 60      # between 250 and 100 words a minute
    assert clip.rms() > 1000                                       # speech, not silence (full scale 32768)


def test_speed_and_rate_are_honoured():
    slow, fast = speak(MESSAGE, speed=120), speak(MESSAGE, speed=240)
    assert slow.duration > 1.5 * fast.duration
    wide = speak("Su cuota vence mañana.", rate=16000)
    assert wide.rate == 16000


def test_markup_and_phoneme_syntax_are_read_as_text_never_obeyed():
    plain = speak("uno dos tres")
    pause = speak('uno <break time="10s"/> dos tres')       # SSML would add ten seconds of silence
    assert pause.duration < plain.duration + 5.0
    assert speak("-v xx --help").duration > 0.3             # options in the text are words
    assert clean_text("pague [[h'@loU]] hoy") == "pague h'@loU hoy"


def test_control_characters_and_blank_runs_become_single_spaces():
    assert clean_text("Hola\x00\r\n\tDon\u2028José  ") == "Hola Don José"


@pytest.mark.parametrize("text", ["", "   \n\t ", "x" * (MAX_CHARS + 1)])
def test_empty_or_too_long_text_is_refused(text):
    with pytest.raises(SpeechTextError):
        speak(text)


def test_voice_names_are_checked_and_a_missing_voice_is_unavailable():
    with pytest.raises(SpeechTextError):
        speak("hola", voice="es; rm -rf /")
    with pytest.raises(SpeechUnavailable, match="voz"):
        speak("hola", voice="zz-nadie")


def test_without_espeak_ng_the_error_and_the_doctor_say_what_to_install(monkeypatch, tmp_path, capsys):
    from firmware_py.commands.doctor_audio import audio_checks
    from firmware_py.config import Config, ModemConfig

    config = Config(modem=ModemConfig(profile="sim800"))
    assert speech_problem() is None
    assert audio_checks(config)[0].state == "ok"
    monkeypatch.setenv("PATH", str(tmp_path))              # a machine without espeak-ng (nor sox)
    with pytest.raises(SpeechUnavailable, match="apt-get install espeak-ng"):
        speak("hola")
    assert "espeak-ng" in speech_problem()
    speech, path = audio_checks(config)
    assert speech.state == "fail" and "espeak-ng" in speech.detail and "timbre o SMS" in speech.detail
    assert speech.line().startswith("✗ Voz (espeak-ng): Falta el programa espeak-ng")
    assert path.state == "fail" and "sox" in path.detail       # the SIM800 also needs the AMR encoder
