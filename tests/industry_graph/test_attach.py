"""The attacher: evidence rules on tiny hand-made firms, the labelled real sample, the demo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data import columns as C
from data.chainkg import links_from_industries
from data.demo.generator import DemoUniverse
from data.reference import (
    LinkVocabulary,
    ReferenceDataError,
    default_chains,
    load_generic_terms,
    load_vocabularies,
)
from industry_graph.attach import (
    LinkMatcher,
    attach_links,
    attach_tables,
    read_link_labels,
    sample_tables,
    score_links,
    summarise_scores,
)

LABELS = Path(__file__).parents[1] / "fixtures" / "link_labels.csv"
VOCAB = {
    "big_data.security": LinkVocabulary(
        link_id="big_data.security", terms=("信息安全", "PKI"), exclude=("食品安全",)
    ),
    "big_data.analytics_ai": LinkVocabulary(
        link_id="big_data.analytics_ai",
        terms=("大数据",),
        patterns=(r"(?<![A-Za-z])AI(?![A-Za-z])",),
    ),
    "big_data.health": LinkVocabulary(link_id="big_data.health", terms=("医疗大数据",)),
}


def _firms(**scopes: object) -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.ENTERPRISE_ID: list(scopes),
            C.INDUSTRY_CODE: "6512",
            C.INDUSTRY_SCHEME: "gbt4754_2017",
            C.BUSINESS_SCOPE: list(scopes.values()),
        }
    )


def _attach(firms: pd.DataFrame) -> pd.DataFrame:
    return attach_links(
        enterprises=firms,
        chains=default_chains(),
        vocabularies=VOCAB,
        generic=load_generic_terms(),
    ).links


def test_longer_match_wins_and_exclusions_rule_out() -> None:
    matcher = LinkMatcher(VOCAB)
    assert matcher.match("医疗大数据平台") == {"big_data.health": ["医疗大数据"]}
    assert matcher.match("食品信息安全检测") == {"big_data.security": ["信息安全"]}
    assert matcher.match("食品安全信息安全") == {}  # an exclusion rules the link out of the item
    assert matcher.match("AI平台") == {"big_data.analytics_ai": ["AI"]}
    assert matcher.match("EMAIL服务") == {}  # an acronym must stand alone


def test_shares_follow_evidence_and_trade_names_no_link() -> None:
    links = _attach(
        _firms(
            a="信息安全产品的研发、生产，大数据平台的开发，大数据分析服务",
            b="信息安全设备、服务器、大数据一体机的销售",  # goods for sale: trade
            c="企业管理咨询，食品安全检测服务",
        )
    )
    a = links[links[C.ENTERPRISE_ID] == "a"].set_index(C.LINK_ID)
    # items weigh 1, 0.83, 0.71: security 1 against analytics 1.54 — not an even split
    assert a.loc["big_data.analytics_ai", C.SHARE] > a.loc["big_data.security", C.SHARE] > 0.3
    assert set(a[C.EVIDENCE_KIND]) == {"text"}
    assert "b" not in set(links[C.ENTERPRISE_ID])
    assert "c" not in set(links[C.ENTERPRISE_ID])  # evidence of something else: not forced


def test_weak_evidence_is_dropped_next_to_strong_evidence() -> None:
    many = "，".join(f"商品{i}的生产" for i in range(12))
    links = _attach(_firms(a=f"信息安全产品的研发，{many}，大数据服务"))
    assert list(links[C.LINK_ID]) == ["big_data.security"]  # the last item is under 10 %


def test_unreadable_or_generic_scope_falls_back_to_the_industry_code() -> None:
    attachment = attach_links(
        enterprises=_firms(a="\ufffd\ufffd", b=12345, c="技术开发、技术咨询、技术服务", d=None),
        chains=default_chains(),
        vocabularies=VOCAB,
        generic=load_generic_terms(),
    )
    links = attachment.links
    assert set(links[C.ENTERPRISE_ID]) == {"a", "b", "c", "d"}  # none dropped
    assert set(links[C.EVIDENCE_KIND]) == {"industry_code"}
    assert attachment.counts["business scope unreadable (attached by industry code)"] == 2
    per_firm = links.groupby(C.ENTERPRISE_ID)[C.SHARE].sum()
    assert per_firm.round(4).eq(1.0).all()
    assert links[C.CONFIDENCE].max() < 0.3


def test_products_outrank_text_and_hop_through_subclasses() -> None:
    firms = _firms(a="大数据服务", b=None)
    products = pd.DataFrame(
        {C.PRODUCT_ID: ["p1", "p2", "p3"], C.NAME: ["PKI安全网关", "安全模块X", "信息安全"]}
    )
    ep = pd.DataFrame(
        {C.ENTERPRISE_ID: ["a", "b"], C.PRODUCT_ID: ["p1", "p2"], C.WEIGHT: [0.9, 0.8]}
    )
    relations = pd.DataFrame(
        {C.FROM_PRODUCT: ["p3"], C.TO_PRODUCT: ["p2"], C.RELATION: ["subclass"]}
    )
    links = attach_links(
        enterprises=firms,
        chains=default_chains(),
        vocabularies=VOCAB,
        generic=load_generic_terms(),
        products=products,
        enterprise_products=ep,
        product_relations=relations,
    ).links.set_index(C.ENTERPRISE_ID)
    assert links.loc["a", C.LINK_ID] == "big_data.security"  # products first: text unused
    assert links.loc["a", C.EVIDENCE] == "PKI安全网关"
    assert links.loc["b", C.EVIDENCE] == "安全模块X（属「信息安全」）"
    # weight 0.8 halved by the hop = 0.4 of revenue -> min(1, 0.4 / 0.5), halved again: hop only
    assert links.loc["b", C.CONFIDENCE] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("big_data:\n  nosuch: {terms: [x]}\n", r"big_data\.yaml: link big_data\.nosuch: unknown"),
        ("big_data:\n  security: {terms: ['  ']}\n", r"link big_data\.security: terms: empty"),
        (
            "big_data:\n  security: {patterns: ['(unclosed']}\n",
            r"link big_data\.security: patterns: '\(unclosed' does not compile",
        ),
    ],
)
def test_bad_vocabulary_names_file_and_link(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "big_data.yaml").write_text(text.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_vocabularies(tmp_path)


def test_every_link_has_a_vocabulary() -> None:
    vocabularies = load_vocabularies()
    links = {link.id for chain in default_chains().values() for link in chain.links}
    assert set(vocabularies) == links


def test_demo_links_are_recovered_from_the_generated_scopes(demo_universe: DemoUniverse) -> None:
    truth = demo_universe.true_links.sort_values(C.SHARE, ascending=False, kind="stable")
    main = truth.drop_duplicates(C.ENTERPRISE_ID)
    labels = pd.DataFrame(
        {
            C.ENTERPRISE_ID: main[C.ENTERPRISE_ID],
            "right": main[C.LINK_ID].map(lambda link: frozenset([link])),
            "source": "demo",
        }
    )
    scored = score_links(demo_universe.tables["enterprise_links"], labels)
    assert scored["top_right"].mean() >= 0.90
    found = demo_universe.tables["enterprise_links"]
    no_truth = ~found[C.ENTERPRISE_ID].isin(set(truth[C.ENTERPRISE_ID]))
    assert found.loc[no_truth, C.EVIDENCE_KIND].eq("industry_code").all()  # decoys attach nothing


@pytest.mark.shared_data
def test_labelled_real_sample_beats_the_broadcast_rule(shared_data: Path) -> None:
    labels = read_link_labels(LABELS)
    assert (labels["source"] == "listed").sum() >= 60 and (
        labels["source"] == "registry"
    ).sum() >= 40
    tables = sample_tables(shared_data, only=labels[C.ENTERPRISE_ID])
    firms = tables["enterprises"]
    assert len(firms) == len(labels)  # every labelled firm is in the data
    found = attach_tables(tables).links
    new = summarise_scores(score_links(found, labels)).set_index("group")
    old = summarise_scores(
        score_links(links_from_industries(firms, default_chains()), labels)
    ).set_index("group")
    print("\n" + new.join(old, rsuffix="_broadcast").to_string())
    # the goal for right-link share, met on the firms the vocabularies were built with
    assert new.loc["set:tuning", "right_link_share"] >= 0.80
    # out of sample (labelled after the vocabularies were frozen) it is lower: measured 0.656
    # against 0.437; the claim is only that evidence beats the broadcast rule there too
    for metric in ("right_link_share", "top_link_accuracy"):
        assert new.loc["set:holdout", metric] > old.loc["set:holdout", metric]
    chains = [g for g in new.index if g in default_chains()]
    worse = new.loc[chains, "right_link_share"] < old.loc[chains, "right_link_share"]
    assert not worse.any(), list(new.index[worse])
