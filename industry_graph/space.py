"""Where a lead would sit: the park's buildings over time, each lead's space need, which buildings
fit it, a placement that never overfills a building, the rows a contact plan's LP needs, the
tax each building's firms pay, and the 亿元楼 the plan counts.

**Free area by quarter** (``ParkSpace``): for each building and quarter, the lettable area free at
the quarter's end (``data.buildings.area_over_time``: the count on ``free_on``, plus supply
added since, plus area given back by tenants who left, minus area taken by tenants who came).
"Free by the quarter it would land" is free at the end of that quarter.

**A lead's unit and space need** (``prepare_leads``): the unit the lead would bring has a kind of
work (office, R&D, lab) and a staff P10 / P50 / P90 — columns of the lead table when its landing
form gives them (``unit_kind``, ``unit_staff_p10`` / ``p50`` / ``p90``), else the park YAML's
interim rule from the group's employees (``unit_source = "interim"``). The need is staff × m²
per person of its kind (``space.area_per_person_m2``, P10 / P50 / P90 with their sources). Both
factors are taken as log-normal and independent, each side of the median on its own: with
``σ_lo(x) = ln(x50 / x10) / 1.2816`` and ``σ_hi(x) = ln(x90 / x50) / 1.2816``,
``need50 = staff50 × area50``, ``need10 = need50 × exp(−1.2816 √(σ_lo(staff)² + σ_lo(area)²))``
and ``need90 = need50 × exp(1.2816 √(σ_hi(staff)² + σ_hi(area)²))``. The lead lands in the
quarter ``today + space.quarters_to_land[stage]`` (a list lead: as a new one).

**Fit of a lead to a building** (``building_fit``): ``kind_fit × purpose_fit`` where
``kind_fit`` is ``space.kinds[kind].hosts[unit_kind]`` and ``purpose_fit`` is 1, times
``space.other_chain_fit`` if the building names chains and the lead works in none of them, and
once more if it names tracks and the lead's is not one. A building *takes* the lead when
``kind_fit > 0``, the need P50 is at most the kind's ``max_unit_m2``, and the free area is at
least the need P50 at the landing quarter's end *and at every later quarter* (a unit stays).
Buildings that take it come best first: higher fit, then the smaller free area that holds it
(large floors are kept for large units), then the id. Each row says why in Chinese and English.

**Placement** (``place_leads``): leads in order of priority (expected in-park tax, P(land) ×
in-park tax P50, unless given), each at the first building of its list that still takes it
after the leads placed before it; its need P50 is then taken from that building from its
landing quarter on. By construction no building's free area falls below zero in any quarter
(``tests/industry_graph/test_space.py``).

**The contact plan's constraint** (``capacity_rows``): with a variable ``y[i, b, t]`` ∈ [0, 1] per
candidate i, building b that takes it and contact quarter t (it lands at ``t + lag_i``), free
area is linear: for every building b and quarter q, ``Σ_{i, t : t + lag_i ≤ q} w_i × need_i ×
y[i, b, t] ≤ free(b, q)`` with ``w_i = P(land)`` (space for the expected landings) or 1 (room
for every approached firm). ``CapacityRows`` holds that sparse matrix, its bound and the key of
each row and column; the LP adds ``Σ_b y[i, b, t] = x[i, t]`` to tie it to its contact variables.

**Tax per building** (``building_tax``): a firm's tax of year y counts for the building(s) it
leased on 31 December of y, split by leased area when it leased in several.

**亿元楼** (``yiyuan``): a building is over the threshold in year y when its tax that year is at
least ``min_tax_wan_cny`` (10,000 万元). The KPI counts the buildings over it in the latest tax
year minus those over it in the baseline year. The **projection** places the open pipeline
(``place_leads``) and treats each placed lead as landing with its P(land) and paying its
in-park tax P50 (P50 × the YAML's in-park share, or ``in_park_tax_p50_wan_cny`` when given) on
top of the building's latest tax; a building's chance of reaching the threshold is exact for
independent leads (a distribution over sums in whole 万元, ``P(Σ landed tax ≥ gap)``), and the
projected count is Σ over buildings of that chance, minus the baseline count. The **closest
leads** of a building below it are the leads that fit it, ranked by expected progress
``P(land) × min(in-park tax, gap)``; a KPI **mover** is a lead by how much it raises the expected
count, ``P(land) × (P(reach | it lands) − P(reach | it does not))``. (The expected tax,
latest + Σ P(land) × in-park tax, is reported too — ``expected_tax_projected_wan_cny`` — but it
does not decide the count: a building at 9,000 万元 with one lead of P(land) 0.1 bringing
2,000 has an expected tax above the threshold and a 10 % chance of reaching it.)

**Landed firms** (``place_landed``): firms the pipeline says landed are placed, in the order they
landed, at the best building with their need free from their landing quarter on, and become
``building_tenants`` rows, so the tax they pay afterwards counts for a building.

**Views** (``space_report`` → ``building_table``, ``building_detail``, ``lead_space``): one report
per request or reload — the space, the list and pipeline leads prepared and fitted, the
pipeline placed, the 亿元楼 status — read by the 载体 list, a building's page and a lead's
space card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Final

import numpy as np
import pandas as pd
from scipy import sparse

from data import columns as C
from data.buildings import area_over_time
from data.frames import member
from data.landing import Z90  # the standard normal's 90th percentile
from data.reference import Park, Space, chain_of

HORIZON_QUARTERS: Final = 16  # quarters ahead ParkSpace covers (the plan period and a year)
CLOSEST: Final = 5
# the lead table: required, and optional columns (taken when present)
LEAD_REQUIRED: Final = (C.ENTERPRISE_ID, C.TRACK, "p_land", "tax_p50_wan_cny")
UNIT_COLUMNS: Final = ("unit_kind", "unit_staff_p10", "unit_staff_p50", "unit_staff_p90")
NEED_COLUMNS: Final = ("need_m2_p10", "need_m2_p50", "need_m2_p90")


def quarter_of(day: date | pd.Timestamp) -> pd.Period:
    """The calendar quarter of a day."""
    return pd.Period(pd.Timestamp(day), freq="Q")


def _space(park: Park) -> Space:
    if park.space is None:
        raise ValueError(f"park {park.id}: its YAML has no space block (kinds, area per person)")
    return park.space


def _ids(value: object) -> frozenset[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return frozenset()
    return frozenset(w for w in str(value).split(";") if w)


@dataclass(frozen=True)
class ParkSpace:
    """One park's buildings, supply and tenants, and its lettable area by quarter end."""

    park: Park
    buildings: pd.DataFrame  # indexed by building_id
    supply: pd.DataFrame
    tenants: pd.DataFrame
    quarters: pd.PeriodIndex
    available: pd.DataFrame  # building × quarter: area there to let (leased or free)
    occupied: pd.DataFrame  # building × quarter: area leased by tenants

    @property
    def free(self) -> pd.DataFrame:
        """Building × quarter: lettable area free at the quarter's end."""
        return self.available - self.occupied

    @property
    def held(self) -> bool:
        """Whether the park has any building."""
        return len(self.buildings) > 0

    def occupancy(self) -> pd.DataFrame:
        """Building × quarter: leased / there to let (NaN where nothing is there yet)."""
        there = self.available.where(self.available > 0)
        return (self.occupied / there).clip(upper=1.0)


def park_space(
    park: Park,
    tables: Mapping[str, pd.DataFrame],
    *,
    first: pd.Period,
    last: pd.Period,
) -> ParkSpace:
    """The park's space from the universe's tables, quarters ``first`` … ``last``. A universe
    without the space tables is a park without buildings (``held`` is False)."""
    from data.universe import typed_empty_table

    def mine(table: str) -> pd.DataFrame:
        frame = tables.get(table)
        if frame is None:
            return typed_empty_table(table)
        return frame[frame[C.PARK_ID].astype(str) == park.id].reset_index(drop=True)

    buildings, supply, tenants = (
        mine("park_buildings"),
        mine("building_supply"),
        mine("building_tenants"),
    )
    quarters = pd.period_range(first, last, freq="Q")
    ends = pd.DatetimeIndex([q.end_time.normalize() for q in quarters])
    available, occupied = area_over_time(
        buildings=buildings, supply=supply, tenants=tenants, days=ends
    )
    available.columns = occupied.columns = quarters
    return ParkSpace(
        park=park,
        buildings=buildings.set_index(C.BUILDING_ID, drop=False),
        supply=supply,
        tenants=tenants,
        quarters=quarters,
        available=available,
        occupied=occupied,
    )


# --------------------------------------------------------------------------------------------
# units and their need


def interim_units(
    *,
    leads: pd.DataFrame,
    enterprises: pd.DataFrame,
    links: pd.DataFrame,
    park: Park,
) -> pd.DataFrame:
    """``UNIT_COLUMNS`` for each row of ``leads`` (enterprise_id, track) by the YAML's interim
    rule (``space.interim_unit``: staff from the group's employees; a lab if the firm's main
    link is a lab link, R&D if its track recruits for chains, else an office)."""
    ent = enterprises.set_index(C.ENTERPRISE_ID)
    ids = leads[C.ENTERPRISE_ID].astype(str)
    employees = (
        ent[C.EMPLOYEES].reindex(ids).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    mine = links[member(links[C.ENTERPRISE_ID], set(ids))]
    main = (
        mine.sort_values([C.ENTERPRISE_ID, C.SHARE], ascending=[True, False], kind="stable")
        .drop_duplicates(C.ENTERPRISE_ID)
        .set_index(C.ENTERPRISE_ID)[C.LINK_ID]
    )
    main_link = main.reindex(ids).to_numpy(dtype=object)
    return pd.DataFrame(
        _interim_arrays(park, employees, main_link, leads[C.TRACK]), index=leads.index
    )


def _interim_arrays(
    park: Park, employees: np.ndarray, main_link: np.ndarray, tracks: Iterable[object]
) -> dict[str, object]:
    """The interim rule's ``UNIT_COLUMNS`` (and ``unit_source``) from each unit's group
    employees, main link (``None`` / NaN for none) and track."""
    rule = _space(park).interim_unit
    p50 = rule.staff_p50(employees)
    chain_track = np.array(
        [bool(park.tracks[str(t)].chains) if str(t) in park.tracks else False for t in tracks]
    )
    lab = np.isin(main_link.astype(str), list(rule.lab_links))
    kind = np.where(lab, "lab", np.where(chain_track, "rd", "office"))
    low, high = rule.band
    return {
        "unit_kind": kind,
        "unit_staff_p10": p50 * low,
        "unit_staff_p50": p50,
        "unit_staff_p90": p50 * high,
        "unit_source": "interim",
    }


def _sigma(median: np.ndarray, other: np.ndarray) -> np.ndarray:
    ratio = np.where((median > 0) & (other > 0), np.abs(np.log(other / median)), np.nan)
    return np.asarray(ratio / Z90, dtype=float)


def space_need(*, units: pd.DataFrame, park: Park) -> pd.DataFrame:
    """``NEED_COLUMNS`` (m² leased) for units with ``UNIT_COLUMNS`` (module doc): staff × area
    per person of the unit's kind, the two log-normal bands combined side by side."""
    s10, s50, s90 = (units[c].astype(float).to_numpy() for c in UNIT_COLUMNS[1:])
    need = _need_arrays(park, units["unit_kind"].astype(str).to_numpy(), s10, s50, s90)
    return pd.DataFrame(dict(zip(NEED_COLUMNS, need, strict=True)), index=units.index)


def _need_arrays(
    park: Park, kind: np.ndarray, s10: np.ndarray, s50: np.ndarray, s90: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The need P10 / P50 / P90 in m² of units of these kinds and staff bands."""
    per = _space(park).area_per_person_m2
    unknown = sorted(set(kind) - set(per))
    if unknown:
        raise ValueError(f"unit_kind: unknown kind(s) {unknown}; one of {sorted(per)}")
    a10 = np.array([per[k].p10 for k in kind], dtype=float)
    a50 = np.array([per[k].p50 for k in kind], dtype=float)
    a90 = np.array([per[k].p90 for k in kind], dtype=float)
    need50 = s50 * a50
    lo = np.sqrt(_sigma(s50, s10) ** 2 + _sigma(a50, a10) ** 2)
    hi = np.sqrt(_sigma(s50, s90) ** 2 + _sigma(a50, a90) ** 2)
    return need50 * np.exp(-Z90 * lo), need50, need50 * np.exp(Z90 * hi)


def prepare_leads(
    *,
    leads: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    park: Park,
    today: date,
) -> pd.DataFrame:
    """The lead table with what matching needs (module doc): its unit (given or interim), need,
    chains, landing quarter and in-park tax P50. ``leads`` has ``LEAD_REQUIRED`` and may have
    ``stage``, ``name``, ``lead_id``, ``value_wan_cny`` (the expected value that orders lists),
    ``in_park_tax_p50_wan_cny`` and ``UNIT_COLUMNS`` (``tax_p50_wan_cny`` is already the
    tax the park would collect)."""
    space = _space(park)
    missing = [c for c in LEAD_REQUIRED if c not in leads]
    if missing:
        raise ValueError(f"leads: missing column(s) {', '.join(missing)}")
    out = leads.reset_index(drop=True).copy()
    if all(c in out for c in UNIT_COLUMNS) and out["unit_staff_p50"].notna().all():
        out["unit_source"] = out.get("unit_source", "landing_form")
    else:
        interim = interim_units(
            leads=out,
            enterprises=tables["enterprises"],
            links=tables["enterprise_links"],
            park=park,
        )
        given = (
            out["unit_staff_p50"].notna()
            if "unit_staff_p50" in out
            else pd.Series(False, index=out.index)
        )
        for column in (*UNIT_COLUMNS, "unit_source"):
            if column in out:
                out[column] = out[column].where(given, interim[column])
            else:
                out[column] = interim[column]
        out.loc[given, "unit_source"] = "landing_form"
    out[list(NEED_COLUMNS)] = space_need(units=out, park=park)
    stage = out["stage"].astype(str) if "stage" in out else pd.Series("new", index=out.index)
    unknown = sorted(set(stage) - set(space.quarters_to_land))
    if unknown:
        raise ValueError(f"stage: {unknown} are not open stages; a placed lead is still open")
    here = quarter_of(today)
    out["quarters_to_land"] = [space.quarters_to_land[s] for s in stage]
    out["land_quarter"] = pd.Series(
        [here + k for k in out["quarters_to_land"]], index=out.index, dtype=object
    )
    links = tables["enterprise_links"]
    mine = links[member(links[C.ENTERPRISE_ID], set(out[C.ENTERPRISE_ID].astype(str)))]
    chains = mine[C.LINK_ID].map(chain_of).groupby(mine[C.ENTERPRISE_ID].to_numpy()).agg(frozenset)
    out["lead_chains"] = [chains.get(str(e), frozenset()) for e in out[C.ENTERPRISE_ID]]
    if "in_park_tax_p50_wan_cny" not in out:
        # a lead's tax P50 is what the park would collect (its landing form's share of the
        # group's tax, models.scorer)
        out["in_park_tax_p50_wan_cny"] = out["tax_p50_wan_cny"].astype(float).to_numpy()
    if "value_wan_cny" not in out:
        out["value_wan_cny"] = out["p_land"].astype(float) * out["in_park_tax_p50_wan_cny"]
    if C.NAME not in out:
        names = tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
        out[C.NAME] = out[C.ENTERPRISE_ID].map(names).fillna(out[C.ENTERPRISE_ID])
    return out


# --------------------------------------------------------------------------------------------
# fit, matching and placement


def _room_from(free: pd.DataFrame, quarters: pd.PeriodIndex, land: pd.Period) -> pd.Series:
    """Per building: the least free area from ``land`` to the last quarter held (a unit stays)."""
    if land > quarters[-1]:
        return pd.Series(np.nan, index=free.index)
    start = max(land, quarters[0])
    values = free.to_numpy(dtype=float)[:, _from_quarter(free.columns, start)]
    return pd.Series(values.min(axis=1), index=free.index)


def _from_quarter(columns: pd.Index, start: pd.Period) -> np.ndarray:
    """Which quarter columns are ``start`` or later."""
    return np.array([q.ordinal >= start.ordinal for q in columns], dtype=bool)


FIT_COLUMNS: Final = (
    "lead_row",
    C.ENTERPRISE_ID,
    C.BUILDING_ID,
    "kind_fit",
    "purpose_fit",
    "fit",
    "free_m2",
    "room_m2",
    "too_big",
    "takes",
    "rank",
)


def building_fit(*, leads: pd.DataFrame, space: ParkSpace) -> pd.DataFrame:
    """Every (lead, building) pair with its fit, the room at the lead's landing quarter and
    whether the building takes the lead (module doc); ``explain_fit`` words the reasons of the
    rows shown. ``leads`` comes from ``prepare_leads``. Columns ``FIT_COLUMNS``: ``lead_row``
    (position in ``leads``), kind_fit, purpose_fit, fit, free_m2 (free at the landing quarter's
    end), room_m2 (the least free from then on), too_big (above the kind's largest unit), takes,
    rank (1 = best of the buildings that take the lead, 0 = does not take it)."""
    b = space.buildings
    n, m = len(leads), len(b)
    if not n or not m:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIT_COLUMNS})
    kind_fit, purpose, room, at_land, too_big, takes = _fit_matrices(
        space,
        units=leads["unit_kind"].astype(str).to_numpy(),
        chains=leads["lead_chains"],
        tracks=leads[C.TRACK],
        land=leads["land_quarter"].to_numpy(),
        need=leads["need_m2_p50"].astype(float).to_numpy(),
    )
    out = pd.DataFrame(
        {
            "lead_row": np.repeat(np.arange(n), m),
            C.ENTERPRISE_ID: np.repeat(leads[C.ENTERPRISE_ID].astype(str).to_numpy(), m),
            C.BUILDING_ID: np.tile(b.index.astype(str).to_numpy(), n),
            "kind_fit": kind_fit.ravel(),
            "purpose_fit": purpose.ravel(),
            "fit": np.round(kind_fit * purpose, 6).ravel(),
            "free_m2": at_land.ravel(),
            "room_m2": room.ravel(),
            "too_big": too_big.ravel(),
            "takes": takes.ravel(),
        }
    )
    order = np.lexsort(
        (
            out[C.BUILDING_ID].to_numpy(),
            out["room_m2"].fillna(np.inf).to_numpy(),
            -out["fit"].to_numpy(),
            ~out["takes"].to_numpy(),
            out["lead_row"].to_numpy(),
        )
    )
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = out.groupby("lead_row").cumcount() + 1
    out.loc[~out["takes"], "rank"] = 0
    return out[list(FIT_COLUMNS)]


def _fit_matrices(
    space: ParkSpace,
    *,
    units: np.ndarray,
    chains: Iterable[frozenset[str]],
    tracks: Iterable[object],
    land: np.ndarray,
    need: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Lead × building: kind fit, purpose fit, room from the landing quarter on, free area at
    it, too big, takes (``building_fit``'s columns before they are ordered)."""
    cfg = _space(space.park)
    b = space.buildings
    n, m = len(units), len(b)
    kinds = b[C.BUILDING_KIND].astype(str).to_numpy()
    kind_fit = np.array([[float(cfg.kinds[k].hosts.get(u, 0.0)) for k in kinds] for u in units])
    max_unit = np.array(
        [cfg.kinds[k].max_unit_m2 or np.inf for k in kinds],
        dtype=float,
    )
    b_chains = [_ids(v) for v in b[C.CHAINS]]
    b_tracks = [_ids(v) for v in b[C.TRACKS]]
    chain_ok = np.array([[not bc or bool(bc & lc) for bc in b_chains] for lc in chains], dtype=bool)
    track_ok = np.array([[not bt or str(t) in bt for bt in b_tracks] for t in tracks], dtype=bool)
    other = cfg.other_chain_fit
    purpose = np.where(chain_ok, 1.0, other) * np.where(track_ok, 1.0, other)
    free = space.free
    room = np.full((n, m), np.nan)
    at_land = np.full((n, m), np.nan)
    for quarter in pd.unique(land):
        rows = np.flatnonzero(land == quarter)
        room[rows] = _room_from(free, space.quarters, quarter).to_numpy()[None, :]
        if quarter in free.columns:
            at_land[rows] = free[quarter].to_numpy()[None, :]
    need = need[:, None]
    too_big = need > max_unit[None, :]
    takes = (kind_fit > 0) & ~too_big & np.isfinite(need) & (np.nan_to_num(room, nan=-1.0) >= need)
    return kind_fit, purpose, room, at_land, too_big, takes


def explain_fit(rows: pd.DataFrame, *, leads: pd.DataFrame, space: ParkSpace) -> pd.DataFrame:
    """``rows`` of ``building_fit`` with ``reason_zh`` / ``reason_en``: the kind and its fit for
    the unit, the building's purpose against the firm's chains and track, and the room at the
    landing quarter against the need (P50 and P90)."""
    cfg = _space(space.park)
    other = cfg.other_chain_fit
    at = rows["lead_row"].to_numpy(dtype=np.int64)
    units = leads["unit_kind"].astype(str).to_numpy()[at]
    lands = leads["land_quarter"].to_numpy()[at]
    needs = leads["need_m2_p50"].astype(float).to_numpy()[at]
    needs90 = leads["need_m2_p90"].astype(float).to_numpy()[at]
    buildings = space.buildings.loc[pd.Index(rows[C.BUILDING_ID].astype(str))]
    zh_all, en_all = [], []
    for i, (kind_id, chains, tracks, kind_fit, purpose, room, too_big) in enumerate(
        zip(
            buildings[C.BUILDING_KIND].astype(str),
            buildings[C.CHAINS],
            buildings[C.TRACKS],
            rows["kind_fit"].astype(float),
            rows["purpose_fit"].astype(float),
            rows["room_m2"].astype(float),
            rows["too_big"].astype(bool),
            strict=True,
        )
    ):
        kind = cfg.kinds[kind_id]
        zh, en = _reasons(
            kind_zh=kind.name_zh,
            kind_en=kind.name_en,
            unit=str(units[i]),
            kind_fit=float(kind_fit),
            matches=float(purpose) >= 1.0,
            other=other,
            named=_ids(chains) | _ids(tracks),
            land=lands[i],
            room=float(room),
            need=float(needs[i]),
            need90=float(needs90[i]),
            too_big=bool(too_big),
            max_unit=kind.max_unit_m2,
        )
        zh_all.append(zh)
        en_all.append(en)
    return rows.assign(reason_zh=zh_all, reason_en=en_all)


_UNIT_ZH: Final = {"office": "办公", "rd": "研发", "lab": "实验室"}
_UNIT_EN: Final = {"office": "an office", "rd": "an R&D unit", "lab": "a lab"}


def _reasons(
    *,
    kind_zh: str,
    kind_en: str,
    unit: str,
    kind_fit: float,
    matches: bool,
    other: float,
    named: frozenset[str],
    land: pd.Period,
    room: float,
    need: float,
    need90: float,
    too_big: bool,
    max_unit: float | None,
) -> tuple[str, str]:
    zh = [f"{kind_zh}承接{_UNIT_ZH.get(unit, unit)}单位（适配 {kind_fit:.1f}）"]
    en = [f"{kind_en} for {_UNIT_EN.get(unit, unit)} (fit {kind_fit:.1f})"]
    if named:
        if matches:
            zh.append("定位与企业产业相符")
            en.append("meant for the firm's chain or track")
        else:
            zh.append(f"定位为其他产业（×{other:g}）")
            en.append(f"meant for other chains or tracks (×{other:g})")
    if too_big and max_unit is not None:
        zh.append(f"单元上限 {max_unit:,.0f} m²，需 {need:,.0f} m²")
        en.append(f"takes units up to {max_unit:,.0f} m², needs {need:,.0f} m²")
    elif not np.isfinite(need):
        zh.append("无人员规模，无法测算面积")
        en.append("no staff figure, no space need")
    elif not np.isfinite(room):
        zh.append(f"{land} 超出载体计划期")
        en.append(f"{land} is beyond the quarters the buildings are known for")
    else:
        enough = room >= need
        zh.append(
            f"{land} 起可用 {max(room, 0):,.0f} m²，{'可容纳' if enough else '面积不足'}"
            f"（需 {need:,.0f} m²，P90 {need90:,.0f} m²）"
        )
        en.append(
            f"{max(room, 0):,.0f} m² free from {land} on, "
            + ("room enough" if enough else "not enough")
            + f" (needs {need:,.0f} m², P90 {need90:,.0f} m²)"
        )
    return "；".join(zh), "; ".join(en)


def buildings_for_lead(
    *, fit: pd.DataFrame, leads: pd.DataFrame, space: ParkSpace, lead_row: int, top: int = 10
) -> pd.DataFrame:
    """The buildings that take one lead, best first, with why (``explain_fit``); when none takes
    it, the best-fitting ones with why not."""
    rows = fit[fit["lead_row"] == lead_row]
    taking = rows[rows["takes"]].sort_values("rank")
    shown = taking if len(taking) else rows.sort_values("fit", ascending=False, kind="stable")
    return explain_fit(shown.head(top).reset_index(drop=True), leads=leads, space=space)


def lead_space_alone(
    *,
    enterprise_id: str,
    track: str,
    employees: float,
    links: pd.DataFrame,
    space: ParkSpace,
    today: date,
    top: int = 5,
) -> dict[str, object]:
    """``lead_space`` of a new lead that is none of a report's leads, fitted alone against the
    report's buildings: its interim unit from its group's ``employees`` and its own rows of
    ``enterprise_links``. The card ``prepare_leads`` → ``building_fit`` → ``buildings_for_lead``
    give for a one-lead table, from arrays rather than frames (a firm page's time)."""
    park = space.park
    cfg = _space(park)
    link_ids = links[C.LINK_ID].to_numpy(dtype=object)
    shares = links[C.SHARE].to_numpy(dtype=float)
    main = link_ids[np.argsort(-shares, kind="stable")[0]] if len(links) else None
    unit = _interim_arrays(park, np.array([employees], dtype=float), np.array([main]), [track])
    staff = [np.asarray(unit[c], dtype=float) for c in UNIT_COLUMNS[1:]]
    kind = np.asarray(unit["unit_kind"])
    need = _need_arrays(park, kind, *staff)
    land = quarter_of(today) + cfg.quarters_to_land["new"]
    chains = frozenset(links[C.LINK_ID].map(chain_of))
    kind_fit, purpose, room, at_land, too_big, takes = (
        a[0]
        for a in _fit_matrices(
            space,
            units=kind,
            chains=[chains],
            tracks=[track],
            land=np.array([land], dtype=object),
            need=need[1],
        )
    )
    b = space.buildings
    ids = b.index.astype(str).to_numpy()
    fit = np.round(kind_fit * purpose, 6)
    order = np.lexsort((ids, np.where(np.isnan(room), np.inf, room), -fit, ~takes))
    shown = (order[takes[order]] if takes.any() else order)[:top]
    reasons = [
        _reasons(
            kind_zh=cfg.kinds[str(b[C.BUILDING_KIND].iloc[j])].name_zh,
            kind_en=cfg.kinds[str(b[C.BUILDING_KIND].iloc[j])].name_en,
            unit=str(kind[0]),
            kind_fit=float(kind_fit[j]),
            matches=float(purpose[j]) >= 1.0,
            other=cfg.other_chain_fit,
            named=_ids(b[C.CHAINS].iloc[j]) | _ids(b[C.TRACKS].iloc[j]),
            land=land,
            room=float(room[j]),
            need=float(need[1][0]),
            need90=float(need[2][0]),
            too_big=bool(too_big[j]),
            max_unit=cfg.kinds[str(b[C.BUILDING_KIND].iloc[j])].max_unit_m2,
        )
        for j in shown
    ]
    buildings = pd.DataFrame(
        {
            "lead_row": 0,
            C.ENTERPRISE_ID: enterprise_id,
            C.BUILDING_ID: ids[shown],
            "kind_fit": kind_fit[shown],
            "purpose_fit": purpose[shown],
            "fit": fit[shown],
            "free_m2": at_land[shown],
            "room_m2": room[shown],
            "too_big": too_big[shown],
            "takes": takes[shown],
            "rank": np.where(takes[shown], np.arange(1, len(shown) + 1), 0),
            "reason_zh": [zh for zh, _ in reasons],
            "reason_en": [en for _, en in reasons],
        }
    )
    return {
        C.ENTERPRISE_ID: enterprise_id,
        "unit_kind": str(kind[0]),
        "unit_source": str(unit["unit_source"]),
        **{c: float(v[0]) for c, v in zip(UNIT_COLUMNS[1:], staff, strict=True)},
        **{c: float(v[0]) for c, v in zip(NEED_COLUMNS, need, strict=True)},
        "land_quarter": str(land),
        "buildings": buildings,
    }


def leads_for_building(
    *,
    fit: pd.DataFrame,
    leads: pd.DataFrame,
    space: ParkSpace,
    building_id: str,
    order: str = "value",
    top: int = 20,
) -> pd.DataFrame:
    """The leads a building takes, by expected value (``order="value"``) or by how well they fit
    its purpose (``"fit"``, then value), with the share of its room each would fill and why."""
    if order not in ("value", "fit"):
        raise ValueError(f"order: 'value' or 'fit' (got {order!r})")
    rows = fit[(fit[C.BUILDING_ID] == building_id) & fit["takes"]].reset_index(drop=True)
    info = leads.iloc[rows["lead_row"].to_numpy()].reset_index(drop=True)
    keep = [
        c
        for c in (
            C.NAME,
            C.TRACK,
            "p_land",
            "value_wan_cny",
            "in_park_tax_p50_wan_cny",
            "unit_kind",
            *NEED_COLUMNS,
            "land_quarter",
            "lead_id",
            "stage",
        )
        if c in info
    ]
    out = pd.concat([rows, info[keep]], axis=1)
    out["fills_share"] = out["need_m2_p50"] / out["room_m2"]
    keys = ["value_wan_cny", "fit"] if order == "value" else ["fit", "value_wan_cny"]
    out = out.sort_values([*keys, C.ENTERPRISE_ID], ascending=[False, False, True], kind="stable")
    return explain_fit(out.head(top).reset_index(drop=True), leads=leads, space=space)


@dataclass(frozen=True)
class Placement:
    """Where the leads were placed: one row per lead (building_id None when none takes it, with
    why), and the free area left by building and quarter."""

    leads: pd.DataFrame
    free_left: pd.DataFrame


def place_leads(
    *, leads: pd.DataFrame, fit: pd.DataFrame, space: ParkSpace, priority: pd.Series | None = None
) -> Placement:
    """Place each lead at the best building that still takes it (module doc): by ``priority``
    (default P(land) × in-park tax P50), the need P50 taken from the building from the lead's
    landing quarter on. A lead whose landing quarter lies beyond the quarters held is not placed."""
    free = space.free
    left = free.to_numpy(dtype=float, copy=True)  # numpy, not .loc: a lead a few µs, not ms
    building_row = {bid: k for k, bid in enumerate(free.index)}
    order_key = (
        priority.to_numpy(dtype=float)
        if priority is not None
        else (
            leads["p_land"].astype(float) * leads["in_park_tax_p50_wan_cny"].astype(float)
        ).to_numpy()
    )
    order = np.lexsort((leads[C.ENTERPRISE_ID].astype(str).to_numpy(), -np.nan_to_num(order_key)))
    takes = fit[fit["takes"].astype(bool)].sort_values(["lead_row", "rank"], kind="stable")
    options: dict[int, list[object]] = {int(str(k)): [] for k in pd.unique(fit["lead_row"])}
    for row, bid in zip(takes["lead_row"], takes[C.BUILDING_ID], strict=True):
        options[int(str(row))].append(bid)
    needs = leads["need_m2_p50"].to_numpy(dtype=float)
    lands = list(leads["land_quarter"])
    placed: list[object] = [None] * len(leads)
    why: list[str] = [""] * len(leads)
    for i in order:
        choices = options.get(int(i), [])
        if not choices:
            why[i] = "no building takes it (kind, size or free area at its landing quarter)"
            continue
        need = float(needs[i])
        later = _from_quarter(free.columns, max(lands[i], space.quarters[0]))
        for bid in choices:
            window = left[building_row[bid], later]
            if len(window) and float(window.min()) >= need:
                left[building_row[bid], later] = window - need
                placed[i] = bid
                break
        if placed[i] is None:
            why[i] = "the buildings that take it were filled by leads placed before it"
    out = leads.copy()
    out[C.BUILDING_ID] = pd.Series(placed, index=out.index, dtype=object)
    out["not_placed_because"] = why
    return Placement(
        leads=out, free_left=pd.DataFrame(left, index=free.index, columns=free.columns)
    )


@dataclass(frozen=True)
class CapacityRows:
    """The free-area constraints of a contact plan: ``matrix @ y ≤ bound``; ``rows[k]`` is the
    (building_id, quarter) of row k and ``columns[j]`` the (enterprise_id, building_id, contact
    quarter) of variable j."""

    matrix: sparse.csr_matrix
    bound: np.ndarray
    rows: list[tuple[str, pd.Period]]
    columns: list[tuple[str, str, pd.Period]]


def capacity_rows(
    *,
    leads: pd.DataFrame,
    fit: pd.DataFrame,
    space: ParkSpace,
    contact_quarters: Sequence[pd.Period],
    expected: bool = True,
) -> CapacityRows:
    """The linear free-area constraint of a contact plan (module doc): one variable per lead,
    building that would take it, and contact quarter. The lead lands its stage's
    ``quarters_to_land`` after the contact and stays; a building takes it when ``building_fit``
    says so (for the landing quarter ``prepare_leads`` gave it — the earliest, for a plan that
    starts now; a later contact only meets the free area of later quarters, which the rows
    hold). ``expected``: weigh each need by P(land) (else 1)."""
    takes = fit[fit["takes"]]
    columns: list[tuple[str, str, pd.Period]] = []
    entries: list[tuple[tuple[str, pd.Period], int, float]] = []
    quarters = list(space.quarters)
    for lead_row, bid in zip(takes["lead_row"].astype(int), takes[C.BUILDING_ID], strict=True):
        need = float(leads["need_m2_p50"].iloc[lead_row])
        weight = float(leads["p_land"].iloc[lead_row]) if expected else 1.0
        lag = int(leads["quarters_to_land"].iloc[lead_row])
        for t in contact_quarters:
            j = len(columns)
            columns.append((str(leads[C.ENTERPRISE_ID].iloc[lead_row]), str(bid), t))
            land = t + lag
            for q in quarters:
                if q >= land:
                    entries.append(((str(bid), q), j, weight * need))
    row_keys = [(str(bid), q) for bid in space.buildings.index for q in quarters]
    row_of = {k: n for n, k in enumerate(row_keys)}
    free = space.free
    bound = (
        free.reindex(index=[str(b) for b in space.buildings.index]).to_numpy(dtype=float).ravel()
    )
    if entries:
        r = np.array([row_of[k] for k, _, _ in entries])
        c = np.array([j for _, j, _ in entries])
        v = np.array([w for _, _, w in entries])
    else:
        r = c = np.empty(0, dtype=int)
        v = np.empty(0)
    matrix = sparse.csr_matrix((v, (r, c)), shape=(len(row_keys), len(columns)))
    return CapacityRows(matrix=matrix, bound=bound, rows=row_keys, columns=columns)


def lead_needs(
    *, leads: pd.DataFrame, tables: Mapping[str, pd.DataFrame], park: Park
) -> np.ndarray:
    """Each lead's space need P50 (m²) by the YAML's interim unit rule (``interim_units``,
    ``space_need``); ``leads`` has ``enterprise_id`` and ``track``."""
    units = interim_units(
        leads=leads.reset_index(drop=True),
        enterprises=tables["enterprises"],
        links=tables["enterprise_links"],
        park=park,
    )
    need = space_need(units=units, park=park)["need_m2_p50"].to_numpy(dtype=float)
    return np.asarray(np.nan_to_num(need, nan=0.0), dtype=float)


def plan_free_area(
    *,
    park: Park,
    tables: Mapping[str, pd.DataFrame],
    first: pd.Period,
    quarters: int,
    open_leads: pd.DataFrame,
    today: date,
) -> np.ndarray:
    """Free area (m²) each quarter of a contact plan's horizon leaves to new landings: the park's
    free lettable area at the quarter's end (Σ over its buildings, each at least 0), less what the
    open pipeline is expected to take by then (P(land) × need P50 of each open lead landing by
    that quarter: its stage's ``quarters_to_land`` from ``today``). A park-wide bound: which
    building a landing takes is the placement's to decide (``place_leads``)."""
    last = first + (quarters - 1)
    space = park_space(park, tables, first=first, last=last)
    free = np.zeros(quarters)
    if space.held:
        free = np.array(space.free.clip(lower=0).sum(axis=0), dtype=float)  # a copy of its own
    if len(open_leads):
        prepared = prepare_leads(leads=open_leads, tables=tables, park=park, today=today)
        land = np.array([(q - first).n for q in prepared["land_quarter"]], dtype=int)
        taken = prepared["p_land"].astype(float).to_numpy() * prepared["need_m2_p50"].to_numpy(
            dtype=float
        )
        for k in range(quarters):
            free[k] -= float(np.nan_to_num(taken[land <= k]).sum())
    return np.asarray(np.clip(free, 0.0, None), dtype=float)


# --------------------------------------------------------------------------------------------
# tax per building and the 亿元楼


def building_tax(
    *, tenants: pd.DataFrame, tax_records: pd.DataFrame, years: Sequence[int]
) -> pd.DataFrame:
    """Building × year tax (万元) of the firms leasing in it on each year's 31 December, a firm in
    several buildings split by leased area; ``firms`` counts them (module doc)."""
    frames = []
    if not len(tenants):
        return pd.DataFrame(columns=[C.BUILDING_ID, C.YEAR, C.TAX_PAID, "firms"])
    since = pd.to_datetime(tenants[C.SINCE])
    until = pd.to_datetime(tenants[C.UNTIL])
    tax = tax_records.set_index([C.ENTERPRISE_ID, C.YEAR])[C.TAX_PAID]
    for year in years:
        end = pd.Timestamp(year=int(year), month=12, day=31)
        present = tenants[(since <= end) & (until.isna() | (until > end))]
        if not len(present):
            continue
        area = present[C.AREA].astype(float)
        share = area / area.groupby(present[C.ENTERPRISE_ID]).transform("sum")
        keys = pd.MultiIndex.from_arrays(
            [present[C.ENTERPRISE_ID].astype(str), np.full(len(present), int(year))]
        )
        paid = tax.reindex(keys).astype(float).to_numpy()
        frame = pd.DataFrame(
            {
                C.BUILDING_ID: present[C.BUILDING_ID].astype(str).to_numpy(),
                C.YEAR: int(year),
                C.TAX_PAID: np.nan_to_num(paid) * share.to_numpy(),
                "firms": 1,
            }
        )
        frames.append(frame.groupby([C.BUILDING_ID, C.YEAR], as_index=False).sum())
    if not frames:
        return pd.DataFrame(columns=[C.BUILDING_ID, C.YEAR, C.TAX_PAID, "firms"])
    return pd.concat(frames, ignore_index=True)


def reach_probability(*, gap_wan_cny: float, p_land: np.ndarray, tax_wan_cny: np.ndarray) -> float:
    """P(Σ tax of the leads that land ≥ gap) for independent leads (module doc): a distribution
    over sums in whole 万元, capped at the gap. A gap ≤ 0 is reached already."""
    if not np.isfinite(gap_wan_cny):
        raise ValueError(f"gap_wan_cny: must be a number (got {gap_wan_cny})")
    if gap_wan_cny <= 0:
        return 1.0
    cap = int(np.ceil(gap_wan_cny))
    dist = np.zeros(cap + 1)
    dist[0] = 1.0
    for p, t in zip(np.asarray(p_land, float), np.asarray(tax_wan_cny, float), strict=True):
        step = round(max(float(t), 0.0))
        if p <= 0 or step <= 0:
            continue
        shifted = np.zeros_like(dist)
        if step >= cap:
            shifted[cap] = dist.sum()
        else:
            shifted[step:cap] = dist[: cap - step]
            shifted[cap] = dist[cap - step :].sum()
        dist = (1.0 - p) * dist + p * shifted
    return float(dist[cap])


@dataclass(frozen=True)
class YiyuanStatus:
    """The 亿元楼 of a park: per building its tax by year and projection, and the counts."""

    threshold_wan_cny: float
    baseline_year: int
    latest_year: int | None
    buildings: pd.DataFrame  # one row per building (see ``yiyuan``)
    count_baseline: int
    count_now: int
    expected_count_projected: float
    series: list[tuple[int, int]]  # year, buildings over the threshold
    movers: pd.DataFrame  # leads by how much they raise the expected count
    closest: dict[str, pd.DataFrame]  # building_id -> its closest leads (below the threshold)
    tax_by_year: pd.DataFrame  # building × year: its firms' tax (万元)


def yiyuan(
    *,
    space: ParkSpace,
    tax_records: pd.DataFrame,
    threshold_wan_cny: float,
    leads: pd.DataFrame | None = None,
    fit: pd.DataFrame | None = None,
    placement: Placement | None = None,
    closest: int = CLOSEST,
) -> YiyuanStatus:
    """Tax per building over the years, the buildings over the threshold at the baseline and
    now, the projection from the placed leads and each building's closest leads (module doc).
    ``leads``/``fit``/``placement`` come from ``prepare_leads`` / ``building_fit`` /
    ``place_leads``; without them the projection is the count now."""
    base_year = space.park.baseline_year
    years = sorted({int(y) for y in tax_records[C.YEAR].unique() if int(y) >= base_year})
    ids = list(space.buildings.index.astype(str))
    tax = building_tax(tenants=space.tenants, tax_records=tax_records, years=years)
    by_year = (
        tax.pivot_table(index=C.BUILDING_ID, columns=C.YEAR, values=C.TAX_PAID, aggfunc="sum")
        .reindex(index=ids)
        .fillna(0.0)
        if len(tax)
        else pd.DataFrame(index=pd.Index(ids, name=C.BUILDING_ID))
    )
    latest = max(years) if years else None
    at_base = by_year[base_year] if base_year in by_year else pd.Series(0.0, index=ids)
    now = by_year[latest] if latest in by_year else pd.Series(0.0, index=ids)
    over_base = at_base >= threshold_wan_cny
    over_now = now >= threshold_wan_cny
    series = [(y, int((by_year[y] >= threshold_wan_cny).sum())) for y in years if y in by_year]
    p_reach = pd.Series(over_now.astype(float).to_numpy(), index=ids)
    expected_tax = now.copy()
    movers: list[dict[str, object]] = []
    placed_here: dict[str, pd.DataFrame] = {}
    if placement is not None:
        placed = placement.leads[placement.leads[C.BUILDING_ID].notna()]
        for bid, group in placed.groupby(C.BUILDING_ID):
            bid = str(bid)
            placed_here[bid] = group
            # a lead without a tax estimate (a pipeline lead on a firm the model does not score,
            # e.g. one of another track's rules) brings the building no expected tax
            p = np.nan_to_num(group["p_land"].astype(float).to_numpy(), nan=0.0)
            t = np.nan_to_num(group["in_park_tax_p50_wan_cny"].astype(float).to_numpy(), nan=0.0)
            gap = threshold_wan_cny - float(now[bid])
            p_reach[bid] = reach_probability(gap_wan_cny=gap, p_land=p, tax_wan_cny=t)
            expected_tax[bid] = float(now[bid]) + float((p * t).sum())
            for k in range(len(group)):
                rest = np.arange(len(group)) != k
                with_it = reach_probability(
                    gap_wan_cny=gap - t[k], p_land=p[rest], tax_wan_cny=t[rest]
                )
                without = reach_probability(gap_wan_cny=gap, p_land=p[rest], tax_wan_cny=t[rest])
                row = group.iloc[k]
                movers.append(
                    {
                        C.ENTERPRISE_ID: str(row[C.ENTERPRISE_ID]),
                        C.NAME: str(row.get(C.NAME, row[C.ENTERPRISE_ID])),
                        C.BUILDING_ID: bid,
                        "p_land": float(p[k]),
                        "in_park_tax_p50_wan_cny": float(t[k]),
                        "adds": round(float(p[k]) * (with_it - without), 4),
                        **{c: row[c] for c in ("lead_id", C.TRACK, "stage") if c in row},
                    }
                )
    names = space.buildings[C.NAME].astype(str)
    table = pd.DataFrame(
        {
            C.BUILDING_ID: ids,
            C.NAME: names.reindex(ids).to_numpy(),
            "tax_baseline_wan_cny": at_base.reindex(ids).to_numpy(),
            "tax_now_wan_cny": now.reindex(ids).to_numpy(),
            "over_baseline": over_base.reindex(ids).to_numpy(),
            "over_now": over_now.reindex(ids).to_numpy(),
            "expected_tax_projected_wan_cny": expected_tax.reindex(ids).to_numpy(),
            "p_over_projected": p_reach.reindex(ids).to_numpy(),
            "leads_placed": [len(placed_here.get(b, ())) for b in ids],
        }
    )
    near: dict[str, pd.DataFrame] = {}
    if leads is not None and fit is not None:
        for bid in ids:
            gap = threshold_wan_cny - float(now[bid])
            if gap <= 0:
                continue
            rows = fit[(fit[C.BUILDING_ID] == bid) & fit["takes"]]
            if not len(rows):
                continue
            info = leads.iloc[rows["lead_row"].to_numpy()].reset_index(drop=True)
            t = info["in_park_tax_p50_wan_cny"].astype(float).fillna(0.0)  # as placed leads
            p = info["p_land"].astype(float).fillna(0.0)
            cand = pd.DataFrame(
                {
                    C.ENTERPRISE_ID: info[C.ENTERPRISE_ID].astype(str),
                    C.NAME: info[C.NAME].astype(str),
                    "p_land": p,
                    "in_park_tax_p50_wan_cny": t,
                    "tax_if_lands_wan_cny": float(now[bid]) + t,
                    "crosses_alone": float(now[bid]) + t >= threshold_wan_cny,
                    "expected_progress_wan_cny": p * np.minimum(t, gap),
                    "fit": rows["fit"].to_numpy(),
                }
            )
            near[bid] = (
                cand.sort_values(
                    ["expected_progress_wan_cny", C.ENTERPRISE_ID],
                    ascending=[False, True],
                    kind="stable",
                )
                .head(closest)
                .reset_index(drop=True)
            )
    mover_frame = pd.DataFrame(movers)
    if len(mover_frame):
        mover_frame = mover_frame.sort_values(
            ["adds", C.ENTERPRISE_ID], ascending=[False, True], kind="stable"
        ).reset_index(drop=True)
    return YiyuanStatus(
        threshold_wan_cny=threshold_wan_cny,
        baseline_year=base_year,
        latest_year=latest,
        buildings=table,
        count_baseline=int(over_base.sum()),
        count_now=int(over_now.sum()),
        expected_count_projected=round(float(p_reach.sum()), 4),
        series=series,
        movers=mover_frame,
        closest=near,
        tax_by_year=by_year,
    )


def place_landed(
    *,
    landed: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    park: Park,
) -> pd.DataFrame:
    """``building_tenants`` rows for firms the pipeline says landed (enterprise_id, track,
    landed_on; optional unit columns as in ``prepare_leads``), each at the best building with its
    need P50 free from its landing quarter on, in the order they landed — so the tax they pay
    from then on counts for a building, like ``data.universe.with_members`` puts them on the
    roster. Firms already leasing in the park, or that no building takes, get no row."""
    if not len(landed):
        return pd.DataFrame(columns=list(tables["building_tenants"].columns))
    held = tables.get("building_tenants")
    leasing = set() if held is None else set(held[held[C.PARK_ID] == park.id][C.ENTERPRISE_ID])
    todo = landed[~landed[C.ENTERPRISE_ID].isin(leasing)].sort_values("landed_on", kind="stable")
    rows: list[dict[str, object]] = []
    current = dict(tables)
    for record in todo.to_dict("records"):
        day = pd.Timestamp(record["landed_on"])
        lead = pd.DataFrame(
            [{**record, "p_land": 1.0, "tax_p50_wan_cny": 0.0, "stage": "signed"}]
        ).drop(columns=["landed_on"])
        prepared = prepare_leads(leads=lead, tables=current, park=park, today=day.date())
        prepared["land_quarter"] = pd.Series([quarter_of(day)], dtype=object)
        space = park_space(
            park, current, first=quarter_of(day), last=quarter_of(day) + HORIZON_QUARTERS
        )
        fit = building_fit(leads=prepared, space=space)
        best = fit[fit["takes"]].sort_values("rank")
        if not len(best):
            continue
        row = {
            C.PARK_ID: park.id,
            C.BUILDING_ID: str(best[C.BUILDING_ID].iloc[0]),
            C.ENTERPRISE_ID: str(record[C.ENTERPRISE_ID]),
            C.AREA: round(float(prepared["need_m2_p50"].iloc[0]), 1),
            C.SINCE: day.normalize(),
            C.UNTIL: pd.NaT,
        }
        rows.append(row)
        tenants = current.get("building_tenants")
        current["building_tenants"] = pd.concat(
            [tenants, pd.DataFrame([row])] if tenants is not None else [pd.DataFrame([row])],
            ignore_index=True,
        )
    return pd.DataFrame(
        rows, columns=[C.PARK_ID, C.BUILDING_ID, C.ENTERPRISE_ID, C.AREA, C.SINCE, C.UNTIL]
    )


# --------------------------------------------------------------------------------------------
# the views the service shows: one report, read by the list of buildings, a building's page and
# a lead's space card


@dataclass(frozen=True)
class SpaceReport:
    """Everything the 载体 pages and a lead's space card read, computed once: the park's space,
    the leads prepared and fitted (list leads and open pipeline leads together), the pipeline's
    placement and the 亿元楼 status."""

    space: ParkSpace
    leads: (
        pd.DataFrame
    )  # prepare_leads of candidates ∪ open leads; ``in_pipeline`` marks the latter
    fit: pd.DataFrame
    placement: Placement
    status: YiyuanStatus
    today: date

    @cached_property
    def building_names(self) -> dict[str, object]:
        """Each building's name by id (a lead's card names the buildings it shows)."""
        names = self.space.buildings[C.NAME].astype(str)
        return {str(k): v for k, v in names.items()}

    @cached_property
    def lead_rows(self) -> dict[str, int]:
        """Each lead's first row in ``leads`` (a lead's card looks its firm up here)."""
        ids = self.leads[C.ENTERPRISE_ID].astype(str).tolist()
        rows: dict[str, int] = {}
        for i, e in enumerate(ids):
            rows.setdefault(e, i)
        return rows


def yiyuan_threshold(park: Park) -> float:
    """The tax a building's firms pay for it to count: the park's ``new_buildings_over`` KPI's
    ``min_tax_wan_cny``, else the plan's 亿元楼 (10,000 万元 = 1 亿元)."""
    for kpi in park.kpi_targets:
        if kpi.measure is not None and kpi.measure.min_tax_wan_cny is not None:
            return float(kpi.measure.min_tax_wan_cny)
    return 10_000.0


def space_report(
    *,
    park: Park,
    tables: Mapping[str, pd.DataFrame],
    today: date,
    candidates: pd.DataFrame,
    open_leads: pd.DataFrame,
) -> SpaceReport:
    """The report behind the 载体 pages (``SpaceReport``). ``candidates``: list leads of the
    tracks (``LEAD_REQUIRED`` columns and ``value_wan_cny`` — their score); ``open_leads``:
    the pipeline's open leads (also ``stage``, ``lead_id``). A firm in both is taken once, as
    the pipeline has it; only open leads are placed for the projection."""
    space = park_space(
        park,
        tables,
        first=quarter_of(date(park.baseline_year, 12, 31)),
        last=quarter_of(today) + HORIZON_QUARTERS,
    )
    pipeline = open_leads.assign(in_pipeline=True)
    listed = candidates[~candidates[C.ENTERPRISE_ID].isin(set(pipeline[C.ENTERPRISE_ID]))]
    both = pd.concat([pipeline, listed.assign(in_pipeline=False)], ignore_index=True)
    both = both.drop_duplicates(C.ENTERPRISE_ID).reset_index(drop=True)
    if "stage" in both:
        both["stage"] = both["stage"].fillna("new")
    leads = prepare_leads(leads=both, tables=tables, park=park, today=today)
    fit = building_fit(leads=leads, space=space)
    in_pipeline = leads["in_pipeline"].astype(bool).to_numpy()
    open_rows = np.flatnonzero(in_pipeline)
    open_fit = fit[fit["lead_row"].isin(set(open_rows))].copy()
    renumber = {int(r): k for k, r in enumerate(open_rows)}
    open_fit["lead_row"] = open_fit["lead_row"].map(renumber)
    placement = place_leads(
        leads=leads.iloc[open_rows].reset_index(drop=True), fit=open_fit, space=space
    )
    status = yiyuan(
        space=space,
        tax_records=tables["tax_records"],
        threshold_wan_cny=yiyuan_threshold(park),
        leads=leads,
        fit=fit,
        placement=placement,
    )
    return SpaceReport(
        space=space, leads=leads, fit=fit, placement=placement, status=status, today=today
    )


def building_table(report: SpaceReport) -> pd.DataFrame:
    """One row per building for the 载体 list: kind (zh/en), areas, occupancy and free area now
    and in a year, rent band, purpose, tax at the baseline and now, whether it pays ≥ the
    threshold then and now, and its chance of doing so with the placed pipeline."""
    space, status = report.space, report.status
    cfg = _space(space.park)
    b = space.buildings
    here = quarter_of(report.today)
    now_q = min(max(here, space.quarters[0]), space.quarters[-1])
    year_q = min(here + 4, space.quarters[-1])
    occupancy = space.occupancy()
    out = pd.DataFrame(
        {
            C.BUILDING_ID: b.index.astype(str),
            C.NAME: b[C.NAME].astype(str).to_numpy(),
            C.CARRIER: b[C.CARRIER].to_numpy(),
            C.BUILDING_KIND: b[C.BUILDING_KIND].astype(str).to_numpy(),
            "kind_zh": [cfg.kinds[k].name_zh for k in b[C.BUILDING_KIND].astype(str)],
            "kind_en": [cfg.kinds[k].name_en for k in b[C.BUILDING_KIND].astype(str)],
            C.FLOOR_AREA: b[C.FLOOR_AREA].astype(float).to_numpy(),
            C.LETTABLE_AREA: b[C.LETTABLE_AREA].astype(float).to_numpy(),
            C.COMPLETED_ON: b[C.COMPLETED_ON].to_numpy(),
            "occupied_m2": space.occupied[now_q].to_numpy(),
            "free_now_m2": space.free[now_q].to_numpy(),
            "occupancy_now": occupancy[now_q].to_numpy(),
            "free_in_a_year_m2": space.free[year_q].to_numpy(),
            C.RENT_LOW: b[C.RENT_LOW].to_numpy(),
            C.RENT_HIGH: b[C.RENT_HIGH].to_numpy(),
            C.CHAINS: b[C.CHAINS].to_numpy(),
            C.TRACKS: b[C.TRACKS].to_numpy(),
        }
    )
    tax = status.buildings.drop(columns=[C.NAME])
    return out.merge(tax, on=C.BUILDING_ID, how="left")


def building_detail(
    report: SpaceReport,
    building_id: str,
    *,
    order: str = "value",
    top: int = 20,
) -> dict[str, object]:
    """A building's page: its row of ``building_table``, occupancy and free area by quarter, tax
    by year, its tenants now (with their leased area and latest tax), the leads that would fill
    it (by ``order``: value or fit), the pipeline placed in it and its closest leads to the
    threshold. A building the park does not hold is a KeyError naming it."""
    space = report.space
    if building_id not in space.buildings.index:
        raise KeyError(f"building {building_id!r} is not one of the park's buildings")
    row = building_table(report).set_index(C.BUILDING_ID).loc[building_id]
    quarters = [str(q) for q in space.quarters]
    tenants = space.tenants[space.tenants[C.BUILDING_ID].astype(str) == building_id]
    ends = pd.Timestamp(quarter_of(report.today).end_time).normalize()
    current = tenants[
        (pd.to_datetime(tenants[C.SINCE]) <= ends)
        & (tenants[C.UNTIL].isna() | (pd.to_datetime(tenants[C.UNTIL]) > ends))
    ]
    by_year = report.status.tax_by_year
    placed = report.placement.leads
    return {
        "building": {str(k): v for k, v in row.items()} | {C.BUILDING_ID: building_id},
        "quarters": quarters,
        "occupancy": space.occupancy().loc[building_id].to_numpy(float).tolist(),
        "occupied_m2": space.occupied.loc[building_id].to_numpy(float).tolist(),
        "free_m2": space.free.loc[building_id].to_numpy(float).tolist(),
        "tax_by_year": [
            (int(str(y)), float(v))
            for y, v in zip(by_year.columns, by_year.loc[building_id].to_numpy(float), strict=True)
        ],
        "tenants": current[[C.ENTERPRISE_ID, C.AREA, C.SINCE]].reset_index(drop=True),
        "leads": leads_for_building(
            fit=report.fit,
            leads=report.leads,
            space=space,
            building_id=building_id,
            order=order,
            top=top,
        ),
        "placed": placed[placed[C.BUILDING_ID] == building_id].reset_index(drop=True),
        "closest": report.status.closest.get(building_id),
    }


def lead_space(report: SpaceReport, enterprise_id: str, *, top: int = 5) -> dict[str, object]:
    """A lead's space card: its unit (kind, staff P10/P50/P90, where the figures come from), its
    need in m² P10/P50/P90, the quarter it would land and the buildings that would take it, best
    first with why (or the nearest ones with why not). A firm not among the report's leads is a
    KeyError naming it."""
    i = report.lead_rows.get(enterprise_id)
    if i is None:
        raise KeyError(f"{enterprise_id} is not one of the leads the space report was made for")
    lead = report.leads.iloc[i]
    return {
        C.ENTERPRISE_ID: enterprise_id,
        "unit_kind": str(lead["unit_kind"]),
        "unit_source": str(lead["unit_source"]),
        **{c: float(lead[c]) for c in (*UNIT_COLUMNS[1:], *NEED_COLUMNS)},
        "land_quarter": str(lead["land_quarter"]),
        "buildings": buildings_for_lead(
            fit=report.fit, leads=report.leads, space=report.space, lead_row=i, top=top
        ),
    }
