"""Column headers: Spanish/English synonyms, accent/case/space folding, explicit mapping."""

import pytest

from firmware_py.importer.errors import MappingError
from firmware_py.importer.headers import field_for_header, normalise_header, resolve_columns

SYNONYMS = [
    ("Nombre", "name"), ("NOMBRE COMPLETO", "name"), ("Nombres y apellidos", "name"), ("Asociado", "name"),
    ("Full name", "name"), ("Cédula", "document"), ("cedula", "document"), ("No. Documento", "document"),
    ("Número de documento", "document"), ("DNI", "document"), ("CURP", "document"), ("Teléfono", "phone"),
    ("Celular", "phone"), ("Móvil", "phone"), ("Phone number", "phone"), ("Monto", "amount"), ("Valor", "amount"),
    ("Saldo", "amount"), ("Amount", "amount"), ("Valor cuota", "instalment_amount"),
    ("Fecha de Vencimiento", "due_date"), ("fecha_vencimiento", "due_date"), ("VENCE", "due_date"),
    ("Due date", "due_date"), ("Crédito", "loan_id"), ("N° Crédito", "loan_id"), ("Préstamo", "loan_id"),
    ("Loan ID", "loan_id"), ("Número de cuotas", "instalments"), ("Plazo", "instalments"),
    ("Nro. cuota", "instalment_number"), ("Frecuencia", "frequency"), ("Primera cuota", "first_due_date"),
    ("Pagado", "paid_amount"), ("Abono", "paid_amount"), ("Asesor", "loan_officer"), ("Grupo", "group"),
    ("Estado", "status"), ("Moneda", "currency"), ("  teléfono   celular ", "phone"),
]


@pytest.mark.parametrize("header,field", SYNONYMS, ids=[s[0] for s in SYNONYMS])
def test_synonyms(header, field):
    assert field_for_header(header) == field


def test_normalisation_ignores_accents_case_spaces_and_punctuation():
    assert normalise_header("  Fecha  de VENCIMIENTO ") == normalise_header("fecha_de_vencimiento") \
        == "fecha de vencimiento"
    assert normalise_header("\ufeffCédula") == "cedula"
    assert normalise_header(None) == ""


def test_unknown_headers_are_listed_not_fatal():
    columns = resolve_columns(["Nombre", "Color favorito", "Celular"])
    assert columns.columns == {"name": 0, "phone": 2}
    assert columns.unknown == ("Color favorito",)


def test_a_second_phone_column_becomes_phone2():
    columns = resolve_columns(["Nombre", "Celular", "Teléfono"])
    assert columns.columns["phone"] == 1 and columns.columns["phone2"] == 2


def test_bare_cuota_is_the_instalment_number_in_the_instalment_layout():
    columns = resolve_columns(["Crédito", "Cuota", "Vence", "Valor"])
    assert columns.columns["instalment_number"] == 1


def test_bare_cuota_is_the_instalment_amount_in_the_loan_layout():
    columns = resolve_columns(["Crédito", "Cuota", "Número de cuotas", "Primera cuota"])
    assert columns.columns["instalment_amount"] == 1


def test_computed_and_error_columns_are_ignored_silently():
    columns = resolve_columns(["Crédito", "Pendiente", "error", "Días de mora"])
    assert columns.unknown == ()


def test_explicit_mapping_wins_and_accepts_synonyms_as_targets():
    columns = resolve_columns(["Socio", "Cel. socio", "Nombre", "Notas"],
                              {"Socio": "name", "cel socio": "celular", "Nombre": None, "Notas": "ignorar"})
    assert columns.columns == {"name": 0, "phone": 1}
    assert columns.unknown == ()


def test_mapping_to_an_unknown_field_is_a_spanish_error():
    with pytest.raises(MappingError, match="campo desconocido"):
        resolve_columns(["Socio"], {"Socio": "apodo"})


def test_mapping_of_a_missing_column_is_a_spanish_error():
    with pytest.raises(MappingError, match="no está en el archivo"):
        resolve_columns(["Socio"], {"Cliente": "name"})
