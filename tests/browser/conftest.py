"""Fixtures of the browser tests: a real appliance on a simulated day and a headless Chromium.

Without the ``playwright`` package or without Chromium (``/usr/bin/chromium``, or ``COBRADOR_CHROMIUM``)
every test here is skipped and the reason says what to install; ``./scripts/test`` run as root installs
both. Screenshots of every step (and of a failure, with the page's HTML) land in
``tests/browser/artifacts/<test>/`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, UI, at, running_box, simulated_day, why_no_browser

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    reason = why_no_browser()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"pruebas en el navegador omitidas: {reason}")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def box(tmp_path):
    """The appliance, its engine clock at 06:30 (before contact hours) on the simulated working day."""
    day = simulated_day()
    with running_box(tmp_path / "data", start=at(day, 6, 30), day=day) as running:
        yield running


def make_ui(request, browser, box, *, width: int, height: int) -> UI:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    return UI(browser, box, width=width, height=height, artifacts=ARTIFACTS / name, phone=width < 600)


@pytest.fixture
def ui_factory(request, browser, box):
    """ui_factory(width, height) -> a :class:`harness.UI`; a failed test leaves a screenshot and the HTML."""
    made: list[UI] = []

    def make(width: int, height: int) -> UI:
        ui = make_ui(request, browser, box, width=width, height=height)
        made.append(ui)
        return ui

    yield make
    failed = getattr(request.node, "rep_call", None)
    for ui in made:
        if failed is not None and failed.failed:
            ui.save_failure()
        ui.close()
