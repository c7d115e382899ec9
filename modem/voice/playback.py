"""How each modem family plays a clip into a connected call.

A :class:`Player` has three steps, called by :mod:`modem.voice.calls` (``Modem.call(...,
message=clip, player=p)``):

- ``available(modem) -> str | None``: None when this player can play here, else a Spanish
  reason for the office / ``cobrador doctor`` (``modem`` may be None: then only what can be
  checked without the modem is checked);
- ``prepare(modem, clip)``: before dialling, convert and upload what the modem plays from a
  file (no dead air after the answer);
- ``play(modem, clip, *, stop=None) -> float``: while the call is connected; blocks until the
  clip was played, the call ended (``AT+CLCC`` shows no active voice call, polled every
  :data:`POLL` s) or ``stop`` (a ``threading.Event``) is set; returns seconds played.

The strategies (see ``hardware/README.md``, "Mensajes de voz"):

==============  =======================================================================
profile         how
==============  =======================================================================
sim800          AMR-NB (sox) uploaded to flash: ``AT+FSCREATE`` / ``AT+FSWRITE`` (10 KB
                chunks, ``> `` then raw bytes); ``AT+CREC=4,"C:\\User\\cobrador.amr",0,<vol>``
                plays it to the far end, ``AT+CREC=5`` stops
quectel-ec25    WAV 8 kHz 16-bit uploaded to RAM: ``AT+QFUPL="RAM:cobrador.wav",<n>`` (``CONNECT``
                then raw bytes); ``AT+QPSND=1,"RAM:cobrador.wav",0`` plays, ``AT+QPSND=0`` stops
huawei-e173     ``AT^DDSETEX=2`` then 8 kHz 16-bit PCM in 320-byte frames every 20 ms on the
                voice tty (chan_dongle); needs voice firmware and ``audio_port``
sim7600         ``AT+CPCMREG=1`` then the same frames on the USB audio tty, ``AT+CPCMREG=0``
                after; needs ``audio_port``
generic         none: :func:`player_for` returns None (the ladder falls back to SMS / ring)
==============  =======================================================================

Errors: :class:`PlaybackError` (the modem refused a step; carries the command) and
:class:`PlaybackUnavailable` (no audio path: its message is the Spanish reason).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from typing import Protocol, runtime_checkable

from modem.errors import CommandError, ModemError
from modem.voice.audio import FRAME_BYTES, FRAME_SECONDS, AudioClip, AudioError, amr_encoder_problem

__all__ = [
    "FilePlayer",
    "NoAudioPath",
    "PlaybackError",
    "PlaybackUnavailable",
    "Player",
    "VoicePortPlayer",
    "audio_problem",
    "call_connected",
    "player_for",
]

log = logging.getLogger("cobrador.modem.voice.playback")

#: Seconds between two ``AT+CLCC`` checks while a clip plays.
POLL = 0.5
VOICE_RATE = 8000
SIM800_FILE = "C:\\User\\cobrador.amr"
SIM800_CHUNK = 10240
QUECTEL_FILE = "RAM:cobrador.wav"
VOLUME = 90


class PlaybackError(ModemError):
    """A playback step failed on the modem (``command``: the AT line, when one was refused)."""

    def __init__(self, message: str, command: str | None = None):
        super().__init__(message)
        self.command = command


class PlaybackUnavailable(PlaybackError):
    """This profile or installation has no way to play audio into a call; the message says why (Spanish)."""


@runtime_checkable
class Player(Protocol):
    """See the module docstring."""

    name: str

    def available(self, modem) -> str | None: ...

    def prepare(self, modem, clip: AudioClip) -> None: ...

    def play(self, modem, clip: AudioClip, *, stop: threading.Event | None = None) -> float: ...


def call_connected(modem) -> bool:
    """True when ``AT+CLCC`` lists an active voice call (stat 0, mode 0). False on any error."""
    try:
        response = modem.command("AT+CLCC")
    except ModemError:
        return False
    for line in response.lines:
        if not line.startswith("+CLCC:"):
            continue
        fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
        if len(fields) >= 4 and fields[2] == "0" and fields[3] == "0":
            return True
    return False


def _wait_while_connected(modem, seconds: float, stop: threading.Event | None) -> float:
    """Wait up to ``seconds`` while the call lasts; return the seconds waited."""
    begin = time.monotonic()
    deadline = begin + seconds
    while True:
        now = time.monotonic()
        if now >= deadline:
            return seconds
        pause = min(POLL, deadline - now)
        if stop is not None:
            if stop.wait(pause):
                return time.monotonic() - begin
        else:
            time.sleep(pause)
        if time.monotonic() < deadline and not call_connected(modem):
            return time.monotonic() - begin


def _digest(clip: AudioClip) -> str:
    return hashlib.sha256(clip.rate.to_bytes(4, "little") + clip.pcm).hexdigest()


class NoAudioPath:
    """A player that cannot play: ``available`` gives ``reason``; ``prepare``/``play`` raise it."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason

    def available(self, modem) -> str | None:
        return self.reason

    def prepare(self, modem, clip: AudioClip) -> None:
        raise PlaybackUnavailable(self.reason)

    def play(self, modem, clip: AudioClip, *, stop: threading.Event | None = None) -> float:
        raise PlaybackUnavailable(self.reason)


class FilePlayer:
    """SIM800 (AMR via ``AT+CREC``) and Quectel EC25 (WAV via ``AT+QPSND``): upload, then play the file.

    ``prepare`` uploads once per clip and modem (a second ``prepare`` of the same clip on the same
    modem, with no reboot in between, sends nothing); ``play`` without a matching ``prepare``
    raises :class:`PlaybackError`.
    """

    def __init__(self, name: str):
        if name not in ("sim800", "quectel-ec25"):
            raise ValueError(f"no file player for {name!r}")
        self.name = name
        self._uploaded: tuple[int, int, str] | None = None      # (id(modem), generation, digest)
        self._lock = threading.Lock()

    def available(self, modem) -> str | None:
        if self.name == "sim800":
            problem = amr_encoder_problem()
            if problem is not None:
                return f"el SIM800 reproduce AMR y no se puede convertir el audio: {problem}"
        return None

    def encode(self, clip: AudioClip) -> bytes:
        """The file this modem plays: AMR-NB (SIM800) or an 8 kHz WAV (Quectel)."""
        clip = clip.resample(VOICE_RATE)
        return clip.to_amr() if self.name == "sim800" else clip.to_wav()

    def prepare(self, modem, clip: AudioClip) -> None:
        try:
            data = self.encode(clip)
        except AudioError as exc:
            raise PlaybackUnavailable(str(exc)) from exc
        key = (id(modem), modem.generation, _digest(clip))
        with self._lock:
            if self._uploaded == key:
                return
            self._uploaded = None
            try:
                if self.name == "sim800":
                    self._upload_sim800(modem, data)
                else:
                    self._upload_quectel(modem, data)
            except CommandError as exc:
                raise PlaybackError(f"el módem rechazó la subida del audio: {exc}", exc.command) from exc
            self._uploaded = key

    @staticmethod
    def _upload_sim800(modem, data: bytes) -> None:
        modem.command(f"AT+FSDEL={SIM800_FILE}", check=False)
        modem.command(f"AT+FSCREATE={SIM800_FILE}")
        for offset in range(0, len(data), SIM800_CHUNK):
            chunk = data[offset:offset + SIM800_CHUNK]
            mode = 0 if offset == 0 else 1
            modem.transact_upload(f"AT+FSWRITE={SIM800_FILE},{mode},{len(chunk)},10", chunk)

    @staticmethod
    def _upload_quectel(modem, data: bytes) -> None:
        modem.command(f'AT+QFDEL="{QUECTEL_FILE}"', check=False)
        timeout = max(30, len(data) // 8000 + 30)      # seconds; ~11 KB/s at 115200 baud
        response = modem.transact_upload(f'AT+QFUPL="{QUECTEL_FILE}",{len(data)},{timeout}', data,
                                         prompt=b"CONNECT", timeout=float(timeout) + 10)
        sizes = [line.split(":", 1)[1].split(",")[0].strip() for line in response.lines if line.startswith("+QFUPL:")]
        if sizes != [str(len(data))]:
            raise PlaybackError(f"el módem guardó {sizes or 'nada'} bytes de {len(data)}", "AT+QFUPL")

    def play(self, modem, clip: AudioClip, *, stop: threading.Event | None = None) -> float:
        with self._lock:
            if self._uploaded != (id(modem), modem.generation, _digest(clip)):
                raise PlaybackError("el audio no se subió al módem antes de la llamada (falta prepare)")
        if self.name == "sim800":
            start, halt = f'AT+CREC=4,"{SIM800_FILE}",0,{VOLUME}', "AT+CREC=5"
        else:
            start, halt = f'AT+QPSND=1,"{QUECTEL_FILE}",0', "AT+QPSND=0"
        try:
            modem.command(start)
        except CommandError as exc:
            raise PlaybackError(f"el módem no reprodujo el audio: {exc}", exc.command) from exc
        played = _wait_while_connected(modem, clip.duration, stop)
        if played < clip.duration:
            modem.command(halt, check=False)
        return min(played, clip.duration)


class VoicePortPlayer:
    """Huawei E173 (``AT^DDSETEX=2``) and SIM7600 (``AT+CPCMREG=1``): raw PCM frames on ``audio_port``,
    paced in real time (one 320-byte frame every 20 ms)."""

    def __init__(self, name: str, audio_port: str):
        if name not in ("huawei-e173", "sim7600"):
            raise ValueError(f"no voice-port player for {name!r}")
        self.name, self.audio_port = name, str(audio_port)

    def available(self, modem) -> str | None:
        if not os.path.exists(self.audio_port):
            return f"no existe el puerto de voz {self.audio_port}; revise que el módem esté conectado"
        if not os.access(self.audio_port, os.R_OK | os.W_OK):
            return f"sin permiso para abrir el puerto de voz {self.audio_port} (grupo dialout)"
        if modem is not None and self.name == "huawei-e173":
            try:
                modem.command("AT^CVOICE?")
            except CommandError:
                return ("el firmware de este Huawei no tiene voz (AT^CVOICE? falla); instale un firmware "
                        "con voz o use otro módem")
            except ModemError as exc:
                return f"no se pudo preguntar al módem si tiene voz: {exc}"
        return None

    def prepare(self, modem, clip: AudioClip) -> None:
        reason = self.available(None)
        if reason is not None:
            raise PlaybackUnavailable(reason)

    def play(self, modem, clip: AudioClip, *, stop: threading.Event | None = None) -> float:
        import serial

        frames = clip.resample(VOICE_RATE).frames(FRAME_BYTES)
        try:
            port = serial.Serial(self.audio_port, baudrate=115200, timeout=0, write_timeout=2)
        except (serial.SerialException, OSError) as exc:
            raise PlaybackUnavailable(f"no se pudo abrir el puerto de voz {self.audio_port}: {exc}") from exc
        start, halt = ("AT^DDSETEX=2", None) if self.name == "huawei-e173" else ("AT+CPCMREG=1", "AT+CPCMREG=0")
        sent = 0
        try:
            try:
                modem.command(start)
            except CommandError as exc:
                raise PlaybackError(f"el módem no abrió la voz: {exc}", exc.command) from exc
            begin = time.monotonic()
            next_check = begin + POLL
            for frame in frames:
                if stop is not None and stop.is_set():
                    break
                now = time.monotonic()
                if now >= next_check:
                    if not call_connected(modem):
                        break
                    next_check = time.monotonic() + POLL
                try:
                    port.write(frame)
                    port.reset_input_buffer()        # the far end's voice: not listened to
                except (serial.SerialException, OSError) as exc:
                    raise PlaybackError(f"se perdió el puerto de voz: {exc}") from exc
                sent += 1
                delay = begin + sent * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        finally:
            if halt is not None:
                try:
                    modem.command(halt, check=False)
                except ModemError:
                    pass
            port.close()
        return min(sent * FRAME_SECONDS, clip.duration)


def player_for(profile_name: str, *, audio_port: str | None = None) -> Player | None:
    """The player of modem profile ``profile_name``: None for ``generic`` (no audio path) or an
    unknown name; a :class:`NoAudioPath` saying why for Huawei / SIM7600 without ``audio_port``."""
    if profile_name in ("sim800", "quectel-ec25"):
        return FilePlayer(profile_name)
    if profile_name in ("huawei-e173", "sim7600"):
        if not audio_port:
            return NoAudioPath(profile_name, "falta configurar el puerto de voz del módem (audio_port: el "
                                             "segundo puerto serie que crea el módem)")
        return VoicePortPlayer(profile_name, audio_port)
    return None


def audio_problem(profile_name: str, *, audio_port: str | None = None, modem=None) -> str | None:
    """None when a spoken message can be played with this profile and installation, else the Spanish
    reason (``cobrador doctor``; the ladder falls back)."""
    player = player_for(profile_name, audio_port=audio_port)
    if player is None:
        return (f"el perfil de módem «{profile_name}» no reproduce audio en llamadas; use un SIM800, "
                "SIM7600, Huawei E173 con voz o Quectel EC25")
    return player.available(modem)
