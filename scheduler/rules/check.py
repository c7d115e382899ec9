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
from typing import Iterable
from zoneinfo import ZoneInfo

from scheduler.contact_state import outcomes
from scheduler.model import ContactEvent
from scheduler.reasons import Reason
from scheduler.rules.calendar import HolidayCalendar
from scheduler.rules.profiles import ContactProfile

ATTEMPT_KINDS = frozenset({"sending", "sent", "delivered", "uncertain", "expired"})
"""Contact-log kinds that may mean a contact reached the debtor. A contact counts toward caps when
:attr:`scheduler.contact_state.Outcome.attempted`: it went out or is in doubt — not one the modem refused
before it left (``failed`` with no ``sent``) nor one the radio never sent (``retry``)."""

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


def attempts_from_events(events: Iterable[ContactEvent]) -> list[Attempt]:
    """The debtor's attempts, one per contact (at its first event), sorted by time.

    Events without a ``contact_id`` (an automatic answer, a manual note of a call) count one each
    when their kind is in :data:`ATTEMPT_KINDS`.
    """
    events = list(events)
    found = [Attempt(o.first_at, o.channel) for o in outcomes(events).values() if o.attempted]
    found.extend(Attempt(e.at, e.channel) for e in events
                 if not e.contact_id and e.direction == "outbound" and e.kind in ATTEMPT_KINDS)
    return sorted(found)


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
    next_day = _midnight(today + timedelta(days=1), zone)
    holiday = calendar.holiday_name(today) if profile.closed_on_holidays else None
    if holiday:
        return Block(Reason.HOLIDAY, next_day, holiday)
    windows = profile.windows_on(local.weekday())
    if not windows:
        return Block(Reason.SUNDAY if local.weekday() == 6 else Reason.CLOSED_DAY, next_day)
    moment = local.time()
    if not profile.within_hours(moment, local.weekday()):
        later = [start for start, _ in windows if start > moment]
        return Block(Reason.QUIET_HOURS, _at(today, later[0], zone) if later else next_day)
    cut = bisect.bisect_right(attempts, Attempt(at, "\uffff"))
    past = attempts[:cut]
    for cap in profile.caps:
        if not cap.applies_to(channel):
            continue
        if cap.limit == 0:
            return Block(Reason.DAILY_CAP if cap.period == "day" else Reason.WEEKLY_CAP, None)
        relevant = [a.at for a in past if a.channel in cap.channels]
        if not relevant:
            continue
        if cap.limit is not None and cap.period == "day":
            today_count = sum(1 for t in relevant if t.astimezone(zone).date() == today)
            if today_count >= cap.limit:
                return Block(Reason.DAILY_CAP, next_day)
        if cap.limit is not None and cap.period == "week":
            rolling = [t for t in relevant if t > at - _WEEK]
            if len(rolling) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, rolling[len(rolling) - cap.limit] + _WEEK)
            week_start = today - timedelta(days=local.weekday())
            this_week = [t for t in relevant if t.astimezone(zone).date() >= week_start]
            if len(this_week) >= cap.limit:
                return Block(Reason.WEEKLY_CAP, _midnight(week_start + _WEEK, zone))
        if cap.min_gap_days:
            last_day = relevant[-1].astimezone(zone).date()
            if (today - last_day).days < cap.min_gap_days:
                return Block(Reason.MIN_GAP, _midnight(last_day + timedelta(days=cap.min_gap_days), zone))
    if profile.one_channel_per_week:
        family = channel_family(channel)
        others = [a.at for a in past if channel_family(a.channel) != family]
        frees = []
        if others and others[-1] > at - _WEEK:
            frees.append(others[-1] + _WEEK)
        week_start = today - timedelta(days=local.weekday())
        if others and others[-1].astimezone(zone).date() >= week_start:
            frees.append(_midnight(week_start + _WEEK, zone))
        if frees:
            return Block(Reason.OTHER_CHANNEL_WEEK, max(frees))
    return None


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
