"""Signing in and out, and the home page (the lead list of the park's first track)."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.crm.people import SignInRefused, authenticate, end_session, start_session
from api.crm.tables import with_retries
from api.deps import CallersDep, SessionsDep, SettingsDep, StateDep
from api.errors import DatabaseBusy
from api.web.common import COOKIE_SESSION, language, render, safe_target
from api.web.i18n import translator

router = APIRouter(include_in_schema=False)
HOME = "/leads"  # the lead list shows the park's first track when none is named


@router.get("/", response_class=HTMLResponse)
def home() -> RedirectResponse:
    """The lead list (of the park's first track)."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, state: StateDep, settings: SettingsDep, next: str = HOME
) -> HTMLResponse:
    """The sign-in form."""
    return render(
        request,
        "login.html",
        lang=language(request),
        state=state,
        me=None,
        secure=settings.cookie_secure,
        next=next,
        error=None,
    )


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    username: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = HOME,
) -> Response:
    """Check the name and password, start a session and keep its token in a secure cookie."""
    lang = language(request)
    try:
        caller = with_retries(lambda: authenticate(sessions, username, password))
        token = with_retries(lambda: start_session(sessions, caller))
    except (SignInRefused, DatabaseBusy) as exc:
        message = translator(lang)["bad_login"] if "wrong" in str(exc) else str(exc)
        return render(
            request,
            "login.html",
            lang=lang,
            state=state,
            me=None,
            secure=settings.cookie_secure,
            status=503 if isinstance(exc, DatabaseBusy) else 401,
            next=next,
            error=message,
            username=username,
        )
    response = RedirectResponse(safe_target(next, HOME), status_code=303)
    response.set_cookie(
        COOKIE_SESSION,
        token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, sessions: SessionsDep, callers: CallersDep) -> RedirectResponse:
    """End the session (in the database, so the cookie is worthless even if kept)."""
    token = request.cookies.get(COOKIE_SESSION)
    if token:
        with suppress(DatabaseBusy):  # the cookie goes anyway; the session then expires
            with_retries(lambda: end_session(sessions, token))
        callers.forget("session", token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_SESSION)
    return response
