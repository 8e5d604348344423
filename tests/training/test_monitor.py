"""Realised against predicted tax with a known answer: landed firms whose true tax is drawn from
a log-normal the calibrated model's P10–P90 band holds 80 % of, and a miscalibrated model (bands
a third as wide, P50 40 % low) that holds about 20 %."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from data import columns as C
from data.reference import default_parks
from data.settings import Settings
from models import registry
from training.monitor import coverage_summary, drifts, log_monitor, realised_against_predicted

Z90 = 1.2815516  # the standard normal's 90th percentile
SIGMA = 0.5
N = 2_000


def _landed(
    rng: np.random.Generator, version: str, *, width: float, shift: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    mu = rng.normal(np.log(500.0), 1.0, N)
    ids = [f"v{version}-{i}" for i in range(N)]
    centre = mu + np.log(shift)
    landed = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids,
            C.TRACK: "hq",
            "landed_on": [date(2022, 6, 1)] * N,
            "tax_p10_wan_cny": np.exp(centre - width * Z90 * SIGMA),
            "tax_p50_wan_cny": np.exp(centre),
            "tax_p90_wan_cny": np.exp(centre + width * Z90 * SIGMA),
            "model_version": version,
        }
    )
    truth = np.exp(mu + SIGMA * rng.standard_normal(N))
    tax = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids * 3,
            # the landing year is a part year (far off here: it must be ignored), then the first
            # full year, then a later year (growth the prediction did not promise)
            C.YEAR: [2022] * N + [2023] * N + [2024] * N,
            C.REVENUE: np.nan,
            C.TAX_PAID: np.concatenate([truth * 0.01, truth, truth * 3]),
        }
    )
    return landed, tax


@pytest.fixture(scope="module")
def figures() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    good, good_tax = _landed(rng, "1", width=1.0, shift=1.0)
    bad, bad_tax = _landed(rng, "2", width=1 / 3, shift=0.6)
    unmeasured = good.head(3).assign(
        **{C.ENTERPRISE_ID: ["late-1", "late-2", "late-3"], "landed_on": date(2024, 3, 1)}
    )
    landed = pd.concat([good, bad, unmeasured], ignore_index=True)
    firms = realised_against_predicted(landed, pd.concat([good_tax, bad_tax], ignore_index=True))
    return firms, coverage_summary(firms)


def test_a_calibrated_band_holds_about_80_percent_and_a_miscalibrated_one_far_less(
    figures: tuple,
) -> None:
    firms, summary = figures
    assert len(firms) == 2 * N  # the three landed in 2024 have no full year after landing yet
    assert set(firms["realised_year"]) == {2023}
    by_version = summary[summary[C.TRACK] == "hq"].set_index("model_version")
    # binomial standard error at 80 % over 2,000 firms: 0.9 points
    assert by_version.loc["1", "coverage"] == pytest.approx(0.80, abs=0.035)
    assert by_version.loc["1", "median_ratio"] == pytest.approx(1.0, abs=0.05)
    # Φ(−0.595) − Φ(−1.449) = 0.20 for the narrow band 40 % low
    assert by_version.loc["2", "coverage"] == pytest.approx(0.20, abs=0.04)
    assert by_version.loc["2", "median_ratio"] == pytest.approx(1 / 0.6, rel=0.06)
    overall = summary[(summary["model_version"] == "all") & (summary[C.TRACK] == "all")].iloc[0]
    assert overall["landed"] == 2 * N


def test_drift_is_flagged_for_the_miscalibrated_version_only(figures: tuple) -> None:
    _, summary = figures
    park = default_parks()["shibei"]
    flagged = drifts(summary, park)
    assert {(d.model_version, d.track) for d in flagged} == {("2", "hq"), ("2", "all")}
    assert "below the park's warning threshold 60%" in flagged[0].message()
    few = park.model_copy(
        update={"monitoring": park.monitoring.model_copy(update={"min_landed": 5_000})}
    )
    assert drifts(summary, few) == []


def test_the_figures_are_logged_to_mlflow(figures: tuple, tmp_path: Path) -> None:
    firms, summary = figures
    settings = Settings(home=tmp_path)
    park = default_parks()["shibei"]
    run_id = log_monitor(settings, park, firms, summary)
    run = MlflowClient(registry.tracking_uri(settings)).get_run(run_id)
    assert run.data.tags["kind"] == "monitor"
    assert run.data.metrics["monitor_v2_hq_coverage"] == pytest.approx(
        float(summary.query("model_version == '2' and track == 'hq'")["coverage"].iloc[0])
    )
    assert run.data.metrics["monitor_landed"] == 2 * N
    artifacts = {
        a.path for a in MlflowClient(registry.tracking_uri(settings)).list_artifacts(run_id)
    }
    assert {"realised_vs_predicted.csv", "realised_vs_predicted_summary.csv"} <= artifacts
