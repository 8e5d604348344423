"""Server-rendered pages (Jinja2) for officers and strategists, on the same app and data.

Sign-in with a username and password starts a session whose random token lives in an
HTTP-only, secure, same-site cookie (stored only hashed); the pages then apply the same roles as
the API. Repeated wrong passwords lock the account (``api.people``).
Chinese by default, English with ``?lang=en`` (remembered in a cookie).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api.db import DatabaseBusy, with_retries
from api.export import export_response
from api.i18n import translator
from api.lead_table import LeadFilters
from api.people import Caller, SignInRefused, authenticate, end_session, start_session
from api.schemas import OutreachIn
from api.services import Conflict, NotFound
from api.services.chains import chain_map, link_candidates
from api.services.enterprises import enterprise_profile
from api.services.leads import EXPORT_COLUMNS, export_about, export_rows, leads_page
from api.services.outreach import create_outreach
from api.services.similar import similar_firms
from api.state import ServiceState

COOKIE_SESSION = "attract_session"
COOKIE_LANG = "attract_lang"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
GAP_COLOURS = {
    "missing_broken": "#d7301f",
    "missing": "#fc8d59",
    "extension": "#8c6bb1",
    "weak": "#fdd049",
    "covered": "#41ab5d",
}


def _lang(request: Request, lang: str | None) -> str:
    chosen = lang or request.cookies.get(COOKIE_LANG) or "zh"
    return chosen if chosen in {"zh", "en"} else "zh"


def signed_in(request: Request) -> Caller | None:
    """The person signed in by the session cookie, or ``None``."""
    raw = request.cookies.get(COOKIE_SESSION)
    if not raw:
        return None
    try:
        found: Caller | None = request.app.state.callers.get("session", raw)
    except DatabaseBusy:
        return None
    return found


def _render(
    request: Request, template: str, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    state: ServiceState = request.app.state.holder.current
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
            "me": signed_in(request),
            **context,
        },
        status_code=status,
    )
    response.set_cookie(COOKIE_LANG, lang, httponly=True, samesite="lax", secure=_secure(request))
    return response


def _track(state: ServiceState, track: str | None) -> str:
    """The track a page shows: the one asked for (404 if the park has none such), else the
    park's first."""
    assert state.park is not None
    if track is None:
        return next(iter(state.park.tracks))
    if track not in state.park.tracks:
        raise HTTPException(
            404, f"track: no track {track!r}; this park's tracks: {', '.join(state.park.tracks)}"
        )
    return track


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.cookie_secure)


def _signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def _gate(request: Request, lang: str, *components: str) -> Response | None:
    """The sign-in page without a key, the not-ready page until ``components`` are loaded;
    ``None`` when the page may be shown."""
    if signed_in(request) is None:
        return _signin_redirect(request)
    state: ServiceState = request.app.state.holder.current
    problems = state.problems(*components)
    if problems:
        return _render(request, "not_ready.html", lang, status=503, problems=problems)
    return None


@router.get("/", response_class=HTMLResponse)
def home() -> RedirectResponse:
    """The lead list of the big-data track."""
    return RedirectResponse("/leads?track=bigdata", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, lang: str | None = None, next: str = "/leads?track=bigdata"
) -> HTMLResponse:
    """The sign-in form."""
    return _render(request, "login.html", _lang(request, lang), next=next, error=None)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/leads?track=bigdata",
) -> Response:
    """Check the name and password, start a session and keep its token in a secure cookie."""
    lang = _lang(request, None)
    sessions = request.app.state.sessions
    try:
        caller = with_retries(lambda: authenticate(sessions, username, password))
        token = with_retries(lambda: start_session(sessions, caller))
    except (SignInRefused, DatabaseBusy) as exc:
        status = 503 if isinstance(exc, DatabaseBusy) else 401
        message = translator(lang)["bad_login"] if "wrong" in str(exc) else str(exc)
        return _render(
            request, "login.html", lang, status=status, next=next, error=message, username=username
        )
    target = next if next.startswith("/") and not next.startswith("//") else "/leads?track=bigdata"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_SESSION,
        token,
        httponly=True,
        secure=_secure(request),
        samesite="strict",
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session (in the database, so the cookie is worthless even if kept)."""
    token = request.cookies.get(COOKIE_SESSION)
    if token:
        with suppress(DatabaseBusy):  # the cookie goes anyway; the session then expires
            with_retries(lambda: end_session(request.app.state.sessions, token))
        request.app.state.callers.forget("session", token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_SESSION)
    return response


def _opt_float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def page_filters(
    chain: str | None = None,
    link: str | None = None,
    province: str | None = None,
    city: str | None = None,
    min_tax: str | None = None,
    min_probability: str | None = None,
    exclude_contacted: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> LeadFilters:
    """The filter form's fields (empty means no filter; an unreadable number is ignored)."""
    return LeadFilters(
        chain=chain or None,
        link=link or None,
        province=province or None,
        city=city or None,
        min_tax=_opt_float(min_tax),
        min_probability=_opt_float(min_probability),
        exclude_contacted=exclude_contacted,
        q=q or None,
    )


PageFilters = Annotated[LeadFilters, Depends(page_filters)]


def _contacted(request: Request, filters: LeadFilters) -> Sequence[str]:
    contacted: Sequence[str] = request.app.state.contacted.get()
    return contacted if filters.exclude_contacted else ()


@router.get("/leads", response_class=HTMLResponse, response_model=None)
def leads(
    request: Request,
    filters: PageFilters,
    track: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    lang: str | None = None,
    saved: str | None = None,
) -> Response:
    """The lead list: a tab per track, filters, paging, export and outcome forms."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph", "model")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    track = _track(state, track)
    contacted = _contacted(request, filters)
    per_page = 25
    result = leads_page(
        state,
        track=track,
        filters=filters,
        limit=per_page,
        offset=(page - 1) * per_page,
        contacted=contacted,
    )
    provinces = state.leads[track].provinces
    chain_links = [
        (lnk.id, lnk.name_zh if language == "zh" else lnk.name_en)
        for c in state.chains.values()
        if not filters.chain or c.id == filters.chain
        for lnk in c.links
    ]
    export_query = urlencode(
        {k: v for k, v in request.query_params.items() if k not in {"page", "lang", "saved"}}
    )
    return _render(
        request,
        "leads.html",
        language,
        track=track,
        result=result,
        page=page,
        per_page=per_page,
        provinces=provinces,
        chain_links=chain_links,
        export_query=export_query,
        saved=saved,
        today=date.today().isoformat(),
        pages=max(1, -(-int(str(result["total"])) // per_page)),
    )


@router.get("/export")
def export(
    request: Request,
    track: Annotated[str, Query(max_length=40)],
    filters: PageFilters,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
    lang: str | None = None,
) -> Response:
    """The current filter as an Excel or CSV file (the page's export buttons)."""
    if signed_in(request) is None:
        return _signin_redirect(request)
    state: ServiceState = request.app.state.holder.current
    if state.problems("data", "graph", "model"):
        return Response("not ready", status_code=503)
    track = _track(state, track)
    contacted = _contacted(request, filters)
    rows, total = export_rows(state, track=track, filters=filters, contacted=contacted)
    return export_response(
        rows,
        EXPORT_COLUMNS,
        name=f"leads-{track}-{state.snapshot_id}",
        format=format,
        lang=_lang(request, lang),
        about=export_about(state, track, filters, total),
        total=total,
    )


@router.post("/outreach", response_model=None)
def record_outcome(
    request: Request,
    enterprise_id: Annotated[str, Form(max_length=64)],
    track: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(max_length=20)],
    contacted_on: Annotated[str, Form(max_length=10)],
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/leads",
) -> Response:
    """The outcome form on a lead: stored like ``POST /api/v1/outreach``, then back to the list."""
    caller = signed_in(request)
    if caller is None:
        return _signin_redirect(request)
    lang = _lang(request, None)
    state: ServiceState = request.app.state.holder.current
    try:
        payload = OutreachIn(
            enterprise_id=enterprise_id,
            track=track,
            outcome=outcome,
            contacted_on=date.fromisoformat(contacted_on),
            note=note or None,
        )
        create_outreach(
            state,
            request.app.state.sessions,
            caller=caller,
            payload=payload,
            idempotency_key=None,
        )
        request.app.state.contacted.add(enterprise_id)
    except DatabaseBusy as exc:
        return _render(request, "error.html", lang, status=503, message=str(exc))
    except (ValidationError, ValueError, NotFound, Conflict) as exc:
        return _render(request, "error.html", lang, status=422, message=str(exc))
    target = back if back.startswith("/") and not back.startswith("//") else "/leads"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}saved={enterprise_id}", status_code=303)


def _layout(links: list[dict[str, Any]], segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Positions of link boxes: a column per depth along the upstream relations (sources on the
    left), links stacked in chain order; edges from upstream to downstream within the chain."""
    ids = {link["link_id"] for link in links}
    depth: dict[str, int] = {}

    def depth_of(link_id: str, seen: frozenset[str] = frozenset()) -> int:
        if link_id not in depth:
            ups = [u for u in by_id[link_id]["upstream"] if u in ids and u not in seen]
            depth[link_id] = 1 + max((depth_of(u, seen | {link_id}) for u in ups), default=-1)
        return depth[link_id]

    by_id = {link["link_id"]: link for link in links}
    segment_names = {s["id"]: s for s in segments}
    per_col: dict[int, int] = {}
    nodes = []
    box_w, box_h, gap_x, gap_y, top = 200, 58, 70, 20, 20
    for link in links:
        c = depth_of(link["link_id"])
        row = per_col.get(c, 0)
        per_col[c] = row + 1
        nodes.append(
            {
                **link,
                "x": 20 + c * (box_w + gap_x),
                "y": top + row * (box_h + gap_y),
                "w": box_w,
                "h": box_h,
                "segment_label": segment_names.get(link["segment"], {}),
            }
        )
    pos = {n["link_id"]: n for n in nodes}
    edges = [
        {
            "x1": pos[u]["x"] + box_w,
            "y1": pos[u]["y"] + box_h / 2,
            "x2": n["x"],
            "y2": n["y"] + box_h / 2,
        }
        for n in nodes
        for u in n["upstream"]
        if u in pos
    ]
    columns = max(per_col, default=0) + 1
    return {
        "nodes": nodes,
        "edges": edges,
        "width": 40 + columns * (box_w + gap_x),
        "height": top + max(per_col.values(), default=1) * (box_h + gap_y) + 10,
    }


@router.get("/chains", response_class=HTMLResponse, response_model=None)
def chains_index(request: Request) -> Response:
    """The park's first target chain."""
    state: ServiceState = request.app.state.holder.current
    first = state.park.chains[0].id if state.park is not None else "big_data"
    return RedirectResponse(f"/chains/{first}", status_code=303)


@router.get("/chains/{chain_id}", response_class=HTMLResponse, response_model=None)
def chain_page(
    request: Request, chain_id: str, link: str | None = None, lang: str | None = None
) -> Response:
    """One chain drawn as an SVG of its links coloured by gap type; a link lists its candidates."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    try:
        m = chain_map(state, chain_id)
    except NotFound as exc:
        return _render(request, "error.html", language, status=404, message=str(exc))
    candidates = None
    selected = None
    if link:
        selected = next((n for n in m["links"] if n["link_id"] == link), None)  # type: ignore[attr-defined]
        if selected is not None and state.model is not None:
            candidates = link_candidates(state, chain_id, link, limit=20, offset=0, contacted=())
    return _render(
        request,
        "chain.html",
        language,
        chain=m,
        layout=_layout(m["links"], m["segments"]),  # type: ignore[arg-type]
        chains=list(state.chains.values()),
        selected=selected,
        candidates=candidates,
    )


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse, response_model=None)
def enterprise_page(request: Request, enterprise_id: str, lang: str | None = None) -> Response:
    """Profile, scores with the tax range, reasons, park neighbours and outreach history."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph", "model")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    try:
        profile = enterprise_profile(state, request.app.state.sessions, enterprise_id)
    except NotFound as exc:
        return _render(request, "error.html", language, status=404, message=str(exc))
    similar = similar_firms(state, [enterprise_id], k=10, include_members=False)
    return _render(request, "enterprise.html", language, e=profile, similar=similar)
