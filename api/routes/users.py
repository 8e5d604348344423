"""People (admins only): list, create, disable, reset passwords."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.crm.people import create_user, list_users, update_user
from api.deps import AdminDep, SessionsDep
from api.errors import InvalidInput, NotFound
from api.schemas import UserIn, Username, UserPatch, UserPublic

router = APIRouter(
    tags=["users"],
    responses={403: {"description": "admins only"}, 404: {"description": "no such user"}},
)


@router.get("/users", response_model=list[UserPublic])
async def get_users(sessions: SessionsDep, _admin: AdminDep) -> list[dict[str, object]]:
    """Every user (never a password or its hash)."""
    return await run_in_threadpool(list_users, sessions)


@router.post("/users", response_model=UserPublic, status_code=201)
async def post_user(payload: UserIn, sessions: SessionsDep, _admin: AdminDep) -> dict[str, object]:
    """Create a user who signs in with this password."""
    try:
        return await run_in_threadpool(
            lambda: create_user(
                sessions,
                username=payload.username,
                role=payload.role,
                password=payload.password,
                display_name=payload.display_name,
            )
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


@router.patch("/users/{username}", response_model=UserPublic)
async def patch_user(
    username: Username,
    payload: UserPatch,
    request: Request,
    sessions: SessionsDep,
    admin: AdminDep,
) -> dict[str, object]:
    """Disable or enable (a disabled user's sessions and keys stop at once), reset the password
    (lifts a lock-out), change the role or the name. An admin does not disable themselves."""
    if payload.disabled and username == admin.username:
        raise InvalidInput("disabled: an admin cannot disable their own account")
    try:
        user = await run_in_threadpool(
            lambda: update_user(
                sessions,
                username,
                disabled=payload.disabled,
                password=payload.password,
                role=payload.role,
                display_name=payload.display_name,
            )
        )
    except LookupError as exc:
        raise NotFound(str(exc)) from exc
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    request.app.state.callers.forget_user(int(str(user["id"])))
    return user
