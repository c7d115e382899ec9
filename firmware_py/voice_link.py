"""The dispatcher's radio with voice: the modem pool for SMS, plus reminder calls and ring reminders.

:class:`VoiceRadio` is what :class:`scheduler.dispatcher.Dispatcher` is given
as its radio. SMS go straight to the pool. A ``call`` step's text is spoken
in Spanish by espeak-ng (:func:`modem.voice.speech.speak`, rendered once per
distinct text and kept in a small cache) and handed to the pool, which dials
on a healthy modem and plays it with that modem's player once the debtor
answers. A ``ring`` step rings for ``[voice] ring_seconds`` and hangs up
before anyone answers: a free "missed call" reminder.

:meth:`VoiceRadio.channels` says what the box can do *now*: ``sms`` always;
``ring`` when voice is on; ``call`` only when speech works and a modem can
play audio. The planner uses it so a ``call`` step falls back to the ladder's
``fallback`` channel (a ring or an SMS) on a box without an audio path, and
:meth:`VoiceRadio.why_no_spoken_calls` tells ``cobrador doctor`` why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from firmware_py.config import VoiceConfig

log = logging.getLogger("cobrador.voice")


class VoiceRadio:
    """See the module docstring. ``speak(text, voice=) -> AudioClip`` is espeak-ng by default (a seam for
    tests that run without it). ``can_play()`` returns None when a modem of the pool can play audio, else a
    Spanish reason."""

    CACHE_SIZE = 32
    CHANNELS_TTL = 60.0

    def __init__(self, pool, settings: VoiceConfig = VoiceConfig(), *, speak=None, can_play=None,
                 monotonic=time.monotonic):
        self.pool = pool
        self.settings = settings
        self._speak = speak
        self._can_play = can_play
        self._clips: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._speech_checked = False
        self._monotonic = monotonic
        self._channels: tuple[float, frozenset[str]] | None = None
        self._speech_error: str | None = None

    # -- what the dispatcher uses ----------------------------------------------------------------------------------
    def send(self, number: str, text: str, *, message_id: str, transliterate: bool = False):
        return self.pool.send(number, text, message_id=message_id, transliterate=transliterate)

    def channels(self) -> frozenset[str]:
        """``{"sms"}``, plus ``ring`` when voice is on, plus ``call`` when spoken messages can be played now.

        Asked on every plan; the audio check (an encoder run, an AT query) is redone at most every
        :attr:`CHANNELS_TTL` seconds."""
        if not self.settings.enabled:
            return frozenset({"sms"})
        now = self._monotonic()
        with self._lock:
            cached = self._channels
        if cached is not None and now - cached[0] < self.CHANNELS_TTL:
            return cached[1]
        problem = self.why_no_spoken_calls()
        channels = frozenset({"sms", "ring"}) if problem else frozenset({"sms", "ring", "call"})
        with self._lock:
            if problem and (self._channels is None or "call" in self._channels[1]):
                log.warning("spoken calls unavailable (call steps use their fallback): %s", problem)
            self._channels = (now, channels)
        return channels

    def call(self, number: str, text: str, *, call_id: str):
        """Dial ``number`` and, when answered, play ``text`` spoken (``repeat`` times); see the pool's ``call``."""
        clip = self.clip(text)
        return self.pool.call(number, call_id=call_id, message=clip, ring_timeout=self.settings.ring_timeout,
                              repeat=self.settings.repeat)

    def ring(self, number: str, *, call_id: str):
        """Ring ``number`` for ``ring_seconds`` and hang up before anyone answers."""
        return self.pool.ring(number, seconds=self.settings.ring_seconds, call_id=call_id)

    # -- speech ----------------------------------------------------------------------------------------------------
    def clip(self, text: str):
        """``text`` spoken (cached: a batch of calls with the same words renders once)."""
        with self._lock:
            if text in self._clips:
                self._clips.move_to_end(text)
                return self._clips[text]
        clip = self._speaker()(text, voice=self.settings.espeak_voice)
        with self._lock:
            self._clips[text] = clip
            while len(self._clips) > self.CACHE_SIZE:
                self._clips.popitem(last=False)
        return clip

    def _speaker(self):
        if self._speak is not None:
            return self._speak
        from modem.voice.speech import speak

        return speak

    def why_no_spoken_calls(self) -> str | None:
        """None when spoken calls work now; else why not, in Spanish (for ``cobrador doctor`` and the log)."""
        if not self.settings.enabled:
            return "las llamadas están desactivadas en la configuración ([voice] enabled = false)"
        speech = self._speech_problem()
        if speech is not None:
            return speech
        if self._can_play is not None:
            return self._can_play()
        return None

    def _speech_problem(self) -> str | None:
        """Whether espeak-ng speaks with the configured voice — tried once (it does not change while running)."""
        with self._lock:
            if self._speech_checked:
                return self._speech_error
        error = None
        try:
            if self._speak is None:  # the real one, without resampling: no audio library loaded until a call
                from modem.voice.speech import speech_problem

                error = speech_problem(self.settings.espeak_voice)
            else:
                self._speak("prueba", voice=self.settings.espeak_voice)
        except Exception as exc:  # missing espeak-ng (SpeechUnavailable, in Spanish), a broken voice: never a crash
            error = str(exc) or type(exc).__name__
        with self._lock:
            self._speech_checked, self._speech_error = True, error
        return error
