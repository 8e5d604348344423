from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.annual_reports import INCOME_ALLOWED
from tests.chainkg_fixture import write_chainkg

CODES = ["603881", "603232", "688096"]


def write_reports(folder: Path, firms: int = 120, seed: int = 0) -> Path:
    """Annual-report files for ``firms`` firms over 2019-2020; tax ≈ 1.5 % of revenue + 15 % of margin."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    codes = [*CODES, *(f"{600000 + i:06d}" for i in range(firms - len(CODES)))]
    income, cash, balance, people = [], [], [], []
    for code in codes:
        revenue = float(np.exp(rng.normal(20, 1.2)))
        for year in (2019, 2020):
            revenue *= float(np.exp(rng.normal(0.05, 0.1)))
            cost = revenue * rng.uniform(0.4, 0.8)
            opex = revenue * rng.uniform(0.05, 0.15)
            tax = 0.015 * revenue + 0.15 * max(revenue - cost - opex, 0) * float(
                np.exp(rng.normal(0, 0.15))
            )
            base = [year, "年度报告", code, f"公司{code}"]
            income.append([*base, revenue, revenue, cost, opex / 3, opex / 3, opex / 6, opex / 6])
            cash.append([*base, tax])
            balance.append([*base, revenue * 0.8, revenue * 0.6, revenue * 0.5, revenue * 0.2])
            people.append([*base, int(revenue / 1e6) + 5, 10, 5.0, 3, 4, 1, 1, 20, 10, 8, 3, 4])
    head = ["报告年份", "信息来源", "股票代码", "股票简称"]
    for name, cols, rows in (
        ("profit_statement.csv", list(INCOME_ALLOWED), income),
        ("cash_flow_statement.csv", ["支付的各项税费"], cash),
        (
            "balance_static.csv",
            ["流动资产合计", "非流动资产合计", "流动负债合计", "非流动负债合计"],
            balance,
        ),
        (
            "people.csv",
            [
                "职工人数",
                "研发人员",
                "研发人员比率",
                "硕士人数",
                "硕士以上人数",
                "博士人数",
                "博士以上人数",
                "生产人员",
                "销售人员",
                "技术人员",
                "财务人员",
                "行政人员",
            ],
            people,
        ),
    ):
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*head, *cols])
            w.writerows(rows)
    return folder


@pytest.mark.slow  # two processes each fitting the real-data tax model (about a minute)
def test_cli_fit_then_predict(tmp_path: Path) -> None:
    reports, kg = write_reports(tmp_path / "r"), write_chainkg(tmp_path / "kg")
    model = tmp_path / "tax.joblib"
    cli = [sys.executable, "-m", "api.cli", "tax"]
    subprocess.run(
        [*cli, "fit", "--reports", str(reports), "--chainkg", str(kg), "--model-out", str(model)],
        check=True,
        capture_output=True,
        text=True,
    )
    out = tmp_path / "pred.csv"
    subprocess.run(
        [
            *cli,
            "predict",
            "--reports",
            str(reports),
            "--chainkg",
            str(kg),
            "--model",
            str(model),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    pred = pd.read_csv(out, dtype={"stock_code": str})
    assert list(pred.columns) == [
        "stock_code",
        "year",
        "tax_p10_wan_cny",
        "tax_p50_wan_cny",
        "tax_p90_wan_cny",
    ]
    assert len(pred) == 240 and pred["stock_code"].str.fullmatch(r"\d{6}").all()
    assert (pred["tax_p10_wan_cny"] <= pred["tax_p50_wan_cny"]).all()
    assert (pred["tax_p50_wan_cny"] <= pred["tax_p90_wan_cny"]).all()
    missing = subprocess.run(
        [
            *cli,
            "predict",
            "--reports",
            str(reports),
            "--chainkg",
            str(kg),
            "--model",
            str(tmp_path / "nope.joblib"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "nope.joblib: no such model" in missing.stderr


def test_features_never_use_forbidden_columns(tmp_path: Path) -> None:
    reports = write_reports(tmp_path / "r", firms=10)
    frame = pd.read_csv(reports / "profit_statement.csv")
    frame["净利润"] = 1e12  # a forbidden column with an absurd value must not change anything
    frame["所得税费用"] = 1e12
    frame.to_csv(reports / "profit_statement.csv", index=False)
    from features.annual_reports import firm_years

    assert not {"净利润", "所得税费用", "支付的各项税费"} & set(firm_years(reports).columns)


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_out_of_time_beats_the_industry_median(shared_data: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "tax",
            "backtest",
            "--reports",
            str(shared_data / "a_share_annual_reports_2019_2020"),
            "--chainkg",
            str(shared_data / "chainkg"),
            "--fit-year",
            "2019",
            "--eval-year",
            "2020",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(run.stdout)
    ours, base = result["model"], result["industry_median_baseline"]
    assert ours["firm_years"] > 3_000
    assert ours["share_within_x2"] > base["share_within_x2"] + 0.05
    assert ours["median_abs_log10_error"] < base["median_abs_log10_error"]
    assert 0.7 < ours["p10_p90_coverage"] < 0.95
