"""The engine's configuration as one validated, immutable object: :class:`Policy`.

``load_policy(sections, country=...)`` takes the configuration file's
engine sections — ``[rules]``, ``[ladders.*]``, ``[[segments]]``,
``[templates.*]``, ``[messages]``, ``[replies]`` (extra keywords) — as plain dicts and validates all of it at
once, raising :class:`~scheduler.errors.PolicyError` naming the key (an
unknown profile, a step with an unknown template, a placeholder not on the
whitelist, an empty hour window…). A running appliance never meets a bad
configuration at 3 a.m.

What changes while the appliance runs (pause, the cooperative's name and
phone typed on the web page, per-debtor profile overrides, the SIM's daily
cap) lives in the ledger's settings; :meth:`Policy.with_settings` lays
them over the file's values. The clock's trust (:mod:`scheduler.clock`)
is given by the appliance.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Mapping

from scheduler.clock import ClockTrust
from scheduler.errors import PolicyError
from scheduler.ladder import Ladder, ladders_from_config
from scheduler.model import CONTACT_CHANNELS
from scheduler.rules.calendar import HolidayCalendar, check_country, parse_extra_days
from scheduler.rules.profiles import BUILTIN, ContactProfile, ProfileChoice, profile_from_config
from scheduler.replies import DEFAULT_WORDS, ReplyWords, words_from_config
from scheduler.segments import SegmentRule, segments_from_config
from scheduler.templates import Cooperative, TemplateSet, templates_from_config

SECTIONS = ("rules", "ladders", "segments", "templates", "messages", "replies")
_RULES_KEYS = {"profile", "custom", "subdivision", "extra_holidays", "step_validity_days"}
_MESSAGES_KEYS = {"payment_methods", "transliterate", "daily_sms_cap", "thank_you", "thank_you_days"}


@dataclass(frozen=True)
class Policy:
    """Everything the planner needs besides the ledger snapshot and ``now``.

    ``profiles`` chooses each debtor's contact rules; ``subdivision`` and
    ``extra_holidays`` shape the holiday calendars; ``ladders``,
    ``segments``, ``templates`` as loaded; ``cooperative`` what messages say
    about the creditor; ``clock`` whether time is trusted; ``paused`` stops
    every send; ``daily_sms_cap`` is the SIM's own limit per day (None: no
    limit); ``transliterate``: write á í ó ú without accents when that alone lets a message use the
    GSM alphabet (160 characters per SMS instead of 70; ñ, é, ¿ and ¡ are kept); ``step_validity_days``: how long the last step of a ladder may
    still be sent after its day (earlier steps last until the next step); ``timezone`` the
    cooperative's (the SIM's day is counted in it); ``thank_you`` (``[messages] thank_you``, default
    off: every thank-you is one more SMS on the SIM): an instalment paid in full on or before its due
    date gets one ``gracias_pago`` SMS, at most ``thank_you_days`` (``[messages] thank_you_days``,
    0–30, default 3) days after the day it was paid — older payments, such as a back-office entry of
    last month's receipts, are not thanked.
    """

    profiles: ProfileChoice
    ladders: Mapping[str, Ladder]
    segments: tuple[SegmentRule, ...]
    templates: TemplateSet
    cooperative: Cooperative = field(default_factory=Cooperative)
    clock: ClockTrust = field(default_factory=lambda: ClockTrust(False, "no_source", "sin fuente de hora"))
    subdivision: str = ""
    extra_holidays: Mapping[date, str] = field(default_factory=dict)
    paused: bool = False
    daily_sms_cap: int | None = None
    transliterate: bool = True
    step_validity_days: int = 7
    promise_grace_days: int = 1
    channels: frozenset[str] = CONTACT_CHANNELS  # what the box can use now; a step's other channel is its fallback
    timezone: str = "America/Bogota"
    reply_words: ReplyWords = DEFAULT_WORDS
    thank_you: bool = False
    thank_you_days: int = 3

    def calendar_for(self, profile: ContactProfile) -> HolidayCalendar:
        """The holiday calendar for debtors under ``profile`` (its country; the cooperative's for
        ``custom``), with the cooperative's own days off. The subdivision applies to the cooperative's
        own country only."""
        country = profile.code if profile.code in BUILTIN else self.profiles.country
        subdivision = self.subdivision if country == self.profiles.country else ""
        return _calendar(country, subdivision, tuple(sorted(self.extra_holidays.items())))

    def with_settings(self, settings: Mapping[str, Any] | Any) -> "Policy":
        """This policy with the ledger's live settings laid over it: ``sending_paused``,
        ``cooperative_name``, ``callback_number``, ``payment_methods``, ``daily_sms_cap``,
        ``promise_grace_days`` and ``rules.profile_overrides`` ({debtor id: profile code})."""
        get = settings.get
        cooperative = self.cooperative
        name = get("cooperative_name")
        if name and name != "Cooperativa":
            cooperative = replace(cooperative, name=str(name))
        if get("callback_number"):
            cooperative = replace(cooperative, phone=str(get("callback_number")))
        if get("payment_methods"):
            cooperative = replace(cooperative, payment_methods=str(get("payment_methods")))
        overrides = get("rules.profile_overrides") or {}
        profiles = self.profiles
        if overrides:
            profiles = replace(profiles, overrides={**profiles.overrides, **overrides})
        cap = get("daily_sms_cap")
        grace = get("promise_grace_days")
        return replace(self, cooperative=cooperative, profiles=profiles, paused=bool(get("sending_paused")),
                       daily_sms_cap=self.daily_sms_cap if cap is None else int(cap),
                       promise_grace_days=self.promise_grace_days if grace is None else int(grace))

    def with_clock(self, clock: ClockTrust) -> "Policy":
        return replace(self, clock=clock)

    def with_channels(self, channels) -> "Policy":
        """This policy on a box that can use only ``channels`` now (the radio's: ``sms``, ``ring``,
        ``call``); visits need no radio and are always possible. A step on another channel goes to its
        ladder's ``fallback``, or is skipped with :attr:`Reason.CHANNEL_UNAVAILABLE`."""
        return replace(self, channels=frozenset(channels) | {"visit"})


_CALENDARS: dict[tuple, HolidayCalendar] = {}


def _calendar(country: str, subdivision: str, extra: tuple) -> HolidayCalendar:
    key = (country, subdivision, extra)
    found = _CALENDARS.get(key)
    if found is None:
        found = _CALENDARS[key] = HolidayCalendar(country, subdivision, dict(extra))
    return found


def load_policy(sections: Mapping[str, Any] | None = None, *, country: str = "CO", cooperative_name: str = "Cooperativa",
                language: str = "es", timezone: str = "America/Bogota", clock: ClockTrust | None = None) -> Policy:
    """Validate the engine's configuration sections (see the module docstring) into a :class:`Policy`.

    ``country``, ``timezone``: the cooperative's (its debtors' default jurisdiction; the zone its
    SIM's day is counted in).
    Raises :class:`PolicyError` naming the key at fault.
    """
    sections = dict(sections or {})
    for name in sections:
        if name not in SECTIONS:
            raise PolicyError(f"La sección «{name}» no existe; secciones del motor: {', '.join(SECTIONS)}.", key=name)
    rules = _table(sections.get("rules"), "rules")
    for name in rules:
        if name not in _RULES_KEYS:
            raise PolicyError(f"«rules.{name}» no existe; claves posibles: {', '.join(sorted(_RULES_KEYS))}.",
                              key=f"rules.{name}")
    code = rules.get("profile", country.upper() if country.upper() in BUILTIN else "custom")
    profile = profile_from_config(code, rules.get("custom"))
    subdivision = rules.get("subdivision", "")
    if not isinstance(subdivision, str):
        raise PolicyError("«rules.subdivision» debe ser un texto (por ejemplo \"ANT\").", key="rules.subdivision")
    holiday_country = profile.code if profile.code in BUILTIN else country.upper()
    check_country(holiday_country, subdivision)
    extra = parse_extra_days(rules.get("extra_holidays"))
    validity = rules.get("step_validity_days", 7)
    if isinstance(validity, bool) or not isinstance(validity, int) or not 1 <= validity <= 60:
        raise PolicyError("«rules.step_validity_days» debe ser un número de días entre 1 y 60.",
                          key="rules.step_validity_days")
    messages = _table(sections.get("messages"), "messages")
    for name in messages:
        if name not in _MESSAGES_KEYS:
            raise PolicyError(f"«messages.{name}» no existe; claves posibles: {', '.join(sorted(_MESSAGES_KEYS))}.",
                              key=f"messages.{name}")
    transliterate = messages.get("transliterate", True)
    if not isinstance(transliterate, bool):
        raise PolicyError("«messages.transliterate» debe ser true o false.", key="messages.transliterate")
    cap = messages.get("daily_sms_cap")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise PolicyError("«messages.daily_sms_cap» debe ser un número entero mayor o igual a 0.",
                          key="messages.daily_sms_cap")
    thank_you = messages.get("thank_you", False)
    if not isinstance(thank_you, bool):
        raise PolicyError("«messages.thank_you» debe ser true o false.", key="messages.thank_you")
    thank_you_days = messages.get("thank_you_days", 3)
    if isinstance(thank_you_days, bool) or not isinstance(thank_you_days, int) or not 0 <= thank_you_days <= 30:
        raise PolicyError("«messages.thank_you_days» debe ser un número de días entre 0 y 30.",
                          key="messages.thank_you_days")
    methods = messages.get("payment_methods", "")
    if not isinstance(methods, str):
        raise PolicyError("«messages.payment_methods» debe ser un texto.", key="messages.payment_methods")
    templates = templates_from_config(_table(sections.get("templates"), "templates"), default_language=language)
    ladders = ladders_from_config(_table(sections.get("ladders"), "ladders"), templates.names())
    segments = segments_from_config(sections.get("segments"), set(ladders))
    reply_words = words_from_config(_table(sections.get("replies"), "replies"))
    return Policy(
        profiles=ProfileChoice(profile, country.upper()),
        ladders=ladders, segments=segments, templates=templates,
        cooperative=Cooperative(cooperative_name, "", methods, country.upper()),
        clock=clock or ClockTrust(False, "no_source", "sin fuente de hora"),
        subdivision=subdivision, extra_holidays=extra, daily_sms_cap=cap, transliterate=transliterate,
        step_validity_days=validity, timezone=timezone, reply_words=reply_words, thank_you=thank_you,
        thank_you_days=thank_you_days)


def _table(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"«{key}» debe ser una sección [{key}].", key=key)
    return dict(value)


SETTINGS_KEY = "engine"
"""The ledger setting holding the engine sections edited on the web page (laid over the file's)."""


def merge_sections(base: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None) -> dict:
    """The configuration file's engine sections with the web page's edits laid over them: within a table
    section (``rules``, ``messages``, ``replies``, ``templates``, ``ladders``) each key the page set replaces
    the file's (a template or a ladder is replaced whole); ``segments`` (a list) is replaced whole."""
    merged = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in (base or {}).items()}
    for section, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(section), dict):
            merged[section].update(value)
        else:
            merged[section] = value
    return merged

