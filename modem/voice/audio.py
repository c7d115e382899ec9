"""Audio clips: 16-bit mono PCM and the formats modems play (WAV, AMR-NB, raw PCM frames).

An :class:`AudioClip` is immutable: ``pcm`` holds signed 16-bit little-endian
mono samples at ``rate`` Hz. What each modem family plays:

- Huawei voice port (``AT^DDSETEX=2``) and SIM7600 (``AT+CPCMREG=1``): raw
  8 kHz 16-bit PCM in 320-byte frames, one every 20 ms -> :meth:`AudioClip.frames`;
- SIM800 (``AT+CREC=4``): an AMR-NB file uploaded to its flash -> :meth:`AudioClip.to_amr`;
- Quectel EC25 (``AT+QPSND``): a WAV file uploaded to its RAM drive -> :meth:`AudioClip.to_wav`.

Resampling uses ``soxr`` (libsoxr's VHQ resampler, wheels for aarch64);
AMR-NB goes through Debian's ``sox`` with ``libsox-fmt-base`` (libopencore-amrnb).
When ``sox`` is missing or cannot write AMR, :class:`EncoderUnavailable` says
so in Spanish. Errors subclass :class:`AudioError` (a :class:`~modem.errors.ModemError`).
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modem.errors import ModemError

if TYPE_CHECKING:
    import numpy as np

# numpy and soxr (~15 MB and 0.2 s to import) are loaded the first time a clip is measured, resampled
# or mixed down: the appliance imports this module at start and may never speak.

__all__ = [
    "AMR_MAGIC",
    "AMR_FRAME_BYTES",
    "AudioClip",
    "AudioError",
    "AudioFormatError",
    "EncoderUnavailable",
    "FRAME_BYTES",
    "amr_duration",
]

#: A raw PCM frame on a modem voice port: 20 ms of 8 kHz 16-bit mono.
FRAME_BYTES = 320
FRAME_SECONDS = 0.02
#: The AMR-NB storage format's magic (RFC 4867 §5).
AMR_MAGIC = b"#!AMR\n"
#: Bytes of one AMR-NB frame (with its one-byte header), by frame type (RFC 4867 §5.3; 15 = no data).
AMR_FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}
MAX_SECONDS = 600          # a reminder is seconds long; ten minutes means something is wrong
SOX_TIMEOUT = 60


class AudioError(ModemError):
    """Base of the audio errors. ``str(exc)`` is a Spanish sentence for the office."""


class AudioFormatError(AudioError, ValueError):
    """Bytes that are not the audio format they claim (a WAV that is not 16-bit PCM, a broken AMR file)."""


class EncoderUnavailable(AudioError):
    """The AMR encoder (``sox`` with ``libsox-fmt-base``) is not installed or cannot write AMR-NB."""


@dataclass(frozen=True)
class AudioClip:
    """Mono audio: ``pcm`` = signed 16-bit little-endian samples, ``rate`` samples per second.

    Raises :class:`AudioFormatError` for an odd byte count, a rate outside 1-192000 Hz or a clip
    longer than :data:`MAX_SECONDS`.
    """

    pcm: bytes
    rate: int = 8000

    def __post_init__(self):
        if not isinstance(self.pcm, (bytes, bytearray)):
            raise AudioFormatError("el audio debe ser bytes PCM de 16 bits")
        if isinstance(self.pcm, bytearray):
            object.__setattr__(self, "pcm", bytes(self.pcm))
        if len(self.pcm) % 2:
            raise AudioFormatError("el audio PCM de 16 bits debe tener un número par de bytes")
        if not isinstance(self.rate, int) or not 1 <= self.rate <= 192_000:
            raise AudioFormatError(f"frecuencia de muestreo no válida: {self.rate!r}")
        if len(self.pcm) / 2 / self.rate > MAX_SECONDS:
            raise AudioFormatError(f"el audio dura más de {MAX_SECONDS} segundos")

    # -- measures ------------------------------------------------------------------------------------
    @property
    def samples(self) -> np.ndarray:
        """The samples as a read-only int16 array (no copy)."""
        import numpy as np

        return np.frombuffer(self.pcm, dtype="<i2")

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / 2 / self.rate

    def rms(self) -> float:
        """Root mean square of the samples, 0 (silence) to 32768 (full-scale square wave); 0 when empty."""
        if not self.pcm:
            return 0.0
        import numpy as np

        values = self.samples.astype(np.float64)
        return float(np.sqrt(np.mean(values * values)))

    # -- building ---------------------------------------------------------------------------------------
    @classmethod
    def silence(cls, seconds: float, rate: int = 8000) -> "AudioClip":
        """``seconds`` of digital silence."""
        return cls(bytes(2 * round(seconds * rate)), rate)

    def __add__(self, other: "AudioClip") -> "AudioClip":
        """The two clips one after the other (``other`` is resampled to this clip's rate if needed)."""
        if not isinstance(other, AudioClip):
            return NotImplemented
        return AudioClip(self.pcm + other.resample(self.rate).pcm, self.rate)

    def repeated(self, times: int = 2, gap: float = 1.0) -> "AudioClip":
        """The clip ``times`` times with ``gap`` seconds of silence between (the message "said twice")."""
        if times < 1:
            raise ValueError("times must be >= 1")
        pause = AudioClip.silence(gap, self.rate).pcm
        return AudioClip(pause.join([self.pcm] * times), self.rate)

    def resample(self, rate: int) -> "AudioClip":
        """The same sound at ``rate`` Hz (libsoxr, very high quality); ``self`` when the rate is already that."""
        if rate == self.rate:
            return self
        if not isinstance(rate, int) or not 1 <= rate <= 192_000:
            raise AudioFormatError(f"frecuencia de muestreo no válida: {rate!r}")
        if not self.pcm:
            return AudioClip(b"", rate)
        import numpy as np
        import soxr

        out = soxr.resample(self.samples, self.rate, rate, quality="VHQ")
        return AudioClip(np.ascontiguousarray(out, dtype="<i2").tobytes(), rate)

    def frames(self, size: int = FRAME_BYTES) -> list[bytes]:
        """The PCM cut in ``size``-byte frames, the last one padded with silence (what a voice port takes)."""
        if size <= 0 or size % 2:
            raise ValueError("frame size must be a positive even number of bytes")
        pcm = self.pcm
        if len(pcm) % size:
            pcm += bytes(size - len(pcm) % size)
        return [pcm[i:i + size] for i in range(0, len(pcm), size)]

    # -- WAV --------------------------------------------------------------------------------------------
    def to_wav(self) -> bytes:
        """A RIFF/WAVE file: PCM, 16-bit, mono, at this clip's rate."""
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(self.pcm)
        return out.getvalue()

    @classmethod
    def from_wav(cls, data: bytes) -> "AudioClip":
        """Read a 16-bit PCM WAV (mono, or stereo mixed down). Accepts the streaming header ``espeak-ng
        --stdout`` writes (sizes 0x7FFFFFFF or 0xFFFFFFFF: the data runs to the end of the bytes).
        Raises :class:`AudioFormatError` for anything else."""
        if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            raise AudioFormatError("no es un archivo WAV (falta la cabecera RIFF/WAVE)")
        pos, fmt, pcm = 12, None, None
        while pos + 8 <= len(data):
            chunk, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
            body = data[pos + 8:pos + 8 + size]
            if chunk == b"fmt ":
                if len(body) < 16:
                    raise AudioFormatError("WAV con bloque «fmt» incompleto")
                fmt = struct.unpack_from("<HHIIHH", body)
            elif chunk == b"data":
                pcm = body
                break
            pos += 8 + size + (size & 1)
        if fmt is None or pcm is None:
            raise AudioFormatError("WAV sin bloques «fmt» y «data»")
        tag, channels, rate, _, _, bits = fmt
        if tag not in (1, 0xFFFE) or bits != 16 or channels not in (1, 2):
            raise AudioFormatError(f"WAV no soportado: formato {tag}, {bits} bits, {channels} canales "
                                   "(se necesita PCM de 16 bits, mono o estéreo)")
        pcm = pcm[:len(pcm) - len(pcm) % (2 * channels)]
        if channels == 2:
            import numpy as np

            pair = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).astype(np.int32)
            pcm = (pair.sum(axis=1) // 2).astype("<i2").tobytes()
        return cls(pcm, rate)

    # -- AMR-NB -----------------------------------------------------------------------------------------
    def to_amr(self, *, mode: int = 7) -> bytes:
        """An AMR-NB file (``#!AMR\\n`` + frames) of this clip, resampled to 8 kHz; ``mode`` 0-7 is the
        bit rate (7 = 12.2 kbit/s, best for speech). Raises :class:`EncoderUnavailable`."""
        if not 0 <= mode <= 7:
            raise ValueError("AMR-NB mode must be 0-7")
        clip = self.resample(8000)
        out = _sox(["-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16", "-c", "1", "-L", "-",
                    "-t", "amr-nb", "-C", str(mode), "-"], clip.pcm)
        if not out.startswith(AMR_MAGIC):
            raise EncoderUnavailable("sox no produjo un archivo AMR válido; instale libsox-fmt-base")
        return out

    @classmethod
    def from_amr(cls, data: bytes) -> "AudioClip":
        """Decode an AMR-NB file to 8 kHz PCM (validates its frames first). Raises
        :class:`AudioFormatError` or :class:`EncoderUnavailable`."""
        amr_duration(data)
        pcm = _sox(["-t", "amr-nb", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-L",
                    "-r", "8000", "-"], data)
        return cls(pcm[:len(pcm) - len(pcm) % 2], 8000)


def amr_duration(data: bytes) -> float:
    """Seconds of an AMR-NB file, read from its frame headers (20 ms per frame) without decoding.

    Raises :class:`AudioFormatError` when the magic is missing, a frame type is reserved or the
    last frame is cut short."""
    if not data.startswith(AMR_MAGIC):
        raise AudioFormatError("no es un archivo AMR-NB (falta «#!AMR»)")
    pos, frames = len(AMR_MAGIC), 0
    while pos < len(data):
        frame_type = (data[pos] >> 3) & 0x0F
        size = AMR_FRAME_BYTES.get(frame_type)
        if size is None:
            raise AudioFormatError(f"AMR-NB con un tipo de trama reservado ({frame_type})")
        if pos + size > len(data):
            raise AudioFormatError("AMR-NB cortado: la última trama está incompleta")
        pos += size
        frames += 1
    return frames * FRAME_SECONDS


def sox_path() -> str | None:
    """Where ``sox`` is, or None."""
    return shutil.which("sox")


def amr_encoder_problem() -> str | None:
    """None when AMR-NB can be written here, else the Spanish reason (for ``cobrador doctor``)."""
    if sox_path() is None:
        return "falta el programa sox (sudo apt-get install sox libsox-fmt-base)"
    try:
        AudioClip.silence(0.1).to_amr()
    except AudioError as exc:
        return str(exc)
    return None


def _sox(arguments: list[str], data: bytes) -> bytes:
    exe = sox_path()
    if exe is None:
        raise EncoderUnavailable("falta el programa sox para convertir el audio a AMR "
                                 "(sudo apt-get install sox libsox-fmt-base)")
    try:
        result = subprocess.run([exe, "-V1", *arguments], input=data, capture_output=True, timeout=SOX_TIMEOUT,
                                check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EncoderUnavailable(f"sox no pudo convertir el audio: {exc}") from exc
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()
        message = detail[-1] if detail else f"código {result.returncode}"
        if "amr" in message.lower() and ("no handler" in message.lower() or "not supported" in message.lower()):
            raise EncoderUnavailable("sox no sabe escribir AMR-NB; instale libsox-fmt-base")
        raise AudioFormatError(f"sox no pudo convertir el audio: {message}")
    return result.stdout
