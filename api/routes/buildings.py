"""The park's carriers (载体): the list of buildings with occupancy, tax and 亿元楼 status, and a
building's occupancy over time, tax per year and the leads that would fill it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool

from api.deps import GraphDep, OfficerDep, SessionsDep
from api.schemas import BuildingDetailPublic, BuildingsPublic
from api.serving.buildings import building_page, buildings_list

router = APIRouter(tags=["buildings"])


@router.get(
    "/buildings",
    response_model=BuildingsPublic,
    responses={404: {"description": "the park holds no buildings"}},
)
async def get_buildings(state: GraphDep, sessions: SessionsDep, _key: OfficerDep) -> dict[str, Any]:
    """Each building: kind, floor area, free area now, occupancy, tax in the baseline and the
    latest year, and whether its firms pay ≥ 1 亿元 a year (亿元楼) then, now and projected."""
    return await run_in_threadpool(buildings_list, state, sessions)


@router.get(
    "/buildings/{building_id}",
    response_model=BuildingDetailPublic,
    responses={404: {"description": "unknown id"}},
)
async def get_building(
    building_id: Annotated[str, Path(max_length=64)],
    state: GraphDep,
    sessions: SessionsDep,
    _key: OfficerDep,
) -> dict[str, Any]:
    """A building: occupancy and free area by quarter, tax per year, its tenants, the leads that
    would fill it, the open pipeline placed in it and the five leads closing its 亿元楼 gap."""
    return await run_in_threadpool(building_page, state, sessions, building_id)
