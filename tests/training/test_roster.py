"""The roster fit: the district hold-out on a universe whose answer is known, P(land) without
history calibrated to the park YAML's base rate, and training that uses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.loaders import write_parquet
from data.settings import Settings
from data.universe import empty_table
from features.similarity import firm_vectors
from models.estimators import RosterPropensity
from models.registry import load_scorer
from tests.conftest import Trained
from training.promote import promote
from training.roster import district_holdout, places_of
from training.train import train

TRADES = {  # every trade is in industry 71: the code's first two characters say nothing
    "idc": ["IDC服务", "数据中心服务", "机柜租用", "带宽租用"],
    "games": ["网络游戏", "手机游戏", "游戏运营", "游戏发行"],
    "pay": ["第三方支付", "支付服务", "收单业务", "跨境支付"],
    "med": ["医疗信息化", "电子病历", "医院信息系统", "互联网医疗"],
}


def universe(seed: int = 3) -> dict[str, pd.DataFrame]:
    """Four districts of 40 firms, each with a favourite trade (70 % of its firms), and 240
    firms elsewhere in no particular trade."""
    rng = np.random.default_rng(seed)
    trades = list(TRADES)
    rows, products = [], []
    for i in range(400):
        if i < 160:
            district = f"区{i // 40}"
            trade = trades[i // 40] if rng.random() < 0.7 else trades[rng.integers(4)]
        else:
            district, trade = f"外{i % 12}", trades[rng.integers(4)]
        eid = f"t:{i}"
        rows.append(
            {
                C.ENTERPRISE_ID: eid,
                C.NAME: f"firm {i}",
                C.PROVINCE: "上海市",
                C.CITY: "上海市",
                C.DISTRICT: district,
                C.REVENUE: float(rng.lognormal(10, 1)),
                C.INDUSTRY_CODE: f"71{rng.integers(10, 99)}",
                C.INDUSTRY_SCHEME: "gbt4754_2017",
                C.OWNERSHIP: "private",
                C.EMPLOYEES: 100,
                C.REVENUE_GROWTH: 0.1,
                C.NET_MARGIN: 0.1,
                C.IS_LISTED: False,
            }
        )
        for name in rng.choice(TRADES[trade], size=2, replace=False):
            products.append({C.ENTERPRISE_ID: eid, C.PRODUCT_ID: f"p:{name}", C.WEIGHT: 0.5})
    names = sorted({n for ns in TRADES.values() for n in ns})
    return {
        "enterprises": pd.DataFrame(rows),
        "products": pd.DataFrame({C.PRODUCT_ID: [f"p:{n}" for n in names], C.NAME: names}),
        "enterprise_products": pd.DataFrame(products),
    }


def test_places_by_office_address_first() -> None:
    firms = pd.DataFrame(
        {
            C.PROVINCE: ["上海市", "广东省", "广东省"],
            C.CITY: ["上海市", "深圳市", "深圳市"],
            C.DISTRICT: ["闸北区", "罗湖区", "罗湖区"],
            C.OFFICE_PROVINCE: ["上海市", "北京市", None],
            C.OFFICE_CITY: ["上海市", "北京市", None],
            C.OFFICE_DISTRICT: ["静安区", "海淀区", None],
        }
    )
    assert list(places_of(firms, "district")) == ["上海市/静安区", "北京市/海淀区", "深圳市/罗湖区"]
    assert list(places_of(firms, "city")) == ["上海市", "北京市", "深圳市"]
    with pytest.raises(ValueError, match="level"):
        places_of(firms, "street")


def test_holdout_finds_what_the_places_have_in_common() -> None:
    tables = universe()
    firms = tables["enterprises"]
    signals = pd.DataFrame(index=firms.index)  # no expansion signals in this universe
    result = district_holdout(firm_vectors(tables), firms, signals, min_firms=30, signal_names=())
    assert list(result.places["place"]) == [f"上海市/区{i}" for i in range(4)]  # 外* have 20 firms
    assert (result.places["held_out"] == 12).all()
    summary = result.summary()
    # what the districts share is their trade, which only the products say
    assert summary["roster_district_roster_fit_auc"] > 0.75
    assert summary["roster_district_industry_share_auc"] < 0.65
    assert summary["roster_district_roster_fit_auc"] > summary["roster_district_random_auc"] + 0.2
    assert result.earned.keys() == {"roster_fit"} and result.earned["roster_fit"] > 0


def test_roster_propensity_is_calibrated_to_the_base_rate() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"roster_fit": rng.random(5_000), "same_province": rng.integers(0, 2, 5_000)})
    X.loc[:99, "roster_fit"] = np.nan  # unknown: the average candidate
    model = RosterPropensity.calibrated(
        X,
        weights={"roster_fit": 4.0, "same_province": 0.4},
        base_rate=0.05,
        measured=["roster_fit"],
    )
    p = model.predict_proba(X)
    assert p.mean() == pytest.approx(0.05, abs=1e-4)
    order = np.argsort(X["roster_fit"].fillna(-1).to_numpy())
    assert p[order[-1]] > p[order[200]]  # more like the roster, likelier to land
    terms = model.contributions(X.iloc[:100])
    assert (terms["roster_fit"] == 0).all()  # missing: no effect
    with pytest.raises(ValueError, match=r"landing_prior\.factors: no_such"):
        RosterPropensity.calibrated(X, weights={"no_such": 1.0}, base_rate=0.05)


def test_without_outreach_training_uses_the_roster(trained: Trained, tmp_path: Path) -> None:
    data = tmp_path / "no-history"
    shutil.copytree(trained.data_dir, data)
    write_parquet(empty_table("outreach"), data / "outreach.parquet")
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None, data_dir=data)
    result = train(settings=settings, data_dir=data, park_id="shibei")
    assert any("P(land) from the roster" in n for n in result.notes)
    assert result.metrics["roster_district_places"] >= 5
    for ranking in ("random", "industry_share", "size", "roster_fit", "roster_fit_signals"):
        assert 0 <= result.metrics[f"roster_district_{ranking}_auc"] <= 1
    promote(settings=settings, park_id="shibei")
    scorer = load_scorer(settings, "shibei").scorer
    assert scorer.p_land_source == "roster"
    assert isinstance(scorer.propensity, RosterPropensity)
    # the hand-set factors come from the park YAML, the measured ones from the hold-out
    assert scorer.propensity.weights["office_in_park_city"] == 0.7
    assert set(scorer.propensity.measured) <= {
        "roster_fit",
        "employee_growth",
        "rd_staff_growth",
        "office_moved",
        "funding_recency",
    }
