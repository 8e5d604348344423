"""Importers that turn outside files into contract tables.

``import_enterprises`` reads a registry export (the contract's own column names or the Chinese
headers of common exports) and writes ``enterprises`` with its rejects. Documented
normalisations, each counted in the report:

- a lower-case credit code is upper-cased;
- a short province name (上海) becomes its full official name (上海市), and a short district name
  of a known province (静安, 浦东) its full name (静安区, 浦东新区); unknown names are kept as given;
- a municipality's missing city is its own name (上海市 lies in 上海市);
- free-text money (``168万人民币``, ``8,800(万美元)``) becomes 万元 CNY at the fixed rates of
  ``data.money``; dates in 年月日 or slash form become ISO dates.

Source columns that map to no contract column are kept in the output under their own header.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Final

import pandas as pd

from data import columns as C
from data.loaders import (
    LoadResult,
    RawTable,
    _rejects_frame,
    read_raw,
    reject_record,
    validate_table,
)
from data.money import MoneyParseError, parse_money_wan_cny
from data.regions import MUNICIPALITIES, normalise_district, normalise_province

# header (as exported by registries and data vendors) -> contract column
ENTERPRISE_HEADER_ALIASES: Final[dict[str, str]] = {
    "企业名称": C.NAME,
    "公司名称": C.NAME,
    "名称": C.NAME,
    "企业全称": C.NAME,
    "统一社会信用代码": C.CREDIT_CODE,
    "社会信用代码": C.CREDIT_CODE,
    "信用代码": C.CREDIT_CODE,
    "成立日期": C.FOUNDED_ON,
    "注册日期": C.FOUNDED_ON,
    "成立时间": C.FOUNDED_ON,
    "注册资本": C.REGISTERED_CAPITAL,
    "注册资金": C.REGISTERED_CAPITAL,
    "企业类型": C.COMPANY_TYPE,
    "公司类型": C.COMPANY_TYPE,
    "所在省份": C.PROVINCE,
    "所属省份": C.PROVINCE,
    "省份": C.PROVINCE,
    "所属城市": C.CITY,
    "城市": C.CITY,
    "所在城市": C.CITY,
    "地区": C.DISTRICT,
    "所属区县": C.DISTRICT,
    "区县": C.DISTRICT,
    "注册地址": C.REGISTERED_ADDRESS,
    "企业地址": C.REGISTERED_ADDRESS,
    "住所": C.REGISTERED_ADDRESS,
    "经营范围": C.BUSINESS_SCOPE,
    "股票代码": C.STOCK_CODE,
    "证券代码": C.STOCK_CODE,
    "员工人数": C.EMPLOYEES,
    "职工人数": C.EMPLOYEES,
    "参保人数": C.EMPLOYEES,
    "营业收入": C.REVENUE,
    "营业收入(万元)": C.REVENUE,
    "行业代码": C.INDUSTRY_CODE,
    "国民经济行业代码": C.INDUSTRY_CODE,
    "专利数": C.PATENTS,
    "专利数量": C.PATENTS,
    "是否上市": C.IS_LISTED,
    "是否高新技术企业": C.IS_HIGH_TECH,
    "高新技术企业": C.IS_HIGH_TECH,
    "最近融资日期": C.LAST_FUNDING_ON,
}
_CONTRACT_NAMES = frozenset((*C.ENTERPRISE_COLUMNS, *C.ENTERPRISE_EXTRA_COLUMNS))
_CN_DATE = re.compile(r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def map_headers(columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Source header -> contract column for the columns we know; the rest are returned apart.

    When two source columns map to the same contract column (成立日期 and 注册日期) the first wins
    and the second is kept as an unmapped column.
    """
    mapping: dict[str, str] = {}
    unmapped: list[str] = []
    for col in columns:
        key = col.strip()
        target = key if key in _CONTRACT_NAMES else ENTERPRISE_HEADER_ALIASES.get(key)
        if target is None or target in mapping.values():
            unmapped.append(col)
        else:
            mapping[col] = target
    return mapping, unmapped


def _iso_date(value: str) -> str:
    match = _CN_DATE.match(value) or _COMPACT_DATE.match(value)
    if match:
        y, m, d = (int(g) for g in match.groups())
        return f"{y:04d}-{m:02d}-{d:02d}"
    return value  # the schema reports what is not a date


def prepare_enterprises(
    raw: RawTable,
) -> tuple[pd.DataFrame, list[dict[str, object]], Counter[str], list[str]]:
    """Map headers and parse registry text into contract values (before schema validation)."""
    mapping, unmapped = map_headers(list(raw.frame.columns))
    frame = raw.frame.rename(columns=mapping)
    counts: Counter[str] = Counter()
    failures: list[dict[str, object]] = []
    rows = raw.rows

    if C.CREDIT_CODE in frame:
        codes = frame[C.CREDIT_CODE]
        lowered = codes.map(lambda v: isinstance(v, str) and v != v.upper())
        counts["credit_code upper-cased"] = int(lowered.sum())
        frame[C.CREDIT_CODE] = codes.map(lambda v: v.upper() if isinstance(v, str) else v)
        frame[C.ENTERPRISE_ID] = frame[C.CREDIT_CODE]

    if C.REGISTERED_CAPITAL in frame:
        values = []
        currencies: Counter[str] = Counter()
        for i, value in enumerate(frame[C.REGISTERED_CAPITAL]):
            if value is None or isinstance(value, float | int):
                values.append(value)
                continue
            try:
                amount, currency = parse_money_wan_cny(str(value))
            except MoneyParseError as exc:
                failures.append(
                    reject_record(
                        row=int(rows[i]),
                        column=C.REGISTERED_CAPITAL,
                        value=value,
                        reason=f"not an amount: {exc}",
                        action=C.ACTION_VALUE_CLEARED,
                    )
                )
                values.append(None)
                continue
            currencies[currency] += 1
            values.append(amount)
        frame[C.REGISTERED_CAPITAL] = values
        for currency, n in currencies.items():
            if currency != "CNY":
                counts[f"registered capital converted from {currency}"] = n

    for col in (C.FOUNDED_ON, C.LAST_FUNDING_ON):
        if col in frame:
            frame[col] = frame[col].map(lambda v: _iso_date(v) if isinstance(v, str) else v)

    if C.PROVINCE in frame:

        def province(v: object) -> object:
            if not isinstance(v, str):
                return v
            full = normalise_province(v)
            if full is not None and full != v:
                counts[f"province {v} -> {full}"] += 1
            return full or v

        frame[C.PROVINCE] = frame[C.PROVINCE].map(province)
        if C.CITY not in frame:
            frame[C.CITY] = None
        fill = frame[C.CITY].isna() & frame[C.PROVINCE].isin(MUNICIPALITIES)
        counts["city set to the municipality"] = int(fill.sum())
        frame.loc[fill, C.CITY] = frame.loc[fill, C.PROVINCE]

    if C.DISTRICT in frame:
        provinces = frame[C.PROVINCE] if C.PROVINCE in frame else pd.Series(None, index=frame.index)
        out = []
        for p, d in zip(provinces, frame[C.DISTRICT], strict=True):
            if not isinstance(d, str):
                out.append(d)
                continue
            full = normalise_district(p if isinstance(p, str) else None, d)
            if full is not None and full != d:
                counts["district short name -> full name"] += 1
            out.append(full or d)
        frame[C.DISTRICT] = out

    if C.INDUSTRY_CODE in frame and C.INDUSTRY_SCHEME not in frame:
        has_code = frame[C.INDUSTRY_CODE].notna()
        frame[C.INDUSTRY_SCHEME] = None
        frame.loc[has_code, C.INDUSTRY_SCHEME] = "gbt4754_2017"
        counts["industry_scheme assumed gbt4754_2017"] = int(has_code.sum())
    return frame, failures, +counts, unmapped


def import_enterprises(path: Path) -> LoadResult:
    """Read a registry export and validate it as ``enterprises``; required: name, credit code."""
    raw = read_raw(path)
    frame, failures, counts, unmapped = prepare_enterprises(raw)
    prior = pd.concat([raw.malformed, _rejects_frame(failures)], ignore_index=True)
    return validate_table(
        frame,
        table="enterprises",
        rows=raw.rows,
        source=path,
        required=(C.ENTERPRISE_ID, C.CREDIT_CODE, C.NAME),
        prior_rejects=prior,
        normalisations=counts,
        unmapped_columns=unmapped,
        source_rows=len(raw.frame) + len(raw.malformed),
        derived={C.ENTERPRISE_ID: C.CREDIT_CODE},
    )
