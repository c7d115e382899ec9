"""Importing the loan list on the web page: upload → columns → check → import → result, with the appliance's
own importer wiring (firmware_py.app.importer_services), hostile files and tampered forms."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import threading
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import webui.imports as imports
from firmware_py.app import importer_services
from firmware_py.config import Config
from firmware_py.importer.headers import normalise_header
from webui.import_forms import norm_header
from webclient import Client

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_py" / "importer" / "examples"
HEADER = "Crédito;Nombre;Cédula;Celular;Monto;Vence\n"
GOOD = "CR-1;Ana Ríos;1020304;300 123 4567;1.000.000;15/01/2027\n"


@pytest.fixture
def woke(services, ledger):
    """The services wired as the appliance wires them; returns the list of dispatcher wake-ups."""
    calls = []
    for name, function in importer_services(Config(), ledger, now=lambda: NOW).items():
        setattr(services, name, function)
    services.wake = lambda: calls.append(NOW)
    return calls


@pytest.fixture
def operator(woke, make_user):
    return make_user("operador")


def text(response) -> str:
    return response.get_data(as_text=True)


def upload(client: Client, content: bytes, name: str = "cartera.csv"):
    token = client.token("/importar")
    return client.http.post("/importar", data={"csrf_token": token, "archivo": (io.BytesIO(content), name)},
                            content_type="multipart/form-data")


def uploaded(client: Client, content: bytes, name: str = "cartera.csv") -> str:
    """Upload and return the columns page's URL."""
    response = upload(client, content, name)
    assert response.status_code == 302, text(response)
    return response.headers["Location"]


def choices(page: str) -> dict[str, str]:
    """The selected option of every column select on the columns page."""
    out = {}
    for name, body in re.findall(r'<select name="(col-\d+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option value="([^"]*)" selected', body)
        out[name] = selected.group(1) if selected else ""
    return out


def check(client: Client, url: str, changes: dict | None = None):
    """Post the columns as guessed (with ``changes``) and return the answer."""
    data = choices(text(client.get(url)))
    data.update(changes or {})
    return client.post(url, data, page=url)


def checked(client: Client, content: bytes, name: str = "cartera.csv", changes=None) -> str:
    """Upload, check, and return the review page's URL."""
    url = uploaded(client, content, name)
    response = check(client, url, changes)
    assert response.status_code == 302 and response.headers["Location"].endswith("/revision"), text(response)
    return url


def confirm(client: Client, url: str):
    return client.post(url + "/confirmar", page="/")


def upload_ids(app) -> list[str]:
    return sorted(app.extensions["cobrador.imports"]._uploads) if "cobrador.imports" in app.extensions else []


# -- access ---------------------------------------------------------------------------------------------------------
def test_needs_login(app, woke):
    anonymous = Client(app)
    anonymous.setup_admin()
    anonymous.logout()
    response = anonymous.get("/importar")
    assert response.status_code == 302 and "/entrar" in response.headers["Location"]


def test_read_only_users_cannot_import_and_do_not_see_the_menu(app, admin, woke, make_user):
    url = uploaded(admin, GOOD.join([HEADER, ""]).encode())
    reader = make_user("lectura")
    assert "/importar" not in text(reader.get("/"))
    assert reader.get("/importar").status_code == 403
    assert upload(reader, (HEADER + GOOD).encode()).status_code == 403
    for path in ("", "/revision", "/progreso", "/progreso.json", "/resultado", "/rechazados"):
        assert reader.get(url + path).status_code == 403, path
    for path in ("", "/confirmar", "/cancelar"):
        assert reader.post(url + path, page="/").status_code == 403, path
    assert len(upload_ids(app)) == 1


def test_operators_see_the_menu_and_import(operator, ledger, woke):
    assert 'href="/importar"' in text(operator.get("/"))
    url = checked(operator, (HEADER + GOOD).encode())
    assert confirm(operator, url).headers["Location"].endswith("/resultado")
    assert ledger.loan("CR-1") is not None


def test_without_the_import_service_the_page_says_so(admin):
    response = admin.get("/importar")
    assert response.status_code == 503 and "no está disponible" in text(response)


# -- the happy paths with the example files -------------------------------------------------------------------------
@pytest.mark.parametrize("name,layout,loans,debtors", [
    ("prestamos_una_fila_por_credito.csv", "una fila por crédito", 4, 3),
    ("cuotas_una_fila_por_cuota.csv", "una fila por cuota", 2, 2),
    ("loans_one_row_per_loan_english.csv", "una fila por crédito", None, None),
])
def test_example_files_are_checked_then_imported(app, admin, ledger, woke, name, layout, loans, debtors):
    content = (EXAMPLES / name).read_bytes()
    url = uploaded(admin, content, name)
    columns = text(admin.get(url))
    assert f"Cómo se lee «{name}»" in columns and f"Se lee como: {layout}." in columns
    assert "Faltan columnas" not in columns
    response = check(admin, url)
    assert response.headers["Location"] == url + "/revision"
    review = text(admin.get(url + "/revision"))
    assert "El archivo se puede importar" in review and "Créditos que se importarían" in review
    would = int(re.search(r'id="loans">(\d+)<', review).group(1))
    if loans is not None:
        assert would == loans and f"Deudores: nuevos: {debtors}" in review
    assert ledger.stats()["loans"] == 0 and woke == []  # the check writes nothing
    response = confirm(admin, url)
    assert response.headers["Location"] == url + "/resultado"
    result = text(admin.get(url + "/resultado"))
    assert "Listo: la lista se importó" in result and f"nuevos: {would};" in result
    assert ledger.stats()["loans"] == would and len(ledger.imports()) == 1
    assert ledger.imports()[0]["source"] == name
    assert woke == [NOW]  # the dispatcher plans again
    upload = app.extensions["cobrador.imports"]._uploads[url.rsplit("/", 1)[1]]
    assert not upload.source.exists()  # the file is deleted after the import
    assert admin.get(url + "/rechazados").status_code == 404  # nothing was rejected


def test_re_importing_updates_and_never_duplicates(admin, ledger, woke):
    url = checked(admin, (HEADER + GOOD).encode())
    confirm(admin, url)
    changed = GOOD.replace("1.000.000", "1.200.000")
    url = checked(admin, (HEADER + changed).encode())
    review = text(admin.get(url + "/revision"))
    assert "nuevos: 0; actualizados: 1; sin cambios: 0" in review
    confirm(admin, url)
    assert ledger.stats()["loans"] == 1 and ledger.loan("CR-1").instalments[0].amount == 1_200_000


def test_confirming_twice_imports_once(admin, ledger, woke):
    url = checked(admin, (HEADER + GOOD).encode())
    first, second = confirm(admin, url), confirm(admin, url)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"].endswith("/resultado")
    assert len(ledger.imports()) == 1 and len(woke) == 1


def test_confirm_before_any_check_is_refused(admin, ledger, woke):
    url = uploaded(admin, (HEADER + GOOD).encode())
    response = confirm(admin, url)
    assert response.status_code == 409 and "Revise el archivo antes de importarlo" in text(response)
    assert ledger.stats()["loans"] == 0


def test_a_file_without_a_valid_row_cannot_be_imported(admin, ledger, woke):
    url = checked(admin, (HEADER + "CR-1;Ana;1020304;300 123 4567;-5;15/01/2027\n").encode())
    review = text(admin.get(url + "/revision"))
    assert "No hay ninguna fila válida" in review and 'id="confirm-form"' not in review
    response = confirm(admin, url)
    assert response.status_code == 409 and ledger.stats()["loans"] == 0


# -- columns --------------------------------------------------------------------------------------------------------
def test_unknown_columns_are_mapped_on_the_page(admin, ledger, woke):
    mapping = json.loads((EXAMPLES / "mapeo_ejemplo.json").read_text(encoding="utf-8"))
    url = uploaded(admin, (EXAMPLES / "con_mapeo.csv").read_bytes(), "con_mapeo.csv")
    page = text(admin.get(url))
    assert "Faltan columnas para:" in page and "<strong>teléfono</strong>" in page
    assert "Cel. socio" in page and "no reconoce" in page
    response = check(admin, url)  # the guess alone is not enough
    assert response.status_code == 400 and "Faltan columnas para:" in text(response)
    header = (EXAMPLES / "con_mapeo.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(";")
    wanted = {f"col-{header.index(h)}": field for h, field in mapping.items()}
    response = check(admin, url, wanted)
    assert response.status_code == 302, text(response)
    page = text(admin.get(url))  # the choices are kept
    assert choices(page) == {k: wanted[k] for k in choices(page)}
    confirm(admin, url)
    assert ledger.loan("OP-77") is not None and ledger.loan("OP-77").instalments[0].amount == 320_000


def test_choosing_a_column_changes_how_it_is_read(admin, ledger, woke):
    content = (HEADER.replace("Vence", "Vence;Observación") + GOOD.replace("\n", ";ok\n")).encode()
    url = uploaded(admin, content)
    assert choices(text(admin.get(url)))["col-6"] == "ignorar"
    response = check(admin, url, {"col-6": "product"})
    assert response.status_code == 302
    confirm(admin, url)
    assert ledger.loan("CR-1").product == "ok"


@pytest.mark.parametrize("changes,message", [
    ({"col-1": "contraseña"}, "no es un dato que Cobrador conozca"),
    ({"col-1": "<script>alert(1)</script>"}, "no es un dato que Cobrador conozca"),
    ({"col-1": "x" * 10_000}, "no es un dato que Cobrador conozca"),
    ({"col-1": "loan_id"}, "ya está elegido para la columna «Crédito»"),
    ({"col-3": None}, "Falta elegir qué es la columna «Celular»"),
], ids=["unknown-field", "script", "10k", "twice", "missing-select"])
def test_tampered_mappings_are_a_spanish_400(admin, ledger, woke, changes, message):
    url = uploaded(admin, (HEADER + GOOD).encode())
    data = choices(text(admin.get(url)))
    data.update({k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        del data[key]
    response = admin.post(url, data, page=url)
    page = text(response)
    assert response.status_code == 400 and message in page
    assert "<script>alert(1)</script>" not in page and "x" * 100 not in page
    assert confirm(admin, url).status_code == 409  # nothing was checked


def test_a_column_named_twice_is_read_by_the_importer(admin, ledger, woke):
    content = ("Crédito;Nombre;Celular;Celular;Monto;Vence\n"
               "CR-1;Ana Ríos;300 123 4567;310 765 4321;1000;15/01/2027\n").encode()
    url = uploaded(admin, content)
    page = text(admin.get(url))
    assert "mismo nombre que la columna 3" in page and "col-3" not in choices(page)
    assert check(admin, url).status_code == 302
    confirm(admin, url)
    assert [p.number for p in ledger.debtors()[0].phones] == ["+573001234567", "+573107654321"]


# -- rejections, warnings, the rejects file ---------------------------------------------------------------------------
BAD_ROWS = (HEADER + GOOD
            + "CR-2;Beto Paz;2030405;300 222 3333;-50;15/01/2027\n"
            + "CR-3;Caro Gil;3040506;300 333 4444;2.000;31/02/2027\n"
            + "CR-4;Dora Rey;4050607;;3.000;15/01/2027\n"
            + "CR-5;Eva Sol;5060708;601 234 5678;4.000;15/01/2027\n"
            + "=cmd|' /C calc'!A0;<script>alert(1)</script> Fea;6070809;300 444 5555;5.000;15/01/2027\n")


def test_every_rejected_row_and_warning_is_shown_in_spanish(admin, ledger, woke):
    url = checked(admin, BAD_ROWS.encode())
    review = text(admin.get(url + "/revision"))
    assert re.search(r'id="rows-read">6<', review) and re.search(r'id="rows-rejected">4<', review)
    for row in (3, 4, 5, 7):
        assert f"fila {row}</td>" in review, row
    assert "fila 6</td>" in review and "fijo" in review  # a landline: a warning, not a rejection
    assert "fórmula" in review
    assert "<script>alert(1)</script>" not in review
    rejects = admin.get(url + "/rechazados")
    assert rejects.status_code == 200 and "cartera-rechazados.csv" in rejects.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(rejects.data.decode("utf-8")), delimiter=";"))
    assert rows[0][-1] == "error" and [r[0] for r in rows[1:]] == ["CR-2", "CR-3", "CR-4", "'=cmd|' /C calc'!A0"]
    assert rows[2][-1].startswith("fila 4: ")
    confirm(admin, url)
    result = text(admin.get(url + "/resultado"))
    assert "Filas rechazadas" in result and 'id="rejects-link"' in result
    assert admin.get(url + "/rechazados").status_code == 200
    assert {loan.external_id for loan in ledger.loans()} == {"CR-1", "CR-5"}


def test_long_lists_of_rejections_are_paged(admin, woke):
    rows = "".join(f"CR-{i};Ana Ríos;{1000 + i};300 123 4567;-5;15/01/2027\n" for i in range(450))
    url = checked(admin, (HEADER + GOOD + rows).encode())
    first = text(admin.get(url + "/revision"))
    assert "Página 1 de 3" in first and "fila 3</td>" in first and "fila 203</td>" not in first
    third = text(admin.get(url + "/revision?pagina_rechazos=3"))
    assert "fila 452</td>" in third and "fila 3</td>" not in third
    assert admin.get(url + "/revision?pagina_rechazos=abc").status_code == 400
    assert admin.get(url + "/revision?pagina_rechazos=-1").status_code == 400
    assert admin.get(url + "/revision?pagina_rechazos=99").status_code == 200  # the last page


def workbook(rows, sheet="Cartera") -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Notas"
    first.append(["Esta hoja no tiene préstamos"])
    data = book.create_sheet(sheet)
    for row in rows:
        data.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_workbooks_name_the_sheet_and_get_a_workbook_of_rejects(admin, ledger, woke):
    content = workbook([["Crédito", "Nombre", "Celular", "Monto", "Vence"],
                        ["CR-1", "Ana Ríos", "3001234567", 1000, datetime(2027, 1, 15)],
                        ["CR-2", "Beto Paz", "3002223333", -5, datetime(2027, 1, 15)]])
    url = checked(admin, content, "cartera.xlsx")
    review = text(admin.get(url + "/revision"))
    assert "Hoja «Cartera», fila 3" in review
    rejects = admin.get(url + "/rechazados")
    assert rejects.data[:4] == b"PK\x03\x04" and "cartera-rechazados.xlsx" in rejects.headers["Content-Disposition"]
    confirm(admin, url)
    assert ledger.loan("CR-1") is not None and ledger.loan("CR-2") is None


# -- hostile uploads ------------------------------------------------------------------------------------------------
def ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


@pytest.mark.parametrize("content,name,message", [
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff" + bytes(range(256)) * 40, "cartera.csv", "binario"),
    (b"", "cartera.csv", "vacío"),
    (ods(), "cartera.ods", "LibreOffice"),
    (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + b"\x00" * 600, "cartera.xls", "Excel antiguo"),
    (HEADER.encode() + b"CR-1;" + b"a" * (2 << 20) + b"\n", "cartera.csv", "más de 1 MB"),
    (b"PK\x03\x04garbage" * 10, "cartera.xlsx", "dañado"),
], ids=["exe-renamed-csv", "empty", "ods", "old-xls", "huge-line", "broken-zip"])
def test_unreadable_files_are_refused_in_spanish_and_deleted(app, admin, woke, content, name, message):
    response = upload(admin, content, name)
    assert response.status_code == 400 and message in text(response), text(response)[-2000:]
    assert upload_ids(app) == []


def test_a_file_with_only_headers_is_refused_at_the_check(app, admin, ledger, woke):
    url = uploaded(admin, HEADER.encode())
    response = check(admin, url)
    assert response.status_code == 400 and "solo tiene los encabezados" in text(response)


def test_no_file_and_a_too_large_file(app, admin, woke):
    token = admin.token("/importar")
    response = admin.http.post("/importar", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Elija el archivo de préstamos" in text(response)
    response = upload(admin, b"a" * (21 * 1024 * 1024))
    assert response.status_code == 413 and "demasiado grande" in text(response)
    assert upload_ids(app) == []


def test_html_and_long_names_are_escaped_and_never_a_path(app, admin, woke):
    name = "../../etc/<img src=x onerror=alert(1)>" + "x" * 10_000 + ".csv"
    content = (HEADER + GOOD.replace("Ana Ríos", "<script>alert(2)</script> Ana")).encode()
    url = uploaded(admin, content, name)
    page = text(admin.get(url))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt; Ana" in page  # the sample values
    assert "x" * 200 not in page and "../" not in page
    upload_id = url.rsplit("/", 1)[1]
    folder = app.extensions["cobrador.imports"]._uploads[upload_id].folder
    assert [p.name for p in folder.iterdir()] == ["archivo"]


def test_an_unexpected_failure_of_the_importer_is_a_spanish_400(admin, services, woke):
    def broken(stream, mapping=None):
        raise KeyError("xl/worksheets/sheet1.xml")

    services.preview_file = broken
    response = upload(admin, (HEADER + GOOD).encode())
    assert response.status_code == 400 and "No se pudo leer el archivo" in text(response)
    admin.post("/idioma/en", {"next": "/importar"}, page="/importar")
    response = upload(admin, (HEADER + GOOD).encode())
    assert response.status_code == 400 and "The file could not be read" in text(response)


def test_a_ledger_refusal_during_the_import_is_shown(admin, ledger, woke, monkeypatch):
    from firmware_py.errors import LedgerError

    url = checked(admin, (HEADER + GOOD).encode())

    def full(*args, **kwargs):
        raise LedgerError("La tarjeta de memoria está llena: no se guardó nada.")

    monkeypatch.setattr(ledger, "import_batch", full)
    assert confirm(admin, url).headers["Location"].endswith("/resultado")
    result = text(admin.get(url + "/resultado"))
    assert "La tarjeta de memoria está llena" in result and "No se importó nada" in result
    assert woke == []


# -- sessions, ids, cleaning ----------------------------------------------------------------------------------------
def test_unknown_ids_and_other_sessions_uploads_are_404(app, admin, woke, make_user):
    url = uploaded(admin, (HEADER + GOOD).encode())
    check(admin, url)
    other = make_user("administrador", "otro")
    for path in ("", "/revision", "/progreso", "/progreso.json", "/resultado", "/rechazados"):
        assert other.get(url + path).status_code == 404, path
        assert admin.get("/importar/" + "A" * 32 + path).status_code == 404, path
    for path in ("", "/confirmar", "/cancelar"):
        assert other.post(url + path, page="/").status_code == 404, path
    for bad in ("..%2F..%2Fetc", "x", "<script>", "a" * 5000):
        assert admin.get("/importar/" + bad).status_code == 404, bad
    assert admin.get(url + "/revision").status_code == 200  # still there for its owner
    admin.logout()
    admin.login("gerente")  # a new session does not inherit the uploads either
    assert admin.get(url + "/revision").status_code == 404


def test_cancel_deletes_the_upload(app, admin, ledger, woke):
    url = checked(admin, BAD_ROWS.encode())
    folder = app.extensions["cobrador.imports"]._uploads[url.rsplit("/", 1)[1]].folder
    response = admin.post(url + "/cancelar", page=url + "/revision")
    assert response.status_code == 302 and response.headers["Location"].endswith("/importar")
    assert "Importación cancelada" in text(admin.get("/importar"))
    assert not folder.exists() and admin.get(url).status_code == 404 and ledger.stats()["loans"] == 0


def test_uploads_are_deleted_after_an_hour(app, admin, woke):
    url = uploaded(admin, (HEADER + GOOD).encode())
    store = app.extensions["cobrador.imports"]
    folder = store._uploads[url.rsplit("/", 1)[1]].folder
    clock = [time.monotonic()]
    store.clock = lambda: clock[0]
    assert admin.get(url).status_code == 200
    clock[0] += imports.TTL_SECONDS - 5
    assert admin.get(url).status_code == 200  # a visit keeps it
    clock[0] += imports.TTL_SECONDS + 1
    assert store.sweep() == 1 and not folder.exists()
    assert admin.get(url).status_code == 404


def test_a_session_keeps_only_its_newest_uploads(app, admin, woke):
    urls = [uploaded(admin, (HEADER + GOOD).encode()) for _ in range(imports.MAX_PER_SESSION + 1)]
    assert admin.get(urls[0]).status_code == 404
    assert all(admin.get(url).status_code == 200 for url in urls[1:])
    listed = text(admin.get("/importar"))
    assert "Sus archivos en curso" in listed and listed.count("cartera.csv") == imports.MAX_PER_SESSION


def test_the_temporary_folder_is_private_and_removed_with_the_store(app, admin, woke):
    url = uploaded(admin, (HEADER + GOOD).encode())
    store = app.extensions["cobrador.imports"]
    root = store.root
    assert root.stat().st_mode & 0o077 == 0
    store.remove(store._uploads[url.rsplit("/", 1)[1]])
    del app.extensions["cobrador.imports"], store
    import gc
    gc.collect()
    assert not root.exists()


# -- large files: the background job and its progress ---------------------------------------------------------------
def test_a_slow_import_runs_in_the_background_with_a_progress_bar(app, admin, services, ledger, woke, monkeypatch):
    monkeypatch.setattr(imports, "QUICK_SECONDS", 0.05)
    real = services.import_file
    release = threading.Event()

    def slow(stream, **kwargs):
        if not kwargs["dry_run"]:
            kwargs["progress"](400, 1000)
            assert release.wait(10)
        return real(stream, **kwargs)

    services.import_file = slow
    url = uploaded(admin, (HEADER + GOOD).encode())
    assert check(admin, url).headers["Location"].endswith("/revision")  # the check was quick
    response = confirm(admin, url)
    assert response.headers["Location"] == url + "/progreso"
    page = text(admin.get(url + "/progreso"))
    assert '<progress id="import-bar" max="100" value="40">' in page
    assert 'src="/static/imports.js"' in page and '<meta http-equiv="refresh" content="2">' in page
    status = admin.get(url + "/progreso.json").get_json()
    assert status == {"state": "running", "dry": False, "percent": 40, "done": 400, "total": 1000,
                      "next": url + "/progreso"}
    assert admin.get(url + "/resultado").headers["Location"].endswith("/progreso")
    assert admin.post(url + "/cancelar", page="/").status_code == 409
    another = uploaded(admin, (HEADER + GOOD.replace("CR-1", "CR-9")).encode())
    busy = check(admin, another)
    assert busy.status_code == 409 and "otro archivo" in text(busy)
    release.set()
    upload = app.extensions["cobrador.imports"]._uploads[url.rsplit("/", 1)[1]]
    upload.job.thread.join(10)
    status = admin.get(url + "/progreso.json").get_json()
    assert status["state"] == "done" and status["percent"] == 100 and status["next"] == url + "/resultado"
    assert admin.get(url + "/progreso").headers["Location"] == url + "/resultado"
    assert ledger.loan("CR-1") is not None and woke == [NOW]


def test_a_large_file_goes_through_the_background_job(app, admin, ledger, woke, tmp_path, monkeypatch):
    from firmware_py.importer.samples import write_loan_csv

    monkeypatch.setattr(imports, "QUICK_SECONDS", 0)
    path = write_loan_csv(tmp_path / "grande.csv", 1500)
    url = uploaded(admin, path.read_bytes(), "grande.csv")
    seen = []

    def follow():
        for _ in range(600):
            status = admin.get(url + "/progreso.json").get_json()
            seen.append(status["percent"])
            if status["state"] == "done":
                return status["next"]
            time.sleep(0.05)
        raise AssertionError("the job never finished")

    assert check(admin, url).headers["Location"] == url + "/progreso"
    assert follow() == url + "/revision"
    confirm(admin, url)
    assert follow() == url + "/resultado"
    assert ledger.stats()["loans"] == 1500 and seen[-1] == 100 and all(0 <= p <= 100 for p in seen)


# -- language, the rules copied from the importer ---------------------------------------------------------------------
def test_english(admin, woke):
    admin.post("/idioma/en", {"next": "/importar"}, page="/importar")
    assert "Import the loan list" in text(admin.get("/importar"))
    url = uploaded(admin, BAD_ROWS.encode())
    page = text(admin.get(url))
    assert "How “cartera.csv” is read" in page and ">loan id</option>" in page and "one row per loan" in page
    check(admin, url)
    review = text(admin.get(url + "/revision"))
    assert "Summary" in review and "Rejected rows" in review and "Import now" in review


@pytest.mark.parametrize("header", ["Fecha de Vencimiento", "fecha_vencimiento", "N° crédito", "Nro. préstamo",
                                    "\ufeffCédula", "###", "Cel. socio", "  Teléfono  2 ", "ÑANDÚ#1"])
def test_header_comparison_is_the_importers(header):
    assert norm_header(header) == normalise_header(header)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_header_comparison_is_the_importers_for_any_text(header):
    assert norm_header(header) == normalise_header(header)


def test_the_required_columns_are_the_importers():
    from firmware_py.importer.errors import ImportFileError
    from firmware_py.importer.headers import ColumnMap
    from firmware_py.importer.layouts import detect_layout
    from webui.import_forms import REQUIRED

    for fields, _words in REQUIRED:
        for field in fields:  # each required group alone is missing when the rest is present
            others = {f[0]: i for i, (f, _w) in enumerate(REQUIRED) if f != fields}
            with pytest.raises(ImportFileError):
                detect_layout(ColumnMap(tuple(str(i) for i in range(6)), others))
            assert detect_layout(ColumnMap(tuple(str(i) for i in range(6)), {**others, field: 5}))


def test_the_wiring_reports_ledger_errors_as_import_errors(ledger, monkeypatch):
    from firmware_py.errors import LedgerError
    from firmware_py.importer import ImportFileError

    services = importer_services(Config(), ledger, now=lambda: NOW)
    monkeypatch.setattr(ledger, "import_batch", lambda *a, **k: (_ for _ in ()).throw(LedgerError("disco lleno")))
    with pytest.raises(ImportFileError) as caught:
        services["import_file"](io.BytesIO((HEADER + GOOD).encode()), dry_run=False, source_name="x.csv")
    assert caught.value.reason == "ledger" and str(caught.value) == "disco lleno"
    report = services["import_file"](io.BytesIO((HEADER + GOOD).encode()), dry_run=True, source_name="x.csv")
    assert report.loans_in_file == 1 and report.dry_run
