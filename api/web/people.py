"""The admin's people page: create users, disable or enable them, reset passwords. The same
functions as ``/api/v1/users``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.crm.people import create_user, list_users, update_user
from api.web.common import Page, gate

router = APIRouter(include_in_schema=False)
AdminPage = Annotated[
    Page, Depends(gate(roles=("admin",), forbidden="people are managed by admins"))
]


def _back(**params: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?{urlencode(params)}", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse, response_model=None)
def users_page(page: AdminPage, error: str | None = None, done: str | None = None) -> Response:
    """People: create users, disable or enable them, reset passwords."""
    return page.render("users.html", users=list_users(page.sessions), error=error, done=done)


@router.post("/admin/users", response_model=None)
def users_create(
    page: AdminPage,
    username: Annotated[str, Form(max_length=40)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=200)],
    display_name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The create form."""
    try:
        create_user(
            page.sessions,
            username=username.strip().lower(),
            role=role,
            password=password,
            display_name=display_name.strip(),
        )
    except ValueError as exc:
        return _back(error=str(exc))
    return _back(done=username)


@router.post("/admin/users/{username}", response_model=None)
def users_change(
    page: AdminPage,
    username: str,
    action: Annotated[str, Form(pattern="^(disable|enable|reset)$")],
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Disable, enable or reset one user's password; a disabled user is signed out at once."""
    if action == "disable" and page.me.username == username:
        return _back(error="disabled: an admin cannot disable their own account")
    try:
        user = update_user(
            page.sessions,
            username,
            disabled={"disable": True, "enable": False}.get(action),
            password=password if action == "reset" else None,
        )
    except (LookupError, ValueError) as exc:
        return _back(error=str(exc))
    page.callers.forget_user(int(str(user["id"])))
    return _back(done=username)
