"""The browser tests' guards catch what they promise to catch (a guard that never fires proves nothing):
a Content-Security-Policy violation, a console error, an uncaught script error, a request to another host,
and a page wider than a phone's screen."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_guards_see_csp_violations_console_errors_foreign_hosts_and_sideways_scroll(ui_factory, box):
    ui = ui_factory(360, 740)
    ui.goto("/entrar")
    assert ui.path() == "/entrar"
    ui.check("a clean page")  # the login page itself is clean
    assert not ui.layout_problems

    ui.page.evaluate("""() => {
        const s = document.createElement("script"); s.textContent = "window.inline = 1;";
        document.body.appendChild(s);                       // inline script: refused by script-src 'self'
        console.error("a console error");
        setTimeout(() => { throw new Error("an uncaught error"); }, 0);
        const wide = document.createElement("div"); wide.style.width = "900px"; wide.textContent = "wide";
        document.querySelector("main").appendChild(wide);
    }""")
    ui.page.wait_for_timeout(300)
    assert ui.page.evaluate("() => window.inline") is None, "the CSP let an inline script run"
    with pytest.raises(AssertionError) as caught:
        ui.check("a page with trouble")
    message = str(caught.value)
    assert "CSP violation: script-src" in message, message
    assert "console error: a console error" in message, message
    assert "script error: " in message and "an uncaught error" in message, message
    ui.note_horizontal_scroll("wide")
    assert ui.layout_problems and "div (to 9" in ui.layout_problems[-1], ui.layout_problems

    with pytest.raises(Exception):
        ui.page.goto("http://example.invalid/", timeout=5_000)  # aborted by the route guard, never sent
    assert ui.trouble.foreign == ["http://example.invalid/"], ui.trouble.foreign
    assert "example.invalid" in ui.hosts
