"""The park's space on hand-made buildings: free area over quarters, a lead's need, which
buildings take it and why, a placement that never overfills a building, the LP rows, tax per
building, and the 亿元楼 KPI on a three-building park worked out by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from data import columns as C
from data.reference import default_parks
from industry_graph.kpis import measure_kpis, park_facts
from industry_graph.space import (
    NEED_COLUMNS,
    Z90,
    building_fit,
    building_tax,
    buildings_for_lead,
    capacity_rows,
    interim_units,
    lead_space_alone,
    leads_for_building,
    park_space,
    place_leads,
    prepare_leads,
    quarter_of,
    reach_probability,
    space_need,
)

PARK = default_parks()["shibei"]
Q = pd.Period


def _buildings(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        C.PARK_ID: "shibei",
        C.CARRIER: None,
        C.FREE_ON: pd.Timestamp("2020-12-31"),
        C.COMPLETED_ON: pd.NaT,
        C.CHAINS: None,
        C.TRACKS: None,
        C.RENT_LOW: 4.0,
        C.RENT_HIGH: 5.0,
    }
    frame = pd.DataFrame([base | r for r in rows])
    frame[C.FLOOR_AREA] = frame[C.LETTABLE_AREA] * 1.4
    return frame


def _tenants(rows: list[tuple[str, str, float, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.PARK_ID: "shibei",
            C.BUILDING_ID: [r[0] for r in rows],
            C.ENTERPRISE_ID: [r[1] for r in rows],
            C.AREA: [r[2] for r in rows],
            C.SINCE: pd.to_datetime([r[3] for r in rows]),
            C.UNTIL: pd.to_datetime([r[4] for r in rows]),
        }
    )


def _supply(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.PARK_ID: "shibei",
            C.BUILDING_ID: [r[0] for r in rows],
            C.AVAILABLE_ON: pd.to_datetime([r[1] for r in rows]),
            C.AREA: [r[2] for r in rows],
            C.SUPPLY_REASON: "completion",
        }
    )


def test_free_area_follows_supply_move_ins_and_move_outs() -> None:
    buildings = _buildings(
        [
            {
                C.BUILDING_ID: "X",
                C.NAME: "X楼",
                C.BUILDING_KIND: "office",
                C.LETTABLE_AREA: 4000.0,
                C.FREE_AREA: 1000.0,
            }
        ]
    )
    tenants = _tenants(
        [
            ("X", "t:old", 300.0, "2019-01-01", "2021-11-30"),  # leaves in 2021Q4: +300
            ("X", "t:new", 500.0, "2021-08-01", None),  # comes in 2021Q3: −500
        ]
    )
    tables = {
        "park_buildings": buildings,
        "building_supply": _supply([("X", "2021-05-10", 2000.0)]),  # a new phase in 2021Q2
        "building_tenants": tenants,
    }
    space = park_space(PARK, tables, first=Q("2020Q4"), last=Q("2022Q1"))
    assert space.free.loc["X"].tolist() == [1000.0, 1000.0, 3000.0, 2500.0, 2800.0, 2800.0]
    assert space.occupied.loc["X"].tolist() == [300.0, 300.0, 300.0, 800.0, 500.0, 500.0]


def test_space_need_is_staff_times_area_with_both_bands() -> None:
    units = pd.DataFrame(
        {
            "unit_kind": ["office"],
            "unit_staff_p10": [50.0],
            "unit_staff_p50": [100.0],
            "unit_staff_p90": [200.0],
        }
    )
    need = space_need(units=units, park=PARK).iloc[0]
    office = PARK.space.area_per_person_m2["office"]  # type: ignore[union-attr]
    lo = np.hypot(np.log(2.0), np.log(office.p50 / office.p10))  # ln(100/50), ln(13/9)
    hi = np.hypot(np.log(2.0), np.log(office.p90 / office.p50))
    assert need["need_m2_p50"] == pytest.approx(1300.0)
    assert need["need_m2_p10"] == pytest.approx(1300.0 * np.exp(-lo))
    assert need["need_m2_p90"] == pytest.approx(1300.0 * np.exp(hi))
    assert pytest.approx(1.2815515655446004) == Z90


def test_interim_unit_from_employees_kind_from_link_and_track() -> None:
    enterprises = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["a", "b", "c"],
            C.EMPLOYEES: pd.array([10_000, 4, 10_000], dtype="Int64"),
        }
    )
    links = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["a", "b", "c"],
            C.LINK_ID: ["health_data.diagnostics", "big_data.security", "big_data.security"],
            C.SHARE: [1.0, 1.0, 1.0],
        }
    )
    leads = pd.DataFrame({C.ENTERPRISE_ID: ["a", "b", "c"], C.TRACK: ["bigdata", "bigdata", "hq"]})
    units = interim_units(leads=leads, enterprises=enterprises, links=links, park=PARK)
    # 8.9 × √10,000 = 890 (below the 10,000 employees); 4 employees: 8.9 × 2 = 17.8 → capped at 4
    assert units["unit_staff_p50"].tolist() == pytest.approx([890.0, 4.0, 890.0])
    assert units["unit_staff_p10"].tolist() == pytest.approx([445.0, 2.0, 445.0])
    assert units["unit_staff_p90"].tolist() == pytest.approx([1780.0, 8.0, 1780.0])
    assert units["unit_kind"].tolist() == ["lab", "rd", "office"]


# --------------------------------------------------------------------------------------------
# the three-building park: buildings, tenants, tax records and open leads


BUILDINGS = _buildings(
    [
        {
            C.BUILDING_ID: "A",
            C.NAME: "甲楼",
            C.BUILDING_KIND: "office",
            C.LETTABLE_AREA: 10_000.0,
            C.FREE_AREA: 2_000.0,
        },
        {
            C.BUILDING_ID: "B",
            C.NAME: "乙楼",
            C.BUILDING_KIND: "rd",
            C.LETTABLE_AREA: 8_000.0,
            C.FREE_AREA: 5_000.0,
            C.CHAINS: "big_data",
        },
        {
            C.BUILDING_ID: "C",
            C.NAME: "丙楼",
            C.BUILDING_KIND: "office",
            C.LETTABLE_AREA: 6_000.0,
            C.FREE_AREA: 0.0,
        },
    ]
)
SUPPLY = _supply([("C", "2022-06-30", 6_000.0)])  # 丙楼 is completed in mid-2022
TENANTS = _tenants(
    [
        ("A", "a1", 6_000.0, "2016-03-01", None),
        ("A", "a2", 2_000.0, "2018-05-01", None),
        ("B", "b1", 3_000.0, "2017-01-01", None),
        ("C", "c1", 1_000.0, "2022-09-01", None),  # landed through the pipeline
    ]
)
TAX = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["a1", "a2", "b1", "a1", "a2", "b1", "c1"],
        C.YEAR: [2020, 2020, 2020, 2023, 2023, 2023, 2023],
        C.REVENUE: [70_000.0, 25_000.0, 110_000.0, 80_000.0, 25_000.0, 90_000.0, 120_000.0],
        C.TAX_PAID: [7_000.0, 2_500.0, 11_000.0, 8_000.0, 2_500.0, 9_000.0, 12_000.0],
    }
)
IDS = ["a1", "a2", "b1", "c1", "e1", "e2", "e3", "e4"]
FIRMS = pd.DataFrame(
    {
        C.ENTERPRISE_ID: IDS,
        C.NAME: ["甲一", "甲二", "乙一", "丙一", "戊一", "戊二", "戊三", "戊四"],
        C.HQ_TYPE: ["none"] * 8,
        C.IS_HIGH_TECH: pd.array([False] * 8, dtype="boolean"),
        C.REVENUE: [
            70_000.0,
            25_000.0,
            110_000.0,
            120_000.0,
            60_000.0,
            20_000.0,
            15_000.0,
            500_000.0,
        ],
        C.EMPLOYEES: pd.array([300] * 8, dtype="Int64"),
        C.INDUSTRY_CODE: ["7211"] * 8,
        C.INDUSTRY_SCHEME: ["gbt4754_2017"] * 8,
    }
)
ROSTER = pd.DataFrame(
    {
        C.PARK_ID: "shibei",
        C.ENTERPRISE_ID: ["a1", "a2", "b1", "c1"],
        C.ENTERED_ON: pd.to_datetime(["2016-03-01", "2018-05-01", "2017-01-01", "2022-09-01"]),
    }
)
LINKS = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["b1", "e2", "e3"],
        C.LINK_ID: ["big_data.storage_idc", "big_data.security", "big_data.analytics_ai"],
        C.SHARE: [1.0, 1.0, 1.0],
    }
)
TABLES = {
    "enterprises": FIRMS,
    "park_roster": ROSTER,
    "enterprise_links": LINKS,
    "tax_records": TAX,
    "park_buildings": BUILDINGS,
    "building_supply": SUPPLY,
    "building_tenants": TENANTS,
}
# units given as a landing form would give them: e1 an office of 100 (1,300 m² at 13 m²),
# e2 an R&D unit of 50 (900 m² at 18 m²), e3 R&D of 40 (720 m²), e4 a lab of 200 (8,000 m²)
OPEN = pd.DataFrame(
    {
        C.ENTERPRISE_ID: ["e1", "e2", "e3", "e4"],
        C.NAME: ["戊一", "戊二", "戊三", "戊四"],
        C.TRACK: ["hq", "bigdata", "bigdata", "hq"],
        "lead_id": [1, 2, 3, 4],
        "stage": ["negotiating", "signed", "new", "contacted"],
        "p_land": [0.5, 0.8, 0.25, 0.9],
        "tax_p50_wan_cny": [3_000.0, 1_500.0, 1_200.0, 50_000.0],
        "unit_kind": ["office", "rd", "rd", "lab"],
        "unit_staff_p10": [50.0, 25.0, 20.0, 100.0],
        "unit_staff_p50": [100.0, 50.0, 40.0, 200.0],
        "unit_staff_p90": [200.0, 100.0, 80.0, 400.0],
    }
)
TODAY = date(2024, 3, 1)


@pytest.fixture(scope="module")
def matched() -> tuple[pd.DataFrame, pd.DataFrame, object]:
    leads = prepare_leads(
        leads=OPEN,
        tables=TABLES,
        park=PARK,
        today=TODAY,
    )
    space = park_space(PARK, TABLES, first=Q("2020Q4"), last=Q("2027Q4"))
    return leads, building_fit(leads=leads, space=space), space


def test_lands_by_stage_and_needs_its_units_area(matched: tuple) -> None:
    leads, _, _ = matched
    assert [str(q) for q in leads["land_quarter"]] == ["2024Q3", "2024Q2", "2024Q4", "2024Q4"]
    assert leads["need_m2_p50"].tolist() == pytest.approx([1300.0, 900.0, 720.0, 8000.0])
    assert (leads["unit_source"] == "landing_form").all()


def test_buildings_for_a_lead_best_first_with_why(matched: tuple) -> None:
    leads, fit, space = matched
    e1 = buildings_for_lead(fit=fit, leads=leads, space=space, lead_row=0)
    # both office towers fit an office fully; 甲楼's 2,000 m² holds it more snugly than 丙楼's
    # 5,000; the R&D building meant for big data takes it at 0.7 × 0.5
    assert e1[C.BUILDING_ID].tolist() == ["A", "C", "B"]
    assert e1["fit"].tolist() == pytest.approx([1.0, 1.0, 0.35])
    assert "2,000 m²" in e1["reason_en"].iloc[0] and "1,300" in e1["reason_zh"].iloc[0]
    assert "other chains" in e1["reason_en"].iloc[2]
    e2 = buildings_for_lead(fit=fit, leads=leads, space=space, lead_row=1)
    assert e2[C.BUILDING_ID].iloc[0] == "B" and "chain or track" in e2["reason_en"].iloc[0]


def test_a_lab_no_building_can_hold_is_shown_why_not(matched: tuple) -> None:
    leads, fit, space = matched
    e4 = buildings_for_lead(fit=fit, leads=leads, space=space, lead_row=3)
    assert not e4["takes"].any()
    assert e4[C.BUILDING_ID].iloc[0] == "B"  # the only kind that hosts a lab (0.7)
    assert "not enough" in e4["reason_en"].iloc[0] and "8,000" in e4["reason_en"].iloc[0]


def test_leads_for_a_building_by_value_and_by_fit(matched: tuple) -> None:
    leads, fit, space = matched
    by_value = leads_for_building(fit=fit, leads=leads, space=space, building_id="B")
    # value = P(land) × in-park tax: e1 1,500, e2 1,200, e3 300
    assert by_value[C.ENTERPRISE_ID].tolist() == ["e1", "e2", "e3"]
    by_fit = leads_for_building(fit=fit, leads=leads, space=space, building_id="B", order="fit")
    assert by_fit[C.ENTERPRISE_ID].tolist() == ["e2", "e3", "e1"]
    assert by_fit["fills_share"].iloc[0] == pytest.approx(900.0 / 5000.0)


def test_tax_per_building_counts_year_end_tenants_split_by_area() -> None:
    tenants = _tenants(
        [
            ("A", "f", 300.0, "2019-01-01", None),
            ("B", "f", 100.0, "2020-06-01", None),  # f leases in two buildings from mid-2020
            ("B", "g", 50.0, "2018-01-01", "2020-12-01"),  # g left before the end of 2020
        ]
    )
    tax = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["f", "f", "g", "g"],
            C.YEAR: [2019, 2020, 2019, 2020],
            C.TAX_PAID: [40.0, 80.0, 10.0, 10.0],
        }
    )
    out = building_tax(tenants=tenants, tax_records=tax, years=[2019, 2020]).set_index(
        [C.BUILDING_ID, C.YEAR]
    )
    assert out[C.TAX_PAID].to_dict() == {
        ("A", 2019): 40.0,
        ("B", 2019): 10.0,
        ("A", 2020): 60.0,
        ("B", 2020): 20.0,
    }


def test_reach_probability_of_independent_leads() -> None:
    assert reach_probability(
        gap_wan_cny=1000, p_land=np.array([0.8, 0.25]), tax_wan_cny=np.array([1500, 1200])
    ) == pytest.approx(0.85)
    # neither alone, both together: 0.5 × 0.5
    assert reach_probability(
        gap_wan_cny=100, p_land=np.array([0.5, 0.5]), tax_wan_cny=np.array([60, 60])
    ) == pytest.approx(0.25)
    assert reach_probability(gap_wan_cny=-5, p_land=np.array([]), tax_wan_cny=np.array([])) == 1.0


def test_yiyuan_kpi_on_the_three_building_park() -> None:
    """Worked out by hand (threshold 10,000 万元):

    - 2020: 甲楼 a1 7,000 + a2 2,500 = 9,500 (below); 乙楼 b1 11,000 (over); 丙楼 not built.
      Baseline count 1.
    - 2023: 甲楼 8,000 + 2,500 = 10,500 (over); 乙楼 9,000 (fell below); 丙楼 c1, landed in
      2022-09, 12,000 (over). Count 2: net new 2 − 1 = 1.
    - Open leads (today 2024-03-01), placed by P(land) × in-park tax (share 1.0 for 7211): e1
      (0.5 × 3,000) at 甲楼 (snuggest office that holds 1,300 m²), e2 (0.8 × 1,500) and e3
      (0.25 × 1,200) at 乙楼 (R&D for big data); e4's 8,000 m² lab fits nowhere.
    - P(over) projected: 甲楼 1 and 丙楼 1 (over already); 乙楼 needs 1,000 more: e2 or e3
      alone crosses it, 1 − 0.2 × 0.75 = 0.85. Expected count 2.85; projected 2.85 − 1 = 1.85.
    - Movers: e2 0.8 × (1 − 0.25) = 0.6, e3 0.25 × (1 − 0.8) = 0.05; e1 adds nothing.
    """
    park = PARK.model_copy(
        update={"kpi_targets": tuple(k for k in PARK.kpi_targets if k.id == "new_yiyuan_buildings")}
    )
    [kpi] = measure_kpis(park_facts(park, TABLES), TABLES, OPEN, today=TODAY)
    assert (kpi.baseline, kpi.level_baseline, kpi.level_now, kpi.now, kpi.now_year) == (
        0.0,
        1.0,
        2.0,
        1.0,
        2023,
    )
    assert kpi.level_projected == pytest.approx(2.85) and kpi.projected == pytest.approx(1.85)
    assert kpi.series == [(2020, 0.0), (2023, 1.0)] and kpi.status == "behind"
    assert [(m["enterprise_id"], m["building_id"]) for m in kpi.movers] == [
        ("e2", "B"),
        ("e3", "B"),
    ]
    assert [m["adds"] for m in kpi.movers] == pytest.approx([0.6, 0.05])


def test_closest_leads_of_a_building_below_the_threshold(matched: tuple) -> None:
    from industry_graph.space import yiyuan

    leads, fit, space = matched
    status = yiyuan(
        space=space,
        tax_records=TAX,
        threshold_wan_cny=10_000,
        leads=leads,
        fit=fit,
        placement=place_leads(leads=leads, fit=fit, space=space),
    )
    assert set(status.closest) == {"B"}  # 甲楼 and 丙楼 are over already
    near = status.closest["B"]
    # expected progress towards its 1,000 gap: e2 0.8 × 1,000, e1 0.5 × 1,000, e3 0.25 × 1,000
    assert near[C.ENTERPRISE_ID].tolist() == ["e2", "e1", "e3"]
    assert near["expected_progress_wan_cny"].tolist() == pytest.approx([800.0, 500.0, 250.0])
    assert near["crosses_alone"].tolist() == [True, True, True]


def test_a_park_without_buildings_says_why() -> None:
    park = PARK.model_copy(
        update={"kpi_targets": tuple(k for k in PARK.kpi_targets if k.id == "new_yiyuan_buildings")}
    )
    tables = {k: v for k, v in TABLES.items() if not k.startswith(("park_b", "building_"))}
    [kpi] = measure_kpis(park_facts(park, tables), tables, OPEN, today=TODAY)
    assert (
        kpi.status == "no_data"
        and kpi.now is None
        and "buildings are not held" in str(kpi.not_held)
    )


# --------------------------------------------------------------------------------------------
# placement never overfills a building; the LP rows say the same thing


def _random_case(seed: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A random four-building park's tables and 40 leads of random tracks and stages."""
    rng = np.random.default_rng([seed, 28])
    kinds = ["office", "rd", "incubator", "themed_park", "mixed"]
    n_b = 4
    buildings = _buildings(
        [
            {
                C.BUILDING_ID: f"b{j}",
                C.NAME: f"楼{j}",
                C.BUILDING_KIND: kinds[j % len(kinds)],
                C.LETTABLE_AREA: 20_000.0,
                C.FREE_AREA: float(rng.uniform(0, 6_000)),
                C.CHAINS: "big_data" if j == 1 else None,
            }
            for j in range(n_b)
        ]
    )
    supply = _supply(
        [
            (
                f"b{j}",
                f"202{int(rng.integers(1, 5))}-0{int(rng.integers(1, 9))}-15",
                float(rng.uniform(500, 4_000)),
            )
            for j in range(n_b)
        ]
    )
    # a tenant that leaves (free area grows) and one pre-let for 2023 (free area shrinks later:
    # a placement must leave room for it, not only look at its landing quarter)
    free_now = buildings[C.FREE_AREA].to_numpy()
    tenants = _tenants(
        [
            (f"b{j}", f"t{j}", 5_000.0, "2018-01-01", "2022-06-30" if j % 2 else None)
            for j in range(n_b)
        ]
        + [(f"b{j}", f"pre{j}", 0.8 * free_now[j], "2023-03-01", None) for j in range(n_b)]
    )
    n = 40
    firms = pd.DataFrame(
        {
            C.ENTERPRISE_ID: [f"e{i}" for i in range(n)],
            C.EMPLOYEES: pd.array(
                np.round(rng.lognormal(4.5, 1.5, n)).astype(int) + 1, dtype="Int64"
            ),
            C.NAME: [f"企业{i}" for i in range(n)],
            C.INDUSTRY_CODE: "7211",
            C.INDUSTRY_SCHEME: "gbt4754_2017",
        }
    )
    # every third firm on a big-data link; every fifth of those also on a lab link (as large:
    # the first listed is its main link); every seventh from e1 on a lab link (e15 on all three)
    big, tie, lab = range(0, n, 3), range(0, n, 15), range(1, n, 7)
    links = pd.DataFrame(
        {
            C.ENTERPRISE_ID: [f"e{i}" for i in (*big, *tie, *lab)],
            C.LINK_ID: ["big_data.security"] * len(big)
            + ["health_data.diagnostics"] * (len(tie) + len(lab)),
            C.SHARE: 1.0,
        }
    )
    tables = {
        "enterprises": firms,
        "enterprise_links": links,
        "park_buildings": buildings,
        "building_supply": supply,
        "building_tenants": tenants,
    }
    leads = pd.DataFrame(
        {
            C.ENTERPRISE_ID: firms[C.ENTERPRISE_ID],
            C.TRACK: np.where(rng.random(n) < 0.5, "hq", "bigdata"),
            "p_land": rng.uniform(0.05, 0.9, n),
            "tax_p50_wan_cny": rng.lognormal(6, 1.5, n),
            "stage": rng.choice(["new", "contacted", "negotiating", "signed"], n),
        }
    )
    return tables, leads


def _random_park(seed: int) -> tuple[pd.DataFrame, object, pd.DataFrame]:
    tables, leads = _random_case(seed)
    prepared = prepare_leads(leads=leads, tables=tables, park=PARK, today=date(2021, 2, 1))
    space = park_space(PARK, tables, first=Q("2020Q4"), last=Q("2026Q4"))
    return prepared, space, building_fit(leads=prepared, space=space)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_lead_is_placed_without_the_free_area_at_its_landing_quarter(seed: int) -> None:
    leads, space, fit = _random_park(seed)
    placement = place_leads(leads=leads, fit=fit, space=space)
    placed = placement.leads[placement.leads[C.BUILDING_ID].notna()]
    assert 0 < len(placed) < len(leads)  # the case is not trivial: some fit, some do not
    free = space.free  # type: ignore[attr-defined]
    for bid, group in placed.groupby(C.BUILDING_ID):
        for q in free.columns:
            landed = group[[lq <= q for lq in group["land_quarter"]]]
            assert landed["need_m2_p50"].sum() <= free.at[bid, q] + 1e-6, (bid, str(q))
    assert (placement.free_left.to_numpy() >= -1e-6).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lead_fitted_alone_gets_the_card_of_a_one_lead_table(seed: int) -> None:
    """``lead_space_alone`` (a firm page's card for a lead beyond the report) is the card that
    ``prepare_leads`` → ``building_fit`` → ``buildings_for_lead`` give for that lead alone."""
    tables, leads = _random_case(seed)
    today = date(2021, 2, 1)
    space = park_space(PARK, tables, first=Q("2020Q4"), last=Q("2026Q4"))
    links = tables["enterprise_links"]
    employees = tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.EMPLOYEES]
    kinds = set()
    for _, lead in leads.iterrows():
        one = lead.to_frame().T.assign(stage="new").reset_index(drop=True)
        prepared = prepare_leads(leads=one, tables=tables, park=PARK, today=today)
        fit = building_fit(leads=prepared, space=space)
        expected = buildings_for_lead(fit=fit, leads=prepared, space=space, lead_row=0, top=5)
        eid = str(lead[C.ENTERPRISE_ID])
        card = lead_space_alone(
            enterprise_id=eid,
            track=str(lead[C.TRACK]),
            employees=float(employees[eid]),
            links=links[links[C.ENTERPRISE_ID] == eid],
            space=space,
            today=today,
        )
        row = prepared.iloc[0]
        kinds.add(card["unit_kind"])
        assert card["unit_kind"] == row["unit_kind"] and card["unit_source"] == "interim"
        assert card["land_quarter"] == str(row["land_quarter"])
        for c in ("unit_staff_p10", "unit_staff_p50", "unit_staff_p90", *NEED_COLUMNS):
            assert card[c] == float(row[c]), c  # the same arithmetic
        got = card["buildings"]
        assert isinstance(got, pd.DataFrame)
        pd.testing.assert_frame_equal(
            got[list(expected.columns)].reset_index(drop=True),
            expected.reset_index(drop=True),
            check_dtype=False,
        )
    assert kinds == {"office", "rd", "lab"}  # every interim kind was compared


def test_capacity_rows_keep_an_lp_within_the_free_area() -> None:
    """One office building with 1,000 m² free from 2021Q1, two office leads needing 600 m² each
    (value 10 and 8), contact in 2021Q1 (signed: they land a quarter later). The LP relaxation
    takes the first whole and two thirds of the second (600 + 400 = 1,000 m²)."""
    buildings = _buildings(
        [
            {
                C.BUILDING_ID: "X",
                C.NAME: "X楼",
                C.BUILDING_KIND: "office",
                C.LETTABLE_AREA: 1_000.0,
                C.FREE_AREA: 1_000.0,
            }
        ]
    )
    tables = {
        "enterprises": pd.DataFrame(
            {
                C.ENTERPRISE_ID: ["p", "q"],
                C.NAME: ["甲", "乙"],
                C.EMPLOYEES: pd.array([9, 9], dtype="Int64"),
            }
        ),
        "enterprise_links": pd.DataFrame({C.ENTERPRISE_ID: [], C.LINK_ID: [], C.SHARE: []}),
        "park_buildings": buildings,
        "building_supply": _supply([]),
        "building_tenants": _tenants([]),
    }
    leads = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["p", "q"],
            C.TRACK: ["hq", "hq"],
            "p_land": [1.0, 1.0],
            "tax_p50_wan_cny": [10.0, 8.0],
            "in_park_tax_share": [1.0, 1.0],
            "stage": ["signed", "signed"],
            "unit_kind": ["office", "office"],
            "unit_staff_p10": [600 / 13, 600 / 13],
            "unit_staff_p50": [600 / 13, 600 / 13],
            "unit_staff_p90": [600 / 13, 600 / 13],
        }
    )
    prepared = prepare_leads(leads=leads, tables=tables, park=PARK, today=date(2021, 1, 5))
    space = park_space(PARK, tables, first=Q("2021Q1"), last=Q("2022Q4"))
    fit = building_fit(leads=prepared, space=space)
    rows = capacity_rows(
        leads=prepared, fit=fit, space=space, contact_quarters=[Q("2021Q1")], expected=False
    )
    assert rows.columns == [("p", "X", Q("2021Q1")), ("q", "X", Q("2021Q1"))]
    value = np.array([10.0, 8.0])
    result = linprog(
        -value, A_ub=rows.matrix.toarray(), b_ub=rows.bound, bounds=[(0, 1)] * 2, method="highs"
    )
    assert result.status == 0 and result.x == pytest.approx([1.0, 2.0 / 3.0])
    assert (rows.matrix @ result.x <= rows.bound + 1e-6).all()
    first_row = rows.rows.index(("X", Q("2021Q1")))  # they land in 2021Q2: nothing taken in Q1
    assert rows.matrix[first_row].sum() == 0.0


def test_quarter_of_a_day() -> None:
    assert (
        str(quarter_of(date(2024, 3, 31))) == "2024Q1"
        and str(quarter_of(date(2024, 4, 1))) == "2024Q2"
    )


def test_the_report_behind_the_buildings_pages() -> None:
    from industry_graph.space import building_detail, building_table, lead_space, space_report

    open_leads = OPEN
    listed = open_leads.iloc[:1].drop(columns=["stage", "lead_id"])  # e1 is on a list too
    report = space_report(
        park=PARK, tables=TABLES, today=TODAY, candidates=listed, open_leads=open_leads
    )
    assert len(report.leads) == 4 and report.leads["in_pipeline"].all()
    table = building_table(report).set_index(C.BUILDING_ID)
    # 甲楼: 8,000 of 10,000 m² let; 丙楼: 1,000 of the 6,000 completed in 2022
    assert table.loc["A", "occupancy_now"] == pytest.approx(0.8)
    assert table.loc["C", "occupancy_now"] == pytest.approx(1 / 6)
    assert table.loc["B", "p_over_projected"] == pytest.approx(0.85)
    assert table.loc["A", "kind_zh"] == "商务办公"
    detail = building_detail(report, "B")
    assert detail["tax_by_year"] == [(2020, 11_000.0), (2023, 9_000.0)]
    assert detail["tenants"][C.ENTERPRISE_ID].tolist() == ["b1"]  # type: ignore[index]
    assert detail["placed"][C.ENTERPRISE_ID].tolist() == ["e2", "e3"]  # type: ignore[index]
    card = lead_space(report, "e4")
    assert card["need_m2_p50"] == pytest.approx(8_000.0) and card["land_quarter"] == "2024Q4"
    assert not card["buildings"]["takes"].any()  # type: ignore[index]
    with pytest.raises(KeyError, match="not one of the park's buildings"):
        building_detail(report, "Z")


def test_a_placed_lead_without_a_tax_estimate_brings_no_tax() -> None:
    """A pipeline lead on a firm the model does not score has no tax P50: the 亿元楼 projection
    counts it for nothing instead of failing (it did, under reloads, as a 500 on every profile)."""
    from industry_graph.space import yiyuan

    unscored = OPEN.assign(tax_p50_wan_cny=[3_000.0, np.nan, 1_200.0, 50_000.0])
    leads = prepare_leads(leads=unscored, tables=TABLES, park=PARK, today=TODAY)
    space = park_space(PARK, TABLES, first=Q("2020Q4"), last=Q("2027Q4"))
    fit = building_fit(leads=leads, space=space)
    status = yiyuan(
        space=space,
        tax_records=TAX,
        threshold_wan_cny=10_000,
        leads=leads,
        fit=fit,
        placement=place_leads(leads=leads, fit=fit, space=space),
    )
    near = status.closest["B"].set_index(C.ENTERPRISE_ID)
    assert "e2" not in near.index or near.loc["e2", "expected_progress_wan_cny"] == 0
    assert near.loc["e1", "expected_progress_wan_cny"] == pytest.approx(500.0)
    with pytest.raises(ValueError, match="gap_wan_cny"):
        reach_probability(gap_wan_cny=float("nan"), p_land=np.array([]), tax_wan_cny=np.array([]))


def test_the_floor_a_contact_plan_leaves_to_new_landings() -> None:
    from industry_graph.space import plan_free_area

    first = quarter_of(TODAY) + 1  # the plan's first quarter, 2024Q2
    free = plan_free_area(
        park=PARK, tables=TABLES, first=first, quarters=4, open_leads=OPEN, today=TODAY
    )
    space = park_space(PARK, TABLES, first=first, last=first + 3)
    park_wide = space.free.clip(lower=0).sum(axis=0).to_numpy(dtype=float)
    assert park_wide.tolist() == [12_000.0] * 4  # 甲 2,000 + 乙 5,000 + 丙 5,000
    # the open pipeline's expected units, from the quarter each lands: e2 (0.8 × 900) in
    # 2024Q2, e1 (0.5 × 1,300) in Q3, e3 (0.25 × 720) and e4 (0.9 × 8,000) in Q4
    assert free.tolist() == pytest.approx([11_280.0, 10_630.0, 3_250.0, 3_250.0])
    # a quarter the pipeline would overfill leaves nothing, never less
    tight = plan_free_area(
        park=PARK,
        tables=TABLES,
        first=first,
        quarters=4,
        open_leads=OPEN.assign(p_land=1.0, unit_staff_p50=[400.0, 200.0, 100.0, 200.0]),
        today=TODAY,
    )
    assert tight.min() >= 0.0 and tight[-1] == 0.0
