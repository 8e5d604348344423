from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from data import columns as C
from data.reference import Eligibility, Rule, default_parks
from industry_graph.gaps import LeadValue
from models.estimators import LandingPropensityModel, PriorPropensity, TaxYieldModel
from models.ranking import eligible, mean_ndcg, value_captured


def _tax_data(n: int = 3_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    log_rev = rng.normal(7, 1.5, n)
    rate = rng.choice([0.02, 0.05, 0.12], n)
    tax = np.exp(log_rev) * rate * np.exp(rng.normal(0, 0.3, n))
    last = tax * np.exp(rng.normal(0, 0.1, n))
    X = pd.DataFrame(
        {"log_revenue": log_rev, "industry_tax_rate": rate, "log_last_tax": np.log1p(last)}
    )
    X.loc[rng.random(n) < 0.5, "log_last_tax"] = np.nan  # half the firms have no history
    return X, tax


def test_tax_quantiles_never_cross_and_history_helps() -> None:
    X, y = _tax_data()
    model = TaxYieldModel(n_estimators=150).fit(X.iloc[:2000], y[:2000])
    pred = model.predict(X.iloc[2000:])
    assert (pred["tax_p10_wan_cny"] <= pred["tax_p50_wan_cny"]).all()
    assert (pred["tax_p50_wan_cny"] <= pred["tax_p90_wan_cny"]).all()
    err = np.abs(np.log10(pred["tax_p50_wan_cny"].to_numpy()) - np.log10(y[2000:]))
    with_history = X.iloc[2000:]["log_last_tax"].notna().to_numpy()
    assert np.median(err[with_history]) < np.median(err[~with_history])
    contrib = model.contributions(X.iloc[:5])
    assert list(contrib.columns) == list(X.columns)


def test_tax_band_is_conformal_and_firms_without_revenue_still_get_a_prediction() -> None:
    X, y = _tax_data(n=6_000, seed=3)
    model = TaxYieldModel(n_estimators=150).fit(X.iloc[:4000], y[:4000])
    pred = model.predict(X.iloc[4000:])
    inside = (y[4000:] >= pred["tax_p10_wan_cny"]) & (y[4000:] <= pred["tax_p90_wan_cny"])
    assert abs(inside.mean() - 0.8) < 0.05  # the conformal offset makes P10–P90 cover 80 %
    no_revenue = X.iloc[4000:4010].assign(log_revenue=np.nan)
    level = model.predict(no_revenue)  # the level boosters answer: a finite, ordered band
    assert np.isfinite(level.to_numpy()).all() and (level["tax_p50_wan_cny"] > 0).all()
    with pytest.raises(ValueError, match="0 < tax < revenue"):
        TaxYieldModel().fit(X.iloc[:10], y[:10])


def test_unfitted_models_say_so() -> None:
    with pytest.raises(NotFittedError):
        TaxYieldModel().predict(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(NotFittedError):
        LandingPropensityModel().predict_proba(pd.DataFrame({"a": [1.0]}))


def test_propensity_is_calibrated_and_learns_the_signal() -> None:
    rng = np.random.default_rng(1)
    n = 12_000  # 1,600 calibration rows: their signing rate is within ~0.01 of the true one
    X = pd.DataFrame({"growth": rng.normal(0, 1, n), "noise": rng.normal(0, 1, n)})
    p_true = 1 / (1 + np.exp(-(-2 + 1.2 * X["growth"])))
    y = (rng.random(n) < p_true).astype(int)
    model = LandingPropensityModel(n_estimators=200).fit(X.iloc[:8000], y[:8000])
    p = model.predict_proba(X.iloc[8000:])
    assert ((p >= 0) & (p <= 1)).all()
    assert abs(p.mean() - y[8000:].mean()) < 0.03
    assert np.corrcoef(p, p_true[8000:])[0, 1] > 0.8
    assert p.max() < 1.0
    # the calibration keeps the booster's order: firms it tells apart keep different P(land)
    raw = model.booster_.predict_proba(X.iloc[8000:])[:, 1]
    assert np.unique(np.round(p, 9)).size == np.unique(np.round(raw, 9)).size
    with pytest.raises(ValueError, match="both signed and unsigned"):
        LandingPropensityModel().fit(X, np.zeros(n))


def test_prior_propensity_is_documented_direction() -> None:
    base = {
        "gap_value": 0.0,
        "synergy": 0.0,
        "yangtze_delta": 0.0,
        "hq_mnc": 0.0,
        "hq_national": 0.0,
        "hq_regional": 0.0,
        "distance_km": 500.0,
    }
    frame = pd.DataFrame([base, {**base, "gap_value": 1.0}, {**base, "distance_km": 2000.0}])
    p = PriorPropensity().predict_proba(frame)
    assert p[1] > p[0] > p[2]


def test_lead_value_is_tax_plus_chain_over_the_horizon() -> None:
    rule = LeadValue(horizon_years=5, chain_wan_cny_per_year=500, tax_weight=1.0, chain_weight=2.0)
    chain, value = rule.parts(
        tax_p50=np.array([100.0, 0.0, 100.0]), gap_value=np.array([0, 1, 0.5])
    )
    assert chain.tolist() == [0.0, 500.0, 250.0]
    assert value.tolist() == [500.0, 5000.0, 5 * (100 + 2 * 250)]
    # a negative tax prediction or a gap value above 1 is clipped, not extrapolated
    chain, value = rule.parts(tax_p50=np.array([-5.0]), gap_value=np.array([3.0]))
    assert chain.tolist() == [500.0] and value.tolist() == [5000.0]


def test_the_parks_value_rules_come_from_their_yaml() -> None:
    shibei = default_parks()["shibei"]
    rule = LeadValue.of(shibei, "bigdata")
    assert rule.horizon_years == shibei.valuation.horizon_years == 5
    assert rule.chain_wan_cny_per_year == shibei.valuation.chain_worth_wan_cny.missing_broken
    assert LeadValue.of(default_parks()["nantong"], "smart_sensing").chain_weight == 2.0


def test_value_captured_against_hindsight() -> None:
    frame = pd.DataFrame(
        {
            C.CAMPAIGN: ["a"] * 4 + ["b"] * 3 + ["c"] * 2,
            "realised_value": [0, 100, 0, 300, 50, 0, 0, 0, 0],
            "perfect": [0, 2, 1, 3, 1, 0, 0, 0, 0],
            "worst": [3, 2, 1, 0, 0, 1, 2, 0, 0],
        }
    )
    # campaign c realised nothing: left out; a: best 2 = 400; b: best = 50
    assert value_captured(frame, score_col="perfect", k=2) == 1.0
    assert value_captured(frame, score_col="worst", k=2) == (100 / 400 + 0 / 50) / 2
    assert value_captured(frame, score_col="worst", k=4) == (400 / 400 + 50 / 50) / 2


def test_eligibility_rules() -> None:
    firms = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["a", "b", "c", "d"],
            C.REVENUE: [50_000.0, 500.0, 300_000.0, 60_000.0],
            C.HQ_TYPE: ["regional_hq", "none", "none", "none"],
            C.OWNERSHIP: ["private", "private", "private", "foreign"],
            C.IS_HIGH_TECH: [True, False, False, True],
        }
    )
    links = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["b", "c"],
            C.LINK_ID: ["big_data.security", "iot.platform"],
            C.SHARE: [1.0, 1.0],
        }
    )
    hq = Eligibility(
        all_of=(Rule(min_revenue_wan_cny=20_000),),
        any_of=(Rule(hq_types=("regional_hq",)), Rule(min_revenue_wan_cny=250_000)),
    )
    assert eligible(hq, firms, links).tolist() == [True, False, True, False]
    data = Eligibility(all_of=(Rule(chains=("big_data",)),))
    assert eligible(data, firms, links).tolist() == [False, True, False, False]
    # an industry the track does not recruit, whatever its size: c is a property developer on
    # Shenwan's codes, d on GB/T 4754's 7010 (a prefix of another scheme's code does not count)
    coded = firms.assign(
        **{
            C.INDUSTRY_CODE: ["6511", "430101", "430101", "7010"],
            C.INDUSTRY_SCHEME: ["gbt4754_2017", "sw2021", "sw2021", "gbt4754_2017"],
        }
    )
    property_out = (Rule(industry_codes={"gbt4754_2017": ("701",), "sw2021": ("4301",)}),)
    no_property = Eligibility(all_of=hq.all_of, any_of=hq.any_of, none_of=property_out)
    assert eligible(no_property, coded, links).tolist() == [True, False, False, False]
    assert eligible(Eligibility(none_of=property_out), coded, links).tolist() == [
        True,
        False,
        False,
        False,
    ]
    sw_only = (Rule(industry_codes={"sw2021": ("701",)}),)
    assert eligible(Eligibility(none_of=sw_only), coded, links).all()
    # a rule without a condition would hold for every firm (in none_of: an empty track)
    with pytest.raises(ValueError, match="at least one condition"):
        Rule()
    with pytest.raises(ValueError, match="industry_codes"):
        Rule(industry_codes={"sw2021": ()})


def test_ndcg_skips_campaigns_without_a_relevant_contact() -> None:
    frame = pd.DataFrame(
        {
            "campaign": ["a"] * 3 + ["b"] * 3,
            "relevance": [3, 0, 0, 0, 0, 0],
            "s": [0.9, 0.1, 0.2, 1, 2, 3],
        }
    )
    assert mean_ndcg(frame, score_col="s", k=3) == pytest.approx(1.0)
