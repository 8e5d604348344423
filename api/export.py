"""Spreadsheet exports that are safe to open in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def to_xlsx(rows: Sequence[dict[str, object]], columns: Sequence[str]) -> bytes:
    """An .xlsx workbook of the rows (text cells neutralised, numbers kept as numbers)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "leads"
    ws.append(columns)
    for row in rows:
        ws.append([neutralise(row.get(c)) for c in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_csv(rows: Sequence[dict[str, object]], columns: Sequence[str]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads the Chinese), text cells neutralised."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(row.get(k)) for k in columns})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
