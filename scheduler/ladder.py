"""Reminder ladders: ordered steps relative to each instalment's due date.

A :class:`Step` says *when* (``offset`` days from the due date, at a
preferred ``hour`` in the debtor's zone), *how* (``channel``: sms, call,
ring or visit, with an optional ``fallback`` channel when the debtor did not
authorise the first), *what* (a ``template`` name) and *under which
conditions* (see :data:`CONDITIONS`). A :class:`Ladder` is a named,
ordered tuple of steps; the last step may ``repeat`` every N days while the
instalment stays unpaid.

A step's ``id`` is stable and depends only on its offset (``"-7"``, ``"+3"``,
``"+30r2"`` for the second repetition): when a debtor moves to another
segment (and ladder), a step already sent at that offset is not sent again.

Ladders are data: :func:`ladders_from_config` reads them from the
configuration (``[ladders.NAME]``) over the defaults, validating every key
at load (:class:`PolicyError` naming it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from scheduler.errors import PolicyError
from scheduler.model import CONTACT_CHANNELS

CONDITIONS = {
    "unpaid": "la cuota sigue sin pagar",
    "no_promise": "no hay una promesa de pago vigente",
    "no_reply": "el deudor no respondió desde el paso anterior",
}
"""Conditions a step can require. ``unpaid`` always holds for a step the planner considers
(paid instalments get no reminders); ``no_promise`` and ``no_reply`` are optional per step."""

DEFAULT_CONDITIONS = frozenset({"unpaid", "no_promise"})


@dataclass(frozen=True)
class Step:
    """One rung: see the module docstring. ``hour`` is the preferred local time; the debtor's learned
    best hour replaces it when ``use_best_hour`` and one is known."""

    offset: int
    channel: str
    template: str
    hour: time = time(9, 0)
    fallback: str | None = None
    conditions: frozenset[str] = DEFAULT_CONDITIONS
    repeat_every: int | None = None
    use_best_hour: bool = True

    @functools.cached_property
    def id(self) -> str:  # cached: the planner asks for it for every loan
        return f"{self.offset:+d}" if self.offset else "0"

    def describe_es(self) -> str:
        when = ("el día del vencimiento" if self.offset == 0 else
                f"{-self.offset} días antes" if self.offset < 0 else f"{self.offset} días después")
        return f"{when}, {self.hour:%H:%M}, {self.channel}"


@dataclass(frozen=True)
class Occurrence:
    """A step placed on the calendar for one instalment: ``id`` (with the repetition), ``day``."""

    step: Step
    id: str
    day: date


@dataclass(frozen=True)
class Ladder:
    """A named, ordered sequence of steps (sorted by offset, offsets unique)."""

    name: str
    steps: tuple[Step, ...]
    label: str = ""

    def occurrences(self, due: date, until: date) -> Iterator[Occurrence]:
        """Every step for an instalment due on ``due``, in order, up to the day ``until`` (inclusive)
        for repeated steps (a non-repeated step is always given)."""
        for step in self.steps:
            day = due + timedelta(days=step.offset)
            yield Occurrence(step, step.id, day)
            if step.repeat_every:
                k = 1
                while True:
                    day_k = day + timedelta(days=step.repeat_every * k)
                    if day_k > until:
                        break
                    yield Occurrence(step, f"{step.id}r{k}", day_k)
                    k += 1


def occurrence_time(occurrence: Occurrence, zone: ZoneInfo, best_hour: time | None = None) -> datetime:
    """When an occurrence is meant to go out: its day at the step's hour (or ``best_hour``), local."""
    hour = best_hour if (best_hour is not None and occurrence.step.use_best_hour) else occurrence.step.hour
    return datetime.combine(occurrence.day, hour, tzinfo=zone)


# -- defaults ----------------------------------------------------------------------------------------------------------
def _s(offset, channel, template, hour="09:00", **kw) -> Step:
    return Step(offset, channel, template, time.fromisoformat(hour), **kw)


DEFAULT_LADDERS: Mapping[str, Ladder] = {
    # Pays on time: a light touch before the date and on the day (with ``messages.thank_you`` on, an
    # instalment paid on time is thanked: see THANK_YOU).
    "al_dia": Ladder("al_dia", (
        _s(-3, "sms", "recordatorio_previo"),
        _s(0, "sms", "vence_hoy"),
        _s(3, "sms", "mora_amable"),
        _s(7, "sms", "mora_amable", conditions=frozenset({"unpaid", "no_promise", "no_reply"})),
    ), "Al día"),
    # Sometimes late: the full ladder of the default offsets.
    "ocasional": Ladder("ocasional", (
        _s(-7, "sms", "recordatorio_previo"),
        _s(-1, "sms", "recordatorio_manana"),
        _s(0, "sms", "vence_hoy"),
        _s(3, "sms", "mora_amable"),
        _s(7, "ring", "mora_amable", fallback="sms"),
        _s(15, "sms", "mora_firme"),
        _s(30, "call", "mora_firme", fallback="sms"),
    ), "Ocasional"),
    "mora_temprana": Ladder("mora_temprana", (
        _s(-7, "sms", "recordatorio_previo"),
        _s(-1, "sms", "recordatorio_manana"),
        _s(0, "sms", "vence_hoy"),
        _s(3, "sms", "mora_amable"),
        _s(7, "call", "mora_firme", fallback="sms"),
        _s(15, "sms", "mora_firme"),
        _s(30, "visit", "visita"),
    ), "Mora temprana"),
    "mora_grave": Ladder("mora_grave", (
        _s(-7, "sms", "recordatorio_previo"),
        _s(-1, "sms", "recordatorio_manana"),
        _s(0, "sms", "vence_hoy"),
        _s(3, "sms", "mora_firme"),
        _s(7, "call", "mora_firme", fallback="sms"),
        _s(15, "visit", "visita"),
        _s(30, "sms", "mora_grave", repeat_every=15),
    ), "Mora grave"),
}


THANK_YOU = Step(0, "sms", "gracias_pago", conditions=frozenset(), use_best_hour=False)
"""The thank-you for an instalment paid in full on or before its due date (``messages.thank_you``): not a
rung of any ladder — the planner plans it from payments, as soon as the rules allow, once per instalment,
under the step id :data:`THANK_YOU_ID`."""

THANK_YOU_ID = "gracias"


# -- configuration -----------------------------------------------------------------------------------------------------
_STEP_KEYS = {"offset", "channel", "template", "hour", "fallback", "when", "repeat_every", "use_best_hour"}


def ladders_from_config(raw: Mapping[str, Any] | None, templates: set[str], *,
                        key: str = "ladders") -> dict[str, Ladder]:
    """The default ladders, replaced or extended by ``raw`` (``{name: {label, steps: [...]}}``).

    Every step is validated here: known keys, a known channel and fallback,
    an existing template (``templates``), an ``HH:MM`` hour, known
    conditions, unique offsets, ``repeat_every`` only on the last step.
    Raises :class:`PolicyError` naming the key.
    """
    ladders = dict(DEFAULT_LADDERS)
    for name, body in (raw or {}).items():
        where = f"{key}.{name}"
        if not isinstance(body, Mapping) or not isinstance(body.get("steps"), list) or not body["steps"]:
            raise PolicyError(f"«{where}» debe tener una lista «steps» con al menos un paso.", key=f"{where}.steps")
        unknown = set(body) - {"steps", "label"}
        if unknown:
            raise PolicyError(f"«{where}.{sorted(unknown)[0]}» no existe; use «steps» y «label».",
                              key=f"{where}.{sorted(unknown)[0]}")
        steps = [_step(item, templates, f"{where}.steps[{i}]") for i, item in enumerate(body["steps"])]
        steps.sort(key=lambda s: s.offset)
        offsets = [s.offset for s in steps]
        if len(set(offsets)) != len(offsets):
            raise PolicyError(f"«{where}»: dos pasos tienen el mismo día ({offsets}); cada paso necesita un día "
                              "distinto.", key=f"{where}.steps")
        if any(s.repeat_every for s in steps[:-1]):
            raise PolicyError(f"«{where}»: solo el último paso puede repetirse (repeat_every).", key=f"{where}.steps")
        label = body.get("label", name)
        ladders[name] = Ladder(name, tuple(steps), str(label))
    for ladder in ladders.values():
        for index, step in enumerate(ladder.steps):
            if step.template not in templates:
                raise PolicyError(f"«{key}.{ladder.name}.steps[{index}].template»: la plantilla «{step.template}» no "
                                  "existe.", key=f"{key}.{ladder.name}.steps[{index}].template")
    return ladders


def _step(item: Any, templates: set[str], where: str) -> Step:
    if not isinstance(item, Mapping):
        raise PolicyError(f"«{where}» debe ser una tabla como {{ offset = -1, channel = \"sms\", template = "
                          "\"recordatorio_manana\" }}.", key=where)
    for name in item:
        if name not in _STEP_KEYS:
            raise PolicyError(f"«{where}.{name}» no existe; claves posibles: {', '.join(sorted(_STEP_KEYS))}.",
                              key=f"{where}.{name}")
    offset = item.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or not -60 <= offset <= 365:
        raise PolicyError(f"«{where}.offset» debe ser un número de días entre -60 y 365 (negativo = antes del "
                          "vencimiento).", key=f"{where}.offset")
    channel = item.get("channel")
    if channel not in CONTACT_CHANNELS:
        raise PolicyError(f"«{where}.channel»: canal desconocido «{channel}»; use sms, call, ring o visit.",
                          key=f"{where}.channel")
    fallback = item.get("fallback")
    if fallback is not None and (fallback not in CONTACT_CHANNELS or fallback == channel):
        raise PolicyError(f"«{where}.fallback»: canal de respaldo inválido «{fallback}».", key=f"{where}.fallback")
    template = item.get("template")
    if not isinstance(template, str) or template not in templates:
        raise PolicyError(f"«{where}.template»: la plantilla «{template}» no existe; plantillas: "
                          f"{', '.join(sorted(templates))}.", key=f"{where}.template")
    hour_text = item.get("hour", "09:00")
    try:
        hour = time.fromisoformat(str(hour_text))
    except ValueError:
        raise PolicyError(f"«{where}.hour»: hora inválida «{hour_text}»; use HH:MM.", key=f"{where}.hour") from None
    when = item.get("when", sorted(DEFAULT_CONDITIONS))
    if not isinstance(when, list) or any(c not in CONDITIONS for c in when):
        raise PolicyError(f"«{where}.when»: condiciones posibles: {', '.join(CONDITIONS)}.", key=f"{where}.when")
    repeat = item.get("repeat_every")
    if repeat is not None and (isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1):
        raise PolicyError(f"«{where}.repeat_every» debe ser un número de días mayor que 0.", key=f"{where}.repeat_every")
    best = item.get("use_best_hour", True)
    if not isinstance(best, bool):
        raise PolicyError(f"«{where}.use_best_hour» debe ser true o false.", key=f"{where}.use_best_hour")
    return Step(offset, channel, template, hour, fallback, frozenset(when) | {"unpaid"}, repeat, best)
