"""Engine edits made on the web page: how the template page (:mod:`webui.message_templates`) and the campaigns
page (:mod:`webui.campaigns`) change the reminder engine.

The edits are kept in the ledger setting ``scheduler.policy.SETTINGS_KEY`` as the same structure as the
configuration file's engine sections, laid over the file's (``Services.engine_base()``) with
:func:`scheduler.policy.merge_sections`, and an edit is stored only when :func:`scheduler.policy.load_policy`
accepts the result — otherwise the :class:`~scheduler.errors.PolicyError` (its ``key`` names the setting at
fault, its text is Spanish) goes back to the page and nothing is written. The appliance reads the same setting
on its next plan.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any, Callable

from scheduler.errors import PolicyError
from scheduler.policy import SETTINGS_KEY, Policy, load_policy, merge_sections

_LOCK = threading.Lock()
"""One edit at a time (read, change, validate, store), whichever page makes it."""


class EngineUnavailable(RuntimeError):
    """The appliance did not hand in ``engine_base``: the page cannot validate edits (Spanish message)."""


@dataclass
class EngineEdits:
    """The engine sections edited on the page (see the module docstring), for one request.

    ``base``: the configuration file's sections; ``country``, ``name``, ``language``, ``timezone``: the
    cooperative's, as ``load_policy`` needs them.
    """

    ledger: Any
    base: dict
    country: str
    name: str
    language: str
    timezone: str

    @classmethod
    def of(cls, services) -> "EngineEdits":
        """The edits of the appliance's ``services``; raises :class:`EngineUnavailable` without ``engine_base``."""
        if services.engine_base is None:
            raise EngineUnavailable("Este equipo no entregó la configuración del motor: no se pueden revisar ni "
                                    "guardar cambios aquí. Avise al soporte técnico.")
        language = "es"
        name = services.cooperative
        if services.policy is not None:
            live = services.policy()
            language = live.templates.default_language
            name = live.cooperative.name
        return cls(services.ledger, copy.deepcopy(services.engine_base() or {}), services.country, name, language,
                   services.timezone)

    def overrides(self) -> dict:
        """The stored edits (a copy: change it freely)."""
        return copy.deepcopy(self.ledger.settings.get(SETTINGS_KEY) or {})

    def merged(self, overrides: dict | None = None) -> dict:
        """The file's sections with ``overrides`` (default: the stored edits) laid over them."""
        return merge_sections(self.base, self.overrides() if overrides is None else overrides)

    def load(self, overrides: dict | None = None) -> Policy:
        """The policy of the file with ``overrides`` (default: the stored ones). Raises ``PolicyError``."""
        return load_policy(self.merged(overrides), country=self.country, cooperative_name=self.name,
                           language=self.language, timezone=self.timezone)

    def current(self) -> Policy:
        """The policy in force: the stored edits, or the file's alone if they no longer validate (as the
        appliance does)."""
        return self.in_force()[0]

    def in_force(self) -> tuple[Policy, dict]:
        """``(policy in force, the edits it was made with)`` (``{}`` when the stored ones no longer validate)."""
        overrides = self.overrides()
        try:
            return self.load(overrides), overrides
        except PolicyError:
            return self.load({}), {}

    def candidate(self, change: Callable[[dict], None]) -> tuple[dict, Policy]:
        """``change(overrides)`` applied to a copy of the stored edits, validated: ``(overrides, policy)``.
        Raises ``PolicyError``; nothing is stored."""
        overrides = self.overrides()
        change(overrides)
        return overrides, self.load(overrides)

    def save(self, change: Callable[[dict], None]) -> Policy:
        """Apply ``change`` to the stored edits and store them if they validate; returns the new policy.
        Raises ``PolicyError`` (nothing stored). Changes are applied one at a time."""
        return self.save_with_edits(change)[1]

    def save_with_edits(self, change: Callable[[dict], None]) -> tuple[dict, Policy]:
        """:meth:`save`, returning ``(the edits stored, the new policy)``."""
        with _LOCK:
            overrides, policy = self.candidate(change)
            self.ledger.settings.set(SETTINGS_KEY, overrides)
            return overrides, policy

    def section(self, name: str) -> Any:
        """The merged value of one section (a copy)."""
        return copy.deepcopy(self.merged().get(name))
