"""The team's pages: 我的线索 (my leads, follow-ups due first), the pipeline board by stage, the
team view for the team lead, and the pipeline's Excel export. They call the same functions as
``/api/v1/pipeline``."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, Response

from api.crm import pipeline as service
from api.crm.pipeline import UNSET, Change, PipelineQuery
from api.deps import RecentDep
from api.errors import Conflict, InvalidInput
from api.serving.export import export_response
from api.web.common import GraphPage, Page, gate
from api.web.i18n import translator
from api.web.leads import shown_track
from data.landing import track_forms
from data.pipeline import ASSIGNERS, LOST_REASONS, MOVES, STAGES

router = APIRouter(include_in_schema=False)
TeamPage = Annotated[
    Page,
    Depends(gate("data", "graph", roles=ASSIGNERS, forbidden="the team view is for team leads")),
]
Scope = Annotated[str, Query(pattern="^(mine|all|unassigned)$")]
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


def _owner(page: Page, scope: str) -> str | None:
    """The owner filter of a scope: the signed-in person, unassigned (``""``) or anyone."""
    return {"mine": page.me.username, "unassigned": "", "all": None}[scope]


@router.get("/pipeline", response_class=HTMLResponse, response_model=None)
def my_leads(
    page: GraphPage,
    scope: Scope = "mine",
    stage: Annotated[str | None, Query(max_length=16)] = None,
    saved: str | None = None,
) -> Response:
    """我的线索: the signed-in officer's leads, due and overdue follow-ups first."""
    result = service.list_leads(
        page.state,
        page.sessions,
        PipelineQuery(owner=_owner(page, scope), stage=stage if stage in STAGES else None),
        limit=500,
        offset=0,
    )
    return page.render(
        "pipeline.html",
        result=result,
        scope=scope,
        moves=MOVES,
        lost_reasons=LOST_REASONS,
        # the forms a landed firm may have taken, per track (recorded as landed_as)
        forms={t: track_forms(page.state.park, t) for t in page.state.park.tracks}
        if page.state.park is not None
        else {},
        owners=service.owners_of(page.sessions),
        can_assign=page.me.role in ASSIGNERS,
        saved=saved,
        today=date.today(),
    )


@router.post("/pipeline/add", response_model=None)
def add_lead(
    page: GraphPage,
    recent: RecentDep,
    enterprise_id: Annotated[str, Form(max_length=64)],
    track: Annotated[str, Form(max_length=40)],
    back: Annotated[str, Form(max_length=2000)] = "/pipeline",
) -> Response:
    """Put a firm from the lead list on the pipeline (the officer who adds it owns it)."""
    with suppress(Conflict):  # already on the pipeline: nothing to add, the list shows it
        service.create_lead(
            page.state, page.sessions, page.me, enterprise_id=enterprise_id, track=track
        )
        recent.add(enterprise_id)
    return page.redirect(back, default="/pipeline", saved=enterprise_id)


@router.post("/pipeline/{lead_id}", response_model=None)
def change_lead(
    page: GraphPage,
    lead_id: int,
    version: Annotated[int, Form(ge=1)],
    stage: Annotated[str, Form(max_length=16)] = "",
    lost_reason: Annotated[str, Form(max_length=32)] = "",
    follow_up_on: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    owner: Annotated[str | None, Form(max_length=40)] = None,
    landed_as: Annotated[str, Form(max_length=32)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/pipeline",
) -> Response:
    """A lead's form: stage, loss reason, follow-up, note, the form a landed firm took (and
    owner for the team lead); a lead someone changed meanwhile is refused with a message, never
    overwritten."""
    try:
        follow = date.fromisoformat(follow_up_on) if follow_up_on else None
    except ValueError:
        raise InvalidInput("follow_up_on: not a date") from None
    change = Change(
        version=version,
        stage=stage or None,
        lost_reason=lost_reason or None,
        follow_up_on=follow,
        note=note or None,
        owner=UNSET if owner is None else (owner or None),
        landed_as=landed_as or UNSET,
    )
    try:
        service.update_lead(page.state, page.sessions, page.me, lead_id, change)
    except Conflict as exc:
        return page.error(409, translator(page.lang)["conflict"] + f" ({exc})")
    return page.redirect(back, default="/pipeline", saved=lead_id)


@router.get("/pipeline/board", response_class=HTMLResponse, response_model=None)
def board_page(
    page: GraphPage, track: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    """The pipeline by stage: counts and expected value (Σ P(land) × value) per stage; one
    track's, or every track's when none is named."""
    chosen = None if not track else shown_track(page.state, track)
    columns = service.board(page.state, page.sessions, chosen)
    return page.render("board.html", columns=columns, track=chosen)


@router.get("/pipeline/team", response_class=HTMLResponse, response_model=None)
def team_page(page: TeamPage, stale_days: Annotated[int, Query(ge=1, le=3650)] = 30) -> Response:
    """The team lead's view: leads per officer, stage ages, stale leads (reassignable here)."""
    view = service.team(page.state, page.sessions, stale_days)
    return page.render(
        "team.html", view=view, stages=STAGES, owners=service.owners_of(page.sessions)
    )


@router.get("/pipeline/export")
def export_pipeline(
    page: GraphPage,
    scope: Scope = "all",
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """The pipeline as an Excel (or CSV) file."""
    state = page.state
    result = service.list_leads(
        state, page.sessions, PipelineQuery(owner=_owner(page, scope)), limit=1_000_000, offset=0
    )
    rows: list[dict[str, Any]] = result["items"]
    return export_response(
        rows,
        EXPORT_COLUMNS,
        name=f"pipeline-{state.park_id}-{date.today().isoformat()}",
        format=format,
        lang=page.lang,
        about={"scope": scope, "park": state.park_id, "snapshot": state.snapshot_id},
        total=len(rows),
    )
