"""The plan's KPIs, chain coverage over time and realised-against-predicted tax."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import GraphDep, OfficerDep, SessionsDep
from api.schemas import CoveragePublic, KpisPublic, RealisedPublic
from api.serving.kpis import kpi_statuses, link_coverage, realised

router = APIRouter(tags=["plan"])


@router.get("/kpis", response_model=KpisPublic)
async def get_kpis(state: GraphDep, sessions: SessionsDep, _key: OfficerDep) -> dict[str, Any]:
    """Each KPI of the park's plan: baseline, now, target, the projection if the open pipeline
    lands at its P(land), a yearly series and the open leads that would move it most. A KPI the
    service holds no data for says why (``not_held``) and has no figures."""
    assert state.park is not None
    today = date.today()
    statuses = await run_in_threadpool(kpi_statuses, state, sessions, today=today)
    return {
        "park": state.park.id,
        "baseline_year": state.park.baseline_year,
        "as_of": today,
        "kpis": [k.to_dict() for k in statuses],
    }


@router.get("/kpis/coverage", response_model=CoveragePublic)
async def get_coverage(state: GraphDep, _key: OfficerDep) -> dict[str, Any]:
    """Each link of the park's chains at the plan's baseline and now: presence, coverage of its
    target, gap type, and the firms that entered since (who closed a gap)."""
    assert state.park is not None
    links = await run_in_threadpool(link_coverage, state)
    return {"park": state.park.id, "baseline_year": state.park.baseline_year, "links": links}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@router.get("/monitor/realised", response_model=RealisedPublic)
async def get_realised(state: GraphDep, sessions: SessionsDep, _key: OfficerDep) -> dict[str, Any]:
    """Realised against predicted tax of the landed firms: per model version and track the
    share whose tax after landing fell in the P10–P90 band stored with the lead (nominal 80 %),
    the share within ×2 of P50 and the median realised / P50; and each firm."""
    assert state.park is not None
    result = await run_in_threadpool(realised, state, sessions)
    firms = result.firms.copy()
    firms["landed_on"] = firms["landed_on"].map(lambda d: d if isinstance(d, date) else d.date())
    return {
        "park": state.park.id,
        "landed": result.landed,
        "measured": len(firms),
        "coverage_warning_below": state.park.monitoring.coverage_warning_below,
        "groups": [
            {k: _finite(v) for k, v in row.items()} for row in result.summary.to_dict("records")
        ],
        "firms": firms.to_dict("records"),
        "warnings": [d.message() for d in result.drifts],
    }
