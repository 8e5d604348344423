"""Realised against predicted: did the firms that landed pay the tax the model promised?

For every landed firm the pipeline stored the tax P10 / P50 / P90 (万元 a year) and the model
version when the firm became a lead. Its **realised** tax is its tax record of the latest full
year after the landing year (the landing year itself is a part year). Per model version and
track (and over all):

- **coverage** — the share of landed firms whose realised tax lies in [P10, P90]; nominally 80 %
  for a calibrated model, lower when the bands are too narrow or off-centre;
- **within ×2** — the share with realised tax between P50 / 2 and P50 × 2;
- **median ratio** — median realised / P50 (below 1: the firms pay less than promised).

``attract monitor`` logs the figures to MLflow (a ``monitor-<park>`` run of the park's
experiment, with the per-firm table and the chart) and warns when coverage over at least
``monitoring.min_landed`` firms falls below ``monitoring.coverage_warning_below``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from data import columns as C
from data.reference import Park
from data.settings import Settings
from models import registry

LANDED_COLUMNS = (
    C.ENTERPRISE_ID,
    C.TRACK,
    "landed_on",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "model_version",
)
ALL = "all"


def realised_against_predicted(landed: pd.DataFrame, tax_records: pd.DataFrame) -> pd.DataFrame:
    """One row per landed firm and track with a tax record after its landing year and a stored
    band: the band, the realised year and tax, and whether it fell in the band and within ×2.
    Firms without such a record yet (or landed without a stored band) are left out."""
    band = landed.dropna(
        subset=["tax_p10_wan_cny", "tax_p50_wan_cny", "tax_p90_wan_cny", "landed_on"]
    ).copy()
    band["landed_year"] = pd.to_datetime(band["landed_on"]).dt.year.astype(int)
    tax = tax_records.dropna(subset=[C.TAX_PAID])[[C.ENTERPRISE_ID, C.YEAR, C.TAX_PAID]]
    tax = tax[tax[C.ENTERPRISE_ID].isin(set(band[C.ENTERPRISE_ID]))]
    joined = band.merge(tax, on=C.ENTERPRISE_ID, how="inner")
    joined = joined[joined[C.YEAR].astype(int) > joined["landed_year"]]
    first = joined.sort_values(C.YEAR).drop_duplicates([C.ENTERPRISE_ID, C.TRACK], keep="first")
    out = first.rename(columns={C.YEAR: "realised_year", C.TAX_PAID: "realised_tax"})
    realised = out["realised_tax"].to_numpy(float)
    p50 = out["tax_p50_wan_cny"].to_numpy(float)
    out["in_band"] = (realised >= out["tax_p10_wan_cny"].to_numpy(float)) & (
        realised <= out["tax_p90_wan_cny"].to_numpy(float)
    )
    out["within_x2"] = (realised >= p50 / 2) & (realised <= p50 * 2)
    out["ratio"] = np.where(p50 > 0, realised / np.where(p50 > 0, p50, 1.0), np.nan)
    out["model_version"] = out["model_version"].astype(object).fillna("unknown").astype(str)
    columns = [*LANDED_COLUMNS, "realised_year", "realised_tax", "in_band", "within_x2", "ratio"]
    return out[columns].sort_values([C.TRACK, C.ENTERPRISE_ID]).reset_index(drop=True)


def coverage_summary(firms: pd.DataFrame) -> pd.DataFrame:
    """Per model version and track, then per model version over all tracks and over everything:
    landed firms, coverage, within ×2, median ratio."""
    if firms.empty:
        return pd.DataFrame(
            columns=["model_version", C.TRACK, "landed", "coverage", "within_x2", "median_ratio"]
        )
    parts = [
        firms,
        firms.assign(**{C.TRACK: ALL}),
        firms.assign(model_version=ALL, **{C.TRACK: ALL}),
    ]
    every = pd.concat(parts, ignore_index=True)
    summary = (
        every.groupby(["model_version", C.TRACK], sort=True)
        .agg(
            landed=(C.ENTERPRISE_ID, "size"),
            coverage=("in_band", "mean"),
            within_x2=("within_x2", "mean"),
            median_ratio=("ratio", "median"),
        )
        .reset_index()
    )
    summary = summary.drop_duplicates(["model_version", C.TRACK, "landed", "coverage"])
    return summary.round({"coverage": 4, "within_x2": 4, "median_ratio": 4}).reset_index(drop=True)


@dataclass(frozen=True)
class Drift:
    """A group whose coverage fell below the park's threshold."""

    model_version: str
    track: str
    landed: int
    coverage: float
    threshold: float

    def message(self, lang: str = "en") -> str:
        """One line for the console and the page."""
        if lang == "zh":
            return (
                f"模型 v{self.model_version}（{self.track}）的税收 P10–P90 区间只覆盖了 {self.landed} 家"
                f"落地企业中 {self.coverage:.0%} 的实际税收，低于园区预警阈值 {self.threshold:.0%}"
                "（名义 80%）：请重新训练或校准税收模型"
            )
        return (
            f"tax bands of model v{self.model_version} ({self.track}) held the realised tax of "
            f"{self.coverage:.0%} of {self.landed} landed firms, below the park's warning "
            f"threshold {self.threshold:.0%} (nominal 80 %): retrain or recalibrate the tax model"
        )


def drifts(summary: pd.DataFrame, park: Park) -> list[Drift]:
    """Groups (model version × track, over enough firms) below the coverage threshold."""
    rule = park.monitoring
    out = []
    for row in summary.to_dict("records"):
        version, track = str(row["model_version"]), str(row[C.TRACK])
        landed, coverage = int(row["landed"]), float(row["coverage"])
        if version != ALL and landed >= rule.min_landed and coverage < rule.coverage_warning_below:
            out.append(Drift(version, track, landed, coverage, rule.coverage_warning_below))
    return out


def _metric_key(version: str, track: str, name: str) -> str:
    return f"monitor_v{version}_{track}_{name}" if version != ALL else f"monitor_{name}"


def log_monitor(
    settings: Settings,
    park: Park,
    firms: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    plot: Callable[[pd.DataFrame, Path], None] | None = None,
) -> str:
    """Log the figures to a ``monitor-<park>`` MLflow run; returns its run id."""
    with registry.start_run(settings, park.id, f"monitor-{park.id}") as run:
        mlflow.set_tags({"kind": "monitor", "park": park.id})
        metrics: dict[str, float] = {}
        for row in summary.to_dict("records"):
            version, track = str(row["model_version"]), str(row[C.TRACK])
            if version == ALL and track != ALL:
                continue
            for name in ("landed", "coverage", "within_x2"):
                metrics[_metric_key(version, track, name)] = float(row[name])
        mlflow.log_metrics(metrics)
        mlflow.log_param("coverage_warning_below", park.monitoring.coverage_warning_below)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            firms.to_csv(folder / "realised_vs_predicted.csv", index=False)
            summary.to_csv(folder / "realised_vs_predicted_summary.csv", index=False)
            if plot is not None and not firms.empty:
                plot(firms, folder / "realised_vs_predicted.png")
            mlflow.log_artifacts(str(folder))
        return str(run.info.run_id)
