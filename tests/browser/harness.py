"""The browser tests' machinery (not a test module): a real appliance on a simulated day, a browser page
that watches itself, and a screenshot per step.

- :class:`SimClock`: the appliance's engine time (``Appliance(clock=...)``): it flows with real time from
  the instant it was last :meth:`~SimClock.jump`-ed to. The radio, the clock trust and the simulated
  network stay on real time, so the simulated day is chosen in the past (:func:`simulated_day`): a
  delivery report or a reply stamped by the network then comes *after* the send it belongs to.
- :class:`Box`: the running appliance (simulated modem, temporary data folder, waitress on a free port
  in a thread) and its clock.
- :class:`UI`: one Playwright page at one viewport. Every :meth:`UI.step` ends with a full-page
  screenshot in ``tests/browser/artifacts/<test>/`` and the page's guards: no console error, no uncaught
  script error, no Content-Security-Policy violation, no request to another host than the box, no
  server error, and at a phone's width no horizontal scroll.

Playwright is imported lazily: without it (or without Chromium) the browser tests are skipped by
``conftest.py`` with the reason, never collected as errors.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

CHROMIUM = os.environ.get("COBRADOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCROLL_TOLERANCE = 2
"""Pixels a page may be wider than the viewport (sub-pixel rounding), no more."""
ZONE = ZoneInfo("America/Bogota")
"""The cooperative's zone in the default configuration."""


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("falta el paquete playwright: instale las dependencias de prueba (pip install -e '.[test]', "
                "lo hace ./scripts/test)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"no hay Chromium en {CHROMIUM}: como root, ./scripts/install-test-deps lo instala "
                "(apt-get install chromium); o indique otro con COBRADOR_CHROMIUM")
    return None


# -- simulated time -----------------------------------------------------------------------------------------------
class SimClock:
    """Aware UTC instants: the last :meth:`jump` target plus the real time elapsed since."""

    def __init__(self, start: datetime):
        self._lock = threading.Lock()
        self._base, self._mono = start.astimezone(timezone.utc), time.monotonic()

    def __call__(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=time.monotonic() - self._mono)

    def jump(self, moment: datetime) -> None:
        """Move on to ``moment`` (never backwards)."""
        with self._lock:
            now = self._base + timedelta(seconds=time.monotonic() - self._mono)
            assert moment >= now, f"the simulated clock cannot go back from {now} to {moment}"
            self._base, self._mono = moment.astimezone(timezone.utc), time.monotonic()


def simulated_day(today: date | None = None) -> date:
    """A working day (Monday to Friday, not a Colombian holiday) at least two days before ``today``
    (Bogotá's): every hour of it is in the past of the real clock the network stamps reports with."""
    import holidays

    day = (today or datetime.now(ZONE).date()) - timedelta(days=2)
    closed = holidays.country_holidays("CO", years=range(day.year - 1, day.year + 1))
    while day.weekday() >= 5 or day in closed:
        day -= timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in the cooperative's zone."""
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition not met"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (after {timeout:.0f} s)")
        time.sleep(interval)


# -- the appliance --------------------------------------------------------------------------------------------------
class LogCatcher(logging.Handler):
    """The appliance's warnings and errors, with their tracebacks (a server error's cause, for the report)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            pass

    def last_error(self) -> str:
        """The newest error in short: its message and the exception's last line (the full traceback is in the
        artifacts' appliance.log)."""
        errors = [line for line in self.lines if " ERROR " in line or " CRITICAL " in line]
        if not errors:
            return ""
        lines = errors[-1].strip().splitlines()
        return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"


@dataclass
class Box:
    """A running appliance with the simulated modem; ``url`` ends without a slash."""

    appliance: object
    clock: SimClock
    day: date
    url: str
    thread: threading.Thread
    log: LogCatcher = field(default_factory=LogCatcher)

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def phone(self, number: str):
        """The simulated network's virtual phone with ``number`` (E.164)."""
        return self.appliance.link.simulator.network.phone(number)


@contextmanager
def running_box(data_dir: Path, *, start: datetime, day: date):
    """Start an appliance (simulated modem, ``data_dir``, a free port on 127.0.0.1) whose engine clock starts
    at ``start``; its waitress server runs in a thread. Yields a :class:`Box`; closes everything after."""
    from firmware_py.app import Appliance
    from firmware_py.config import Config

    config = Config().with_overrides(data_dir=data_dir, host="127.0.0.1", port=0)
    clock = SimClock(start)
    catcher = LogCatcher()
    logging.getLogger().addHandler(catcher)
    appliance = Appliance(config, simulate=True, clock=clock)
    try:
        appliance.start()
        thread = threading.Thread(target=appliance._server.run, name="browser-tests-waitress", daemon=True)
        thread.start()
        wait_until(lambda: appliance.link.status().state == "connected", timeout=30,
                   message="the simulated modem did not connect")
        # The operator broadcasts its time (NITZ), as a real network does: the clock trust comes from it
        # (the simulated modem's boot-time broadcast arrives before the driver listens; no NTP here).
        appliance.link.simulator.set_network_time(datetime.now(ZONE))
        wait_until(lambda: appliance.policy().clock.trusted, timeout=30,
                   message="the appliance does not trust its clock (no network time from the simulated modem)")
        yield Box(appliance, clock, day, appliance.url.rstrip("/"), thread, catcher)
    finally:
        appliance.close()
        logging.getLogger().removeHandler(catcher)


# -- the page -------------------------------------------------------------------------------------------------------
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cobradorCsp({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
                        line: e.lineNumber, page: document.location.href});
});
"""

OVERFLOW_PROBE = """
(limit) => {
  // What makes the page wider than ``limit``: the innermost elements whose box or content reaches past it,
  // leaving out whatever sits inside a box that scrolls on its own (a .table-wrap) and fits the screen.
  const root = document.documentElement;
  const out = {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, culprits: []};
  if (root.scrollWidth <= limit) { return out; }
  const scrollsInside = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (["auto", "scroll", "hidden", "clip"].includes(style.overflowX) && p.getBoundingClientRect().right <= limit) {
        return true;
      }
    }
    return false;
  };
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) { continue; }
    const own = getComputedStyle(el).overflowX;   // a box that scrolls on its own counts by its own width
    const right = ["auto", "scroll", "hidden", "clip"].includes(own) ? box.right
                                                                      : Math.max(box.right, box.left + el.scrollWidth);
    if (right > limit && !scrollsInside(el)) { wide.push([el, right]); }
  }
  const innermost = wide.filter(([el]) => !wide.some(([other]) => other !== el && el.contains(other)));
  for (const [el, right] of innermost.slice(0, 8)) {
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "");
    out.culprits.push(name + " (to " + Math.round(right) + " px): " +
                      (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60));
  }
  return out;
}
"""


@dataclass
class Trouble:
    """What the guards saw since the last step."""

    console: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    csp: list = field(default_factory=list)
    foreign: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)

    def items(self) -> list[str]:
        out = [f"console error: {m}" for m in self.console]
        out += [f"script error: {m}" for m in self.page_errors]
        out += [f"CSP violation: {m}" for m in self.csp]
        out += [f"request to another host: {m}" for m in self.foreign]
        out += [f"server error: {m}" for m in self.server_errors]
        return out

    def clear(self) -> None:
        for name in ("console", "page_errors", "csp", "foreign", "server_errors"):
            getattr(self, name).clear()


class UI:
    """One browser page on the box at one viewport (see the module docstring)."""

    def __init__(self, browser, box: Box, *, width: int, height: int, artifacts: Path, phone: bool):
        self.box = box
        self.width = width
        self.phone = phone
        self.artifacts = artifacts
        self.artifacts.mkdir(parents=True, exist_ok=True)
        for old in self.artifacts.glob("*.png"):
            old.unlink()
        self.trouble = Trouble()
        self.hosts: set[str] = set()
        self.visited: list[str] = []
        self.steps: list[tuple[str, float]] = []
        self.layout_problems: list[str] = []
        self._count = 0
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="es-CO",
                                           timezone_id="America/Bogota", accept_downloads=False,
                                           service_workers="block")
        self.context.set_default_timeout(15_000)
        self.context.expose_binding("__cobradorCsp", lambda _source, info: self.trouble.csp.append(
            f"{info.get('directive')} blocked {info.get('blocked')!r} on {info.get('page')}"))
        self.context.add_init_script(CSP_LISTENER)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.trouble.page_errors.append(f"{exc} on {self.page.url}"))
        self.page.on("response", self._response)

    # guards
    def _route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss"):
            self.hosts.add(parts.netloc)
            if parts.netloc != self.box.netloc:
                self.trouble.foreign.append(url)
                route.abort("blockedbyclient")
                return
        route.continue_()

    def _console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.trouble.console.append(f"{message.text} ({where or self.page.url})")

    def _response(self, response) -> None:
        if response.status >= 500:
            self.trouble.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    # steps
    @contextmanager
    def step(self, name: str):
        """One step of the journey: a screenshot at its end (also when it fails) and the guards."""
        self._count += 1
        label = f"{self._count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
        started = time.monotonic()
        try:
            yield
        finally:
            self.screenshot(label)
            self.steps.append((name, time.monotonic() - started))
        self.check(name)

    def screenshot(self, label: str) -> Path | None:
        path = self.artifacts / f"{label}.png"
        try:
            self.page.screenshot(path=str(path), full_page=True, timeout=10_000)
        except Exception:  # a screenshot must never hide the real failure
            return None
        return path

    def save_failure(self) -> None:
        """A failed test leaves the page (screenshot and HTML) and the appliance's warnings and errors."""
        self.screenshot("fallo")
        try:
            (self.artifacts / "fallo.html").write_text(self.page.content(), encoding="utf-8")
        except Exception:
            pass
        (self.artifacts / "appliance.log").write_text("\n".join(self.box.log.lines) + "\n", encoding="utf-8")

    def check(self, name: str) -> None:
        """The guards of the page(s) this step visited. A page that scrolls sideways at a phone's width is
        noted in :attr:`layout_problems` (the journey goes on, so one run lists every such page; the test
        fails on them at the end); anything else fails the step at once."""
        problems = self.trouble.items()
        if self.trouble.server_errors and self.box.log.last_error():
            problems.append(f"the appliance logged: {self.box.log.last_error()} (traceback: "
                            f"{self.artifacts / 'appliance.log'})")
        self.trouble.clear()
        assert not problems, f"step «{name}»: " + "; ".join(problems)
        if self.phone:
            self.note_horizontal_scroll(name)

    def note_horizontal_scroll(self, name: str) -> None:
        probe = self.page.evaluate(OVERFLOW_PROBE, self.width + SCROLL_TOLERANCE)
        if probe["scrollWidth"] > self.width + SCROLL_TOLERANCE:
            self.layout_problems.append(
                f"step «{name}»: {self.path()} scrolls sideways at {self.width} px (the page is "
                f"{probe['scrollWidth']} px wide); what sticks out: {'; '.join(probe['culprits']) or 'unknown'}")

    # navigation
    def path(self) -> str:
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def goto(self, path: str):
        response = self.page.goto(self.box.url + path, wait_until="load")
        self.visited.append(self.path())
        return response

    def expect_path(self, pattern: str, what: str) -> None:
        """Wait for the URL's path to match ``pattern`` (a regular expression)."""
        try:
            self.page.wait_for_url(lambda url: re.fullmatch(pattern, urlsplit(url).path) is not None,
                                   timeout=15_000)
        except Exception:
            raise AssertionError(f"{what}: expected a page at {pattern}, still at {self.path()} — "
                                 f"{self.flash_text() or self.heading()}") from None
        self.visited.append(self.path())

    def menu(self, label: str) -> None:
        """Open an area from the top menu, as a person does (a menu toggle is opened first if the link is
        hidden at this width)."""
        link = self.page.locator("nav.menu a", has_text=label).first
        if link.count() == 0:
            raise AssertionError(f"the menu has no «{label}» entry on {self.path()} (menu: "
                                 f"{self.page.locator('nav.menu a').all_inner_texts()})")
        if not link.is_visible():
            toggle = self.page.locator("button[aria-controls], button.menu-toggle, [data-menu-toggle]").first
            if toggle.count():
                toggle.click()
        assert link.is_visible(), f"the menu's «{label}» entry is not visible at {self.width} px on {self.path()}"
        self.assert_reachable(link, f"menu «{label}»")
        link.click()
        self.page.wait_for_load_state("load")
        self.visited.append(self.path())

    def assert_reachable(self, locator, what: str) -> None:
        """``locator`` is on screen horizontally (a person can tap it without scrolling sideways)."""
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        assert box is not None, f"{what} is not displayed on {self.path()}"
        assert box["x"] >= -1 and box["x"] + box["width"] <= self.width + SCROLL_TOLERANCE, (
            f"{what} sticks out of the {self.width} px screen on {self.path()} (x={box['x']:.0f}, "
            f"width={box['width']:.0f})")

    def click(self, locator, what: str) -> None:
        assert locator.count() > 0, f"{what}: not found on {self.path()}"
        self.assert_reachable(locator.first, what)
        locator.first.click()

    def button(self, text: str, scope=None):
        """The button (or submit input) whose text is ``text`` exactly."""
        where = scope if scope is not None else self.page
        return where.get_by_role("button", name=text, exact=True)

    def flash_text(self) -> str:
        return " | ".join(t.strip() for t in self.page.locator("main .flash").all_inner_texts())

    def heading(self) -> str:
        h1 = self.page.locator("main h1").first
        return h1.inner_text().strip() if h1.count() else self.page.title()

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:
            pass
