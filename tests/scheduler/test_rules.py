"""Contact rules per jurisdiction: table tests with ids, one row per situation the law names."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.errors import PolicyError
from scheduler.reasons import Reason
from scheduler.rules import (BUILTIN, Attempt, HolidayCalendar, attempts_from_events, blocking_rule,
                             earliest_allowed, parse_extra_days, profile_from_config)
from scheduler.model import ContactEvent

ZONES = {"CO": "America/Bogota", "MX": "America/Mexico_City", "PE": "America/Lima", "EC": "America/Guayaquil",
         "CL": "America/Santiago", "US": "America/New_York"}


def local(country: str, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONES[country]))


def attempts(country: str, *items: tuple[str, str]) -> list[Attempt]:
    return sorted(Attempt(local(country, at), channel) for at, channel in items)


# (id, country, channel, instant (local), past attempts, expected reason or None)
CASES = [
    ("co-weekday-morning", "CO", "sms", "2026-11-24T07:00", [], None),
    ("co-weekday-before-7", "CO", "sms", "2026-11-24T06:59", [], Reason.QUIET_HOURS),
    ("co-weekday-19h-closed", "CO", "sms", "2026-11-24T19:00", [], Reason.QUIET_HOURS),
    ("co-saturday-14h", "CO", "sms", "2026-11-28T14:59", [], None),
    ("co-saturday-15h-closed", "CO", "sms", "2026-11-28T15:00", [], Reason.QUIET_HOURS),
    ("co-sunday", "CO", "sms", "2026-11-29T10:00", [], Reason.SUNDAY),
    # Ley Emiliani moves the Epiphany (6 Jan 2026, a Tuesday) to Monday 12 Jan: the 6th is a working day
    ("co-holiday-moved-to-monday", "CO", "sms", "2026-01-12T10:00", [], Reason.HOLIDAY),
    ("co-original-date-is-workday", "CO", "sms", "2026-01-06T10:00", [], None),
    ("co-second-contact-same-day", "CO", "sms", "2026-11-24T15:00", [("2026-11-24T09:00", "sms")], Reason.DAILY_CAP),
    ("co-next-day-same-channel", "CO", "sms", "2026-11-25T09:00", [("2026-11-24T09:00", "sms")], None),
    ("co-other-channel-same-week", "CO", "call", "2026-11-26T09:00", [("2026-11-24T09:00", "sms")],
     Reason.OTHER_CHANNEL_WEEK),
    ("co-other-channel-rolling-week", "CO", "call", "2026-11-30T09:00", [("2026-11-27T09:00", "sms")],
     Reason.OTHER_CHANNEL_WEEK),
    ("co-other-channel-after-a-week", "CO", "call", "2026-12-02T09:00", [("2026-11-24T09:00", "sms")], None),
    ("co-ring-and-call-are-one-channel", "CO", "call", "2026-11-26T09:00", [("2026-11-24T09:00", "ring")], None),
    ("mx-21h59", "MX", "sms", "2026-11-24T21:59", [], None),
    ("mx-22h", "MX", "sms", "2026-11-24T22:00", [], Reason.QUIET_HOURS),
    ("mx-saturday", "MX", "sms", "2026-11-28T10:00", [], Reason.CLOSED_DAY),
    ("pe-19h59", "PE", "call", "2026-11-24T19:59", [], None),
    ("pe-20h", "PE", "call", "2026-11-24T20:00", [], Reason.QUIET_HOURS),
    ("pe-saturday", "PE", "sms", "2026-11-28T10:00", [], Reason.CLOSED_DAY),
    ("ec-one-a-day", "EC", "call", "2026-11-24T16:00", [("2026-11-24T08:00", "sms")], Reason.DAILY_CAP),
    ("ec-sunday", "EC", "sms", "2026-11-29T10:00", [], Reason.SUNDAY),
    ("cl-saturday-open", "CL", "sms", "2026-11-28T10:00", [], None),
    ("cl-sunday", "CL", "sms", "2026-11-29T10:00", [], Reason.SUNDAY),
    ("cl-national-holiday", "CL", "sms", "2026-09-18T10:00", [], Reason.HOLIDAY),
    ("cl-third-sms-in-a-week", "CL", "sms", "2026-11-27T10:00",
     [("2026-11-23T10:00", "sms"), ("2026-11-25T10:00", "sms")], Reason.WEEKLY_CAP),
    ("cl-sms-one-day-apart", "CL", "sms", "2026-11-24T10:00", [("2026-11-23T10:00", "sms")], Reason.MIN_GAP),
    ("cl-sms-two-days-apart", "CL", "sms", "2026-11-25T10:00", [("2026-11-23T10:00", "sms")], None),
    ("cl-second-call-in-a-week", "CL", "call", "2026-11-27T10:00", [("2026-11-23T10:00", "call")],
     Reason.WEEKLY_CAP),
    ("cl-visit-after-a-call", "CL", "visit", "2026-11-27T10:00", [("2026-11-23T10:00", "call")], Reason.WEEKLY_CAP),
    ("cl-calendar-week-after-rolling-week", "CL", "call", "2026-12-01T10:00", [("2026-11-23T10:00", "call")], None),
    ("us-sunday-open", "US", "call", "2026-11-29T10:00", [], None),
    ("us-21h", "US", "sms", "2026-11-24T21:00", [], Reason.QUIET_HOURS),
    ("us-eighth-call", "US", "call", "2026-11-24T12:00",
     [(f"2026-11-{d}T10:00", "call") for d in range(18, 24)] + [("2026-11-24T09:00", "call")], Reason.WEEKLY_CAP),
    ("us-seventh-call", "US", "call", "2026-11-24T12:00",
     [(f"2026-11-{d}T10:00", "call") for d in range(18, 24)], None),
    ("us-texts-not-capped", "US", "sms", "2026-11-24T12:00",
     [(f"2026-11-{d}T10:00", "sms") for d in range(17, 24)], None),
]


@pytest.mark.parametrize("country,channel,at,past,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_table(country, channel, at, past, expected):
    profile = BUILTIN[country]
    block = blocking_rule(profile, HolidayCalendar(country), ZoneInfo(ZONES[country]), channel, local(country, at),
                          attempts(country, *past))
    assert (block.reason if block else None) == expected


@pytest.mark.parametrize("country,at,expected", [
    ("CO", "2026-11-28T15:30", "2026-11-30T07:00"),  # Saturday after hours -> Monday 7:00 (Sunday closed)
    ("CO", "2026-01-10T16:00", "2026-01-13T07:00"),  # Saturday -> Sunday -> holiday Monday -> Tuesday
    ("MX", "2026-11-27T22:30", "2026-11-30T07:00"),
    ("US", "2026-11-24T05:00", "2026-11-24T08:00"),
], ids=["co-saturday-evening", "co-long-weekend", "mx-friday-night", "us-early-morning"])
def test_earliest_allowed_walks_past_closed_days(country, at, expected):
    moment, block = earliest_allowed(BUILTIN[country], HolidayCalendar(country), ZoneInfo(ZONES[country]), "sms",
                                     local(country, at), [])
    assert moment == local(country, expected)
    assert block is not None


def test_earliest_allowed_when_a_weekly_cap_frees():
    past = attempts("CL", ("2026-11-23T10:00", "sms"), ("2026-11-25T10:00", "sms"))
    moment, block = earliest_allowed(BUILTIN["CL"], HolidayCalendar("CL"), ZoneInfo(ZONES["CL"]), "sms",
                                     local("CL", "2026-11-27T10:00"), past)
    assert block.reason == Reason.WEEKLY_CAP
    # rolling week frees on 30/11 10:00 (a Monday, also a new calendar week)
    assert moment == local("CL", "2026-11-30T10:00")


def test_zero_cap_never_allows():
    profile = profile_from_config("custom", {"max_calls_per_week": 0})
    moment, block = earliest_allowed(profile, HolidayCalendar("CO"), ZoneInfo("America/Bogota"), "call",
                                     local("CO", "2026-11-24T10:00"),
                                     attempts("CO", ("2026-11-20T10:00", "sms")))
    assert moment is None and block.reason == Reason.WEEKLY_CAP


def test_rules_use_the_debtors_zone():
    # 20:30 in Bogotá is 21:30 in New York: a US profile in Bogotá's zone still allows it
    at = local("CO", "2026-07-14T20:30")  # 21:30 in New York (summer time)
    assert blocking_rule(BUILTIN["US"], HolidayCalendar("US"), ZoneInfo("America/Bogota"), "sms", at, []) is None
    assert blocking_rule(BUILTIN["US"], HolidayCalendar("US"), ZoneInfo("America/New_York"), "sms", at,
                         []).reason == Reason.QUIET_HOURS


def test_extra_holidays_of_the_cooperative():
    calendar = HolidayCalendar("CO", extra=parse_extra_days(["2026-11-24", {"date": "2026-11-25", "name": "Fiestas"}]))
    zone = ZoneInfo("America/Bogota")
    first = blocking_rule(BUILTIN["CO"], calendar, zone, "sms", local("CO", "2026-11-24T10:00"), [])
    second = blocking_rule(BUILTIN["CO"], calendar, zone, "sms", local("CO", "2026-11-25T10:00"), [])
    assert first.reason == second.reason == Reason.HOLIDAY
    assert second.detail == "Fiestas"


def test_attempts_count_each_contact_once_and_not_refused_ones():
    at = local("CO", "2026-11-24T09:00")
    events = [
        ContactEvent(at, "d-1", "sending", contact_id="c1"),
        ContactEvent(at + timedelta(seconds=2), "d-1", "sent", contact_id="c1"),
        ContactEvent(at + timedelta(minutes=5), "d-1", "delivered", contact_id="c1"),
        ContactEvent(at + timedelta(hours=1), "d-1", "failed", contact_id="c2"),  # refused before leaving
        ContactEvent(at + timedelta(hours=2), "d-1", "reply", direction="inbound"),
    ]
    assert attempts_from_events(events) == [Attempt(at, "sms")]


@pytest.mark.parametrize("custom,key", [
    ({"hours": {"lun-vie": "19:00-07:00"}}, "rules.custom.hours.lun-vie"),
    ({"hours": {"lun-vie": "7-19"}}, "rules.custom.hours.lun-vie"),
    ({"hours": {"funday": "07:00-19:00"}}, "rules.custom.hours"),
    ({"hours": {}}, "rules.custom.hours"),
    ({"max_per_day": -1}, "rules.custom.max_per_day"),
    ({"colour": "red"}, "rules.custom.colour"),
], ids=["empty-window", "malformed", "unknown-day", "no-day-open", "negative-cap", "unknown-key"])
def test_bad_custom_rules_are_refused_naming_the_key(custom, key):
    with pytest.raises(PolicyError) as error:
        profile_from_config("custom", custom)
    assert error.value.key == key
    assert "«" in str(error.value)


def test_unknown_profile_is_refused():
    with pytest.raises(PolicyError) as error:
        profile_from_config("XX")
    assert error.value.key == "rules.profile" and "XX" in str(error.value)


def test_custom_profile_from_config():
    profile = profile_from_config("custom", {"hours": {"lun-vie": "08:00-12:00, 14:00-18:00", "sab": "09:00-12:00"},
                                             "max_sms_per_week": 3, "holidays_closed": False})
    zone = ZoneInfo("America/Bogota")
    calendar = HolidayCalendar("CO")
    assert blocking_rule(profile, calendar, zone, "sms", local("CO", "2026-11-24T13:00"), []).reason == \
        Reason.QUIET_HOURS
    assert blocking_rule(profile, calendar, zone, "sms", local("CO", "2026-11-24T14:00"), []) is None
    assert blocking_rule(profile, calendar, zone, "sms", local("CO", "2026-01-12T09:00"), []) is None  # holiday open
    assert "lunes 08:00–12:00, 14:00–18:00" in profile.describe_es()


def test_holiday_calendar_subdivision_and_unknown_country():
    from scheduler.rules.calendar import check_country
    with pytest.raises(PolicyError):
        check_country("CO", "NOWHERE")
    check_country("MX", "")
    assert HolidayCalendar("").holiday_name(date(2026, 12, 25)) is None
