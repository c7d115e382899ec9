"""``cobrador doctor``'s voice lines: can this box speak a reminder, and can its modem play it into a call?

Two lines, after the modem checks:

- "Voz (espeak-ng)": ✓ when espeak-ng speaks with ``[voice] espeak_voice`` (a test sentence is rendered),
  ✗ with what to install when it cannot;
- "Mensajes de voz": ✓ with how the modem plays audio (:mod:`modem.voice.playback`); ✗ when the profile
  could play but the installation cannot (no ``[voice] audio_port`` for a Huawei / SIM7600, a missing
  voice port, no AMR encoder for a SIM800); ``–`` when the modem has no audio path at all (``generic``)
  or the profile is ``auto``: the ladder then falls back to a ring or an SMS, nothing to fix here.

With ``[voice] enabled = false`` both lines are ``–``.
"""

from __future__ import annotations

from firmware_py.cli import _

HOW = {
    "sim800": "archivo AMR en su memoria, AT+CREC",
    "quectel-ec25": "archivo WAV en su RAM, AT+QPSND",
    "huawei-e173": "audio PCM por el puerto de voz, AT^DDSETEX=2",
    "sim7600": "audio PCM por el puerto USB de audio, AT+CPCMREG",
}


def audio_checks(config, *, modem=None) -> list:
    """The two voice lines for ``config`` (a :class:`firmware_py.config.Config`); ``modem``: an open
    :class:`modem.driver.Modem` to ask (Huawei ``AT^CVOICE?``), or None."""
    from firmware_py.commands.doctor import FAIL, OK, SKIP, Check
    from modem.voice.playback import audio_problem, player_for
    from modem.voice.speech import speak, SpeechError

    speech_title, path_title = _("Voz (espeak-ng)"), _("Mensajes de voz")
    voice = config.voice
    if not voice.enabled:
        off = _("las llamadas de voz están desactivadas ([voice] enabled = false).")
        return [Check(SKIP, speech_title, off), Check(SKIP, path_title, off)]
    profile = config.modem.profile
    if profile == "auto":
        path = Check(SKIP, path_title, _("el perfil del módem es «auto»; escríbalo en [modem] profile (sim800, "
                                         "sim7600, huawei-e173, quectel-ec25) para revisar los mensajes de voz."))
        needs_speech = False
    elif player_for(profile, audio_port=voice.audio_port or None) is None:
        path = Check(SKIP, path_title, _("este módem ({profile}) no reproduce audio en llamadas: los recordatorios "
                                         "de voz se hacen con timbre o SMS. Para mensajes hablados use un módem "
                                         "con voz (vea hardware/README.md).").format(profile=profile))
        needs_speech = False
    else:
        problem = audio_problem(profile, audio_port=voice.audio_port or None, modem=modem)
        if problem is None:
            path = Check(OK, path_title, _("el módem {profile} reproduce el mensaje ({how}).")
                         .format(profile=profile, how=HOW.get(profile, "")))
        else:
            path = Check(FAIL, path_title, _("{problem}. Mientras tanto las llamadas usan el timbre o SMS.")
                         .format(problem=problem[:1].upper() + problem[1:]))
        needs_speech = True
    try:
        clip = speak("Prueba de voz.", voice=voice.espeak_voice)
    except SpeechError as exc:
        state = FAIL if needs_speech else SKIP
        speech = Check(state, speech_title, _("{error}. Sin voz las llamadas usan el timbre o SMS.")
                       .format(error=str(exc)[:1].upper() + str(exc)[1:]))
    else:
        speech = Check(OK, speech_title, _("la voz «{voice}» habla ({seconds:.1f} s de prueba).")
                       .format(voice=voice.espeak_voice, seconds=clip.duration))
    return [speech, path]
