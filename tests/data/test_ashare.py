from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data import columns as C
from data.ashare import import_ashare, parse_address
from tests.chainkg_fixture import write_chainkg

PROFIT = ["报告年份", "信息来源", "股票代码", "股票简称", "营业总收入", "营业收入", "净利润"]
CASH = ["报告年份", "信息来源", "股票代码", "股票简称", "支付的各项税费"]
PEOPLE = ["报告年份", "信息来源", "股票代码", "股票简称", "职工人数", "研发人员"]
BASE = ["报告年份", "信息来源", "股票代码", "股票简称", "办公地址", "注册地址"]


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_reports(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _csv(
        folder / "profit_statement.csv",
        PROFIT,
        [
            [2019, "年度报告", "603881", "数据港", 800_000_000, 800_000_000, 100_000_000],
            [2020, "年度报告", "603881", "数据港", 900_000_000, 900_000_000, 120_000_000],
            [2020, "年度报告", "603232", "格尔软件", -1.0, 500_000_000, 50_000_000],
            [2020, "年度报告", "000001", "平安银行", -1.0, -1.0, -1.0],
        ],
    )
    _csv(
        folder / "cash_flow_statement.csv",
        CASH,
        [
            [2019, "年度报告", "603881", "数据港", 40_000_000],
            [2020, "年度报告", "603881", "数据港", 45_000_000],
            [2020, "年度报告", "603232", "格尔软件", 900_000_000],  # line 4: above revenue
            [2020, "年度报告", "000001", "平安银行", -1.0],
        ],
    )
    _csv(
        folder / "people.csv",
        PEOPLE,
        [
            [2019, "年度报告", "603881", "数据港", 500, 50],
            [2020, "年度报告", "603881", "数据港", 600, 70],
            [2020, "年度报告", "603232", "格尔软件", 0, -1.0],
        ],
    )
    _csv(
        folder / "baseinfo.csv",
        BASE,
        [
            [  # FY2019: the office was still in Beijing
                2019,
                "年度报告",
                "603881",
                "数据港",
                "北京市海淀区中关村大街1号",
                "上海市静安区江场路1401弄",
            ],
            [
                2020,
                "年度报告",
                "603881",
                "数据港",
                "上海市静安区江场路1401弄",
                "上海市静安区江场路1401弄",
            ],
            [
                2020,
                "年度报告",
                "603232",
                "格尔软件",
                "上海市静安区江场西路299弄",
                "上海市闸北区江场西路299弄",
            ],
            [
                2020,
                "年度报告",
                "000001",
                "平安银行",
                "广东省深圳市罗湖区深南东路5047号",
                "广东省深圳市罗湖区深南东路5047号",
            ],
        ],
    )
    return folder


def test_parse_address() -> None:
    assert parse_address("上海市静安区江场路1401弄") == ("上海市", "上海市", "静安区")
    assert parse_address("广东省深圳市罗湖区深南东路5047号") == ("广东省", "深圳市", "罗湖区")


def test_fixture_universe(tmp_path: Path) -> None:
    imported = import_ashare(
        reports=write_reports(tmp_path / "r"),
        chainkg=write_chainkg(tmp_path / "kg"),
        roster_district="静安区",
    )
    ent = imported.tables["enterprises"].set_index(C.STOCK_CODE)
    assert ent.at["603881", C.REVENUE] == pytest.approx(90_000.0)
    assert ent.at["603881", C.REVENUE_GROWTH] == pytest.approx(0.125)
    assert ent.at["603881", C.NET_MARGIN] == pytest.approx(120 / 900)
    assert ent.at["603881", C.DISTRICT] == "静安区" and ent.at["603881", C.EMPLOYEES] == 600
    assert pd.isna(ent.at["603232", C.EMPLOYEES])  # 0 staff = failed extraction
    assert (
        ent.at["603232", C.DISTRICT] == "闸北区" and ent.at["603232", "office_district"] == "静安区"
    )
    assert ent.at["000001", C.PROVINCE] == "广东省" and pd.isna(ent.at["000001", C.REVENUE])
    # expansion signals: office city moved FY2019 → FY2020, staff and R&D staff growth
    assert ent.at["603881", C.OFFICE_CITY] == "上海市" and bool(
        ent.at["603881", C.OFFICE_CITY_CHANGED]
    )
    assert ent.at["603881", C.EMPLOYEE_GROWTH] == pytest.approx(0.2)
    assert ent.at["603881", C.RD_STAFF_GROWTH] == pytest.approx(0.4)
    assert pd.isna(ent.at["603232", C.OFFICE_CITY_CHANGED])  # one year only: unknown, not False
    assert pd.isna(ent.at["603232", C.EMPLOYEE_GROWTH])
    tax = imported.results["tax_records"]
    assert tax.source_rows == 4 and tax.accepted == 4
    cleared = tax.rejects[tax.rejects[C.REJECT_ACTION] == C.ACTION_VALUE_CLEARED]
    assert cleared[[C.REJECT_ROW, C.REJECT_COLUMN]].values.tolist() == [[4, C.TAX_PAID]]
    frame = tax.frame.set_index([C.ENTERPRISE_ID, C.YEAR])
    assert frame.at[("stock:603881", 2020), C.TAX_PAID] == pytest.approx(4_500.0)
    roster = imported.tables["park_roster"]
    assert set(roster[C.ENTERPRISE_ID]) == {
        "stock:603881",
        "stock:603232",
    }  # office or registered address


def test_cli_ashare_then_gaps_json(tmp_path: Path) -> None:
    out = tmp_path / "u"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "import",
            "ashare",
            "--reports",
            str(write_reports(tmp_path / "r")),
            "--chainkg",
            str(write_chainkg(tmp_path / "kg")),
            "--roster-district",
            "静安区",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sizes"]["park_roster"] == 2 and manifest["synthetic"] is False
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "gaps",
            "--park",
            "shibei",
            "--chain",
            "big_data",
            "--data",
            str(out),
            "--format",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    payload = json.loads(run.stdout)
    assert payload["park"] == "shibei" and payload["chain"] == "big_data"
    by_link = {link["link_id"]: link for link in payload["links"]}
    assert by_link["big_data.storage_idc"]["firms"] > 0
    # the park firm in the link, with the products that put it there
    assert any("product: " in e for e in by_link["big_data.storage_idc"]["firms_evidence"])
    assert {link["gap_type"] for link in payload["links"]} <= {
        "missing_broken",
        "missing",
        "extension",
        "weak",
        "covered",
    }


@pytest.mark.shared_data
def test_real_ashare_universe_jingan(shared_data: Path) -> None:
    imported = import_ashare(
        reports=shared_data / "a_share_annual_reports_2019_2020",
        chainkg=shared_data / "chainkg",
        stock_basic=shared_data / "a_share_stock_basic" / "stock_basic.csv",
        roster_district="静安区",
    )
    tax = imported.results["tax_records"]
    assert tax.source_rows == 7_319 and tax.accepted == 7_319
    roster = set(imported.tables["park_roster"][C.ENTERPRISE_ID])
    assert {
        "stock:603881",
        "stock:300378",
        "stock:300469",
        "stock:300578",
        "stock:603022",
        "stock:600338",
    } <= roster
    assert len(roster) >= 18
    ent = imported.tables["enterprises"]
    assert ent[C.ENTERPRISE_ID].is_unique and len(ent) >= 4_586
    shanghai = ent[ent[C.PROVINCE] == "上海市"]
    assert len(shanghai) > 300 and set(shanghai[C.CITY].dropna()) == {"上海市"}  # not 市辖区
    # the exchange's industry name fills the Shenwan class the graph lacks (海螺水泥: 水泥)
    conch = ent[ent[C.STOCK_CODE] == "600585"].iloc[0]
    assert conch[C.INDUSTRY_CODE] == "610100" and conch[C.INDUSTRY_SCHEME] == "sw2021"
    # expansion signals: 有棵树 moved from 南京 to 长沙 in 2020 (the data's own example)
    by_code = ent.set_index(C.STOCK_CODE)
    assert bool(by_code.at["300209", C.OFFICE_CITY_CHANGED])
    assert by_code.at["300209", C.OFFICE_CITY] == "长沙市"
    assert 10 <= int(ent[C.OFFICE_CITY_CHANGED].sum()) <= 60  # the derived file lists 52 moves
    assert ent[C.EMPLOYEE_GROWTH].notna().sum() > 3_000
    assert ent[C.RD_STAFF_GROWTH].notna().sum() > 2_500
    assert by_code[C.LAST_FUNDING_ON].notna().sum() > 4_000  # the listing date
    known = tax.frame.dropna(subset=[C.TAX_PAID, C.REVENUE])
    ratio = known[C.TAX_PAID] / known[C.REVENUE]
    assert 0.04 < ratio.median() < 0.06  # the A-share figure the demo is calibrated to
