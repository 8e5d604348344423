"""The loop from the pipeline to retraining: a lead signed in the pipeline is a positive of the
next training run (read from the service database, as `attract train` reads it)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from api.crm.pipeline import pipeline_outcomes
from api.crm.tables import create_key
from models import registry
from tests.api.conftest import Api
from tests.conftest import Trained
from training.train import train


@pytest.mark.slow
def test_a_signed_lead_is_a_positive_of_the_next_training_run(
    api: Api, trained: Trained, tmp_path: Path
) -> None:
    r = api.client.post(
        "/api/v1/users",
        json={"username": "loop.officer", "role": "officer", "password": "loop-password-1"},
        headers=api.admin,
    )
    assert r.status_code == 201
    officer = {"X-API-Key": create_key(api.app.state.sessions, username="loop.officer")}
    firm = api.client.get(
        "/api/v1/leads", params={"track": "hq", "limit": 1, "offset": 40}, headers=officer
    ).json()["items"][0]["enterprise_id"]
    lead = api.client.post(
        "/api/v1/pipeline", json={"enterprise_id": firm, "track": "hq"}, headers=officer
    ).json()
    for stage in ("contacted", "negotiating", "signed"):
        lead = api.client.patch(
            f"/api/v1/pipeline/{lead['id']}",
            json={"version": lead["version"], "stage": stage},
            headers=officer,
        ).json()
    assert lead["stage"] == "signed"

    outcomes = pipeline_outcomes(api.app.state.sessions, "shibei")
    result = train(
        settings=trained.settings,
        data_dir=trained.data_dir,
        park_id="shibei",
        register=False,
        outcomes=outcomes,
    )
    assert result.metrics["pipeline_signed"] >= 1
    assert result.metrics["pipeline_outcomes"] == len(outcomes)
    assert any("from the pipeline" in note for note in result.notes)
    learnt = pd.read_csv(  # ids as text, as the contract has them
        mlflow.artifacts.download_artifacts(
            run_id=result.run_id,
            artifact_path="pipeline_outcomes.csv",
            dst_path=str(tmp_path),
            tracking_uri=registry.tracking_uri(trained.settings),
        ),
        dtype={"enterprise_id": str},
    )
    row = learnt[learnt["outreach_id"] == f"pipeline-{lead['id']}"]
    assert len(row) == 1
    assert row.iloc[0]["enterprise_id"] == firm and row.iloc[0]["label"] == 1
    assert row.iloc[0]["outcome"] == "signed" and row.iloc[0]["officer"] == "loop.officer"
