"""Spreadsheet exports that are safe to open in Excel."""

from __future__ import annotations

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
