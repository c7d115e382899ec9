"""scheduler.fastbuild: a built instance is the frozen dataclass's own, field for field."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import datetime, timezone

import pytest

from scheduler.fastbuild import frozen_builder
from scheduler.planner import Decision, _new_decision
from scheduler.reasons import Reason


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 7
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Boxed:  # without slots: instances keep a __dict__
    inside: tuple
    note: str = "n"


def test_built_points_are_points_and_stay_frozen():
    new_point = frozen_builder(Point)
    built = new_point(1, label="a")
    assert type(built) is Point and built == Point(1, label="a") and hash(built) == hash(Point(1, label="a"))
    assert repr(built) == "Point(x=1, y=7, label='a')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del built.y
    assert pickle.loads(pickle.dumps(built)) == built
    assert dataclasses.replace(built, y=1) == Point(1, 1, "a")


def test_classes_without_slots_work_too():
    built = frozen_builder(Boxed)((1, 2))
    assert type(built) is Boxed and built == Boxed((1, 2)) and built.note == "n"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.note = "x"


def test_what_the_builder_cannot_do_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Factory:
        items: list = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self):
            raise ValueError

    @dataclasses.dataclass
    class Mutable:
        x: int

    for cls in (Factory, Checked, Mutable):
        with pytest.raises(TypeError):
            frozen_builder(cls)


def test_a_caller_that_checks_the_values_itself_may_skip_post_init():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self):
            if self.x < 0:
                raise ValueError("negative")

    built = frozen_builder(Checked, checked_by_caller=True)(-1)  # the caller's promise is not re-checked
    assert type(built) is Checked and built.x == -1
    with pytest.raises(ValueError):
        Checked(-1)


def test_a_built_decision_is_a_decision_with_its_lazy_text():
    at = datetime(2026, 3, 10, 15, tzinfo=timezone.utc)
    fields = ("d-1:L1:1:m7", "d-1", "L1", 1, "m7", "sms", "+573001234567", "recordatorio")
    built = _new_decision(*fields, lambda: "Hola", at, "wait", Reason.SCHEDULED, "al_dia", "detalle")
    eager = Decision(*fields, "Hola", at, "wait", Reason.SCHEDULED, "al_dia", "detalle")
    assert type(built) is Decision and built == eager and built.to_dict() == eager.to_dict()
    assert built.text == "Hola"
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.action = "send"
