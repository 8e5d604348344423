"""The demo's carriers in figures: buildings and areas, occupancy, tax per building, the 亿元楼 at
the baseline and now, and the KPI with its projection — the figures of the README's space
section, measured on a universe folder (and, when given, the service database's pipeline).

    python -m bench.space_figures --data .attract/demo [--database sqlite:///.attract/service.db]
        [--today 2025-10-31]

With a database, the firms the pipeline says landed are placed in the buildings that take them
on the day they landed (``industry_graph.space.place_landed``: what the service does when it
loads the universe), and the open leads give the projection.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from data import columns as C
from data.reference import default_parks
from data.universe import load_universe, with_members
from industry_graph.kpis import measure_kpis, park_facts
from industry_graph.space import building_tax, park_space, place_landed, quarter_of


def _pipeline(url: str, park: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from api.crm.tables import PipelineLead, landed_leads, make_engine
    from data.pipeline import OPEN_STAGES

    engine = make_engine(url)
    with Session(engine) as s:
        landed = pd.DataFrame(landed_leads(s, park))
        rows = s.execute(
            select(
                PipelineLead.id,
                PipelineLead.enterprise_id,
                PipelineLead.track,
                PipelineLead.stage,
                PipelineLead.p_land,
                PipelineLead.tax_p50_wan_cny,
            ).where(PipelineLead.park_id == park, PipelineLead.stage.in_(OPEN_STAGES))
        ).all()
    engine.dispose()
    open_leads = pd.DataFrame(
        rows, columns=["lead_id", C.ENTERPRISE_ID, C.TRACK, "stage", "p_land", "tax_p50_wan_cny"]
    )
    return landed, open_leads


def main() -> None:
    """Print the figures (module doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--database", default=None)
    parser.add_argument("--today", default="2025-10-31")
    parser.add_argument("--park", default="shibei")
    args = parser.parse_args()
    park = default_parks()[args.park]
    today = date.fromisoformat(args.today)
    tables = dict(load_universe(args.data))
    b = tables["park_buildings"]
    b = b[b[C.PARK_ID] == park.id]
    completed = pd.to_datetime(b[C.COMPLETED_ON]).dt.year
    groups = {
        "before 2016 (older stock)": completed < 2016,
        "2016–2020 (13th plan)": completed.between(2016, 2020),
        "2021–2025 (14th plan)": completed > 2020,
    }
    print(f"buildings: {len(b)}; carriers: {b[C.CARRIER].nunique()}")
    for label, mask in groups.items():
        print(
            f"  {label}: {int(mask.sum())} buildings, floor {b.loc[mask, C.FLOOR_AREA].sum():,.0f} m², "
            f"lettable {b.loc[mask, C.LETTABLE_AREA].sum():,.0f} m²"
        )
    base_q = quarter_of(date(park.baseline_year, 12, 31))
    open_leads = pd.DataFrame(
        columns=["lead_id", C.ENTERPRISE_ID, C.TRACK, "stage", "p_land", "tax_p50_wan_cny", C.NAME]
    )
    if args.database:
        landed, open_leads = _pipeline(args.database, park.id)
        names = tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
        open_leads[C.NAME] = open_leads[C.ENTERPRISE_ID].map(names)
        if len(landed):
            first = landed.sort_values("landed_on").drop_duplicates(C.ENTERPRISE_ID)
            entered = dict(zip(first[C.ENTERPRISE_ID], first["landed_on"], strict=True))
            tables["park_roster"] = with_members(tables["park_roster"], park.id, entered)
            rows = place_landed(
                landed=first[[C.ENTERPRISE_ID, C.TRACK, "landed_on"]], tables=tables, park=park
            )
            tables["building_tenants"] = pd.concat(
                [tables["building_tenants"], rows], ignore_index=True
            )
            print(f"landed firms: {len(first)}; placed in a building: {len(rows)}")
    space = park_space(park, tables, first=base_q, last=quarter_of(today) + 4)
    for q in (base_q, quarter_of(today)):
        occ = space.occupied[q].sum() / space.available[q][space.available[q] > 0].sum()
        print(
            f"  {q}: let {space.occupied[q].sum():,.0f} m² of {space.available[q].sum():,.0f} m² "
            f"({occ:.1%}); free {space.free[q].sum():,.0f} m²"
        )
    years = sorted(int(y) for y in tables["tax_records"][C.YEAR].unique())
    tax = building_tax(
        tenants=space.tenants, tax_records=tables["tax_records"], years=years
    ).pivot_table(index=C.BUILDING_ID, columns=C.YEAR, values=C.TAX_PAID, aggfunc="sum")
    for year in (park.baseline_year, years[-1]):
        t = tax[year].dropna() if year in tax else pd.Series(dtype=float)
        qs = np.quantile(t, [0.1, 0.5, 0.9]) if len(t) else [np.nan] * 3
        print(
            f"  tax per building {year}: {len(t)} buildings with tenants, Σ {t.sum():,.0f} 万元, "
            f"P10/P50/P90 {qs[0]:,.0f} / {qs[1]:,.0f} / {qs[2]:,.0f} 万元, ≥ 1 亿元: {(t >= 10_000).sum()}"
        )
    kpi_park = park.model_copy(
        update={"kpi_targets": tuple(k for k in park.kpi_targets if k.id == "new_yiyuan_buildings")}
    )
    [kpi] = measure_kpis(park_facts(kpi_park, tables), tables, open_leads, today=today)
    print(
        f"KPI {kpi.name_zh}: baseline {kpi.level_baseline} buildings ({park.baseline_year}); now "
        f"{kpi.level_now} ({kpi.now_year}) → new {kpi.now}; target {kpi.target_low}; projected "
        f"{kpi.projected} (expected count {kpi.level_projected}); status {kpi.status}"
    )
    for mover in kpi.movers:
        print(f"  mover: {mover}")


if __name__ == "__main__":
    main()
