"""The lead pipeline through the API: stages and their rules, versions (409), ownership, the
audit, outreach as pipeline events, the board and team views, and outcomes for training."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.crm.pipeline import board, pipeline_outcomes, team
from api.crm.tables import create_key, landed_leads, session_scope
from tests.api.conftest import Api

_names = itertools.count()


@dataclass(frozen=True)
class Team:
    """Two officers and their team lead, each with a key acting as them."""

    alice: dict[str, str]
    bob: dict[str, str]
    lead: dict[str, str]
    names: tuple[str, str, str]


@pytest.fixture()
def people(api: Api) -> Team:
    n = next(_names)
    names = (f"alice{n}", f"bob{n}", f"chief{n}")
    for name, role in zip(names, ("officer", "officer", "lead"), strict=True):
        r = api.client.post(
            "/api/v1/users",
            json={"username": name, "role": role, "password": f"{name}-password"},
            headers=api.admin,
        )
        assert r.status_code == 201, r.text
    keys = [{"X-API-Key": create_key(api.app.state.sessions, username=x)} for x in names]
    return Team(alice=keys[0], bob=keys[1], lead=keys[2], names=names)


_firms = itertools.count()


def _firm(api: Api, track: str = "bigdata") -> str:
    """A lead of the list not yet on the pipeline (each call the next one)."""
    r = api.client.get(
        "/api/v1/leads",
        params={"track": track, "limit": 1, "offset": 300 + next(_firms)},
        headers=api.officer,
    )
    return str(r.json()["items"][0]["enterprise_id"])


def _create(api: Api, headers: dict[str, str], **body: object) -> dict[str, object]:
    body = {"enterprise_id": _firm(api), "track": "bigdata", **body}
    r = api.client.post("/api/v1/pipeline", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _patch(api: Api, headers: dict[str, str], lead: dict[str, object], **change: object):  # type: ignore[no-untyped-def]
    return api.client.patch(
        f"/api/v1/pipeline/{lead['id']}",
        json={"version": lead["version"], **change},
        headers=headers,
    )


def test_a_lead_moves_through_every_stage_with_its_audit(api: Api, people: Team) -> None:
    lead = _create(api, people.alice, follow_up_on=str(date.today() + timedelta(days=3)))
    assert lead["stage"] == "new" and lead["stage_zh"] == "线索" and lead["version"] == 1
    assert lead["owner"] == people.names[0]  # the officer who creates it owns it
    created = lead["created_with"]
    assert isinstance(created, dict) and created["p_land"] == pytest.approx(lead["p_land"])
    assert created["tax_p10_wan_cny"] <= created["tax_p50_wan_cny"] <= created["tax_p90_wan_cny"]
    assert created["model_version"]
    for stage in ("contacted", "negotiating", "signed", "landed", "paying"):
        r = _patch(api, people.alice, lead, stage=stage)
        assert r.status_code == 200, r.text
        lead = r.json()
        assert lead["stage"] == stage
    assert lead["version"] == 6 and lead["contacted_on"] == str(date.today())
    assert lead["closed_on"] == str(date.today())
    history = api.client.get(f"/api/v1/pipeline/{lead['id']}/history", headers=api.analyst).json()
    moves = [(e["field"], e["from"], e["to"], e["version"], e["user"]) for e in history]
    assert moves == [
        ("created", None, "new", 1, people.names[0]),
        ("stage", "new", "contacted", 2, people.names[0]),
        ("stage", "contacted", "negotiating", 3, people.names[0]),
        ("stage", "negotiating", "signed", 4, people.names[0]),
        ("stage", "signed", "landed", 5, people.names[0]),
        ("stage", "landed", "paying", 6, people.names[0]),
    ]


def test_a_forbidden_move_is_422_naming_both_stages(api: Api, people: Team) -> None:
    lead = _create(api, people.alice)
    r = _patch(api, people.alice, lead, stage="paying")
    assert r.status_code == 422
    message = r.json()["detail"][0]["msg"]
    assert "from new" in message and "to paying" in message, message
    assert r.json()["detail"][0]["loc"] == ["body", "stage"]
    r = _patch(api, people.alice, lead, stage="lost")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "lost_reason"]
    r = _patch(api, people.alice, lead, stage="lost", lost_reason="chose_other_location")
    assert r.status_code == 200 and r.json()["lost_reason"] == "chose_other_location"
    r = _patch(api, people.alice, r.json(), stage="contacted")  # a lost lead reopened
    assert r.status_code == 200 and r.json()["lost_reason"] is None
    r = api.client.patch(
        f"/api/v1/pipeline/{lead['id']}",
        json={"version": 3, "stage": "flying"},
        headers=people.alice,
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "stage"


def test_a_stale_version_is_409_and_nothing_is_lost(api: Api, people: Team) -> None:
    lead = _create(api, people.alice)
    first = _patch(api, people.alice, lead, note="called the CFO")
    assert first.status_code == 200
    second = _patch(api, people.lead, lead, note="met at the fair")  # read version 1 too
    assert second.status_code == 409
    assert "version" in second.json()["detail"]
    now = api.client.get(f"/api/v1/pipeline/{lead['id']}", headers=api.officer).json()
    assert now["note"] == "called the CFO" and now["version"] == 2


def test_officers_change_only_their_own_leads_until_the_team_lead_reassigns(
    api: Api, people: Team
) -> None:
    alice, bob, chief = people.names
    lead = _create(api, people.alice)
    r = _patch(api, people.bob, lead, stage="contacted")
    assert r.status_code == 403 and "another officer" in r.json()["detail"]
    r = _patch(api, people.bob, lead, owner=bob)  # cannot take it either
    assert r.status_code == 403
    r = _patch(api, people.alice, lead, owner=bob)  # nor give it away
    assert r.status_code == 403
    r = _patch(api, people.lead, lead, owner=bob, follow_up_on=str(date.today()))
    assert r.status_code == 200 and r.json()["owner"] == bob
    r = _patch(api, people.bob, r.json(), stage="contacted")
    assert r.status_code == 200
    assert _patch(api, people.alice, r.json(), note="mine?").status_code == 403
    r = _patch(api, people.lead, r.json(), owner="nobody-here")
    assert r.status_code == 422 and "owner" in r.json()["detail"][0]["loc"]
    owners = [
        (e["field"], e["from"], e["to"], e["user"])
        for e in api.client.get(
            f"/api/v1/pipeline/{lead['id']}/history", headers=api.officer
        ).json()
        if e["field"] == "owner"
    ]
    assert owners == [("owner", alice, bob, chief)]
    # an analyst reads the pipeline but does not work it
    assert api.client.get("/api/v1/pipeline", headers=api.analyst).status_code == 200
    r = api.client.post(
        "/api/v1/pipeline",
        json={"enterprise_id": _firm(api), "track": "bigdata"},
        headers=api.analyst,
    )
    assert r.status_code == 403


def test_a_firm_is_on_a_track_once_and_unknowns_are_named(api: Api, people: Team) -> None:
    lead = _create(api, people.alice)
    again = api.client.post(
        "/api/v1/pipeline",
        json={"enterprise_id": lead["enterprise_id"], "track": "bigdata"},
        headers=people.bob,
    )
    assert again.status_code == 409 and f"lead {lead['id']}" in again.json()["detail"]
    r = api.client.post(
        "/api/v1/pipeline", json={"enterprise_id": "NOPE", "track": "bigdata"}, headers=people.bob
    )
    assert r.status_code == 404 and "enterprise_id" in r.json()["detail"]
    r = api.client.post(
        "/api/v1/pipeline",
        json={"enterprise_id": lead["enterprise_id"], "track": "moon"},
        headers=people.bob,
    )
    assert r.status_code == 422 and "track" in str(r.json()["detail"])
    assert api.client.get("/api/v1/pipeline/999999", headers=api.officer).status_code == 404


def test_my_leads_put_due_and_overdue_follow_ups_first(api: Api, people: Team) -> None:
    today = date.today()
    later = _create(api, people.bob, follow_up_on=str(today + timedelta(days=10)))
    none = _create(api, people.bob)
    overdue = _create(api, people.bob, follow_up_on=str(today - timedelta(days=2)))
    due = _create(api, people.bob, follow_up_on=str(today))
    page = api.client.get(
        "/api/v1/pipeline", params={"owner": "me", "limit": 500}, headers=people.bob
    ).json()
    order = [x["id"] for x in page["items"]]
    mine = [x["id"] for x in (overdue, due, later, none)]
    assert [i for i in order if i in mine] == mine
    flags = {x["id"]: (x["overdue"], x["due"]) for x in page["items"]}
    assert flags[overdue["id"]] == (True, True) and flags[due["id"]] == (False, True)
    assert flags[later["id"]] == (False, False)
    due_only = api.client.get(
        "/api/v1/pipeline", params={"owner": "me", "due_by": str(today)}, headers=people.bob
    ).json()
    assert {x["id"] for x in due_only["items"]} >= {overdue["id"], due["id"]}
    assert later["id"] not in {x["id"] for x in due_only["items"]}


def test_outreach_becomes_a_pipeline_event(api: Api, people: Team) -> None:
    firm = _firm(api)
    for outcome in ("pending", "interested"):
        r = api.client.post(
            "/api/v1/outreach",
            json={
                "enterprise_id": firm,
                "track": "bigdata",
                "outcome": outcome,
                "contacted_on": str(date.today()),
            },
            headers=people.alice,
        )
        assert r.status_code == 201, r.text
    found = api.client.get(
        "/api/v1/pipeline", params={"owner": people.names[0], "limit": 500}, headers=api.officer
    ).json()["items"]
    lead = next(x for x in found if x["enterprise_id"] == firm)
    assert lead["stage"] == "negotiating" and lead["version"] == 2
    history = api.client.get(f"/api/v1/pipeline/{lead['id']}/history", headers=api.officer).json()
    assert [(e["field"], e["from"], e["to"]) for e in history] == [
        ("outreach", None, "contacted"),
        ("outreach", "contacted", "negotiating"),
    ]
    assert all(e["outreach_id"] for e in history)


def test_board_team_and_training_outcomes(api: Api, people: Team) -> None:
    signed = _create(api, people.alice)
    for stage in ("contacted", "negotiating", "signed"):
        signed = _patch(api, people.alice, signed, stage=stage).json()
    lost = _create(api, people.alice)
    lost = _patch(api, people.alice, lost, stage="lost", lost_reason="no_response").json()
    state = api.app.state.holder.current
    sessions = api.app.state.sessions
    columns = {c["stage"]: c for c in board(state, sessions)}
    assert set(columns) == {"new", "contacted", "negotiating", "signed", "landed", "paying", "lost"}
    assert (
        sum(c["count"] for c in columns.values())
        == api.client.get("/api/v1/pipeline", headers=api.officer).json()["total"]
    )
    expected = sum(
        x["p_land"] * x["value_wan_cny"] for x in columns["signed"]["leads"] if x["p_land"]
    )
    assert columns["signed"]["expected_value_wan_cny"] == pytest.approx(expected)
    assert signed["id"] in {x["id"] for x in columns["signed"]["leads"]}

    # a lead whose stage has not moved for longer than the threshold is stale in the team view
    fresh, stale = _create(api, people.alice), _create(api, people.alice)
    with session_scope(sessions) as s:
        s.execute(
            text("UPDATE pipeline_leads SET stage_since = :at WHERE id = :id"),
            {"at": datetime(2020, 1, 1, tzinfo=UTC), "id": stale["id"]},
        )
    view = team(state, sessions, stale_days=30)
    alice = next(r for r in view["owners"] if r["owner"] == people.names[0])
    assert alice["per_stage"]["signed"] >= 1 and alice["per_stage"]["lost"] >= 1
    open_stages = ("new", "contacted", "negotiating", "signed")
    assert alice["open"] == sum(alice["per_stage"][st] for st in open_stages)
    assert [x["id"] for x in alice["stale"]] == [stale["id"]]
    assert alice["oldest_stage_age_days"] >= (date.today() - date(2020, 1, 1)).days

    outcomes = pipeline_outcomes(sessions, "shibei")
    rows = outcomes.set_index("outreach_id")
    assert rows.loc[f"pipeline-{signed['id']}", "outcome"] == "signed"
    assert rows.loc[f"pipeline-{lost['id']}", "outcome"] == "no_response"
    assert (outcomes["campaign"] == "pipeline").all()
    assert f"pipeline-{fresh['id']}" not in rows.index  # a new lead is no outcome yet


def test_the_pipeline_export_is_a_workbook(api: Api, people: Team) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from api.crm.people import authenticate, start_session

    caller = authenticate(api.app.state.sessions, people.names[0], f"{people.names[0]}-password")
    token = start_session(api.app.state.sessions, caller)
    client = TestClient(api.app, base_url="https://testserver")
    r = client.get("/pipeline/export", params={"scope": "mine"}, cookies={"attract_session": token})
    assert r.status_code == 200, r.text[:300]
    sheet = load_workbook(BytesIO(r.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["线索编号", "企业代码", "企业名称", "赛道", "阶段代码"]
    mine = api.client.get(
        "/api/v1/pipeline", params={"owner": "me", "limit": 500}, headers=people.alice
    ).json()
    assert sheet.max_row - 1 == mine["total"]


def test_a_landed_firm_joins_the_roster_at_the_next_load(api: Api, people: Team) -> None:
    from api.serving.state import load_state

    lead = _create(api, people.alice)
    for stage in ("contacted", "negotiating", "signed", "landed"):
        lead = _patch(api, people.alice, lead, stage=stage).json()
    state = load_state(api.app.state.settings)
    roster = state.tables["park_roster"]
    joined = roster[roster["enterprise_id"] == lead["enterprise_id"]]
    assert joined["park_id"].tolist() == ["shibei"]
    assert joined["entered_on"].iloc[0].date() == date.today()
    assert state.leads["bigdata"].position_of(str(lead["enterprise_id"])) is None  # not a lead now
    assert (
        api.app.state.holder.current.leads["bigdata"].position_of(str(lead["enterprise_id"]))
        is not None
    )  # the state being served changes only on reload


def test_the_form_a_firm_landed_in_is_recorded_once_it_landed(api: Api, people: Team) -> None:
    lead = _create(api, people.alice)
    created = lead["created_with"]
    assert isinstance(created, dict) and created["landing_form"] in {
        "subsidiary",
        "branch",
        "rd_centre",
        "relocation",
        "licensed_branch",
    }
    r = _patch(api, people.alice, lead, stage="contacted", landed_as="branch")
    assert r.status_code == 422
    assert "landed_as" in r.text and "landed or paying" in r.text
    for stage in ("contacted", "negotiating", "signed"):
        lead = _patch(api, people.alice, lead, stage=stage).json()
    # a form of another track (or none) is named with the track's forms
    r = _patch(api, people.alice, lead, stage="landed", landed_as="regional_hq")
    assert r.status_code == 422
    assert "landed_as" in r.text and "subsidiary" in r.text
    # nothing was written by the refused changes
    now = api.client.get(f"/api/v1/pipeline/{lead['id']}", headers=people.alice).json()
    assert now["stage"] == "signed" and now["landed_as"] is None
    lead = _patch(api, people.alice, lead, stage="landed", landed_as="branch").json()
    assert lead["stage"] == "landed" and lead["landed_as"] == "branch"
    history = api.client.get(f"/api/v1/pipeline/{lead['id']}/history", headers=people.alice).json()
    took = [e for e in history if e["field"] == "landed_as"]
    assert [(e["from"], e["to"]) for e in took] == [(None, "branch")]
    # training reads it with the form assumed and the share band the lead was valued with
    with session_scope(api.app.state.sessions) as s:
        row = next(x for x in landed_leads(s, "shibei") if x["lead_id"] == lead["id"])
    assert row["landed_as"] == "branch" and row["landing_form"] == created["landing_form"]
    assert 0 < row["in_park_tax_share_p10"] <= row["in_park_tax_share_p90"] <= 1
