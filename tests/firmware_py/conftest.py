"""Fixtures of the firmware_py tests."""

import pytest

LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def spanish_command_line(monkeypatch):
    """The ``cobrador`` command speaks English when the locale is English (firmware_py.cli): these tests,
    and the processes they start, read its Spanish whatever the developer's locale is. Tests of the
    language choice set their own environment."""
    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")  # no language: Spanish; UTF-8 for the children's standard streams
