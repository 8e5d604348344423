"""The plan's KPIs and chain coverage over time on a hand-made park whose answers are worked out
by hand: four park firms (two there at the 2020 baseline, two landed since), two open leads."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.reference import default_chains, default_parks
from industry_graph.kpis import coverage_over_time, matching_firms, measure_kpis, park_facts

PARK = default_parks()["shibei"].model_copy(
    update={
        "baseline": {"total_tax_wan_cny": 150.0, "hq_type_leading_firms": 60.0, "high_tech": 2.0}
    }
)
FIRMS = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["a", "b", "c", "d", "e", "f"],
        C.NAME: ["甲数据", "乙贸易", "丙视频", "丁存储", "戊集团", "己云"],
        C.HQ_TYPE: ["regional_hq", "none", "national_hq", "none", "mnc_regional_hq", "none"],
        C.IS_HIGH_TECH: pd.array([True, False, True, True, True, False], dtype="boolean"),
        C.REVENUE: [1331.0, 500.0, 300.0, 80.0, 5000.0, 400.0],
    }
)
ROSTER = pd.DataFrame(
    {
        C.PARK_ID: ["shibei"] * 4 + ["nantong"],
        C.ENTERPRISE_ID: ["a", "b", "c", "d", "f"],
        C.ENTERED_ON: pd.to_datetime(
            ["2015-03-01", "2019-06-01", "2022-05-10", "2023-02-01", "2010-01-01"]
        ),
    }
)
LINKS = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["a", "c", "d", "f"],
        C.LINK_ID: [
            "big_data.hardware",
            "uhd_video_5g.content",
            "big_data.storage_idc",
            "big_data.compute_cloud",
        ],
        C.SHARE: [1.0, 1.0, 1.0, 1.0],
    }
)
TAX = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["a", "a", "b", "b", "c", "c"],
        C.YEAR: [2020, 2023, 2020, 2023, 2021, 2023],
        C.REVENUE: [1000.0, 1331.0, 500.0, 500.0, 250.0, 300.0],
        # c's 2021 record predates its entry (2022): not the park's tax
        C.TAX_PAID: [100.0, 133.1, 50.0, 66.55, 15.0, 20.0],
    }
)
TABLES = {
    "enterprises": FIRMS,
    "park_roster": ROSTER,
    "enterprise_links": LINKS,
    "tax_records": TAX,
}
OPEN = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["e", "f", "a"],
        C.NAME: ["戊集团", "己云", "甲数据"],
        C.TRACK: ["hq", "bigdata", "hq"],
        "lead_id": [1, 2, 3],
        "stage": ["negotiating", "contacted", "new"],
        "p_land": [0.5, 0.2, 0.9],  # a is a park firm already: it adds nothing
        "tax_p50_wan_cny": [100.0, 10.0, 1000.0],
    }
)


def _cagr(start: float, end: float, years: int) -> float:
    return round(((end / start) ** (1 / years) - 1) * 100, 2)


@pytest.fixture(scope="module")
def kpis() -> dict[str, object]:
    facts = park_facts(PARK, TABLES)
    return {k.id: k for k in measure_kpis(facts, TABLES, OPEN, today=date(2024, 3, 1))}


def test_counts_new_firms_all_firms_and_their_projection(kpis: dict) -> None:
    new_hq = kpis["new_hq"]
    # c (national HQ) landed in 2022; e (MNC regional HQ) would add its P(land)
    assert (new_hq.baseline, new_hq.now, new_hq.projected) == (0.0, 1.0, 1.5)
    assert [m["enterprise_id"] for m in new_hq.movers] == ["e"] and new_hq.movers[0]["adds"] == 0.5
    assert new_hq.series == [(2020, 0.0), (2021, 0.0), (2022, 1.0), (2023, 1.0), (2024, 1.0)]
    total = kpis["hq_firms_total"]  # national / regional HQs: a and c; the baseline is the plan's
    assert (total.baseline, total.baseline_source, total.now, total.projected) == (
        60.0,
        "plan",
        2.0,
        2.0,
    )
    big = kpis["new_core_big_data"]  # c (5G+8K) and d (big data) came; f's big-data link adds 0.2
    assert (big.now, big.projected, big.status) == (2.0, 2.2, "behind")
    uhd = kpis["uhd_video_firms"]
    assert (uhd.baseline, uhd.baseline_source, uhd.now) == (0.0, "data", 1.0)


def test_growth_is_the_cagr_of_the_park_level_from_the_baseline(kpis: dict) -> None:
    tax = kpis["tax_growth"]
    assert tax.level_baseline == 150.0 and tax.level_now == pytest.approx(219.65)
    assert tax.now_year == 2023 and tax.now == _cagr(150, 219.65, 3)
    assert tax.level_projected == pytest.approx(219.65 + 0.5 * 100 + 0.2 * 10)
    assert tax.projected == _cagr(150, 271.65, 3) and tax.status == "met"
    assert tax.series == [(2020, 150.0), (2023, pytest.approx(219.65))]
    revenue = kpis["revenue_growth"]  # no plan figure: measured (c's 2021 revenue not counted)
    assert (revenue.level_baseline, revenue.level_now) == (1500.0, 2131.0)
    assert revenue.now == _cagr(1500, 2131, 3) and revenue.projected == _cagr(
        1500, 2131 + 2500 + 80, 3
    )
    tech = kpis["high_tech_growth"]  # a, c, d high-tech now against the plan's 2; e would add 0.5
    assert (
        tech.now == _cagr(2, 3, 3) and tech.projected == _cagr(2, 3.5, 3) and tech.status == "met"
    )


def test_a_kpi_without_data_says_why_instead_of_zero(kpis: dict) -> None:
    listings = kpis["new_listings"]
    assert listings.status == "not_held" and listings.now is None and listings.baseline is None
    assert "IPO" in listings.not_held and listings.series == []


def test_coverage_over_time_names_who_closed_a_gap() -> None:
    tables = TABLES | {"enterprises": FIRMS.assign(**{C.INDUSTRY_CODE: None})}
    rows = {r["link_id"]: r for r in coverage_over_time(PARK, default_chains(), tables)}
    storage = rows["big_data.storage_idc"]
    assert storage["firms_baseline"] == 0 and storage["firms_now"] == 1
    assert storage["closed"] and storage["joined"] == ["丁存储"]
    assert storage["gap_type_baseline"] != "covered"
    hardware = rows["big_data.hardware"]  # a was there before the plan began
    assert hardware["firms_baseline"] == 1 and not hardware["closed"] and hardware["joined"] == []
    content = rows["uhd_video_5g.content"]  # a target of 6 from the park YAML
    assert content["target"] == 6 and content["coverage_now"] == round(1 / 6, 3)
    assert not rows["big_data.compute_cloud"]["closed"]  # f is Nantong's, not Shibei's


def test_revenue_projection_counts_the_units_share_of_the_group() -> None:
    # e's unit would book 100 of its group's 1,000 tax: a tenth of its 5,000 revenue, at P(land)
    # 0.5; f's row has no group tax (written before landing forms): its tax and revenue are the
    # group's
    facts = park_facts(PARK, TABLES)
    unit = OPEN.assign(group_tax_p50_wan_cny=[1000.0, np.nan, 1000.0])
    by_id = {k.id: k for k in measure_kpis(facts, TABLES, unit, today=date(2024, 3, 1))}
    revenue = by_id["revenue_growth"]
    assert revenue.level_projected == pytest.approx(2131 + 0.5 * 500 + 0.2 * 400)
    assert revenue.projected == _cagr(1500, 2131 + 250 + 80, 3)
    assert by_id["tax_growth"].level_projected == pytest.approx(219.65 + 0.5 * 100 + 0.2 * 10)


def test_a_count_leaves_out_the_industries_it_names() -> None:
    """新增核心大数据 leaves out banks, brokers and insurers: d, a park firm with a big-data link,
    is a broker here, and so is f, an open lead with one."""
    gbt, sw = "gbt4754_2017", "sw2021"
    firms = FIRMS.assign(
        **{
            C.INDUSTRY_CODE: ["65", "51", "65", "4901", "39", "4901"],
            C.INDUSTRY_SCHEME: [gbt, gbt, gbt, sw, gbt, sw],
        }
    )
    tables = {**TABLES, "enterprises": firms}
    got = {
        k.id: k
        for k in measure_kpis(park_facts(PARK, tables), tables, OPEN, today=date(2024, 3, 1))
    }
    big = got["new_core_big_data"]  # c (5G+8K) alone; neither d nor f counts
    assert (big.now, big.projected) == (1.0, 1.0)
    assert got["uhd_video_firms"].now == 1.0  # other counts leave no industry out
    measure = next(k.measure for k in PARK.kpi_targets if k.id == "new_core_big_data")
    assert measure is not None
    (kept,) = matching_firms([measure], pd.Series(["a", "d", "f"]), tables)
    assert kept.tolist() == [True, False, False]
