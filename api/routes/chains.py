"""Chain maps, gaps and the candidates that fill a link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import GraphDep, OfficerDep, ServingDep
from api.schemas import ChainMapPublic, ChainsPublic, GapsPublic, LinkCandidatesPublic
from api.serving.chains import chain_gaps, chain_map, chain_summaries, link_candidates

router = APIRouter(tags=["chains"])
ChainId = Annotated[str, Path(max_length=64)]


@router.get("/chains", response_model=ChainsPublic)
def get_chains(state: GraphDep, _key: OfficerDep) -> dict[str, object]:
    """Every curated chain with the park's priority."""
    return {"items": chain_summaries(state)}


@router.get(
    "/chains/{chain_id}",
    response_model=ChainMapPublic,
    responses={404: {"description": "unknown chain"}},
)
def get_chain(chain_id: ChainId, state: GraphDep, _key: OfficerDep) -> dict[str, object]:
    """The chain's links with the park's presence, target, gap type and score."""
    return chain_map(state, chain_id)


@router.get(
    "/chains/{chain_id}/gaps",
    response_model=GapsPublic,
    responses={404: {"description": "unknown chain"}},
)
def get_gaps(chain_id: ChainId, state: GraphDep, _key: OfficerDep) -> dict[str, object]:
    """The chain's gaps (补链 / 强链 / 延链), best gap first."""
    return chain_gaps(state, chain_id)


@router.get(
    "/chains/{chain_id}/links/{link}/candidates",
    response_model=LinkCandidatesPublic,
    responses={404: {"description": "unknown chain or link"}},
)
def get_link_candidates(
    chain_id: ChainId,
    link: Annotated[str, Path(max_length=100)],
    state: ServingDep,
    _key: OfficerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, object]:
    """Candidates working in the link, in lead order (``bigdata`` track)."""
    return link_candidates(state, chain_id, link, limit=limit, offset=offset, contacted=())
