"""Learning each landing form's share of the group's tax from landed firms' tax records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.landing import track_forms
from data.reference import default_parks
from training.shares import FIT_COLUMNS, HOLDS_COLUMNS, fit_form_holds, fit_shares, realised_shares

SHIBEI = default_parks()["shibei"]
FORMS = {t: dict(track_forms(SHIBEI, t)) for t in SHIBEI.tracks}


def _landed(
    n: int, share: float, *, seed: int, form: str = "regional_hq"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` landed regional HQs whose units pay ``share`` of the group's tax (log-normal spread
    0.4 across firms), valued by a tax model with its own log error of 0.5."""
    rng = np.random.default_rng(seed)
    true_group = rng.lognormal(8.0, 1.5, n)
    model_p50 = true_group * np.exp(rng.normal(0.0, 0.5, n))
    firm_share = share * np.exp(rng.normal(0.0, 0.4, n))
    ids = [f"f{i}" for i in range(n)]
    prior = FORMS["hq"][form].share
    landed = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids,
            C.TRACK: "hq",
            "landed_on": pd.Timestamp("2022-05-01"),
            "landing_form": form,
            "group_tax_p50_wan_cny": model_p50,
            "tax_p50_wan_cny": model_p50 * prior.p50,
            # the band the lead got: the tax model's 0.5 log-sd and the prior's spread
            "tax_p10_wan_cny": model_p50 * prior.p50 * np.exp(-1.2816 * np.hypot(0.5, 0.77)),
            "tax_p90_wan_cny": model_p50 * prior.p50 * np.exp(1.2816 * np.hypot(0.5, 0.77)),
        }
    )
    tax = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids * 2,
            C.YEAR: [2021] * n + [2023] * n,  # the landing year's own record is not used
            C.TAX_PAID: np.concatenate([true_group, true_group * firm_share]),
        }
    )
    return landed, tax


def test_the_fit_recovers_a_known_share_from_many_landed_firms() -> None:
    landed, tax = _landed(400, 0.15, seed=1)
    realised = realised_shares(landed, tax)
    assert len(realised) == 400
    fit = fit_shares(FORMS, realised)
    band = fit.shares["hq"]["regional_hq"]
    assert fit.source["hq"]["regional_hq"] == "learnt"
    assert band.p50 == pytest.approx(0.15, rel=0.1)  # the prior says 0.08
    assert band.p10 < band.p50 < band.p90
    row = fit.table.set_index("landing_form").loc["regional_hq"]
    assert row["firms"] == 400 and row["median_sd_log"] < 0.05
    assert list(fit.table.columns) == list(FIT_COLUMNS)


def test_few_landed_firms_shrink_toward_the_prior_and_none_keep_it() -> None:
    prior = FORMS["hq"]["regional_hq"].share.p50
    few = fit_shares(FORMS, realised_shares(*_landed(2, 0.3, seed=2)))
    many = fit_shares(FORMS, realised_shares(*_landed(300, 0.3, seed=2)))
    p_few = few.shares["hq"]["regional_hq"].p50
    p_many = many.shares["hq"]["regional_hq"].p50
    assert prior < p_few < p_many
    sd = few.table.set_index("landing_form")["median_sd_log"]
    assert sd["regional_hq"] > many.table.set_index("landing_form")["median_sd_log"]["regional_hq"]
    # forms no firm landed in keep the YAML's band, said so
    assert few.shares["hq"]["hq_move"] == FORMS["hq"]["hq_move"].share
    assert few.source["bigdata"]["branch"] == "prior"


def test_leads_without_a_form_or_a_later_tax_record_are_left_out() -> None:
    landed, tax = _landed(5, 0.1, seed=3)
    landed.loc[0, "landing_form"] = None  # a lead made before landing forms
    landed.loc[1, "group_tax_p50_wan_cny"] = 0.0
    tax = tax[~((tax[C.ENTERPRISE_ID] == "f2") & (tax[C.YEAR] == 2023))]
    assert sorted(realised_shares(landed, tax)[C.ENTERPRISE_ID]) == ["f3", "f4"]
    assert realised_shares(landed.iloc[0:0], tax).empty
    assert realised_shares(pd.DataFrame(), tax).empty  # no service database: nothing landed


def test_how_often_the_assumed_form_holds_is_learnt_from_the_forms_recorded() -> None:
    n = 200
    landed = pd.DataFrame(
        {
            C.TRACK: ["hq"] * n + ["bigdata"] * 3,
            "landing_form": ["regional_hq"] * n + ["subsidiary"] * 3,
            # 60 % of the HQ leads took the form assumed; the rest a functional HQ; none recorded
            # on big data
            "landed_as": ["regional_hq"] * 120 + ["functional_hq"] * 80 + [None] * 3,
        }
    )
    fit = fit_form_holds({"hq": 0.8, "bigdata": 0.8, "other": 1.0}, landed)
    # Beta–binomial: the prior 0.8 counts as ten landings
    assert fit.holds["hq"] == pytest.approx((0.8 * 10 + 120) / (10 + n))
    assert fit.holds["bigdata"] == 0.8 and fit.holds["other"] == 1.0
    table = fit.table.set_index(C.TRACK)
    assert list(fit.table.columns) == list(HOLDS_COLUMNS)
    assert table.loc["hq", "firms"] == n and table.loc["hq", "held"] == 120
    assert table.loc["hq", "source"] == "learnt" and table.loc["bigdata", "source"] == "prior"
    assert 0 < table.loc["hq", "sd"] < table.loc["bigdata", "sd"]
    # no pipeline (no column): the priors
    assert fit_form_holds({"hq": 0.8}, pd.DataFrame()).holds == {"hq": 0.8}


def test_a_share_is_learnt_for_the_form_the_firm_took() -> None:
    landed, tax = _landed(300, 0.03, seed=5)  # valued as regional HQs, paying a functional HQ's
    landed["landed_as"] = "functional_hq"
    landed["in_park_tax_share_p10"] = 0.01
    landed["in_park_tax_share_p90"] = 0.3
    realised = realised_shares(landed, tax)
    assert set(realised["landing_form"]) == {"functional_hq"}
    fit = fit_shares(FORMS, realised)
    assert fit.source["hq"]["functional_hq"] == "learnt"
    assert fit.source["hq"]["regional_hq"] == "prior"
    assert fit.shares["hq"]["functional_hq"].p50 == pytest.approx(0.03, rel=0.15)
