"""What every page shares: the language, the signed-in person, the gate, rendering.

A page handler takes one dependency, ``Page`` (through the aliases below), which has already
checked that someone is signed in (else ``SignInRequired``: the sign-in page, coming back
afterwards), that their role may see the page (else ``PermissionError``: 403) and that the
components the page needs are loaded (else ``NotReady``: 503 with the reasons). The page's
language is ``?lang=`` if given, else the cookie, else Chinese, and is remembered. The
dependencies read the app only through ``api.deps`` (state, sessions, settings, caller cache), so
a test swaps any of them with ``app.dependency_overrides``. Errors a handler raises (``NotFound``,
``Conflict``, ``InvalidInput``, ``PermissionError``, ``DatabaseBusy``) become the error page
with the status of ``api.errors.STATUS``, the same as the JSON API's (``api.app``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from api.crm.people import Caller, CallerCache
from api.deps import CallersDep, SessionsDep, SettingsDep, StateDep
from api.errors import DatabaseBusy
from api.serving.state import ServiceState
from api.web.i18n import translator
from data.pipeline import ROLES
from data.settings import Settings

COOKIE_SESSION = "attract_session"
COOKIE_LANG = "attract_lang"
LANGUAGES = ("zh", "en")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# the chain map's colour of each gap type (industry_graph.gaps.GAP_TYPES)
GAP_COLOURS = {
    "missing_broken": "#d7301f",
    "missing": "#fc8d59",
    "extension": "#8c6bb1",
    "weak": "#fdd049",
    "covered": "#41ab5d",
}


class SignInRequired(Exception):
    """No one is signed in: the page answers with the sign-in page, which comes back here."""


class NotReady(Exception):
    """A component the page needs is not loaded; ``problems`` says which and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def language(request: Request) -> str:
    """``?lang=`` if given, else the remembered cookie, else Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(COOKIE_LANG) or "zh"
    return chosen if chosen in LANGUAGES else "zh"


def signed_in(request: Request, callers: CallerCache) -> Caller | None:
    """The person the session cookie stands for, or ``None``."""
    raw = request.cookies.get(COOKIE_SESSION)
    if not raw:
        return None
    try:
        return callers.get("session", raw)
    except DatabaseBusy:
        return None


def safe_target(target: str, default: str) -> str:
    """A redirect target within this site (a path), else ``default``."""
    return target if target.startswith("/") and not target.startswith("//") else default


def with_query(target: str, **params: object) -> str:
    """``target`` with ``params`` added to its query."""
    return f"{target}{'&' if '?' in target else '?'}{urlencode(params)}"


def render(
    request: Request,
    template: str,
    *,
    lang: str,
    state: ServiceState,
    me: Caller | None,
    secure: bool,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A template with what every page shows (strings, language, the state, who is signed in)."""
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": translator(lang),
            "lang": lang,
            "state": state,
            "path": request.url.path,
            "query": dict(request.query_params),
            "colours": GAP_COLOURS,
            "me": me,
            **context,
        },
        status_code=status,
    )
    response.set_cookie(COOKIE_LANG, lang, httponly=True, samesite="lax", secure=secure)
    return response


@dataclass(frozen=True)
class Page:
    """One page request that passed the gate: who asks, in which language, on which state."""

    request: Request
    lang: str
    me: Caller
    state: ServiceState
    sessions: sessionmaker[Session]
    settings: Settings
    callers: CallerCache

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """The template on this page's state and language."""
        return render(
            self.request,
            template,
            lang=self.lang,
            state=self.state,
            me=self.me,
            secure=self.settings.cookie_secure,
            status=status,
            **context,
        )

    def error(self, status: int, message: str) -> HTMLResponse:
        """The error page."""
        return self.render("error.html", status=status, message=message)

    def redirect(self, target: str, *, default: str, **params: object) -> RedirectResponse:
        """Back to ``target`` (a path of this site, else ``default``) with ``params``."""
        return RedirectResponse(with_query(safe_target(target, default), **params), status_code=303)


def gate(
    *components: str, roles: tuple[str, ...] = ROLES, forbidden: str = ""
) -> Callable[..., Page]:
    """The dependency of a page that needs ``components`` loaded and one of ``roles``."""

    def dependency(
        request: Request,
        state: StateDep,
        sessions: SessionsDep,
        settings: SettingsDep,
        callers: CallersDep,
    ) -> Page:
        me = signed_in(request, callers)
        if me is None:
            raise SignInRequired()
        if me.role not in roles:
            raise PermissionError(forbidden or f"needs {' or '.join(roles)}")
        problems = state.problems(*components)
        if problems:
            raise NotReady(problems)
        return Page(
            request=request,
            lang=language(request),
            me=me,
            state=state,
            sessions=sessions,
            settings=settings,
            callers=callers,
        )

    return dependency


SignedInPage = Annotated[Page, Depends(gate())]
GraphPage = Annotated[Page, Depends(gate("data", "graph"))]
ServingPage = Annotated[Page, Depends(gate("data", "graph", "model"))]
ModelPage = Annotated[Page, Depends(gate("model"))]


def sign_in_redirect(request: Request) -> RedirectResponse:
    """The sign-in page, coming back to this one afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def error_page(
    request: Request,
    state: ServiceState,
    callers: CallerCache,
    status: int,
    message: str,
    *,
    secure: bool,
) -> HTMLResponse:
    """The error page of a page request that failed (``api.app``'s error handlers)."""
    return render(
        request,
        "error.html",
        lang=language(request),
        state=state,
        me=signed_in(request, callers),
        secure=secure,
        status=status,
        message=message,
    )


def not_ready_page(
    request: Request,
    state: ServiceState,
    callers: CallerCache,
    problems: list[str],
    *,
    secure: bool,
) -> HTMLResponse:
    """503 with what is not loaded yet."""
    return render(
        request,
        "not_ready.html",
        lang=language(request),
        state=state,
        me=signed_in(request, callers),
        secure=secure,
        status=503,
        problems=problems,
    )
