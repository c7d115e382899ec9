"""The appliance's start order: the web page answers while the dispatcher starts (its recovery reads the recent
contact log, seconds for a large one); systemd hears READY only once the dispatcher runs."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request

import pytest
from test_cli_appliance import wait_until  # the appliance tests' polling helper

from firmware_py.app import Appliance
from firmware_py.config import Config
from scheduler.dispatcher import Dispatcher

pytestmark = pytest.mark.slow


def health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url + "healthz", timeout=2) as answer:
            return json.loads(answer.read())
    except OSError:
        return None


def test_the_page_answers_while_the_dispatcher_recovers_and_ready_waits_for_it(tmp_path, monkeypatch):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    release = threading.Event()
    recover = Dispatcher.recover

    def slow_recover(self):  # a large contact log being read
        assert release.wait(30)
        return recover(self)

    monkeypatch.setattr(Dispatcher, "recover", slow_recover)
    box = Appliance(Config().with_overrides(data_dir=tmp_path / "data", port=0), simulate=True)
    try:
        box.start()
        serving = threading.Thread(target=box.serve_forever, daemon=True)
        serving.start()
        page = wait_until(lambda: (health(box.url) or {}).get("modem", {}).get("state") == "connected")
        assert page and not box.dispatcher.running and not box.wait_started(timeout=0)
        with pytest.raises(TimeoutError):
            notify.recv(4096)  # nothing told to systemd yet
        release.set()
        assert box.wait_started(timeout=20) and box.dispatcher.running
        message = notify.recv(4096).decode()
        assert message.startswith("READY=1\n") and box.url in message
        assert box.healthy()
    finally:
        release.set()
        box.close()  # closes the server too: serve_forever's loop ends
        notify.close()


def test_close_while_the_dispatcher_starts_waits_for_it(tmp_path, monkeypatch):
    started = threading.Event()
    release = threading.Event()
    recover = Dispatcher.recover

    def slow_recover(self):
        started.set()
        assert release.wait(30)
        return recover(self)

    monkeypatch.setattr(Dispatcher, "recover", slow_recover)
    box = Appliance(Config().with_overrides(data_dir=tmp_path / "data", port=0), simulate=True)
    box.start()
    assert started.wait(20)
    threading.Timer(0.3, release.set).start()
    box.close()  # waits for the start, then stops the dispatcher: no scheduler left running
    assert not box.dispatcher.running and box.ledger.closed
