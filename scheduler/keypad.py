"""What a debtor's keypad presses during a reminder call mean — the voice twin of :mod:`scheduler.replies`.

The spoken message ends with the options (:data:`OPTIONS_ES`); the keys the
debtor presses are collected by the modem (DTMF) and understood here, as a
:class:`scheduler.replies.Reply`, so that :func:`scheduler.responder.respond`
turns them into the same effects an SMS reply has:

| key | intent | effect |
|---|---|---|
| ``1`` | ``promise`` | a promise to pay in ``promise_days`` days (the cooperative sets N) |
| ``2`` | ``other`` ("call me back") | to the inbox, for a person to call back |
| ``9`` | ``opt_out`` | the number is opted out, as with BAJA |

A ``9`` anywhere in the keys wins: a debtor who asked to be left alone is left
alone whatever else was pressed. Otherwise the first ``1`` or ``2`` decides.
Keys that mean nothing (``5``, ``#``, noise) give ``None``: nothing to record
beyond the call's own outcome. Pure and total: any string is accepted.
"""

from __future__ import annotations

import datetime as _dt

from scheduler.replies import Reply

PROMISE_KEY = "1"
CALLBACK_KEY = "2"
OPT_OUT_KEY = "9"
DEFAULT_PROMISE_DAYS = 7
MAX_PROMISE_DAYS = 60

CALLBACK_REASON = "pidió por teclado que lo llamen"

OPTIONS_ES = ("Si va a pagar en los próximos {dias} días, marque 1. Para que le llamemos, marque 2. "
              "Para no recibir más llamadas ni mensajes, marque 9.")
OPTIONS_EN = ("If you will pay within {dias} days, press 1. To be called back, press 2. "
              "To stop calls and messages, press 9.")


def keys_pressed(digits: object) -> str:
    """The DTMF keys in ``digits`` (``0-9``, ``*``, ``#``, ``A-D``), in order; anything else dropped."""
    if not isinstance(digits, str):
        return ""
    return "".join(ch for ch in digits.upper() if ch in "0123456789*#ABCD")


def understand_keys(digits: object, *, today: _dt.date, promise_days: int = DEFAULT_PROMISE_DAYS) -> Reply | None:
    """What the keys mean on ``today`` (the cooperative's date), or ``None`` when they mean nothing.

    ``promise_days`` (1..:data:`MAX_PROMISE_DAYS`, clamped) is how far the "1" promise reaches.
    """
    keys = keys_pressed(digits)
    if OPT_OUT_KEY in keys:
        return Reply("opt_out", matched=f"tecla {OPT_OUT_KEY}")
    for key in keys:
        if key == PROMISE_KEY:
            days = min(max(int(promise_days), 1), MAX_PROMISE_DAYS)
            return Reply("promise", date=today + _dt.timedelta(days=days), valid_date=True,
                         matched=f"tecla {PROMISE_KEY}", reason=f"promete pagar en {days} días (tecla 1)")
        if key == CALLBACK_KEY:
            return Reply("other", matched=f"tecla {CALLBACK_KEY}", reason=CALLBACK_REASON)
    return None


def options_text(language: str = "es", *, promise_days: int = DEFAULT_PROMISE_DAYS) -> str:
    """The sentence read at the end of a spoken reminder that tells the debtor which keys to press."""
    table = OPTIONS_EN if language == "en" else OPTIONS_ES
    return table.format(dias=min(max(int(promise_days), 1), MAX_PROMISE_DAYS))
