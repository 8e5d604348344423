"""Liveness and readiness (open, no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep
from api.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """The process is up."""
    return HealthPublic()


@router.get("/ready", response_model=ReadyPublic, responses={503: {"model": ReadyPublic}})
def ready(state: StateDep) -> JSONResponse:
    """200 when data, graph and model are loaded; 503 with the reason of each that is not."""
    body = ReadyPublic(ready=state.ready, components=dict(state.status), loaded_at=state.loaded_at)
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)
