"""Synthetic loan lists, as a Spanish-locale spreadsheet would export them.

Used by the tests, the benchmark and demos: ``write_loan_csv(path, rows)``
writes a one-row-per-loan file (``;``, decimal comma, UTF-8 with BOM by
default) streaming, so a million rows cost no memory. Deterministic for a
given ``seed``.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

FIRST = ("María", "José", "Luz Dary", "Ana", "Juan", "Rosa", "Héctor", "Nubia", "Óscar", "Ñusta", "Yolanda",
         "Wilson", "Gloria", "Édgar", "Sofía", "Jhon")
LAST = ("Quispe", "Muñoz", "Peña", "Rojas", "Álvarez", "Cárdenas", "Huanca", "Gómez", "Ñañez", "Ríos", "Zúñiga")
MOBILE_PREFIXES = ("300", "301", "304", "310", "311", "312", "313", "314", "315", "316", "317", "318", "320", "321",
                   "350")
HEADER = ("Crédito", "Nombre", "Cédula", "Celular", "Monto", "Número de cuotas", "Frecuencia", "Primera cuota",
          "Pagado", "Producto")


def es_amount(value: int) -> str:
    """``1234567`` -> ``"1.234.567"`` (Spanish thousands dots)."""
    return f"{value:,}".replace(",", ".")


def loan_row(i: int, rng: random.Random, start: date, counts: tuple[int, ...] = (1, 3, 6, 12, 24)) -> list[str]:
    """One plausible loan row number ``i`` with a number of instalments drawn from ``counts``."""
    amount = rng.randrange(100, 5000) * 1000
    count = rng.choice(counts)
    return [f"CR-{i:07d}", f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}", es_amount(10_000_000 + i),
            f"{rng.choice(MOBILE_PREFIXES)} {rng.randrange(100, 1000)} {i % 10000:04d}",
            es_amount(amount), str(count), rng.choice(("mensual", "quincenal", "semanal")),
            (start + timedelta(days=rng.randrange(0, 60))).strftime("%d/%m/%Y"), "0",
            rng.choice(("Microcrédito", "Consumo", "Agro"))]


def write_loan_csv(path, rows: int, *, seed: int = 1, delimiter: str = ";", encoding: str = "utf-8",
                   bom: bool = True, start: date = date(2027, 1, 1),
                   counts: tuple[int, ...] = (1, 3, 6, 12, 24)) -> Path:
    """Write ``rows`` loans to ``path`` and return it (instalments per loan drawn from ``counts``)."""
    rng = random.Random(seed)
    path = Path(path)
    with open(path, "wb") as raw:
        if bom and encoding == "utf-8":
            raw.write(codecs.BOM_UTF8)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(1, rows + 1):
            writer.writerow(loan_row(i, rng, start, counts))
        text.flush()
        text.detach()
    return path


INSTALMENT_HEADER = ("Crédito", "Cuota", "Fecha de vencimiento", "Valor", "Pagado", "Nombre", "Documento", "Teléfono")


def write_instalment_csv(path, rows: int, *, per_loan: int = 10, seed: int = 1, start: date = date(2027, 1, 1)) -> Path:
    """Write ``rows`` instalment rows (``per_loan`` per loan, monthly) to ``path`` (``;``, UTF-8 with BOM)."""
    rng = random.Random(seed)
    path = Path(path)
    with open(path, "wb") as raw:
        raw.write(codecs.BOM_UTF8)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
        writer.writerow(INSTALMENT_HEADER)
        loan = None
        for i in range(rows):
            number = i % per_loan + 1
            if number == 1:
                loan = (f"CR-{i // per_loan + 1:07d}", f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        es_amount(20_000_000 + i // per_loan),
                        f"{rng.choice(MOBILE_PREFIXES)} {rng.randrange(100, 1000)} {i // per_loan % 10000:04d}",
                        es_amount(rng.randrange(10, 500) * 1000), start + timedelta(days=rng.randrange(0, 28)))
            loan_id, name, document, phone, amount, first = loan
            due = date(first.year + (first.month - 1 + number - 1) // 12, (first.month - 1 + number - 1) % 12 + 1,
                       first.day)
            paid = amount if number <= 2 else "0"
            writer.writerow([loan_id, number, due.strftime("%d/%m/%Y"), amount, paid, name, document, phone])
        text.flush()
        text.detach()
    return path
