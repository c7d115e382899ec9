"""Errors of the reminder engine.

Every error carries a Spanish sentence for the person at the office
(``str(error)``) that says what is wrong and what to do.
"""


class SchedulerError(Exception):
    """Base of every error raised by ``scheduler``."""


class PolicyError(SchedulerError, ValueError):
    """The engine's configuration (rules, ladders, segments, templates) is invalid.

    ``key`` is the dotted configuration key at fault (``"ladders.mora_grave.steps[2].template"``),
    so the configuration loader can name it; raised when the configuration is *loaded*, never
    discovered later by the dispatcher.
    """

    def __init__(self, message: str, *, key: str = ""):
        super().__init__(message)
        self.key = key


class TemplateError(PolicyError):
    """A message template uses a placeholder that is not on the whitelist, or is malformed."""
