"""Import a loan list into the ledger: the one function the CLI, the USB stick and the web page call.

``import_loans(source, ledger, now=..., options=...)`` reads ``source`` (a
path or a binary stream), validates every row, writes the rejected rows to
the rejects file and hands all accepted debtors and loans to the ledger in
ONE ``ledger.import_batch`` call (atomic: all or nothing, power cut
included). Re-importing the same or an updated file updates loans by their
id (and debtors by document) and never duplicates them.

Returns an :class:`ImportReport`; raises
:class:`~firmware_py.importer.errors.ImportFileError` (Spanish message)
when the file as a whole cannot be imported — nothing is written then.
Errors of the ledger (``firmware_py.errors.LedgerError``) propagate.

Memory stays bounded: rows are streamed, only accepted records (needed for
the single atomic batch) and each rejected row's number and reason are kept;
a file with more than ``options.max_rows`` data rows is refused.

Time: the import runs with Python's cyclic garbage collector paused
(:func:`scheduler.collector.collector_paused`: its passes re-traversed every record built so far, for no
garbage); it is restored afterwards.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Mapping

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.headers import ColumnMap, normalise_header, recognised_count, resolve_columns
from firmware_py.importer.layouts import Batch, detect_layout
from firmware_py.importer.parsing import date_evidence, default_number_style, number_evidence
from firmware_py.importer.reading import FileFormat, RawRow, open_binary, open_table
from firmware_py.importer.rejects import write_rejects
from firmware_py.importer.rows import RowContext, RowRejected, read_row
from scheduler.collector import collector_paused
from scheduler.model import Debtor

log = logging.getLogger("cobrador.importer.importer")

LOOKAHEAD_ROWS = 500
HEADER_SEARCH_ROWS = 10
DEFAULT_MAX_ROWS = 50_000
_AMOUNT_FIELDS = ("amount", "instalment_amount", "paid_amount")
_DATE_FIELDS = ("due_date", "first_due_date")


@dataclass(frozen=True)
class ImportOptions:
    """How to read and what to do.

    ``country``/``timezone``/``language``: the cooperative's (config); phones
    are read for ``country``. ``mapping``: explicit ``{file header: field}``.
    ``dry_run``: validate and report, write nothing to the ledger.
    ``rejects``: path or binary stream for the rejects file (``None``: none).
    ``max_rows``: refuse larger files. ``past_days``: warn when a due date
    is older than this. ``source_name``: recorded by the ledger. ``as_of``: the
    date the file's paid amounts run to (in-app payments up to it are then
    marked reconciled by the ledger, so they are not counted twice).
    """

    country: str = "CO"
    timezone: str = "America/Bogota"
    language: str = "es"
    mapping: Mapping[str, str | None] | None = None
    dry_run: bool = False
    rejects: object = None
    max_rows: int = DEFAULT_MAX_ROWS
    past_days: int = 180
    source_name: str = ""
    as_of: date | None = None

    @classmethod
    def from_config(cls, config, **overrides) -> "ImportOptions":
        """Options with the cooperative's country, time zone and language from ``config``."""
        coop = config.cooperative
        return cls(country=coop.country, timezone=coop.timezone, language=coop.language, **overrides)


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str


@dataclass(frozen=True)
class Warning_:
    row: int
    message: str


@dataclass
class ImportReport:
    """What happened. ``imported``/``updated``/``unchanged`` count loans created/updated/already identical in
    the ledger, ``debtors_created``/``debtors_updated`` the debtors; on a dry run they are what the import
    would do (compared with the ledger given, read-only, or every record new without one: the same counts
    the real import then reports).
    ``rows_read`` counts data rows (blank rows excluded), ``rows_valid`` the rows accepted."""

    source: str
    dry_run: bool
    sheet: str = ""  # the workbook sheet read ("" for CSV)
    encoding: str = ""
    delimiter: str = ""
    layout: str = ""
    number_style: str = ""
    date_order: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_valid: int = 0
    loans_in_file: int = 0
    debtors_in_file: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    debtors_created: int = 0
    debtors_updated: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    rejects_path: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True if something was imported (or, on a dry run, would be)."""
        return self.loans_in_file > 0 if self.dry_run else (self.imported + self.updated + self.unchanged) > 0

    def to_dict(self) -> dict:
        """JSON-ready: every field, ``ok``, and ``counts`` {read, imported, updated, unchanged, rejected}."""
        data = asdict(self)
        data["ok"] = self.ok
        data["counts"] = {"read": self.rows_read, "imported": self.imported, "updated": self.updated,
                          "unchanged": self.unchanged, "rejected": self.rejected}
        return data

    def summary_es(self) -> str:
        """One Spanish paragraph for the person at the office."""
        verb = "se importarían" if self.dry_run else "importados"
        parts = [f"Filas leídas: {self.rows_read}.",
                 (f"Créditos que {verb}: {self.loans_in_file} (nuevos: {self.imported}; actualizados: "
                  f"{self.updated}; sin cambios: {self.unchanged})." if self.dry_run else
                  f"Créditos nuevos: {self.imported}; actualizados: {self.updated}; sin cambios: {self.unchanged}."),
                 f"Filas rechazadas: {self.rejected}."]
        if self.rejects_path and self.rejected:
            parts.append(f"Las filas rechazadas, con el motivo en la columna «error», están en {self.rejects_path}: "
                         "corríjalas en la hoja de cálculo e importe ese archivo.")
        if self.warnings:
            parts.append(f"Avisos: {len(self.warnings)}.")
        return " ".join(parts)


def load_mapping(path) -> dict[str, str | None]:
    """Read a JSON column mapping ``{"file header": "field"}``; raises :class:`MappingError`."""
    import json

    from firmware_py.importer.errors import MappingError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MappingError(f"No se encuentra el archivo de correspondencia de columnas «{path}».") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MappingError(f"El archivo de correspondencia de columnas «{path}» no es un JSON válido: {exc}.") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in data.items()):
        raise MappingError(f"El archivo «{path}» debe ser un objeto JSON de la forma "
                           "{\"Columna del archivo\": \"campo\"}, por ejemplo {\"Cel. socio\": \"phone\"}.")
    return data


def import_loans(source, ledger, *, now: datetime, options: ImportOptions = ImportOptions(),
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import ``source`` into ``ledger`` (may be ``None`` on a dry run). See the module docstring."""
    with collector_paused():
        return _import_loans(source, ledger, now=now, options=options, progress=progress)


def _import_loans(source, ledger, *, now: datetime, options: ImportOptions,
                  progress: Callable[[int, int], None] | None) -> ImportReport:
    started = time.monotonic()
    name = options.source_name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", ""))
    report = ImportReport(source=str(name or "archivo"), dry_run=options.dry_run)
    if ledger is None and not options.dry_run:
        raise ValueError("a ledger is required unless dry_run=True")
    if isinstance(source, (str, Path)) and isinstance(options.rejects, (str, Path)) \
            and Path(source).resolve() == Path(options.rejects).resolve():
        raise ImportFileError("El archivo de filas rechazadas no puede ser el mismo archivo que se importa; "
                              "indique otro nombre.", reason="rejects_unwritable")
    stream, owned = open_binary(source)
    try:
        reasons: dict[int, str] = {}
        with open_table(stream, mapping=options.mapping) as table:
            report.sheet = table.format.sheet
            try:
                header_row, columns, batch = _read(table, ledger, report, options, now, reasons, progress)
            except ImportFileError as exc:
                _name_sheet(exc, report.sheet)
                raise
        if reasons and options.rejects is not None:
            write_rejects(stream, table.format, header_row, reasons, options.rejects)
            report.rejects_path = str(options.rejects) if isinstance(options.rejects, (str, Path)) else None
    finally:
        if owned:
            stream.close()
    report.rejections = [Rejection(r, reasons[r]) for r in sorted(reasons)]
    report.rejected = len(reasons)
    report.rows_valid = report.rows_read - report.rejected
    if batch is not None and batch.loans:
        if options.dry_run:
            outcome = _would_import(ledger, batch, source=report.source, as_of=options.as_of, now=now)
        else:
            outcome = ledger.import_batch(batch.debtors, batch.loans, source=report.source, as_of=options.as_of,
                                          now=now)
        report.imported, report.updated = outcome.loans_created, outcome.loans_updated
        report.unchanged = outcome.loans_unchanged
        report.debtors_created, report.debtors_updated = outcome.debtors_created, outcome.debtors_updated
    report.seconds = round(time.monotonic() - started, 3)
    log.info("import %s: %d rows, %d loans, %d rejected, %d warnings%s", report.source, report.rows_read,
             report.loans_in_file, report.rejected, len(report.warnings), " (dry run)" if options.dry_run else "")
    return report


def _would_import(ledger, batch, *, source: str, as_of: date | None, now: datetime):
    """The counts ``ledger.import_batch(batch...)`` would return, computed without writing anything.

    The ledger's own planner (:func:`firmware_py.ledger.importing.plan_import`, a pure function: it
    returns the change set and the counts and writes nothing) runs on the stored records as
    ``import_batch`` runs it, so a dry run and the import that follows say the same; it raises the same
    LedgerIntegrityError. Without a ledger every debtor and loan is new. The stored records are the
    ledger's own (``_records``), not the views ``loans()``/``debtors()`` return (in-app payments
    allocated, opt-outs applied), which would count unchanged loans as updated.
    """
    from firmware_py.ledger.importing import plan_import
    from firmware_py.ledger.results import ImportOutcome

    def counts_against(records):
        _ops, counts, _batch_id = plan_import(records, list(batch.debtors), list(batch.loans), [], source=source,
                                              as_of=as_of, now=now)
        return ImportOutcome(batch_id="", source=source, **counts)

    if ledger is None:
        return counts_against({"debtors": {}, "loans": {}, "payments": {}})
    with ledger._mutex:  # a consistent cut, as import_batch plans under the same lock
        ledger._check_open()
        return counts_against(ledger._records)


def _header_score(row: RawRow, mapping) -> int:
    score = recognised_count(row.cells)
    if mapping:
        keys = {normalise_header(k) for k in mapping}
        score += sum(1 for c in row.cells if normalise_header(c) in keys)
    return score


def _find_header(rows, mapping) -> tuple[RawRow, int, list[RawRow]]:
    """The header row (the first of the first non-blank rows naming >= 2 known columns, else the first
    non-blank row), how many rows before it were skipped, and data rows already read after it."""
    seen: list[RawRow] = []
    for row in rows:
        if not any(c is not None and str(c).strip() for c in row.cells):
            continue
        seen.append(row)
        if _header_score(row, mapping) >= 2:
            return row, len(seen) - 1, []
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise ImportFileError("El archivo está vacío: no tiene ni encabezados ni filas.", reason="empty")
    return seen[0], 0, seen[1:]


def _decide_styles(lookahead: list[RawRow], columns: ColumnMap, country: str) -> tuple[str, str]:
    numbers: Counter = Counter()
    dates: Counter = Counter()
    for row in lookahead:
        values = columns.pick(row.cells)
        for name in _AMOUNT_FIELDS:
            if (style := number_evidence(values.get(name))) is not None:
                numbers[style] += 1
        for name in _DATE_FIELDS:
            if (order := date_evidence(values.get(name))) is not None:
                dates[order] += 1
    number_style = max(numbers, key=lambda s: (numbers[s], s == default_number_style(country))) if numbers \
        else default_number_style(country)
    date_order = "mdy" if dates["mdy"] > dates["dmy"] else "dmy"
    return number_style, date_order


def _read(table, ledger, report: ImportReport, options: ImportOptions, now: datetime, reasons: dict[int, str],
          progress):
    fmt: FileFormat = table.format
    report.encoding = fmt.encoding + ("-bom" if fmt.bom and fmt.encoding == "utf-8" else "")
    report.delimiter = fmt.delimiter if fmt.kind == "csv" else ""
    rows = iter(table.rows())
    header, before, pending = _find_header(rows, options.mapping)
    # The first rows are read before the columns are resolved: an ambiguous "Cuota" column is decided by its
    # values too (headers.resolve_columns), and the number style and date order by the same rows below.
    lookahead: list[RawRow] = list(pending)
    for row in rows:
        lookahead.append(row)
        if len(lookahead) >= LOOKAHEAD_ROWS:
            break
    columns = resolve_columns(header.cells, options.mapping, samples=[r.cells for r in lookahead])
    layout = detect_layout(columns)
    report.layout = layout
    report.columns = {f: columns.header[i] for f, i in sorted(columns.columns.items(), key=lambda x: x[1])}
    report.unknown_columns = list(columns.unknown)
    if columns.unknown:
        report.warnings.append(Warning_(header.number, "columnas no reconocidas (se ignoran): "
                                        + ", ".join(f"«{h}»" for h in columns.unknown)))
    if before:
        ignored = "se ignoró 1 fila" if before == 1 else f"se ignoraron {before} filas"
        report.warnings.append(Warning_(header.number, f"{ignored} antes de los encabezados"))
    number_style, date_order = _decide_styles(lookahead, columns, options.country)
    report.number_style, report.date_order = number_style, date_order
    ctx = RowContext(country=options.country, timezone=options.timezone, language=options.language,
                     number_style=number_style, date_order=date_order, today=now.date(),
                     past_days=options.past_days, has_document_column="document" in columns,
                     has_loan_id_column="loan_id" in columns)
    batch = Batch(layout, ctx)
    if table.lines > options.max_rows * 2 + 10:  # cheap early refusal (lines >= rows)
        raise _too_many(options.max_rows)
    data_rows = 0

    def all_rows():
        yield from lookahead
        yield from rows

    for row in all_rows():
        if not _has_data(row.cells):
            continue
        data_rows += 1
        if data_rows > options.max_rows:
            raise _too_many(options.max_rows)
        if progress is not None and data_rows % 1000 == 0:
            progress(table.bytes_read, table.size)
        values = columns.pick(row.cells)
        loan_id = ""
        try:
            if row.encoding_issue:
                raise RowRejected(row.encoding_issue, str(values.get("loan_id") or "").strip())
            if row.cell_issues and (problem := row.cell_problem({i: columns.header[i]
                                                                 for i in columns.columns.values()})):
                raise RowRejected(problem, str(values.get("loan_id") or "").strip())
            record = read_row(values, row.number, layout, ctx)
            loan_id = record.loan_id
            batch.add(record)
        except RowRejected as exc:
            reasons[row.number] = exc.reason
            batch.taint(exc.loan_id or loan_id, row.number)
            continue
        except (ValueError, ArithmeticError) as exc:  # a value our checks let through but the model refuses
            log.warning("row %d refused by the model: %s", row.number, exc)
            reasons[row.number] = f"la fila tiene un valor que no se puede usar ({exc})"
            batch.taint(str(values.get("loan_id") or "").strip() or loan_id, row.number)
            continue
        for warning in record.warnings:
            report.warnings.append(Warning_(row.number, warning))
    report.rows_read = data_rows
    if data_rows == 0:
        raise ImportFileError("El archivo solo tiene los encabezados: no hay ninguna fila de préstamos para importar.",
                              reason="no_rows")
    if progress is not None:
        progress(table.size, table.size)
    result = batch.finish(_ledger_phone_owners(ledger) if ledger is not None else None)
    reasons.update(result.deferred)
    report.warnings.extend(Warning_(r, m) for r, m in result.warnings)
    report.warnings.sort(key=lambda w: w.row)
    report.loans_in_file = len(result.loans)
    report.debtors_in_file = len(result.debtors)
    return header.number, columns, result


def _has_data(cells) -> bool:
    """True unless every cell is ``None`` or only spaces (a blank row, skipped)."""
    for cell in cells:
        if cell is not None and (cell.strip() if type(cell) is str else str(cell).strip()):
            return True
    return False


def _name_sheet(exc: ImportFileError, sheet: str) -> None:
    """Make a file error raised while reading a workbook name the sheet read (if it does not already)."""
    if sheet and f"«{sheet}»" not in str(exc):
        exc.args = (f"{exc} Se leyó la hoja «{sheet}» del libro.",)


def _too_many(limit: int) -> ImportFileError:
    return ImportFileError(f"El archivo tiene más de {limit:,} filas de datos".replace(",", ".")
                           + ": es demasiado grande para importarlo de una vez. Divídalo en archivos más pequeños "
                             "(por ejemplo por agencia) e impórtelos uno a uno.", reason="too_many_rows")


def _ledger_phone_owners(ledger) -> dict[str, dict[str, Debtor]]:
    """E.164 number -> {debtor id: Debtor} of every debtor in the ledger listing it (for ``Batch.finish``:
    shared phones, and the warning naming the debtors already registered)."""
    owners: dict[str, dict[str, Debtor]] = {}
    for debtor in ledger.debtors():
        for phone in debtor.phones:
            owners.setdefault(phone.number, {})[debtor.id] = debtor
    return owners
