"""Landing forms: the park YAML's forms and rules (validated), the form each firm is assumed to
land in, the share band (site-bound rule) and the band of the tax the park would collect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.landing import (
    assume_forms,
    form_index,
    mixed_shares,
    prior_shares,
    track_forms,
    unit_shares,
    unit_tax_band,
)
from data.reference import ShareBand, default_parks
from tests.data.park_edits import assert_edit_refused

SHIBEI = default_parks()["shibei"]


def _firms(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        C.REVENUE: 50_000.0,
        C.HQ_TYPE: "none",
        C.IS_LISTED: False,
        C.PROVINCE: "北京市",
        C.INDUSTRY_CODE: "6510",  # software development
        C.INDUSTRY_SCHEME: "gbt4754_2017",
    }
    return pd.DataFrame([base | r for r in rows])


def test_hq_forms_follow_the_firms_facts() -> None:
    firms = _firms(
        [
            # a listed car maker (SW passenger cars): site-bound, a settlement centre at most
            {C.INDUSTRY_CODE: "280501", C.INDUSTRY_SCHEME: "sw2021", C.IS_LISTED: True},
            # a pharma manufacturer: a sales or settlement centre
            {C.INDUSTRY_CODE: "2720", C.REVENUE: 900_000.0, C.IS_LISTED: True},
            # a Shanghai private firm, not listed: moves its registration across districts
            {C.PROVINCE: "上海市"},
            # the same firm listed: does not move its registration, and a Shanghai group has its
            # regional business here already: it brings a function across districts
            {C.PROVINCE: "上海市", C.IS_LISTED: True},
            # a Beijing service group: a regional headquarters
            {C.REVENUE: 800_000.0, C.HQ_TYPE: "national_hq"},
        ]
    )
    forms = assume_forms(firms, SHIBEI, "hq")
    assert list(forms.form) == [
        "functional_hq",
        "functional_hq",
        "hq_move",
        "functional_hq",
        "regional_hq",
    ]
    assert list(forms.site_bound) == [True, False, False, False, False]
    assert list(forms.index) == [list(track_forms(SHIBEI, "hq")).index(f) for f in forms.form]


def test_bigdata_forms_follow_the_firms_facts() -> None:
    firms = _firms(
        [
            {C.PROVINCE: "上海市", C.REVENUE: 3_000.0},  # a small Shanghai firm moves whole
            {C.PROVINCE: "上海市", C.REVENUE: 80_000.0},  # too big to move: a subsidiary
            {C.INDUSTRY_CODE: "3911", C.REVENUE: 2_000_000.0},  # a large manufacturer: R&D
            {C.REVENUE: 600_000.0},  # a large software group from outside: a branch
            {C.PROVINCE: "浙江省", C.REVENUE: 20_000.0},  # a mid firm from outside: subsidiary
        ]
    )
    assert list(assume_forms(firms, SHIBEI, "bigdata").form) == [
        "relocation",
        "subsidiary",
        "rd_centre",
        "branch",
        "subsidiary",
    ]


def test_a_group_run_from_an_office_in_the_park_province_is_based_there() -> None:
    """Registered elsewhere, run from Shanghai (中远海控: Tianjin / Shanghai): no regional HQ
    here but a function, and on the big-data track a subsidiary rather than a branch; without
    an office column, or with an office elsewhere, the registered province decides."""
    rows: list[dict[str, object]] = [
        {C.PROVINCE: "天津市", C.REVENUE: 800_000.0, C.OFFICE_PROVINCE: "上海市"},
        {C.PROVINCE: "天津市", C.REVENUE: 800_000.0, C.OFFICE_PROVINCE: "天津市"},
        {C.PROVINCE: "天津市", C.REVENUE: 800_000.0, C.OFFICE_PROVINCE: None},
    ]
    firms = _firms(rows)
    assert list(assume_forms(firms, SHIBEI, "hq").form) == [
        "functional_hq",
        "regional_hq",
        "regional_hq",
    ]
    assert list(assume_forms(firms, SHIBEI, "bigdata").form) == ["subsidiary", "branch", "branch"]
    # a registered-HQ move still needs the registration in Shanghai: an office is not enough
    small = _firms([{C.PROVINCE: "天津市", C.OFFICE_PROVINCE: "上海市"}])
    assert list(assume_forms(small, SHIBEI, "hq").form) == ["functional_hq"]
    assert list(assume_forms(small.drop(columns=[C.OFFICE_PROVINCE]), SHIBEI, "hq").form) == [
        "regional_hq"
    ]


def test_a_track_without_forms_values_the_whole_firm_at_the_default_share() -> None:
    nantong = default_parks()["nantong"]
    forms = track_forms(nantong, "smart_sensing")
    assert list(forms) == ["whole_firm"]
    assert forms["whole_firm"].share.p50 == nantong.valuation.in_park_tax_share.default
    assert list(assume_forms(_firms([{}, {}]), nantong, "smart_sensing").form) == ["whole_firm"] * 2


def test_an_unknown_form_is_refused_naming_the_tracks_forms() -> None:
    assert form_index(SHIBEI, "bigdata", "branch") == list(track_forms(SHIBEI, "bigdata")).index(
        "branch"
    )
    with pytest.raises(ValueError, match=r"'factory' is not a form of track 'hq'.*regional_hq"):
        form_index(SHIBEI, "hq", "factory")


def test_site_bound_firms_bring_at_most_the_site_bound_share() -> None:
    bands = list(prior_shares(SHIBEI)["hq"].values())  # regional_hq, functional_hq, hq_move
    s = unit_shares(bands, np.array([0, 2, 2]), np.array([False, False, True]), 0.05)
    assert s.p50.tolist() == pytest.approx([0.08, 0.5, 0.05])
    # the band keeps its width on the log scale
    assert s.p90[2] / s.p50[2] == pytest.approx(0.8 / 0.5)
    assert (s.p10 <= s.p50).all() and (s.p50 <= s.p90).all()


def test_the_park_tax_band_is_ordered_and_wider_than_either_part() -> None:
    rng = np.random.default_rng(3)
    t50 = rng.lognormal(5, 2, 500)
    t10 = t50 * rng.uniform(0.05, 1.0, 500)
    t10[:20] = 0.0  # a tax model may give P10 = 0
    t90 = t50 * rng.uniform(1.0, 20.0, 500)
    s = unit_shares(
        [ShareBand(p10=0.03, p50=0.08, p90=0.2), ShareBand(p10=0.5, p50=0.5, p90=0.5)],
        rng.integers(0, 2, 500),
        np.zeros(500, dtype=bool),
        0.05,
    )
    p10, p50, p90 = unit_tax_band(t10, t50, t90, s)
    assert (p10 <= p50).all() and (p50 <= p90).all() and (p10 >= 0).all()
    assert p50 == pytest.approx(t50 * s.p50)
    fixed = s.p10 == s.p90
    # a fixed share scales the group's band; an uncertain one widens it
    assert (p90 / p50)[fixed] == pytest.approx((t90 / t50)[fixed])
    assert ((p90 / p50)[~fixed] > (t90 / t50)[~fixed]).all()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "- {form: regional_hq}",
            "- {form: head_office}",
            r"tracks.hq: .*assume.5.form: 'head_office' is not one of the track's forms",
        ),
        (
            "- {form: subsidiary}",
            "- {form: subsidiary, when: {max_revenue_wan_cny: 1000}}",
            r"tracks.bigdata: .*assume.5.when: the last rule holds always",
        ),
        (
            "share: {p10: 0.03, p50: 0.08, p90: 0.2}",
            "share: {p10: 0.3, p50: 0.08, p90: 0.2}",
            r"tracks.hq.forms.regional_hq.share: .*p10 ≤ p50 ≤ p90",
        ),
        (
            "share: {p10: 0.08, p50: 0.2, p90: 0.5}",
            "share: {p10: 0.08, p50: 0.2, p90: 1.5}",
            r"tracks.bigdata.forms.subsidiary.share.p90",
        ),
        (
            "        why_en: An R&D centre",
            "        why_zh_x: x\n        why_en: An R&D centre",
            "why_zh_x",
        ),
        ("{site_bound: true}}", "{site_bound: maybe}}", r"tracks.hq.assume.0.when.site_bound"),
    ],
)
def test_invalid_landing_forms_name_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert_edit_refused(tmp_path, old, new, message)


def test_the_demos_hidden_unit_truth_is_drawn_on_its_own_stream() -> None:
    from data.demo.landing_truth import RULE_HOLDS, draw_unit_truth

    rng = np.random.default_rng(0)
    n = 4000
    firms = _firms(
        [
            {
                C.PROVINCE: str(rng.choice(["上海市", "北京市", "浙江省"])),
                C.REVENUE: float(rng.lognormal(9, 2)),
                C.IS_LISTED: bool(rng.random() < 0.2),
            }
            for _ in range(n)
        ]
    )
    firms[C.ENTERPRISE_ID] = [f"e{i}" for i in range(n)]
    oracle = pd.DataFrame(
        {
            C.PARK_ID: "shibei",
            C.ENTERPRISE_ID: np.tile(firms[C.ENTERPRISE_ID].to_numpy(), 2),
            C.TRACK: ["hq"] * n + ["bigdata"] * n,
            C.P_SIGN: 0.1,
            C.TRUE_TAX: 100.0,
        }
    )
    one = draw_unit_truth(oracle, firms, {"shibei": SHIBEI}, seed=5)
    again = draw_unit_truth(oracle, firms, {"shibei": SHIBEI}, seed=5)
    pd.testing.assert_frame_equal(one, again)
    pd.testing.assert_frame_equal(one[list(oracle.columns)], oracle)  # nothing else changes
    for track in ("hq", "bigdata"):
        rows = one[one[C.TRACK] == track]
        assumed = assume_forms(firms, SHIBEI, track).form
        agree = (rows[C.TRUE_FORM].to_numpy() == assumed).mean()
        assert agree == pytest.approx(RULE_HOLDS, abs=0.03)
    assert np.allclose(one[C.TRUE_UNIT_TAX], 100.0 * one[C.TRUE_UNIT_SHARE], atol=1e-3)


def test_regulated_financial_firms_land_as_a_licensed_branch() -> None:
    firms = _firms(
        [
            # a listed broker (SW 证券Ⅱ), a bank (SW 银行), an insurer (SW 保险Ⅱ), a Shanghai bank
            # (GB/T 4754 66): a licensed branch on both tracks, whatever their size or province
            {C.INDUSTRY_CODE: "490100", C.INDUSTRY_SCHEME: "sw2021", C.REVENUE: 6_000_000.0},
            {C.INDUSTRY_CODE: "480000", C.INDUSTRY_SCHEME: "sw2021", C.IS_LISTED: True},
            {C.INDUSTRY_CODE: "490200", C.INDUSTRY_SCHEME: "sw2021", C.HQ_TYPE: "national_hq"},
            {C.INDUSTRY_CODE: "6621", C.PROVINCE: "上海市"},
            {},  # a software firm: not a financial one
        ]
    )
    assert list(assume_forms(firms, SHIBEI, "hq").form) == ["licensed_branch"] * 4 + ["regional_hq"]
    assert list(assume_forms(firms, SHIBEI, "bigdata").form)[:4] == ["licensed_branch"] * 4


def test_a_band_that_allows_another_form_holds_the_mixtures_quantiles() -> None:
    """Firms land in the assumed form 70 % of the time and in each other form alike otherwise:
    the band's P10 and P90 are the quantiles of the shares such firms book (drawn), its P50 the
    assumed form's."""
    bands = list(prior_shares(SHIBEI)["hq"].values())
    k, n, holds = len(bands), 400_000, 0.7
    rng = np.random.default_rng(11)
    for assumed, bound in ((0, False), (2, False), (1, True)):
        took = np.where(rng.random(n) < holds, assumed, (assumed + rng.integers(1, k, n)) % k)
        each = unit_shares(bands, np.arange(k), np.full(k, bound), 0.05)
        z = rng.normal(0.0, 1.0, n)
        spread = (
            np.where(z < 0, np.log(each.p50 / each.p10)[took], np.log(each.p90 / each.p50)[took])
            / 1.2815515655446004
        )
        drawn = each.p50[took] * np.exp(z * spread)
        s = mixed_shares(bands, np.array([assumed]), np.array([bound]), 0.05, holds)
        assert s.p50[0] == pytest.approx(each.p50[assumed])
        assert s.p10[0] == pytest.approx(np.quantile(drawn, 0.1), rel=0.02)
        assert s.p90[0] == pytest.approx(min(np.quantile(drawn, 0.9), 1.0), rel=0.02)
    # the assumed form always holds: its own band; a rate outside (0, 1] is refused
    one = mixed_shares(bands, np.array([0, 1]), np.array([False, True]), 0.05, 1.0)
    base = unit_shares(bands, np.array([0, 1]), np.array([False, True]), 0.05)
    assert one.p10.tolist() == base.p10.tolist() and one.p90.tolist() == base.p90.tolist()
    with pytest.raises(ValueError, match="assumed_form_holds"):
        mixed_shares(bands, np.array([0]), np.array([False]), 0.05, 0.0)
