"""What the ``cobrador`` command tells the office: a ledger in use, singular and plural, example
files an office can get, the contacts export in Spanish and local time."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_py.cli import main
from firmware_py.importer import ImportOptions, import_loans
from firmware_py.importer.errors import ImportFileError
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


# -- 18: small Spanish -----------------------------------------------------------------------
@pytest.mark.parametrize("junk,expected", [
    (1, "se ignoró 1 fila antes de los encabezados"),
    (2, "se ignoraron 2 filas antes de los encabezados"),
])
def test_rows_before_the_headers_singular_and_plural(junk, expected):
    text = "".join(f"Reporte de cartera {i}\n" for i in range(junk))
    text += "Crédito;Nombre;Cédula;Celular;Monto;Vence\nA;Ana;1;3001234567;100;15/01/2027\n"
    report = import_loans(io.BytesIO(text.encode()), None, now=NOW, options=ImportOptions(dry_run=True))
    assert [w.message for w in report.warnings] == [expected]


@pytest.mark.parametrize("extra,rejected,warned", [
    (1, "… y 1 fila rechazada más", "… y 1 aviso más"),
    (2, "… y 2 filas rechazadas más", "… y 2 avisos más"),
])
def test_rows_left_off_the_screen_singular_and_plural(capsys, extra, rejected, warned):
    from firmware_py.commands.import_ import _print_human
    from firmware_py.importer.importer import ImportReport, Rejection, Warning_

    count = 20 + extra
    report = ImportReport(source="lista.csv", dry_run=True, rejected=count,
                          rejections=[Rejection(n, "falta el nombre") for n in range(2, 2 + count)],
                          warnings=[Warning_(n, "aviso de prueba") for n in range(2, 2 + count)])
    _print_human(report)
    out = capsys.readouterr().out
    assert f"  {rejected} (vea el archivo de rechazados)." in out and f"  {warned} (use --json" in out
    assert "1 filas" not in out and "1 avisos" not in out


def test_an_unknown_layout_points_to_the_examples_command_not_to_a_source_folder():
    with pytest.raises(ImportFileError) as info:
        import_loans(io.BytesIO("Socio;Plata\nAna;100\n".encode()), None, now=NOW,
                     options=ImportOptions(dry_run=True))
    message = str(info.value)
    assert "firmware_py" not in message and "«cobrador examples CARPETA»" in message


def test_examples_command_writes_the_example_files(tmp_path):
    result = cobrador("examples", tmp_path / "ejemplos")
    assert result.returncode == 0, result.stderr
    expected = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".csv", ".json", ".md"))
    assert "README.md" in expected and "prestamos_una_fila_por_credito.csv" in expected
    assert sorted(p.name for p in (tmp_path / "ejemplos").iterdir()) == expected
    for name in expected:
        assert (tmp_path / "ejemplos" / name).read_bytes() == (EXAMPLES / name).read_bytes()
    assert "ejemplos" in result.stdout and "cobrador import" in result.stdout
    # the written files import as they are
    check = cobrador("import", tmp_path / "ejemplos" / "prestamos_una_fila_por_credito.csv", "--dry-run")
    assert check.returncode == 0, check.stderr


def test_examples_command_keeps_an_office_file_it_would_overwrite(tmp_path):
    folder = tmp_path / "ejemplos"
    folder.mkdir()
    (folder / "README.md").write_text("notas de la oficina")
    result = cobrador("ejemplos", folder)  # the Spanish name works too
    assert result.returncode == 1 and "README.md" in result.stderr and "--force" in result.stderr
    assert (folder / "README.md").read_text() == "notas de la oficina" and len(list(folder.iterdir())) == 1
    assert cobrador("ejemplos", folder, "--force").returncode == 0
    assert (folder / "README.md").read_bytes() == (EXAMPLES / "README.md").read_bytes()
    assert cobrador("ejemplos", folder).returncode == 0  # same content again: nothing to refuse


def test_examples_command_is_in_the_spanish_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "examples" in out and "ejemplo" in out


def test_examples_default_folder(tmp_path):
    result = cobrador("examples", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (folder,) = list(tmp_path.iterdir())
    assert (folder / "README.md").exists()


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


def test_every_contact_kind_channel_and_direction_has_a_spanish_word():
    from firmware_py.importer.export import CALL_KIND_ES, CONTACT_CHANNEL_ES, CONTACT_DIRECTION_ES, CONTACT_KIND_ES
    from scheduler.model import CHANNELS, CONTACT_DIRECTIONS, CONTACT_KINDS

    assert set(CONTACT_KIND_ES) == set(CALL_KIND_ES) == set(CONTACT_KINDS)
    assert set(CONTACT_CHANNEL_ES) == set(CHANNELS) and set(CONTACT_DIRECTION_ES) == set(CONTACT_DIRECTIONS)
    assert not any(code in CONTACT_KINDS for code in [*CONTACT_KIND_ES.values(), *CALL_KIND_ES.values()])


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
