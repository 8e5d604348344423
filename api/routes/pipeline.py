"""The lead pipeline: leads by stage with owners and follow-ups, updates with versions, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from api.crm import pipeline as service
from api.crm.pipeline import UNSET, Change, PipelineQuery
from api.deps import GraphDep, OfficerDep, RecentDep, SessionsDep, WriterDep
from api.schemas import (
    PipelineEventPublic,
    PipelineIn,
    PipelineLeadPublic,
    PipelineListPublic,
    PipelinePatch,
    Stage,
    Track,
)

LeadId = Annotated[int, Path(ge=1, le=2_147_483_647, description="the lead's id")]
router = APIRouter(
    tags=["pipeline"],
    responses={
        403: {"description": "a role that may not do this, or another officer's lead"},
        404: {"description": "no such lead or enterprise"},
    },
)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "stale version, or the firm is already on the pipeline"}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "another officer's lead, or a role that may not write"}
}


@router.get("/pipeline", response_model=PipelineListPublic)
async def get_pipeline(
    state: GraphDep,
    sessions: SessionsDep,
    caller: OfficerDep,
    owner: Annotated[
        str | None, Query(max_length=40, description="a username, `me`, or empty for unassigned")
    ] = None,
    stage: Stage | None = None,
    track: Track | None = None,
    due_by: Annotated[date | None, Query(description="follow-ups on or before this day")] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, object]:
    """The park's pipeline: due and overdue follow-ups first, then the most recently changed."""
    query = PipelineQuery(
        owner=caller.username if owner == "me" else owner,
        stage=stage,
        track=track,
        due_by=due_by,
        open_only=open_only,
    )
    return await run_in_threadpool(
        service.list_leads, state, sessions, query, limit=limit, offset=offset
    )


@router.post(
    "/pipeline",
    response_model=PipelineLeadPublic,
    status_code=201,
    responses={404: {"description": "unknown enterprise"}, **CONFLICT, **FORBIDDEN},
)
async def post_pipeline(
    payload: PipelineIn,
    state: GraphDep,
    sessions: SessionsDep,
    recent: RecentDep,
    caller: WriterDep,
) -> dict[str, object]:
    """Put a firm on a track's pipeline at stage `new`, with the scores it has now (the lead
    lists stop offering it)."""
    created = await run_in_threadpool(
        lambda: service.create_lead(
            state,
            sessions,
            caller,
            enterprise_id=payload.enterprise_id,
            track=payload.track,
            owner=payload.owner,
            follow_up_on=payload.follow_up_on,
            note=payload.note,
        )
    )
    recent.add(payload.enterprise_id)
    return created


@router.get("/pipeline/{lead_id}", response_model=PipelineLeadPublic)
async def get_pipeline_lead(
    lead_id: LeadId, state: GraphDep, sessions: SessionsDep, _caller: OfficerDep
) -> dict[str, object]:
    """One lead."""
    return await run_in_threadpool(service.get_lead, state, sessions, lead_id)


@router.patch(
    "/pipeline/{lead_id}",
    response_model=PipelineLeadPublic,
    responses={404: {"description": "unknown lead"}, **CONFLICT, **FORBIDDEN},
)
async def patch_pipeline_lead(
    lead_id: LeadId,
    payload: PipelinePatch,
    state: GraphDep,
    sessions: SessionsDep,
    caller: WriterDep,
) -> dict[str, object]:
    """Move the stage, reassign, set the follow-up or the note, record the form a landed firm
    took (`landed_as`); `version` must be the one you read (409 otherwise). A move the rules
    forbid is a 422 naming both stages."""
    given = payload.model_fields_set
    change = Change(
        version=payload.version,
        stage=payload.stage,
        lost_reason=payload.lost_reason,
        owner=payload.owner if "owner" in given else UNSET,
        follow_up_on=payload.follow_up_on if "follow_up_on" in given else UNSET,
        note=payload.note if "note" in given else UNSET,
        landed_as=payload.landed_as if "landed_as" in given else UNSET,
    )
    return await run_in_threadpool(service.update_lead, state, sessions, caller, lead_id, change)


@router.get("/pipeline/{lead_id}/history", response_model=list[PipelineEventPublic])
async def get_pipeline_history(
    lead_id: LeadId, state: GraphDep, sessions: SessionsDep, _caller: OfficerDep
) -> list[dict[str, object]]:
    """Every change of the lead, oldest first (the append-only audit)."""
    return await run_in_threadpool(service.history, state, sessions, lead_id)
