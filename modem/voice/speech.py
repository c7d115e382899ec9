"""Spoken Spanish, offline: text -> :class:`~modem.voice.audio.AudioClip` through ``espeak-ng``.

``speak(text)`` runs ``espeak-ng --stdout --stdin`` (Debian package ``espeak-ng``; the
``es-419`` Latin American Spanish voice ships with it), reads the WAV it writes
(22 050 Hz) and resamples it to ``rate`` (8 000 Hz: what every modem plays).

Safety: the text goes to espeak-ng on standard input, never on a command line or
through a shell; SSML/markup is off (no ``-m``), and the two inline syntaxes
espeak-ng honours in plain text are neutralised (``[[...]]`` phoneme input: square
brackets are dropped); control characters become spaces; at most
:data:`MAX_CHARS` characters (a reminder is a few sentences). Errors:
:class:`SpeechUnavailable` (espeak-ng or the voice is missing: a Spanish sentence
that says what to install), :class:`SpeechTextError` (empty or too long text),
:class:`SpeechError` (espeak-ng failed otherwise).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from modem.voice.audio import AudioClip, AudioError, AudioFormatError

__all__ = ["MAX_CHARS", "SpeechError", "SpeechTextError", "SpeechUnavailable", "speak", "speech_problem"]

MAX_CHARS = 600
DEFAULT_VOICE = "es-419"
ESPEAK_TIMEOUT = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_VOICE_NAME = re.compile(r"[A-Za-z0-9_+-]{1,40}")


class SpeechError(AudioError):
    """espeak-ng ran but gave no usable audio."""


class SpeechUnavailable(SpeechError):
    """espeak-ng (or the asked voice) is not installed here."""


class SpeechTextError(SpeechError, ValueError):
    """The text cannot be spoken: empty after cleaning, or longer than :data:`MAX_CHARS`."""


def clean_text(text: str) -> str:
    """The text espeak-ng will read: control characters as spaces, no square brackets, single spaces.

    Raises :class:`SpeechTextError` (empty, too long, not a str)."""
    if not isinstance(text, str):
        raise SpeechTextError("el texto del mensaje de voz debe ser texto")
    cleaned = _CONTROL.sub(" ", text).replace("[", " ").replace("]", " ")
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise SpeechTextError("el mensaje de voz está vacío")
    if len(cleaned) > MAX_CHARS:
        raise SpeechTextError(f"el mensaje de voz tiene {len(cleaned)} caracteres; el máximo es {MAX_CHARS}")
    return cleaned


def speak(text: str, *, voice: str = DEFAULT_VOICE, rate: int | None = 8000, speed: int | None = None) -> AudioClip:
    """``text`` spoken by espeak-ng's ``voice`` as a mono 16-bit clip at ``rate`` Hz (``None``: at the rate
    espeak-ng speaks at, 22,050 Hz, without resampling).

    ``speed``: words per minute (80-450; None = espeak-ng's default, 175). Raises
    :class:`SpeechUnavailable`, :class:`SpeechTextError`, :class:`SpeechError`.
    """
    cleaned = clean_text(text)
    if not isinstance(voice, str) or not _VOICE_NAME.fullmatch(voice):
        raise SpeechTextError(f"nombre de voz no válido: {voice!r}")
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailable("falta el programa espeak-ng para los mensajes de voz "
                                "(sudo apt-get install espeak-ng)")
    command = [exe, "--stdout", "--stdin", "-b", "1", "-v", voice]
    if speed is not None:
        if not isinstance(speed, int) or not 80 <= speed <= 450:
            raise SpeechTextError("la velocidad de la voz va de 80 a 450 palabras por minuto")
        command += ["-s", str(speed)]
    try:
        result = subprocess.run(command, input=cleaned.encode("utf-8"), capture_output=True,
                                timeout=ESPEAK_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechError(f"espeak-ng no pudo leer el mensaje: {exc}") from exc
    stderr = result.stderr.decode("utf-8", "replace").strip()
    if result.returncode != 0 or not result.stdout:
        if "voice does not exist" in stderr or "voice" in stderr.lower():
            raise SpeechUnavailable(f"espeak-ng no tiene la voz «{voice}»; instale espeak-ng completo "
                                    "(sudo apt-get install espeak-ng)")
        raise SpeechError(f"espeak-ng falló (código {result.returncode}): {stderr or 'sin detalle'}")
    try:
        clip = AudioClip.from_wav(result.stdout)
    except AudioFormatError as exc:
        raise SpeechError(f"espeak-ng no devolvió un WAV válido: {exc}") from exc
    return clip if rate is None else clip.resample(rate)


def speech_problem(voice: str = DEFAULT_VOICE) -> str | None:
    """None when ``voice`` can speak on this machine, else the Spanish reason (for ``cobrador doctor``).
    Not resampled: the check needs no audio library loaded (the appliance asks at start)."""
    try:
        clip = speak("Prueba.", voice=voice, rate=None)
    except SpeechError as exc:
        return str(exc)
    if clip.duration < 0.1:
        return "espeak-ng devolvió un audio vacío"
    return None
