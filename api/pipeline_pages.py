"""The team's pages: 我的线索 (my leads, follow-ups due first), the pipeline board by stage, the
team view for the team lead, the pipeline's Excel export, and the admin's people page. They call
the same services as ``/api/v1/pipeline`` and ``/api/v1/users``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.db import DatabaseBusy
from api.export import export_response
from api.i18n import translator
from api.pages import _gate, _lang, _render, _signin_redirect, signed_in
from api.people import Caller, create_user, list_users, update_user
from api.services import Conflict, InvalidInput, NotFound
from api.services import pipeline as service
from api.services.pipeline import UNSET, Change, PipelineQuery
from api.state import ServiceState
from data.pipeline import ASSIGNERS, LOST_REASONS, MOVES, STAGES

router = APIRouter(include_in_schema=False)
EXPORT_COLUMNS = (
    "id",
    "enterprise_id",
    "name",
    "track",
    "stage",
    "stage_zh",
    "lost_reason",
    "owner",
    "follow_up_on",
    "overdue",
    "stage_age_days",
    "p_land",
    "value_wan_cny",
    "expected_value_wan_cny",
    "contacted_on",
    "closed_on",
    "note",
    "version",
    "updated_at",
)


def _safe_back(back: str, default: str) -> str:
    return back if back.startswith("/") and not back.startswith("//") else default


def _page(
    request: Request, lang: str | None, *components: str
) -> tuple[str, Caller | None, Response | None]:
    """The language, the signed-in person, and the response to send instead (sign-in or
    not-ready), if any."""
    language = _lang(request, lang)
    blocked = _gate(request, language, *components)
    return language, signed_in(request), blocked


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.holder.current
    return state


@router.get("/pipeline", response_class=HTMLResponse, response_model=None)
def my_leads(
    request: Request,
    scope: Annotated[str, Query(pattern="^(mine|all|unassigned)$")] = "mine",
    stage: Annotated[str | None, Query(max_length=16)] = None,
    lang: str | None = None,
    saved: str | None = None,
) -> Response:
    """我的线索: the signed-in officer's leads, due and overdue follow-ups first."""
    language, me, blocked = _page(request, lang, "data", "graph")
    if blocked is not None or me is None:
        return blocked or _signin_redirect(request)
    owner = {"mine": me.username, "unassigned": "", "all": None}[scope]
    result = service.list_leads(
        _state(request),
        request.app.state.sessions,
        PipelineQuery(owner=owner, stage=stage if stage in STAGES else None),
        limit=500,
        offset=0,
    )
    return _render(
        request,
        "pipeline.html",
        language,
        result=result,
        scope=scope,
        moves=MOVES,
        lost_reasons=LOST_REASONS,
        owners=service.owners_of(request.app.state.sessions),
        can_assign=me.role in ASSIGNERS,
        saved=saved,
        today=date.today(),
    )


@router.post("/pipeline/add", response_model=None)
def add_lead(
    request: Request,
    enterprise_id: Annotated[str, Form(max_length=64)],
    track: Annotated[str, Form(max_length=40)],
    back: Annotated[str, Form(max_length=2000)] = "/pipeline",
) -> Response:
    """Put a firm from the lead list on the pipeline (the officer who adds it owns it)."""
    language, me, blocked = _page(request, None, "data", "graph")
    if blocked is not None or me is None:
        return blocked or _signin_redirect(request)
    try:
        service.create_lead(
            _state(request),
            request.app.state.sessions,
            me,
            enterprise_id=enterprise_id,
            track=track,
        )
    except Conflict:
        pass  # already on the pipeline: nothing to add, the list shows it
    except (NotFound, InvalidInput, PermissionError, DatabaseBusy) as exc:
        return _render(request, "error.html", language, status=_status(exc), message=str(exc))
    target = _safe_back(back, "/pipeline")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}saved={enterprise_id}", status_code=303)


def _status(exc: Exception) -> int:
    if isinstance(exc, DatabaseBusy):
        return 503
    if isinstance(exc, PermissionError):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    return 422


@router.post("/pipeline/{lead_id}", response_model=None)
def change_lead(
    request: Request,
    lead_id: int,
    version: Annotated[int, Form(ge=1)],
    stage: Annotated[str, Form(max_length=16)] = "",
    lost_reason: Annotated[str, Form(max_length=32)] = "",
    follow_up_on: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    owner: Annotated[str | None, Form(max_length=40)] = None,
    back: Annotated[str, Form(max_length=2000)] = "/pipeline",
) -> Response:
    """A lead's form: stage, loss reason, follow-up, note (and owner for the team lead); a lead
    someone changed meanwhile is refused with a message, never overwritten."""
    language, me, blocked = _page(request, None, "data", "graph")
    if blocked is not None or me is None:
        return blocked or _signin_redirect(request)
    t = translator(language)
    try:
        follow = date.fromisoformat(follow_up_on) if follow_up_on else None
    except ValueError:
        return _render(
            request, "error.html", language, status=422, message="follow_up_on: not a date"
        )
    change = Change(
        version=version,
        stage=stage or None,
        lost_reason=lost_reason or None,
        follow_up_on=follow,
        note=note or None,
        owner=UNSET if owner is None else (owner or None),
    )
    try:
        service.update_lead(_state(request), request.app.state.sessions, me, lead_id, change)
    except (Conflict, NotFound, InvalidInput, PermissionError, DatabaseBusy) as exc:
        message = t["conflict"] + f" ({exc})" if isinstance(exc, Conflict) else str(exc)
        return _render(request, "error.html", language, status=_status(exc), message=message)
    target = _safe_back(back, "/pipeline")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}saved={lead_id}", status_code=303)


@router.get("/pipeline/board", response_class=HTMLResponse, response_model=None)
def board_page(
    request: Request,
    track: Annotated[str | None, Query(max_length=40)] = None,
    lang: str | None = None,
) -> Response:
    """The pipeline by stage: counts and expected value (Σ P(land) × value) per stage."""
    language, me, blocked = _page(request, lang, "data", "graph")
    if blocked is not None or me is None:
        return blocked or _signin_redirect(request)
    state = _state(request)
    chosen = track if state.park is not None and track in state.park.tracks else None
    columns = service.board(state, request.app.state.sessions, chosen)
    return _render(request, "board.html", language, columns=columns, track=chosen)


@router.get("/pipeline/team", response_class=HTMLResponse, response_model=None)
def team_page(
    request: Request,
    stale_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    lang: str | None = None,
) -> Response:
    """The team lead's view: leads per officer, stage ages, stale leads (reassignable here)."""
    language, me, blocked = _page(request, lang, "data", "graph")
    if blocked is not None or me is None:
        return blocked or _signin_redirect(request)
    if me.role not in ASSIGNERS:
        return _render(
            request, "error.html", language, status=403, message="the team view is for team leads"
        )
    view = service.team(_state(request), request.app.state.sessions, stale_days)
    return _render(
        request,
        "team.html",
        language,
        view=view,
        stages=STAGES,
        owners=service.owners_of(request.app.state.sessions),
    )


@router.get("/pipeline/export")
def export_pipeline(
    request: Request,
    scope: Annotated[str, Query(pattern="^(mine|all|unassigned)$")] = "all",
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
    lang: str | None = None,
) -> Response:
    """The pipeline as an Excel (or CSV) file."""
    me = signed_in(request)
    if me is None:
        return _signin_redirect(request)
    state = _state(request)
    if state.problems("data", "graph"):
        return Response("not ready", status_code=503)
    owner = {"mine": me.username, "unassigned": "", "all": None}[scope]
    result = service.list_leads(
        state, request.app.state.sessions, PipelineQuery(owner=owner), limit=1_000_000, offset=0
    )
    rows: list[dict[str, Any]] = result["items"]
    return export_response(
        rows,
        EXPORT_COLUMNS,
        name=f"pipeline-{state.settings.park}-{date.today().isoformat()}",
        format=format,
        lang=_lang(request, lang),
        about={"scope": scope, "park": state.settings.park, "snapshot": state.snapshot_id},
        total=len(rows),
    )


def _admin(request: Request, lang: str | None) -> tuple[str, Response | None]:
    language = _lang(request, lang)
    me = signed_in(request)
    if me is None:
        return language, _signin_redirect(request)
    if me.role != "admin":
        return language, _render(
            request, "error.html", language, status=403, message="people are managed by admins"
        )
    return language, None


@router.get("/admin/users", response_class=HTMLResponse, response_model=None)
def users_page(
    request: Request, lang: str | None = None, error: str | None = None, done: str | None = None
) -> Response:
    """People: create users, disable or enable them, reset passwords."""
    language, blocked = _admin(request, lang)
    if blocked is not None:
        return blocked
    return _render(
        request,
        "users.html",
        language,
        users=list_users(request.app.state.sessions),
        error=error,
        done=done,
    )


@router.post("/admin/users", response_model=None)
def users_create(
    request: Request,
    username: Annotated[str, Form(max_length=40)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=200)],
    display_name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The create form."""
    _, blocked = _admin(request, None)
    if blocked is not None:
        return blocked
    try:
        create_user(
            request.app.state.sessions,
            username=username.strip().lower(),
            role=role,
            password=password,
            display_name=display_name.strip(),
        )
    except ValueError as exc:
        return RedirectResponse(f"/admin/users?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse(f"/admin/users?{urlencode({'done': username})}", status_code=303)


@router.post("/admin/users/{username}", response_model=None)
def users_change(
    request: Request,
    username: str,
    action: Annotated[str, Form(pattern="^(disable|enable|reset)$")],
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Disable, enable or reset one user's password; a disabled user is signed out at once."""
    _, blocked = _admin(request, None)
    if blocked is not None:
        return blocked
    me = signed_in(request)
    if action == "disable" and me is not None and me.username == username:
        message = "disabled: an admin cannot disable their own account"
        return RedirectResponse(f"/admin/users?{urlencode({'error': message})}", status_code=303)
    try:
        user = update_user(
            request.app.state.sessions,
            username,
            disabled={"disable": True, "enable": False}.get(action),
            password=password if action == "reset" else None,
        )
    except (LookupError, ValueError) as exc:
        return RedirectResponse(f"/admin/users?{urlencode({'error': str(exc)})}", status_code=303)
    request.app.state.callers.forget_user(int(str(user["id"])))
    return RedirectResponse(f"/admin/users?{urlencode({'done': username})}", status_code=303)
