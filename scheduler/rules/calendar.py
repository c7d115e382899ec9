"""Which days are holidays for a debtor: the country's official holidays plus the cooperative's own.

Official holidays come from the ``holidays`` package (offline data, with the
rules that move a holiday by law, such as Colombia's "Ley Emiliani" moving
several to the following Monday). ``subdivision`` selects regional holidays
where the package knows them. ``extra`` are the days the cooperative adds:
local fiestas, office closures.

:class:`HolidayCalendar` is immutable and caches one year of holidays per
call pattern; ``holiday_name(day)`` is what the planner asks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

import holidays as holidays_lib

from scheduler.errors import PolicyError


@functools.lru_cache(maxsize=256)
def _official(country: str, subdivision: str, year: int) -> Mapping[date, str]:
    try:
        table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year, language="es")
    except NotImplementedError:
        return {}
    except (KeyError, ValueError):
        table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=year)
    return dict(table)


def check_country(country: str, subdivision: str = "", *, key: str = "rules") -> None:
    """Raise :class:`PolicyError` if the ``holidays`` package does not know this country/subdivision."""
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise PolicyError(f"«{key}.holidays_country»: no hay calendario de festivos para «{country}».",
                          key=f"{key}.holidays_country")
    if subdivision and subdivision not in supported[country]:
        raise PolicyError(f"«{key}.subdivision»: «{subdivision}» no es una región conocida de {country} "
                          f"({', '.join(supported[country][:12])}…).", key=f"{key}.subdivision")


@dataclass(frozen=True)
class HolidayCalendar:
    """Holidays of ``country`` (ISO alpha-2; ``""`` = none) and ``subdivision``, plus ``extra``
    dates (date -> name) the cooperative closes."""

    country: str
    subdivision: str = ""
    extra: Mapping[date, str] = field(default_factory=dict)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name if ``day`` is a holiday, else ``None``."""
        if day in self.extra:
            return self.extra[day] or "día no laborable de la cooperativa"
        if not self.country:
            return None
        return _official(self.country, self.subdivision, day.year).get(day)

    def __hash__(self) -> int:  # extra is a dict: hash on its items
        return hash((self.country, self.subdivision, tuple(sorted(self.extra.items()))))


def parse_extra_days(values, *, key: str = "rules.extra_holidays") -> dict[date, str]:
    """``["2026-12-07", {date = "2026-08-15", name = "Fiestas patronales"}]`` -> ``{date: name}``.

    Raises :class:`PolicyError` naming ``key`` for a malformed entry.
    """
    if values is None:
        return {}
    if not isinstance(values, list):
        raise PolicyError(f"«{key}» debe ser una lista de fechas como [\"2026-12-07\"].", key=key)
    out: dict[date, str] = {}
    for index, item in enumerate(values):
        name = ""
        if isinstance(item, dict):
            name = item.get("name", "")
            item = item.get("date")
        if isinstance(item, date):
            out[item] = str(name)
            continue
        try:
            out[date.fromisoformat(str(item))] = str(name)
        except ValueError:
            raise PolicyError(f"«{key}[{index}]»: fecha inválida «{item}»; use AAAA-MM-DD.", key=f"{key}[{index}]") \
                from None
    return out
