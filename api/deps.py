"""FastAPI dependencies as ``Annotated`` aliases: state, database, API key and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.crm.contacted import FirmsCache, RecentLeads
from api.crm.people import Caller, CallerCache
from api.errors import DatabaseBusy
from api.schemas import Track
from api.serving.state import ServiceState, StateHolder
from data.pipeline import CORRECTORS, ROLES, WRITERS
from data.reference import default_parks, track_error
from data.settings import Settings


async def get_holder(request: Request) -> StateHolder:
    """The app's state holder."""
    holder: StateHolder = request.app.state.holder
    return holder


async def get_state(request: Request) -> ServiceState:
    """The current state snapshot (a request keeps the one it started with across a reload)."""
    holder: StateHolder = request.app.state.holder
    return holder.current


async def get_sessions(request: Request) -> sessionmaker[Session]:
    """The database session factory."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


async def get_contacted(request: Request) -> FirmsCache:
    """The firms contacted through the service (cached)."""
    contacted: FirmsCache = request.app.state.contacted
    return contacted


async def get_callers(request: Request) -> CallerCache:
    """Who a key or a session cookie stands for (cached)."""
    callers: CallerCache = request.app.state.callers
    return callers


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


HolderDep = Annotated[StateHolder, Depends(get_holder)]
StateDep = Annotated[ServiceState, Depends(get_state)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ContactedDep = Annotated[FirmsCache, Depends(get_contacted)]
CallersDep = Annotated[CallerCache, Depends(get_callers)]


async def get_recent(request: Request) -> RecentLeads:
    """The firms put on the pipeline lately (cached)."""
    recent: RecentLeads = request.app.state.recent_leads
    return recent


RecentDep = Annotated[RecentLeads, Depends(get_recent)]


async def current_key(
    callers: CallersDep,
    x_api_key: Annotated[str | None, Header(description="API key (attract keys create)")] = None,
) -> Caller:
    """The caller the key stands for; 401 when missing, unknown or its user is disabled."""
    if not x_api_key:
        raise HTTPException(
            status_code=401, detail="X-API-Key: missing", headers={"WWW-Authenticate": "ApiKey"}
        )
    try:
        caller: Caller | None = callers.get("key", x_api_key)
    except DatabaseBusy as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    if caller is None:
        raise HTTPException(
            status_code=401,
            detail="X-API-Key: unknown key (or its user is disabled)",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    return caller


KeyDep = Annotated[Caller, Depends(current_key)]


def require_role(*roles: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    async def check(key: KeyDep) -> Caller:
        if key.role not in roles:
            raise HTTPException(
                status_code=403,
                detail=f"role {key.role!r} may not do this; needs {' or '.join(roles)}",
            )
        return key

    return check


# every role reads and records outreach; analysts and admins run models; admins manage people
OfficerDep = Annotated[Caller, Depends(require_role(*ROLES))]
AnalystDep = Annotated[Caller, Depends(require_role("analyst", "admin"))]
AdminDep = Annotated[Caller, Depends(require_role("admin"))]
# the pipeline is worked by officers, their team lead and admins (analysts read it)
WriterDep = Annotated[Caller, Depends(require_role(*WRITERS))]
# the chain attachment is corrected by analysts, the team lead and admins (产业链校核)
CorrectorDep = Annotated[Caller, Depends(require_role(*CORRECTORS))]


def needs(*components: str) -> Callable[..., Awaitable[ServiceState]]:
    """A dependency answering 503 with the reason until ``components`` are loaded (after the
    key check: a caller without a key learns nothing of the state)."""

    async def check(state: StateDep, _key: KeyDep) -> ServiceState:  # the key first: 401
        problems = state.problems(*components)
        if problems:
            raise HTTPException(
                status_code=503, detail="; ".join(problems), headers={"Retry-After": "5"}
            )
        return state

    return check


ServingDep = Annotated[ServiceState, Depends(needs("data", "graph", "model"))]


def park_track(settings: SettingsDep, track: Annotated[Track, Query()]) -> str:
    """``track`` checked against the served park's YAML: an unknown track is a 422 naming it."""
    error = track_error(default_parks()[settings.park], track)
    if error is not None:
        _, _, reason = error.partition(": ")
        raise RequestValidationError(
            [{"loc": ("query", "track"), "msg": reason, "type": "value_error", "input": track}]
        )
    return track


TrackDep = Annotated[str, Depends(park_track)]
GraphDep = Annotated[ServiceState, Depends(needs("data", "graph"))]
