from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.app import create_app
from api.serving.state import ServiceState
from data import columns as C
from data.reference import default_parks
from data.settings import Settings
from tests.api.conftest import Api
from tests.conftest import Trained

V1 = "/api/v1"
LEAD_FIELDS = {
    "rank",
    "enterprise_id",
    "name",
    "province",
    "city",
    "industry_code",
    "links",
    "score",
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "gap_value",
    "reasons",
    "model_version",
    "snapshot_id",
}


@pytest.mark.one_engine
def test_health_and_ready_are_open(api: Api) -> None:
    assert api.client.get(f"{V1}/health").json() == {"status": "ok"}
    ready = api.client.get(f"{V1}/ready")
    assert ready.status_code == 200 and ready.json()["components"] == {
        "data": "ready",
        "graph": "ready",
        "model": "ready",
    }
    assert (
        api.client.get("/docs").status_code == 200
        and api.client.get("/openapi.json").status_code == 200
    )


@pytest.mark.one_engine
def test_leads_shape_order_and_paging(api: Api) -> None:
    r = api.client.get(f"{V1}/leads", params={"track": "bigdata", "limit": 20}, headers=api.officer)
    body = r.json()
    assert r.status_code == 200 and set(body) == {
        "items",
        "total",
        "limit",
        "offset",
        "model_version",
        "snapshot_id",
    }
    items = body["items"]
    assert len(items) == 20 and set(items[0]) >= LEAD_FIELDS
    if items[0]["plan_score_wan_cny"] is None:  # the contact plan not solved in this session yet
        keys = [(-i["score"], i["enterprise_id"]) for i in items]
        assert keys == sorted(keys)  # score descending, ties by id
    else:  # once it is, the score with the plan's prices (test_plan.py checks it)
        planned = [i["plan_score_wan_cny"] for i in items]
        assert planned == sorted(planned, reverse=True)
    assert [i["rank"] for i in items] == list(range(1, 21))
    again = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 20}, headers=api.officer
    ).json()
    assert again == body  # deterministic
    page2 = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 10, "offset": 10}, headers=api.officer
    ).json()
    assert [i["enterprise_id"] for i in page2["items"]] == [i["enterprise_id"] for i in items[10:]]
    assert all(i["reasons"] for i in items)


@pytest.mark.one_engine
def test_lead_filters(api: Api) -> None:
    def get(**p):
        return api.client.get(
            f"{V1}/leads", params={"track": "bigdata", "limit": 500, **p}, headers=api.officer
        ).json()

    everything = get()
    by_chain = get(chain="big_data")
    assert 0 < by_chain["total"] < everything["total"]
    assert all(any(link.startswith("big_data.") for link in i["links"]) for i in by_chain["items"])
    link = by_chain["items"][0]["links"][0]
    assert all(link in i["links"] for i in get(link=link)["items"])
    shanghai = get(province="上海市")
    assert shanghai["total"] > 0 and {i["province"] for i in shanghai["items"]} == {"上海市"}
    # short names find the same firms, as the importer normalises them
    assert get(province="上海")["total"] == shanghai["total"]
    assert get(province=" 上海市 ")["total"] == shanghai["total"]
    some_city = shanghai["items"][0]["city"]
    assert get(city=some_city.removesuffix("市"))["total"] == get(city=some_city)["total"] > 0
    # thresholds at the list's own medians: each filter keeps some leads and drops others
    taxes = sorted(i["tax_p50_wan_cny"] for i in everything["items"])
    rich = get(min_tax=taxes[len(taxes) // 2])
    assert 0 < rich["total"] < everything["total"]
    assert all(i["tax_p50_wan_cny"] >= taxes[len(taxes) // 2] for i in rich["items"])
    chances = sorted(i["p_land"] for i in everything["items"])
    likely = get(min_probability=chances[len(chances) // 2])
    assert 0 < likely["total"] < everything["total"]
    assert all(i["p_land"] >= chances[len(chances) // 2] for i in likely["items"])
    name = everything["items"][0]["name"][2:5]
    named = get(q=name)
    assert named["total"] >= 1 and all(name in i["name"] for i in named["items"])
    fresh = get(exclude_contacted=True)
    assert fresh["total"] < everything["total"]  # the demo history contacted some of them


def test_exclude_contacted_uses_new_outreach_records(api: Api) -> None:
    top = api.client.get(
        f"{V1}/leads",
        params={"track": "hq", "limit": 1, "exclude_contacted": True},
        headers=api.officer,
    ).json()
    eid = top["items"][0]["enterprise_id"]
    r = api.client.post(
        f"{V1}/outreach",
        json={
            "enterprise_id": eid,
            "track": "hq",
            "outcome": "no_response",
            "contacted_on": "2021-02-01",
        },
        headers=api.officer,
    )
    assert r.status_code == 201 and r.json()["source"] == "service"
    after = api.client.get(
        f"{V1}/leads",
        params={"track": "hq", "limit": 500, "exclude_contacted": True},
        headers=api.officer,
    ).json()
    assert (
        eid not in {i["enterprise_id"] for i in after["items"]}
        and after["total"] == top["total"] - 1
    )


@pytest.mark.one_engine
def test_export_csv_and_xlsx_follow_the_filters(api: Api) -> None:
    params = {"track": "bigdata", "chain": "big_data"}
    listed = api.client.get(
        f"{V1}/leads", params={**params, "limit": 500}, headers=api.officer
    ).json()
    r = api.client.get(
        f"{V1}/leads/export", params={**params, "format": "csv"}, headers=api.officer
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == listed["total"] == int(r.headers["x-total-count"])
    assert rows[0]["enterprise_id"] == listed["items"][0]["enterprise_id"]
    x = api.client.get(
        f"{V1}/leads/export", params={**params, "format": "xlsx"}, headers=api.officer
    )
    book = load_workbook(io.BytesIO(x.content))
    sheet = book.worksheets[0]
    # the page's column names in the language asked (Chinese by default), numbers formatted,
    # header frozen, filters on, and a second sheet saying what was exported
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["排名", "企业代码", "企业名称"] and "落地概率" in header
    p_land = sheet.cell(2, header.index("落地概率") + 1)
    tax = sheet.cell(2, header.index("园区可得税收 P50（万元）") + 1)
    assert p_land.number_format == "0.0%" and tax.number_format == "#,##0"
    assert isinstance(tax.value, float) and tax.value == pytest.approx(
        listed["items"][0]["tax_p50_wan_cny"], rel=1e-12
    )
    # the landing form and the group's tax beside what the park collects
    form = sheet.cell(2, header.index("落地形式代码") + 1).value
    named = sheet.cell(2, header.index("落地形式") + 1).value
    group = sheet.cell(2, header.index("集团税收 P50（万元）") + 1).value
    assert form == listed["items"][0]["landing_form"] and group >= tax.value
    assert named == default_parks()["shibei"].tracks["bigdata"].forms[form].name_zh
    assert (
        sheet.max_row == listed["total"] + 1 and sheet.cell(2, 2).value == rows[0]["enterprise_id"]
    )
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    about = {r[0]: r[1] for r in book.worksheets[1].iter_rows(values_only=True)}
    assert book.sheetnames[1] == "说明" and about["track"] == "bigdata"
    assert (
        about["filters"] == "chain=big_data" and about["model_version"] == listed["model_version"]
    )
    english = api.client.get(
        f"{V1}/leads/export", params={**params, "format": "xlsx", "lang": "en"}, headers=api.officer
    )
    assert load_workbook(io.BytesIO(english.content)).worksheets[0].cell(1, 3).value == "Firm"
    assert (
        api.client.get(
            f"{V1}/leads/export", params={**params, "format": "pdf"}, headers=api.officer
        ).status_code
        == 422
    )


def _overall_rank(state: ServiceState, track: str, eid: str) -> int:
    """A firm's place in the whole scoring of a track: in the plan's order once the contact plan
    is solved for the load, in the table's before."""
    from api.serving.plan import order_of

    pos = state.leads[track].position_of(eid)
    assert pos is not None
    order = order_of(state, track)
    return (pos if order is None else int(order.rank[pos])) + 1


@pytest.mark.one_engine
def test_enterprise_profile_and_unknown_id(api: Api) -> None:
    first = api.client.get(
        f"{V1}/leads", params={"track": "hq", "limit": 1}, headers=api.officer
    ).json()["items"][0]
    eid = first["enterprise_id"]
    r = api.client.get(f"{V1}/enterprises/{eid}", headers=api.officer)
    body = r.json()
    assert r.status_code == 200 and body["profile"]["enterprise_id"] == eid and not body["in_park"]
    assert {s["track"] for s in body["scores"]} == {"hq", "bigdata"}
    hq = next(s for s in body["scores"] if s["track"] == "hq")
    # the list's first lead: rank 1 of the list, and its place in the whole scoring (firms
    # already signed or in the pipeline rank above it there, but are not offered)
    state = api.app.state.holder.current
    assert first["rank"] == 1 and hq["overall_rank"] == first["overall_rank"]
    assert hq["overall_rank"] == _overall_rank(state, "hq", eid)
    assert hq["tax_p10_wan_cny"] <= hq["tax_p50_wan_cny"] <= hq["tax_p90_wan_cny"]
    # the profile agrees with the lead lists: a track where the firm is a candidate shows its
    # place there; a track where it is none has no score and says why
    hq_only = next(
        e for e in state.leads["hq"].ids if state.leads["bigdata"].position_of(e) is None
    )
    both = next(
        e for e in state.leads["hq"].ids if state.leads["bigdata"].position_of(e) is not None
    )
    scores = {
        eid: {
            s["track"]: s
            for s in api.client.get(f"{V1}/enterprises/{eid}", headers=api.officer).json()["scores"]
        }
        for eid in (hq_only, both)
    }
    off_track = scores[hq_only]["bigdata"]
    assert not off_track["eligible"] and off_track["score"] is None
    assert off_track["reasons"][0]["kind"] == "eligibility"
    on_track = scores[both]["bigdata"]
    assert on_track["eligible"] and on_track["score"] is not None
    assert on_track["overall_rank"] == _overall_rank(state, "bigdata", both)
    member = sorted(api.app.state.holder.current.fc.park_members)[0]
    park_firm = api.client.get(f"{V1}/enterprises/{member}", headers=api.officer).json()
    assert park_firm["in_park"] and not any(s["eligible"] for s in park_firm["scores"])
    assert all(s["score"] is None for s in park_firm["scores"])
    assert "already in the park" in park_firm["scores"][0]["reasons"][0]["text_en"]
    missing = api.client.get(f"{V1}/enterprises/913101019999999999", headers=api.officer)
    assert missing.status_code == 404 and "913101019999999999" in missing.json()["detail"]


@pytest.mark.one_engine
def test_enterprise_links_carry_their_evidence(api: Api, trained: Trained) -> None:
    eid = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 1}, headers=api.officer
    ).json()["items"][0]["enterprise_id"]
    body = api.client.get(f"{V1}/enterprises/{eid}", headers=api.officer).json()
    evidence = body["link_evidence"]
    assert [e["link_id"] for e in evidence] == body["links"] and evidence
    firms = pd.read_parquet(trained.data_dir / "enterprises.parquet").set_index(C.ENTERPRISE_ID)
    scope = str(firms.loc[eid, C.BUSINESS_SCOPE])
    first = evidence[0]
    assert first["evidence_kind"] == "text" and 0 < first["confidence"] <= 1
    assert all(part in scope for part in first["evidence"].split("、"))  # quoted from the scope


@pytest.mark.one_engine
def test_score_what_if_firms_and_validation(api: Api) -> None:
    firm = {
        "name": "隐私计算样例公司",
        "revenue_wan_cny": 20_000,
        "industry_code": "6519",
        "province": "江苏省",
        "city": "苏州市",
        "revenue_growth": 0.4,
        "links": [{"link_id": "big_data.privacy_computing", "share": 1.0}],
    }
    r = api.client.post(
        f"{V1}/score",
        json={"firms": [firm, {"name": "小公司"}], "track": "bigdata"},
        headers=api.officer,
    )
    assert r.status_code == 200
    first, second = r.json()["items"]
    assert first["scores"][0]["gap_value"] > second["scores"][0]["gap_value"]
    bad = api.client.post(
        f"{V1}/score",
        json={"firms": [{"name": "x", "credit_code": "91310109133128219C"}]},
        headers=api.officer,
    )
    assert bad.status_code == 422 and "check character" in bad.text and "credit_code" in bad.text
    too_many = api.client.post(
        f"{V1}/score", json={"firms": [{"name": "x"}] * 1001}, headers=api.officer
    )
    assert too_many.status_code == 422 and "firms" in too_many.text
    negative = api.client.post(
        f"{V1}/score", json={"firms": [{"name": "x", "revenue_wan_cny": -5}]}, headers=api.officer
    )
    assert negative.status_code == 422 and "revenue_wan_cny" in negative.text


@pytest.mark.one_engine
def test_score_and_enterprise_value_a_firm_in_another_landing_form(api: Api) -> None:
    firm = {"name": "样例公司", "revenue_wan_cny": 200_000, "province": "北京市"}
    assumed = api.client.post(
        f"{V1}/score", json={"firms": [firm], "track": "hq"}, headers=api.officer
    ).json()["items"][0]["scores"][0]
    assert assumed["landing_form"] == "regional_hq"
    assert assumed["tax_p50_wan_cny"] == pytest.approx(
        assumed["group_tax_p50_wan_cny"] * assumed["in_park_tax_share"], rel=1e-3
    )
    assert assumed["reasons"][0]["kind"] == "landing_form"
    moved = api.client.post(
        f"{V1}/score",
        json={"firms": [firm], "track": "hq", "landing_form": "hq_move"},
        headers=api.officer,
    ).json()["items"][0]["scores"][0]
    # the same group, valued as a move of its registered HQ: a larger share, a larger value
    assert moved["landing_form"] == "hq_move"
    assert moved["group_tax_p50_wan_cny"] == assumed["group_tax_p50_wan_cny"]
    assert moved["in_park_tax_share"] > assumed["in_park_tax_share"]
    assert moved["value_wan_cny"] > assumed["value_wan_cny"]
    unknown = api.client.post(
        f"{V1}/score",
        json={"firms": [firm], "track": "hq", "landing_form": "factory"},
        headers=api.officer,
    )
    assert unknown.status_code == 422 and "landing_form" in unknown.text
    assert "regional_hq" in unknown.text  # names the track's forms
    trackless = api.client.post(
        f"{V1}/score", json={"firms": [firm], "landing_form": "branch"}, headers=api.officer
    )
    assert trackless.status_code == 422 and "track" in trackless.text
    eid = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 1}, headers=api.officer
    ).json()["items"][0]["enterprise_id"]

    def bigdata(**params: str) -> dict[str, object]:
        body = api.client.get(f"{V1}/enterprises/{eid}", params=params, headers=api.officer)
        assert body.status_code == 200, body.text
        return next(s for s in body.json()["scores"] if s["track"] == "bigdata")

    listed = bigdata()
    other = "rd_centre" if listed["landing_form"] != "rd_centre" else "subsidiary"
    chosen = bigdata(track="bigdata", landing_form=other)
    assert chosen["landing_form"] == other and chosen["score"] != listed["score"]
    assert chosen["overall_rank"] == listed["overall_rank"]  # its place in the list stays
    bad = api.client.get(
        f"{V1}/enterprises/{eid}",
        params={"track": "bigdata", "landing_form": "regional_hq"},  # an HQ form
        headers=api.officer,
    )
    assert bad.status_code == 422 and "not a form of track 'bigdata'" in bad.text


@pytest.mark.one_engine
def test_chains(api: Api) -> None:
    chains = api.client.get(f"{V1}/chains", headers=api.officer).json()["items"]
    assert {c["id"] for c in chains} >= {"big_data", "nev"}
    m = api.client.get(f"{V1}/chains/big_data", headers=api.officer).json()
    assert (
        next(link["link_id"] for link in m["links"]) == "big_data.hardware"
        and m["park_firms"] == 1470
    )
    gaps = api.client.get(f"{V1}/chains/big_data/gaps", headers=api.officer).json()
    assert (
        gaps["links"][0]["link_id"] == "big_data.privacy_computing"
        and gaps["links"][0]["gap_type"] == "missing_broken"
    )
    cands = api.client.get(
        f"{V1}/chains/big_data/links/privacy_computing/candidates", headers=api.officer
    ).json()
    assert cands["total"] > 0 and all(
        "big_data.privacy_computing" in i["links"] for i in cands["items"]
    )
    # each candidate says how it was found in the link: the demo's generated business scopes
    evidence = cands["items"][0]["link_evidence"]
    assert evidence["link_id"] == "big_data.privacy_computing"
    assert evidence["evidence_kind"] == "text" and evidence["text_zh"].startswith(
        "归入「隐私计算」：经营范围："
    )
    assert api.client.get(f"{V1}/chains/nope", headers=api.officer).status_code == 404
    assert (
        api.client.get(
            f"{V1}/chains/big_data/links/nope/candidates", headers=api.officer
        ).status_code
        == 404
    )


def test_outreach_idempotency(api: Api) -> None:
    eid = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 1, "offset": 5}, headers=api.officer
    ).json()["items"][0]["enterprise_id"]
    body = {
        "enterprise_id": eid,
        "track": "bigdata",
        "outcome": "interested",
        "contacted_on": "2021-03-01",
        "note": "回访",
    }
    first = api.client.post(
        f"{V1}/outreach", json=body, headers={**api.officer, "Idempotency-Key": "abc"}
    )
    retry = api.client.post(
        f"{V1}/outreach", json=body, headers={**api.officer, "Idempotency-Key": "abc"}
    )
    assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
    changed = api.client.post(
        f"{V1}/outreach",
        json={**body, "outcome": "signed"},
        headers={**api.officer, "Idempotency-Key": "abc"},
    )
    assert changed.status_code == 409
    other_key = api.client.post(
        f"{V1}/outreach", json=body, headers={**api.analyst, "Idempotency-Key": "abc"}
    )
    assert (
        other_key.status_code == 201
        and other_key.json()["outreach_id"] != first.json()["outreach_id"]
    )  # scoped per key
    listed = api.client.get(
        f"{V1}/outreach", params={"enterprise_id": eid}, headers=api.officer
    ).json()
    assert sum(1 for i in listed["items"] if i["source"] == "service") == 2
    unknown = api.client.post(
        f"{V1}/outreach", json={**body, "enterprise_id": "nobody"}, headers=api.officer
    )
    assert unknown.status_code == 404
    backwards = api.client.post(
        f"{V1}/outreach", json={**body, "closed_on": "2020-01-01"}, headers=api.officer
    )
    assert backwards.status_code == 422 and "closed_on" in backwards.text
    bad_outcome = api.client.post(
        f"{V1}/outreach", json={**body, "outcome": "maybe"}, headers=api.officer
    )
    assert bad_outcome.status_code == 422 and "outcome" in bad_outcome.text


def test_auth_and_roles(api: Api) -> None:
    assert api.client.get(f"{V1}/leads", params={"track": "hq"}).status_code == 401
    assert (
        api.client.get(
            f"{V1}/leads", params={"track": "hq"}, headers={"X-API-Key": "sa_nope"}
        ).status_code
        == 401
    )
    assert api.client.post(f"{V1}/admin/reload", headers=api.officer).status_code == 403
    model = api.client.get(f"{V1}/model", headers=api.officer).json()
    assert model["version"] and model["snapshot_id"] and "ndcg_at_50" in model["metrics"]
    reloaded = api.client.post(f"{V1}/admin/reload", headers=api.analyst)
    assert reloaded.status_code == 200 and reloaded.json()["model_version"] == model["version"]


@pytest.mark.one_engine
def test_bad_filters_are_422_naming_the_field(api: Api) -> None:
    for params, field in (
        ({"track": "retail"}, "track"),
        ({"track": "hq", "limit": 0}, "limit"),
        ({"track": "hq", "limit": 501}, "limit"),
        ({"track": "hq", "min_probability": 2}, "min_probability"),
        ({"track": "hq", "offset": -1}, "offset"),
        ({}, "track"),
    ):
        r = api.client.get(f"{V1}/leads", params=params, headers=api.officer)
        assert r.status_code == 422 and field in r.text, params


def test_without_a_champion_the_server_starts_and_explains(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        home=tmp_path / "empty-home", data_dir=trained.data_dir, mlflow_tracking_uri=None
    )
    app = create_app(settings, load="sync")
    with TestClient(app) as client:
        ready = client.get(f"{V1}/ready")
        assert ready.status_code == 503
        model = ready.json()["components"]["model"]
        assert "no model lead-scorer-shibei@champion" in model and "attract train" in model
        assert ready.json()["components"]["data"] == "ready"  # the rest loaded without it
        from api.crm.tables import create_key

        key = {"X-API-Key": create_key(app.state.sessions, role="officer")}
        leads = client.get(f"{V1}/leads", params={"track": "hq"}, headers=key)
        assert leads.status_code == 503 and "model: not loaded" in leads.json()["detail"]
        assert (
            client.get(f"{V1}/chains/big_data/gaps", headers=key).status_code == 200
        )  # the graph still serves


@pytest.mark.parametrize("path", ["/api/v1/leads?track=hq", "/api/v1/model"])
def test_missing_data_is_503_not_500(tmp_path: Path, path: str) -> None:
    app = create_app(Settings(home=tmp_path / "h", data_dir=tmp_path / "nowhere"), load="sync")
    with TestClient(app) as client:
        from api.crm.tables import create_key

        key = {"X-API-Key": create_key(app.state.sessions, role="officer")}
        r = client.get(path, headers=key)
        assert r.status_code == 503 and "data: not loaded" in r.json()["detail"]


@pytest.mark.one_engine
def test_what_if_firm_is_attached_from_its_business_scope(api: Api) -> None:
    r = api.client.post(
        f"{V1}/score",
        json={
            "firms": [
                {
                    "name": "隐私计算样例公司",
                    "revenue_wan_cny": 20_000,
                    "business_scope": "隐私计算平台的技术开发、技术服务，企业管理咨询",
                }
            ],
            "track": "bigdata",
        },
        headers=api.officer,
    )
    assert r.status_code == 200
    reasons = r.json()["items"][0]["scores"][0]["reasons"]
    gap = next(x for x in reasons if x["kind"] == "gap")
    assert "隐私计算" in gap["text_zh"] and "经营范围" in gap["text_zh"]


@pytest.mark.one_engine
def test_score_a_firm_with_nothing_but_a_name(api: Api) -> None:
    """Found by schemathesis: no city, province or industry at all must still score (no 500)."""
    r = api.client.post(
        f"{V1}/score",
        json={"firms": [{"name": "无名公司"}, {"name": "另一家", "city": None}]},
        headers=api.officer,
    )
    assert r.status_code == 200 and len(r.json()["items"]) == 2


@pytest.mark.one_engine
def test_similar_firms_to_one_firm_and_to_a_set(api: Api, trained: Trained) -> None:
    members = sorted(api.app.state.holder.current.fc.park_members)
    eid = api.client.get(
        f"{V1}/leads", params={"track": "bigdata", "limit": 1}, headers=api.officer
    ).json()["items"][0]["enterprise_id"]
    r = api.client.get(f"{V1}/enterprises/{eid}/similar", params={"k": 5}, headers=api.officer)
    body = r.json()
    assert r.status_code == 200 and body["query"][0]["enterprise_id"] == eid
    items = body["items"]
    assert [i["rank"] for i in items] == [1, 2, 3, 4, 5]
    assert all(not i["in_park"] and i["enterprise_id"] != eid for i in items)  # members left out
    sims = [i["similarity"] for i in items]
    assert sims == sorted(sims, reverse=True) and 0 < sims[-1] <= 1
    assert all(i["reasons"] and i["reasons"][0]["text_zh"] for i in items)
    # the demo's firms say what they do in their business scope: the first reason quotes it
    assert any(r["text_zh"].startswith(("同样从事「", "「")) for i in items for r in i["reasons"])
    # a set (the roster): its centre; park members only when asked for
    r = api.client.post(f"{V1}/similar", json={"ids": members[:50], "k": 10}, headers=api.officer)
    assert r.status_code == 200
    assert all(
        not i["in_park"] and i["like"]["enterprise_id"] in members[:50] for i in r.json()["items"]
    )
    r = api.client.post(
        f"{V1}/similar",
        json={"ids": members[:50], "k": 10, "include_members": True},
        headers=api.officer,
    )
    assert any(i["in_park"] for i in r.json()["items"])


@pytest.mark.one_engine
def test_similar_bad_input(api: Api) -> None:
    missing = api.client.get(f"{V1}/enterprises/913101019999999999/similar", headers=api.officer)
    assert missing.status_code == 404 and "913101019999999999" in missing.json()["detail"]
    member = sorted(api.app.state.holder.current.fc.park_members)[0]
    r = api.client.post(
        f"{V1}/similar", json={"ids": [member, "913101019999999999"]}, headers=api.officer
    )
    assert r.status_code == 404 and "913101019999999999" in r.json()["detail"]
    r = api.client.post(f"{V1}/similar", json={"ids": [member] * 1001}, headers=api.officer)
    detail = r.json()["detail"][0]
    assert r.status_code == 422 and detail["loc"] == ["body", "ids"] and "1000" in detail["msg"]
    for body in ({"ids": []}, {"ids": [member], "k": 0}, {"ids": [member], "k": 101}):
        assert api.client.post(f"{V1}/similar", json=body, headers=api.officer).status_code == 422
    r = api.client.get(f"{V1}/enterprises/{member}/similar", params={"k": 500}, headers=api.officer)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "k"]
    assert api.client.get(f"{V1}/enterprises/{member}/similar").status_code == 401


@pytest.mark.one_engine
def test_lists_offer_only_firms_the_park_can_still_win(api: Api, trained: Trained) -> None:
    """Issue 24 point 4: the park's signed firms are no leads (a filter brings them back, the
    enterprise page says why), and a firm put on the pipeline leaves the lists at once."""
    from data.universe import load_universe

    outreach = load_universe(trained.data_dir)["outreach"]
    ours = outreach[(outreach[C.PARK_ID] == "shibei") & (outreach[C.OUTCOME] == "signed")]
    signed = set(ours[C.ENTERPRISE_ID].astype(str))
    members = set(api.app.state.holder.current.fc.park_members)

    def top(track: str, **params: object) -> list[str]:
        r = api.client.get(
            f"{V1}/leads", params={"track": track, "limit": 200, **params}, headers=api.officer
        )
        assert r.status_code == 200, r.text
        return [i["enterprise_id"] for i in r.json()["items"]]

    for track in ("hq", "bigdata"):
        listed = top(track)
        assert len(listed) > 50 and not (signed | members) & set(listed), track
    brought_back = top("hq", include="signed")
    back = [e for e in brought_back if e in signed]
    assert back, "no signed firm among the HQ top 200 even with include=signed"
    why = api.client.get(f"{V1}/enterprises/{back[0]}", headers=api.officer).json()
    hq = next(s for s in why["scores"] if s["track"] == "hq")
    assert hq["not_offered"] == "signed" and hq["reasons"][0]["kind"] == "not_offered"
    bad = api.client.get(
        f"{V1}/leads", params={"track": "hq", "include": "members"}, headers=api.officer
    )
    assert bad.status_code == 422 and "include" in bad.text
    # a firm put on the pipeline leaves both lists without a reload
    first = top("bigdata")[0]
    made = api.client.post(
        f"{V1}/pipeline", json={"enterprise_id": first, "track": "bigdata"}, headers=api.lead
    )
    assert made.status_code == 201, made.text
    assert first not in top("bigdata") and first not in top("hq")
    assert first in top("bigdata", include="open_in_pipeline")


@pytest.mark.one_engine
def test_a_lists_reasons_are_the_scorers_with_the_scores_it_holds(api: Api) -> None:
    """The lead table explains its rows with the landing form and share band it holds: the
    same reasons the scorer gives when it scores the rows again."""
    import numpy as np

    state = api.app.state.holder.current
    table = state.leads["bigdata"]
    rows = np.arange(0, len(table), max(len(table) // 12, 1))[:12]
    table._fill_reasons(rows)
    again = state.model.scorer.explain(table.features.iloc[rows])
    assert [table._reasons[int(r)][1] for r in rows] == again
    assert all(r[0]["feature"] == "landing_form" for r in again)
