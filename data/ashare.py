"""Importer of A-share annual-report extracts into an enterprise universe of real listed firms.

Input: a folder in the format of ``../shared/data/a_share_annual_reports_2019_2020`` (same file
names and columns; ``-1.0`` = missing; money in yuan) plus a ChainKnowledgeGraph folder.

- ``enterprises``: every firm of the chain graph and of the reports, ``enterprise_id`` =
  ``stock:<6 digits>``; the latest report year gives revenue, growth (against the year before),
  net margin and staff; the name is the report's full name; province / city / district come from
  the registered address (the office address when that is missing), parsed into
  ``company_location_2019_2020.derived.csv`` or, without that file, by ``parse_address``;
  the office address's province / city / district are kept beside them, with the expansion
  signals: ``office_city_changed`` (office city — the province for a municipality — differs
  from the year before), ``employee_growth`` and ``rd_staff_growth`` (latest year against the
  one before; a staff count of 0 or -1 is a failed extraction, missing); the listing date of
  ``stock_basic.csv`` is ``last_funding_on`` (an IPO is a funding round); the Shenwan industry
  comes from the chain graph, else from the exchange's industry name (``stock_basic.csv``)
  where it has a clear Shenwan class (``data/reference/exchange_industries.yaml``).
- ``tax_records``: one row per firm-year of ``cash_flow_statement.csv`` (its line numbers are the
  ``row`` of rejects): ``tax_paid_wan_cny`` = 支付的各项税费 / 10,000, ``revenue_wan_cny`` =
  营业收入 / 10,000. A tax above revenue (a unit error of the extraction) is cleared, reported.
- ``enterprise_links`` are not made here: ``industry_graph.attach.attach_universe`` attaches the
  firms from their products (the chain graph's), like every other source.
- a park roster from ``roster_ids`` (enterprise ids or stock codes) or ``roster_district``
  (registered or office district in any report year, or the district's name in either address).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data import columns as C
from data.chainkg import ChainKgImport, import_chainkg, stock_enterprise_id
from data.loaders import (
    DataFileError,
    LoadResult,
    RawTable,
    _rejects_frame,
    read_csv,
    reject_record,
    validate_table,
)
from data.reference import exchange_industries
from data.regions import MUNICIPALITIES, normalise_district

REPORT_FILES = ("profit_statement.csv", "cash_flow_statement.csv", "people.csv", "baseinfo.csv")
LOCATION_FILE = "company_location_2019_2020.derived.csv"
_ADDRESS = re.compile(
    r"^(?P<province>北京市|天津市|上海市|重庆市|.{2,7}?(?:省|自治区))?"
    r"(?P<city>.{2,9}?(?:市|自治州|地区|盟))?"
    r"(?P<district>.{1,8}?(?:区|县|市|旗))?"
)


@dataclass
class AshareImport:
    """The universe's tables, with load results for rejects and counts."""

    results: dict[str, LoadResult]
    normalisations: Counter[str]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Accepted rows per table."""
        return {name: r.frame for name, r in self.results.items()}


def parse_address(address: str) -> tuple[str | None, str | None, str | None]:
    """Province, city and district at the start of a Chinese address, where they are named."""
    match = _ADDRESS.match(address.strip())
    if not match:
        return None, None, None
    province, city, district = match.group("province"), match.group("city"), match.group("district")
    if province in {"北京市", "天津市", "上海市", "重庆市"}:
        district = district or city
        city = province
    return province, city, district


def _money_wan(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    return (values.where(values != -1.0) / 10_000.0).astype("float64")


def _read(folder: Path, name: str) -> RawTable:
    path = folder / name
    if not path.exists():
        raise DataFileError(
            f"{path}: missing (an annual-report folder needs {', '.join(REPORT_FILES)})"
        )
    return read_csv(path)


def _keyed(raw: RawTable) -> pd.DataFrame:
    frame = raw.frame.copy()
    frame["_row"] = raw.rows
    frame["stock_code"] = frame["股票代码"].astype(str).str.zfill(6)
    frame["year"] = pd.to_numeric(frame["报告年份"], errors="coerce").astype("Int64")
    return frame


def _locations(folder: Path, base: pd.DataFrame) -> pd.DataFrame:
    """Registered and office province / city / district per (stock_code, year)."""
    path = folder / LOCATION_FILE
    cols = [
        "reg_province",
        "reg_city",
        "reg_district",
        "office_province",
        "office_city",
        "office_district",
    ]
    if path.exists():
        loc = read_csv(path).frame
        loc["stock_code"] = loc["stock_code"].astype(str).str.zfill(6)
        loc["year"] = pd.to_numeric(loc["year"], errors="coerce").astype("Int64")
        return loc[["stock_code", "year", *cols]]
    parsed = base[["stock_code", "year"]].copy()
    for prefix, column in (("reg", "注册地址"), ("office", "办公地址")):
        triples = base[column].map(
            lambda a: parse_address(a) if isinstance(a, str) else (None, None, None)
        )
        for k, part in enumerate(("province", "city", "district")):
            parsed[f"{prefix}_{part}"] = triples.map(lambda t, k=k: t[k])
    return parsed


def _staff_years(people: pd.DataFrame) -> pd.DataFrame:
    """Staff and R&D staff per (stock_code, year), sorted by year; 0 or -1 (a failed
    extraction) is missing."""
    out = people[["stock_code", "year"]].copy()
    for column, source in (("staff", "职工人数"), ("rd_staff", "研发人员")):
        if source not in people:  # an extract without the column: unknown, not zero
            out[column] = np.nan
            continue
        values = pd.to_numeric(people[source], errors="coerce")
        out[column] = values.where(values > 0)
    return out.drop_duplicates(["stock_code", "year"]).sort_values(["stock_code", "year"])


def _growth(years: pd.DataFrame, column: str) -> pd.Series:
    """Growth of ``column`` in each firm's latest year against the year before (consecutive
    years only), by stock code."""
    prev = years.groupby("stock_code")[column].shift(1)
    prev_year = years.groupby("stock_code")["year"].shift(1)
    growth = (years[column] / prev - 1).where((prev_year == years["year"] - 1) & (prev > 0))
    last = years.assign(growth=growth).groupby("stock_code").tail(1)
    return last.set_index("stock_code")["growth"]


def _office_city_changed(loc_all: pd.DataFrame) -> pd.Series:
    """Whether a firm's office city (the province for a municipality) in its latest report year
    differs from the year before, by stock code; missing where either year lacks a city."""
    loc = loc_all.sort_values(["stock_code", "year"])
    place = loc["office_city"].where(
        ~loc["office_province"].isin(MUNICIPALITIES), loc["office_province"]
    )
    place = place.where(place.notna() & (place != ""))
    prev = place.groupby(loc["stock_code"]).shift(1)
    prev_year = loc.groupby("stock_code")["year"].shift(1)
    known = prev.notna() & place.notna() & (prev_year == loc["year"] - 1)
    changed = pd.Series((place != prev).where(known), index=loc.index, dtype="boolean")
    return changed.groupby(loc["stock_code"]).last()


def roster_from(
    enterprises: pd.DataFrame,
    *,
    park_id: str,
    roster_ids: Iterable[str] | None = None,
    roster_district: str | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """A park roster by ids / stock codes or by district; also the ids that matched no firm."""
    known = set(enterprises[C.ENTERPRISE_ID])
    unknown: list[str] = []
    members: list[str] = []
    if roster_ids is not None:
        for raw in roster_ids:
            value = raw.strip()
            if not value:
                continue
            eid = (
                stock_enterprise_id(value.zfill(6))
                if value.isdigit() and len(value) <= 6
                else value
            )
            (members if eid in known else unknown).append(eid)
    if roster_district is not None:
        full = normalise_district("上海市", roster_district) or roster_district
        names = {roster_district, full}
        in_district = enterprises[C.DISTRICT].isin(names)
        if "office_district" in enterprises:
            in_district |= enterprises["office_district"].isin(names)
        members += list(enterprises.loc[in_district, C.ENTERPRISE_ID])
    members = sorted(set(members))
    roster = pd.DataFrame({C.PARK_ID: park_id, C.ENTERPRISE_ID: members, C.ENTERED_ON: pd.NaT})
    return roster, unknown


def import_ashare(
    *,
    reports: Path,
    chainkg: Path,
    stock_basic: Path | None = None,
    park_id: str = "shibei",
    roster_ids: Iterable[str] | None = None,
    roster_district: str | None = None,
) -> AshareImport:
    """Build the universe of real listed firms (see the module docstring)."""
    kg: ChainKgImport = import_chainkg(chainkg)
    counts = Counter(kg.normalisations)
    profit = _keyed(_read(reports, "profit_statement.csv"))
    cash_raw = _read(reports, "cash_flow_statement.csv")
    cash = _keyed(cash_raw)
    people = _keyed(_read(reports, "people.csv"))
    base = _keyed(_read(reports, "baseinfo.csv"))
    names_path = reports / "company_annual_reports.csv"

    fin = profit[["stock_code", "year", "营业收入", "营业总收入", "净利润"]].copy()
    fin["revenue"] = _money_wan(fin["营业收入"]).fillna(_money_wan(fin["营业总收入"]))
    fin["net_profit"] = _money_wan(fin["净利润"])
    fin = fin.drop_duplicates(["stock_code", "year"])

    # tax records: one per cash-flow line
    tax = cash[["stock_code", "year", "_row", "支付的各项税费"]].merge(
        fin[["stock_code", "year", "revenue"]], on=["stock_code", "year"], how="left"
    )
    tax[C.TAX_PAID] = _money_wan(tax["支付的各项税费"])
    too_big = tax[C.TAX_PAID].notna() & tax["revenue"].notna() & (tax[C.TAX_PAID] > tax["revenue"])
    prior = [
        reject_record(
            row=int(r),
            column=C.TAX_PAID,
            value=f"{v:.2f}",
            reason=f"taxes paid exceed revenue ({rev:.2f} wan): unit error in the extraction",
            action=C.ACTION_VALUE_CLEARED,
        )
        for r, v, rev in zip(
            tax.loc[too_big, "_row"],
            tax.loc[too_big, C.TAX_PAID],
            tax.loc[too_big, "revenue"],
            strict=True,
        )
    ]
    tax.loc[too_big, C.TAX_PAID] = np.nan
    tax_frame = pd.DataFrame(
        {
            C.ENTERPRISE_ID: tax["stock_code"].map(stock_enterprise_id),
            C.YEAR: tax["year"],
            C.REVENUE: tax["revenue"],
            C.TAX_PAID: tax[C.TAX_PAID],
        }
    )
    tax_result = validate_table(
        tax_frame,
        table="tax_records",
        rows=tax["_row"].to_numpy(),
        source=reports / "cash_flow_statement.csv",
        prior_rejects=_rejects_frame(prior),
        source_rows=len(cash_raw.frame) + len(cash_raw.malformed),
    )

    # the latest year per firm, growth against the year before
    fin = fin.sort_values(["stock_code", "year"])
    latest = fin.groupby("stock_code").tail(1).set_index("stock_code")
    growth = _growth(fin, "revenue")
    margin = (latest["net_profit"] / latest["revenue"]).where(latest["revenue"] > 0)
    staff_years = _staff_years(people)
    staff = staff_years.groupby("stock_code").tail(1).set_index("stock_code")["staff"]
    counts["employees 0 or -1 treated as missing (failed extraction)"] = int(
        staff_years["staff"].isna().sum()
    )
    loc_all = _locations(reports, base)
    loc = loc_all.sort_values("year").groupby("stock_code").tail(1).set_index("stock_code")
    moved = _office_city_changed(loc_all)
    full_names = pd.Series(dtype=object)
    if names_path.exists():
        reports_index = read_csv(names_path).frame
        reports_index["stock_code"] = reports_index["stock_code"].astype(str).str.zfill(6)
        full_names = (
            reports_index.sort_values("report_year")
            .groupby("stock_code")
            .tail(1)
            .set_index("stock_code")["company_full_name"]
        )

    kg_ent = kg.results["enterprises"].frame.set_index(C.STOCK_CODE)
    codes = sorted(set(kg_ent.index) | set(latest.index))
    ent = pd.DataFrame({C.STOCK_CODE: codes})
    ent[C.ENTERPRISE_ID] = ent[C.STOCK_CODE].map(stock_enterprise_id)
    short_names = profit.drop_duplicates("stock_code", keep="last").set_index("stock_code")[
        "股票简称"
    ]
    name = ent[C.STOCK_CODE].map(full_names).astype(object)
    for fallback in (
        kg_ent[C.NAME],
        short_names,
    ):  # report full name, then the graph's, then the short name
        name = name.where(name.notna(), ent[C.STOCK_CODE].map(fallback).astype(object))
    ent[C.NAME] = name
    ent["short_name"] = ent[C.STOCK_CODE].map(kg_ent["short_name"])
    ent[C.REVENUE] = ent[C.STOCK_CODE].map(latest["revenue"])
    ent[C.REVENUE] = ent[C.REVENUE].where(ent[C.REVENUE] >= 0)
    ent[C.REVENUE_GROWTH] = ent[C.STOCK_CODE].map(growth)
    ent[C.NET_MARGIN] = ent[C.STOCK_CODE].map(margin).clip(lower=-100, upper=1)
    ent[C.EMPLOYEES] = ent[C.STOCK_CODE].map(staff)
    for part in ("province", "city", "district"):
        reg = ent[C.STOCK_CODE].map(loc[f"reg_{part}"]) if len(loc) else None
        office = ent[C.STOCK_CODE].map(loc[f"office_{part}"]) if len(loc) else None
        ent[part] = reg.fillna(office) if reg is not None and office is not None else None
    for part in ("province", "city", "district"):
        ent[f"office_{part}"] = ent[C.STOCK_CODE].map(loc[f"office_{part}"]) if len(loc) else None
    ent[C.OFFICE_CITY_CHANGED] = ent[C.STOCK_CODE].map(moved).astype("boolean")
    for column, source in ((C.EMPLOYEE_GROWTH, "staff"), (C.RD_STAFF_GROWTH, "rd_staff")):
        ent[column] = ent[C.STOCK_CODE].map(_growth(staff_years, source)).clip(-1, 100)
    # a municipality's "city" in the reports is 市辖区 / 县: the city is the municipality itself
    municipal = ent[C.PROVINCE].isin(MUNICIPALITIES) & ent[C.CITY].isin(["市辖区", "县"])
    ent.loc[municipal, C.CITY] = ent.loc[municipal, C.PROVINCE]
    municipal = ent[C.OFFICE_PROVINCE].isin(MUNICIPALITIES) & ent[C.OFFICE_CITY].isin(
        ["市辖区", "县"]
    )
    ent.loc[municipal, C.OFFICE_CITY] = ent.loc[municipal, C.OFFICE_PROVINCE]
    ent[C.IS_LISTED] = True
    ent[C.INDUSTRY_CODE] = ent[C.STOCK_CODE].map(kg_ent[C.INDUSTRY_CODE])
    ent[C.INDUSTRY_SCHEME] = ent[C.INDUSTRY_CODE].notna().map({True: "sw2021", False: None})
    if stock_basic is not None:
        basic = read_csv(stock_basic).frame
        basic["symbol"] = basic["symbol"].astype(str).str.zfill(6)
        basic = basic.drop_duplicates("symbol").set_index("symbol")
        area = ent[C.STOCK_CODE].map(basic["area"])
        from data.regions import normalise_province

        fill = ent[C.PROVINCE].isna() & area.notna()
        ent.loc[fill, C.PROVINCE] = area[fill].map(
            lambda a: normalise_province(a) or ("广东省" if a == "深圳" else a)
        )
        counts["province from stock_basic area (address missing)"] = int(fill.sum())
        exchange = ent[C.STOCK_CODE].map(basic["industry"]).map(exchange_industries())
        fill = ent[C.INDUSTRY_CODE].isna() & exchange.notna()
        ent.loc[fill, C.INDUSTRY_CODE] = exchange[fill]
        ent.loc[fill, C.INDUSTRY_SCHEME] = "sw2021"
        counts["Shenwan industry from the exchange's industry name (graph has none)"] = int(
            fill.sum()
        )
        # an IPO is a funding round: the listing date is the firm's latest known one
        ent[C.LAST_FUNDING_ON] = pd.to_datetime(
            ent[C.STOCK_CODE].map(basic["list_date"]).astype("string"), errors="coerce"
        )
    ent_result = validate_table(
        ent,
        table="enterprises",
        rows=np.arange(2, len(ent) + 2),
        source=reports,
        source_rows=len(ent),
    )
    results = dict(kg.results)
    results["enterprises"] = ent_result
    results["tax_records"] = tax_result
    ids = list(roster_ids) if roster_ids is not None else []
    if (
        roster_district is not None
    ):  # registered or office address in the district, in any report year
        full = normalise_district("上海市", roster_district) or roster_district
        hit = loc_all["reg_district"].isin({roster_district, full}) | loc_all[
            "office_district"
        ].isin({roster_district, full})
        ids += [stock_enterprise_id(c) for c in loc_all.loc[hit, "stock_code"]]
        # an address the parser could not split still names the district in its text
        text_hit = pd.Series(False, index=base.index)
        for column in ("注册地址", "办公地址"):
            text_hit |= base[column].fillna("").astype(str).str.contains(full, regex=False)
        ids += [stock_enterprise_id(c) for c in base.loc[text_hit, "stock_code"]]
    roster, unknown = roster_from(
        ent_result.frame,
        park_id=park_id,
        roster_ids=ids if (roster_ids is not None or ids) else None,
        roster_district=roster_district,
    )
    roster_prior = [
        reject_record(
            row=i + 1, column=C.ENTERPRISE_ID, value=u, reason="no such firm in the universe"
        )
        for i, u in enumerate(unknown)
    ]
    results["park_roster"] = validate_table(
        roster,
        table="park_roster",
        rows=np.arange(2, len(roster) + 2),
        source=Path("roster"),
        prior_rejects=_rejects_frame(roster_prior),
        source_rows=len(roster) + len(unknown),
    )
    empty_outreach = pd.DataFrame(
        {
            c: pd.Series(dtype="object")
            for c in (
                C.OUTREACH_ID,
                C.ENTERPRISE_ID,
                C.PARK_ID,
                C.TRACK,
                C.CAMPAIGN,
                C.CONTACTED_ON,
                C.OUTCOME,
                C.CLOSED_ON,
                C.OFFICER,
                C.NOTE,
            )
        }
    )
    results["outreach"] = validate_table(
        empty_outreach, table="outreach", rows=np.arange(0), source=reports, source_rows=0
    )
    return AshareImport(results=results, normalisations=counts)
