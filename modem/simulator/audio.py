"""The simulated modem's audio: a file system for uploaded clips, and a sink that records what the far
phone heard.

:class:`AudioSink` (``sim.audio``) keeps, per play, a :class:`Played` record: the call's
``number``, the PCM heard (16-bit mono), its ``rate`` and ``duration``, and how it came
(``via``): ``"crec"`` (SIM800 ``AT+CREC=4`` of an uploaded AMR file), ``"qpsnd"`` (Quectel
``AT+QPSND=1`` of an uploaded WAV) or ``"voice-port"`` (raw 8 kHz PCM frames written to the
modem's second tty after Huawei ``AT^DDSETEX=2`` / SIM7600 ``AT+CPCMREG=1``). Only audio
played while a call is connected is recorded: a file play stops when the call ends (the
record keeps what was heard until then), voice-port bytes with no call or with the voice
path off are counted in :attr:`AudioSink.discarded` and dropped.

Huawei E173 and SIM7600 get a second pseudo-terminal, :attr:`AudioSink.port` (the
simulator's ``voice_port``), as their real USB voice interface. File plays advance in
real time (a 10 s clip takes 10 s), in ticks of :data:`TICK` seconds.

Everything here runs under the simulator's lock (handlers, timers, the serving thread);
the read-only views for tests (``played``, ``files``) take it themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from modem.simulator.pty_link import PtyLink
from modem.voice.audio import AudioClip

__all__ = ["AudioSink", "Played", "VOICE_PORT_PROFILES"]

#: Profiles whose modem has a raw PCM voice tty (chan_dongle's Huawei audio port; SIM7600 USB PCM).
VOICE_PORT_PROFILES = ("huawei-e173", "sim7600")
#: Seconds between two steps of a file play.
TICK = 0.1
VOICE_RATE = 8000


@dataclass(eq=False)
class Played:
    """One play into one call. ``pcm`` grows while it plays; ``finished`` once it stopped or the call ended."""

    number: str
    via: str
    rate: int
    call: object = field(repr=False)
    started: float = field(default_factory=time.monotonic)
    pcm: bytearray = field(default_factory=bytearray, repr=False)
    stopped: bool = False
    #: voice port: monotonic times of the first and last bytes received (the sender's pacing)
    first_byte: float | None = None
    last_byte: float | None = None

    @property
    def finished(self) -> bool:
        return self.stopped or getattr(self.call, "state", "ended") != "active"

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.rate

    @property
    def arrival_span(self) -> float | None:
        """Seconds from the first to the last byte on the voice port (None for file plays)."""
        if self.first_byte is None or self.last_byte is None:
            return None
        return self.last_byte - self.first_byte

    def clip(self) -> AudioClip:
        """What was heard, as a clip."""
        pcm = bytes(self.pcm)
        return AudioClip(pcm[:len(pcm) - len(pcm) % 2], self.rate)

    def rms(self) -> float:
        return self.clip().rms()


class _FilePlay:
    """A clip the modem plays from its file system into ``record.call``, in real time."""

    def __init__(self, sink: "AudioSink", record: Played, clip: AudioClip):
        self.sink, self.record, self.pcm = sink, record, clip.resample(VOICE_RATE).pcm
        self.generation = sink.host.device.generation

    def tick(self) -> None:
        record = self.record
        if record.stopped:
            return
        call = record.call
        device = self.sink.host.device
        end = time.monotonic()
        stopped = call.state != "active" or device.generation != self.generation
        if stopped and getattr(call, "ended_at", None) is not None:
            end = min(end, call.ended_at)
        wanted = min(len(self.pcm), 2 * int((end - record.started) * VOICE_RATE))
        if wanted > len(record.pcm):
            record.pcm += self.pcm[len(record.pcm):wanted]
        if stopped or len(record.pcm) >= len(self.pcm):
            self.stop()
        else:
            self.sink.host.call_later(TICK, self.tick)

    def stop(self) -> None:
        self.record.stopped = True
        if self.sink.file_play is self:
            self.sink.file_play = None


class AudioSink:
    """What the far phones heard, the modem's uploaded files, and its voice port (see the module doc).

    ``host`` is the :class:`~modem.simulator.Simulator` (its ``lock``, ``device``, ``call_later``).
    """

    def __init__(self, host):
        self.host = host
        self._played: list[Played] = []
        self._files: dict[str, bytes] = {}
        self.discarded = 0                      # voice-port bytes with no connected call / voice path off
        self.file_play: _FilePlay | None = None
        self.port_call = None                   # the call the voice port feeds (after ^DDSETEX=2 / CPCMREG=1)
        self._port_record: Played | None = None
        has_port = host.profile.name in VOICE_PORT_PROFILES
        self.link: PtyLink | None = PtyLink() if has_port else None

    # ------------------------------------------------------------------ views for tests
    @property
    def played(self) -> list[Played]:
        """Every play so far, oldest first (the records themselves: a play in progress still grows)."""
        with self.host.lock:
            return list(self._played)

    @property
    def files(self) -> dict[str, bytes]:
        """The modem's file system: path (upper case) -> content."""
        with self.host.lock:
            return dict(self._files)

    @property
    def port(self) -> str | None:
        """The voice port's path (Huawei / SIM7600), or None for modems without one."""
        return self.link.slave_path if self.link is not None else None

    # ------------------------------------------------------------------ file system (handlers)
    def write_file(self, path: str, data: bytes, *, append: bool = False) -> None:
        key = path.upper()
        self._files[key] = (self._files.get(key, b"") if append else b"") + bytes(data)

    def create_file(self, path: str) -> bool:
        """Create an empty file; False if it exists."""
        key = path.upper()
        if key in self._files:
            return False
        self._files[key] = b""
        return True

    def delete_file(self, path: str) -> bool:
        return self._files.pop(path.upper(), None) is not None

    def read_file(self, path: str) -> bytes | None:
        return self._files.get(path.upper())

    # ------------------------------------------------------------------ playing (handlers)
    def play_file(self, call, clip: AudioClip, via: str) -> Played:
        """Start playing ``clip`` into connected ``call`` (a play in progress is stopped first)."""
        self.stop_file()
        record = Played(call.number, via, VOICE_RATE, call)
        self._played.append(record)
        self.file_play = _FilePlay(self, record, clip)
        self.host.call_later(TICK, self.file_play.tick)
        return record

    def stop_file(self) -> bool:
        """Stop the file play in progress (``AT+CREC=5``, ``AT+QPSND=0``); False if none."""
        play = self.file_play
        if play is None:
            return False
        play.tick()          # what was heard up to now
        play.stop()
        return True

    def open_port(self, call) -> None:
        """The voice path is on for ``call``: bytes on the voice port are heard from now on."""
        self.port_call = call
        self._port_record = None

    def close_port(self) -> None:
        self.port_call = None
        if self._port_record is not None:
            self._port_record.stopped = True
            self._port_record = None

    # ------------------------------------------------------------------ the voice pty (serving thread)
    @property
    def fd(self) -> int | None:
        return self.link.fd if self.link is not None else None

    def plug(self) -> None:
        if self.link is not None:
            self.link.plug()

    def unplug(self) -> None:
        self.close_port()
        if self.file_play is not None:
            self.file_play.stop()
        if self.link is not None:
            self.link.unplug()

    def read_port(self) -> None:
        """Bytes the host wrote to the voice port: heard if the voice path is on for a connected call."""
        if self.link is None:
            return
        data = self.link.read()
        if not data:
            return
        call = self.port_call
        if call is None or call.state != "active":
            if self._port_record is not None:
                self._port_record.stopped = True
                self._port_record = None
            self.discarded += len(data)
            return
        now = time.monotonic()
        record = self._port_record
        if record is None:
            record = self._port_record = Played(call.number, "voice-port", VOICE_RATE, call, started=now)
            record.first_byte = now
            self._played.append(record)
        record.pcm += data
        record.last_byte = now
