"""Liveness and readiness (open, no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import HolderDep
from api.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """The process is up."""
    return HealthPublic()


@router.get("/ready", response_model=ReadyPublic, responses={503: {"model": ReadyPublic}})
def ready(holder: HolderDep) -> JSONResponse:
    """200 when data, graph and model are loaded; 503 with the reason of each that is not."""
    state = holder.current
    body = ReadyPublic(
        ready=state.ready,
        components=dict(state.status),
        loaded_at=state.loaded_at,
        last_reload_error=holder.last_reload_error,
    )
    return JSONResponse(body.model_dump(), status_code=200 if state.ready else 503)
