"""Forms of the import pages (:mod:`webui.imports`) and the column-mapping step's rules.

- :class:`UploadForm`: the loan list (CSV or XLSX; the 20 MB limit is the app's ``MAX_CONTENT_LENGTH``).
- :class:`ActionForm`: a button that changes something (check, import, cancel): CSRF only.
- :func:`column_rows`: one row per column of the file for the mapping table (its header, the field it is
  read as, a few sample values, whether it can be chosen).
- :func:`read_mapping`: the posted choices as the importer's mapping ``{file header: field or "ignorar"}``,
  or Spanish errors (an unknown field, a field chosen twice, a missing choice).
- :func:`missing_fields`: what the file still lacks for a layout, in the office's words.

The web UI never imports ``firmware_py``: header comparison (:func:`norm_header`) and the required columns
(:data:`REQUIRED`) copy the importer's rules (``firmware_py.importer.headers.normalise_header`` and
``layouts.detect_layout``); the tests compare them with the importer on the example files.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

IGNORE = "ignorar"
SAMPLES_SHOWN = 3
SAMPLE_CHARS = 60

# the importer's required columns: (fields of which one is enough, the office's words)
REQUIRED = ((("name",), "nombre"), (("phone", "phone2"), "teléfono"),
            (("loan_id", "document"), "crédito (número del préstamo) o documento"),
            (("amount", "instalment_amount"), "monto o valor de la cuota"),
            (("due_date", "first_due_date"), "fecha de vencimiento o primera cuota"))


class UploadForm(FlaskForm):
    archivo = FileField(_l("Archivo de préstamos"),
                        validators=[FileRequired(message=_l("Elija el archivo de préstamos (CSV o Excel .xlsx) "
                                                            "con el botón de arriba."))])


class ActionForm(FlaskForm):
    """A POST button: only the CSRF token."""


def norm_header(text) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced header (the importer's comparison)."""
    text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[º°ª#.]", " ", text)
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class ColumnRow:
    """One column of the file on the mapping page. ``choosable``: False for a column without a usable name or
    with the same name as an earlier one (the importer reads those by itself); ``note`` says why."""

    index: int
    header: str
    field: str  # the field it is read as, or IGNORE
    samples: tuple[str, ...]
    choosable: bool = True
    note: str = ""


def _fields_by_index(preview) -> dict[int, str]:
    """Column index -> field, from the preview's ``columns`` (field -> header, in column order): a header
    named twice gives its fields to its columns in order."""
    positions: dict[str, list[int]] = {}
    for index, header in enumerate(preview.header):
        positions.setdefault(header, []).append(index)
    out: dict[int, str] = {}
    for field, header in preview.columns.items():
        free = [i for i in positions.get(header, ()) if i not in out]
        if free:
            out[free[0]] = field
    return out


def column_rows(preview) -> list[ColumnRow]:
    """The mapping table's rows for ``preview`` (see :class:`ColumnRow`)."""
    fields = _fields_by_index(preview)
    seen: dict[str, int] = {}
    rows = []
    for index, header in enumerate(preview.header):
        samples = tuple(_short(row[index]) for row in preview.sample[:SAMPLES_SHOWN]
                        if index < len(row) and str(row[index]).strip())
        norm = norm_header(header)
        field = fields.get(index, IGNORE)
        if not norm:
            rows.append(ColumnRow(index, header, field, samples, False,
                                  _("columna sin nombre: no se usa")))
        elif norm in seen:
            rows.append(ColumnRow(index, header, field, samples, False,
                                  _("mismo nombre que la columna %(n)d: se lee sola", n=seen[norm] + 1)))
        else:
            seen[norm] = index
            rows.append(ColumnRow(index, header, field, samples))
    return rows


def _short(value) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS - 1] + "…"


def read_mapping(formdata, rows: list[ColumnRow], fields: dict) -> tuple[dict[str, str], dict[int, str]]:
    """``(mapping, errors)`` from the posted selects ``col-<index>``: the mapping ``{header: field or
    "ignorar"}`` over every choosable column, ``errors`` column index -> Spanish message."""
    mapping: dict[str, str] = {}
    errors: dict[int, str] = {}
    chosen: dict[str, int] = {}
    for row in rows:
        if not row.choosable:
            continue
        value = formdata.get(f"col-{row.index}")
        if value is None:
            errors[row.index] = _("Falta elegir qué es la columna «%(header)s». Vuelva a cargar la página.",
                                  header=_short(row.header))
            continue
        if value != IGNORE and value not in fields:
            errors[row.index] = _("«%(value)s» no es un dato que Cobrador conozca: elija uno de la lista.",
                                  value=_short(value))
            continue
        if value != IGNORE:
            if value in chosen:
                errors[row.index] = _("«%(field)s» ya está elegido para la columna «%(other)s»: elija un dato "
                                      "distinto para cada columna, o «no usar».",
                                      field=_(fields[value]), other=_short(rows[chosen[value]].header))
                continue
            chosen[value] = row.index
        mapping[row.header] = value
    return mapping, errors


def missing_fields(preview) -> list[str]:
    """The required data the file's columns (as ``preview`` reads them) still lack, in Spanish words."""
    present = set(preview.columns)
    return [words for fields, words in REQUIRED if not present.intersection(fields)]
