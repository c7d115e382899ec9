"""Whether a contact is allowed at an instant, and the earliest instant it would be.

Pure functions of a :class:`~.profiles.ContactProfile`, a
:class:`~.calendar.HolidayCalendar`, the debtor's time zone and the
debtor's past *attempts* (:class:`Attempt`: when, which channel — built from
the contact log by :func:`attempts_from_events`, plus whatever the planner
has already decided to send in the same run).

``blocking_rule`` answers "may we contact now?" with the first rule that
forbids it and the instant that rule stops forbidding it;
``earliest_allowed`` walks forward from an instant until every rule agrees
(bounded by a horizon), so a ``wait`` always names a real time.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from scheduler.contact_state import ATTEMPT_KINDS, Outcome, attempt_times  # noqa: F401 (ATTEMPT_KINDS: re-exported)
from scheduler.model import ContactEvent
from scheduler.reasons import Reason
from scheduler.rules.calendar import HolidayCalendar
from scheduler.rules.profiles import ContactProfile

_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
_WEEK = timedelta(days=7)
_FAMILY = {"call": "voice", "ring": "voice"}


def channel_family(channel: str) -> str:
    """``sms``, ``voice`` (a call or a ring) or ``visit``: "another channel" means another family."""
    return _FAMILY.get(channel, channel)


@dataclass(frozen=True, slots=True, order=True)
class Attempt:
    """One outbound contact that may have reached the debtor: ``at`` (aware) on ``channel``."""

    at: datetime
    channel: str


def attempts_from_events(events: Iterable[ContactEvent],
                         known: Mapping[str, Outcome] | None = None) -> list[Attempt]:
    """The debtor's attempts, one per contact (at its first event), sorted by time
    (:func:`~scheduler.contact_state.attempt_times`).

    Events without a ``contact_id`` (an automatic answer, a manual note of a call) count one each
    when their kind is in :data:`ATTEMPT_KINDS`. ``known``: ``outcomes(events)``, when the caller
    already has it.
    """
    return [Attempt(at, channel) for at, channel in attempt_times(events, known)]


@dataclass(frozen=True, slots=True)
class Block:
    """A rule that forbids contact: ``reason`` and the instant it stops forbidding it (``None``: never)."""

    reason: Reason
    until: datetime | None
    detail: str = ""


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)


def blocking_rule(profile: ContactProfile, calendar: HolidayCalendar, zone: ZoneInfo, channel: str,
                  at: datetime, attempts: list[Attempt]) -> Block | None:
    """The first rule forbidding a contact on ``channel`` at ``at``, or ``None`` if all allow it.

    ``attempts`` must be sorted by time (``attempts_from_events`` does);
    only those before ``at`` count.
    """
    local = at.astimezone(zone)
    today = local.date()
    weekday = today.weekday()
    if profile.closed_on_holidays:
        holiday = calendar.holiday_name(today)
        if holiday:
            return Block(Reason.HOLIDAY, _midnight(today + _DAY, zone), holiday)
    windows = profile.windows_on(weekday)
    if not windows:
        return Block(Reason.SUNDAY if weekday == 6 else Reason.CLOSED_DAY, _midnight(today + _DAY, zone))
    moment = local.time()
    for start, end in windows:  # profile.within_hours(moment, weekday), with the windows at hand
        if start <= moment and (end == _MIDNIGHT or moment < end):
            break
    else:
        later = [start for start, _ in windows if start > moment]
        return Block(Reason.QUIET_HOURS, _at(today, later[0], zone) if later else _midnight(today + _DAY, zone))
    if attempts and attempts[-1].at > at:  # usually every attempt is in the past: no need to cut
        attempts = attempts[:bisect.bisect_right(attempts, Attempt(at, "\uffff"))]
    for cap in profile.caps:
        if channel not in cap.channels:
            continue
        if cap.limit == 0:
            return Block(Reason.DAILY_CAP if cap.period == "day" else Reason.WEEKLY_CAP, None)
        relevant = [a.at for a in attempts if a.channel in cap.channels]
        if not relevant:
            continue
        if cap.limit is not None and cap.period == "day":
            today_count = sum(1 for t in relevant if t.astimezone(zone).date() == today)
            if today_count >= cap.limit:
                return Block(Reason.DAILY_CAP, _midnight(today + _DAY, zone))
        if cap.limit is not None and cap.period == "week":
            week_ago = at - _WEEK
            rolling = [t for t in relevant if t > week_ago]
            if len(rolling) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, rolling[len(rolling) - cap.limit] + _WEEK)
            week_start = today - timedelta(days=weekday)
            this_week = [t for t in relevant if t.astimezone(zone).date() >= week_start]
            if len(this_week) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, _midnight(week_start + _WEEK, zone))
        if cap.min_gap_days:
            last_day = relevant[-1].astimezone(zone).date()
            if (today - last_day).days < cap.min_gap_days:
                return Block(Reason.MIN_GAP, _midnight(last_day + timedelta(days=cap.min_gap_days), zone))
    if profile.one_channel_per_week and attempts:
        family = channel_family(channel)
        others = [a.at for a in attempts if channel_family(a.channel) != family]
        if others:
            frees = []
            if others[-1] > at - _WEEK:
                frees.append(others[-1] + _WEEK)
            week_start = today - timedelta(days=weekday)
            if others[-1].astimezone(zone).date() >= week_start:
                frees.append(_midnight(week_start + _WEEK, zone))
            if frees:
                return Block(Reason.OTHER_CHANNEL_WEEK, max(frees))
    return None


@dataclass(frozen=True, slots=True)
class Lookback:
    """The attempts one rule of :func:`blocking_rule` counts for a contact on a given channel: those on
    ``channels`` (or, with ``other_than``, on any channel of another family) whose local day is at
    most ``days`` before the day asked about. An earlier one changes that rule's answer on no day
    from then on."""

    days: int
    channels: frozenset[str] = frozenset()
    other_than: str | None = None

    def counts(self, channel: str) -> bool:
        if self.other_than is not None:
            return channel_family(channel) != self.other_than
        return channel in self.channels


def lookbacks(profile: ContactProfile, channel: str) -> tuple[Lookback, ...]:
    """What the rules of ``profile`` count for a contact on ``channel`` (nothing: attempts never matter).

    On the local day of the instant asked about, a daily cap counts attempts of that day; a weekly
    cap those of the rolling week (which reaches into the eighth day before, the offset of the zone
    may have changed in between) and of the calendar week; a cap's ``min_gap_days`` the last
    ``min_gap_days - 1`` days; one channel a week the other families' of the rolling and calendar
    week. A cap of 0 counts nothing: it always forbids. Each reach has a day more: where a clock
    is turned back over midnight, a later instant can fall on the day before."""
    found = []
    for cap in profile.caps:
        if channel not in cap.channels or cap.limit == 0:
            continue
        spans = [cap.min_gap_days - 1] if cap.min_gap_days else []
        if cap.limit is not None:
            spans.append(0 if cap.period == "day" else 8)
        if spans:
            found.append(Lookback(max(spans) + 1, cap.channels))
    if profile.one_channel_per_week:
        found.append(Lookback(8 + 1, other_than=channel_family(channel)))
    return tuple(found)


def attempts_matter(latest: Mapping[str, date], day: date, rules: Iterable[Lookback]) -> bool:
    """Whether a debtor's attempts can change :func:`blocking_rule` on local ``day`` or later, for the
    contact ``rules`` (:func:`lookbacks`) were made for. ``latest`` maps each channel the debtor was
    contacted on to a local day no attempt on it is later than. When they cannot,
    ``earliest_allowed(..., start, attempts)`` equals ``earliest_allowed(..., start, [])`` for any
    ``start`` on ``day`` or later."""
    for rule in rules:
        since = day - timedelta(days=rule.days)
        for channel, last in latest.items():
            if last >= since and rule.counts(channel):
                return True
    return False


def earliest_allowed(profile: ContactProfile, calendar: HolidayCalendar, zone: ZoneInfo, channel: str,
                     start: datetime, attempts: list[Attempt], *,
                     horizon: timedelta = timedelta(days=60)) -> tuple[datetime | None, Block | None]:
    """``(instant, first block)``: the earliest instant >= ``start`` at which every rule allows the
    contact (``None`` if none within ``horizon``), and the rule that blocked it at ``start``
    (``None`` if it is allowed at ``start``)."""
    first: Block | None = None
    moment = start
    limit = start + horizon
    for _ in range(400):
        block = blocking_rule(profile, calendar, zone, channel, moment, attempts)
        if block is None:
            return moment, first
        first = first or block
        if block.until is None or block.until > limit:
            return None, first
        moment = max(block.until, moment + timedelta(seconds=1))
    return None, first


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
