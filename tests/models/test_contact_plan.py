"""The contact plan on small universes whose optimum is worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from scipy import sparse

from models.contact_plan import (
    Candidates,
    PlanInputError,
    PlanSettings,
    PlanTarget,
    check_settings,
    horizon_quarters,
    make_plan,
    plan_values,
    quarter_label,
)

# Ten candidates of one track, one quarter (H = 1, L = 0: a contact lands at once and pays for
# one quarter), capacity three. Each row's value in the objective is p × tax / 4 × 1:
#   1–4 count for nothing (100, 90, 80, 70), 5 and 6 for A (60, 30), 7 and 8 for B (50, 20),
#   9 for both with P(land) 0.1 (10), 10 for nothing (5). P(land) is 0.5 but for 9.
# A needs 0.75 expected firms (1.5 of its P 0.5 firms), B 0.375 (0.75 of one).
# By hand: x5 = 1, x6 = 0.5, x7 = 0.75, and the capacity left, 0.75, to firm 1. The duals:
# firm 1 is fractional, so one more contact is worth u = 100; x6 fractional: 100 − 0.5 yA = 30
# → yA = 140 万元 per firm of A; x7: 100 − 0.5 yB = 50 → yB = 100. Every other row's reduced
# cost is positive (2: 100 > 90; 8: 100 − 50 > 20; 9: 100 − 0.1 × 240 > 10; 5 at its bound:
# 100 − 70 < 60), so the optimum and the prices are unique. Tax: 75 + 60 + 15 + 37.5 = 187.5.
# Without targets the best three give 270: the targets cost 82.5.
VALUES = np.array([100, 90, 80, 70, 60, 30, 50, 20, 10, 5], dtype=float)
P = np.array([0.5] * 8 + [0.1, 0.5])
A_ROWS, B_ROWS = [4, 5, 8], [6, 7, 8]


def _universe(extra_target: bool = False) -> tuple[Candidates, list[PlanTarget]]:
    m = 3 if extra_target else 2
    counts = np.zeros((10, m))
    counts[A_ROWS, 0] = 1.0
    counts[B_ROWS, 1] = 1.0
    targets = [
        PlanTarget("A", "kpi", "甲", "A", 1.0, 0.25, 0.75),
        PlanTarget("B", "kpi", "乙", "B", 1.0, 0.625, 0.375),
    ]
    if extra_target:
        counts[9, 2] = 1.0  # only firm 10 counts for C: 0.5 of 5
        targets.append(PlanTarget("C", "link", "丙", "C", 5.0, 0.0, 5.0))
    candidates = Candidates(
        enterprise_id=np.array([f"f{i + 1}" for i in range(10)], dtype=object),
        name=np.array([f"企业{i + 1}" for i in range(10)], dtype=object),
        track=np.array(["hq"] * 10, dtype=object),
        p_land=P,
        tax_wan_cny=VALUES * 4 / P,
        score=VALUES[::-1].copy(),  # the value-only order: firm 10 first
        counts=sparse.csr_matrix(counts),
    )
    return candidates, targets


SETTINGS = PlanSettings(capacity={"hq": 3}, quarters=1, quarters_to_land=0, penalty=10_000.0)


def test_known_answer_plan_and_prices() -> None:
    candidates, targets = _universe()
    plan = make_plan(candidates, targets, SETTINGS)
    np.testing.assert_allclose(plan.x[:, 0], [0.75, 0, 0, 0, 1.0, 0.5, 0.75, 0, 0, 0], atol=1e-7)
    assert plan.prices == {"A": pytest.approx(140.0), "B": pytest.approx(100.0)}
    assert plan.lp_tax_wan_cny == pytest.approx(187.5)
    assert plan.tax_only_wan_cny == pytest.approx(270.0)
    assert plan.tax_given_up_wan_cny == pytest.approx(82.5)
    # dropping A: x1 = x2 = 1, x7 = 0.75, x3 = 0.25 → 247.5; dropping B: x1 = 1, x2 = 0.5,
    # x5 = 1, x6 = 0.5 → 220
    costs = {t.id: t.tax_given_up_wan_cny for t in plan.targets}
    assert costs == {"A": pytest.approx(60.0), "B": pytest.approx(32.5)}
    # the list rounds the relaxation: 5 (x = 1), then 1 and 7 (x = 0.75; 1 pays more)
    q0 = plan.quarter_list("hq", 0)
    assert list(q0["enterprise_id"]) == ["f5", "f7", "f1"]  # by plan value: 140, 100, 0
    assert all(t.status == "met" for t in plan.targets)  # the relaxation reaches both
    # the list reaches 0.5 of A's 0.75 (the half contact of 6 is rounded away) and 0.5 of B
    assert [t.expected_plan for t in plan.targets] == [0.5, 0.5]
    # the value-only list takes 10, 9, 8: 0.1 of A, 0.6 of B
    assert [t.expected_value_only for t in plan.targets] == [0.1, 0.6]
    # a lead's plan value if it lands: Σ price × the firms it counts for (9: A and B)
    assert plan_values(plan).tolist() == [0, 0, 0, 0, 140, 140, 100, 100, 240, 0]


def test_a_penalty_in_firm_years_is_what_a_typical_contacted_firm_pays() -> None:
    # the value-only list contacts 10, 9 and 8, whose in-park tax a year is 40, 400 and 160:
    # the median firm pays 160, so half a year of it is a penalty of 80 万元 a firm — below both
    # prices of the known answer (140, 100): the plan leaves both targets short at that price
    candidates, targets = _universe()
    settings = replace(SETTINGS, penalty=0.0, penalty_firm_years=0.5)
    plan = make_plan(candidates, targets, settings)
    assert plan.settings.penalty == pytest.approx(80.0)
    assert plan.prices == {"A": pytest.approx(80.0), "B": pytest.approx(80.0)}
    assert all(t.status != "met" for t in plan.targets)
    # ten years of it (1,600) is above both: the known answer again
    dear = make_plan(candidates, targets, replace(settings, penalty_firm_years=10.0))
    assert dear.settings.penalty == pytest.approx(1600.0)
    assert dear.prices == {"A": pytest.approx(140.0), "B": pytest.approx(100.0)}


def test_free_floor_bounds_the_plan_and_has_its_price() -> None:
    # no targets; firm 1's unit would lease 200 m² (0.5 × 200 = 100 m² expected), the others
    # none, and the park has 50 m² free: firm 1 is taken at x = ½, the half contact left goes to
    # firm 4. Tax: 50 + 90 + 80 + 35 = 255 (270 unbounded). One more m² lets x1 grow by 1/100
    # in place of firm 4: (100 − 70) / 100 = 0.3 万元 a m².
    full, _ = _universe()
    need = np.zeros(10)
    need[0] = 200.0
    candidates = replace(full, counts=sparse.csr_matrix((10, 0)), need_m2=need)
    settings = replace(SETTINGS, free_m2=(50.0,))
    plan = make_plan(candidates, [], settings)
    np.testing.assert_allclose(plan.x[:, 0], [0.5, 1, 1, 0.5, 0, 0, 0, 0, 0, 0], atol=1e-7)
    assert plan.lp_tax_wan_cny == pytest.approx(255.0)
    assert plan.space_prices is not None
    assert plan.space_prices.tolist() == [pytest.approx(0.3)]
    # the list never overfills the floor: firm 1 (100 m² expected) does not fit in 50
    assert plan.plan.quarter[0] == -1 and plan.plan.space_m2 is not None
    assert plan.plan.space_m2[0] <= 50.0
    # with room for it, the bound is slack and free of charge
    roomy = make_plan(candidates, [], replace(settings, free_m2=(500.0,)))
    assert roomy.lp_tax_wan_cny == pytest.approx(270.0)
    assert roomy.space_prices is not None and roomy.space_prices.tolist() == [0.0]
    # the column generation prices the floor too: a cut of one row gives the same plan
    cut = make_plan(candidates, [], replace(settings, candidates_per_track=1))
    assert cut.lp_tax_wan_cny == pytest.approx(255.0)


def test_a_target_out_of_reach_is_soft_and_says_so() -> None:
    # capacity 4: firm 10 (C's only firm) on top of the known answer's three
    candidates, targets = _universe(extra_target=True)
    settings = PlanSettings(capacity={"hq": 4}, quarters=1, quarters_to_land=0, penalty=1e4)
    plan = make_plan(candidates, targets, settings, target_costs=False)
    c = next(t for t in plan.targets if t.id == "C")
    assert c.status == "unreachable" and c.capacity_to_reach is None  # 0.5 of 5 at most
    assert c.price_wan_cny == pytest.approx(settings.penalty)  # the slack's price
    assert plan.x[9, 0] == pytest.approx(1.0)
    assert plan.prices["A"] == pytest.approx(140.0) and plan.prices["B"] == pytest.approx(100.0)
    assert [t.status for t in plan.targets] == ["met", "met", "unreachable"]


def test_capacity_to_reach_a_target_alone() -> None:
    candidates, _ = _universe()
    # target A at 1.2 firms: the A firms give 0.5 + 0.5 + 0.1; capacity 1 a quarter over one
    # quarter reaches 0.5 — two contacts 1.0, three 1.1: never 1.2 → None; at 1.0 → 2
    for shortfall, cap in ((1.2, None), (1.0, 2), (0.4, 1)):
        target = [PlanTarget("A", "kpi", "甲", "A", 2.0, 0.0, shortfall)]
        c = Candidates(**{**candidates.__dict__, "counts": candidates.counts[:, [0]]})
        plan = make_plan(
            c,
            target,
            PlanSettings(capacity={"hq": 1}, quarters=1, quarters_to_land=0, penalty=1e4),
            target_costs=False,
        )
        assert plan.targets[0].capacity_to_reach == cap


def test_quarters_later_contacts_pay_less_and_firms_count_once() -> None:
    # two tracks, one firm on both; H = 3, L = 1: contact quarters 0 and 1 pay 2 and 1 quarters
    counts = sparse.csr_matrix((4, 0))
    c = Candidates(
        enterprise_id=np.array(["a", "a", "b", "c"], dtype=object),
        name=np.array(["甲", "甲", "乙", "丙"], dtype=object),
        track=np.array(["hq", "bigdata", "hq", "bigdata"], dtype=object),
        p_land=np.full(4, 0.5),
        tax_wan_cny=np.array([800.0, 800.0, 400.0, 80.0]),
        score=np.array([4.0, 4.0, 2.0, 1.0]),
        counts=counts,
    )
    settings = PlanSettings(
        capacity={"hq": 1, "bigdata": 1}, quarters=3, quarters_to_land=1, penalty=1e4
    )
    plan = make_plan(c, [], settings)
    # a (100 a quarter expected) first, on one track only; b next on hq; c on bigdata
    assert plan.x.sum(axis=1)[:2].sum() == pytest.approx(1.0)
    assert plan.plan.quarter.tolist().count(-1) == 1
    # best: a in quarter 0 (×2) on either track, b (50) and c (10): hq a@0 b@1 + bigdata c@0
    # = 200 + 50 + 20 = 270, or bigdata a@0, hq b@0 → 200 + 100 + c@1 10 = 310
    assert plan.lp_tax_wan_cny == pytest.approx(310.0)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(PlanInputError, match=r"^capacity: "):
        check_settings(PlanSettings({"hq": 0}, 4, 1, 1.0), ["hq"])
    with pytest.raises(PlanInputError, match=r"^track: 'hr'"):
        check_settings(PlanSettings({"hr": 3}, 4, 1, 1.0), ["hq"])
    with pytest.raises(PlanInputError, match=r"^horizon: 30 quarters runs past"):
        check_settings(PlanSettings({"hq": 3}, 30, 1, 1.0), ["hq"], max_quarters=20)
    with pytest.raises(PlanInputError, match=r"^horizon: 2 quarters leaves no quarter"):
        check_settings(PlanSettings({"hq": 3}, 2, 2, 1.0), ["hq"])


def test_horizon_runs_to_the_plans_end() -> None:
    assert horizon_quarters(date(2020, 12, 31), 2025, 8) == 20
    assert horizon_quarters(date(2024, 5, 1), 2025, 8) == 6  # 2024Q3 … 2025Q4
    assert horizon_quarters(date(2026, 1, 1), 2025, 8) == 8  # past the plan: rolling
    assert quarter_label(date(2020, 12, 31)) == "2021Q1"
    assert quarter_label(date(2024, 5, 1), 1) == "2024Q4"


def _random_universe(n: int, seed: int) -> tuple[Candidates, list[PlanTarget]]:
    """n firms on two tracks (a tenth on both), three targets counting 5–15 % of them."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"e{i}" for i in range(n)], dtype=object)
    both = rng.random(n) < 0.1
    track = np.where(rng.random(n) < 0.5, "hq", "bigdata").astype(object)
    ids = np.concatenate([ids, ids[both]])
    track = np.concatenate([track, np.where(track[both] == "hq", "bigdata", "hq")])
    rows = len(ids)
    p = rng.beta(1.2, 20, rows)
    tax = rng.lognormal(5, 1.5, rows)
    counts = (rng.random((rows, 3)) < np.array([0.05, 0.1, 0.15])).astype(float)
    targets = [
        PlanTarget(f"t{j}", "kpi", f"目标{j}", f"target {j}", 10.0, 0.0, s)
        for j, s in enumerate((1.5, 2.0, 40.0))  # the last is out of reach
    ]
    return (
        Candidates(
            enterprise_id=ids,
            name=ids.copy(),
            track=track,
            p_land=p,
            tax_wan_cny=tax,
            score=p * tax * 5,
            counts=sparse.csr_matrix(counts),
        ),
        targets,
    )


def test_doubling_the_candidate_cut_changes_nothing() -> None:
    candidates, targets = _random_universe(4000, seed=3)
    base = PlanSettings(
        capacity={"hq": 5, "bigdata": 5}, quarters=8, quarters_to_land=2, penalty=1e5
    )
    # cut 40 → 80: 40 → 80 per track by expected tax, 40 → 60 per target (2 × 5 × 6)
    small = make_plan(candidates, targets, replace(base, candidates_per_track=40))
    large = make_plan(candidates, targets, replace(base, candidates_per_track=80))
    assert len(small.candidates) < len(large.candidates) < len(candidates)
    assert small.lp_tax_wan_cny == pytest.approx(large.lp_tax_wan_cny, rel=1e-9)
    assert small.prices == pytest.approx(large.prices, rel=1e-6)
    assert [t.status for t in small.targets] == [t.status for t in large.targets]
    assert any(t.price_wan_cny > 0 for t in small.targets[:2])  # the targets bind
    for track in ("hq", "bigdata"):
        assert set(small.quarter_list(track)["enterprise_id"]) == set(
            large.quarter_list(track)["enterprise_id"]
        )
