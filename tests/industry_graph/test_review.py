"""The review queue: situations, rates learnt from corrections, the order by value at stake."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from data import columns as C
from data.corrections import LinkCorrection, parse_correction
from data.reference import default_chains, default_parks
from industry_graph.gaps import park_context
from industry_graph.review import PRIOR_WEIGHT, PRIORS, firm_situations, review_queue

CHAINS = default_chains()
SHIBEI = sorted(t.id for t in default_parks()["shibei"].chains)


def _links(rows: list[tuple[str, str, float, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=[C.ENTERPRISE_ID, C.LINK_ID, C.SHARE, C.EVIDENCE_KIND, C.EVIDENCE, C.CONFIDENCE],
    )


LINKS = _links(
    [
        ("code", "big_data.security", 0.5, "industry_code", "申万 710402", 0.15),
        ("code", "big_data.governance", 0.5, "industry_code", "申万 710402", 0.15),
        ("weak", "big_data.security", 1.0, "product", "安全网关", 0.3),
        ("side", "big_data.security", 0.8, "product", "防火墙、安全网关", 1.0),
        ("side", "big_data.gov", 0.2, "product", "政务云", 0.4),
        ("sure", "big_data.security", 1.0, "product", "防火墙、安全网关", 1.0),
    ]
)
BASIS = pd.DataFrame(
    {
        "basis": ["product", "product", "text", "none"],
        "code_links": [("big_data.security",), (), (), ()],
    },
    index=pd.Index(["coded", "bare", "scope", "empty"], name=C.ENTERPRISE_ID),
)


def _c(firm: str, action: str, link: str | None = None, to: str | None = None) -> LinkCorrection:
    return parse_correction(
        {
            "park_id": "shibei",
            "enterprise_id": firm,
            "action": action,
            "link_id": link,
            "to_link_id": to,
            "corrected_by": "wang",
            "corrected_at": datetime(2026, 12, 1, tzinfo=UTC),
        }
    )


def test_each_firm_gets_the_first_situation_that_applies() -> None:
    previous = LINKS.replace({"big_data.governance": "big_data.compute_cloud"})
    situations = firm_situations(links=LINKS, basis=BASIS, previous_links=previous)
    assert situations["situation"].to_dict() == {
        "code": "moved",  # moved beats industry code
        "weak": "low_confidence",
        "side": "side_line",
        "sure": "attached",
        "coded": "unlinked_coded",
        "bare": "unlinked_products",
        "scope": "unlinked_text",
        "empty": "no_evidence",
    }
    without_previous = firm_situations(links=LINKS, basis=BASIS)
    assert without_previous.loc["code", "situation"] == "industry_code"


def test_p_wrong_is_learnt_from_the_corrections() -> None:
    firms = [f"c{i}" for i in range(5)]
    links = _links(
        [(f, "big_data.security", 1.0, "industry_code", "申万 710402", 0.3) for f in firms]
        + [("sure", "big_data.security", 1.0, "product", "防火墙", 1.0)]
    )
    changed = [_c(f, "move", "big_data.security", "big_data.gov") for f in firms]
    queue = review_queue(links=links, chains=CHAINS, chain_ids=SHIBEI, corrections=changed)
    # (5 changed + 5 pseudo-firms × prior) / (5 corrected + 5)
    expected = (5 + PRIOR_WEIGHT * PRIORS["industry_code"]) / (5 + PRIOR_WEIGHT)
    assert queue.rates["industry_code"].p_wrong == pytest.approx(expected, abs=1e-4)
    confirmed = [_c(f, "confirm", "big_data.security") for f in firms]
    calm = review_queue(links=links, chains=CHAINS, chain_ids=SHIBEI, corrections=confirmed)
    assert calm.rates["industry_code"].p_wrong == pytest.approx(
        PRIOR_WEIGHT * PRIORS["industry_code"] / (5 + PRIOR_WEIGHT), abs=1e-4
    )
    assert list(calm.table[C.ENTERPRISE_ID]) == ["sure"]  # the reviewed firms left the queue


def test_the_value_at_stake_orders_before_the_chance_of_error() -> None:
    lead_values = pd.Series({"sure": 10_000.0})
    queue = review_queue(
        links=LINKS, chains=CHAINS, chain_ids=SHIBEI, basis=BASIS, lead_values=lead_values
    )
    table = queue.table.set_index(C.ENTERPRISE_ID)
    # 0.1 × 10,000 万元 first; then the stake-free firms by p_wrong
    assert queue.table[C.ENTERPRISE_ID].iloc[0] == "sure"
    assert table.loc["sure", "priority_wan_cny"] == pytest.approx(1_000.0)
    rest = queue.table[queue.table[C.ENTERPRISE_ID] != "sure"]
    assert rest["p_wrong"].is_monotonic_decreasing
    item = queue.items(limit=1)[0]
    assert any("10,000 万元" in reason for reason in item.reasons_zh)


def test_a_park_member_alone_in_a_link_has_that_links_gap_at_stake() -> None:
    park = default_parks()["shibei"]
    enterprises = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["member", "outsider"],
            C.NAME: ["甲", "乙"],
            C.REVENUE: [1000.0, 1000.0],
        }
    )
    links = _links(
        [
            ("member", "big_data.privacy_computing", 1.0, "product", "隐私计算", 0.3),
            ("outsider", "big_data.privacy_computing", 1.0, "product", "隐私计算", 0.3),
        ]
    )
    roster = pd.DataFrame({C.PARK_ID: ["shibei"], C.ENTERPRISE_ID: ["member"]})
    ctx = park_context(
        park=park,
        chains=CHAINS,
        enterprises=enterprises,
        enterprise_links=links,
        park_roster=roster,
    )
    queue = review_queue(links=links, chains=CHAINS, chain_ids=SHIBEI, park_context=ctx)
    table = queue.table.set_index(C.ENTERPRISE_ID)
    assert table.loc["member", "gap_stake"] > 0  # without it the link would be a gap again
    assert table.loc["outsider", "gap_stake"] == 0
    assert queue.table[C.ENTERPRISE_ID].iloc[0] == "member"


def test_another_parks_correction_leaves_the_firm_in_this_parks_queue() -> None:
    nantong = parse_correction(
        {
            "park_id": "nantong",
            "enterprise_id": "sure",
            "action": "outside",
            "corrected_by": "li",
            "corrected_at": datetime(2026, 12, 1, tzinfo=UTC),
        }
    )
    shibei = review_queue(links=LINKS, chains=CHAINS, chain_ids=SHIBEI, corrections=[nantong])
    assert "sure" in set(shibei.table[C.ENTERPRISE_ID])
    reviewed = review_queue(
        links=LINKS, chains=CHAINS, chain_ids=SHIBEI, corrections=[_c("sure", "outside")]
    )
    assert "sure" not in set(reviewed.table[C.ENTERPRISE_ID])
