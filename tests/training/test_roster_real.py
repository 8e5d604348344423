"""Lookalikes and the roster fit on the real A-share universe (Jing'an as the park), out of
sample: the small version of ``bench/lookalikes.py``, keeping its figures from regressing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.lookalikes import real_universe as import_real_universe
from data import columns as C
from data.reference import default_chains, default_parks
from data.universe import load_universe, universe_as_of
from features.build import feature_context
from features.similarity import firm_vectors, precision_at_k
from training.roster import holdouts

# measured in this repository (bench/lookalikes.py); the floors leave room for noise only
PRECISION_L3_FLOOR = 0.27  # measured 0.287 without the industry code (random: 0.006)
PRECISION_L1_FLOOR = 0.50  # measured 0.541


@pytest.fixture(scope="module")
def real_universe(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_real_universe(tmp_path_factory.mktemp("real") / "u", shared_data)


def test_lookalikes_agree_with_shenwan_without_the_industry_code(real_universe: Path) -> None:
    tables = load_universe(real_universe)
    labels = tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.INDUSTRY_CODE]
    vectors = firm_vectors(tables, with_industry=False)
    l3 = precision_at_k(vectors, labels, prefix=6)
    l1 = precision_at_k(vectors, labels, prefix=2)
    assert len(l3) > 3_500  # every firm with products and a Shenwan class
    assert l3["precision"].mean() >= PRECISION_L3_FLOOR
    assert l1["precision"].mean() >= PRECISION_L1_FLOOR


def test_district_holdout_the_roster_fit_beats_the_baselines(real_universe: Path) -> None:
    tables = load_universe(real_universe)
    park = default_parks()["shibei"]
    fc = feature_context(park=park, chains=default_chains(), tables=tables, keep_vectors=True)
    results, _ = holdouts(
        fc, tables["enterprises"], as_of=universe_as_of(real_universe), levels=("district",)
    )
    result = results["district"]
    s = result.summary()
    assert s["roster_district_places"] >= 25  # 29 districts with ≥ 15 listed firms
    assert s["roster_district_roster_fit_auc"] > 0.63  # measured 0.662
    for baseline in ("random", "industry_share", "size"):
        assert s["roster_district_roster_fit_auc"] > s[f"roster_district_{baseline}_auc"]
    assert result.earned.get("roster_fit", 0) > 0
    jingan = result.places.set_index("place").loc["上海市/静安区"]
    assert jingan["firms"] >= 15


def test_similar_to_shujugang_from_the_command_line(real_universe: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "similar",
            "603881",
            "--data",
            str(real_universe),
            "--format",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    found = pd.DataFrame(json.loads(run.stdout))
    assert len(found) == 10 and "stock:603881" not in set(found["enterprise_id"])
    # data-centre operators among 上海数据港's ten: 奥飞数据, 光环新网, 城地香江, 网宿科技
    idc = {"stock:300738", "stock:300383", "stock:603887", "stock:300017"}
    assert len(idc & set(found["enterprise_id"])) >= 2
    assert found["reasons"].str.contains("IDC").any()
    bad = subprocess.run(
        [sys.executable, "-m", "api.cli", "similar", "999999", "--data", str(real_universe)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "stock:999999" in bad.stderr + bad.stdout
