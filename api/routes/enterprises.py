"""Enterprise profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import OfficerDep, ServingDep, SessionsDep
from api.schemas import EnterprisePublic
from api.serving.enterprises import enterprise_profile

router = APIRouter(tags=["enterprises"])


@router.get(
    "/enterprises/{enterprise_id}",
    response_model=EnterprisePublic,
    responses={404: {"description": "unknown id"}},
)
def get_enterprise(
    enterprise_id: Annotated[str, Path(max_length=64)],
    state: ServingDep,
    sessions: SessionsDep,
    _key: OfficerDep,
) -> dict[str, object]:
    """Profile, scores with the tax range and reasons, park neighbours, outreach history."""
    return enterprise_profile(state, sessions, enterprise_id)
