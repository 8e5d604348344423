"""The contact plan for the served park (``models.contact_plan``): its candidates are the lead
tables' offered leads (the firms the lists offer — signed, open in the pipeline or lately
declined left out), with the P(land), tax P50 and in-park share the tables hold; its targets
the plan's countable targets as of the data's date (``industry_graph.targets``, the open
pipeline counted at its stage's P(land)). Kept until the state is reloaded or the pipeline
changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from api.errors import InvalidInput
from api.serving.kpis import _loaded, _memo, open_leads, pipeline_marker
from api.serving.lead_table import LeadFilters
from api.serving.leads import select_leads
from api.serving.state import ServiceState
from data import columns as C
from industry_graph.kpis import park_facts
from industry_graph.targets import plan_targets, target_matrix
from models.contact_plan import (
    Candidates,
    ContactPlan,
    PlanInputError,
    PlanSettings,
    PlanTarget,
    check_settings,
    horizon_quarters,
    make_plan,
    quarter_label,
)


@dataclass(frozen=True)
class ServedPlan:
    """A plan with what the views show of it."""

    plan: ContactPlan
    first_quarter: str  # e.g. 2021Q1
    as_of: str
    max_quarters: int


def plan_settings(
    state: ServiceState,
    *,
    capacity: int | Mapping[str, int] | None = None,
    quarters: int | None = None,
) -> tuple[PlanSettings, int]:
    """The park YAML's plan settings with the overrides (one capacity for every track, or per
    track), checked (``InvalidInput`` naming the field); and the most quarters the plan allows."""
    assert state.park is not None and state.as_of is not None
    block = state.park.contact_plan
    if block is None:
        raise InvalidInput(f"park: {state.park.id} has no contact_plan block in its YAML")
    as_of = state.as_of.date()
    most = horizon_quarters(as_of, block.end_year, block.rolling_quarters)
    if capacity is None:
        caps = dict(block.capacity_per_quarter)
    elif isinstance(capacity, int):
        caps = dict.fromkeys(block.capacity_per_quarter, capacity)
    else:
        caps = {**block.capacity_per_quarter, **capacity}
    settings = PlanSettings(
        capacity=caps,
        quarters=most if quarters is None else quarters,
        quarters_to_land=block.quarters_to_land,
        penalty=block.shortfall_penalty_wan_cny,
        candidates_per_track=block.candidates_per_track,
    )
    try:
        check_settings(settings, list(state.park.tracks), max_quarters=most)
    except PlanInputError as exc:
        raise InvalidInput(str(exc)) from exc
    return settings, most


def plan_candidates(state: ServiceState, targets: list[PlanTarget]) -> Candidates:
    """Every track's offered leads, one row per firm and track."""
    assert state.park is not None
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("id", "name", "track", "p", "tax", "s")}
    for track, table in state.leads.items():
        rows = select_leads(state, track=track, filters=LeadFilters(), contacted=())
        ids = table.column(C.ENTERPRISE_ID)
        names = table.column(C.NAME)
        p = table.column("p_land")
        tax = table.column("tax_p50_wan_cny")
        score = table.column("score")
        assert ids is not None and names is not None and p is not None
        assert tax is not None and score is not None
        share = table.column("in_park_tax_share")
        in_park = np.ones(len(ids)) if share is None else np.asarray(share, dtype=float)
        parts["id"].append(ids[rows].astype(str))
        parts["name"].append(names[rows].astype(str))
        parts["track"].append(np.full(len(rows), track, dtype=object))
        parts["p"].append(np.asarray(p, dtype=float)[rows])
        parts["tax"].append(np.clip(np.asarray(tax, dtype=float)[rows] * in_park[rows], 0, None))
        parts["s"].append(np.asarray(score, dtype=float)[rows])
    ids = np.concatenate(parts["id"]).astype(object)
    counts = target_matrix(
        state.park,
        targets,
        pd.Series(ids),
        state.tables,
    )
    return Candidates(
        enterprise_id=ids,
        name=np.concatenate(parts["name"]).astype(object),
        track=np.concatenate(parts["track"]).astype(object),
        p_land=np.nan_to_num(np.concatenate(parts["p"])),
        tax_wan_cny=np.nan_to_num(np.concatenate(parts["tax"])),
        score=np.nan_to_num(np.concatenate(parts["s"])),
        counts=counts,
    )


def the_targets(state: ServiceState, factory: sessionmaker[Session]) -> list[PlanTarget]:
    """The park's countable targets now, with the YAML's price floors."""
    assert state.park is not None and state.as_of is not None
    park = state.park
    floors = park.contact_plan.price_floor_wan_cny if park.contact_plan else {}

    def make() -> list[PlanTarget]:
        assert state.park is not None and state.as_of is not None
        facts = _memo.get(("facts", _loaded(state)), lambda: park_facts(park, state.tables))
        return [
            PlanTarget(
                id=t.id,
                kind=t.kind,
                name_zh=t.name_zh,
                name_en=t.name_en,
                target=t.target,
                expected_now=t.expected,
                shortfall=t.shortfall,
                price_floor=float(floors.get(t.id, 0.0)),
            )
            for t in plan_targets(
                facts,
                state.chains,
                state.tables,
                open_leads(state, factory),
                today=state.as_of.date(),
            )
        ]

    return _memo.get(("plan-targets", _loaded(state), *pipeline_marker(factory, park.id)), make)


def contact_plan(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    capacity: int | Mapping[str, int] | None = None,
    quarters: int | None = None,
) -> ServedPlan:
    """The plan at the YAML's capacity or the one given (see the module doc)."""
    assert state.park is not None and state.as_of is not None
    settings, most = plan_settings(state, capacity=capacity, quarters=quarters)
    targets = the_targets(state, factory)
    key = (
        "plan",
        _loaded(state),
        *pipeline_marker(factory, state.park.id),
        tuple(sorted(settings.capacity.items())),
        settings.quarters,
    )

    def make() -> ServedPlan:
        assert state.as_of is not None
        plan = make_plan(plan_candidates(state, targets), targets, settings)
        return ServedPlan(
            plan=plan,
            first_quarter=quarter_label(state.as_of.date()),
            as_of=str(state.as_of.date()),
            max_quarters=most,
        )

    return _memo.get(key, make)
