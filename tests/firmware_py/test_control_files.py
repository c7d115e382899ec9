"""The appliance's small helpers for the command line: control requests (firmware_py.control), the published
status (firmware_py.status_file) and the clock keeping loop (firmware_py.clock_loop) — without an appliance."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from firmware_py import control
from firmware_py.clock_loop import ClockLoop
from firmware_py.clockkeeper import REQUEST_FILE, ClockKeeper
from firmware_py.ledger import Ledger
from firmware_py.status_file import StatusPublisher, read_status, running_service
from scheduler.clock import ClockTrust


class Box:
    """What the control handlers use of an appliance: a ledger and a dispatcher that counts wake-ups."""

    def __init__(self):
        self.ledger = Ledger.memory()
        self.woken = 0
        self.dispatcher = SimpleNamespace(wake=self.wake)

    def wake(self):
        self.woken += 1


def test_requests_are_applied_answered_and_removed(tmp_path):
    box = Box()
    watcher = control.ControlWatcher(tmp_path, control.appliance_handlers(box))
    request_id = control.write_request(tmp_path, control.PAUSE)
    assert watcher.check() == [control.PAUSE]
    assert box.ledger.settings.get("sending_paused") is True and box.woken == 1
    answer = control.wait_answer(tmp_path, control.PAUSE, request_id, timeout=0)
    assert answer["ok"] is True and answer["message"] == "Envíos en pausa."
    assert control.pending(tmp_path, control.PAUSE) is None and watcher.check() == []
    control.write_request(tmp_path, control.RESUME)
    watcher.check()
    assert box.ledger.settings.get("sending_paused") is False and box.woken == 2


def test_the_latest_wish_wins_and_files_are_private(tmp_path):
    control.write_request(tmp_path, control.PAUSE)
    control.write_request(tmp_path, control.RESUME)
    assert control.pending(tmp_path, control.PAUSE) is None and control.pending(tmp_path, control.RESUME)
    assert oct((tmp_path / "control" / "resume").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "control").stat().st_mode & 0o777) == "0o700"


def test_a_damaged_request_is_answered_as_such_and_dropped(tmp_path):
    (tmp_path / "control").mkdir()
    (tmp_path / "control" / "pause").write_text("no es json")
    watcher = control.ControlWatcher(tmp_path, control.appliance_handlers(Box()))
    assert watcher.check() == [control.PAUSE]
    answer = control.read_json(tmp_path / "control" / "pause.done")
    assert answer["ok"] is False and "dañada" in answer["message"]
    assert not (tmp_path / "control" / "pause").exists()


def user_record(name, password, *, now):
    """What ``cobrador set-password`` sends: the record the web page would store for a new administrator."""
    from webui.users import SETTINGS_KEY, UserStore

    class Settings(dict):
        def set(self, key, value):
            self[key] = value

    store = UserStore(Settings())
    user = store.create(name, password, "administrador", now=now)
    return user.name, store.settings[SETTINGS_KEY][user.name]


def test_set_password_request_carries_a_hash_and_creates_or_updates_the_user(tmp_path):
    from webui.users import UserStore

    box = Box()
    watcher = control.ControlWatcher(tmp_path, control.appliance_handlers(box))
    now = datetime.now(timezone.utc)
    name, record = user_record("Gerente", "una frase larga de prueba", now=now)
    control.write_request(tmp_path, control.SET_PASSWORD, {"user": name, "record": record})
    assert "una frase larga" not in (tmp_path / "control" / "set-password").read_text()
    watcher.check()
    users = UserStore(box.ledger.settings)
    assert users.get("gerente").role == "administrador" and users.verify("gerente", "una frase larga de prueba")
    users.create("cajera", "otra frase bastante larga", "operador", now=now)
    _, record = user_record("cajera", "la clave nueva de la caja", now=now)
    request_id = control.write_request(tmp_path, control.SET_PASSWORD, {"user": "cajera", "record": record})
    watcher.check()
    assert users.get("cajera").role == "operador" and users.verify("cajera", "la clave nueva de la caja")
    assert "cambiada" in control.wait_answer(tmp_path, control.SET_PASSWORD, request_id, timeout=0)["message"]


def test_status_file_freshness(tmp_path):
    now = datetime.now(timezone.utc)
    assert read_status(tmp_path) is None
    control.write_json(tmp_path / "status.json", {"state": "running", "pid": os.getpid(),
                                                  "written_at": now.isoformat()})
    assert running_service(tmp_path, now=now + timedelta(seconds=59)) is not None
    assert running_service(tmp_path, now=now + timedelta(seconds=61)) is None
    assert read_status(tmp_path, now=now + timedelta(seconds=61)).age > 60


def test_publisher_survives_parts_it_cannot_read(tmp_path):
    def broken():
        raise RuntimeError("todavía no")

    box = SimpleNamespace(data_dir=tmp_path, link=None, ledger=None, policy=broken, url="http://x/")
    publisher = StatusPublisher(box, interval=3600)
    publisher.start()
    publisher.close()
    data = control.read_json(tmp_path / "status.json")
    assert data["state"] == "stopped" and data["modem"] is None and data["sending_paused"] is None
    assert data["disk"]["free_bytes"] > 0 and data["pid"] == os.getpid()


class Clock:
    def __init__(self, now):
        self.now = now
        self.ticks = 0.0

    def monotonic(self):
        return self.ticks


def loop_for(tmp_path, clock, *, trusted=True, network=None):
    return ClockLoop(tmp_path, trust=lambda: ClockTrust(trusted, "network" if trusted else "no_source"),
                     network_now=lambda: network() if network else None, now=lambda: clock.now,
                     monotonic=clock.monotonic)


def test_clock_loop_remembers_only_a_trusted_time(tmp_path):
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc))
    assert loop_for(tmp_path, clock, trusted=False).tick() is None
    assert ClockKeeper(tmp_path).last_known() is None
    assert loop_for(tmp_path, clock).tick() == "remembered"
    assert ClockKeeper(tmp_path).last_known() == clock.now


def test_clock_loop_asks_for_the_networks_time_when_it_differs_by_more_than_two_minutes(tmp_path):
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc))
    offset = {"value": timedelta(minutes=1)}
    loop = loop_for(tmp_path, clock, trusted=False, network=lambda: clock.now + offset["value"])
    assert loop.tick() is None and not (tmp_path / REQUEST_FILE).exists()
    offset["value"] = timedelta(hours=2)
    assert loop.tick() == "requested"
    request = control.read_json(tmp_path / REQUEST_FILE)
    assert request["network_time"] == (clock.now + timedelta(hours=2)).isoformat() and request["source"] == "modem"
    (tmp_path / REQUEST_FILE).unlink()
    clock.ticks += 60
    assert loop.tick() is None   # the same correction is not asked again every minute
    clock.ticks += 600
    assert loop.tick() == "requested"
