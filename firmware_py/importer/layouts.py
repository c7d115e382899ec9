"""File layouts and the rules that span several rows.

``detect_layout(columns)`` says whether the file is one row per loan
(``"loan"``) or one row per instalment (``"instalment"``), or raises
:class:`ImportFileError` naming the missing columns.

:class:`Batch` collects validated rows (:class:`~.rows.RowRecord`) into
debtors and loans and enforces what no single row can:

* a loan id twice in the loan layout, or the same instalment number of a loan
  twice in the instalment layout, is a *duplicate*: the loan cannot be known,
  so every row of it is rejected;
* the same document with another name is a *conflict*: the later row is
  rejected (the first one wins);
* an instalment row of a loan that belongs to another document is rejected;
* once any row of a loan is rejected, the loan is not imported at all (a loan
  with a missing instalment would be wrong): its other rows are rejected too,
  with a reason pointing at the faulty row;
* without a document column, rows whose names match (:func:`~.rows.fold`:
  case, accents and spaces aside) and that have at least one phone in common
  are ONE person with several loans, not debtors sharing a phone: they get
  the id of the first such row (transitively: a row matching either of two
  rows joins both), with a warning that it was assumed. A debtor already in
  the ledger without a document, with that name and a phone in common, is
  that same person too: their id is reused (warned as well). Different names
  on one phone stay different debtors sharing it;
* a phone number used by several debtors (in the file or already in the
  ledger) is marked ``personal=False`` and reported as a warning naming every
  debtor on it: the file's with their row, the ledger's as "ya en el
  sistema". Debtors of the file are judged by the file's phones, the others
  by their stored phones (``firmware_py.ledger.sharing.owners_after``, the
  judgement the ledger itself applies when it writes the batch; the ledger
  also re-puts the stored debtors with ``personal=False`` and never turns a
  stored ``personal=False`` back into ``True``).

Landlines get the ``call`` channel, mobiles ``sms``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Mapping

from scheduler.model import Debtor, Instalment, Loan, Phone

from firmware_py.importer.errors import ImportFileError
from firmware_py.importer.headers import FIELD_NAMES_ES, ColumnMap
from firmware_py.importer.phone_notes import merge_phones, note_is_personal
from firmware_py.importer.rows import DebtorData, RowContext, RowRecord, RowRejected, fold
from firmware_py.ledger.sharing import join_es, owners_after

_SMS = frozenset({"sms"})
_CALL = frozenset({"call"})
LAYOUT_NAMES_ES = {"loan": "una fila por crédito", "instalment": "una fila por cuota"}


def detect_layout(columns: ColumnMap) -> str:
    """``"loan"`` or ``"instalment"`` from the columns present; raises :class:`ImportFileError`."""
    missing = []
    if "name" not in columns:
        missing.append("nombre")
    if "phone" not in columns and "phone2" not in columns:
        missing.append("teléfono (o celular)")
    if "loan_id" not in columns and "document" not in columns:
        missing.append("crédito (número del préstamo) o documento (cédula)")
    has_amount = "amount" in columns or "instalment_amount" in columns
    if not has_amount:
        missing.append("monto (o valor, saldo, valor cuota)")
    if "due_date" not in columns and "first_due_date" not in columns:
        missing.append("fecha de vencimiento (o vence, primera cuota)")
    if missing:
        found = ", ".join(f"«{columns.header[i]}» = {FIELD_NAMES_ES[f]}" for f, i in sorted(columns.columns.items(),
                                                                                         key=lambda x: x[1]))
        unknown = ", ".join(f"«{h}»" for h in columns.unknown)
        message = ("No se reconoce el formato del archivo: faltan las columnas " + "; ".join(missing) + "."
                   + (f" Columnas reconocidas: {found}." if found else "")
                   + (f" Columnas desconocidas: {unknown}; indique a qué corresponden con una correspondencia de "
                      "columnas (--map ARCHIVO)." if unknown else "")
                   + " Escriba archivos de ejemplo con «cobrador examples CARPETA».")
        raise ImportFileError(message, reason="missing_columns")
    return "instalment" if "instalment_number" in columns else "loan"


class _DebtorAcc:
    __slots__ = ("data", "first_row", "phones", "loan_officer", "group", "tags")

    def __init__(self, data: DebtorData, row: int):
        self.data = data
        self.first_row = row
        self.phones = list(data.phones)
        self.loan_officer = data.loan_officer
        self.group = data.group
        self.tags = list(data.tags)

    def merge(self, data: DebtorData) -> None:
        merge_phones(self.phones, data.phones)
        self.loan_officer = self.loan_officer or data.loan_officer
        self.group = self.group or data.group
        self.tags.extend(t for t in data.tags if t not in self.tags)

    def absorb(self, other: "_DebtorAcc") -> None:
        """Take in what another accumulator of the same person collected (this one's name and row stay)."""
        merge_phones(self.phones, other.phones)
        self.loan_officer = self.loan_officer or other.loan_officer
        self.group = self.group or other.group
        self.tags.extend(t for t in other.tags if t not in self.tags)


class _LoanAcc:
    """One loan being collected. ``instalments`` maps number -> instalment; ``origin`` maps number -> row
    only in the instalment layout (the loan layout has one row per loan, so it needs no per-instalment row)."""

    __slots__ = ("debtor_id", "product", "currency", "status", "instalments", "origin", "rows")

    def __init__(self, debtor_id: str, record: RowRecord):
        self.debtor_id = debtor_id
        self.product = sys.intern(record.product)  # the same few words on thousands of loans
        self.currency = sys.intern(record.currency)
        self.status = record.status
        self.instalments: dict[int, Instalment] = {}
        self.origin: dict[int, int] | None = None
        self.rows: list[int] = []


@dataclass
class BatchResult:
    """What :meth:`Batch.finish` produces.

    ``deferred`` maps row numbers accepted at first but rejected at the end
    (their loan had a faulty row) to the reason; ``warnings`` are
    ``(row, Spanish text)``.
    """

    debtors: list[Debtor]
    loans: list[Loan]
    deferred: dict[int, str] = field(default_factory=dict)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    shared_phones: dict[str, int] = field(default_factory=dict)


class Batch:
    """Collects validated rows of one file; see the module docstring for the rules."""

    def __init__(self, layout: str, ctx: RowContext):
        self.layout = layout
        self.ctx = ctx
        self._debtors: dict[str, _DebtorAcc] = {}
        self._loans: dict[str, _LoanAcc] = {}
        self._tainted: dict[str, int] = {}

    def is_tainted(self, loan_id: str) -> bool:
        return loan_id in self._tainted

    def taint(self, loan_id: str, row: int) -> None:
        """A row of ``loan_id`` was rejected: the loan will not be imported."""
        if loan_id and loan_id not in self._tainted:
            self._tainted[loan_id] = row

    def add(self, record: RowRecord) -> None:
        """Take a validated row, or raise :class:`RowRejected` for a cross-row problem."""
        loan_id = record.loan_id
        if loan_id in self._tainted:
            raise RowRejected(f"otra fila del crédito {loan_id} tiene errores (fila {self._tainted[loan_id]}); "
                              "corríjala e importe de nuevo todas las filas de ese crédito", loan_id)
        loan = self._loans.get(loan_id)
        if record.debtor is None:
            if loan is None:
                raise RowRejected("faltan el nombre, el documento y el teléfono, y no hay una fila anterior del mismo "
                                  "crédito de donde tomarlos", loan_id)
            debtor_id = loan.debtor_id
        else:
            debtor_id = record.debtor.id
            known = self._debtors.get(debtor_id)
            if known is not None and fold(known.data.name) != fold(record.debtor.name):
                what = f"el documento {record.debtor.document}" if record.debtor.document else "el deudor"
                raise RowRejected(f"datos del deudor en conflicto: {what} ya aparece en la fila {known.first_row} "
                                  f"con otro nombre («{known.data.name}»)", loan_id)
        if loan is not None:
            first_row = loan.rows[0]
            if self.layout == "loan":
                raise RowRejected(f"el crédito {loan_id} está repetido (también aparece en la fila {first_row}); "
                                  "deje una sola fila por crédito", loan_id)
            if loan.debtor_id != debtor_id:
                raise RowRejected(f"el crédito {loan_id} aparece en la fila {first_row} con otro deudor", loan_id)
            for instalment in record.instalments:
                if instalment.number in loan.instalments:
                    other = loan.origin[instalment.number] if loan.origin else loan.rows[0]
                    raise RowRejected(f"cuota repetida: la cuota {instalment.number} del crédito {loan_id} también "
                                      f"aparece en la fila {other}", loan_id)
        if record.debtor is not None:
            known = self._debtors.get(debtor_id)
            if known is None:
                self._debtors[debtor_id] = _DebtorAcc(record.debtor, record.number)
            else:
                known.merge(record.debtor)
        if loan is None:
            loan = self._loans[loan_id] = _LoanAcc(debtor_id, record)
        for instalment in record.instalments:
            loan.instalments[instalment.number] = instalment
        if self.layout == "instalment":
            if loan.origin is None:
                loan.origin = {}
            for instalment in record.instalments:
                loan.origin[instalment.number] = record.number
        loan.rows.append(record.number)

    def finish(self, ledger_phone_owners: Mapping[str, Mapping[str, Debtor]] | None = None) -> BatchResult:
        """Build the debtors and loans to import.

        ``ledger_phone_owners`` maps E.164 numbers already in the ledger to
        the debtors using them (``{debtor id: Debtor}``), for shared-phone
        detection and its warning, and (without a document column) to
        recognise a debtor already stored.
        """
        ledger_owners = ledger_phone_owners or {}
        result = BatchResult([], [])
        for loan_id, row in self._tainted.items():
            loan = self._loans.pop(loan_id, None)
            if loan is None:
                continue
            for number in loan.rows:
                if number != row:
                    result.deferred[number] = (f"otra fila del crédito {loan_id} tiene errores (fila {row}); "
                                               "corríjala e importe de nuevo todas las filas de ese crédito")
        if not self.ctx.has_document_column:
            self._join_same_people(result, ledger_owners)
        used: set[str] = set()
        for loan_id in list(self._loans):
            acc = self._loans.pop(loan_id)  # free each accumulator as its loan is built: lower peak memory
            try:
                loan = Loan(external_id=loan_id, debtor_id=acc.debtor_id, product=acc.product,
                            currency=acc.currency or self.ctx.currency, instalments=tuple(acc.instalments.values()),
                            status=acc.status or "active")
            except ValueError as exc:  # the model's own checks are the last line of defence
                for number in acc.rows:
                    result.deferred[number] = f"el crédito {loan_id} no es válido ({exc})"
                continue
            used.add(acc.debtor_id)
            result.loans.append(loan)
        # debtors of this file are judged by the file's phones, the ledger's others by their stored ones
        owners = owners_after(ledger_owners, {d: [p.e164 for p in self._debtors[d].phones] for d in used})
        shared = {number: len(ids) for number, ids in owners.items() if len(ids) > 1}
        for number in sorted(shared):
            ids = owners[number]
            in_file = sorted((self._debtors[d] for d in ids if d in used), key=lambda acc: acc.first_row)
            stored = sorted((ledger_owners[number][d] for d in ids if d not in used), key=lambda d: (d.name, d.id))
            names = [f"{acc.data.name} (fila {acc.first_row})" for acc in in_file] \
                + [f"{debtor.name} (ya en el sistema)" for debtor in stored]
            result.warnings.append((in_file[0].first_row, f"el teléfono {number} lo comparten {len(ids)} deudores: "
                                                          f"{join_es(names)}: se marca como no personal y los "
                                                          "mensajes no mostrarán montos"))
        result.shared_phones = shared
        for debtor_id in sorted(used, key=lambda d: self._debtors[d].first_row):
            acc = self._debtors[debtor_id]
            phones = tuple(Phone(p.e164, personal=p.e164 not in shared and note_is_personal(p.note),
                                 channels=_SMS if p.mobile else _CALL)
                           for p in acc.phones)
            data = acc.data
            for phone in acc.phones:
                if not note_is_personal(phone.note):
                    result.warnings.append((acc.first_row, f"el teléfono {phone.e164} de {data.name} tiene la nota "
                                                           f"«{phone.note}»: se toma como de otra persona (no "
                                                           "personal) y los mensajes no mostrarán montos"))
                if not phone.mobile:
                    result.warnings.append((acc.first_row, f"el teléfono {phone.e164} de {data.name} es fijo: "
                                                           "solo recibirá llamadas, no SMS"))
            result.debtors.append(Debtor(id=debtor_id, name=data.name, document=data.document, phones=phones,
                                         language=data.language, timezone=self.ctx.timezone,
                                         jurisdiction=self.ctx.country.upper(), loan_officer=acc.loan_officer,
                                         group=acc.group, tags=tuple(acc.tags)))
        return result

    def _join_same_people(self, result: BatchResult, ledger_owners: Mapping[str, Mapping[str, Debtor]]) -> None:
        """Without a document column: one debtor for the rows with the same folded name and a phone in common,
        and the stored debtor without a document with that name and phone (module docstring). Re-keys the
        debtors and the loans, and warns about each assumption."""
        live = sorted({loan.debtor_id for loan in self._loans.values()}, key=lambda d: self._debtors[d].first_row)
        parent: dict[tuple[str, str], tuple[str, str]] = {}  # union-find over ("file"|"ledger", debtor id)
        first_at: dict[tuple[str, str], tuple[str, str]] = {}  # (folded name, number) -> first node with them
        stored: dict[str, Debtor] = {}  # stored debtors without a document that match a row

        def root(node):
            parent.setdefault(node, node)
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        def link(node, key):
            parent[root(node)] = root(first_at.setdefault(key, node))

        for debtor_id in live:
            acc = self._debtors[debtor_id]
            name = fold(acc.data.name)
            root(("file", debtor_id))
            for phone in acc.phones:
                link(("file", debtor_id), (name, phone.e164))
                for debtor in ledger_owners.get(phone.e164, {}).values():
                    if not debtor.document and fold(debtor.name) == name:
                        stored[debtor.id] = debtor
                        link(("ledger", debtor.id), (name, phone.e164))
        groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for node in parent:
            groups.setdefault(root(node), []).append(node)
        in_file = set(live)
        remap: dict[str, str] = {}
        for nodes in groups.values():
            own = sorted((i for kind, i in nodes if kind == "file"), key=lambda d: self._debtors[d].first_row)
            # a stored debtor's id, unless another person of this file has it (then the stored one is theirs)
            reusable = sorted(i for kind, i in nodes if kind == "ledger" and (i in own or i not in in_file))
            target = next((i for i in reusable if i in own), reusable[0] if reusable else own[0])
            if own == [target]:
                continue
            accs = [self._debtors.pop(debtor_id) for debtor_id in own]
            for acc in accs[1:]:
                accs[0].absorb(acc)
            self._debtors[target] = accs[0]
            remap.update(dict.fromkeys(own, target))
            rows = join_es([str(acc.first_row) for acc in accs])
            where = f"filas {rows}" if len(accs) > 1 else f"fila {rows}"
            if target in own:
                message = f"se asumió que es la misma persona: mismo nombre y teléfono en las {where}"
            else:
                message = (f"se asumió que es la misma persona que {stored[target].name} (ya en el sistema): mismo "
                           f"nombre y teléfono ({where})")
            result.warnings.append((accs[0].first_row, message))
        for loan in self._loans.values():
            loan.debtor_id = remap.get(loan.debtor_id, loan.debtor_id)
