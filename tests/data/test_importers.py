from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from data import columns as C
from data.credit_code import credit_code_error
from data.importers import import_enterprises, map_headers
from data.money import CNY_PER_UNIT

HEADER = [
    "企业名称",
    "统一社会信用代码",
    "注册日期",
    "企业类型",
    "法人代表",
    "注册资金",
    "经营范围",
    "所在省份",
    "地区",
    "注册地址",
]
ROWS = [
    [
        "上海市新联塑料制品厂有限公司",
        "913101011324142057",
        "1979-02-06",
        "有限责任公司",
        "王琴",
        "168万人民币",
        "日用百货",
        "上海",
        "黄浦",
        "上海市河南南路824号3楼",
    ],
    [
        "上海市印刷七厂有限公司",
        "91310109133128219b",
        "1979年10月1日",
        "N/A",
        "姜荣华",
        "858(万元人民币)",
        "印刷",
        "上海",
        "虹口",
        "上海市东宝兴路336号3楼",
    ],
    [
        "外资样例有限公司",
        "913101067362027138",
        "2002-02-01",
        "N/A",
        "N/A",
        "8,800(万美元)",
        "N/A",
        "上海",
        "静安",
        "N/A",
    ],
    [
        "坏代码有限公司",
        "913101067362027139",
        "2002-02-01",
        "N/A",
        "N/A",
        "30(万元人民币)",
        "",
        "上海",
        "闸北",
        "",
    ],
    [
        "",
        "913101018323234353",
        "1979-12-21",
        "N/A",
        "胡国蓉",
        "N/A",
        "刻制公章",
        "上海",
        "黄浦",
        "",
    ],
    [
        "资金写错有限公司",
        "91310000740581189F",
        "2003-01-01",
        "N/A",
        "N/A",
        "Jean",
        "",
        "上海",
        "自贸区",
        "",
    ],
]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "registry.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return path


def test_chinese_headers_map_to_the_contract() -> None:
    mapping, unmapped = map_headers(
        ["企业名称", "统一社会信用代码", "成立日期", "注册日期", "所属城市", "所属区县", "法人代表"]
    )
    assert mapping == {
        "企业名称": C.NAME,
        "统一社会信用代码": C.CREDIT_CODE,
        "成立日期": C.FOUNDED_ON,
        "所属城市": C.CITY,
        "所属区县": C.DISTRICT,
    }
    assert unmapped == ["注册日期", "法人代表"]  # the second date column is kept, not merged


def test_registry_export_is_imported_with_every_row_accounted_for(tmp_path: Path) -> None:
    result = import_enterprises(_csv(tmp_path))
    assert result.source_rows == 6
    assert result.accepted == 4 and result.rejected == 2
    frame = result.frame.set_index(C.ENTERPRISE_ID)
    # upper-casing is a counted normalisation
    assert "91310109133128219B" in frame.index
    assert result.normalisations["credit_code upper-cased"] == 1
    # money, currencies, dates, regions
    assert frame.at["913101011324142057", C.REGISTERED_CAPITAL] == 168.0
    assert frame.at["913101067362027138", C.REGISTERED_CAPITAL] == pytest.approx(
        8800 * CNY_PER_UNIT["USD"]
    )
    assert result.normalisations["registered capital converted from USD"] == 1
    assert str(frame.at["91310109133128219B", C.FOUNDED_ON].date()) == "1979-10-01"
    assert frame.at["913101067362027138", C.DISTRICT] == "静安区"
    assert frame.at["913101067362027138", C.PROVINCE] == "上海市"
    assert frame.at["913101067362027138", C.CITY] == "上海市"
    assert frame.at["91310000740581189F", C.DISTRICT] == "自贸区"  # unknown: kept as given
    # N/A in an optional field is missing, not a reject
    assert pd.isna(frame.at["913101067362027138", C.BUSINESS_SCOPE])
    # unmapped source columns are kept
    assert frame.at["913101011324142057", "法人代表"] == "王琴"
    # the bad capital is cleared and listed; the row stays
    assert pd.isna(frame.at["91310000740581189F", C.REGISTERED_CAPITAL])
    rejects = result.rejects
    cleared = rejects[rejects[C.REJECT_ACTION] == C.ACTION_VALUE_CLEARED]
    assert cleared[[C.REJECT_ROW, C.REJECT_COLUMN, C.REJECT_VALUE]].values.tolist() == [
        [7, C.REGISTERED_CAPITAL, "Jean"]
    ]
    rejected = rejects[rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED]
    assert sorted(rejected[[C.REJECT_ROW, C.REJECT_COLUMN]].values.tolist()) == [
        [5, C.CREDIT_CODE],
        [6, C.NAME],
    ]
    assert "check character is 9" in rejected.iloc[0][C.REJECT_REASON]


def test_excel_export_reports_sheet_rows(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
    path = tmp_path / "registry.xlsx"
    wb.save(path)
    result = import_enterprises(path)
    assert result.accepted == 4
    assert sorted(
        result.rejects.loc[result.rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED, C.REJECT_ROW]
    ) == [5, 6]


def test_cli_import_writes_parquet_rejects_and_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "import",
            "enterprises",
            str(_csv(tmp_path)),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "6 rows read" in run.stdout and "4 accepted" in run.stdout and "2 rejected" in run.stdout
    assert len(pd.read_parquet(out / "enterprises.parquet")) == 4
    rejects = pd.read_csv(out / "rejects" / "enterprises.csv")
    assert list(rejects.columns) == list(C.REJECT_COLUMNS)
    report = json.loads((out / "rejects" / "enterprises.report.json").read_text(encoding="utf-8"))
    assert report["accepted"] == 4 and report["rejected"] == 2


def test_cli_names_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "registry.xlsx"
    bad.write_text("not excel")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "import",
            "enterprises",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "registry.xlsx" in run.stderr and "not a readable Excel" in run.stderr


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_shanghai_registrations(shared_data: Path) -> None:
    """Every row with an invalid credit code is rejected; every other row is accepted."""
    path = (
        shared_data
        / "shanghai_enterprise_registration_1979_2004"
        / "shanghai_registrations_1979_2004.csv"
    )
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        records = list(reader)
    invalid = {
        i + 2
        for i, r in enumerate(records)
        if credit_code_error(r[1].strip().upper()) is not None or not r[0].strip()
    }
    result = import_enterprises(path)
    rejected_rows = set(
        result.rejects.loc[result.rejects[C.REJECT_ACTION] == C.ACTION_ROW_REJECTED, C.REJECT_ROW]
    )
    assert result.source_rows == len(records) == 74_834
    assert rejected_rows == invalid
    assert result.accepted + result.rejected == result.source_rows
    assert result.accepted == len(records) - len(invalid)
    assert result.frame[C.ENTERPRISE_ID].is_unique
