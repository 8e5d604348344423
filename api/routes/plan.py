"""The contact plan (``models.contact_plan``): targets, prices and this quarter's lists."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import OfficerDep, ServingDep, SessionsDep
from api.schemas import PlanPublic
from api.serving.export import XLSX_TYPE
from api.serving.plan import contact_plan, plan_report, plan_xlsx

router = APIRouter(tags=["plan"])
Capacity = Annotated[
    int | None, Query(gt=0, le=10_000, description="first contacts a quarter per track")
]
Horizon = Annotated[
    int | None, Query(gt=0, le=80, description="quarters from the as-of date (default: the plan's)")
]


@router.get("/plan", response_model=PlanPublic)
async def get_plan(
    state: ServingDep,
    sessions: SessionsDep,
    _key: OfficerDep,
    capacity: Capacity = None,
    horizon: Horizon = None,
    top: Annotated[int, Query(gt=0, le=10_000)] = 50,
) -> dict[str, Any]:
    """Per countable target its shortfall, the expected firms the plan and the value-only list
    add at the same capacity, the tax given up and the price of one more firm; the tax of both
    lists; and the first quarter's list per track (``top`` firms each) with plan values. A
    capacity ≤ 0 or a horizon past the plan is a 422 naming the field."""
    assert state.park is not None
    served = await run_in_threadpool(
        contact_plan, state, sessions, capacity=capacity, quarters=horizon
    )
    return {"park": state.park.id, **plan_report(served, top=top)}


@router.get("/plan/export", responses={200: {"content": {XLSX_TYPE: {}}}})
async def export_plan(
    state: ServingDep,
    sessions: SessionsDep,
    _key: OfficerDep,
    capacity: Capacity = None,
    horizon: Horizon = None,
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """The plan as an Excel workbook: targets, each track's list for the first quarter, settings."""
    assert state.park is not None
    served = await run_in_threadpool(
        contact_plan, state, sessions, capacity=capacity, quarters=horizon
    )
    body = plan_xlsx(plan_report(served), lang=lang)
    name = f"plan-{state.park.id}-{served.first_quarter}.xlsx"
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
