"""The officer's lead list: a tab per track, filters, paging, the Excel / CSV export of the
current filter, and the outcome form on every lead."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.crm.contacted import FirmsCache
from api.crm.outreach import create_outreach
from api.deps import ContactedDep, RecentDep
from api.errors import InvalidInput, NotFound
from api.schemas import OutreachIn
from api.serving.export import export_response
from api.serving.lead_table import LeadFilters
from api.serving.leads import EXPORT_COLUMNS, export_about, export_rows, leads_page
from api.serving.offered import INCLUDABLE
from api.serving.state import ServiceState
from api.web.common import ServingPage, SignedInPage
from data.landing import track_forms
from data.reference import track_error

router = APIRouter(include_in_schema=False)
PER_PAGE = 25


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
    include: Annotated[list[str] | None, Query(max_length=40)] = None,
) -> LeadFilters:
    """The filter form's fields (empty means no filter; an unreadable number is ignored, an
    unknown group to bring back too)."""
    return LeadFilters(
        chain=chain or None,
        link=link or None,
        province=province or None,
        city=city or None,
        min_tax=_opt_float(min_tax),
        min_probability=_opt_float(min_probability),
        exclude_contacted=exclude_contacted,
        q=q or None,
        include=tuple(g for g in INCLUDABLE if g in (include or ())),
    )


PageFilters = Annotated[LeadFilters, Depends(page_filters)]


def shown_track(state: ServiceState, track: str | None) -> str:
    """The track a page shows: the one asked for (``NotFound`` if the park has none such), else
    the park's first."""
    assert state.park is not None
    if track is None:
        return next(iter(state.park.tracks))
    error = track_error(state.park, track)
    if error is not None:
        raise NotFound(error)
    return track


def _contacted(recorded: FirmsCache, filters: LeadFilters) -> Sequence[str]:
    return recorded.get() if filters.exclude_contacted else ()


@router.get("/leads", response_class=HTMLResponse, response_model=None)
def leads(
    page: ServingPage,
    filters: PageFilters,
    recorded: ContactedDep,
    recent: RecentDep,
    track: Annotated[str | None, Query(max_length=40)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    saved: str | None = None,
) -> Response:
    """The lead list: a tab per track, filters, paging, export and outcome forms."""
    from api.serving.plan import prices_soon

    state = page.state
    prices_soon(state, page.sessions)
    track = shown_track(state, track)
    result = leads_page(
        state,
        track=track,
        filters=filters,
        limit=PER_PAGE,
        offset=(page_number - 1) * PER_PAGE,
        contacted=_contacted(recorded, filters),
        recent=recent.since(state.started_at),
    )
    chain_links = [
        (lnk.id, lnk.name_zh if page.lang == "zh" else lnk.name_en)
        for c in state.chains.values()
        if not filters.chain or c.id == filters.chain
        for lnk in c.links
    ]
    export_query = urlencode(
        {k: v for k, v in page.request.query_params.items() if k not in {"page", "lang", "saved"}}
    )
    return page.render(
        "leads.html",
        track=track,
        result=result,
        page=page_number,
        per_page=PER_PAGE,
        provinces=state.leads[track].provinces,
        chain_links=chain_links,
        export_query=export_query,
        saved=saved,
        today=date.today().isoformat(),
        pages=max(1, -(-int(str(result["total"])) // PER_PAGE)),
        filters=filters,
        includable=INCLUDABLE,
        forms=dict(track_forms(state.park, track)) if state.park is not None else {},
    )


@router.get("/export")
def export(
    page: ServingPage,
    filters: PageFilters,
    recorded: ContactedDep,
    recent: RecentDep,
    track: Annotated[str, Query(max_length=40)],
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """The current filter as an Excel or CSV file (the page's export buttons)."""
    state = page.state
    track = shown_track(state, track)
    rows, total = export_rows(
        state,
        track=track,
        filters=filters,
        contacted=_contacted(recorded, filters),
        recent=recent.since(state.started_at),
    )
    return export_response(
        rows,
        EXPORT_COLUMNS,
        name=f"leads-{track}-{state.snapshot_id}",
        format=format,
        lang=page.lang,
        about=export_about(state, track, filters, total),
        total=total,
    )


@router.post("/outreach", response_model=None)
def record_outcome(
    page: SignedInPage,
    recorded: ContactedDep,
    enterprise_id: Annotated[str, Form(max_length=64)],
    track: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(max_length=20)],
    contacted_on: Annotated[str, Form(max_length=10)],
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/leads",
) -> Response:
    """The outcome form on a lead: stored like ``POST /api/v1/outreach``, then back to the list."""
    try:
        day = date.fromisoformat(contacted_on)
    except ValueError:
        raise InvalidInput(f"contacted_on: not a date (YYYY-MM-DD): {contacted_on!r}") from None
    try:
        payload = OutreachIn(
            enterprise_id=enterprise_id,
            track=track,
            outcome=outcome,
            contacted_on=day,
            note=note or None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{first['loc'][0]}: {first['msg']}") from None
    create_outreach(
        page.state, page.sessions, caller=page.me, payload=payload, idempotency_key=None
    )
    recorded.add(enterprise_id)
    return page.redirect(back, default="/leads", saved=enterprise_id)
