"""The data scientist's model page: the champion's metrics in words, against earlier versions,
its training run's plots, and how the tax its leads were promised compares with what landed
firms paid."""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.serving.kpis import realised
from api.serving.memo import Memo
from api.web.common import ModelPage, ServingPage
from api.web.plan import charts
from data.reference import Park
from data.settings import Settings
from models import registry
from models.scorer import LeadScorer
from training.charts import realised_chart, svg, versions_chart
from training.metric_names import HEADLINE, describe

router = APIRouter(include_in_schema=False)
_plots = Memo(size=32)  # a training run's plot files, per run and name


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
    chart = charts.get(key, lambda: svg(versions_chart(frame, labels), size=(6.0, 2.8)))
    return found, chart


@router.get("/model", response_class=HTMLResponse, response_model=None)
def model_page(page: ServingPage) -> Response:
    """The champion: metrics in words, against earlier versions, its run's plots, and how the
    tax its leads were promised compares with what landed firms paid."""
    state, settings, language = page.state, page.settings, page.lang
    assert state.model is not None and state.park is not None
    metrics = [
        {
            "key": k,
            "value": float(v),
            **dict(zip(("zh", "en", "explain", "higher"), describe(k), strict=True)),
        }
        for k, v in sorted(state.model.scorer.metrics.items())
    ]
    found, versions_svg = _versions_table(settings, state.park.id, language)
    result = realised(state, page.sessions)
    realised_svg = (
        charts.get(
            ("realised", language, len(result.firms), float(result.firms["realised_tax"].sum())),
            lambda: svg(realised_chart(result.firms, language), size=(6.0, 3.6)),
        )
        if not result.firms.empty
        else None
    )
    return page.render(
        "model.html",
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
        shares=share_rows(state.model.scorer, language),
        holds=holds_rows(state.model.scorer, state.park),
    )


def holds_rows(scorer: LeadScorer, park: Park) -> list[dict[str, Any]]:
    """Per track, how often this version takes the assumed form to hold, the park YAML's prior
    and the recorded landings it was learnt from (``training.shares.fit_form_holds``)."""
    return [
        {
            "track": track,
            "holds": holds,
            "prior": park.tracks[track].assumed_form_holds if track in park.tracks else None,
            "firms": int(scorer.metrics.get(f"form_holds_{track}_firms", 0)),
        }
        for track, holds in (scorer.form_holds or {}).items()
    ]


def share_rows(scorer: LeadScorer, lang: str) -> list[dict[str, Any]]:
    """Each track's landing forms: the YAML's prior share, the share this version values leads
    at (learnt from landed firms or the prior), its band, the firms it was learnt from and the
    uncertainty of its median (``training.shares``)."""
    rows = []
    for track, forms in scorer.forms.items():
        for form_id, form in forms.items():
            band = scorer.shares.get(track, {}).get(form_id, form.share)
            key = f"share_{track}_{form_id}"
            rows.append(
                {
                    "track": track,
                    "form": form.name_zh if lang == "zh" else form.name_en,
                    "prior": form.share,
                    "band": band,
                    "source": scorer.share_source.get(track, {}).get(form_id, "prior"),
                    "firms": int(scorer.metrics.get(f"{key}_firms", 0)),
                    "sd_log": scorer.metrics.get(f"{key}_sd_log"),
                }
            )
    return rows


def _plot_bytes(settings: Settings, run_id: str, name: str) -> bytes | None:
    def read() -> bytes | None:
        path = registry.run_plot(settings, run_id, name)
        return path.read_bytes() if path is not None else None

    return _plots.get((run_id, name), read)


@router.get("/model/plots/{name}", response_model=None)
def model_plot(page: ModelPage, name: str) -> Response:
    """A plot of the champion's training run (calibration, lift, feature importance, gaps)."""
    model = page.state.model
    assert model is not None
    data = _plot_bytes(page.settings, model.run_id, name)
    if data is None:
        return Response(
            f"no plot {name!r} in run {model.run_id}", status_code=404, media_type="text/plain"
        )
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )
