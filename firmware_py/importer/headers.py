"""Column headers: Spanish or English names, synonyms, and an explicit mapping.

``resolve_columns(header, mapping)`` turns the header row into a
:class:`ColumnMap` (field -> column index). Headers are compared after
:func:`normalise_header` (accents, case, punctuation and spaces do not
matter: "Fecha de Vencimiento", "fecha_vencimiento" and "FECHA VENCIMIENTO"
are the same). An explicit ``mapping`` ``{file header: field}`` (from
``--map FILE`` or the web page) is applied first; a field may be named in
English (``"phone"``) or by any of its synonyms (``"celular"``); ``""``,
``None`` or ``"ignorar"`` drop a column.

The bare word "cuota" (instalment) is ambiguous: in a file that also has an
amount column (monto/valor/saldo) and a due-date column (and no "número de
cuotas" column) it is the *instalment number*, unless its values say
otherwise: when more than half of the column's non-blank values in
``samples`` (the file's first data rows) look like money
(:func:`~.parsing.looks_like_money`: a thousands separator, decimals, a
currency sign, a number above 600) it is the *instalment amount* — a
"Saldo; Cuota; Vence" export with ``100.000`` in "Cuota" lists the next
instalment's amount, not instalment number 100. In any other file it is the
*instalment amount*.

Raises :class:`~firmware_py.importer.errors.MappingError` for a mapping that
names an unknown field or a column that is not in the file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from firmware_py.importer.errors import MappingError
from firmware_py.importer.parsing import blank, looks_like_money

# field -> synonyms (already normalised: lower case, no accents, single spaces)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "loan_id": ("credito", "id credito", "numero credito", "no credito", "nro credito", "num credito",
                "codigo credito", "prestamo", "id prestamo", "numero prestamo", "no prestamo", "nro prestamo",
                "obligacion", "numero obligacion", "no obligacion", "pagare", "numero pagare", "operacion",
                "loan", "loan id", "loan number", "loan no", "credit id"),
    "name": ("nombre", "nombres", "nombre completo", "nombres y apellidos", "nombre y apellido",
             "nombre deudor", "nombre del deudor", "deudor", "cliente", "nombre cliente", "nombre del cliente",
             "asociado", "nombre asociado", "socio", "nombre socio", "titular", "nombre titular",
             "name", "full name", "borrower", "debtor", "customer", "client", "member"),
    "last_name": ("apellidos", "apellido", "primer apellido", "apellido paterno", "last name", "surname",
                  "family name"),
    "last_name2": ("segundo apellido", "apellido materno", "second last name"),
    "document": ("cedula", "cc", "c c", "no cedula", "numero cedula", "cedula ciudadania",
                 "cedula de ciudadania", "documento", "no documento", "nro documento", "numero documento",
                 "numero de documento", "documento identidad", "documento de identidad", "identificacion",
                 "numero identificacion", "no identificacion", "dni", "curp", "rut", "run", "nit", "ine",
                 "ci", "document", "document number", "id number", "national id"),
    "phone": ("telefono", "tel", "telefono celular", "telefono movil", "celular", "cel", "movil", "numero celular",
              "no celular", "numero telefono", "numero de telefono", "whatsapp", "contacto",
              "phone", "phone number", "mobile", "mobile phone", "cell", "cellphone", "cell phone"),
    "phone2": ("telefono 2", "tel 2", "celular 2", "movil 2", "otro telefono", "telefono alterno",
               "telefono alternativo", "telefono adicional", "telefono fijo", "fijo", "phone 2", "other phone",
               "alternate phone", "landline"),
    "amount": ("monto", "valor", "saldo", "importe", "monto credito", "valor credito", "monto prestamo",
               "valor prestamo", "monto del credito", "valor del credito", "saldo capital", "saldo credito",
               "valor a pagar", "monto a pagar", "total", "deuda", "amount", "balance", "principal", "amount due",
               "loan amount"),
    "instalment_amount": ("valor cuota", "monto cuota", "valor de la cuota", "monto de la cuota", "importe cuota",
                          "cuota mensual", "cuota fija", "instalment amount", "installment amount",
                          "payment amount"),
    "instalments": ("numero cuotas", "numero de cuotas", "no cuotas", "nro cuotas", "n cuotas", "cuotas",
                    "plazo", "plazo cuotas", "total cuotas", "cantidad cuotas", "instalments", "installments",
                    "number of instalments", "number of installments", "term"),
    "instalment_number": ("numero cuota", "no cuota", "nro cuota", "n cuota", "cuota no", "cuota nro",
                          "cuota numero", "num cuota", "instalment", "installment", "instalment number",
                          "installment number", "instalment no", "installment no"),
    "due_date": ("fecha vencimiento", "fecha de vencimiento", "vencimiento", "vence", "fecha vence",
                 "fecha limite", "fecha limite de pago", "fecha de pago", "fecha pago", "fecha cuota",
                 "due date", "due", "due on", "payment date"),
    "first_due_date": ("primera cuota", "fecha primera cuota", "primer vencimiento", "fecha primer pago",
                       "primer pago", "fecha inicio pagos", "first due date", "first payment date"),
    "frequency": ("frecuencia", "periodicidad", "frecuencia de pago", "periodo", "frequency", "period"),
    "paid_amount": ("pagado", "valor pagado", "monto pagado", "abonado", "abono", "abonos", "total pagado",
                    "paid", "paid amount", "amount paid"),
    "product": ("producto", "linea", "linea credito", "linea de credito", "tipo credito", "tipo de credito",
                "modalidad", "product", "loan type"),
    "status": ("estado", "estado credito", "estado del credito", "situacion", "status", "loan status"),
    "currency": ("moneda", "divisa", "currency"),
    "loan_officer": ("asesor", "oficial", "oficial de credito", "gestor", "promotor", "cobrador", "analista",
                     "loan officer", "officer", "agent"),
    "group": ("grupo", "grupo solidario", "banco comunal", "group"),
    "language": ("idioma", "lengua", "language"),
    "tags": ("etiquetas", "etiqueta", "tags", "tag"),
}

FIELD_NAMES_ES = {
    "loan_id": "crédito", "name": "nombre", "last_name": "apellidos", "last_name2": "segundo apellido", "document": "documento", "phone": "teléfono",
    "phone2": "teléfono 2", "amount": "monto", "instalment_amount": "valor cuota", "instalments": "número de cuotas",
    "instalment_number": "número de cuota", "due_date": "fecha de vencimiento", "first_due_date": "primera cuota",
    "frequency": "frecuencia", "paid_amount": "pagado", "product": "producto", "status": "estado", "currency": "moneda",
    "loan_officer": "asesor", "group": "grupo", "language": "idioma", "tags": "etiquetas",
}

IGNORE_WORDS = ("", "ignorar", "ignore", "-")

# Columns we know and deliberately skip: figures the appliance computes itself, and the rejects file's
# ``error`` column (so a corrected rejects file imports without warnings).
IGNORED_HEADERS = frozenset({"pendiente", "saldo pendiente", "valor pendiente", "dias mora", "dias en mora",
                             "dias atraso", "dias de atraso", "error", "errores", "outstanding", "days late",
                             "tipo documento", "tipo de documento", "tipo doc", "tipo identificacion",
                             "tipo de identificacion", "document type"})


def normalise_header(text) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced form of a header."""
    text = "" if text is None else str(text)
    text = unicodedata.normalize("NFKD", text.replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[º°ª#.]", " ", text)
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


def _compact(text: str) -> str:
    """Drop filler words so "número de la cuota" meets "numero cuota"."""
    return " ".join(w for w in text.split() if w not in ("de", "del", "la", "el", "los", "las", "a"))


_LOOKUP: dict[str, str] = {}
for _field, _names in SYNONYMS.items():
    _LOOKUP[_field.replace("_", " ")] = _field
    for _name in _names:
        _LOOKUP[_name] = _field
        _LOOKUP[_compact(_name)] = _field
for _field, _name in FIELD_NAMES_ES.items():
    _LOOKUP.setdefault(_compact(normalise_header(_name)), _field)


def field_for_header(header) -> str | None:
    """The field a header names, by synonym, or ``None`` (``"cuota"`` gives ``"cuota"``: ambiguous)."""
    norm = _compact(normalise_header(header))
    if norm == "cuota":
        return "cuota"
    found = _LOOKUP.get(norm)
    if found is None:  # "N° crédito", "Nro. préstamo", "Número de la obligación"
        stripped = re.sub(r"^(?:n|no|nro|num|numero|codigo|cod|id)\s+", "", norm)
        if stripped != norm and stripped != "cuota":
            found = _LOOKUP.get(stripped)
    return found


def field_for_target(target) -> str | None:
    """The field a mapping target names (English field name or any synonym); ``""`` means ignore."""
    if target is None:
        return ""
    norm = _compact(normalise_header(target))
    if norm in IGNORE_WORDS:
        return ""
    if norm.replace(" ", "_") in SYNONYMS:
        return norm.replace(" ", "_")
    if norm == "cuota":
        return "instalment_number"
    return _LOOKUP.get(norm)


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds which field.

    ``columns`` maps field -> column index; ``unknown`` lists the headers not
    understood (ignored, reported as a warning); ``header`` is the row as read.
    """

    header: tuple[str, ...]
    columns: dict[str, int] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def pick(self, cells: list) -> dict:
        """``{field: raw value}`` for one row (missing trailing cells are ``None``)."""
        out = {}
        for name, index in self.columns.items():
            out[name] = cells[index] if index < len(cells) else None
        return out


def recognised_count(header: list) -> int:
    """How many cells of a candidate header row name a known field."""
    return sum(1 for cell in header if field_for_header(cell))


def resolve_columns(header: list, mapping: dict | None = None, samples=()) -> ColumnMap:
    """Map the header row to fields. See the module docstring for the rules. ``samples``: data rows (lists
    of cells) that decide an ambiguous "cuota" column by its values; without them the header alone decides."""
    header = tuple("" if h is None else str(h).strip() for h in header)
    columns: dict[str, int] = {}
    explicit: set[int] = set()
    if mapping:
        by_norm = {}
        for index, name in enumerate(header):
            by_norm.setdefault(normalise_header(name), index)
        for source, target in mapping.items():
            index = by_norm.get(normalise_header(source))
            if index is None:
                raise MappingError(f"La correspondencia de columnas menciona la columna «{source}», que no está en "
                                   f"el archivo. Columnas del archivo: {', '.join(h for h in header if h)}.")
            name = field_for_target(target)
            if name is None:
                raise MappingError(f"La correspondencia de columnas asigna «{source}» al campo desconocido "
                                   f"«{target}». Campos posibles: {', '.join(sorted(SYNONYMS))}.")
            explicit.add(index)
            if name:
                columns[name] = index
    unknown = []
    ambiguous: list[int] = []
    for index, name in enumerate(header):
        if index in explicit or not name:
            continue
        if _compact(normalise_header(name)) in IGNORED_HEADERS or normalise_header(name) in IGNORED_HEADERS:
            continue
        found = field_for_header(name)
        if found == "cuota":
            ambiguous.append(index)
        elif found is None:
            unknown.append(name)
        elif found not in columns:
            columns[found] = index
        elif found == "phone" and "phone2" not in columns:
            columns["phone2"] = index
        else:
            unknown.append(name)
    for index in ambiguous:
        per_instalment = "amount" in columns and "due_date" in columns and "instalments" not in columns
        if per_instalment and _mostly_money(samples, index):
            per_instalment = False
        name = "instalment_number" if per_instalment else "instalment_amount"
        if name in columns:
            unknown.append(header[index])
        else:
            columns[name] = index
    return ColumnMap(header, columns, tuple(unknown))


def _mostly_money(samples, index: int) -> bool:
    """More than half of the non-blank values of column ``index`` in ``samples`` look like money."""
    values = [row[index] for row in samples if index < len(row) and not blank(row[index])]
    return sum(1 for v in values if looks_like_money(v)) * 2 > len(values) > 0
