"""Who is logged in, and what they may do.

Every page needs a logged-in user except the few in :data:`PUBLIC` (login,
first-time setup, the physical-presence password reset, static files, the
health check, the language switch). Until the first administrator exists
every page leads to the setup page. Sessions expire after
:data:`IDLE_MINUTES` without a request and :data:`MAX_HOURS` in all. Views
ask for a role with :func:`role_required`; a read-only user gets 403 on
anything that changes data.

Login throttling (:class:`Throttle`): after :data:`FREE_ATTEMPTS` failures for
a name or an address, each further attempt must wait, doubling up to
:data:`MAX_WAIT` seconds.
"""

from __future__ import annotations

import functools
import threading
import time

from flask import abort, current_app, g, redirect, request, session, url_for

from webui.users import User, UserStore

PUBLIC = frozenset({"auth.login", "auth.setup", "auth.reset", "static", "healthz", "favicon", "i18n.language"})
IDLE_MINUTES = 30
MAX_HOURS = 10
FREE_ATTEMPTS = 5
MAX_WAIT = 900.0


def users() -> UserStore:
    return current_app.extensions["cobrador.users"]


def current_user() -> User | None:
    return g.get("user")


def load_user() -> None:
    """``before_request``: the session's user (still existing, not expired) in ``g.user``; redirects."""
    g.user = None
    now = time.time()
    name = session.get("user")
    if name:
        user = users().get(name)
        fresh = now - session.get("seen", 0) < IDLE_MINUTES * 60 and now - session.get("since", 0) < MAX_HOURS * 3600
        if user is None or not fresh:
            session.clear()
        else:
            g.user = user
            session["seen"] = now
    if request.endpoint in PUBLIC or request.endpoint is None:
        return None
    if not users().any():
        return redirect(url_for("auth.setup"))
    if g.user is None:
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    return None


def login(user: User) -> None:
    session.clear()
    session.permanent = True
    session["user"] = user.name
    session["since"] = session["seen"] = time.time()


def role_required(role: str):
    """Decorator: the view needs a logged-in user with ``role`` or above (403 otherwise)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login"))
            if not user.can(role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


class Throttle:
    """Failed logins per key (a name, an address): how long the next attempt must wait."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before another attempt is allowed for any of ``keys`` (0: now)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._failures[k][1] - now for k in keys if k in self._failures])

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                count = self._failures.get(key, (0, 0.0))[0] + 1
                delay = 0.0 if count < FREE_ATTEMPTS else min(MAX_WAIT, 2.0 ** (count - FREE_ATTEMPTS + 1))
                self._failures[key] = (count, now + delay)
            if len(self._failures) > 10_000:  # bounded memory against a flood of names
                self._failures.clear()

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
