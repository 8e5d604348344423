"""The contact plan backtested on the demo's plan period: the 2021–2025 simulation
(``api.demo.plan_period``) run twice at the same capacity and seed — once with the officers
working today's value-only lists, once with the contact plan's lists — each into a pipeline of
its own, the firms deciding by the generator's truth. Each run reports every KPI's value at
the end of 2025 (the roster with the run's landed firms, the park's tax records of 2020 and
before plus the run's 2021–2025 records), the chain links no longer a gap (covered: at least half their
target) and the gap links' shortfall, the park's tax in 2025 and the landings.

Same capacity: each track works ``capacity × contact quarters`` firms in both runs, each firm on
one track: the plan's schedule in its order, and the value-only list — the offered leads by
score, ``capacity`` a quarter per track (``models.contact_plan.value_only_schedule``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from api.crm.migrate import open_database
from api.crm.tables import landed_firms
from api.demo.plan_period import simulate_plan_period
from api.serving.plan import contact_plan
from api.serving.state import ServiceState
from data import columns as C
from data.universe import with_members
from industry_graph.kpis import OPEN_LEAD_COLUMNS, measure_kpis, park_facts
from industry_graph.targets import plan_targets

END = date(2025, 12, 31)


@dataclass(frozen=True)
class BacktestRun:
    """One list's 2021–2025: KPIs in 2025, links at target, tax 2025 and landings."""

    lists: str  # "plan" or "value"
    leads: int
    landed: int
    kpis: dict[str, float | None]  # KPI id -> its value at the end of 2025
    kpis_met: list[str]  # KPIs at or above the low end of their target
    links_covered: int  # chain links no longer a gap (at least half their target: covered)
    link_shortfall: float  # Σ firms the gap links are short of their targets
    tax_2025_wan_cny: float | None


@dataclass(frozen=True)
class Backtest:
    """Both runs and the capacity they shared."""

    capacity: dict[str, int]
    per_track: int
    seed: int
    value: BacktestRun
    plan: BacktestRun
    targets: dict[str, tuple[float, float]]  # KPI id -> (low, high)


def plan_lists(
    state: ServiceState, factory: sessionmaker[Session], capacity: int
) -> tuple[dict[str, list[str]], dict[str, list[str]], int, dict[str, int]]:
    """Each track's firms in the order the plan contacts them, the value-only list's (the
    offered leads by score, capacity a quarter, a firm once), the firms a track works and the
    capacity used."""
    served = contact_plan(state, factory, capacity=capacity)
    plan = served.plan
    c = plan.candidates
    quarter = plan.plan.quarter
    lists: dict[str, list[str]] = {}
    for track in plan.settings.capacity:
        rows = np.flatnonzero((c.track == track) & (quarter >= 0))
        x = plan.x[rows, quarter[rows]]
        order = rows[np.lexsort((-x, quarter[rows]))]
        lists[track] = [str(e) for e in c.enterprise_id[order]]
    per_track = capacity * plan.settings.contact_quarters
    return lists, plan.value_only_lists, per_track, dict(plan.settings.capacity)


def _run(
    state: ServiceState,
    oracle: pd.DataFrame,
    *,
    kind: str,
    lists: Mapping[str, list[str]] | None,
    per_track: int,
    seed: int,
    folder: Path,
) -> BacktestRun:
    assert state.park is not None and state.as_of is not None
    park = state.park
    url = f"sqlite:///{folder / f'backtest-{kind}.db'}"
    engine = open_database(url)
    try:
        history = simulate_plan_period(
            state,
            sessionmaker(engine, expire_on_commit=False),
            oracle,
            seed=seed,
            per_track=per_track,
            lists=lists,
        )
    finally:
        engine.dispose()
    landed = landed_firms(url, park.id)
    tables = dict(state.tables)
    tables["park_roster"] = with_members(tables["park_roster"], park.id, landed)
    old = tables["tax_records"]
    tables["tax_records"] = pd.concat(
        [old[old[C.YEAR].astype(int) <= state.as_of.year], history.tax_records],
        ignore_index=True,
    )
    facts = park_facts(park, tables)
    statuses = measure_kpis(facts, tables, pd.DataFrame(columns=list(OPEN_LEAD_COLUMNS)), today=END)
    kpis = {k.id: k.now for k in statuses}
    met = [k.id for k in statuses if k.now is not None and k.now >= k.target_low]
    targets = plan_targets(facts, state.chains, tables, None, today=END)
    link_targets = [t for t in targets if t.kind == "link"]  # the gaps (not covered) only
    all_links = sum(len(state.chains[t.id].links) for t in park.chains if t.id in state.chains)
    tax = facts.levels["tax"] if "tax" in facts.levels else pd.Series(dtype=float)
    return BacktestRun(
        lists=kind,
        leads=history.leads,
        landed=history.landed,
        kpis=kpis,
        kpis_met=met,
        links_covered=all_links - len(link_targets),
        link_shortfall=round(sum(t.shortfall for t in link_targets), 2),
        tax_2025_wan_cny=float(tax.loc[2025]) if 2025 in tax.index else None,
    )


def backtest(
    state: ServiceState,
    factory: sessionmaker[Session],
    oracle: pd.DataFrame,
    *,
    capacity: int,
    seed: int,
) -> Backtest:
    """Both runs (module doc). ``state`` is loaded over an empty pipeline (``factory``'s)."""
    assert state.park is not None
    lists, value_lists, per_track, caps = plan_lists(state, factory, capacity)
    with tempfile.TemporaryDirectory(prefix="attract-backtest-") as tmp:
        folder = Path(tmp)
        value = _run(
            state,
            oracle,
            kind="value",
            lists=value_lists,
            per_track=per_track,
            seed=seed,
            folder=folder,
        )
        plan = _run(
            state, oracle, kind="plan", lists=lists, per_track=per_track, seed=seed, folder=folder
        )
    return Backtest(
        capacity=caps,
        per_track=per_track,
        seed=seed,
        value=value,
        plan=plan,
        targets={k.id: k.target_range for k in state.park.kpi_targets},
    )
