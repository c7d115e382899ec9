"""Hostile input into every POST form of the web UI: never a 500, and what is stored is shown escaped.

The forms are discovered, not listed: every GET page of ``app.url_map`` (with the ids of a small seeded
ledger filled in, and the pages those link to) is fetched as the administrator and each ``<form
method="post">`` is read (its action, its fields and their current values). Every POST route of the url_map
is fuzzed — through its discovered forms (fields kept or replaced by hostile strings, some dropped, unknown
ones added), and with hostile values in its URL's variables — sent with the session's CSRF token like a
browser. Hostile strings: HTML and script, attribute breakers, spreadsheet formulas (``=cmd|``), 1,000
characters, NUL and other control characters, RTL/zero-width marks, emoji, numbers and dates out of range,
SQL-ish and template-ish text.

Checked after each post: the status is below 500. After each route's examples: every page crawled again
shows no raw ``<script>`` or ``onerror=`` of ours (escaped it may appear), and the CSV exports start no
cell with a formula of ours.

Bounded in CI (``COBRADOR_FUZZ_EXAMPLES``, default 12 posts per route; e.g. ``COBRADOR_FUZZ_EXAMPLES=500``
for a long run). A failure names the route (the scenario) and hypothesis prints the falsifying example and
how to reproduce it (``print_blob``; ``--hypothesis-seed=<n>`` replays a run).
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from firmware_py.app import importer_services
from firmware_py.config import Config
from firmware_py.ledger import Ledger
from scheduler.clock import ClockTrust
from scheduler.policy import SETTINGS_KEY, load_policy, merge_sections
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone
from webui import create_app
from webui.services import Services

from webclient import Client

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
EXAMPLES = int(os.environ.get("COBRADOR_FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True,
                database=None)

SCRIPT = "<script>alert('fz')</script>"
ONERROR = "\"><img src=x onerror=alert('fz')>"
FORMULA = "=cmd|' /C calc'!A0"
HOSTILE = [SCRIPT, ONERROR, "'><svg/onload=alert('fz')>", FORMULA, "+SUM(1+1)*cmd|", "@HYPERLINK(\"x\")",
           "-2+3+cmd|' /C calc'!A0", "x" * 1000, "ñ" * 1000, "\x00", "a\x00b", "\x07\x1b[31m", "\u202eevil\u202c",
           "\u200f\u200e", "\ufeff", "😀👍🏽🇨🇴", "\ud7ff", "", " ", "-1", "0", "1e309", "NaN", "9" * 40, "2026-02-30",
           "31/12/9999", "0000-00-00", "' OR 1=1 --", "{{ 7*7 }}", "{nombre.__class__}", "%s%n", "../../etc/passwd",
           "\r\nSet-Cookie: x=1", "null", "true", "[]", "{}", "sms", "call", "es", "en", "admin", "operador"]
hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60),
                    st.lists(st.sampled_from(HOSTILE), min_size=2, max_size=4).map("".join))
SKIP = {
    "auth.logout": "ends the session the fuzzing runs in (a logout has no field to fuzz)",
    "auth.login": "fuzzed separately without a session: wrong passwords would throttle the administrator",
    "auth.setup": "only before the first user exists; afterwards it redirects (fuzzed without a session below)",
    "auth.reset": "fuzzed without a session below (closed unless a person at the box allows it)",
}


class Forms(HTMLParser):
    """Every ``<form method=post>``: (action, {field: value}) with inputs, selects and textareas."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.links: set[str] = set()
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.add(a["href"])
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": {}}
            self.forms.append((self._form["action"], self._form["fields"]))
        elif self._form is not None and a.get("name") and tag in ("input", "textarea", "select", "button"):
            if tag == "input" and a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].setdefault(a["name"], "")
            else:
                self._form["fields"][a["name"]] = a.get("value") or ""
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._form is not None and self._select:
            if not self._form["fields"].get(self._select):
                self._form["fields"][self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def seeded_app():
    ledger = Ledger.memory(clock=lambda: NOW)
    debtors = [Debtor("d-1", "Ana Pérez", phones=(Phone("+573001234501"),), document="111"),
               Debtor("d-2", "Luis Gómez", phones=(Phone("+573001234502"),), document="222")]
    loans = [Loan(f"L{i}", f"d-{i}", instalments=(Instalment(1, date(2026, 11, 20), Decimal(150000)),
                                                  Instalment(2, date(2026, 12, 20), Decimal(150000))))
             for i in (1, 2)]
    ledger.import_batch(debtors, loans, source="semilla.csv", now=NOW - timedelta(days=30))
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=2), "d-1", "reply", direction="inbound",
                                       phone="+573001234501", text="PAGUÉ ayer", contact_id="r-1"))
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=3), "d-2", "sending", phone="+573001234502",
                                       contact_id="d-2:L2:1:0", text="Recordatorio"))
    ledger.append_contact(ContactEvent(NOW - timedelta(hours=3), "d-2", "uncertain", phone="+573001234502",
                                       contact_id="d-2:L2:1:0", detail="el equipo se detuvo"))
    base = {"rules": {"profile": "CO", "extra_holidays": ["2026-12-07"]}}

    def policy():                               # as the appliance builds it (Appliance.policy)
        return load_policy(merge_sections(base, ledger.settings.get(SETTINGS_KEY) or {}), country="CO",
                           cooperative_name="Cooperativa La Esperanza", language="es", timezone="America/Bogota",
                           clock=ClockTrust.trusted_for_tests())
    services = Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="test", now=lambda: NOW,
                        policy=policy, engine_base=lambda: base)
    for name, function in importer_services(Config(), ledger, now=lambda: NOW).items():
        setattr(services, name, function)         # the import pages, wired as the appliance wires them
    services.wake = lambda: None
    return ledger, create_app(services, testing=True)


def get_rules(app):
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]


def crawl(client: Client, app) -> tuple[dict[str, str], list[tuple[str, dict[str, str], str]]]:
    """Fetch every GET page reachable (rules without variables, and the links found) -> (pages, forms)."""
    todo = [r.rule for r in get_rules(app) if not r.arguments]
    seen, pages, forms = set(), {}, []
    while todo and len(seen) < 200:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, f"GET {url} gave {response.status_code}"
        body = response.get_data(as_text=True)
        pages[url] = body
        if "html" not in (response.content_type or ""):
            continue
        parser = Forms()
        parser.feed(body)
        for action, fields in parser.forms:
            forms.append((urlsplit(action or url).path, fields, url))
        for link in parser.links:
            path = urlsplit(link).path
            if path not in seen and not path.startswith("/static/") and path not in ("/salir",):
                todo.append(link)
    return pages, forms


LEDGER, APP = seeded_app()
ADMIN = Client(APP)
ADMIN.setup_admin()
PAGES, FORMS = crawl(ADMIN, APP)
ADAPTER = APP.url_map.bind("localhost")
POST_RULES = sorted((r for r in APP.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)


def endpoint_of(path: str) -> str | None:
    try:
        return ADAPTER.match(path, method="POST")[0]
    except Exception:
        return None


FORMS_BY_ENDPOINT: dict[str, list[tuple[str, dict[str, str], str]]] = {}
for _action, _fields, _page in FORMS:
    FORMS_BY_ENDPOINT.setdefault(endpoint_of(_action) or "?", []).append((_action, _fields, _page))


TOKEN: list[str] = []


def ensure_logged_in() -> str:
    """The administrator's session (logged in again if a post ended it) and its CSRF token (one per session,
    read from a page as a browser does)."""
    if not TOKEN or ADMIN.get("/").status_code == 302:
        if ADMIN.get("/").status_code == 302:
            ADMIN.login("gerente")
        TOKEN[:] = [ADMIN.token("/")]
    return TOKEN[0]


RAW = ("<script>alert('fz')", "onerror=alert('fz')", "<svg/onload=alert('fz')")


def raw_markers(body: str) -> list[str]:
    return [m for m in RAW if m in body]


def assert_escaped(where: str, urls=None) -> None:
    """Every page crawled (or the ``urls`` given) shows none of our markup raw; CSV exports no formula of ours."""
    ensure_logged_in()
    if urls is None:
        pages, _ = crawl(ADMIN, APP)
    else:
        pages = {url: ADMIN.get(url).get_data(as_text=True) for url in urls}
    for url, body in pages.items():
        if url.endswith(".csv") or "/csv" in url:
            cells = [c for row in csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=sniff(body)) for c in row]
            formulas = [c for c in cells if "cmd|" in c and c[:1] in "=+-@"]
            assert not formulas, f"{where}: {url} exports formula cells {formulas[:3]}"
        else:
            assert not raw_markers(body), f"{where}: {url} shows {raw_markers(body)} unescaped"


def sniff(body: str) -> str:
    first = body.splitlines()[0] if body else ""
    return ";" if first.count(";") > first.count(",") else ","


pytestmark = pytest.mark.slow  # ~45 s at 12 posts per route


@pytest.mark.parametrize("rule", [r.rule for r in POST_RULES])
def test_hostile_posts_never_give_a_500_and_are_shown_escaped(rule):
    endpoint = next(r.endpoint for r in POST_RULES if r.rule == rule)
    if endpoint in SKIP:
        pytest.skip(SKIP[endpoint])
    forms = FORMS_BY_ENDPOINT.get(endpoint, [])
    args = sorted(next(r.arguments for r in POST_RULES if r.rule == rule))
    known = [(a, f, p) for a, f, p in forms]
    where = f"scenario=POST {rule} ({endpoint}; {len(known)} form(s) found)"

    @FUZZ
    @given(data=st.data())
    def fuzz(data):
        token = ensure_logged_in()
        if known and data.draw(st.integers(0, 4), label="use a form") > 0:
            action, fields, page = data.draw(st.sampled_from(known), label="form")
        else:                                   # the route itself, its URL variables hostile too
            values = {a: data.draw(st.one_of(st.sampled_from(["d-1", "L1", "1", "x"]), hostile), label=a)
                      for a in args}
            try:
                action = ADAPTER.build(endpoint, {a: v.replace("/", "_") or "x" for a, v in values.items()})
            except Exception:
                return
            fields, page = (known[0][1] if known else {}), (known[0][2] if known else "/")
        form = dict(fields)
        for name in list(form):
            if name == "csrf_token":
                continue
            choice = data.draw(st.sampled_from(["keep", "hostile", "hostile", "drop"]), label=f"{name}?")
            if choice == "hostile":
                form[name] = data.draw(hostile, label=name)
            elif choice == "drop":
                del form[name]
        for extra in data.draw(st.lists(st.sampled_from(["x", "id", "name", "phone", "text", "admin", "role"]),
                                        max_size=2, unique=True), label="extra fields"):
            form.setdefault(extra, data.draw(hostile, label=extra))
        form["csrf_token"] = token
        note(f"{where}: POST {action} {form!r}")
        response = ADMIN.http.post(action, data=form)
        assert response.status_code < 500, f"{where}: POST {action} gave {response.status_code} for {form!r}"
        if "html" in (response.content_type or ""):
            body = response.get_data(as_text=True)
            assert not raw_markers(body), f"{where}: the answer shows {raw_markers(body)} unescaped"

    fuzz()
    assert_escaped(where, sorted({p for _, _, p in known} | {"/", "/deudores", "/mensajes.csv"}))


@pytest.mark.parametrize("path", ["/entrar", "/configurar", "/restablecer", "/ajustes/apagar", "/ajustes/reiniciar"])
def test_hostile_posts_without_a_session_never_give_a_500(path):
    where = f"scenario=POST {path} without a session"

    @FUZZ
    @given(fields=st.dictionaries(st.sampled_from(["name", "password", "confirm", "next", "csrf_token", "x"]),
                                  hostile, max_size=5), with_token=st.booleans())
    def fuzz(fields, with_token):
        anonymous = Client(APP)
        if with_token and "csrf_token" not in fields:
            fields["csrf_token"] = anonymous.token("/entrar")
        response = anonymous.http.post(path, data=fields)
        assert response.status_code < 500, f"{where}: {response.status_code} for {fields!r}"

    fuzz()
    assert ADMIN.get("/").status_code in (200, 302)


def test_hostile_text_stored_through_valid_forms():
    """Hostile text that passes validation (a new debtor, a promise note) is stored as typed — so the crawl
    below has our markup to find if a page showed it raw."""
    token = ensure_logged_in()
    name = f"Ana {SCRIPT}{ONERROR}\u202e😀"
    form = dict(FORMS_BY_ENDPOINT["debtors.new"][0][1], csrf_token=token, name=name, document="9090901",
                tags=FORMULA, officer=ONERROR, group="\u202eRTL")
    form["phones-0-number"] = "3001239090"
    response = ADMIN.http.post("/deudores/nuevo", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    stored = [d for d in LEDGER.debtors() if SCRIPT in d.name]
    assert stored, "the hostile name was not stored as typed"
    note_form = dict(FORMS_BY_ENDPOINT["debtors.promise"][0][1], csrf_token=token, amount="1000",
                     day="2026-11-30", note=f"{SCRIPT} {FORMULA}")
    response = ADMIN.http.post(f"/deudores/{stored[0].id}/promesa", data=note_form)
    assert response.status_code < 500
    page = ADMIN.get(f"/deudores/{stored[0].id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in page and not raw_markers(page), raw_markers(page)


def test_every_page_shows_what_the_fuzzing_stored_escaped():
    """After every route was fuzzed (this test runs after them): the whole site crawled again, debtors,
    templates, users and imports the fuzzing created included."""
    assert_escaped("scenario=crawl after fuzzing every form")


def test_the_crawl_found_the_forms():
    """The discovery is not silently empty: most POST routes have a form on some page."""
    found = {endpoint_of(a) for a, _, _ in FORMS} - {None}
    posts = {r.endpoint for r in POST_RULES}
    assert len(found) >= len(posts) // 2, (sorted(found), sorted(posts - found))
    assert re.search(r"Ana P", PAGES.get("/deudores", "")), "the seeded debtors are not listed"
