"""Lookalike firms: like one firm, or like a set (the roster, the signed firms, a pick)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import GraphDep, OfficerDep
from api.schemas import SimilarIn, SimilarPublic
from api.serving.similar import similar_firms

router = APIRouter(tags=["similar"])


@router.get(
    "/enterprises/{enterprise_id}/similar",
    response_model=SimilarPublic,
    responses={404: {"description": "unknown id"}},
)
def get_similar(
    enterprise_id: Annotated[str, Path(max_length=64)],
    state: GraphDep,
    _key: OfficerDep,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    include_members: bool = False,
) -> dict[str, object]:
    """The firms most like this one in what they make and do (products, chain links, industry,
    size, ownership — never location), each with why; park members left out by default."""
    return similar_firms(state, [enterprise_id], k=k, include_members=include_members)


@router.post(
    "/similar",
    response_model=SimilarPublic,
    responses={404: {"description": "an unknown id"}, 422: {"description": "over 1,000 ids"}},
)
def post_similar(body: SimilarIn, state: GraphDep, _key: OfficerDep) -> dict[str, object]:
    """The firms most like a set of firms (its centre), each with the member it resembles most."""
    return similar_firms(state, body.ids, k=body.k, include_members=body.include_members)
