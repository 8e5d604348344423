"""The strategist's and the data scientist's pages: 规划指标 (the plan's KPIs with a chart each and
the leads that would move them), 链条覆盖变化 (each link at the plan's baseline and now), the
KPI export, and the model page (metrics in words, the champion against earlier versions, the
training run's plots, realised-against-predicted tax). Same services as ``/api/v1/kpis``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.export import export_response
from api.memo import Memo
from api.pages import _gate, _lang, _render
from api.services.kpis import kpi_statuses, link_coverage, realised
from api.state import ServiceState
from data.settings import Settings
from industry_graph.kpis import KpiStatus
from models import registry
from training.charts import kpi_chart, realised_chart, svg, versions_chart
from training.metric_names import HEADLINE, describe

router = APIRouter(include_in_schema=False)
_charts = Memo(size=256)  # SVG text per chart and its data
_plots = Memo(size=32)  # a training run's plot files, per run and name

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


def _cached_svg(key: tuple[object, ...], make: Callable[[], str]) -> str:
    return _charts.get(key, make)


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
    return _cached_svg(
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
def kpis_page(request: Request, lang: str | None = None) -> Response:
    """规划指标: baseline, now, target, projection, a chart and the movers of every KPI."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    statuses = kpi_statuses(state, request.app.state.sessions)
    charts = {k.id: _kpi_svg(k, language) for k in statuses}
    return _render(request, "kpis.html", language, kpis=statuses, charts=charts)


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
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
    lang: str | None = None,
) -> Response:
    """The KPI table as Excel (localized headers, formats, a sheet saying what it is) or CSV."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    assert state.park is not None
    statuses = kpi_statuses(state, request.app.state.sessions)
    return export_response(
        _kpi_rows(statuses, language),
        KPI_EXPORT_COLUMNS,
        name=f"kpis-{state.park.id}",
        format=format,
        lang=language,
        about={
            "park": state.park.id,
            "snapshot": state.snapshot_id,
            "baseline_year": state.park.baseline_year,
        },
    )


@router.get("/kpis/coverage", response_class=HTMLResponse, response_model=None)
def coverage_page(request: Request, lang: str | None = None) -> Response:
    """链条覆盖变化: every link at the baseline and now, the gaps closed and who closed them."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    links = link_coverage(state)
    closed = sum(1 for x in links if x["closed"])
    gaps_then = sum(1 for x in links if x["gap_type_baseline"] != "covered")
    gaps_now = sum(1 for x in links if x["gap_type_now"] != "covered")
    return _render(
        request,
        "coverage.html",
        language,
        links=links,
        closed=closed,
        gaps_then=gaps_then,
        gaps_now=gaps_now,
    )


def _versions_table(
    settings: Settings, park: str, lang: str
) -> tuple[list[dict[str, Any]], str | None]:
    found = registry.versions(settings, park)
    if not found:
        return [], None
    frame = pd.DataFrame(
        [{"version": v["version"], **{k: v["metrics"].get(k) for k in HEADLINE}} for v in found]
    )
    frame = frame.iloc[::-1].reset_index(drop=True)  # oldest first for the chart
    labels = [(k, str(describe(k)[0 if lang == "zh" else 1])) for k in HEADLINE]
    key = (
        "versions",
        lang,
        park,
        tuple(frame["version"]),
        tuple(frame.fillna(-1).to_numpy().ravel().tolist()),
    )
    chart = _cached_svg(key, lambda: svg(versions_chart(frame, labels), size=(6.0, 2.8)))
    return found, chart


@router.get("/model", response_class=HTMLResponse, response_model=None)
def model_page(request: Request, lang: str | None = None) -> Response:
    """The champion: metrics in words, against earlier versions, its run's plots, and how the
    tax its leads were promised compares with what landed firms paid."""
    language = _lang(request, lang)
    blocked = _gate(request, language, "data", "graph", "model")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    assert state.model is not None and state.park is not None
    settings: Settings = request.app.state.settings
    metrics = [
        {
            "key": k,
            "value": float(v),
            **dict(zip(("zh", "en", "explain", "higher"), describe(k), strict=True)),
        }
        for k, v in sorted(state.model.scorer.metrics.items())
    ]
    found, versions_svg = _versions_table(settings, state.park.id, language)
    result = realised(state, request.app.state.sessions)
    realised_svg = (
        _cached_svg(
            ("realised", language, len(result.firms), float(result.firms["realised_tax"].sum())),
            lambda: svg(realised_chart(result.firms, language), size=(6.0, 3.6)),
        )
        if not result.firms.empty
        else None
    )
    return _render(
        request,
        "model.html",
        language,
        metrics=metrics,
        headline=[(k, describe(k)) for k in HEADLINE],
        versions=found,
        versions_svg=versions_svg,
        plots=[p for p in registry.PLOTS if _plot_bytes(settings, state.model.run_id, p)],
        mlflow_url=registry.run_ui_url(settings, state.park.id, state.model.run_id),
        realised=result,
        realised_svg=realised_svg,
        threshold=state.park.monitoring.coverage_warning_below,
        min_landed=state.park.monitoring.min_landed,
    )


def _plot_bytes(settings: Settings, run_id: str, name: str) -> bytes | None:
    def read() -> bytes | None:
        path = registry.run_plot(settings, run_id, name)
        return path.read_bytes() if path is not None else None

    return _plots.get((run_id, name), read)


@router.get("/model/plots/{name}", response_model=None)
def model_plot(request: Request, name: str) -> Response:
    """A plot of the champion's training run (calibration, lift, feature importance, gaps)."""
    blocked = _gate(request, "zh", "model")
    if blocked is not None:
        return blocked
    state: ServiceState = request.app.state.holder.current
    assert state.model is not None
    data = _plot_bytes(request.app.state.settings, state.model.run_id, name)
    if data is None:
        return Response(
            f"no plot {name!r} in run {state.model.run_id}",
            status_code=404,
            media_type="text/plain",
        )
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )
