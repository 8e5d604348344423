"""Tax-model features of real listed firms from annual-report extracts (A-share folder format).

Only what is known of a candidate that year may be used (issue: accounting identities would
otherwise rebuild the tax): from the income statement **only** 营业总收入, 营业收入, 营业成本,
销售费用, 管理费用, 研发费用, 财务费用; the balance sheet; the staff table; the address
(province); the industry and products from the chain graph; and earlier years' values of those
same columns. The cash-flow statement and every other income-statement column are read only as
the label (支付的各项税费) by ``labels``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from data.loaders import DataFileError, read_csv

INCOME_ALLOWED: Final = (
    "营业总收入",
    "营业收入",
    "营业成本",
    "销售费用",
    "管理费用",
    "研发费用",
    "财务费用",
)
BALANCE: Final = ("流动资产合计", "非流动资产合计", "流动负债合计", "非流动负债合计")
STAFF: Final = (
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
)
LABEL: Final = "支付的各项税费"
KEY: Final = ("stock_code", "year")


def _read(folder: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    path = folder / name
    if not path.exists():
        raise DataFileError(f"{path}: missing")
    frame = read_csv(path).frame
    missing = [c for c in ("股票代码", "报告年份", *columns) if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: missing column(s) {', '.join(missing)}")
    out = pd.DataFrame(
        {
            "stock_code": frame["股票代码"].astype(str).str.zfill(6),
            "year": pd.to_numeric(frame["报告年份"], errors="coerce").astype("Int64"),
        }
    )
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        out[col] = values.where(values != -1.0)  # -1.0 is the extraction's "missing"
    return out.dropna(subset=["year"]).drop_duplicates(list(KEY), keep="last")


def firm_years(folder: Path) -> pd.DataFrame:
    """Every firm-year of the income statement, with the allowed raw columns joined."""
    income = _read(folder, "profit_statement.csv", INCOME_ALLOWED)
    balance = _read(folder, "balance_static.csv", BALANCE)
    staff = _read(folder, "people.csv", STAFF)
    frame = income.merge(balance, on=list(KEY), how="left").merge(staff, on=list(KEY), how="left")
    location = folder / "company_location_2019_2020.derived.csv"
    if location.exists():
        loc = read_csv(location).frame
        loc = pd.DataFrame(
            {
                "stock_code": loc["stock_code"].astype(str).str.zfill(6),
                "year": pd.to_numeric(loc["year"], errors="coerce").astype("Int64"),
                "province": loc["reg_province"].fillna(loc["office_province"]),
            }
        )
        frame = frame.merge(loc.drop_duplicates(list(KEY)), on=list(KEY), how="left")
    else:
        frame["province"] = None
    return frame.sort_values(list(KEY)).reset_index(drop=True)


def labels(folder: Path) -> pd.DataFrame:
    """支付的各项税费 per firm-year in 万元 (the label only)."""
    cash = _read(folder, "cash_flow_statement.csv", (LABEL,))
    cash["tax_paid_wan_cny"] = cash[LABEL] / 10_000.0
    return cash[[*KEY, "tax_paid_wan_cny"]]


def _safe_ratio(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a / b.where(b > 0)).clip(-5, 5)


def features(frame: pd.DataFrame, *, industry: pd.DataFrame, products: pd.Series) -> pd.DataFrame:
    """The feature matrix (index aligned with ``frame``); ``industry`` has stock_code, sw_l1,
    sw_l2, sw_l3 codes; ``products`` counts main products per stock code."""
    f = frame
    revenue = f["营业收入"].fillna(f["营业总收入"])
    out = pd.DataFrame(index=f.index)
    out["log_revenue"] = np.log1p(revenue.clip(lower=0) / 10_000)
    out["log_total_revenue"] = np.log1p(f["营业总收入"].clip(lower=0) / 10_000)
    for col, name in (
        ("营业成本", "cost"),
        ("销售费用", "selling"),
        ("管理费用", "admin"),
        ("研发费用", "rd"),
        ("财务费用", "finance"),
    ):
        out[f"{name}_ratio"] = _safe_ratio(f[col], revenue)
    expenses = f[["营业成本", "销售费用", "管理费用", "研发费用", "财务费用"]].fillna(0).sum(axis=1)
    out["margin_proxy"] = _safe_ratio(revenue - expenses, revenue)
    out["gross_margin"] = _safe_ratio(revenue - f["营业成本"], revenue)
    assets = f["流动资产合计"].fillna(0) + f["非流动资产合计"].fillna(0)
    liabilities = f["流动负债合计"].fillna(0) + f["非流动负债合计"].fillna(0)
    out["log_assets"] = np.log1p(assets.clip(lower=0) / 10_000)
    out["asset_turnover"] = _safe_ratio(revenue, assets)
    out["leverage"] = _safe_ratio(liabilities, assets)
    out["current_ratio"] = _safe_ratio(f["流动资产合计"], f["流动负债合计"])
    staff = f["职工人数"].where(f["职工人数"] > 0)
    out["log_staff"] = np.log1p(staff)
    out["revenue_per_staff"] = np.log1p((revenue / staff).clip(lower=0) / 10_000)
    for col, name in (
        ("研发人员", "rd_staff"),
        ("生产人员", "production_staff"),
        ("销售人员", "sales_staff"),
        ("技术人员", "tech_staff"),
        ("硕士以上人数", "masters_plus"),
    ):
        out[f"{name}_share"] = _safe_ratio(f[col], staff)
    codes = f[["stock_code"]].merge(industry, on="stock_code", how="left")
    for level in ("sw_l1", "sw_l2", "sw_l3"):
        out[level] = pd.Categorical(codes[level].to_numpy())
    out["n_products"] = f["stock_code"].map(products).fillna(0).to_numpy()
    out["province"] = pd.Categorical(f["province"].to_numpy())
    out["board"] = pd.Categorical(f["stock_code"].str[:3].to_numpy())
    # earlier years' values of the same allowed columns
    prev = f.groupby("stock_code")
    prev_revenue = prev["营业收入"].shift(1)
    prev_year = prev["year"].shift(1)
    consecutive = prev_year == f["year"] - 1
    out["revenue_growth"] = _safe_ratio(revenue - prev_revenue, prev_revenue).where(consecutive)
    for col, name in (("营业成本", "cost"), ("销售费用", "selling"), ("管理费用", "admin")):
        shifted = prev[col].shift(1)
        out[f"prev_{name}_ratio"] = _safe_ratio(shifted, prev_revenue).where(consecutive)
    return out


def industry_codes(enterprise_industry: pd.DataFrame) -> pd.DataFrame:
    """Shenwan L1 / L2 / L3 codes per stock code from a (stock_code, industry_code) frame."""
    l3 = enterprise_industry["industry_code"].astype(str)
    return pd.DataFrame(
        {
            "stock_code": enterprise_industry["stock_code"].to_numpy(),
            "sw_l1": (l3.str[:2] + "0000").to_numpy(),
            "sw_l2": (l3.str[:4] + "00").to_numpy(),
            "sw_l3": l3.to_numpy(),
        }
    ).drop_duplicates("stock_code")
