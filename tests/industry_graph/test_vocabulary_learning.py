"""Vocabulary suggestions from corrections, on tiny hand-made firms; the edited copy."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from data import columns as C
from data.corrections import LinkCorrection, parse_correction
from data.reference import (
    VOCABULARY_DIR,
    LinkVocabulary,
    default_chains,
    load_generic_terms,
    load_vocabularies,
)
from industry_graph.attach import attach_links
from industry_graph.vocabulary_learning import (
    VocabularyChange,
    apply_changes,
    select_changes,
    suggest_changes,
    vocabulary_patch,
    write_vocabulary_copy,
)

CHAINS = default_chains()
GENERIC = load_generic_terms()
VOCAB = {
    "nev.battery": LinkVocabulary(link_id="nev.battery", terms=("锂离子电池",)),
    "fintech.wealth_tech": LinkVocabulary(link_id="fintech.wealth_tech", terms=("财富管理",)),
}
# a, b: primary lithium cells the vocabulary misses; c, d: brokers the wealth-tech term catches;
# e: a real wealth-tech platform; f: an unrelated firm
PRODUCTS = {
    "a": ["锂原电池"],
    "b": ["锂原电池", "电子烟"],
    "c": ["证券财富管理"],
    "d": ["证券财富管理"],
    "e": ["财富管理平台"],
    "f": ["水泥"],
}


def _tables() -> dict[str, pd.DataFrame]:
    names = sorted({p for ps in PRODUCTS.values() for p in ps})
    pid = {name: f"p{k}" for k, name in enumerate(names)}
    return {
        "enterprises": pd.DataFrame(
            {
                C.ENTERPRISE_ID: list(PRODUCTS),
                C.NAME: [f"firm {f}" for f in PRODUCTS],
                C.INDUSTRY_CODE: None,
                C.INDUSTRY_SCHEME: None,
            }
        ),
        "products": pd.DataFrame({C.PRODUCT_ID: list(pid.values()), C.NAME: list(pid)}),
        "enterprise_products": pd.DataFrame(
            [(f, pid[p], 1.0 / len(ps)) for f, ps in PRODUCTS.items() for p in ps],
            columns=[C.ENTERPRISE_ID, C.PRODUCT_ID, C.WEIGHT],
        ),
    }


def _links(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return attach_links(
        enterprises=tables["enterprises"],
        chains=CHAINS,
        vocabularies=VOCAB,
        generic=GENERIC,
        products=tables["products"],
        enterprise_products=tables["enterprise_products"],
    ).links


def _c(firm: str, action: str, link: str | None, park: str = "nantong") -> LinkCorrection:
    return parse_correction(
        {
            "park_id": park,
            "enterprise_id": firm,
            "action": action,
            "link_id": link,
            "corrected_by": "wang",
            "corrected_at": datetime(2026, 12, 1, tzinfo=UTC),
        }
    )


CORRECTIONS = [
    _c("a", "confirm", "nev.battery"),
    _c("b", "confirm", "nev.battery"),
    _c("c", "remove", "fintech.wealth_tech", park="shibei"),
    _c("d", "remove", "fintech.wealth_tech", park="shibei"),
    _c("e", "confirm", "fintech.wealth_tech", park="shibei"),
]


def _suggest() -> dict[VocabularyChange, object]:
    tables = _tables()
    found = suggest_changes(
        tables=tables,
        links=_links(tables),
        corrections=CORRECTIONS,
        chains=CHAINS,
        vocabularies=VOCAB,
        generic=GENERIC,
    )
    return {s.change: s for s in found}


def test_a_missing_term_is_suggested_with_the_corrections_it_gets_right() -> None:
    found = _suggest()
    term = found[VocabularyChange(kind="term", word="锂原电池", link_id="nev.battery")]
    assert term.fixes == ("a", "b") and term.breaks == ()  # type: ignore[attr-defined]
    assert VOCAB["nev.battery"].terms == ("锂离子电池",)  # suggested, never applied


def test_an_exclusion_is_as_specific_as_the_wrong_matches_allow() -> None:
    found = _suggest()
    exclusion = found[
        VocabularyChange(kind="exclude", word="证券财富管理", link_id="fintech.wealth_tech")
    ]
    assert exclusion.fixes == ("c", "d")  # type: ignore[attr-defined]
    # 财富管理 alone would also undo e's confirmed link: not suggested
    assert VocabularyChange(kind="exclude", word="财富管理", link_id="fintech.wealth_tech") not in (
        found
    )


def test_selection_keeps_only_changes_of_two_corrected_firms_or_more() -> None:
    tables = _tables()
    links = _links(tables)
    one_firm = [c for c in CORRECTIONS if c.enterprise_id != "b"]
    kwargs = dict(tables=tables, links=links, chains=CHAINS, vocabularies=VOCAB, generic=GENERIC)
    suggestions = suggest_changes(corrections=one_firm, **kwargs)  # type: ignore[arg-type]
    kept = select_changes(suggestions, corrections=one_firm, min_changed=2, **kwargs)  # type: ignore[arg-type]
    assert {s.change.kind for s in kept} == {"exclude"}  # 锂原电池 would change firm a alone
    assert all(len(set(s.changed) & {"a", "c", "d", "e"}) >= 2 for s in kept)


def test_changes_are_applied_to_copies_only(tmp_path: Path) -> None:
    change = VocabularyChange(kind="term", word="锂原电池", link_id="nev.battery")
    generic_word = VocabularyChange(kind="generic", word="平膜")
    vocabularies, generic = apply_changes(VOCAB, GENERIC, [change, generic_word])
    assert vocabularies["nev.battery"].terms == ("锂离子电池", "锂原电池")
    assert "平膜" in generic and "平膜" not in GENERIC
    source = tmp_path / "bundled"
    shutil.copytree(VOCABULARY_DIR, source)
    copy = write_vocabulary_copy(
        changes=[
            change,
            generic_word,
            VocabularyChange(kind="exclude", word="锂原电池厂房", link_id="nev.battery"),
        ],
        source=source,
        target=tmp_path / "copy",
    )
    loaded = load_vocabularies(copy)
    assert "锂原电池" in loaded["nev.battery"].terms
    assert "锂原电池厂房" in loaded["nev.battery"].exclude
    assert "平膜" in load_generic_terms(copy / "_generic.yaml")
    assert (source / "nev.yaml").read_text(encoding="utf-8") == (
        VOCABULARY_DIR / "nev.yaml"
    ).read_text(encoding="utf-8")
    # the copy is the source plus the words: its comment lines are all still there
    comments = [
        ln
        for ln in (source / "nev.yaml").read_text(encoding="utf-8").splitlines()
        if ln.startswith("#")
    ]
    assert [
        ln
        for ln in (copy / "nev.yaml").read_text(encoding="utf-8").splitlines()
        if ln.startswith("#")
    ] == comments


def test_the_patch_names_the_file_the_link_and_the_firms() -> None:
    found = _suggest()
    patch = vocabulary_patch(
        [found[VocabularyChange(kind="term", word="锂原电池", link_id="nev.battery")]],  # type: ignore[list-item]
        names={"a": "甲", "b": "乙"},
    )
    assert "nev.yaml:" in patch
    assert "battery.terms: [+锂原电池]  # fixes 2 (甲、乙)" in patch
