from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from data import columns as C
from data.loaders import DataFileError, load_table, read_csv, write_rejects

OUTREACH_HEADER = (
    "outreach_id,enterprise_id,park_id,track,campaign,contacted_on,outcome,closed_on,officer,note\n"
)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_row_numbers_follow_source_lines_across_embedded_newlines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "o.csv",
        OUTREACH_HEADER
        + 'o1,913101011324142057,shibei,hq,c1,2020-01-02,signed,2020-03-01,王磊,"two\nlines"\n'
        + "o2,913101011324142057,shibei,hq,c1,2020-01-05,maybe,,王磊,\n",
    )
    result = load_table(path, table="outreach")
    assert result.accepted == 1
    [reject] = result.rejects.to_dict("records")
    assert reject[C.REJECT_ROW] == 4  # header line 1, first record lines 2-3
    assert reject[C.REJECT_COLUMN] == C.OUTCOME
    assert reject[C.REJECT_VALUE] == "maybe"
    assert "must be one of" in reject[C.REJECT_REASON]
    assert reject[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED


def test_optional_cell_is_cleared_and_listed_required_cell_rejects_row(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "o.csv",
        OUTREACH_HEADER
        + "o1,e1,shibei,hq,c1,2020-01-02,declined,not-a-date,李静,\n"
        + "o2,e2,shibei,hq,c1,N/A,declined,,李静,\n"
        + "o3,e3,shibei,bigdata,,2020-02-03,pending,,,\n",
    )
    result = load_table(path, table="outreach")
    assert (result.accepted, result.rejected, result.cleared) == (2, 1, 1)
    assert result.accepted + result.rejected == result.source_rows == 3
    cleared = result.rejects[result.rejects[C.REJECT_ACTION] == C.ACTION_VALUE_CLEARED].iloc[0]
    assert (cleared[C.REJECT_ROW], cleared[C.REJECT_COLUMN]) == (2, C.CLOSED_ON)
    rejected = result.rejects[result.rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED].iloc[0]
    assert (rejected[C.REJECT_ROW], rejected[C.REJECT_COLUMN]) == (3, C.CONTACTED_ON)
    assert rejected[C.REJECT_REASON] == "required value is missing"
    kept = result.frame.set_index(C.OUTREACH_ID)
    assert pd.isna(kept.at["o1", C.CLOSED_ON]) and pd.isna(kept.at["o3", C.CAMPAIGN])


def test_wrong_field_count_and_duplicate_keys_are_rejected_with_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        "enterprise_id,year,revenue_wan_cny,tax_paid_wan_cny\n"
        "e1,2020,100,5\n"
        "e1,2020,120,6\n"
        "e2,2020,80\n"
        "e3,2019,-5,1\n",
    )
    result = load_table(path, table="tax_records")
    reasons = {r[C.REJECT_ROW]: r[C.REJECT_REASON] for r in result.rejects.to_dict("records")}
    assert reasons[3] == "duplicate key, first on row 2"
    assert reasons[4] == "has 3 fields, the header has 4"
    assert reasons[5] == "must be ≥ 0"  # revenue is optional: cleared, row kept
    assert result.accepted == 2 and result.rejected == 2 and result.source_rows == 4


def test_rejects_file_has_the_contract_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv", "enterprise_id,year,revenue_wan_cny,tax_paid_wan_cny\ne1,abc,1,1\n"
    )
    result = load_table(path, table="tax_records")
    written = write_rejects(result, tmp_path / "out")
    frame = pd.read_csv(written)
    assert list(frame.columns) == list(C.REJECT_COLUMNS)
    assert frame.iloc[0].to_dict() == {
        "row": 2,
        "column": "year",
        "value": "abc",
        "reason": "not a whole number",
        "action": "row_rejected",
    }


def test_excel_rows_are_sheet_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["park_id", "enterprise_id", "entered_on"])
    ws.append(["shibei", "e1", "2019-05-01"])
    ws.append([None, None, None])
    ws.append(["shibei", None, "2020-01-01"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    result = load_table(path, table="park_roster")
    assert result.accepted == 1
    assert result.rejects.iloc[0][C.REJECT_ROW] == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.xlsx", b"this is not a zip archive", "not a readable Excel"),
        ("bad.parquet", b"PAR1\x00\x01truncated", "not a readable parquet"),
        (
            "bad.csv",
            b"enterprise_id,year\n\xff\xfe\xfa\xfb\x81,2020\n",
            "not readable as UTF-8 or GB18030",
        ),
        ("bad.json", b"{}", "unsupported file type"),
    ],
)
def test_unreadable_files_name_the_file(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=message) as info:
        load_table(path, table="tax_records")
    assert str(path) in str(info.value)


def test_gb18030_csv_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "g.csv",
        "park_id,enterprise_id,entered_on\nshibei,静安一号,2020-01-01\n",
        encoding="gb18030",
    )
    raw = read_csv(path)
    assert raw.frame.iloc[0]["enterprise_id"] == "静安一号"


def test_missing_required_column_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "enterprise_id,revenue_wan_cny\ne1,5\n")
    with pytest.raises(DataFileError, match="missing required column"):
        load_table(path, table="tax_records")
