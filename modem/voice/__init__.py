"""Voice: calls placed and followed on a modem, ring reminders, keys pressed, inbound calls.

``modem.voice.calls`` is the contract (``OUTCOMES``, ``CallResult``, the per-modem
``Voice`` behind ``Modem.call`` / ``Modem.ring``); ``call_urcs`` parses every modem
family's call-progress lines and ``watch`` follows one call. Message audio
(clips, speech, playback through the modem) lives in the sibling modules
``audio``, ``speech`` and ``playback``, imported by their own names so that
``import modem.voice`` stays light.
"""

from modem.voice.calls import OUTCOMES, CallResult

__all__ = ["OUTCOMES", "CallResult"]
