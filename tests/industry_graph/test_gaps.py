"""Gap analysis on a hand-built chain: a → b → c → d, with e upstream of c (chain ``t``)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data import columns as C
from data.reference import Chain, Link, Park, Segment
from industry_graph.gaps import LinkGap, analyse_gaps, gap_values, park_context, synergy_paths

LINKS = ("a", "b", "c", "d", "e")
UPSTREAM = {"a": (), "b": ("t.a",), "c": ("t.b", "t.e"), "d": ("t.c",), "e": ()}
CHAIN = Chain(
    id="t",
    name_zh="测试链",
    name_en="Test chain",
    segments=(Segment(id="s", name_zh="段", name_en="Segment"),),
    links=tuple(
        Link(
            id=f"t.{x}",
            segment="s",
            name_zh=f"环节{x}",
            name_en=f"Link {x}",
            weight=1.0,
            upstream=UPSTREAM[x],
            gbt4754=("6513",),
        )
        for x in LINKS
    ),
)
PARK = Park.model_validate(
    {
        "id": "p",
        "name_zh": "园区",
        "name_en": "Park",
        "area_km2": 1.0,
        "operating_firms": 10,
        "location": {"province": "上海市", "city": "上海市", "lat": 31.0, "lon": 121.0},
        "chains": [{"id": "t", "priority": 1}],
        "valuation": {
            "horizon_years": 5,
            "chain_worth_wan_cny": {
                "missing_broken": 500,
                "missing": 425,
                "extension": 350,
                "weak": 300,
            },
        },
        "tracks": {
            "hq": {
                "name_zh": "总部",
                "name_en": "HQ",
                "eligibility": {},
            },
            "bigdata": {
                "name_zh": "数据",
                "name_en": "Data",
                "eligibility": {},
            },
        },
    },
    strict=False,
)


def _universe(park_counts: dict[str, int], outside: int = 40) -> dict[str, pd.DataFrame]:
    rows, links, roster = [], [], []
    for x, n in park_counts.items():
        for i in range(n):
            eid = f"park:{x}{i}"
            rows.append({C.ENTERPRISE_ID: eid, C.NAME: f"园区{x}{i}", C.REVENUE: 100.0})
            links.append({C.ENTERPRISE_ID: eid, C.LINK_ID: f"t.{x}", C.SHARE: 1.0})
            roster.append({C.PARK_ID: "p", C.ENTERPRISE_ID: eid})
    for i in range(outside):  # the nation: evenly spread, so every target is 10 × share × park size
        x = LINKS[i % len(LINKS)]
        eid = f"out:{i}"
        rows.append({C.ENTERPRISE_ID: eid, C.NAME: f"外部{i}", C.REVENUE: 50.0})
        links.append({C.ENTERPRISE_ID: eid, C.LINK_ID: f"t.{x}", C.SHARE: 1.0})
    return {
        "enterprises": pd.DataFrame(rows, columns=[C.ENTERPRISE_ID, C.NAME, C.REVENUE]),
        "enterprise_links": pd.DataFrame(links, columns=[C.ENTERPRISE_ID, C.LINK_ID, C.SHARE]),
        "park_roster": pd.DataFrame(roster, columns=[C.PARK_ID, C.ENTERPRISE_ID]),
    }


def _gaps(u: dict[str, pd.DataFrame]) -> dict[str, LinkGap]:
    ctx = park_context(
        park=PARK,
        chains={"t": CHAIN},
        enterprises=u["enterprises"],
        enterprise_links=u["enterprise_links"],
        park_roster=u["park_roster"],
    )
    return {g.link_id: g for g in analyse_gaps(ctx, "t")}


def test_types_follow_the_definitions() -> None:
    gaps = _gaps(_universe({"a": 12, "b": 0, "c": 1, "d": 0, "e": 0}))  # targets: 0.2 × 13 firms
    assert gaps["t.b"].gap_type == "missing_broken"  # a present upstream, c present downstream
    assert gaps["t.d"].gap_type == "extension"  # beyond the chain's end (c)
    assert (
        gaps["t.e"].gap_type == "extension"
    )  # before the start: only c downstream, nothing upstream
    assert gaps["t.c"].gap_type == "weak"
    assert gaps["t.a"].gap_type == "covered"
    assert gaps["t.b"].score == 1.0
    assert (
        "补链" in gaps["t.b"].reason_zh
        and "环节a" in gaps["t.b"].reason_zh
        and "环节c" in gaps["t.b"].reason_zh
    )
    assert gaps["t.b"].upstream_present == ("t.a",) and gaps["t.b"].downstream_present == ("t.c",)


def test_missing_without_neighbours() -> None:
    gaps = _gaps(_universe({"a": 0, "b": 0, "c": 0, "d": 2, "e": 0}))
    assert gaps["t.b"].gap_type == "missing" and gaps["t.a"].gap_type == "missing"
    assert gaps["t.c"].gap_type == "extension"


counts = st.fixed_dictionaries({x: st.integers(0, 6) for x in LINKS})


@settings(max_examples=60, deadline=None)
@given(counts, st.sampled_from(LINKS))
def test_adding_a_park_firm_never_raises_that_links_score(
    park_counts: dict[str, int], link: str
) -> None:
    before = _gaps(_universe(park_counts))[f"t.{link}"].score
    more = dict(park_counts, **{link: park_counts[link] + 1})
    after = _gaps(_universe(more))[f"t.{link}"].score
    assert after <= before


@settings(max_examples=40, deadline=None)
@given(counts)
def test_removing_the_only_firm_between_present_neighbours_breaks_the_chain(
    park_counts: dict[str, int],
) -> None:
    park_counts = dict(park_counts, a=max(1, park_counts["a"]), b=1, c=max(1, park_counts["c"]))
    assert _gaps(_universe(park_counts))["t.b"].gap_type in {"weak", "covered"}
    assert _gaps(_universe(dict(park_counts, b=0)))["t.b"].gap_type == "missing_broken"


def test_ranking_is_deterministic_whatever_the_row_order() -> None:
    u = _universe({"a": 1, "b": 0, "c": 1, "d": 0, "e": 0})
    expected = [g.link_id for g in _gaps(u).values()]
    for seed in range(5):
        shuffled = {
            k: v.sample(frac=1.0, random_state=seed).reset_index(drop=True) for k, v in u.items()
        }
        assert [g.link_id for g in _gaps(shuffled).values()] == expected
    scores = [g.score for g in _gaps(u).values()]
    assert scores == sorted(scores, reverse=True)


def test_gap_value_and_synergy() -> None:
    u = _universe({"a": 2, "b": 0, "c": 3, "d": 0, "e": 0})
    ctx = park_context(
        park=PARK,
        chains={"t": CHAIN},
        enterprises=u["enterprises"],
        enterprise_links=u["enterprise_links"],
        park_roster=u["park_roster"],
    )
    cand = pd.DataFrame(
        {
            C.ENTERPRISE_ID: ["x", "y", "y"],
            C.LINK_ID: ["t.b", "t.a", "t.d"],
            C.SHARE: [1.0, 0.5, 0.5],
        }
    )
    values = gap_values(ctx, cand).set_index(C.ENTERPRISE_ID)
    assert values.at["x", "gap_value"] == pytest.approx(1.0)  # fills the broken link
    assert 0 <= values.at["y", "gap_value"] < values.at["x", "gap_value"]
    assert values.at["x", "supplies"] == 3 and values.at["x", "buys_from"] == 2
    assert 0 < values.at["x", "synergy"] < 1
    paths = synergy_paths(ctx, cand, "x", names={"x": "候选甲"})
    assert {p["direction"] for p in paths} == {"supplies", "buys_from"}
    assert any(p["path_zh"].startswith("候选甲（环节b）→ 园区c") for p in paths)
    assert any(p["path_zh"].endswith("→ 候选甲（环节b）") for p in paths)


def test_unknown_chain_is_named() -> None:
    u = _universe({"a": 1})
    ctx = park_context(
        park=PARK,
        chains={"t": CHAIN},
        enterprises=u["enterprises"],
        enterprise_links=u["enterprise_links"],
        park_roster=u["park_roster"],
    )
    with pytest.raises(KeyError, match="unknown chain 'nope'"):
        analyse_gaps(ctx, "nope")
