"""Contact rules: when, how often and on which channels a debtor may be contacted.

- :mod:`.profiles` — :class:`ContactProfile` per jurisdiction (CO, MX, PE, EC,
  CL, US, custom) as data, and :class:`ProfileChoice` (which profile applies
  to which debtor).
- :mod:`.calendar` — official holidays (``holidays`` package) plus the
  cooperative's own days off.
- :mod:`.check` — pure checks: :func:`blocking_rule` (the first rule that
  forbids a contact at an instant) and :func:`earliest_allowed` (the first
  instant every rule allows), counting the debtor's past attempts.
"""

from scheduler.rules.calendar import HolidayCalendar, parse_extra_days
from scheduler.rules.check import (ATTEMPT_KINDS, Attempt, Block, attempts_from_events, blocking_rule,
                                   channel_family, earliest_allowed)
from scheduler.rules.profiles import BUILTIN, Cap, ContactProfile, ProfileChoice, profile_from_config

__all__ = ["HolidayCalendar", "parse_extra_days", "ATTEMPT_KINDS", "Attempt", "Block", "attempts_from_events",
           "blocking_rule", "channel_family", "earliest_allowed", "BUILTIN", "Cap", "ContactProfile",
           "ProfileChoice", "profile_from_config"]
