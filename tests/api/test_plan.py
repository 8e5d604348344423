"""The contact plan on the session's trained demo: ``GET /api/v1/plan``, its Excel export and
``attract plan`` — the targets, the prices, the first quarter's lists and bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.cli import app as cli
from data import columns as C
from data.reference import default_parks
from industry_graph.targets import countable_kpis
from tests.api.conftest import Api

V1 = "/api/v1"


@pytest.mark.one_engine
def test_plan_reports_targets_prices_and_lists(api: Api) -> None:
    response = api.client.get(f"{V1}/plan", params={"top": 20}, headers=api.officer)
    assert response.status_code == 200, response.text
    body = response.json()
    park = default_parks()["shibei"]
    block = park.contact_plan
    assert block is not None
    assert body["capacity"] == dict(block.capacity_per_quarter)
    assert body["first_quarter"] == "2021Q1" and body["horizon_quarters"] == 20
    kpis = [t["id"] for t in body["targets"] if t["kind"] == "kpi"]
    assert kpis == countable_kpis(park)
    for t in body["targets"]:
        assert t["shortfall"] >= 0 and 0 <= t["price_wan_cny"] <= body["penalty_wan_cny"] + 1
        if t["status"] == "met":
            assert t["price_wan_cny"] < body["penalty_wan_cny"]
    # each track's list fills its capacity; a firm's plan value is Σ price × its targets
    prices = {t["id"]: t["price_wan_cny"] for t in body["targets"]}
    kinds = {t["id"]: t["kind"] for t in body["targets"]}
    for track, items in body["lists"].items():
        assert len(items) == min(20, block.capacity_per_quarter[track])
        for item in items:
            # a KPI counts a landing as one firm, a link as the firm's share in it
            kpi = sum(prices[t] for t in item["targets"] if kinds[t] == "kpi")
            assert (
                kpi - 1 <= item["plan_value_wan_cny"] <= sum(prices[t] for t in item["targets"]) + 1
            )
            if all(kinds[t] == "kpi" for t in item["targets"]):
                assert item["plan_value_wan_cny"] == pytest.approx(kpi, rel=1e-3, abs=1.0)
            priced = [t for t in item["targets"] if prices[t] > 0]
            assert [r["target"] for r in item["reasons"]] == priced
    # the plan values a firm at the tax its list gives it (the unit's, the share applied once)
    state = api.app.state.holder.current
    for track, items in body["lists"].items():
        table = state.leads[track]
        for item in items[:5]:
            at = table.position_of(item["enterprise_id"])
            assert at is not None
            listed = table.scores_at(at)["tax_p50_wan_cny"]
            assert item["tax_wan_cny"] == pytest.approx(listed, abs=0.05), item["enterprise_id"]
    # the demo park holds buildings: the plan's expected landings never hold more floor than
    # is free in any quarter (the value-only list is not bound by it)
    space = body["space"]
    assert space is not None and len(space["quarters"]) == body["horizon_quarters"]
    assert all(
        p <= f + 1e-6 * max(f, 1) for p, f in zip(space["plan_m2"], space["free_m2"], strict=True)
    )
    assert all(v >= 0 for v in space["price_wan_cny_per_m2"])
    # the plan gives up tax against the tax-only optimum, never gains it
    assert body["tax"]["relaxation_wan_cny"] <= body["tax"]["tax_only_wan_cny"] + 1e-6

    smaller = api.client.get(f"{V1}/plan", params={"capacity": 5}, headers=api.officer).json()
    assert set(smaller["capacity"].values()) == {5}
    assert all(len(items) <= 5 for items in smaller["lists"].values())


@pytest.mark.one_engine
def test_plan_rejects_bad_input_naming_the_field(api: Api) -> None:
    zero = api.client.get(f"{V1}/plan", params={"capacity": 0}, headers=api.officer)
    assert zero.status_code == 422 and zero.json()["detail"][0]["loc"][-1] == "capacity"
    past = api.client.get(f"{V1}/plan", params={"horizon": 40}, headers=api.officer)
    assert past.status_code == 422, past.text
    assert past.json()["detail"][0]["loc"][-1] == "horizon"
    assert "past the plan" in past.json()["detail"][0]["msg"]


@pytest.mark.one_engine
def test_plan_export_is_a_workbook(api: Api) -> None:
    response = api.client.get(f"{V1}/plan/export", headers=api.officer)
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["目标", "2021Q1 hq", "2021Q1 bigdata", "说明"]
    assert wb["目标"]["F1"].value == "缺口（家）"


def test_cli_plan_rejects_a_capacity_below_one() -> None:
    result = CliRunner().invoke(cli, ["plan", "--capacity", "0"])
    assert result.exit_code == 2 and "--capacity" in result.output


@pytest.mark.one_engine
def test_cli_plan_json_and_a_horizon_past_the_plan(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.settings import get_settings

    settings = api.app.state.settings
    monkeypatch.setenv("ATTRACT_HOME", str(settings.home))
    monkeypatch.setenv("ATTRACT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ATTRACT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(cli, ["plan", "--format", "json", "--top", "3", "--capacity", "4"])
        assert done.exit_code == 0, done.output
        body = json.loads(done.output[done.output.index("{") :])
        assert set(body["capacity"].values()) == {4}
        assert all(len(v) == 3 for v in body["lists"].values())
        past = runner.invoke(cli, ["plan", "--horizon", "40"])
        assert past.exit_code == 2 and "--horizon" in past.output and "past the plan" in past.output
    finally:
        get_settings.cache_clear()


@pytest.mark.one_engine
def test_backtest_runs_both_lists_at_the_same_capacity(api: Api, tmp_path: Path) -> None:
    import pandas as pd
    from sqlalchemy.orm import sessionmaker

    from api.crm.migrate import open_database
    from api.demo.backtest import backtest, plan_lists
    from api.serving.state import load_state

    settings = api.app.state.settings
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = open_database(url)
    state = load_state(settings.model_copy(update={"database_url": url}))
    factory = sessionmaker(engine, expire_on_commit=False)
    plan, value, per_track, caps = plan_lists(state, factory, 2)
    assert caps == {"hq": 2, "bigdata": 2} and per_track == 2 * 17
    for lists in (plan, value):
        firms = [e for ids in lists.values() for e in ids]
        assert len(firms) == len(set(firms)) == 2 * per_track  # a firm once, capacity filled
    oracle = pd.read_parquet(settings.universe_dir / "oracle.parquet")
    result = backtest(state, factory, oracle, capacity=2, seed=7)
    assert result.value.leads == result.plan.leads == 2 * per_track
    assert set(result.value.kpis) == set(result.plan.kpis) == set(result.targets)
    assert result.plan.tax_2025_wan_cny is not None and result.value.tax_2025_wan_cny is not None
    engine.dispose()


@pytest.mark.one_engine
def test_the_plan_page_shows_targets_and_lists_behind_the_gate(api: Api) -> None:
    from fastapi.testclient import TestClient

    from api.deps import get_callers
    from tests.api.web.test_gate import Callers

    client = TestClient(api.app, follow_redirects=False)
    assert client.get("/plan").status_code == 303  # the gate: sign in first
    api.app.dependency_overrides[get_callers] = Callers
    try:
        client.cookies.set("attract_session", "officer-cookie")
        page = client.get("/plan", params={"capacity": 3})
        assert page.status_code == 200, page.text
        assert "招商计划" in page.text and 'id="plan-targets"' in page.text
        assert 'id="list-hq"' in page.text and 'id="list-bigdata"' in page.text
        assert page.text.count('action="/pipeline/add"') == 6  # 3 a track, one step each
        # the penalty says what it is, in years of a typical landing; the floor the plan keeps to
        assert 'id="plan-penalty"' in page.text and "年 × 按价值排序名单中位企业" in page.text
        assert 'id="plan-space"' in page.text and "可供新落地的空置面积" in page.text
        bad = client.get("/plan", params={"capacity": 0})
        assert bad.status_code == 422
    finally:
        api.app.dependency_overrides.pop(get_callers, None)


@pytest.mark.one_engine
def test_leads_and_the_enterprise_show_the_plan_value_beside_the_tax_value(api: Api) -> None:
    plan = api.client.get(f"{V1}/plan", headers=api.officer).json()  # the YAML's settings
    prices = {t["id"]: t["price_wan_cny"] for t in plan["targets"]}
    leads = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 50}, headers=api.officer
    ).json()["items"]
    assert all(item["plan_value_wan_cny"] is not None for item in leads)
    priced = [i for i in leads if i["plan_value_wan_cny"] > 0]
    assert priced, "a big-data lead counts for a priced target"
    first = priced[0]
    texts = [r["text_zh"] for r in first["reasons"] if r["kind"] == "plan_target"]
    assert texts and all(t.startswith("计入「") and "每家折合" in t for t in texts)
    names = {t["name_zh"]: t["price_wan_cny"] for t in plan["targets"] if prices[t["id"]] > 0}
    named = [n for n in names if any(f"「{n}」" in t for t in texts)]
    assert len(named) == len(texts)  # one reason per priced target, naming it
    # a KPI counts a landing as one firm, a link as the firm's share: at most Σ prices named
    assert 0 < first["plan_value_wan_cny"] <= sum(names[n] for n in named) + 1
    firm = api.client.get(f"{V1}/enterprises/{first['enterprise_id']}", headers=api.officer).json()
    score = next(s for s in firm["scores"] if s["track"] == "bigdata")
    assert score["plan_value_wan_cny"] == first["plan_value_wan_cny"]
    assert score["value_wan_cny"] == first["value_wan_cny"]  # beside the tax value, unchanged


@pytest.mark.one_engine
def test_once_the_plan_is_solved_the_lists_rank_by_the_score_with_its_prices(api: Api) -> None:
    api.client.get(f"{V1}/plan", headers=api.officer)  # the YAML's settings: the lists' prices
    park = default_parks()["shibei"]
    block = park.contact_plan
    assert block is not None and block.chain_link_targets
    weights, years = park.tracks["bigdata"].weights, park.valuation.horizon_years
    body = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 200}, headers=api.officer
    ).json()
    items = body["items"]
    # the plan's prices take the chain worth's place: P(land) × (value − chain + plan value)
    for item in items:
        base = item["value_wan_cny"] - years * weights.chain * item["chain_value_wan_cny"]
        want = item["p_land"] * (max(base, 0.0) + item["plan_value_wan_cny"])
        assert item["plan_score_wan_cny"] == pytest.approx(want, rel=1e-6, abs=0.2)
    scores = [i["plan_score_wan_cny"] for i in items]
    assert scores == sorted(scores, reverse=True), "the list is ranked by the score with the plan"
    # which is not the model's order: the plan's prices move leads that count for its targets
    model = [i["score"] for i in items]
    assert model != sorted(model, reverse=True)
    moved = [i for i in items if i["plan_value_wan_cny"] > 0]
    assert moved, "some lead of the head counts for a priced target"
    # overall ranks follow the same order; the enterprise page says the same rank and score
    ranks = [i["overall_rank"] for i in items]
    assert ranks == sorted(ranks) and all(i["overall_rank"] >= i["rank"] for i in items)
    firm = api.client.get(f"{V1}/enterprises/{moved[0]['enterprise_id']}", headers=api.officer)
    score = next(s for s in firm.json()["scores"] if s["track"] == "bigdata")
    assert score["overall_rank"] == moved[0]["overall_rank"]
    assert score["plan_score_wan_cny"] == moved[0]["plan_score_wan_cny"]
    # a filter keeps the plan's order
    chain = api.client.get(
        f"{V1}/leads",
        params={"track": "bigdata", "limit": 50, "chain": "big_data"},
        headers=api.officer,
    ).json()["items"]
    got = [i["plan_score_wan_cny"] for i in chain]
    assert got and got == sorted(got, reverse=True)


@pytest.mark.one_engine
def test_a_team_lead_puts_the_quarters_list_on_the_pipeline_round_robin(api: Api) -> None:
    from fastapi.testclient import TestClient

    password = "plan-pass-2025"
    for name, role in (("plan.lead", "lead"), ("officer.a", "officer"), ("officer.b", "officer")):
        made = api.client.post(
            f"{V1}/users",
            json={"username": name, "role": role, "password": password},
            headers=api.admin,
        )
        assert made.status_code == 201, made.text
    with TestClient(api.app, base_url="https://testserver") as client:
        signed = client.post(
            "/login",
            data={"username": "plan.lead", "password": password},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        done = client.post(
            "/plan/pipeline", data={"track": "hq", "capacity": 4}, follow_redirects=False
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/plan")
        bad = client.post("/plan/pipeline", data={"track": "hr"}, follow_redirects=False)
        assert bad.status_code == 422
    leads = api.client.get(f"{V1}/pipeline", params={"track": "hq"}, headers=api.admin).json()[
        "items"
    ]
    owners = [lead["owner"] for lead in leads]
    assert len(leads) == 4 and sorted(owners) == [
        "officer.a",
        "officer.a",
        "officer.b",
        "officer.b",
    ]


def test_a_page_walks_only_the_head_of_the_plans_order_and_gets_the_same_rows() -> None:
    import numpy as np

    from api.serving.plan import PlanOrder

    rng = np.random.default_rng(7)
    n = 20_000
    score = rng.random(n)
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    plan = PlanOrder(plan_value=np.zeros(n), plan_score=score, order=order, rank=rank)
    for share in (0.9, 0.01, 0.0001, 0.0):
        keep = rng.random(n) < share
        full = plan.ordered(keep)
        assert sorted(full.tolist()) == np.flatnonzero(keep).tolist()
        assert (np.diff(score[full]) <= 0).all()
        for stop in (1, 50, 5_000, n + 1):
            assert plan.head(keep, stop).tolist() == full[:stop].tolist()


def test_firms_outside_the_plan_count_for_its_targets_as_over_the_whole_universe(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's firms the plan does not hold (left out of the lists) are matched against its
    targets on their own rows: the same counts as matched over every firm of the universe."""
    import numpy as np
    import pandas as pd

    from api.serving import plan as served_plan

    api.client.get(f"{V1}/plan", headers=api.officer)  # the YAML's settings: the lists' prices
    state = api.app.state.holder.current
    with served_plan._prices_lock:
        targets, served = served_plan._prices[served_plan._loaded(state)]
    firms = state.tables["enterprises"][C.ENTERPRISE_ID].astype(str)
    outside = firms[~firms.isin(set(served.firms))].head(300).reset_index(drop=True)
    assert len(outside) == 300
    ids = pd.concat([outside, pd.Series([str(served.firms[0]), "no-such-firm"])], ignore_index=True)
    own = served_plan._target_counts(state, served, targets, ids)
    monkeypatch.setattr(served_plan, "FEW_FIRMS", 0)
    whole = served_plan._target_counts(state, served, targets, ids)
    assert (own != whole).nnz == 0
    assert own.nnz > 0 and np.asarray(own[-1].todense()).sum() == 0
