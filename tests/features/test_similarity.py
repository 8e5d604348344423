"""Lookalikes on a hand-made universe whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from features.similarity import (
    MAX_SET,
    Lookalikes,
    centroid_similarity,
    firm_vectors,
    precision_at_k,
)

# id: (products, links, industry code, province, revenue 万元, ownership)
FIRMS = {
    "a": (["IDC服务", "数据中心服务"], ["big_data.storage"], "710301", "上海市", 1e5, "private"),
    "b": (["IDC服务", "带宽租用"], ["big_data.storage"], "710301", "广东省", 2e5, "private"),
    "c": (["数据中心服务", "云计算服务"], ["big_data.storage"], "710301", "北京市", 5e4, "private"),
    "d": (["白酒", "啤酒", "分部间抵销"], [], "340501", "贵州省", 1e6, "local_soe"),
    "e": (["白酒", "葡萄酒", "分部间抵销"], [], "340501", "四川省", 8e5, "local_soe"),
    "f": ([], [], "710301", "浙江省", 1e5, "private"),  # no products, no links
    "g": ([], [], "710301", "江苏省", 1e5, "private"),
    "h": ([], [], "340501", "江苏省", 1e5, "private"),
    "m": (["IDC服务", "数据中心服务"], ["big_data.storage"], "710301", "上海市", 1e5, "private"),
    # a twin of a in everything but where it is
    "t": (
        ["IDC服务", "数据中心服务"],
        ["big_data.storage"],
        "710301",
        "新疆维吾尔自治区",
        1e5,
        "private",
    ),
}


def tables() -> dict[str, pd.DataFrame]:
    names = sorted({p for products, *_ in FIRMS.values() for p in products})
    pid = {n: f"p:{i}" for i, n in enumerate(names)}
    return {
        "enterprises": pd.DataFrame(
            {
                C.ENTERPRISE_ID: list(FIRMS),
                C.NAME: [f"firm {k}" for k in FIRMS],
                C.PROVINCE: [v[3] for v in FIRMS.values()],
                C.CITY: None,
                C.REVENUE: [v[4] for v in FIRMS.values()],
                C.EMPLOYEES: 100,
                C.REVENUE_GROWTH: 0.1,
                C.NET_MARGIN: 0.1,
                C.OWNERSHIP: [v[5] for v in FIRMS.values()],
                C.IS_LISTED: True,
                C.INDUSTRY_CODE: [v[2] for v in FIRMS.values()],
                C.INDUSTRY_SCHEME: "sw2021",
            }
        ),
        "products": pd.DataFrame({C.PRODUCT_ID: list(pid.values()), C.NAME: list(pid)}),
        "enterprise_products": pd.DataFrame(
            [
                {C.ENTERPRISE_ID: k, C.PRODUCT_ID: pid[p], C.WEIGHT: 0.5}
                for k, (products, *_) in FIRMS.items()
                for p in products
            ]
        ),
        "enterprise_links": pd.DataFrame(
            [
                {C.ENTERPRISE_ID: k, C.LINK_ID: link, C.SHARE: 1.0, C.EVIDENCE_KIND: "product"}
                for k, (_, links, *_) in FIRMS.items()
                for link in links
            ]
        ),
    }


@pytest.fixture(scope="module")
def lookalikes() -> Lookalikes:
    return Lookalikes(
        firm_vectors(tables()),
        members=["m"],
        link_names={"big_data.storage": "数据存储与IDC"},
        industry_names={"710301": "IT服务Ⅲ", "340501": "白酒Ⅲ"},
    )


def test_lookalikes_of_one_firm_share_what_it_does_with_why(lookalikes: Lookalikes) -> None:
    found = lookalikes.similar(["a"], k=4)
    ids = [x.enterprise_id for x in found]
    assert ids[0] == "t" and set(ids[1:3]) == {"b", "c"}  # its twin, then the other IDC firms
    assert "m" not in ids and "a" not in ids  # park members and the firm itself left out
    assert found[0].similarity == pytest.approx(1.0, abs=1e-3)  # location plays no part
    b = next(x for x in found if x.enterprise_id == "b")
    texts = [r["text_zh"] for r in b.reasons]
    assert texts[0] == "同样提供「IDC服务」"
    assert "同在产业链环节：数据存储与IDC" in texts and "同属行业：IT服务Ⅲ" in texts
    assert all(x.like == "a" for x in found)
    with_members = [x.enterprise_id for x in lookalikes.similar(["a"], k=4, include_members=True)]
    assert "m" in with_members


def test_a_set_and_a_firm_without_products(lookalikes: Lookalikes) -> None:
    # a set: its centre; each result names the member it resembles most
    found = lookalikes.similar(["d", "b"], k=3)
    assert found[0].enterprise_id in {"e", "a", "t", "c"}
    liquor = next(x for x in found if x.enterprise_id == "e")
    # a bookkeeping line both report (分部间抵销) is not something they both do
    assert liquor.like == "d" and liquor.reasons[0]["text_zh"] == "同样提供「白酒」"
    # no products, no links: alike by industry, size and ownership, and it says so
    plain = lookalikes.similar(["f"], k=4)
    assert {x.enterprise_id for x in plain} <= {"a", "b", "c", "g", "t"}  # same industry
    assert "h" not in {x.enterprise_id for x in plain}  # same size and province, not industry
    assert plain[0].reasons[0]["feature"] == "similar_fallback"
    assert "无产品和产业链记录" in plain[0].reasons[0]["text_zh"]
    # a firm known by its industry alone is not the closest match of a firm with products
    assert [x.enterprise_id for x in lookalikes.similar(["c"], k=3)][:3] != ["f", "g", "h"]
    assert {"f", "g"}.isdisjoint(x.enterprise_id for x in lookalikes.similar(["c"], k=3))


def test_bad_queries_name_the_problem(lookalikes: Lookalikes) -> None:
    with pytest.raises(KeyError, match="nope"):
        lookalikes.similar(["a", "nope"])
    with pytest.raises(ValueError, match=f"at most {MAX_SET}"):
        lookalikes.similar([f"x{i}" for i in range(MAX_SET + 1)])
    with pytest.raises(ValueError, match="at least one"):
        lookalikes.similar([])


def test_roster_fit_and_precision_against_the_industry() -> None:
    t = tables()
    vectors = firm_vectors(t, with_industry=False)
    fit = centroid_similarity(vectors, vectors.rows(["a", "m"]))
    order = list(vectors.ids[np.argsort(-fit)])
    assert set(order[:5]) == {"a", "m", "t", "b", "c"}  # the IDC firms resemble an IDC roster
    labels = t["enterprises"].set_index(C.ENTERPRISE_ID)[C.INDUSTRY_CODE]
    p = precision_at_k(vectors, labels, k=2).set_index(C.ENTERPRISE_ID)["precision"]
    assert set(p.index) == {"a", "b", "c", "d", "e", "m", "t"}  # firms with products only
    assert p["d"] == 0.5 and p["a"] == 1.0  # d's second neighbour is not a distiller


def test_a_member_is_compared_with_the_other_members() -> None:
    from features.build import roster_fit

    vectors = firm_vectors(tables())
    fit = roster_fit(vectors, ["a", "m", "d"])
    # m is a's twin: against the other members (a, d) it fits well, but not by being in the set
    others = centroid_similarity(vectors, vectors.rows(["a", "d"]))
    assert fit["m"] == pytest.approx(others[vectors.rows(["m"])[0]], abs=1e-5)
    assert (
        fit["m"]
        < centroid_similarity(vectors, vectors.rows(["a", "m", "d"]))[vectors.rows(["m"])[0]]
    )
    # a firm outside the roster: its cosine to the whole roster's centre
    whole = centroid_similarity(vectors, vectors.rows(["a", "m", "d"]))
    assert fit["b"] == pytest.approx(whole[vectors.rows(["b"])[0]], abs=1e-6)
