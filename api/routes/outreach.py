"""Outreach outcomes: the park's system of record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from api.crm.outreach import create_outreach
from api.deps import ContactedDep, GraphDep, OfficerDep, SessionsDep
from api.schemas import Outcome, OutreachIn, OutreachListPublic, OutreachPublic, Track
from api.serving.outreach import outreach_for

router = APIRouter(tags=["outreach"])


@router.post(
    "/outreach",
    response_model=OutreachPublic,
    status_code=201,
    responses={404: {"description": "unknown enterprise"}, 409: {"description": "key reused"}},
)
def post_outreach(
    payload: OutreachIn,
    state: GraphDep,
    sessions: SessionsDep,
    recorded: ContactedDep,
    key: OfficerDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="retry-safe key")
    ] = None,
) -> JSONResponse:
    """Record an outreach outcome; a retry with the same ``Idempotency-Key`` returns the first result."""
    status, body = create_outreach(
        state, sessions, caller=key, payload=payload, idempotency_key=idempotency_key
    )
    recorded.add(payload.enterprise_id)
    return JSONResponse(body, status_code=status)


@router.get("/outreach", response_model=OutreachListPublic)
def get_outreach(
    state: GraphDep,
    sessions: SessionsDep,
    _key: OfficerDep,
    enterprise_id: Annotated[str | None, Query(max_length=64)] = None,
    track: Track | None = None,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, object]:
    """The park's outreach (history and new records), newest first."""
    return outreach_for(
        state,
        sessions,
        enterprise_id=enterprise_id,
        track=track,
        outcome=outcome,
        limit=limit,
        offset=offset,
    )
