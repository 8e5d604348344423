from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.demo.generator import DemoUniverse, generate, snapshot_id
from data.loaders import load_table
from data.reference import default_parks
from data.schemas import SCHEMAS, Oracle


def _park_members(u: DemoUniverse, park: str) -> pd.Series:
    roster = u.tables["park_roster"]
    return roster.loc[roster[C.PARK_ID] == park, C.ENTERPRISE_ID]


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    pos = label.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_shibei_reproduces_the_plans_aggregates(demo_universe: DemoUniverse) -> None:
    u = demo_universe
    members = _park_members(u, "shibei")
    assert len(members) == 1470
    tax = u.tables["tax_records"]
    latest = tax[(tax[C.YEAR] == tax[C.YEAR].max()) & tax[C.ENTERPRISE_ID].isin(members)]
    assert latest[C.ENTERPRISE_ID].nunique() == 1470
    paid = latest[C.TAX_PAID]
    assert abs((paid >= 10_000).sum() - 16) <= 2
    assert abs((paid >= 1_000).sum() - 78) <= 8
    assert abs((paid >= 100).sum() - 297) <= 30
    assert paid.sum() * 10_000 == pytest.approx(9.5e9, rel=0.10)
    assert paid.nlargest(16).sum() > 0.5 * paid.sum()  # the top 16 carry most of the tax
    firms = u.tables["enterprises"].set_index(C.ENTERPRISE_ID).loc[members]
    assert (firms[C.HQ_TYPE] == "mnc_regional_hq").sum() == 21
    assert firms[C.HQ_TYPE].isin(["national_hq", "regional_hq"]).sum() >= 60
    assert firms[C.IS_LISTED].sum() == 23
    assert firms[C.IS_HIGH_TECH].sum() == 115
    links = u.tables["enterprise_links"]
    big_data = links[
        links[C.ENTERPRISE_ID].isin(members) & links[C.LINK_ID].str.startswith("big_data.")
    ]
    assert big_data[C.ENTERPRISE_ID].nunique() >= 170
    assert (firms[C.DISTRICT] == "静安区").all()


def test_candidates_are_realistic(demo_universe: DemoUniverse) -> None:
    u = demo_universe
    roster = set(u.tables["park_roster"][C.ENTERPRISE_ID])
    firms = u.tables["enterprises"]
    cands = firms[~firms[C.ENTERPRISE_ID].isin(roster)]
    assert len(cands) == 200_000
    tax = u.tables["tax_records"]
    known = tax[(tax[C.YEAR] == 2020) & tax[C.ENTERPRISE_ID].isin(cands[C.ENTERPRISE_ID])]
    ratio = known[C.TAX_PAID] / known[C.REVENUE]
    # A-share figures: median 4.9 %, 5-95 % range 1.0-15.5 %
    assert 0.044 <= ratio.median() <= 0.054
    assert 0.007 <= ratio.quantile(0.05) <= 0.014
    assert 0.125 <= ratio.quantile(0.95) <= 0.19
    revenue = cands[C.REVENUE]
    assert revenue.quantile(0.99) / revenue.median() > 40  # heavy tail
    shares = cands[C.PROVINCE].value_counts(normalize=True)
    assert list(shares.index[:2]) == ["广东省", "江苏省"]
    assert shares[["上海市", "江苏省", "浙江省", "安徽省"]].sum() > 0.2  # Yangtze River Delta
    assert shares.get("西藏自治区", 0) < 0.005
    assert set(cands[C.OWNERSHIP]) == set(C.OWNERSHIPS)
    assert set(cands[C.HQ_TYPE]) == set(C.HQ_TYPES)
    age = (pd.Timestamp("2020-12-31") - cands[C.FOUNDED_ON]).dt.days / 365.25
    assert 5 < age.median() < 15 and age.max() > 30


def test_outreach_history_is_learnable_but_noisy(demo_universe: DemoUniverse) -> None:
    u = demo_universe
    outreach = u.tables["outreach"]
    assert len(outreach) >= 15_000
    assert outreach[C.CONTACTED_ON].min() >= pd.Timestamp("2018-01-01")
    assert outreach[C.CONTACTED_ON].max() <= pd.Timestamp("2020-12-31")
    pending = outreach[outreach[C.OUTCOME] == "pending"]
    assert pending[C.CLOSED_ON].isna().all()
    assert pending[C.CONTACTED_ON].min() > pd.Timestamp(
        "2019-12-31"
    )  # only the last 12 months are open
    resolved = outreach[(outreach[C.OUTCOME] != "pending") & (outreach[C.PARK_ID] == "shibei")]
    assert (resolved[C.CLOSED_ON] >= resolved[C.CONTACTED_ON]).all()
    oracle = u.oracle[u.oracle[C.PARK_ID] == "shibei"]
    merged = resolved.merge(oracle, on=[C.PARK_ID, C.ENTERPRISE_ID, C.TRACK])
    assert len(merged) == len(resolved)
    auc = _auc(merged[C.P_SIGN].to_numpy(), (merged[C.OUTCOME] == "signed").to_numpy())
    assert 0.65 < auc < 0.95, auc  # the oracle knows a lot, but outcomes stay random
    assert not set(outreach[C.ENTERPRISE_ID]) & set(u.tables["park_roster"][C.ENTERPRISE_ID])


def test_every_table_passes_its_schema(demo_universe: DemoUniverse) -> None:
    for name, frame in demo_universe.tables.items():
        SCHEMAS[name].validate(frame, lazy=True)
    Oracle.validate(demo_universe.oracle, lazy=True)
    ids = demo_universe.tables["enterprises"][C.ENTERPRISE_ID]
    assert ids.is_unique
    links = demo_universe.tables["enterprise_links"]
    assert links.groupby(C.ENTERPRISE_ID)[C.SHARE].sum().max() <= 1.0 + 1e-9


def test_same_seed_same_snapshot_other_seed_other_snapshot() -> None:
    a = generate(candidates=5_000, seed=7)
    b = generate(candidates=5_000, seed=7)
    c = generate(candidates=5_000, seed=8)
    assert a.manifest["snapshot_id"] == b.manifest["snapshot_id"] == snapshot_id(b.tables)
    assert a.manifest["snapshot_id"] != c.manifest["snapshot_id"]
    pd.testing.assert_frame_equal(a.oracle, b.oracle)


def test_cli_demo_writes_tables_manifest_and_oracle(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "demo",
            "--candidates",
            "5000",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "firms_tax_ge_10000_wan" in run.stdout and "snapshot" in run.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and manifest["sizes"]["candidates"] == 5_000
    assert {"seed", "sizes", "generator_version", "snapshot_id"} <= set(manifest)
    for name in SCHEMAS:
        result = load_table(out / f"{name}.parquet", table=name)  # the files load back cleanly
        assert result.rejected == 0 and result.cleared == 0, name
        assert result.accepted == manifest["sizes"][name]
    oracle = pd.read_parquet(out / "oracle.parquet")
    assert list(oracle.columns) == [
        C.PARK_ID,
        C.ENTERPRISE_ID,
        C.TRACK,
        C.P_SIGN,
        C.TRUE_TAX,
        C.TRUE_FORM,
        C.TRUE_UNIT_SHARE,
        C.TRUE_UNIT_TAX,
        C.TRUE_GAP_VALUE,
        C.TRUE_VALUE,
        C.ORACLE_EXPECTED_VALUE,
    ]
    # what a candidate would bring: the park's value rule over the tax its true unit would pay
    # here (the group's true tax × the unit's true share) and its true gaps
    park = default_parks()["shibei"]
    worth = park.valuation.chain_worth_wan_cny.missing_broken
    rows = oracle[(oracle[C.PARK_ID] == "shibei") & (oracle[C.TRACK] == "bigdata")]
    firms = pd.read_parquet(out / "enterprises.parquet").set_index(C.ENTERPRISE_ID)
    firms = firms.loc[rows[C.ENTERPRISE_ID]]
    assert set(rows[C.TRUE_FORM]) == set(park.tracks["bigdata"].forms)
    share = rows[C.TRUE_UNIT_SHARE].to_numpy()
    assert ((share > 0) & (share <= 1)).all()
    assert np.allclose(rows[C.TRUE_UNIT_TAX], rows[C.TRUE_TAX] * share, rtol=1e-4, atol=1e-3)
    bound = park.valuation.in_park_tax_share.of(firms[C.INDUSTRY_CODE], firms[C.INDUSTRY_SCHEME])
    assert 0 < (bound < 1).sum() < len(bound)  # some candidates are site-bound (liquor …)
    # a site-bound firm's unit books little whatever its form
    assert np.median(share[bound < 1]) < np.median(share[bound == 1])
    expected = park.valuation.horizon_years * (
        rows[C.TRUE_UNIT_TAX].to_numpy() + rows[C.TRUE_GAP_VALUE].to_numpy() * worth
    )
    assert np.allclose(rows[C.TRUE_VALUE], expected, atol=0.01)
    assert np.allclose(
        oracle[C.ORACLE_EXPECTED_VALUE],
        oracle[C.P_SIGN] * oracle[C.TRUE_VALUE],
        rtol=1e-3,
        atol=0.01,
    )
    assert (rows[C.TRUE_GAP_VALUE] > 0).mean() > 0.05  # chain firms fill gaps


def test_too_few_candidates_is_a_clear_error(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--candidates", "10", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "--candidates: must be at least 1,000" in run.stderr
