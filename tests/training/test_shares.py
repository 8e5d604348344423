"""Learning each landing form's share of the group's tax from landed firms' tax records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.landing import track_forms
from data.reference import default_parks
from training.shares import FIT_COLUMNS, fit_shares, realised_shares

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
