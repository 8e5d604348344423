"""Loaders for parquet, CSV and Excel with validation and quarantine.

Every table passes its pandera schema. A cell that fails is written to ``rejects/<table>.csv``
with the row as in the source file (CSV: line number, header = line 1; Excel: sheet row;
parquet: record number + 1, so the first record is row 2 like a file with a header), the column,
the value and the reason. A failing cell in a required column rejects its row; a failing cell in
an optional column is cleared and the row kept — both are listed (``action``), nothing is silent.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from data import columns as C
from data.credit_code import credit_code_error
from data.schemas import KEYS, SCHEMAS, column_order, required_columns

MISSING_TOKENS = frozenset(
    {"", "N/A", "n/a", "NA", "#N/A", "null", "NULL", "None", "nan", "NaN", "-", "--", "—"}
)
_TRUE = frozenset({"true", "t", "yes", "y", "1", "是"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "否"})
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class DataFileError(ValueError):
    """A file cannot be read as a table at all; the message names the file and the reason."""


@dataclass(frozen=True)
class RawTable:
    """Text cells of a source file (missing tokens already ``None``) with each record's row."""

    frame: pd.DataFrame
    rows: np.ndarray
    source: Path
    malformed: pd.DataFrame = field(default_factory=lambda: _empty_rejects())


@dataclass
class LoadResult:
    """What a load accepted, what it rejected and what it normalised."""

    table: str
    source: Path
    frame: pd.DataFrame
    rejects: pd.DataFrame
    source_rows: int
    normalisations: Counter[str] = field(default_factory=Counter)
    unmapped_columns: tuple[str, ...] = ()

    @property
    def accepted(self) -> int:
        """Rows accepted."""
        return len(self.frame)

    @property
    def rejected(self) -> int:
        """Source rows rejected."""
        rejected = self.rejects[self.rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED]
        return int(rejected[C.REJECT_ROW].nunique())

    @property
    def cleared(self) -> int:
        """Cells cleared in accepted rows."""
        return int((self.rejects[C.REJECT_ACTION] == C.ACTION_VALUE_CLEARED).sum())

    def summary(self) -> dict[str, object]:
        """Counts for printing and for the import report."""
        return {
            "table": self.table,
            "source": str(self.source),
            "source_rows": self.source_rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "values_cleared": self.cleared,
            "normalisations": dict(sorted(self.normalisations.items())),
            "unmapped_columns": list(self.unmapped_columns),
            "reject_reasons": _reason_counts(self.rejects),
        }


def reject_record(
    *, row: int, column: str, value: object, reason: str, action: str = C.ACTION_ROW_REJECTED
) -> dict[str, object]:
    """One line of a rejects file: the source row, the column, the value as text, why, and
    whether the row was rejected or only the value cleared."""
    return {
        C.REJECT_ROW: row,
        C.REJECT_COLUMN: column,
        C.REJECT_VALUE: "" if value is None else str(value),
        C.REJECT_REASON: reason,
        C.REJECT_ACTION: action,
    }


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in C.REJECT_COLUMNS})


def _reason_counts(rejects: pd.DataFrame, top: int = 10) -> dict[str, int]:
    if rejects.empty:
        return {}
    # group reasons by their stable part (before a colon with the specific value)
    keys = (
        rejects[C.REJECT_COLUMN].astype(str)
        + ": "
        + rejects[C.REJECT_REASON]
        .astype(str)
        .str.replace(r"(check character is) .*", r"\1 wrong", regex=True)
        .str.replace(r"first on row \d+", "first on an earlier row", regex=True)
    )
    return {str(k): int(v) for k, v in keys.value_counts().head(top).items()}


def _clean_cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if text in MISSING_TOKENS else text
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _decode(path: Path) -> str:
    data = path.read_bytes()
    errors = []
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            errors.append(f"{encoding}: byte {exc.start}")
    raise DataFileError(f"{path}: not readable as UTF-8 or GB18030 text ({'; '.join(errors)})")


def read_csv(path: Path) -> RawTable:
    """Read a CSV as text cells, keeping each record's starting line number."""
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise DataFileError(f"{path}: empty file, no header line") from exc
    except csv.Error as exc:
        raise DataFileError(f"{path}: line 1: {exc}") from exc
    records: list[list[object]] = []
    rows: list[int] = []
    malformed: list[dict[str, object]] = []
    line = reader.line_num
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # a blank line is not a record
            if len(record) != len(header):
                malformed.append(
                    reject_record(
                        row=start,
                        column="*",
                        value=",".join(record)[:200],
                        reason=f"has {len(record)} fields, the header has {len(header)}",
                    )
                )
                continue
            records.append([_clean_cell(v) for v in record])
            rows.append(start)
    except csv.Error as exc:
        raise DataFileError(f"{path}: line {reader.line_num}: {exc}") from exc
    frame = pd.DataFrame(records, columns=header, dtype=object)
    return RawTable(frame, np.asarray(rows, dtype=np.int64), path, _rejects_frame(malformed))


def _excel_text(value: object) -> object:
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return _clean_cell(str(value)) if value is not None else None


def read_excel(path: Path, *, sheet: str | None = None) -> RawTable:
    """Read the first (or named) sheet of an .xlsx file, keeping each record's sheet row."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataFileError(f"{path}: not a readable Excel (.xlsx) workbook: {exc}") from exc
    try:
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        it = worksheet.iter_rows(values_only=True)
        header_row = next(it, None)
        if header_row is None:
            raise DataFileError(f"{path}: empty sheet, no header row")
        header = [str(h).strip() if h is not None else "" for h in header_row]
        records, rows = [], []
        for number, values in enumerate(it, start=2):
            cells = [_excel_text(v) for v in values[: len(header)]]
            if all(c is None for c in cells):
                continue
            cells += [None] * (len(header) - len(cells))
            records.append(cells)
            rows.append(number)
    finally:
        workbook.close()
    frame = pd.DataFrame(records, columns=header, dtype=object)
    return RawTable(frame, np.asarray(rows, dtype=np.int64), path)


def read_parquet(path: Path) -> RawTable:
    """Read a parquet file; record ``i`` (0-based) is reported as row ``i + 2``."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for truncated or foreign files
        raise DataFileError(f"{path}: not a readable parquet file: {exc}") from exc
    frame = frame.reset_index(drop=True)
    return RawTable(frame, np.arange(2, len(frame) + 2, dtype=np.int64), path)


def write_parquet(frame: pd.DataFrame, path: Path, *, row_group_size: int | None = None) -> Path:
    """Write ``frame`` to ``path`` atomically: a reader (a reloading server) sees the old file or
    the new one, never half of one, and a crash mid-write leaves the old file as it was."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_parquet(tmp, index=False, row_group_size=row_group_size)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_raw(path: Path) -> RawTable:
    """Read a table file by its extension (.csv/.txt, .xlsx/.xlsm, .parquet)."""
    if not path.exists():
        raise DataFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return read_csv(path)
    if suffix in {".xlsx", ".xlsm"}:
        return read_excel(path)
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path)
    raise DataFileError(f"{path}: unsupported file type {suffix!r} (use .csv, .xlsx or .parquet)")


def _rejects_frame(records: Iterable[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(records), columns=list(C.REJECT_COLUMNS))
    return frame if len(frame) else _empty_rejects()


_CHECK_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^not_nullable$"), "required value is missing"),
    (re.compile(r"^coerce_dtype\('datetime64.*'\)$"), "not a date (expected YYYY-MM-DD)"),
    (re.compile(r"^coerce_dtype\('Int64'\)$"), "not a whole number"),
    (re.compile(r"^coerce_dtype\('float64'\)$"), "not a number"),
    (re.compile(r"^coerce_dtype\('boolean'\)$"), "not true/false"),
    (re.compile(r"^coerce_dtype\('(.*)'\)$"), r"cannot be read as \1"),
    (re.compile(r"^greater_than_or_equal_to\((.*)\)$"), r"must be ≥ \1"),
    (re.compile(r"^less_than_or_equal_to\((.*)\)$"), r"must be ≤ \1"),
    (re.compile(r"^greater_than\((.*)\)$"), r"must be > \1"),
    (re.compile(r"^less_than\((.*)\)$"), r"must be < \1"),
    (re.compile(r"^isin\((.*)\)$"), r"must be one of \1"),
    (re.compile(r"^str_length\(1, None\)$"), "must not be empty"),
]
_FORMAT_REASONS = {
    C.ENTERPRISE_ID: "must be an 18-character credit code, stock:<6 digits> or <prefix>:<id>",
    C.STOCK_CODE: "must be 6 digits",
    C.LINK_ID: "must be <chain>.<link>",
}


def _reason(column: str, check: str, value: object) -> str:
    if check == "valid_credit_code":
        return f"invalid credit code: {credit_code_error(str(value))}"
    if check.startswith("str_matches"):
        return _FORMAT_REASONS.get(column, f"does not match {check[len('str_matches') :]}")
    for pattern, template in _CHECK_REASONS:
        if pattern.match(check):
            return pattern.sub(template, check)
    return f"fails check {check}"


def _parse_boolean(value: object) -> object:
    if value is None or isinstance(value, bool | np.bool_):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else _UNPARSED


_UNPARSED = object()
_TYPE_REASONS = {
    "datetime": "not a date (expected YYYY-MM-DD)",
    "float": "not a number",
    "Int64": "not a whole number",
    "boolean": "not true/false",
}


def _coerce_columns(frame: pd.DataFrame, table: str, row_of: pd.Series) -> list[dict[str, object]]:
    """Convert text columns to the schema's types, vectorised; return the cells that fail.

    pandera would coerce too, but it finds the failing cells one value at a time, which takes
    minutes on a large registry export; this does the same in a few vectorised passes.
    """
    failures: list[dict[str, object]] = []
    schema = SCHEMAS[table].to_schema()
    for name, col in schema.columns.items():
        series = frame[name]
        if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
            continue
        series = series.astype(object).where(series.notna(), None)
        kind = str(col.dtype)
        present = series.notna()
        if kind.startswith("datetime"):
            converted = pd.to_datetime(
                series.where(present, None), errors="coerce", format="ISO8601"
            )
            bad = present & converted.isna()
            key = "datetime"
        elif kind in {"float64", "Int64"}:
            converted = pd.to_numeric(
                series.where(present, None).map(
                    lambda v: v.replace(",", "") if isinstance(v, str) else v
                ),
                errors="coerce",
            )
            bad = present & converted.isna()
            if kind == "Int64":
                fractional = converted.notna() & (converted != np.floor(converted.fillna(0)))
                bad |= fractional
                converted = converted.where(~bad)
            key = "float" if kind == "float64" else "Int64"
        elif kind == "boolean":
            parsed = series.map(_parse_boolean)
            bad = parsed.map(lambda v: v is _UNPARSED).astype(bool)
            converted = parsed.where(~bad, None)
            key = "boolean"
        else:
            continue
        for idx in np.flatnonzero(bad.to_numpy()):
            failures.append(
                reject_record(
                    row=int(row_of.to_numpy()[idx]),
                    column=name,
                    value=str(series.iloc[idx]),
                    reason=_TYPE_REASONS[key],
                    action=C.ACTION_VALUE_CLEARED,
                )
            )
        frame[name] = (
            converted.astype(kind if kind != "float64" else "float64")
            if key != "datetime"
            else converted
        )
    return failures


def _duplicate_rejects(frame: pd.DataFrame, rows: np.ndarray, table: str) -> pd.DataFrame:
    keys = [k for k in KEYS[table] if k in frame]
    if len(keys) != len(KEYS[table]):
        return _empty_rejects()
    key_frame = frame[keys].astype("string")
    complete = key_frame.notna().all(axis=1)
    dup = key_frame.duplicated(keep="first") & complete
    if not dup.any():
        return _empty_rejects()
    first_row = (
        pd.Series(rows, index=frame.index)
        .groupby([key_frame[k] for k in keys], dropna=True)
        .transform("min")
    )
    records = [
        reject_record(
            row=int(rows[i]),
            column="+".join(keys),
            value="|".join(str(frame.at[idx, k]) for k in keys),
            reason=f"duplicate key, first on row {int(first_row.to_numpy()[i])}",
        )
        for i, idx in enumerate(frame.index)
        if dup.at[idx]
    ]
    return _rejects_frame(records)


def validate_table(
    frame: pd.DataFrame,
    *,
    table: str,
    rows: np.ndarray,
    source: Path,
    required: Sequence[str] | None = None,
    prior_rejects: pd.DataFrame | None = None,
    normalisations: Counter[str] | None = None,
    unmapped_columns: Sequence[str] = (),
    source_rows: int | None = None,
    derived: Mapping[str, str] | None = None,
) -> LoadResult:
    """Validate ``frame`` against the table's schema and quarantine what fails.

    ``rows`` gives each record's source row; ``prior_rejects`` are failures found while parsing
    (their rows are rejected or their cells cleared as their ``action`` says). ``derived`` maps a
    column computed from another (enterprise_id <- credit_code) to its source, so that one bad
    source cell is reported once.
    """
    if table not in SCHEMAS:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(SCHEMAS)}")
    required_cols = tuple(required) if required is not None else required_columns(table)
    missing = [c for c in required_cols if c not in frame.columns]
    if missing:
        raise DataFileError(f"{source}: missing required column(s): {', '.join(missing)}")
    frame = frame.reset_index(drop=True).copy()
    contract = column_order(table)
    for name in contract:
        if name not in frame:
            frame[name] = None
    extra = [c for c in frame.columns if c not in contract]
    frame = frame[[*contract, *extra]]
    row_of = pd.Series(rows, index=frame.index)
    coerce_failures = _coerce_columns(frame, table, row_of)
    for failure in coerce_failures:
        if failure[C.REJECT_COLUMN] in required_cols:
            failure[C.REJECT_ACTION] = C.ACTION_ROW_REJECTED
    prior = pd.concat(
        [
            prior_rejects if prior_rejects is not None else _empty_rejects(),
            _rejects_frame(coerce_failures),
        ],
        ignore_index=True,
    )
    rejected_rows = set(
        prior.loc[prior[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED, C.REJECT_ROW].astype(int)
    )
    live = ~row_of.isin(rejected_rows)
    dups = _duplicate_rejects(frame[live], rows[live.to_numpy()], table)
    rejected_rows |= set(dups[C.REJECT_ROW].astype(int))
    found: list[dict[str, object]] = []
    schema = SCHEMAS[table].to_schema()
    for _ in range(3):
        live = ~row_of.isin(rejected_rows)
        try:
            validated = schema.validate(frame[live], lazy=True)
            break
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            if cases["index"].isna().any():
                bad = cases[cases["index"].isna()].iloc[0]
                raise DataFileError(
                    f"{source}: column {bad['column']}: {bad['check']} ({bad['failure_case']})"
                ) from exc
            cases = cases[~cases["check"].astype(str).str.startswith("dtype(")]
            for case in cases.itertuples(index=False):
                idx = int(case.index)  # frame has a RangeIndex: label == position
                column = str(case.column)
                action = (
                    C.ACTION_ROW_REJECTED if column in required_cols else C.ACTION_VALUE_CLEARED
                )
                raw_value = frame.at[idx, column]
                found.append(
                    reject_record(
                        row=int(row_of.to_numpy()[idx]),
                        column=column,
                        value=raw_value,
                        reason=_reason(column, str(case.check), raw_value),
                        action=action,
                    )
                )
                if action == C.ACTION_ROW_REJECTED:
                    rejected_rows.add(int(row_of.to_numpy()[idx]))
                else:
                    frame.at[idx, column] = None
    else:  # pragma: no cover - clearing cells always converges; this guards against a schema bug
        raise RuntimeError(f"{source}: validation did not converge")
    failed = {(r[C.REJECT_ROW], r[C.REJECT_COLUMN]) for r in found}
    failed |= set(zip(prior[C.REJECT_ROW], prior[C.REJECT_COLUMN], strict=True))
    derived = derived or {}
    found = [
        r
        for r in found
        if not (
            r[C.REJECT_COLUMN] in derived
            and (r[C.REJECT_ROW], derived[str(r[C.REJECT_COLUMN])]) in failed
        )
    ]
    # a row rejected later makes its earlier 'cleared' entries row rejections too
    rejects = pd.concat([prior, dups, _rejects_frame(found)], ignore_index=True)
    in_rejected = rejects[C.REJECT_ROW].astype(int).isin(rejected_rows)
    rejects.loc[in_rejected, C.REJECT_ACTION] = C.ACTION_ROW_REJECTED
    rejects = rejects.sort_values([C.REJECT_ROW, C.REJECT_COLUMN], kind="stable").reset_index(
        drop=True
    )
    total = (
        source_rows
        if source_rows is not None
        else len(frame) + int(prior[C.REJECT_COLUMN].eq("*").sum())
    )
    return LoadResult(
        table=table,
        source=source,
        frame=validated.reset_index(drop=True),
        rejects=rejects,
        source_rows=total,
        normalisations=normalisations or Counter(),
        unmapped_columns=tuple(unmapped_columns),
    )


def load_table(path: Path, *, table: str) -> LoadResult:
    """Load a contract table from CSV, Excel or parquet, with validation and quarantine."""
    raw = read_raw(path)
    unknown = tuple(c for c in raw.frame.columns if c not in column_order(table))
    return validate_table(
        raw.frame,
        table=table,
        rows=raw.rows,
        source=path,
        prior_rejects=raw.malformed,
        unmapped_columns=unknown,
        source_rows=len(raw.frame) + len(raw.malformed),
    )


def write_rejects(result: LoadResult, out_dir: Path) -> Path:
    """Write ``out_dir/rejects/<table>.csv`` (header only when nothing failed)."""
    path = out_dir / "rejects" / f"{result.table}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    result.rejects.to_csv(path, index=False, encoding="utf-8")
    return path
