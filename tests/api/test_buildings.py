"""The 载体 API and pages on a hand-made three-building park (``tests/industry_graph/test_space``'s
甲楼 A, 乙楼 B, 丙楼 C) through ``app.dependency_overrides``: no trained demo, no universe. The
shapes, the known figures that do not depend on the day, unknown ids → 404, and the gate."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.crm.people import Caller
from api.deps import get_callers, get_state
from api.serving.state import COMPONENTS, ServiceState
from data import columns as C
from data.reference import default_parks
from data.settings import Settings
from tests.apps import Api
from tests.industry_graph.test_space import TABLES

V1 = "/api/v1"
OFFICER = Caller(user_id=1, username="li.na", display_name="李娜", role="officer")


class Callers:
    """An API key and a session cookie standing for the officer."""

    def get(self, kind: str, secret: str) -> Caller | None:
        return OFFICER if secret == "officer" else None

    def forget(self, kind: str, secret: str) -> None:
        """Nothing is cached."""


def _state(settings: Settings, tables: dict[str, object]) -> ServiceState:
    state = ServiceState(settings=settings, park=default_parks()["shibei"])
    state.tables = tables  # type: ignore[assignment]
    state.status = dict.fromkeys(COMPONENTS, "ready")
    state.loaded_at = "test"
    return state


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    home = tmp_path_factory.mktemp("buildings")
    settings = Settings(home=home, data_dir=home / "no-universe", cookie_secure=False)
    site = create_app(settings, load="none")
    state = _state(settings, dict(TABLES))
    site.dependency_overrides[get_state] = lambda: state
    site.dependency_overrides[get_callers] = Callers
    yield site
    site.state.engine.dispose()


def _client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False, raise_server_exceptions=False)


def test_the_list_of_buildings(app: FastAPI) -> None:
    r = _client(app).get(f"{V1}/buildings", headers={"X-API-Key": "officer"})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = {b["building_id"]: b for b in body["buildings"]}
    assert sorted(rows) == ["A", "B", "C"]
    assert body["threshold_wan_cny"] == 10_000.0 and body["baseline_year"] == 2020
    # 乙楼 paid 11,000 万元 in 2020 and 9,000 in 2023: a 亿元楼 at the baseline, not now
    assert rows["B"]["tax_baseline_wan_cny"] == pytest.approx(11_000.0)
    assert rows["B"]["tax_now_wan_cny"] == pytest.approx(9_000.0)
    assert rows["B"]["over_baseline"] is True and rows["B"]["over_now"] is False
    # 2023: 甲楼 10,500 and 丙楼 12,000 over (test_yiyuan_kpi_on_the_three_building_park)
    assert rows["A"]["over_now"] is True and rows["C"]["over_now"] is True
    assert body["count_baseline"] == 1 and body["count_now"] == 2
    assert rows["A"]["kind_zh"] == "商务办公" and rows["A"]["floor_area_m2"] > 0
    assert 0.0 <= rows["A"]["occupancy_now"] <= 1.0


def test_a_building_and_an_unknown_one(app: FastAPI) -> None:
    client = _client(app)
    r = client.get(f"{V1}/buildings/B", headers={"X-API-Key": "officer"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["building"]["name"] == "乙楼"
    assert body["tax_by_year"] == [
        {"year": 2020, "tax_wan_cny": 11_000.0},
        {"year": 2023, "tax_wan_cny": 9_000.0},
    ]
    assert [t["enterprise_id"] for t in body["tenants"]] == ["b1"]
    quarters = [q["quarter"] for q in body["occupancy"]]
    assert quarters[0] == "2020Q4" and quarters == sorted(quarters)
    assert all(q["free_m2"] >= 0 for q in body["occupancy"])
    missing = client.get(f"{V1}/buildings/Z", headers={"X-API-Key": "officer"})
    assert missing.status_code == 404 and "no building 'Z'" in missing.json()["detail"]


def test_the_api_asks_for_a_key(app: FastAPI) -> None:
    assert _client(app).get(f"{V1}/buildings").status_code == 401


def test_the_pages_behind_the_sign_in(app: FastAPI) -> None:
    client = _client(app)
    assert client.get("/buildings").status_code == 303  # to the sign-in page
    client.cookies.set("attract_session", "officer")
    page = client.get("/buildings")
    assert page.status_code == 200 and 'id="building-B"' in page.text and "乙楼" in page.text
    one = client.get("/buildings/B?lang=en")
    assert one.status_code == 200 and "<svg" in one.text and "Occupancy over time" in one.text
    assert client.get("/buildings/Z").status_code == 404


def test_a_park_holding_no_buildings_is_a_404_saying_what_to_import(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    home = tmp_path_factory.mktemp("no-buildings")
    settings = Settings(home=home, data_dir=home / "no-universe", cookie_secure=False)
    site = create_app(settings, load="none")
    tables = {k: v for k, v in TABLES.items()}
    tables["park_buildings"] = TABLES["park_buildings"].iloc[0:0]
    state = _state(settings, tables)
    site.dependency_overrides[get_state] = lambda: state
    site.dependency_overrides[get_callers] = Callers
    r = _client(site).get(f"{V1}/buildings", headers={"X-API-Key": "officer"})
    site.state.engine.dispose()
    assert r.status_code == 404 and "attract import buildings" in r.json()["detail"]


@pytest.mark.one_engine
def test_a_leads_profile_has_its_space_need_and_the_buildings_that_take_it(api: Api) -> None:
    """Over the trained demo: the first hq lead's need (P10 ≤ P50 ≤ P90), the buildings that
    would take it best first, each with the free area its need fits in; a park firm has none;
    the demo's buildings through GET /buildings, each one's page by id."""
    first = api.client.get(
        f"{V1}/leads", params={"track": "hq", "limit": 1}, headers=api.officer
    ).json()["items"][0]
    body = api.client.get(f"{V1}/enterprises/{first['enterprise_id']}", headers=api.officer).json()
    space = body["space"]
    assert space["need_m2_p10"] <= space["need_m2_p50"] <= space["need_m2_p90"]
    assert space["need_m2_p50"] > 0 and space["land_quarter"]
    taking = [b for b in space["buildings"] if b["takes"]]
    assert taking and all(b["free_m2"] >= space["need_m2_p50"] for b in taking)
    assert [b["fit"] for b in taking] == sorted((b["fit"] for b in taking), reverse=True)
    listed = api.client.get(f"{V1}/buildings", headers=api.officer).json()["buildings"]
    assert {b["building_id"] for b in taking} <= {b["building_id"] for b in listed}
    one = api.client.get(f"{V1}/buildings/{taking[0]['building_id']}", headers=api.officer)
    assert one.status_code == 200 and one.json()["occupancy"]
    state = api.app.state.holder.current
    member = sorted(state.fc.park_members)[0]
    assert api.client.get(f"{V1}/enterprises/{member}", headers=api.officer).json()["space"] is None


@pytest.mark.one_engine
def test_a_lead_beyond_the_report_gets_the_card_the_universe_gives_it(api: Api) -> None:
    """A lead beyond the space report's leads gets, on its enterprise page, the card that
    ``prepare_leads`` → ``building_fit`` → ``buildings_for_lead`` give it as a new lead over the
    whole universe's tables (``lead_space_card`` fits it alone from arrays), for every tenth
    lead of both lists that the report does not hold."""
    from api.serving.buildings import _card, latest_report, lead_space_card
    from industry_graph.space import building_fit, buildings_for_lead, prepare_leads

    state = api.app.state.holder.current
    sessions = api.app.state.sessions
    report = latest_report(state, sessions)
    rows = []
    for track, table in state.leads.items():
        earlier = list(state.leads)[: list(state.leads).index(track)]
        for pos in range(0, len(table), 10):
            eid = str(table.ids[pos])
            if eid in report.lead_rows or any(
                state.leads[t].position_of(eid) is not None for t in earlier
            ):
                continue  # the report's own card, or the card of an earlier track
            rows.append(
                {C.ENTERPRISE_ID: eid, C.TRACK: track, "stage": "new", **table.scores_at(pos)}
            )
    assert len(rows) >= 20
    # the frame path fits each lead of a table on its own row: all of them in one call
    prepared = prepare_leads(
        leads=pd.DataFrame(rows), tables=state.tables, park=state.park, today=report.today
    )
    fit = building_fit(leads=prepared, space=report.space)
    for i, row in prepared.iterrows():
        expected = _card(
            {
                "unit_kind": str(row["unit_kind"]),
                "unit_source": str(row["unit_source"]),
                **{
                    c: float(row[c])
                    for c in (
                        "unit_staff_p10",
                        "unit_staff_p50",
                        "unit_staff_p90",
                        "need_m2_p10",
                        "need_m2_p50",
                        "need_m2_p90",
                    )
                },
                "land_quarter": str(row["land_quarter"]),
                "buildings": buildings_for_lead(
                    fit=fit, leads=prepared, space=report.space, lead_row=int(i), top=5
                ),
            },
            report,
        )
        eid = str(row[C.ENTERPRISE_ID])
        assert lead_space_card(state, sessions, eid) == expected, eid


@pytest.mark.one_engine
def test_the_first_report_of_a_load_is_built_once_for_pages_asking_together(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enterprise pages asking for the space report before the load has one wait for the one
    being built rather than build it side by side."""
    import threading
    import time

    from api.serving import buildings as served

    state = api.app.state.holder.current
    built = []

    def slow(**kwargs: object) -> object:
        built.append(1)
        time.sleep(0.5)
        return real(**kwargs)

    real = served.space_report
    monkeypatch.setattr(served, "space_report", slow)
    with served._newest_lock:
        served._newest.clear()
    served._memo._items.clear()
    got: list[object] = []
    threads = [
        threading.Thread(
            target=lambda: got.append(served.latest_report(state, api.app.state.sessions))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(built) == 1 and len(got) == 4 and all(r is got[0] for r in got)
