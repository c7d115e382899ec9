"""Voice reminders: placing calls and what is said in them.

:mod:`.audio` (clips and the formats modems play), :mod:`.speech` (Spanish text to speech
with espeak-ng), :mod:`.playback` (how each modem family plays a clip into a call).
Submodules are imported where used, so the package itself pulls in nothing.
"""
