"""The Dask engine on a LocalCluster with 2 workers: the same scores as the local engine, and a
``lightgbm.dask``-trained model that round-trips through MLflow like a local one."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from data.settings import Settings
from models import registry
from tests.conftest import Trained
from training.batch import read_scores, score_dask, score_local
from training.train import train

pytestmark = [pytest.mark.dask, pytest.mark.slow]


def test_dask_scores_equal_local_scores(trained: Trained, tmp_path: Path) -> None:
    local = score_local(
        settings=trained.settings,
        data_dir=trained.data_dir,
        out_dir=tmp_path / "local",
        park_id="shibei",
        partition_rows=3_000,
    )
    dask = score_dask(
        settings=trained.settings,
        data_dir=trained.data_dir,
        out_dir=tmp_path / "dask",
        park_id="shibei",
        workers=2,
        partition_rows=3_000,
    )
    assert local.rows == dask.rows > 0 and local.partitions > 1
    a, b = read_scores(tmp_path / "local"), read_scores(tmp_path / "dask")
    pd.testing.assert_frame_equal(a, b)
    assert set(a["track"]) == {"hq", "bigdata"}
    for _, g in a.groupby("track"):
        assert (np.diff(g["score"].to_numpy()) <= 0).all() and g["rank"].tolist() == list(
            range(1, len(g) + 1)
        )


def test_dask_trained_model_round_trips_through_mlflow(trained: Trained, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None, data_dir=trained.data_dir)
    result = train(
        settings=settings, data_dir=trained.data_dir, park_id="shibei", engine="dask", workers=2
    )
    run = registry.client(settings).get_run(result.run_id)
    assert run.data.params["engine"] == "dask" and result.version == "1"
    assert result.metrics["tax_share_within_x2"] > 0.5 and "propensity_auc" in result.metrics
    loaded = registry.load_scorer(settings, "shibei", registry.CHALLENGER)
    holdout = pd.read_parquet(registry.run_artifact(settings, result.run_id, "holdout.parquet"))
    X = holdout[list(loaded.scorer.feature_names)]
    with registry.tracking(settings):
        model = mlflow.pyfunc.load_model(f"models:/{registry.model_name('shibei')}@challenger")
    via_pyfunc = model.predict(X)
    pd.testing.assert_frame_equal(via_pyfunc, loaded.scorer.score(X))
    assert (
        type(loaded.scorer.tax.median_booster).__name__ == "LGBMRegressor"
    )  # .to_local(): a plain model
