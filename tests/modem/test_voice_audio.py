"""modem.voice.audio: clips, WAV (checked with the stdlib ``wave`` reader), AMR-NB (checked by its frame headers
and decoded back by sox), resampling (the tone keeps its pitch) and voice-port frames."""

from __future__ import annotations

import io
import math
import shutil
import struct
import wave

import numpy as np
import pytest

from modem.voice.audio import (
    AMR_MAGIC,
    FRAME_BYTES,
    AudioClip,
    AudioFormatError,
    EncoderUnavailable,
    amr_duration,
    amr_encoder_problem,
)

needs_sox = pytest.mark.skipif(shutil.which("sox") is None,
                               reason="sox is not installed (scripts/install-test-deps installs sox and libsox-fmt-base)")


def tone(freq: float = 440.0, seconds: float = 1.0, rate: int = 8000, amplitude: int = 10000) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    return AudioClip((amplitude * np.sin(2 * math.pi * freq * t)).astype("<i2").tobytes(), rate)


def dominant_frequency(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.samples.astype(float)))
    return float(np.argmax(spectrum) * clip.rate / len(clip.samples))


def test_duration_and_rms_of_a_tone_and_of_silence():
    clip = tone(seconds=2.0)
    assert clip.duration == pytest.approx(2.0)
    assert clip.rms() == pytest.approx(10000 / math.sqrt(2), rel=0.01)
    assert AudioClip.silence(1.5).duration == pytest.approx(1.5)
    assert AudioClip.silence(1.5).rms() == 0.0
    assert AudioClip(b"").rms() == 0.0


def test_bad_clips_are_refused():
    with pytest.raises(AudioFormatError):
        AudioClip(b"\x00\x01\x02")             # odd byte count
    with pytest.raises(AudioFormatError):
        AudioClip(b"", rate=0)
    with pytest.raises(AudioFormatError):
        AudioClip(bytes(2 * 8000 * 601))       # over ten minutes


def test_wav_is_pcm_16_bit_mono_and_reads_back():
    clip = tone(seconds=0.5)
    data = clip.to_wav()
    with wave.open(io.BytesIO(data)) as w:      # an independent reader
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 4000)
        assert w.getcomptype() == "NONE"
        assert w.readframes(4000) == clip.pcm
    assert AudioClip.from_wav(data) == clip


def test_from_wav_takes_espeaks_streaming_header_and_stereo():
    pcm = tone(seconds=0.25, rate=22050).pcm
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 0x7FFFF024, b"WAVE", b"fmt ", 16, 1, 1, 22050, 44100, 2,
                         16, b"data", 0x7FFFF000)
    clip = AudioClip.from_wav(header + pcm)
    assert clip.rate == 22050 and clip.pcm == pcm
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(struct.pack("<4h", 1000, 3000, -2000, -4000))
    assert AudioClip.from_wav(out.getvalue()).samples.tolist() == [2000, -3000]


def test_from_wav_refuses_what_it_cannot_read():
    with pytest.raises(AudioFormatError):
        AudioClip.from_wav(b"not a wav file at all")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1), w.setsampwidth(1), w.setframerate(8000)
        w.writeframes(bytes(100))
    with pytest.raises(AudioFormatError, match="16 bits"):
        AudioClip.from_wav(out.getvalue())


def test_resampling_keeps_length_and_pitch():
    clip = tone(1000.0, seconds=1.0, rate=22050)
    low = clip.resample(8000)
    assert low.rate == 8000
    assert low.duration == pytest.approx(1.0, abs=0.002)
    assert dominant_frequency(low) == pytest.approx(1000.0, abs=2)
    assert low.rms() == pytest.approx(clip.rms(), rel=0.03)
    assert clip.resample(22050) is clip


def test_frames_are_320_bytes_and_the_last_is_padded_with_silence():
    clip = tone(seconds=0.05)                    # 400 samples = 800 bytes
    frames = clip.frames()
    assert [len(f) for f in frames] == [FRAME_BYTES] * 3
    assert b"".join(frames)[:800] == clip.pcm and set(b"".join(frames)[800:]) == {0}


def test_repeated_and_joined():
    clip = tone(seconds=1.0)
    twice = clip.repeated(2, gap=0.5)
    assert twice.duration == pytest.approx(2.5)
    assert twice.pcm[:len(clip.pcm)] == clip.pcm and twice.pcm[-len(clip.pcm):] == clip.pcm
    joined = clip + tone(seconds=1.0, rate=16000)
    assert joined.rate == 8000 and joined.duration == pytest.approx(2.0, abs=0.002)


@needs_sox
def test_amr_nb_file_has_the_magic_and_20_ms_frames_of_mode_7_and_decodes_back():
    clip = tone(440.0, seconds=2.0)
    data = clip.to_amr()
    assert data.startswith(AMR_MAGIC)
    frame_types = {(data[i] >> 3) & 0x0F for i in range(len(AMR_MAGIC), len(data), 32)}
    assert frame_types == {7}                     # 12.2 kbit/s: 32-byte frames all along
    assert (len(data) - len(AMR_MAGIC)) % 32 == 0
    assert amr_duration(data) == pytest.approx(2.0, abs=0.04)
    back = AudioClip.from_amr(data)
    assert back.rate == 8000 and back.duration == pytest.approx(2.0, abs=0.04)
    assert dominant_frequency(back) == pytest.approx(440.0, abs=3)
    assert back.rms() == pytest.approx(clip.rms(), rel=0.25)
    assert amr_encoder_problem() is None


@needs_sox
def test_a_wider_clip_is_resampled_to_8_khz_for_amr():
    data = tone(440.0, seconds=1.0, rate=22050).to_amr(mode=0)      # 4.75 kbit/s: 13-byte frames
    assert amr_duration(data) == pytest.approx(1.0, abs=0.04)
    assert (data[len(AMR_MAGIC)] >> 3) & 0x0F == 0


def test_broken_amr_files_are_refused():
    with pytest.raises(AudioFormatError, match="AMR"):
        amr_duration(b"RIFF....")
    with pytest.raises(AudioFormatError, match="incompleta"):
        amr_duration(AMR_MAGIC + bytes([7 << 3]) + bytes(10))       # a 32-byte frame cut at 11
    with pytest.raises(AudioFormatError, match="reservado"):
        amr_duration(AMR_MAGIC + bytes([11 << 3]))


def test_without_sox_amr_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))     # a machine where sox is not installed
    with pytest.raises(EncoderUnavailable, match="sox"):
        tone().to_amr()
    assert "sox" in amr_encoder_problem()
