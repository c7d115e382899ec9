"""Contact-rule profiles: when, how often and on which channels a debtor may be contacted.

A :class:`ContactProfile` is data, not code: contact windows per weekday (in
the *debtor's* local time), whether holidays are closed, and caps. The
built-in profiles encode the law of each country as we read it (see
``docs/contact-rules.md`` for the sources and the choices we made where the
law is vague); ``custom`` starts from the most conservative of them and
every field can be changed in the configuration file (:func:`profile_from_config`).

Caps (:class:`Cap`) count *attempts* (a message or call that may have reached
the debtor) per debtor, for a set of channels, over a calendar day, or over
both the rolling 7 days and the calendar week (the law's "semana" is
ambiguous, so both must hold). ``min_gap_days`` asks for whole days between
two attempts on those channels.

Errors: :class:`scheduler.errors.PolicyError` with a Spanish message naming
the configuration key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import time
from types import MappingProxyType
from typing import Any, Mapping

from scheduler.errors import PolicyError
from scheduler.model import CONTACT_CHANNELS

WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_WEEKDAY_KEYS = {"lun": 0, "lunes": 0, "mon": 0, "mar": 1, "martes": 1, "tue": 1, "mie": 2, "mié": 2,
                 "miercoles": 2, "miércoles": 2, "wed": 2, "jue": 3, "jueves": 3, "thu": 3, "vie": 4, "viernes": 4,
                 "fri": 4, "sab": 5, "sáb": 5, "sabado": 5, "sábado": 5, "sat": 5, "dom": 6, "domingo": 6, "sun": 6}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

Window = tuple[time, time]
"""A contact window ``[start, end)`` in local time; ``end`` may be ``time(0)`` meaning midnight."""


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` attempts on ``channels`` per ``period`` (``"day"`` or ``"week"``).

    A weekly cap holds over the rolling 7 days *and* the calendar week
    (Monday to Sunday in the debtor's zone). ``min_gap_days`` (optional)
    asks that two attempts on these channels be that many calendar days
    apart (``2``: a message on Monday, the next on Wednesday at the earliest).
    """

    channels: frozenset[str]
    limit: int | None
    period: str = "week"
    min_gap_days: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", frozenset(self.channels))
        if self.period not in ("day", "week"):
            raise ValueError(f"cap period must be 'day' or 'week', not {self.period!r}")

    def applies_to(self, channel: str) -> bool:
        return channel in self.channels


@dataclass(frozen=True)
class ContactProfile:
    """One jurisdiction's contact rules. See the module docstring.

    ``windows`` maps weekday (0 = Monday) to its windows; a weekday that is
    absent is closed. ``closed_on_holidays``: no contact on the calendar's
    holidays (see :mod:`.calendar`). ``one_channel_per_week``: after an
    attempt on one channel, no *other* channel in the same week (Colombia).
    ``source`` names the law, for people reading a decision.
    """

    code: str
    name: str
    windows: Mapping[int, tuple[Window, ...]]
    closed_on_holidays: bool = True
    caps: tuple[Cap, ...] = ()
    one_channel_per_week: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", MappingProxyType({d: tuple(w) for d, w in self.windows.items() if w}))
        object.__setattr__(self, "caps", tuple(self.caps))

    def windows_on(self, weekday: int) -> tuple[Window, ...]:
        return self.windows.get(weekday, ())

    def within_hours(self, local_time: time, weekday: int) -> bool:
        """True if ``local_time`` on ``weekday`` falls in one of the day's windows."""
        return any(_inside(local_time, window) for window in self.windows_on(weekday))

    def describe_es(self) -> str:
        """"lunes a viernes 07:00–19:00; sábado 08:00–15:00" — for the plan and the web page."""
        parts = []
        for day in range(7):
            hours = ", ".join(f"{a:%H:%M}–{'24:00' if b == time(0) else f'{b:%H:%M}'}" for a, b in self.windows_on(day))
            parts.append(f"{WEEKDAYS_ES[day]} {hours}" if hours else f"{WEEKDAYS_ES[day]} no")
        return "; ".join(parts)


def _inside(moment: time, window: Window) -> bool:
    start, end = window
    return start <= moment and (end == time(0) or moment < end)


def _days(days: range | tuple[int, ...], start: str, end: str) -> dict[int, tuple[Window, ...]]:
    window = (time.fromisoformat(start), time(0) if end == "24:00" else time.fromisoformat(end))
    return {d: (window,) for d in days}


WEEKDAYS = range(0, 5)
_VOICE = frozenset({"call", "ring"})

BUILTIN: Mapping[str, ContactProfile] = MappingProxyType({
    "CO": ContactProfile(
        "CO", "Colombia — Ley 2300 de 2023",
        {**_days(WEEKDAYS, "07:00", "19:00"), **_days((5,), "08:00", "15:00")},
        closed_on_holidays=True,
        caps=(Cap(CONTACT_CHANNELS, 1, "day"),),
        one_channel_per_week=True,
        source="Ley 2300 de 2023, art. 3: lunes a viernes 7–19, sábados 8–15, nunca domingos ni festivos; "
               "un contacto al día; un solo canal por semana; solo canales autorizados"),
    "MX": ContactProfile(
        "MX", "México — CONDUSEF (despachos de cobranza)",
        _days(WEEKDAYS, "07:00", "22:00"), closed_on_holidays=True,
        source="Disposiciones de la CONDUSEF sobre despachos de cobranza (2014): 7:00 a 22:00 en la zona del "
               "deudor; lunes a viernes por prudencia"),
    "PE": ContactProfile(
        "PE", "Perú — Código de Protección y Defensa del Consumidor, art. 62",
        _days(WEEKDAYS, "07:00", "20:00"), closed_on_holidays=True,
        source="Ley 29571, art. 62: prohibido de 20:00 a 7:00 y sábados, domingos y feriados"),
    "EC": ContactProfile(
        "EC", "Ecuador — reforma de 2022 a la Ley de Defensa del Consumidor",
        _days(WEEKDAYS, "07:00", "20:00"), closed_on_holidays=True,
        caps=(Cap(CONTACT_CHANNELS, 1, "day"),),
        source="Reforma de 2022: 7:00 a 20:00, sin fines de semana ni feriados, un contacto al día"),
    "CL": ContactProfile(
        "CL", "Chile — Ley 19.496 art. 37 (Ley 21.320)",
        _days(range(0, 6), "08:00", "20:00"), closed_on_holidays=True,
        caps=(Cap(_VOICE | {"visit"}, 1, "week"), Cap(frozenset({"sms"}), 2, "week", min_gap_days=2)),
        source="Ley 21.320: días hábiles (lunes a sábado, no festivos) 8:00–20:00; máximo una llamada o visita "
               "por semana; máximo dos mensajes por semana, separados por al menos dos días"),
    "US": ContactProfile(
        "US", "Estados Unidos — Regulation F (12 CFR 1006)",
        _days(range(0, 7), "08:00", "21:00"), closed_on_holidays=False,
        caps=(Cap(_VOICE, 7, "week"),),
        source="12 CFR 1006.6(b)(1): 8:00–21:00 hora local; 1006.14(b): más de 7 llamadas en 7 días se presume "
               "acoso"),
})

DEFAULT_PROFILE = "CO"


def most_conservative() -> ContactProfile:
    """The starting point of ``custom``: Colombia's rules (the strictest windows and caps we ship)."""
    return replace(BUILTIN["CO"], code="custom", name="Reglas propias de la cooperativa", source="configuración")


def profile_names() -> tuple[str, ...]:
    return tuple(BUILTIN) + ("custom",)


def profile_from_config(code: str, custom: Mapping[str, Any] | None = None, *,
                        key: str = "rules") -> ContactProfile:
    """The profile named ``code`` (``"CO"``…, or ``"custom"`` built from ``custom``).

    ``custom`` (the ``[rules.custom]`` table) may set ``hours`` ({"lun-vie":
    "07:00-19:00", "sab": "08:00-15:00"}; a day not listed is closed),
    ``holidays_closed`` (bool), ``max_per_day`` (int), ``max_calls_per_week``,
    ``max_sms_per_week``, ``max_visits_per_week``, ``sms_min_gap_days`` and
    ``one_channel_per_week``. Raises :class:`PolicyError` naming ``key``.
    """
    if not isinstance(code, str):
        raise PolicyError(f"«{key}.profile» debe ser un texto: uno de {', '.join(profile_names())}.", key=f"{key}.profile")
    upper = code.strip().upper()
    if upper in BUILTIN:
        if custom:
            raise PolicyError(f"«{key}.custom» solo se usa con profile = \"custom\" (ahora es «{code}»).",
                              key=f"{key}.custom")
        return BUILTIN[upper]
    if code.strip().lower() != "custom":
        raise PolicyError(f"«{key}.profile»: perfil de reglas desconocido «{code}»; use uno de "
                          f"{', '.join(profile_names())}.", key=f"{key}.profile")
    return _custom(custom or {}, f"{key}.custom")


def _custom(values: Mapping[str, Any], key: str) -> ContactProfile:
    base = most_conservative()
    known = {"hours", "holidays_closed", "max_per_day", "max_calls_per_week", "max_sms_per_week",
             "max_visits_per_week", "sms_min_gap_days", "one_channel_per_week", "name"}
    for name in values:
        if name not in known:
            raise PolicyError(f"«{key}.{name}» no existe; claves posibles: {', '.join(sorted(known))}.",
                              key=f"{key}.{name}")
    windows = dict(base.windows)
    if "hours" in values:
        windows = parse_hours(values["hours"], f"{key}.hours")
    caps = []

    def count(name: str, default: int | None) -> int | None:
        value = values.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PolicyError(f"«{key}.{name}» debe ser un número entero mayor o igual a 0.", key=f"{key}.{name}")
        return value

    per_day = count("max_per_day", 1)
    if per_day is not None:
        caps.append(Cap(CONTACT_CHANNELS, per_day, "day"))
    calls = count("max_calls_per_week", None)
    if calls is not None:
        caps.append(Cap(_VOICE, calls, "week"))
    visits = count("max_visits_per_week", None)
    if visits is not None:
        caps.append(Cap(frozenset({"visit"}), visits, "week"))
    sms = count("max_sms_per_week", None)
    gap = count("sms_min_gap_days", 0) or 0
    if sms is not None or gap:
        caps.append(Cap(frozenset({"sms"}), sms, "week", min_gap_days=gap))
    flags = {}
    for name, default in (("holidays_closed", True), ("one_channel_per_week", base.one_channel_per_week)):
        value = values.get(name, default)
        if not isinstance(value, bool):
            raise PolicyError(f"«{key}.{name}» debe ser true o false.", key=f"{key}.{name}")
        flags[name] = value
    name = values.get("name", base.name)
    if not isinstance(name, str):
        raise PolicyError(f"«{key}.name» debe ser un texto.", key=f"{key}.name")
    return ContactProfile("custom", name, windows, closed_on_holidays=flags["holidays_closed"], caps=tuple(caps),
                          one_channel_per_week=flags["one_channel_per_week"], source="configuración de la cooperativa")


def parse_hours(table: Any, key: str) -> dict[int, tuple[Window, ...]]:
    """``{"lun-vie": "07:00-19:00", "sab": "08:00-12:00, 14:00-16:00"}`` -> windows per weekday.

    Raises :class:`PolicyError` for an unknown day, a malformed or empty window
    (start not before end), or a table with no open day at all.
    """
    if not isinstance(table, Mapping):
        raise PolicyError(f"«{key}» debe ser una tabla como {{ \"lun-vie\" = \"07:00-19:00\" }}.", key=key)
    windows: dict[int, list[Window]] = {}
    for days_text, hours_text in table.items():
        days = _parse_days(days_text, key)
        if not isinstance(hours_text, str):
            raise PolicyError(f"«{key}.{days_text}» debe ser un texto como \"07:00-19:00\".", key=f"{key}.{days_text}")
        for part in hours_text.split(","):
            match = _HOURS.match(part)
            if not match:
                raise PolicyError(f"«{key}.{days_text}»: horario mal escrito «{part.strip()}»; use \"07:00-19:00\".",
                                  key=f"{key}.{days_text}")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
                raise PolicyError(f"«{key}.{days_text}»: hora inválida en «{part.strip()}».", key=f"{key}.{days_text}")
            start, end = time(h1, m1), (time(0) if h2 == 24 else time(h2, m2))
            if end != time(0) and end <= start:
                raise PolicyError(f"«{key}.{days_text}»: el horario «{part.strip()}» está vacío (la hora de fin debe "
                                  "ser posterior a la de inicio).", key=f"{key}.{days_text}")
            for day in days:
                windows.setdefault(day, []).append((start, end))
    if not windows:
        raise PolicyError(f"«{key}» no deja ningún día ni hora para contactar.", key=key)
    return {d: tuple(sorted(w)) for d, w in windows.items()}


def _parse_days(text: Any, key: str) -> list[int]:
    if not isinstance(text, str):
        raise PolicyError(f"«{key}»: día inválido «{text}».", key=key)
    folded = text.strip().lower()
    if "-" in folded:
        first, _, last = folded.partition("-")
        a, b = _WEEKDAY_KEYS.get(first.strip()), _WEEKDAY_KEYS.get(last.strip())
        if a is None or b is None or b < a:
            raise PolicyError(f"«{key}»: rango de días inválido «{text}»; use por ejemplo \"lun-vie\".", key=key)
        return list(range(a, b + 1))
    day = _WEEKDAY_KEYS.get(folded)
    if day is None:
        raise PolicyError(f"«{key}»: día desconocido «{text}»; use lun, mar, mie, jue, vie, sab, dom.", key=key)
    return [day]


@dataclass(frozen=True)
class ProfileChoice:
    """Which profile applies to whom: ``default`` for debtors of the cooperative's country, the
    built-in profile of a debtor's own jurisdiction when it differs (a debtor living elsewhere),
    and explicit per-debtor ``overrides`` (debtor id -> profile code) above both."""

    default: ContactProfile
    country: str
    overrides: Mapping[str, str] = field(default_factory=dict)

    def for_debtor(self, debtor_id: str, jurisdiction: str) -> ContactProfile:
        code = self.overrides.get(debtor_id)
        if code:
            return BUILTIN.get(code.upper(), self.default)
        if jurisdiction and jurisdiction != self.country and jurisdiction in BUILTIN:
            return BUILTIN[jurisdiction]
        return self.default
