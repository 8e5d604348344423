"""Enterprise profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import OfficerDep, ServingDep, SessionsDep
from api.errors import InvalidInput
from api.schemas import EnterprisePublic
from api.serving.enterprises import enterprise_profile

router = APIRouter(tags=["enterprises"])


@router.get(
    "/enterprises/{enterprise_id}",
    response_model=EnterprisePublic,
    responses={
        404: {"description": "unknown id"},
        422: {"description": "a landing form without its track, or one the track lacks"},
    },
)
def get_enterprise(
    enterprise_id: Annotated[str, Path(max_length=64)],
    state: ServingDep,
    sessions: SessionsDep,
    _key: OfficerDep,
    track: Annotated[
        str | None, Query(max_length=32, description="the track of landing_form")
    ] = None,
    landing_form: Annotated[
        str | None,
        Query(
            max_length=32,
            description="value the firm on ``track`` in this landing form (park YAML "
            "tracks.*.forms) instead of the one the park's rules assume",
        ),
    ] = None,
) -> dict[str, object]:
    """Profile, scores with the tax range and reasons, park neighbours, outreach history."""
    if landing_form is not None and track is None:
        raise InvalidInput("track: give the track whose landing_form it is")
    chosen = (track, landing_form) if landing_form is not None and track is not None else None
    return enterprise_profile(state, sessions, enterprise_id, chosen)
