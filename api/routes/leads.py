"""Ranked leads, their export, and what-if scoring."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import ContactedDep, OfficerDep, RecentDep, ServingDep, SessionsDep, TrackDep
from api.schemas import LeadsPublic, OneOf, ScoreRequest, ScoresPublic
from api.serving.export import export_response
from api.serving.lead_table import LeadFilters
from api.serving.leads import (
    EXPORT_COLUMNS,
    export_about,
    export_rows,
    page_of,
    score_firms,
    select_page,
)
from api.serving.offered import INCLUDABLE

router = APIRouter(tags=["leads"])

Chain = Annotated[str | None, Query(max_length=64, description="chain id, e.g. big_data")]
Link = Annotated[str | None, Query(max_length=100, description="link id, e.g. big_data.security")]
Place = Annotated[str | None, Query(max_length=40)]
MinTax = Annotated[float | None, Query(ge=0, description="minimum tax P50, 万元")]
MinP = Annotated[float | None, Query(ge=0, le=1, description="minimum P(land)")]
Q = Annotated[str | None, Query(max_length=100, description="name contains")]


Include = Annotated[
    list[Annotated[str, OneOf(INCLUDABLE)]] | None,
    Query(
        description="groups a list leaves out by default to bring back: firms already signed, "
        "open in the pipeline, or that declined within the park's cool-off"
    ),
]


async def lead_filters(
    chain: Chain = None,
    link: Link = None,
    province: Place = None,
    city: Place = None,
    min_tax: MinTax = None,
    min_probability: MinP = None,
    exclude_contacted: bool = False,
    q: Q = None,
    include: Include = None,
) -> LeadFilters:
    """The lead-list filters, shared by the list and its export."""
    return LeadFilters(
        chain=chain,
        link=link,
        province=province,
        city=city,
        min_tax=min_tax,
        min_probability=min_probability,
        exclude_contacted=exclude_contacted,
        q=q,
        include=tuple(include or ()),
    )


FiltersDep = Annotated[LeadFilters, Depends(lead_filters)]


@router.get("/leads", response_model=LeadsPublic)
async def get_leads(
    state: ServingDep,
    recorded: ContactedDep,
    recent: RecentDep,
    sessions: SessionsDep,
    _key: OfficerDep,
    track: TrackDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, object]:
    """A page of the track's leads, best first, with reasons; ties are broken by enterprise id.
    Each lead's plan value comes from the contact plan at the YAML's capacity, solved in the
    background after the first request of a load (``None`` until then)."""
    from api.serving.plan import prices_soon

    prices_soon(state, sessions)
    # in-memory numpy work runs on the event loop (no thread hop); the database only in a thread
    contacted = await run_in_threadpool(recorded.get) if filters.exclude_contacted else ()
    positions, total = select_page(
        state,
        track=track,
        filters=filters,
        contacted=contacted,
        recent=recent.since(state.started_at),
        stop=offset + limit,
    )
    page = partial(
        page_of, state, track=track, positions=positions, limit=limit, offset=offset, total=total
    )
    if state.leads[track].missing_reasons(positions[offset : offset + limit]):
        return await run_in_threadpool(page)  # slow path: off the loop
    return page()


@router.get(
    "/leads/export",
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        }
    },
)
def export_leads(
    state: ServingDep,
    recorded: ContactedDep,
    recent: RecentDep,
    _key: OfficerDep,
    track: TrackDep,
    filters: FiltersDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    lang: Annotated[Literal["zh", "en"], Query(description="Excel column names")] = "zh",
) -> Response:
    """The filtered leads as CSV (machine column names) or Excel (the page's column names in
    ``lang``, formatted, with a sheet saying what was exported); first 10,000 rows; cells are
    safe to open in Excel."""
    contacted = recorded.get() if filters.exclude_contacted else ()
    rows, total = export_rows(
        state,
        track=track,
        filters=filters,
        contacted=contacted,
        recent=recent.since(state.started_at),
    )
    response = export_response(
        rows,
        EXPORT_COLUMNS,
        name=f"leads-{track}-{state.snapshot_id}",
        format=format,
        lang=lang,
        about=export_about(state, track, filters, total),
        total=total,
    )
    response.headers["X-Exported-Rows"] = str(len(rows))
    return response


@router.post("/score", response_model=ScoresPublic)
def post_score(request: ScoreRequest, state: ServingDep, _key: OfficerDep) -> dict[str, object]:
    """Score up to 1,000 firms given in the contract's form as what-if leads."""
    assert state.model is not None
    return {
        "items": score_firms(state, request.firms, request.track, request.landing_form),
        "model_version": state.model.version,
        "snapshot_id": state.snapshot_id,
    }
