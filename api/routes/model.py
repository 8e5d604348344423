"""The serving model and its reload."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import AnalystDep, HolderDep, OfficerDep, ServingDep
from api.schemas import ModelPublic, ReloadPublic
from models.registry import model_name

router = APIRouter(tags=["model"])


@router.get("/model", response_model=ModelPublic)
def get_model(state: ServingDep, _key: OfficerDep) -> dict[str, object]:
    """The champion being served: version, training run, holdout metrics, data snapshot."""
    assert state.model is not None and state.park is not None
    metrics = {k: float(v) for k, v in state.model.scorer.metrics.items()}
    return {
        "park": state.park.id,
        "model_name": model_name(state.park.id),
        "version": state.model.version,
        "alias": state.model.alias,
        "run_id": state.model.run_id,
        "p_land_source": state.model.scorer.p_land_source,
        "metrics": metrics,
        "snapshot_id": state.snapshot_id,
        "loaded_at": state.loaded_at,
    }


@router.post("/admin/reload", response_model=ReloadPublic, responses={503: {"model": ReloadPublic}})
async def reload(holder: HolderDep, _key: AnalystDep) -> JSONResponse:
    """Load data, graph and champion again and swap them in; requests in flight are not dropped.
    When the new load is incomplete the previous state keeps serving and the answer is 503."""
    new = await run_in_threadpool(holder.load)
    body = ReloadPublic(
        ready=new.ready,
        components=dict(new.status),
        model_version=new.model.version if new.model else None,
        load_seconds=new.load_seconds,
    )
    return JSONResponse(body.model_dump(), status_code=200 if new.ready else 503)
