"""Which days are holidays for a debtor: the country's official holidays plus the cooperative's own.

Official holidays come from the ``holidays`` package (offline data, with the
rules that move a holiday by law, such as Colombia's "Ley Emiliani" moving
several to the following Monday). ``subdivision`` selects regional holidays
where the package knows them. ``extra`` are the days the cooperative adds:
local fiestas, office closures. Only the modules of the countries asked for are
loaded (not the package's ~280 countries); the tables are the ones
``holidays.country_holidays(country, subdiv=..., years=..., language="es")`` gives.

:class:`HolidayCalendar` is immutable and caches one year of holidays per
call pattern; ``holiday_name(day)`` is what the planner asks.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable, Mapping

import holidays as holidays_lib

from scheduler.errors import PolicyError

# Where the package keeps one module per country (``colombia.py`` ...). Importing
# ``holidays.countries`` itself runs its ``__init__``, which imports every country
# (~280 modules, several MB of RSS); an office needs one or two of them.
_COUNTRIES_DIR = Path(holidays_lib.__file__).with_name("countries")
_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _country_class(country: str) -> type | None:
    """The class ``holidays.country_holidays(country)`` would instantiate, or ``None``.

    The class comes from its own module file under ``holidays/countries/``, executed
    by itself (the package's ``__init__`` does not run and the module is not put in
    ``sys.modules``), so only that country's code is loaded. ``None`` when ``country``
    is not an entity name of ``holidays.registry.COUNTRIES`` or when the direct load
    fails for any reason (e.g. a ``holidays`` release laid out differently): callers
    then use ``holidays.country_holidays``, which behaves exactly as before.
    """
    try:
        from holidays.holiday_base import HolidayBase
        from holidays.registry import COUNTRIES

        module_name = next((module for module, entities in COUNTRIES.items() if country in entities), None)
        if module_name is None:
            return None
        with _LOAD_LOCK:
            spec = importlib.util.spec_from_file_location(f"holidays.countries.{module_name}",
                                                          _COUNTRIES_DIR / f"{module_name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        entity = getattr(module, country)
        return entity if isinstance(entity, type) and issubclass(entity, HolidayBase) else None
    except Exception:  # noqa: BLE001 - any failure means "use the package's own loader"
        return None


def _country_holidays(country: str, subdivision: str | None, years: int | Iterable[int],
                      language: str | None = None):
    """Same result (dates, names, errors) as ``holidays.country_holidays(country, subdiv=subdivision,
    years=years, language=language)``, importing only ``country``'s module when possible."""
    entity = _country_class(country)
    if entity is None:
        return holidays_lib.country_holidays(country, subdiv=subdivision, years=years, language=language)
    # The arguments holidays.utils.country_holidays passes to the entity, defaults included.
    return entity(years=years, subdiv=subdivision, expand=True, observed=True, prov=None, state=None,
                  language=language, categories=None)


def _supported_subdivisions(country: str) -> list[str] | None:
    """``holidays.list_supported_countries().get(country)`` (the subdivision codes, aliases excluded;
    ``None`` for an unknown country code) without importing every country."""
    try:
        from holidays.registry import EntityLoader

        codes = set(EntityLoader.get_country_codes(include_aliases=True))
    except Exception:  # noqa: BLE001 - a holidays release without this registry API
        return holidays_lib.list_supported_countries().get(country)
    if country not in codes:
        return None
    entity = _country_class(country)
    if entity is None:
        return holidays_lib.list_supported_countries().get(country)
    return list(entity.subdivisions)


@functools.lru_cache(maxsize=256)
def _official(country: str, subdivision: str, year: int) -> Mapping[date, str]:
    try:
        table = _country_holidays(country, subdivision or None, year, language="es")
    except NotImplementedError:
        return {}
    except (KeyError, ValueError):
        table = _country_holidays(country, subdivision or None, year)
    return dict(table)


def check_country(country: str, subdivision: str = "", *, key: str = "rules") -> None:
    """Raise :class:`PolicyError` if the ``holidays`` package does not know this country/subdivision."""
    subdivisions = _supported_subdivisions(country)
    if subdivisions is None:
        raise PolicyError(f"«{key}.holidays_country»: no hay calendario de festivos para «{country}».",
                          key=f"{key}.holidays_country")
    if subdivision and subdivision not in subdivisions:
        raise PolicyError(f"«{key}.subdivision»: «{subdivision}» no es una región conocida de {country} "
                          f"({', '.join(subdivisions[:12])}…).", key=f"{key}.subdivision")


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
