"""Where the park stands against its plan: each KPI of the park YAML measured from the roster,
the tax records and the pipeline, and each chain link's presence at the plan's baseline and now.

A KPI's **measure** (``data.reference.KpiMeasure``) says how:

- ``firms`` — the park's firms matching the filters (headquarters types, a link in one of the
  chains, high-tech status) now; ``new_firms`` — those of them that entered the park after the
  baseline year (the roster's ``entered_on``; a firm the pipeline says landed entered on its
  landing day). The yearly series counts the firms on the roster at each year's end.
- ``growth`` — the yearly growth (CAGR, %) of a level from the baseline year to the latest
  year: the park's total ``tax`` or ``revenue`` (Σ over the firms on the roster that year of
  their tax records) or its ``high_tech`` firms (the plan's baseline count, as the roster does
  not say since when a firm is high-tech, against the count now).

The **baseline** is the plan's figure where the YAML gives one (``baseline_key``), else the
measure at the baseline year's end. The **projection** is the value if every open lead of the
pipeline lands with its P(land): a count adds Σ P(land) of the matching open leads, a level adds
Σ P(land) × the lead's contribution (tax P50, revenue, 1 for a high-tech firm) to the latest
year's level, as if they paid in it (the growth over the same years). The **movers** of a KPI
are the open leads adding most to its projection.

- ``new_buildings_over`` — the park's buildings whose firms pay at least ``min_tax_wan_cny`` a
  year (the 亿元楼), in the latest tax year minus in the baseline year; tax per building from its
  tenants' tax records, the projection from the open leads placed in the buildings that take
  them (``industry_graph.space``, whose module doc has the rules). Baseline 0 (new since the
  baseline); the level fields hold the counts themselves. A park without buildings says so.

A KPI the service holds no data for (``not_held``) says why, and every figure is ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from data import columns as C
from data.frames import member
from data.landing import industry_hit
from data.reference import Chain, Kpi, KpiMeasure, Park, chains_of
from industry_graph.gaps import analyse_gaps, park_context
from industry_graph.space import (
    HORIZON_QUARTERS,
    building_fit,
    park_space,
    place_leads,
    prepare_leads,
    quarter_of,
    yiyuan,
)

MOVERS = 5
OPEN_LEAD_COLUMNS = (
    C.ENTERPRISE_ID,
    C.NAME,
    C.TRACK,
    "lead_id",
    "stage",
    "p_land",
    "tax_p50_wan_cny",
    "group_tax_p50_wan_cny",  # the group's tax P50; null on rows written before landing forms
)
Status = Literal["met", "reachable", "behind", "not_held", "no_data"]


@dataclass(frozen=True)
class KpiStatus:
    """One KPI: baseline, now, target, projection, a yearly series and the leads moving it."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    target_low: float
    target_high: float
    target_year: int
    status: Status
    not_held: str | None = None
    baseline: float | None = None
    baseline_source: Literal["plan", "data"] | None = None
    now: float | None = None
    now_year: int | None = None
    projected: float | None = None
    # growth KPIs: the level (万元 or firms) the growth is measured on
    level_unit: str | None = None
    level_baseline: float | None = None
    level_now: float | None = None
    level_projected: float | None = None
    series: list[tuple[int, float]] = field(default_factory=list)
    movers: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON (the series as ``[{year, value}]``)."""
        out = asdict(self)
        out["series"] = [{"year": y, "value": v} for y, v in self.series]
        return out


@dataclass(frozen=True)
class ParkFacts:
    """The park's firms with what the measures read, computed once per request."""

    park: Park
    firms: pd.DataFrame  # enterprise_id, name, entered_year, hq_type, is_high_tech, revenue
    chains_of: Mapping[str, frozenset[str]]  # enterprise_id -> chains it has a link in
    levels: pd.DataFrame  # year -> tax, revenue (Σ over the firms on the roster that year)


def park_facts(park: Park, tables: Mapping[str, pd.DataFrame]) -> ParkFacts:
    """The park's firms (roster ⋈ enterprises), their chains, and the yearly tax and revenue."""
    roster = tables["park_roster"]
    roster = roster[roster[C.PARK_ID] == park.id].drop_duplicates(C.ENTERPRISE_ID)
    entered = pd.to_datetime(roster[C.ENTERED_ON])
    # a firm without an entry date was there before anyone counted: the baseline
    years = entered.dt.year.fillna(park.baseline_year).astype(int).to_numpy()
    ent = tables["enterprises"].set_index(C.ENTERPRISE_ID)
    ids = roster[C.ENTERPRISE_ID].astype(str).to_numpy()
    known = ent.index.get_indexer(pd.Index(ids)) >= 0  # (np.isin on object arrays is quadratic)
    ids, years = ids[known], years[known]
    rows = ent.loc[list(ids)]
    firms = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids,
            C.NAME: rows[C.NAME].astype(str).to_numpy(),
            "entered_year": years,
            C.HQ_TYPE: rows[C.HQ_TYPE].astype(object).fillna("none").to_numpy(),
            C.IS_HIGH_TECH: rows[C.IS_HIGH_TECH].astype("boolean").fillna(False).to_numpy(bool),
            C.REVENUE: rows[C.REVENUE].astype(float).to_numpy(),
        }
    )
    chains_of = chains_by_firm(tables["enterprise_links"], set(ids))
    tax = tables["tax_records"]
    tax = tax[tax[C.ENTERPRISE_ID].isin(set(ids))]
    entered_year = pd.Series(years, index=ids)
    on_roster = tax[C.YEAR].astype(int).to_numpy() >= tax[C.ENTERPRISE_ID].map(
        entered_year
    ).to_numpy(int)
    levels = (
        tax[on_roster]
        .groupby(C.YEAR)[[C.TAX_PAID, C.REVENUE]]
        .sum(min_count=1)
        .rename(columns={C.TAX_PAID: "tax", C.REVENUE: "revenue"})
    )
    levels.index = levels.index.astype(int)
    return ParkFacts(park=park, firms=firms, chains_of=chains_of, levels=levels)


def chains_by_firm(links: pd.DataFrame, ids: set[str]) -> dict[str, frozenset[str]]:
    """The chains each of ``ids`` has a link in."""
    links = links[links[C.ENTERPRISE_ID].isin(ids)]
    chain = chains_of(links[C.LINK_ID])
    return {
        str(eid): frozenset(group)
        for eid, group in chain.groupby(links[C.ENTERPRISE_ID].to_numpy())
    }


def _matching(
    measure: KpiMeasure,
    ids: pd.Series,
    hq: pd.Series,
    tech: pd.Series,
    chains_of: Mapping[str, frozenset[str]],
) -> np.ndarray:
    keep = _facts_match(measure, hq, tech)
    if measure.chains:
        wanted = set(measure.chains)
        keep &= np.array([bool(chains_of.get(str(e), frozenset()) & wanted) for e in ids], bool)
    return keep


def _industry_kept(
    measure: KpiMeasure, ids: pd.Series, tables: Mapping[str, pd.DataFrame]
) -> np.ndarray:
    """False for the firms of an industry the measure leaves out (``not_industry_codes``; a
    universe without industry codes leaves none out)."""
    firms = tables["enterprises"]
    if not measure.not_industry_codes or not {C.INDUSTRY_CODE, C.INDUSTRY_SCHEME} <= set(
        firms.columns
    ):
        return np.ones(len(ids), dtype=bool)
    industry = (
        firms.set_index(C.ENTERPRISE_ID)[[C.INDUSTRY_CODE, C.INDUSTRY_SCHEME]]
        .reindex(ids.astype(str).to_numpy())
        .reset_index(drop=True)
    )
    return ~industry_hit(industry, measure.not_industry_codes)


def _facts_match(measure: KpiMeasure, hq: pd.Series, tech: pd.Series) -> np.ndarray:
    """The measure's headquarters-type and high-tech filters."""
    keep = np.ones(len(hq), dtype=bool)
    if measure.hq_types:
        keep &= hq.isin(measure.hq_types).to_numpy()
    if measure.high_tech is not None:
        keep &= tech.to_numpy(bool) == measure.high_tech
    return keep


def matching_firms(
    measures: Sequence[KpiMeasure], enterprise_ids: pd.Series, tables: Mapping[str, pd.DataFrame]
) -> list[np.ndarray]:
    """Per count KPI's measure (``firms`` / ``new_firms``), which of ``enterprise_ids`` (firms
    outside the park) it would count if they landed: the same filters as the projection's. The
    firms' facts are looked up once (only when a measure filters on them), the chain of every
    link once."""
    frame = pd.DataFrame({C.ENTERPRISE_ID: enterprise_ids.astype(str).to_numpy()})
    ids = frame[C.ENTERPRISE_ID]
    facts: tuple[pd.Series, pd.Series, pd.Series] | None = None
    if any(m.hq_types or m.high_tech is not None for m in measures):
        facts = _lead_facts(frame, tables)
    link_chains: pd.Series | None = None
    out = []
    for measure in measures:
        keep = (
            _facts_match(measure, facts[0], facts[1])
            if facts is not None
            else np.ones(len(ids), dtype=bool)
        )
        if measure.chains:
            links = tables["enterprise_links"]
            if link_chains is None:
                link_chains = chains_of(links[C.LINK_ID])
            in_wanted = link_chains.isin(frozenset(measure.chains)).to_numpy()
            firms = pd.unique(links.loc[in_wanted, C.ENTERPRISE_ID].astype(str))
            keep &= member(ids, firms)
        keep &= _industry_kept(measure, ids, tables)
        out.append(keep)
    return out


def _cagr(start: float, end: float, years: int) -> float | None:
    if start <= 0 or end < 0 or years <= 0:
        return None
    return round(float((end / start) ** (1.0 / years) - 1.0) * 100.0, 2)


def _status(kpi: Kpi, now: float | None, projected: float | None) -> Status:
    low = kpi.target_range[0]
    if now is None:
        return "no_data"
    if now >= low:
        return "met"
    return "reachable" if projected is not None and projected >= low else "behind"


def _lead_facts(
    leads: pd.DataFrame, tables: Mapping[str, pd.DataFrame]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each lead's HQ type, high-tech flag and the revenue its unit would book here: the group's
    revenue × the unit's share (tax P50 / group tax P50, the lead's landing form's share). A row
    without the group's tax (written before landing forms: its tax P50 is the group's) counts
    the group's revenue, as its tax P50 counts the group's tax."""
    ent = tables["enterprises"].set_index(C.ENTERPRISE_ID)
    rows = ent.reindex(leads[C.ENTERPRISE_ID].astype(str))
    revenue = rows[C.REVENUE].astype(float).fillna(0.0).to_numpy()
    share = np.ones(len(leads))
    if "group_tax_p50_wan_cny" in leads.columns and "tax_p50_wan_cny" in leads.columns:
        unit = pd.to_numeric(leads["tax_p50_wan_cny"], errors="coerce").to_numpy(dtype=float)
        group = pd.to_numeric(leads["group_tax_p50_wan_cny"], errors="coerce").to_numpy(dtype=float)
        known = np.isfinite(unit) & np.isfinite(group) & (group > 0)
        share[known] = np.clip(unit[known] / group[known], 0.0, 1.0)
    return (
        rows[C.HQ_TYPE].astype(object).fillna("none").reset_index(drop=True),
        rows[C.IS_HIGH_TECH].astype("boolean").fillna(False).reset_index(drop=True),
        pd.Series(revenue * share),
    )


def _movers(leads: pd.DataFrame, adds: np.ndarray) -> list[dict[str, object]]:
    order = np.argsort(-adds, kind="stable")
    out = []
    for i in order[:MOVERS]:
        if adds[i] <= 0:
            break
        row = leads.iloc[int(i)]
        out.append(
            {
                "lead_id": int(row["lead_id"]),
                C.ENTERPRISE_ID: str(row[C.ENTERPRISE_ID]),
                C.NAME: str(row[C.NAME]),
                C.TRACK: str(row[C.TRACK]),
                "stage": str(row["stage"]),
                "p_land": float(row["p_land"]),
                "adds": round(float(adds[i]), 3),
            }
        )
    return out


def measure_kpis(
    facts: ParkFacts,
    tables: Mapping[str, pd.DataFrame],
    open_leads: pd.DataFrame,
    *,
    today: date,
) -> list[KpiStatus]:
    """Every KPI of the park's plan (see the module doc). ``open_leads`` has the columns
    ``OPEN_LEAD_COLUMNS`` (one row per open lead; a firm on two tracks counts once, at its
    higher P(land))."""
    park = facts.park
    leads = (
        open_leads.sort_values("p_land", ascending=False, kind="stable")
        .drop_duplicates(C.ENTERPRISE_ID)
        .reset_index(drop=True)
    )
    leads = leads[~leads[C.ENTERPRISE_ID].isin(set(facts.firms[C.ENTERPRISE_ID]))]
    leads = leads.reset_index(drop=True)
    p_land = leads["p_land"].astype(float).fillna(0.0).to_numpy()
    lead_hq, lead_tech, lead_revenue = _lead_facts(leads, tables)
    lead_chains = chains_by_firm(tables["enterprise_links"], set(leads[C.ENTERPRISE_ID]))
    tax_years = [int(y) for y in facts.levels.index if y >= park.baseline_year]
    last_year = max(tax_years) if tax_years else max(today.year - 1, park.baseline_year)
    out = []
    for kpi in park.kpi_targets:
        low, high = kpi.target_range
        common: dict[str, Any] = dict(
            id=kpi.id,
            name_zh=kpi.name_zh,
            name_en=kpi.name_en,
            unit=kpi.unit,
            target_low=low,
            target_high=high,
            target_year=kpi.year,
        )
        if kpi.measure is None:
            out.append(KpiStatus(**common, status="not_held", not_held=kpi.not_held))
            continue
        m = kpi.measure
        if m.kind == "new_buildings_over":
            out.append(_buildings_kpi(m, common, park, tables, leads, today))
            continue
        plan_baseline = park.baseline.get(kpi.baseline_key) if kpi.baseline_key else None
        if m.kind in ("firms", "new_firms"):
            f = facts.firms
            match = _matching(
                m, f[C.ENTERPRISE_ID], f[C.HQ_TYPE], f[C.IS_HIGH_TECH], facts.chains_of
            ) & _industry_kept(m, f[C.ENTERPRISE_ID], tables)
            if m.kind == "new_firms":
                match &= f["entered_year"].to_numpy() > park.baseline_year
            years = list(range(park.baseline_year, max(last_year, today.year) + 1))
            entered = f["entered_year"].to_numpy()
            series = [(y, float((match & (entered <= y)).sum())) for y in years]
            now = float(match.sum())
            at_baseline = float((match & (entered <= park.baseline_year)).sum())
            adds = p_land * (
                _matching(m, leads[C.ENTERPRISE_ID], lead_hq, lead_tech, lead_chains)
                & _industry_kept(m, leads[C.ENTERPRISE_ID], tables)
            )
            projected = round(now + float(adds.sum()), 2)
            baseline = float(plan_baseline) if plan_baseline is not None else at_baseline
            out.append(
                KpiStatus(
                    **common,
                    status=_status(kpi, now, projected),
                    baseline=baseline,
                    baseline_source="plan" if plan_baseline is not None else "data",
                    now=now,
                    now_year=today.year,
                    projected=projected,
                    series=series,
                    movers=_movers(leads, adds),
                )
            )
            continue
        # growth of a level
        if m.of == "high_tech":
            start = (
                float(plan_baseline)
                if plan_baseline is not None
                else float(
                    (facts.firms["entered_year"] <= park.baseline_year)
                    .mul(facts.firms[C.IS_HIGH_TECH])
                    .sum()
                )
            )
            level_now = float(facts.firms[C.IS_HIGH_TECH].sum())
            adds = p_land * lead_tech.to_numpy(bool)
            span = max(1, last_year - park.baseline_year)
            series = [(park.baseline_year, start), (last_year, level_now)]
            level_unit = "家"
        else:
            column = m.of or "tax"
            levels = facts.levels[column].dropna()
            levels = levels[levels.index >= park.baseline_year]
            if levels.empty or park.baseline_year not in levels.index:
                out.append(
                    KpiStatus(
                        **common,
                        status="no_data",
                        not_held=(
                            f"no {column} records of the park's firms for {park.baseline_year} and later"
                        ),
                    )
                )
                continue
            start = (
                float(plan_baseline)
                if plan_baseline is not None
                else float(levels.loc[park.baseline_year])
            )
            level_now = float(levels.iloc[-1])
            level_years = [int(y) for y in levels.index]
            span = level_years[-1] - park.baseline_year
            series = list(zip(level_years, levels.astype(float).tolist(), strict=True))
            contribution = (
                leads["tax_p50_wan_cny"].astype(float).fillna(0.0).to_numpy()
                if column == "tax"
                else lead_revenue.to_numpy()
            )
            adds = p_land * contribution
            level_unit = "万元"
        level_projected = level_now + float(adds.sum())
        growth_now = _cagr(start, level_now, span)
        growth_projected = _cagr(start, level_projected, span)
        out.append(
            KpiStatus(
                **common,
                status=_status(kpi, growth_now, growth_projected),
                baseline_source="plan" if plan_baseline is not None else "data",
                now=growth_now,
                now_year=park.baseline_year + span,
                projected=growth_projected,
                level_unit=level_unit,
                level_baseline=round(start, 2),
                level_now=round(level_now, 2),
                level_projected=round(level_projected, 2),
                series=series,
                movers=_movers(leads, adds),
            )
        )
    return out


def _buildings_kpi(
    m: KpiMeasure,
    common: dict[str, Any],
    park: Park,
    tables: Mapping[str, pd.DataFrame],
    leads: pd.DataFrame,
    today: date,
) -> KpiStatus:
    """The 亿元楼 count (``new_buildings_over``): see the module doc and ``industry_graph.space``."""
    kpi = next(k for k in park.kpi_targets if k.id == common["id"])
    space = park_space(
        park,
        tables,
        first=quarter_of(date(park.baseline_year, 12, 31)),
        last=quarter_of(today) + HORIZON_QUARTERS,
    )
    if not space.held:
        return KpiStatus(
            **common,
            status="no_data",
            not_held="the park's buildings are not held (import them: park_buildings, "
            "building_supply, building_tenants)",
        )
    threshold = float(m.min_tax_wan_cny or 0.0)
    prepared = prepare_leads(
        leads=leads,
        tables=tables,
        park=park,
        today=today,
    )
    fit = building_fit(leads=prepared, space=space)
    placement = place_leads(leads=prepared, fit=fit, space=space)
    status = yiyuan(
        space=space,
        tax_records=tables["tax_records"],
        threshold_wan_cny=threshold,
        leads=prepared,
        fit=fit,
        placement=placement,
    )
    base = status.count_baseline
    now = float(status.count_now - base)
    projected = round(status.expected_count_projected - base, 2)
    movers = [
        {
            "lead_id": int(row["lead_id"]),
            C.ENTERPRISE_ID: str(row[C.ENTERPRISE_ID]),
            C.NAME: str(row[C.NAME]),
            C.TRACK: str(row[C.TRACK]),
            "stage": str(row["stage"]),
            "p_land": float(row["p_land"]),
            "adds": float(row["adds"]),
            C.BUILDING_ID: str(row[C.BUILDING_ID]),
        }
        for row in status.movers.head(MOVERS).to_dict("records")
        if float(row["adds"]) > 0
    ]
    return KpiStatus(
        **common,
        status=_status(kpi, now, projected),
        baseline=0.0,
        baseline_source="data",
        now=now,
        now_year=status.latest_year,
        projected=projected,
        level_unit="栋",
        level_baseline=float(base),
        level_now=float(status.count_now),
        level_projected=round(status.expected_count_projected, 2),
        series=[(y, float(n - base)) for y, n in status.series],
        movers=movers,
    )


def coverage_over_time(
    park: Park, chains: Mapping[str, Chain], tables: Mapping[str, pd.DataFrame]
) -> list[dict[str, object]]:
    """Each link of the park's chains at the baseline year's end and now: presence (Σ share of
    park firms), target, coverage and gap type both times, and the firms that entered after the
    baseline in it — so a gap closed since the plan began names who closed it. The target is
    today's (``industry_graph.gaps``: it counts firms outside the park, so it barely moves)."""
    roster = tables["park_roster"]
    roster = roster[roster[C.PARK_ID] == park.id]
    entered = pd.to_datetime(roster[C.ENTERED_ON])
    cutoff = pd.Timestamp(f"{park.baseline_year}-12-31")
    before = roster[entered.isna() | (entered <= cutoff)]
    joined = set(roster.loc[entered > cutoff, C.ENTERPRISE_ID].astype(str))
    common: dict[str, Any] = dict(
        park=park,
        chains=chains,
        enterprises=tables["enterprises"],
        enterprise_links=tables["enterprise_links"],
    )
    then_ctx = park_context(**common, park_roster=before)
    now_ctx = park_context(**common, park_roster=roster)
    members = now_ctx.park_members
    newcomers = members[members[C.ENTERPRISE_ID].astype(str).isin(joined)]
    names = {
        str(link): sorted(str(n) for n in group[C.NAME])
        for link, group in newcomers.groupby(C.LINK_ID)
    }
    out = []
    for target in park.chains:
        if target.id not in chains:
            continue
        then = {g.link_id: g for g in analyse_gaps(then_ctx, target.id)}
        for gap in analyse_gaps(now_ctx, target.id):
            old = then[gap.link_id]
            out.append(
                {
                    "chain_id": target.id,
                    "link_id": gap.link_id,
                    "name_zh": gap.name_zh,
                    "name_en": gap.name_en,
                    "target": gap.target,
                    "firms_baseline": old.firms,
                    "coverage_baseline": round(old.firms / gap.target, 3),
                    "gap_type_baseline": old.gap_type,
                    "firms_now": gap.firms,
                    "coverage_now": gap.coverage,
                    "gap_type_now": gap.gap_type,
                    "closed": old.firms == 0 and gap.firms > 0,
                    "joined": names.get(gap.link_id, []),
                }
            )
    return out
