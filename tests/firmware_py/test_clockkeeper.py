"""Time without internet: never backwards across reboots, network time through one checked setter."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from firmware_py.clockkeeper import REQUEST_FILE, ClockError, ClockKeeper, apply_request, restore

T = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)


class Setter:
    """Records what the privileged setter was asked (the real one needs CAP_SYS_TIME)."""

    def __init__(self):
        self.calls = []

    def __call__(self, moment):
        self.calls.append(moment)


def test_remember_never_goes_backwards(tmp_path):
    keeper = ClockKeeper(tmp_path)
    keeper.remember(T)
    keeper.remember(T - timedelta(hours=5))
    assert keeper.last_known() == T


def test_restore_moves_a_clock_that_booted_in_the_past_forward(tmp_path):
    ClockKeeper(tmp_path).remember(T)
    setter = Setter()
    assert restore(tmp_path, now=datetime(1970, 1, 1, tzinfo=timezone.utc), setter=setter) == T
    assert setter.calls == [T]
    assert restore(tmp_path, now=T + timedelta(minutes=1), setter=setter) is None
    assert setter.calls == [T]


def test_restore_without_a_saved_time_does_nothing(tmp_path):
    assert restore(tmp_path, now=T, setter=Setter()) is None


def test_network_time_request_is_applied_once(tmp_path):
    keeper = ClockKeeper(tmp_path)
    keeper.remember(T)
    keeper.request(T + timedelta(hours=2), now=T, source="nitz")
    setter = Setter()
    applied = apply_request(tmp_path, now=T, setter=setter)
    assert abs(applied - (T + timedelta(hours=2))) < timedelta(seconds=5)
    assert not (tmp_path / REQUEST_FILE).exists()
    with pytest.raises(ClockError):
        apply_request(tmp_path, now=T, setter=setter)
    assert len(setter.calls) == 1


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(network_time=(T - timedelta(days=1)).isoformat()), "anterior a la última hora"),
    (lambda d: d.update(requested_monotonic=time.monotonic() - 3600), "vieja"),
    (lambda d: d.update(requested_monotonic=time.monotonic() + 3600), "vieja"),
    (lambda d: d.update(network_time="mañana"), "dañada"),
    (lambda d: d.update(requested_monotonic="x"), "dañada"),
    (lambda d: d.update(network_time=(T + timedelta(days=5000)).isoformat()), "diez años"),
], ids=["earlier-than-known", "stale", "from-another-boot", "garbled-time", "garbled-counter", "absurd-step"])
def test_bad_requests_are_refused_and_removed(tmp_path, change, message):
    keeper = ClockKeeper(tmp_path)
    keeper.remember(T)
    keeper.request(T + timedelta(minutes=3), now=T, source="nitz")
    path = tmp_path / REQUEST_FILE
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    setter = Setter()
    with pytest.raises(ClockError, match=message):
        apply_request(tmp_path, now=T, setter=setter)
    assert setter.calls == [] and not path.exists()


def test_garbage_state_file_is_no_floor(tmp_path):
    (tmp_path / "clock.json").write_text("{no json")
    assert ClockKeeper(tmp_path).last_known() is None
