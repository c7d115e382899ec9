"""Errors raised by the appliance layer.

Every error carries a Spanish sentence for the person at the office
(``str(error)``) that says what went wrong and what to do.
"""


class CobradorError(Exception):
    """Base of every error raised by ``firmware_py``."""


class ConfigError(CobradorError, ValueError):
    """The configuration file is missing, unreadable or has an invalid value.

    ``path`` is the file, ``key`` the dotted setting at fault (or ``None``).
    """

    def __init__(self, message: str, *, path=None, key: str | None = None):
        super().__init__(message)
        self.path = path
        self.key = key
