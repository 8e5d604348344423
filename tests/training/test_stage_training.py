"""Training fits P(land | stage, days in stage), logs its table and bundles it with the scorer."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data.pipeline import CONTACTED, LANDED, NEGOTIATING, NEW, SIGNED
from data.reference import default_parks
from models import registry
from tests.conftest import Trained
from training.train import fit_stages

PARK = default_parks()["shibei"]


def _signed_leads(n: int, *, landed: int) -> pd.DataFrame:
    rows = []
    for lead in range(n):
        moves = [(NEW, "2023-01-02"), (CONTACTED, "2023-02-01"), (NEGOTIATING, "2023-03-01")]
        moves += [(SIGNED, "2023-04-03")]
        if lead < landed:
            moves += [(LANDED, "2023-06-01")]
        previous = None
        for stage, day in moves:
            rows.append(
                {
                    "lead_id": lead,
                    "track": "hq",
                    "at": pd.Timestamp(day, tz="UTC"),
                    "from_stage": previous,
                    "to_stage": stage,
                }
            )
            previous = stage
    return pd.DataFrame(rows)


def test_without_events_the_table_is_the_park_yamls_prior() -> None:
    stages, metrics, _ = fit_stages(
        park=PARK, stage_events=None, as_of=None, fallback_as_of=date(2020, 12, 31)
    )
    assert stages is not None and PARK.stage_probabilities is not None
    assert metrics["stage_p_land_signed"] == PARK.stage_probabilities.prior[SIGNED].p_land
    assert metrics["stage_events"] == 0


def test_the_events_are_read_on_the_day_of_the_latest_one_by_default() -> None:
    # 30 signed leads, 15 landed on 2023-06-01: read that day the other 15 are open (censored),
    # so every known fate is a landing: (15 × 1 + 10 × 0.7) / 25
    stages, metrics, note = fit_stages(
        park=PARK,
        stage_events=_signed_leads(30, landed=15),
        as_of=None,
        fallback_as_of=date(2020, 12, 31),
    )
    assert stages is not None and stages.as_of_ == pd.Timestamp("2023-06-02", tz="UTC")
    assert metrics["stage_p_land_signed"] == pytest.approx((15 + 7) / 25)
    assert "30 pipeline leads" in note


def test_a_training_run_logs_the_stage_table_and_the_scorer_carries_it(trained: Trained) -> None:
    artifacts = {
        a.path for a in registry.client(trained.settings).list_artifacts(trained.result.run_id)
    }
    assert "stage_probabilities.csv" in artifacts
    loaded = registry.load_scorer(trained.settings, "shibei")
    stages = loaded.scorer.stages
    assert stages is not None
    assert stages.p_land(stage=SIGNED, days_in_stage=5, entry_p_land=0.2) == pytest.approx(0.7)
