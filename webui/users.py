"""Web users: names, roles and password hashes, kept in the ledger's settings.

Roles, from least to most: ``lectura`` (read-only), ``operador`` (records
payments, promises, imports, sends), ``administrador`` (users, settings,
campaigns). There is no default password: until the first administrator is
created (:func:`UserStore.create` on the setup page) the pages only offer that.

Passwords are hashed with Werkzeug's ``generate_password_hash`` (scrypt, a
salt per password) — never stored or logged in clear. A password must have at
least :data:`MIN_LENGTH` characters.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from datetime import datetime

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("lectura", "operador", "administrador")
ROLE_LABELS = {"lectura": "solo lectura", "operador": "operador", "administrador": "administrador"}
SETTINGS_KEY = "web.users"
MIN_LENGTH = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


@functools.cache
def _dummy_hash() -> str:
    """Checked against when a name is unknown, so a wrong name costs as much time as a wrong password.
    Made on first use: hashing is deliberately slow (~0.5 s on a Pi), and the appliance starts without it."""
    return generate_password_hash("cobrador-dummy-password")


class UserError(ValueError):
    """A user could not be created or changed; ``str`` is a Spanish sentence."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, role: str) -> bool:
        """True if this user's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(role)


class UserStore:
    """Users over a settings object with ``get(key)`` and ``set(key, value)`` (the ledger's settings)."""

    def __init__(self, settings):
        self.settings = settings
        self._lock = threading.Lock()

    def _all(self) -> dict:
        return dict(self.settings.get(SETTINGS_KEY) or {})

    def any(self) -> bool:
        return bool(self._all())

    def get(self, name: str) -> User | None:
        record = self._all().get(name)
        return User(name, record["role"]) if record else None

    def list(self) -> list[User]:
        return [User(n, r["role"]) for n, r in sorted(self._all().items())]

    def verify(self, name: str, password: str) -> User | None:
        record = self._all().get((name or "").strip().lower())
        if record is None:
            check_password_hash(_dummy_hash(), password or "")
            return None
        return User(name.strip().lower(), record["role"]) if check_password_hash(record["hash"], password or "") \
            else None

    def create(self, name: str, password: str, role: str, *, now: datetime) -> User:
        name = (name or "").strip().lower()
        if not _NAME.match(name):
            raise UserError("El nombre de usuario debe tener de 2 a 32 letras minúsculas, números, puntos o guiones, "
                            "sin espacios.")
        if role not in ROLES:
            raise UserError(f"Rol desconocido; use {', '.join(ROLES)}.")
        check_password(password)
        with self._lock:
            users = self._all()
            if name in users:
                raise UserError(f"Ya existe un usuario «{name}».")
            users[name] = {"hash": generate_password_hash(password), "role": role, "created": now.isoformat()}
            self.settings.set(SETTINGS_KEY, users)
        return User(name, role)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        with self._lock:
            users = self._all()
            if name not in users:
                raise UserError(f"No existe el usuario «{name}».")
            users[name] = {**users[name], "hash": generate_password_hash(password)}
            self.settings.set(SETTINGS_KEY, users)

    def remove(self, name: str) -> None:
        with self._lock:
            users = self._all()
            if name not in users:
                raise UserError(f"No existe el usuario «{name}».")
            if users[name]["role"] == "administrador" and \
                    sum(1 for u in users.values() if u["role"] == "administrador") == 1:
                raise UserError("No se puede borrar al único administrador.")
            del users[name]
            self.settings.set(SETTINGS_KEY, users)


def check_password(password: str) -> None:
    """Raise :class:`UserError` for a password too short or too obvious."""
    if not password or len(password) < MIN_LENGTH:
        raise UserError(f"La contraseña debe tener al menos {MIN_LENGTH} caracteres.")
    if len(set(password)) < 4 or password.lower() in ("cobrador123", "contraseña1", "1234567890", "password12"):
        raise UserError("Esa contraseña es demasiado fácil de adivinar; use una frase que solo usted conozca.")
