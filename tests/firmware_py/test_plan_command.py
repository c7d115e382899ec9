"""``cobrador plan`` as the office reads it: the plan's instant in the cooperative's own time, and the clock
judged as the running service judges it (its modem's network time, a confirmation by staff) rather than as
a command with no modem of its own would."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from firmware_py import cli
from firmware_py.commands.plan import clock_trust
from firmware_py.status_file import STATUS_FILE

ROOT = Path(__file__).resolve().parents[2]
LOANS = ROOT / "firmware_py" / "importer" / "examples" / "prestamos_una_fila_por_credito.csv"
NOW = datetime(2026, 11, 27, 4, 30, tzinfo=timezone.utc)  # 23:30 of the 26th in Bogotá


def publish(data_dir: Path, *, written_at: datetime, clock: dict, pid: int | None = None, state="running") -> None:
    """A status file as the service writes it (see firmware_py.status_file), with only what plan reads."""
    record = {"state": state, "pid": os.getpid() if pid is None else pid, "written_at": written_at.isoformat(),
              "clock": clock}
    (data_dir / STATUS_FILE).write_text(json.dumps(record), encoding="utf-8")


@pytest.fixture
def unsynchronised(monkeypatch):
    """This machine's own synchronisation says nothing (whatever the test machine's is)."""
    import firmware_py.timekeeping as timekeeping
    monkeypatch.setattr(timekeeping, "TIMESYNC_FLAG", Path("/nonexistent/cobrador-timesync"))
    monkeypatch.setattr(timekeeping, "kernel_synchronised", lambda: False)


def network(at: datetime, source="network", trusted=True) -> dict:
    return {"trusted": trusted, "source": source, "detail": "", "network_time": at.isoformat()}


def test_a_running_service_with_network_time_makes_the_clock_trusted(tmp_path, unsynchronised):
    assert clock_trust(tmp_path, NOW).trusted is False  # no service: nothing confirms the time
    publish(tmp_path, written_at=NOW - timedelta(seconds=8), clock=network(NOW - timedelta(seconds=8)))
    trust = clock_trust(tmp_path, NOW)
    assert trust.trusted and trust.source == "network"


def test_the_network_time_is_carried_to_now_and_a_skew_is_still_refused(tmp_path, unsynchronised):
    publish(tmp_path, written_at=NOW - timedelta(seconds=20), clock=network(NOW - timedelta(hours=2, seconds=20)))
    trust = clock_trust(tmp_path, NOW)
    assert not trust.trusted and trust.source == "skew"


@pytest.mark.parametrize("status", [
    {"state": "stopped"},
    {"written_at": NOW - timedelta(minutes=5)},  # stale: the service is not running any more
    {"pid": 2 ** 22 + 12345},  # no such process
], ids=["stopped", "stale", "dead-process"])
def test_a_service_not_running_is_not_believed(tmp_path, unsynchronised, status):
    publish(tmp_path, written_at=status.get("written_at", NOW), clock=network(NOW), pid=status.get("pid"),
            state=status.get("state", "running"))
    assert clock_trust(tmp_path, NOW).trusted is False


def test_a_staff_confirmation_the_service_holds_counts(tmp_path, unsynchronised):
    publish(tmp_path, written_at=NOW, clock={"trusted": True, "source": "staff", "detail": "", "network_time": None})
    assert clock_trust(tmp_path, NOW).source == "staff"
    publish(tmp_path, written_at=NOW, clock={"trusted": False, "source": "staff", "network_time": None})
    assert clock_trust(tmp_path, NOW).trusted is False


def test_a_malformed_clock_record_is_ignored(tmp_path, unsynchronised):
    publish(tmp_path, written_at=NOW, clock={"trusted": "sí", "network_time": "ayer"})
    assert clock_trust(tmp_path, NOW).trusted is False
    publish(tmp_path, written_at=NOW, clock="roto")  # type: ignore[arg-type]
    assert clock_trust(tmp_path, NOW).trusted is False


def test_the_table_gives_the_instant_in_the_cooperatives_time(tmp_path, capsys):
    data = tmp_path / "datos"
    assert cli.main(["import", str(LOANS), "--data", str(data)]) == 0
    capsys.readouterr()
    assert cli.main(["plan", "--data", str(data), "--at", "2026-11-02T22:30-05:00"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Plan para el 02/11/2026 22:30 (hora de America/Bogota):"), first
    assert "UTC" not in first
