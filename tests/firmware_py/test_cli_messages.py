"""What the ``cobrador`` command tells the office: a ledger in use, the contacts export in Spanish and
local time, singular and plural."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.importer.export import export_csv
from firmware_py.ledger import Ledger
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "firmware_py" / "importer" / "examples"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def cobrador(*args, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, "-m", "firmware_py", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# -- 15: a ledger already open says what to do -------------------------------------------------
def test_a_ledger_in_use_says_how_to_stop_the_service_or_use_the_web_page(tmp_path):
    with Ledger.open(tmp_path / "data"):
        result = cobrador("import", EXAMPLES / "prestamos_una_fila_por_credito.csv", "--data", tmp_path / "data")
    assert result.returncode == 1
    assert "sudo systemctl stop cobrador" in result.stderr and "página web" in result.stderr, result.stderr


# -- 18: the contacts export in Spanish and in the cooperative's time --------------------------
@pytest.fixture
def contacts_ledger():
    with Ledger.memory(clock=lambda: NOW) as ledger:
        debtor = Debtor(id=debtor_id_for("1020304"), name="Ana Ríos", document="1020304",
                        phones=(Phone("+573001234567"),))
        loan = Loan(external_id="CR-1", debtor_id=debtor.id, product="Microcrédito",
                    instalments=(Instalment(1, date(2027, 1, 15), Decimal("100")),))
        ledger.import_batch([debtor], [loan], source="prueba")
        events = [("sent", "sms", "outbound"), ("delivered", "sms", "outbound"), ("reply", "sms", "inbound"),
                  ("delivered", "call", "outbound"), ("note", "sms", "internal")]
        for minute, (kind, channel, direction) in enumerate(events):
            ledger.append_contact(ContactEvent(at=NOW.replace(minute=minute), debtor_id=debtor.id, kind=kind,
                                               channel=channel, direction=direction, phone="+573001234567"))
        yield ledger


def _rows(raw: bytes) -> list[dict]:
    header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";")
    return [dict(zip(header, row)) for row in rows]


def test_contacts_export_is_in_spanish_and_in_the_cooperatives_time(contacts_ledger):
    out = io.BytesIO()
    export_csv(contacts_ledger, "contacts", out, country="CO", timezone="America/Bogota")
    rows = _rows(out.getvalue())
    assert [(r["Tipo"], r["Canal"], r["Dirección"]) for r in rows] == [
        ("enviado", "SMS", "saliente"), ("entregado", "SMS", "saliente"), ("respuesta", "SMS", "entrante"),
        ("contestada", "llamada", "saliente"), ("nota", "SMS", "interna")]
    assert rows[0]["Fecha y hora"] == "23/11/2026 07:00" and rows[4]["Fecha y hora"] == "23/11/2026 07:04"


def test_contacts_export_iso_keeps_the_machine_readable_values(contacts_ledger):
    out = io.BytesIO()
    export_csv(contacts_ledger, "contacts", out, country="CO", timezone="America/Bogota", iso=True)
    rows = _rows(out.getvalue())
    assert [(r["Tipo"], r["Canal"], r["Dirección"]) for r in rows][:3] == [
        ("sent", "sms", "outbound"), ("delivered", "sms", "outbound"), ("reply", "sms", "inbound")]
    assert rows[0]["Fecha y hora (UTC)"] == "2026-11-23T12:00:00Z"


def test_export_command_uses_the_configured_time_zone_and_iso_option(tmp_path):
    config = tmp_path / "cobrador.toml"
    config.write_text('[cooperative]\ncountry = "MX"\ntimezone = "America/Mexico_City"\n')
    with Ledger.open(tmp_path / "data") as ledger:
        debtor = Debtor(id=debtor_id_for("9"), name="Luz", document="9", phones=(Phone("+525512345678"),))
        ledger.import_batch([debtor], [], source="x")
        ledger.append_contact(ContactEvent(at=NOW, debtor_id=debtor.id, kind="sent", phone="+525512345678"))
    local = cobrador("export", "contacts", "--config", config, "--data", tmp_path / "data")
    assert local.returncode == 0, local.stderr
    header, row = csv.reader(io.StringIO(local.stdout.lstrip("\ufeff")))
    assert dict(zip(header, row))["Fecha y hora"] == "23/11/2026 06:00" and "enviado" in row
    iso = cobrador("export", "contacts", "--iso", "--config", config, "--data", tmp_path / "data")
    header, row = csv.reader(io.StringIO(iso.stdout.lstrip("\ufeff")))
    assert dict(zip(header, row))["Fecha y hora (UTC)"] == "2026-11-23T12:00:00Z" and "sent" in row


def test_one_exported_row_is_singular(tmp_path):
    with Ledger.open(tmp_path / "data") as ledger:
        debtor = Debtor(id=debtor_id_for("9"), name="Luz", document="9", phones=(Phone("+573001234567"),))
        ledger.import_batch([debtor], [Loan(external_id="C", debtor_id=debtor.id,
                                            instalments=(Instalment(1, date(2027, 1, 1), Decimal(1)),))],
                            source="x")
    result = cobrador("export", "loans", "--data", tmp_path / "data", "--out", tmp_path / "p.csv")
    assert result.returncode == 0 and "1 fila exportada a" in result.stderr, result.stderr
