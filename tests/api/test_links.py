"""Chain-link corrections (产业链校核) through the API: a correction moves the firm's link in the
lead list, the chain's gaps and the KPI counts after a reload, shows as 人工校核 with the person
and date, is in the audit once; officers get 403 on every route; bad input is a 4xx naming the
field; a CSV import is all or nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from api.app import create_app
from api.serving.state import StateHolder
from data import columns as C
from data.reference import chain_of, default_chains
from tests.api.conftest import Api

V1 = "/api/v1"
ROUTES = (
    ("get", "/links/review", None),
    ("post", "/links/corrections", {"enterprise_id": "x", "action": "outside"}),
    ("get", "/links/corrections", None),
    ("get", "/links/corrections/export", None),
    ("post", "/links/corrections/import", None),
    ("get", "/links/suggestions", None),
)


def _bigdata_lead(api: Api, served: StateHolder) -> tuple[str, str, str]:
    """A bigdata lead with one big_data link, and another big_data link it is not in."""
    r = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 200}, headers=api.officer
    )
    state = served.current
    for item in r.json()["items"]:
        own = state.links_of(item["enterprise_id"])
        if len(own) == 1 and chain_of(own[C.LINK_ID].iloc[0]) == "big_data":
            link = str(own[C.LINK_ID].iloc[0])
            other = next(lk.id for lk in default_chains()["big_data"].links if lk.id != link)
            return item["enterprise_id"], link, other
    raise AssertionError("no bigdata lead with one big_data link")


def _member(served: StateHolder) -> tuple[str, str]:
    """A park member with a big_data link and no 5G + 8K video link."""
    state = served.current
    assert state.fc is not None
    members = state.fc.gaps.park_members
    uhd = set(members.loc[members[C.LINK_ID].str.startswith("uhd_video_5g."), C.ENTERPRISE_ID])
    big = members[
        members[C.LINK_ID].str.startswith("big_data.") & ~members[C.ENTERPRISE_ID].isin(uhd)
    ]
    row = big.sort_values(C.SHARE, ascending=False).iloc[0]
    return str(row[C.ENTERPRISE_ID]), str(row[C.LINK_ID])


@pytest.fixture()
def reloaded(api: Api) -> Iterator[StateHolder]:
    """A state holder of its own over the test's service database (loaded when the test asks)."""
    holder = StateHolder(api.app.state.settings)
    yield holder


@pytest.mark.one_engine
def test_a_correction_moves_the_firm_in_the_lists_gaps_and_kpis_after_reload(
    api: Api, served: StateHolder, reloaded: StateHolder
) -> None:
    lead, link, other = _bigdata_lead(api, served)
    member, member_link = _member(served)
    uhd = default_chains()["uhd_video_5g"].links[0].id

    def in_list(client: TestClient, link_id: str) -> bool:
        r = client.get(
            f"{V1}/leads",
            params={"track": "bigdata", "link": link_id, "limit": 500},
            headers=api.officer,
        )
        assert r.status_code == 200, r.text
        return lead in {i["enterprise_id"] for i in r.json()["items"]}

    def gap_firms(client: TestClient, chain: str, link_id: str) -> float:
        r = client.get(f"{V1}/chains/{chain}/gaps", headers=api.officer)
        return next(g["firms"] for g in r.json()["links"] if g["link_id"] == link_id)

    def uhd_firms(client: TestClient) -> float:
        r = client.get(f"{V1}/kpis", headers=api.officer)
        return next(k["now"] for k in r.json()["kpis"] if k["id"] == "uhd_video_firms")

    before = (
        in_list(api.client, link),
        in_list(api.client, other),
        gap_firms(api.client, "big_data", member_link),
        gap_firms(api.client, "uhd_video_5g", uhd),
        uhd_firms(api.client),
    )
    assert before[0] and not before[1]

    moved = api.client.post(
        f"{V1}/links/corrections",
        json={
            "enterprise_id": lead,
            "action": "move",
            "link_id": link,
            "to_link_id": other,
            "note": "主营为另一环节",
        },
        headers=api.analyst,
    )
    assert moved.status_code == 201, moved.text
    stored = moved.json()["stored"]
    assert len(stored) == 1 and stored[0]["from_links"] == f"{link}:1.00"
    assert stored[0]["to_links"] == f"{other}:1.00"
    member_moved = api.client.post(
        f"{V1}/links/corrections",
        json={"enterprise_id": member, "action": "move", "link_id": member_link, "to_link_id": uhd},
        headers=api.lead,
    )
    assert member_moved.status_code == 201, member_moved.text

    # the served state is the one loaded before: nothing moved yet
    assert in_list(api.client, link)
    state = reloaded.load()
    assert state.ready, state.status
    with TestClient(create_app(api.app.state.settings, load="none", holder=reloaded)) as client:
        assert not in_list(client, link) and in_list(client, other)
        assert gap_firms(client, "big_data", member_link) < before[2]
        assert gap_firms(client, "uhd_video_5g", uhd) > before[3]
        assert uhd_firms(client) == before[4] + 1
        page = client.get(f"{V1}/enterprises/{lead}", headers=api.officer).json()
        evidence = page["link_evidence"]
        assert [e["link_id"] for e in evidence] == [other]
        assert evidence[0]["evidence_kind"] == "manual"
        assert evidence[0]["text_zh"].count("人工校核：scripts-analyst 20") == 1
        assert "主营为另一环节" in evidence[0]["text_zh"]

    # each correction is in the audit once, and the audit is append-only
    log = api.client.get(
        f"{V1}/links/corrections", params={"enterprise_id": lead}, headers=api.analyst
    ).json()
    assert log["total"] == 1 and log["items"][0]["corrected_by"] == "scripts-analyst"
    engine = api.app.state.engine
    for sql in ("UPDATE link_corrections SET note = 'x'", "DELETE FROM link_corrections"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))

    # a corrected firm leaves the review queue; undo brings the attacher's answer back
    queue = api.client.get(f"{V1}/links/review", params={"limit": 200}, headers=api.lead)
    assert queue.status_code == 200, queue.text
    assert lead not in {i["enterprise_id"] for i in queue.json()["items"]}
    undo = api.client.post(
        f"{V1}/links/corrections",
        json={"enterprise_id": lead, "action": "restore"},
        headers=api.analyst,
    )
    assert undo.status_code == 201 and undo.json()["stored"][0]["to_links"] == f"{link}:1.00"


def test_officers_may_not_correct_and_every_route_says_so(api: Api) -> None:
    for method, path, body in ROUTES:
        r = api.client.request(method, f"{V1}{path}", json=body, headers=api.officer)
        assert r.status_code == 403, (path, r.text)
        assert "officer" in r.json()["detail"]
        assert api.client.request(method, f"{V1}{path}", json=body).status_code == 401


def test_bad_corrections_are_refused_naming_the_field(api: Api, served: StateHolder) -> None:
    firm = str(served.current.tables["enterprises"][C.ENTERPRISE_ID].iloc[0])
    cases = [
        ({"enterprise_id": "no-such-firm", "action": "outside"}, 404, "enterprise_id"),
        ({"enterprise_id": firm, "action": "confirm", "link_id": "big_data.nope"}, 422, "link_id"),
        # a chain of another park (Nantong's new-energy vehicles)
        ({"enterprise_id": firm, "action": "confirm", "link_id": "nev.battery"}, 422, "link_id"),
        (
            {"enterprise_id": firm, "action": "move", "link_id": "big_data.security"},
            422,
            "to_link_id",
        ),
        (
            {"enterprise_id": firm, "action": "outside", "link_id": "big_data.security"},
            422,
            "link_id",
        ),
        ({"enterprise_id": firm, "action": "set"}, 422, "links"),
        ({"enterprise_id": firm, "action": "rename"}, 422, "action"),
    ]
    for body, status, field in cases:
        r = api.client.post(f"{V1}/links/corrections", json=body, headers=api.analyst)
        assert r.status_code == status, (body, r.text)
        assert field in r.text, (body, r.text)
    assert api.client.get(f"{V1}/links/corrections", headers=api.analyst).json()["total"] == 0


def test_a_csv_import_is_all_or_nothing_and_the_export_reads_back(
    api: Api, served: StateHolder
) -> None:
    ids = served.current.tables["enterprises"][C.ENTERPRISE_ID].iloc[:3].tolist()
    good = (
        "enterprise_id,action,link_id,to_link_id,note\n"
        f"{ids[0]},confirm,big_data.security,,确认\n"
        f"{ids[1]},outside,,,不属本园产业链\n"
    )
    bad = good + f"{ids[2]},confirm,nev.battery,,外园\nnobody,outside,,,\n"
    headers = {**api.analyst, "Content-Type": "text/csv"}
    refused = api.client.post(
        f"{V1}/links/corrections/import", content=bad.encode(), headers=headers
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["stored"] == 0 and body["rejected_rows"] == 2
    assert {(r["row"], r["column"]) for r in body["rejects"]} == {
        (4, "link_id"),
        (5, "enterprise_id"),
    }
    assert api.client.get(f"{V1}/links/corrections", headers=api.analyst).json()["total"] == 0

    done = api.client.post(f"{V1}/links/corrections/import", content=good.encode(), headers=headers)
    assert done.status_code == 201 and done.json()["stored"] == 2, done.text
    exported = api.client.get(f"{V1}/links/corrections/export", headers=api.lead)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("park_id,enterprise_id,action") and len(lines) == 3
    assert f"shibei,{ids[1]},outside" in exported.text

    found = api.client.get(f"{V1}/links/suggestions", headers=api.analyst)
    assert found.status_code == 200, found.text
    assert found.json()["total"] == len(found.json()["items"])


def test_the_review_queue_pages_with_why_and_stake(api: Api) -> None:
    r = api.client.get(f"{V1}/links/review", params={"limit": 5}, headers=api.analyst)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] > 5 and len(body["items"]) == 5
    ranks = [i["rank"] for i in body["items"]]
    assert ranks == [1, 2, 3, 4, 5]
    priorities = [i["priority_wan_cny"] for i in body["items"]]
    assert priorities == sorted(priorities, reverse=True)
    first = body["items"][0]
    assert first["reasons_zh"] and first["stake_wan_cny"] >= 0 and 0 <= first["p_wrong"] <= 1
    second = api.client.get(
        f"{V1}/links/review", params={"limit": 5, "offset": 5}, headers=api.analyst
    ).json()
    assert second["items"][0]["rank"] == 6
