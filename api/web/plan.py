"""The strategist's plan pages: 规划指标 (the plan's KPIs with a chart each and the leads that
would move them), the KPI export, 链条覆盖变化 (each link at the plan's baseline and now) and
招商计划 (the contact plan: targets, prices, this quarter's lists onto the pipeline). Same functions
as ``/api/v1/kpis`` and ``/api/v1/plan``."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from api.deps import RecentDep
from api.errors import Conflict, InvalidInput
from api.serving.export import export_response
from api.serving.kpis import kpi_statuses, link_coverage
from api.serving.memo import Memo
from api.web.common import GraphPage, ServingPage
from industry_graph.kpis import KpiStatus
from training.charts import kpi_chart, svg

router = APIRouter(include_in_schema=False)
charts = Memo(size=256)  # SVG text per chart and its data

KPI_EXPORT_COLUMNS = (
    "kpi_id",
    "kpi_name",
    "unit",
    "baseline",
    "baseline_source",
    "now",
    "now_year",
    "target_low",
    "target_high",
    "target_year",
    "projected",
    "level_baseline",
    "level_now",
    "level_projected",
    "level_unit",
    "status",
    "not_held",
    "movers",
)


def _kpi_svg(k: KpiStatus, lang: str) -> str | None:
    if not k.series:
        return None
    unit = k.level_unit or k.unit
    projected = k.level_projected if k.level_unit else k.projected
    target = (k.target_low, k.target_high)
    if k.level_unit:  # a growth target drawn on its level: the level that growth would give
        start, years = k.series[0][1], k.target_year - k.series[0][0]
        target = (
            start * (1 + k.target_low / 100) ** years,
            start * (1 + k.target_high / 100) ** years,
        )
    key = ("kpi", lang, k.id, tuple(k.series), target, projected)
    return charts.get(
        key,
        lambda: svg(
            kpi_chart(
                k.series,
                target=target,
                target_year=k.target_year,
                projected=projected,
                unit=unit,
                lang=lang,
            )
        ),
    )


@router.get("/kpis", response_class=HTMLResponse, response_model=None)
def kpis_page(page: GraphPage) -> Response:
    """规划指标: baseline, now, target, projection, a chart and the movers of every KPI."""
    statuses = kpi_statuses(page.state, page.sessions)
    svgs = {k.id: _kpi_svg(k, page.lang) for k in statuses}
    return page.render("kpis.html", kpis=statuses, charts=svgs)


def _kpi_rows(statuses: list[KpiStatus], lang: str) -> list[dict[str, object]]:
    rows = []
    for k in statuses:
        row = {c: getattr(k, c, None) for c in KPI_EXPORT_COLUMNS}
        row["kpi_id"] = k.id
        row["kpi_name"] = k.name_zh if lang == "zh" else k.name_en
        row["movers"] = "；".join(f"{m['name']} ({float(m['p_land']):.0%})" for m in k.movers)  # type: ignore[arg-type]
        rows.append(row)
    return rows


@router.get("/kpis/export", response_model=None)
def export_kpis(
    page: GraphPage, format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx"
) -> Response:
    """The KPI table as Excel (localized headers, formats, a sheet saying what it is) or CSV."""
    state = page.state
    assert state.park is not None
    statuses = kpi_statuses(state, page.sessions)
    return export_response(
        _kpi_rows(statuses, page.lang),
        KPI_EXPORT_COLUMNS,
        name=f"kpis-{state.park.id}",
        format=format,
        lang=page.lang,
        about={
            "park": state.park.id,
            "snapshot": state.snapshot_id,
            "baseline_year": state.park.baseline_year,
        },
    )


@router.get("/kpis/coverage", response_class=HTMLResponse, response_model=None)
def coverage_page(page: GraphPage) -> Response:
    """链条覆盖变化: every link at the baseline and now, the gaps closed and who closed them."""
    links = link_coverage(page.state)
    return page.render(
        "coverage.html",
        links=links,
        closed=sum(1 for x in links if x["closed"]),
        gaps_then=sum(1 for x in links if x["gap_type_baseline"] != "covered"),
        gaps_now=sum(1 for x in links if x["gap_type_now"] != "covered"),
    )


@router.get("/plan", response_class=HTMLResponse, response_model=None)
def contact_plan_page(
    page: ServingPage,
    capacity: Annotated[int | None, Query(gt=0, le=10_000)] = None,
) -> Response:
    """招商计划: per target its shortfall, the expected firms with the plan and with the
    value-only list at the same capacity, the tax given up and the price; a capacity what-if;
    this quarter's list per track, each firm one step from the pipeline."""
    from api.serving.plan import contact_plan, plan_report

    served = contact_plan(page.state, page.sessions, capacity=capacity)
    return page.render("contact_plan.html", report=plan_report(served), capacity=capacity)


@router.post("/plan/pipeline", response_model=None)
def plan_to_pipeline(
    page: ServingPage,
    recent: RecentDep,
    track: Annotated[str, Form(max_length=40)],
    capacity: Annotated[int | None, Form(gt=0, le=10_000)] = None,
) -> Response:
    """The quarter's list of a track onto the pipeline in one step. A team lead's (or an
    admin's) go to the active officers round-robin, in the list's order; an officer's are their
    own. Firms already on the track's pipeline are left as they are; the plan solved next counts
    the new leads as open pipeline and no longer as its candidates."""
    from api.crm import pipeline as service
    from api.crm.people import list_users
    from api.serving.plan import contact_plan, plan_report
    from data.pipeline import ASSIGNERS
    from data.reference import track_error

    state = page.state
    assert state.park is not None
    error = track_error(state.park, track)
    if error is not None:
        raise InvalidInput(error)
    items = plan_report(contact_plan(state, page.sessions, capacity=capacity))["lists"][track]
    officers = (
        [
            str(u["username"])
            for u in list_users(page.sessions)
            # people who sign in: not the role's scripts user an API key acts as
            if u["role"] == "officer" and not u["disabled"] and u["can_sign_in"]
        ]
        if page.me.role in ASSIGNERS
        else []
    )
    for i, item in enumerate(items):
        owner = officers[i % len(officers)] if officers else None
        with suppress(Conflict):  # already on the pipeline
            service.create_lead(
                state,
                page.sessions,
                page.me,
                enterprise_id=str(item["enterprise_id"]),
                track=track,
                owner=owner,
            )
            recent.add(str(item["enterprise_id"]))
    extra = {"capacity": capacity} if capacity else {}
    return page.redirect("/plan", default="/plan", saved=track, **extra)
