"""``/api/v1/kpis``, ``/kpis/coverage`` and ``/monitor/realised`` on the session's trained demo
(SQLite and PostgreSQL): the plan's KPIs from the roster and tax records, an open lead moving
the KPI it counts for, and the link coverage at the baseline and now."""

from __future__ import annotations

import pytest

from data.reference import default_chains, default_parks
from tests.api.conftest import Api

V1 = "/api/v1"
HQ_TYPES = {"mnc_regional_hq", "national_hq", "regional_hq"}


def test_kpis_measure_the_plan_and_an_open_lead_moves_its_kpi(api: Api) -> None:
    first = api.client.get(f"{V1}/kpis", headers=api.officer)
    assert first.status_code == 200, first.text
    body = first.json()
    park = default_parks()["shibei"]
    assert [k["id"] for k in body["kpis"]] == [k.id for k in park.kpi_targets]
    kpis = {k["id"]: k for k in body["kpis"]}
    listings = kpis["new_listings"]
    assert (
        listings["status"] == "not_held"
        and listings["now"] is None
        and "IPO" in listings["not_held"]
    )
    tax = kpis["tax_growth"]  # the plan's 950,000 万元 against the demo's latest year
    assert (
        tax["level_baseline"] == 950_000
        and tax["baseline_source"] == "plan"
        and tax["now_year"] == 2020
    )
    total = kpis["hq_firms_total"]
    assert total["baseline"] == 60 and total["now"] >= 60 and total["series"][0]["year"] == 2020

    # an HQ-type candidate enters the pipeline: the new-HQ projection rises by its P(land)
    leads = api.client.get(
        f"{V1}/leads", params={"track": "hq", "limit": 500}, headers=api.officer
    ).json()["items"]
    chosen = None
    for lead in leads:  # the best HQ-type candidate (this test's database has no pipeline yet)
        profile = api.client.get(f"{V1}/enterprises/{lead['enterprise_id']}", headers=api.officer)
        if profile.json()["profile"].get("hq_type") in HQ_TYPES:
            chosen = lead
            break
    assert chosen is not None, "no HQ-type candidate in the first 500 HQ leads"
    made = api.client.post(
        f"{V1}/pipeline",
        json={"enterprise_id": chosen["enterprise_id"], "track": "hq"},
        headers=api.lead,
    )
    assert made.status_code == 201, made.text
    after = {k["id"]: k for k in api.client.get(f"{V1}/kpis", headers=api.analyst).json()["kpis"]}
    moved = after["new_hq"]
    assert chosen["enterprise_id"] in {m["enterprise_id"] for m in moved["movers"]}
    mover = next(m for m in moved["movers"] if m["enterprise_id"] == chosen["enterprise_id"])
    assert mover["adds"] == round(chosen["p_land"], 3) and mover["stage"] == "new"
    assert moved["projected"] >= kpis["new_hq"]["projected"] + chosen["p_land"] - 1e-6


@pytest.mark.one_engine
def test_coverage_at_the_baseline_and_now(api: Api) -> None:
    r = api.client.get(f"{V1}/kpis/coverage", headers=api.officer)
    assert r.status_code == 200
    links = r.json()["links"]
    chains = default_chains()
    expected = sum(len(chains[t.id].links) for t in default_parks()["shibei"].chains)
    assert len(links) == expected
    for link in links:  # the roster only grows: what was there at the baseline still is
        assert link["firms_now"] >= link["firms_baseline"]
        assert link["closed"] == (link["firms_baseline"] == 0 and link["firms_now"] > 0)


@pytest.mark.one_engine
def test_realised_against_predicted_answers_without_landed_firms_and_needs_a_key(api: Api) -> None:
    r = api.client.get(f"{V1}/monitor/realised", headers=api.officer)
    assert r.status_code == 200
    body = r.json()
    assert body["measured"] == len(body["firms"]) and body["coverage_warning_below"] == 0.6
    assert api.client.get(f"{V1}/monitor/realised").status_code == 401
