"""The holiday calendar loads only the country modules it needs, with the same tables as ``holidays``.

``holidays.country_holidays`` imports ``holidays.countries``, whose ``__init__`` imports
every country; :mod:`scheduler.rules.calendar` loads one country's module by itself.
The comparisons run in fresh interpreters so that our loader really goes first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import holidays
import pytest

from scheduler.errors import PolicyError
from scheduler.rules import calendar as calendar_module
from scheduler.rules.calendar import HolidayCalendar, check_country

ROOT = Path(__file__).resolve().parents[2]

# (country, subdivision) pairs: every built-in profile, the regions the offices use and an alias.
CASES = [("CO", ""), ("MX", ""), ("PE", ""), ("EC", ""), ("CL", ""), ("US", ""),
         ("CL", "RM"), ("CL", "AP"), ("CL", "NB"), ("US", "CA"), ("US", "TX"), ("US", "PR"),
         ("US", "California"), ("COL", ""), ("USA", "NY")]
YEARS = list(range(2018, 2032))
# Codes check_country must judge exactly as holidays.list_supported_countries() does.
CODES = ["CO", "MX", "PE", "EC", "CL", "US", "COL", "USA", "UK", "GB", "DE", "AS", "Colombia", "HolidaysAS",
         "co", "XX", "NYSE", ""]


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tables_match_country_holidays():
    """Dates and names, per year and for several years at once, in Spanish and by default."""
    out = run_python(f"""
        import json, sys
        from scheduler.rules.calendar import _country_holidays, _supported_subdivisions
        cases, years, codes = {CASES!r}, {YEARS!r}, {CODES!r}

        def table(result):
            return sorted([day.isoformat(), name] for day, name in dict(result).items())

        def outcome(build):
            try:
                return table(build())
            except Exception as error:
                return [type(error).__name__, str(error)]

        ours, theirs = {{}}, {{}}
        requests = [(c, s, y, l) for c, s in cases for y in years + [None] for l in ("es", None)]
        requests += [("CO", "NOWHERE", 2026, "es"), ("XX", "", 2026, "es"), ("CL", "RM", 2026, "xx")]
        for country, subdivision, year, language in requests:
            key = repr((country, subdivision, year, language))
            years_arg = years if year is None else year
            ours[key] = outcome(lambda: _country_holidays(country, subdivision or None, years_arg, language))
        loaded_everything = "holidays.countries" in sys.modules  # before "AS", whose module imports the US one
        ours["subdivisions"] = {{code: _supported_subdivisions(code) for code in codes}}

        import holidays
        for country, subdivision, year, language in requests:
            key = repr((country, subdivision, year, language))
            years_arg = years if year is None else year
            theirs[key] = outcome(lambda: holidays.country_holidays(
                country, subdiv=subdivision or None, years=years_arg, language=language))
        supported = holidays.list_supported_countries()
        theirs["subdivisions"] = {{code: supported.get(code) for code in codes}}
        print(json.dumps({{"ours": ours, "theirs": theirs, "loaded_everything": loaded_everything}}))
    """)
    result = json.loads(out)
    assert not result["loaded_everything"]
    ours, theirs = result["ours"], result["theirs"]
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == theirs[key], key
    assert len(ours["('CO', '', 2026, 'es')"]) >= 18  # real tables, not two empty ones
    assert ours["('CO', 'NOWHERE', 2026, 'es')"][0] == "NotImplementedError"


def test_a_colombian_calendar_does_not_import_every_country():
    out = run_python("""
        import sys
        from datetime import date
        from scheduler.rules.calendar import HolidayCalendar, check_country
        check_country("CO")
        print(HolidayCalendar("CO").holiday_name(date(2026, 12, 25)))
        print(sorted(name for name in sys.modules if name.startswith("holidays.countries")))
        print("holidays.countries.germany" in sys.modules, "holidays.countries" in sys.modules)
    """)
    assert out.splitlines() == ["Navidad", "[]", "False False"]


def test_check_country_errors_unchanged():
    with pytest.raises(PolicyError) as error:
        check_country("XX")
    assert error.value.key == "rules.holidays_country"
    with pytest.raises(PolicyError) as error:
        check_country("US", "ZZ", key="offices.norte.rules")
    assert error.value.key == "offices.norte.rules.subdivision"
    assert "(AK, AL, AR, AS, AZ, CA, CO, CT, DC, DE, FL, GA…)" in str(error.value)
    check_country("CL", "RM")
    check_country("USA", "")


@pytest.fixture
def fresh_caches():
    calendar_module._country_class.cache_clear()
    calendar_module._official.cache_clear()
    yield
    calendar_module._country_class.cache_clear()
    calendar_module._official.cache_clear()


@pytest.mark.parametrize("breakage", ["no-module-files", "no-registry"])
def test_falls_back_to_country_holidays_when_the_direct_load_fails(breakage, fresh_caches, monkeypatch, tmp_path):
    if breakage == "no-module-files":
        monkeypatch.setattr(calendar_module, "_COUNTRIES_DIR", tmp_path)
    else:
        monkeypatch.setitem(sys.modules, "holidays.registry", None)  # "from holidays.registry import" fails
    calls = []
    real = holidays.country_holidays

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(calendar_module.holidays_lib, "country_holidays", spy)
    assert calendar_module._country_class("CO") is None
    for country, subdivision in [("CO", ""), ("US", "CA"), ("CL", "RM")]:
        calendar = HolidayCalendar(country, subdivision)
        expected = real(country, subdiv=subdivision or None, years=2026, language="es")
        assert {day: calendar.holiday_name(day) for day in expected} == dict(expected)
        assert calendar.holiday_name(date(2026, 3, 3)) is None
        check_country(country, subdivision)
    assert calls == ["CO", "US", "CL"]
    with pytest.raises(PolicyError):
        check_country("CO", "NOWHERE")
    with pytest.raises(PolicyError):
        check_country("XX")
