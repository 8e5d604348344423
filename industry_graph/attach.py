"""Attaching firms to chain links from evidence of what they make and do.

A firm works in a link (``enterprise_links``) when the evidence says so, strongest first:

1. **products** (ChainKG ``enterprise_products``): each product name is matched against the link
   vocabularies (``data/vocabulary/<chain>.yaml``). A product weighs its ``weight`` (a revenue
   share from the annual report's segment table, clipped to [0, 1]; a firm's products without a
   weight weigh 1 / its number of products). A product that matches no link borrows the matches of
   the broader products it is a subclass of (``product_relations``, one hop only) at
   ``HOP_DECAY`` = 0.5 of its weight: a subclass is a kind of its parent, but the parent's name
   says less about this firm than its own product name would. Upstream and downstream relations
   are not used: making what a link consumes is not working in it.
2. **text** (``business_scope``, 经营范围, or a description), for firms without products: the scope
   is split into clauses (，；。) and items (、); item *i* (0 first) weighs 1 / (1 + i / 5), since
   registries list the main business first; a link's strength is the weight of its items over the
   weight of all items. A clause without a verb of making, developing or serving (a bare list of
   goods, or goods for 销售 / 批发 / 零售) is trade: a firm that sells 汽摩配件 does not make them.
3. **industry code**, only for a firm with neither products nor readable text (or whose products
   or text are all generic words): every link that lists its code, split evenly, at low
   confidence. A firm whose products or text name no link is in no link: it is not forced in.

Matching: the terms of every link go into one Aho-Corasick automaton (pyahocorasick), regular
expressions cover Latin acronyms that must stand alone (``AI``, ``VR``). Within one product name or
scope item, a match contained in a longer match is dropped (健康医疗大数据 is health data, not generic
big data) and a link whose exclusion term is present is dropped (食品安全 is not data security).

Shares follow the strength of the evidence. A link is kept when it carries at least
``MIN_SHARE`` = 10 % of what the firm does (of its informative products' revenue share, or of
its informative scope items' weight: generic words such as 软件开发 or 平衡项目, ``_generic.yaml``,
neither attach nor dilute) — the materiality threshold of segment reporting (IFRS 8 / CAS 35: a
segment of ≥ 10 % of revenue is reportable) — and at least ``RELATIVE_FLOOR`` = a quarter of the
firm's strongest link, so that weak evidence in many links cannot outweigh strong evidence in
one; a product link also needs ``MIN_PRODUCT_WEIGHT`` = 5 % of revenue (a 0.2 % side line is not
what a firm is), and a firm whose informative products weigh less than that is treated as having
no product evidence. Links the firm's industry code lists are a weak prior: their strength is
multiplied by ``INDUSTRY_PRIOR`` = 1.25 once kept. The kept strengths, normalised, are the
shares. Everything about a scope text but that prior depends on the text alone, so each distinct
text is read once and its links spread to its firms (the demo and registries repeat texts).

``confidence`` in [0, 1]: products min(1, strength / 0.5), halved when only a subclass hop matched;
text 0.8 × min(1, strength / 0.3); industry code 0.3 / the number of links the code lists.
``evidence`` lists up to five matched product names or scope items, strongest first.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final

import ahocorasick
import numpy as np
import numpy.typing as npt
import pandas as pd

from data import columns as C
from data.chainkg import import_chainkg
from data.corrections import KIND_MANUAL, MANUAL_LABEL
from data.importers import import_enterprises
from data.loaders import LoadResult, validate_table
from data.reference import (
    Chain,
    LinkVocabulary,
    chain_of,
    chains_of,
    default_chains,
    default_vocabularies,
    industry_link_map,
    load_generic_terms,
)

HOP_DECAY: Final = 0.5
MIN_SHARE: Final = 0.10
RELATIVE_FLOOR: Final = 0.25
MIN_PRODUCT_WEIGHT: Final = 0.05
INDUSTRY_PRIOR: Final = 1.25
MAX_EVIDENCE: Final = 5
EVIDENCE_SEPARATOR: Final = "、"
KIND_PRODUCT: Final = "product"
KIND_TEXT: Final = "text"
KIND_INDUSTRY: Final = "industry_code"
LINK_COLUMNS: Final = (
    C.ENTERPRISE_ID,
    C.LINK_ID,
    C.SHARE,
    C.EVIDENCE_KIND,
    C.EVIDENCE,
    C.CONFIDENCE,
)

_CLAUSE_SPLIT: Final = re.compile(r"[，,；;。\n]+")
_ITEM_SPLIT: Final = re.compile(r"[、：:\s()（）【】\[\]《》/]+")
# a scope clause describes what the firm does only with one of these; a bare list of goods, or
# goods for 销售 / 批发 / 零售, is trade (registries list traded goods without a verb)
_DOES: Final = re.compile(
    r"生产|制造|加工|研发|开发|设计|制作|服务(?!器)|运营|运维|安装|维修|集成|施工|工程|技术|提供|处理|检测|"
    r"检验|诊断|租赁|出租|托管|建设|咨询|培训|测序|播出|发行|认证|支付|清算|保理|承包|出版"
)
_READABLE: Final = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_LATIN: Final = re.compile(r"[A-Za-z]")
_NON_WORD: Final = re.compile(r"[\W\d_]+")


def _item_weight(position: int) -> float:
    return 1.0 / (1.0 + position / 5.0)


class LinkMatcher:
    """Which links a product name or a scope item names, with the matched words."""

    def __init__(
        self, vocabularies: Mapping[str, LinkVocabulary], generic: Iterable[str] = ()
    ) -> None:
        words = sorted({w for w in generic if w.strip()}, key=len, reverse=True)
        self._generic = re.compile("|".join(map(re.escape, words))) if words else None
        self._terms = ahocorasick.Automaton()
        # term -> (link, where it counts: "both", "products" or "scope")
        entries: dict[str, list[tuple[str, str]]] = defaultdict(list)
        excludes: dict[str, set[str]] = defaultdict(set)
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for link_id, vocabulary in vocabularies.items():
            for term in vocabulary.terms:
                entries[term.lower()].append((link_id, "both"))
            for term in vocabulary.products:
                entries[term.lower()].append((link_id, "products"))
            for phrase in vocabulary.scope:
                entries[phrase.lower()].append((link_id, "scope"))
            for term in vocabulary.exclude:
                excludes[term.lower()].add(link_id)
            self._patterns += [(re.compile(p, re.IGNORECASE), link_id) for p in vocabulary.patterns]
        for key, value in entries.items():
            self._terms.add_word(key, (len(key), tuple(value)))
        self._terms.make_automaton()
        self._excludes = ahocorasick.Automaton()
        for key, links in excludes.items():
            self._excludes.add_word(key, frozenset(links))
        if excludes:
            self._excludes.make_automaton()
        self._has_excludes = bool(excludes)

    def is_generic(self, text: str) -> bool:
        """Whether ``text`` is made only of words that name no link (软件开发, 平衡项目)."""
        rest = self._generic.sub("", text) if self._generic is not None else text
        return len(_NON_WORD.sub("", rest)) <= 1

    def excluded(self, text: str) -> set[str]:
        """Links an exclusion term of ``text`` rules out."""
        out: set[str] = set()
        if self._has_excludes:
            for _end, links in self._excludes.iter(text.lower()):
                out |= links
        return out

    def match(self, text: str, *, scope: bool = False) -> dict[str, list[str]]:
        """Link id -> the words of ``text`` that name it; ``scope``: ``text`` is a scope item (else a
        product name)."""
        low = text.lower()
        skip = "products" if scope else "scope"
        spans: list[tuple[int, int, str]] = []
        for end, (length, links) in self._terms.iter(low):
            for link_id, where in links:
                if where != skip:
                    spans.append((end + 1 - length, end + 1, link_id))
        if _LATIN.search(text):  # every pattern is for Latin acronyms
            for pattern, link_id in self._patterns:
                spans += [(m.start(), m.end(), link_id) for m in pattern.finditer(text)]
        if not spans:
            return {}
        excluded = self.excluded(low)
        kept: dict[str, list[str]] = {}
        for start, end, link_id in spans:
            if link_id in excluded:
                continue
            inside_longer = any(
                s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans
            )
            if not inside_longer:
                words = kept.setdefault(link_id, [])
                word = text[start:end]
                if word not in words:
                    words.append(word)
        return kept


@dataclass
class Attachment:
    """``enterprise_links`` with evidence, and what happened to each firm."""

    links: pd.DataFrame
    counts: Counter[str] = field(default_factory=Counter)

    def by_kind(self) -> dict[str, int]:
        """Firms attached per evidence kind (a firm counts under its strongest kind)."""
        firms = self.links.drop_duplicates(C.ENTERPRISE_ID)
        kinds = (KIND_PRODUCT, KIND_TEXT, KIND_INDUSTRY)  # the attacher's; manual is a person's
        return {kind: int((firms[C.EVIDENCE_KIND] == kind).sum()) for kind in kinds}


@dataclass
class _Evidence:
    """Product evidence rows before thresholds: one per firm, link and matched product."""

    enterprise_id: list[str] = field(default_factory=list)
    link_id: list[str] = field(default_factory=list)
    strength: list[float] = field(default_factory=list)
    item: list[str] = field(default_factory=list)
    direct: list[bool] = field(default_factory=list)

    def add(self, eid: str, link_id: str, strength: float, item: str, direct: bool) -> None:
        self.enterprise_id.append(eid)
        self.link_id.append(link_id)
        self.strength.append(strength)
        self.item.append(item)
        self.direct.append(direct)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                C.ENTERPRISE_ID: self.enterprise_id,
                C.LINK_ID: self.link_id,
                "strength": np.asarray(self.strength, dtype=np.float64),
                "item": self.item,
                "direct": np.asarray(self.direct, dtype=bool),
            }
        )


def _product_evidence(
    matcher: LinkMatcher,
    enterprise_products: pd.DataFrame,
    products: pd.DataFrame,
    product_relations: pd.DataFrame | None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Evidence rows of the firms' products, and each firm's informative product weight (its
    products that match a link or are not generic)."""
    # plain dicts and lists: a Series lookup per product row costs ~30 µs, Arrow isin seconds
    names: dict[str, str] = {}
    for pid, name in zip(products[C.PRODUCT_ID].tolist(), products[C.NAME].tolist(), strict=True):
        names.setdefault(pid, str(name))
    ep = enterprise_products[enterprise_products[C.PRODUCT_ID].astype(object).isin(list(names))]
    used = pd.unique(ep[C.PRODUCT_ID].to_numpy(dtype=object)).tolist()
    direct = {pid: matcher.match(names[pid]) for pid in used}
    parents: dict[str, list[str]] = defaultdict(list)
    if product_relations is not None and len(product_relations):
        sub = product_relations[product_relations[C.RELATION] == "subclass"]
        for child, parent in zip(
            sub[C.TO_PRODUCT].tolist(), sub[C.FROM_PRODUCT].tolist(), strict=True
        ):
            if child in direct and not direct[child] and parent in names:
                parents[child].append(parent)
    parent_matches = {p: matcher.match(names[p]) for ps in parents.values() for p in ps}
    hop: dict[str, dict[str, list[str]]] = {}
    for child, ps in parents.items():
        excluded_here = matcher.excluded(names[child])
        found: dict[str, list[str]] = {}
        for p in ps:
            for link_id, words in parent_matches.get(p, {}).items():
                if link_id not in excluded_here:
                    found.setdefault(link_id, []).extend(words)
        if found:
            hop[child] = found
    weight = pd.to_numeric(ep[C.WEIGHT], errors="coerce").clip(0.0, 1.0)
    count = ep.groupby(C.ENTERPRISE_ID)[C.PRODUCT_ID].transform("size")
    weight = weight.fillna(1.0 / count)
    generic = {pid: matcher.is_generic(names[pid]) for pid in used}
    informative = [bool(direct[p]) or p in hop or not generic[p] for p in ep[C.PRODUCT_ID].tolist()]
    informative_weight = (
        weight.where(np.asarray(informative, dtype=bool), 0.0)
        .groupby(ep[C.ENTERPRISE_ID].to_numpy(dtype=object))
        .sum()
    )
    evidence = _Evidence()
    for eid, pid, w in zip(
        ep[C.ENTERPRISE_ID].tolist(), ep[C.PRODUCT_ID].tolist(), weight.tolist(), strict=True
    ):
        name = names[pid]
        matched = direct.get(pid)
        if matched:
            for link_id in matched:
                evidence.add(eid, link_id, float(w), name, True)
        elif pid in hop:
            for link_id, words in hop[pid].items():
                evidence.add(
                    eid, link_id, float(w) * HOP_DECAY, f"{name}（属「{words[0]}」）", False
                )
    return evidence.frame(), informative_weight


def readable_text(value: object) -> str | None:
    """``value`` as scope text, or None when it is missing or unreadable (no letters or CJK
    characters, or replacement characters from a broken encoding)."""
    if not isinstance(value, str):
        return None
    if "\ufffd" in value or not _READABLE.search(value):
        return None
    return value


_TextMatch = tuple[list[tuple[str, float, str]], float]
# per scope item: its words, the links it names and whether it is informative (it names a link
# or is not generic)
_ItemMatch = tuple[str, tuple[str, ...], bool]


class _ScopeReader:
    """Reads scope texts with each distinct clause split and matched once (registries and the
    demo repeat the same clauses across many firms)."""

    def __init__(self, matcher: LinkMatcher) -> None:
        self.matcher = matcher
        self._clauses: dict[str, list[_ItemMatch]] = {}
        self._weights: list[float] = []
        self._totals: list[float] = [0.0]

    def _clause(self, clause: str) -> list[_ItemMatch]:
        found = self._clauses.get(clause)
        if found is None:
            trade = _DOES.search(clause) is None
            found = []
            for item in _ITEM_SPLIT.split(clause):
                if item:
                    links = () if trade else tuple(self.matcher.match(item, scope=True))
                    found.append((item, links, bool(links) or not self.matcher.is_generic(item)))
            self._clauses[clause] = found
        return found

    def _weight(self, n: int) -> tuple[list[float], float]:
        while len(self._weights) < n:
            self._weights.append(_item_weight(len(self._weights)))
            self._totals.append(self._totals[-1] + self._weights[-1])
        return self._weights, self._totals[n]

    def strengths(self, text: str) -> _TextMatch:
        """(link, strength, matched items) of a scope text, and the weight of its informative
        items; strengths are shares of the whole scope's weight. Items of a trade clause (goods
        listed for sale, or with no verb at all) count as informative but name no link."""
        items: list[_ItemMatch] = []
        for clause in _CLAUSE_SPLIT.split(text):
            if clause:
                items += self._clause(clause)
        if not items:
            return [], 0.0
        weights, total = self._weight(len(items))
        out: dict[str, tuple[float, list[str]]] = {}
        informative = 0.0
        for i, (item, links, is_informative) in enumerate(items):
            if is_informative:
                informative += weights[i]
            for link_id in links:
                strength, found = out.get(link_id, (0.0, []))
                found.append(item)
                out[link_id] = (strength + weights[i], found)
        rows = [(link_id, s / total, EVIDENCE_SEPARATOR.join(f)) for link_id, (s, f) in out.items()]
        return rows, informative / total


def _text_links(
    matcher: LinkMatcher, firms: pd.DataFrame, texts: list[str], chains: Mapping[str, Chain]
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """``enterprise_links`` rows of firms attached by their scope text, and each firm's
    informative scope weight. Everything but the industry prior depends on the text alone, so
    each distinct text is read and thresholded once and its links are spread to its firms."""
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object))
    reader = _ScopeReader(matcher)
    informative = np.zeros(len(uniques))
    text_of: list[int] = []
    link_of: list[str] = []
    strength_of: list[float] = []
    items_of: list[str] = []
    for u, text in enumerate(uniques.tolist()):
        rows, informative[u] = reader.strengths(text)
        if not rows:
            continue
        best = max(strength for _, strength, _ in rows)
        floor = max(MIN_SHARE * informative[u], RELATIVE_FLOOR * best)
        for link_id, strength, items in rows:
            if strength >= floor:
                text_of.append(u)
                link_of.append(link_id)
                strength_of.append(strength)
                items_of.append(
                    EVIDENCE_SEPARATOR.join(items.split(EVIDENCE_SEPARATOR)[:MAX_EVIDENCE])
                )
    per_text = np.bincount(np.asarray(text_of, dtype=np.int64), minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(per_text)[:-1]])
    n_rows = per_text[codes]
    firm = np.repeat(np.arange(len(codes)), n_rows)
    first = np.repeat(starts[codes], n_rows)
    offset = np.arange(len(firm)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
    row = first + offset
    link_ids = np.asarray(link_of, dtype=object)[row]
    strengths = np.asarray(strength_of, dtype=np.float64)[row]
    in_prior = _in_industry_prior(
        firms[C.INDUSTRY_SCHEME].to_numpy(dtype=object)[firm],
        firms[C.INDUSTRY_CODE].to_numpy(dtype=object)[firm],
        link_ids,
        chains,
    )
    weighted = strengths * np.where(in_prior, INDUSTRY_PRIOR, 1.0)
    total = np.bincount(firm, weights=weighted, minlength=len(codes))
    links = pd.DataFrame(
        {
            C.ENTERPRISE_ID: firms[C.ENTERPRISE_ID].to_numpy(dtype=object)[firm],
            C.LINK_ID: link_ids,
            C.SHARE: weighted / total[firm],
            C.EVIDENCE_KIND: KIND_TEXT,
            C.EVIDENCE: np.asarray(items_of, dtype=object)[row],
            C.CONFIDENCE: np.round(0.8 * np.minimum(1.0, strengths / 0.3), 4),
        }
    )
    return links, informative[codes]


def _in_industry_prior(
    schemes: npt.NDArray[np.object_],
    codes: npt.NDArray[np.object_],
    link_ids: npt.NDArray[np.object_],
    chains: Mapping[str, Chain],
) -> npt.NDArray[np.bool_]:
    """Whether each (firm's industry code, link) pair is listed in the chains' code mapping."""
    pairs = {
        (scheme, code, link)
        for scheme in ("gbt4754_2017", "sw2021")
        for code, links in industry_link_map(chains, scheme=scheme).items()
        for link in links
    }
    if not len(link_ids):
        return np.zeros(0, dtype=bool)
    key, key_values = pd.factorize(
        np.asarray(
            [f"{s}|{c}" for s, c in zip(schemes.tolist(), codes.tolist(), strict=True)],
            dtype=object,
        )
    )
    link, link_values = pd.factorize(pd.Series(link_ids, dtype=object))
    allowed = np.array(
        [[(*k.split("|", 1), lk) in pairs for lk in link_values] for k in key_values], dtype=bool
    ).reshape(len(key_values), len(link_values))
    result: npt.NDArray[np.bool_] = allowed[key, link]
    return result


def _evidence_items(evidence: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per (firm, link): its distinct evidence items, strongest first, up to ``MAX_EVIDENCE``,
    joined (only groups of several rows are joined in Python; most have one)."""
    items = evidence.drop_duplicates([*keys, "item"])
    items = items[items.groupby(keys, sort=False).cumcount().to_numpy() < MAX_EVIDENCE]
    size = items.groupby(keys, sort=False)["item"].transform("size").to_numpy()
    single = items[size == 1].set_index(keys)["item"]
    several = items[size > 1].groupby(keys, sort=False)["item"].agg(EVIDENCE_SEPARATOR.join)
    joined: pd.Series = pd.concat([single, several])
    return joined


def _product_links(
    evidence: pd.DataFrame, informative: pd.Series, prior: pd.Series
) -> pd.DataFrame:
    """Per firm and link: share, evidence items and confidence of product evidence, after the
    thresholds (a link's strength against the firm's informative weight, its strongest link and
    ``MIN_PRODUCT_WEIGHT``)."""
    if evidence.empty:
        return pd.DataFrame(columns=list(LINK_COLUMNS))
    evidence = evidence.sort_values("strength", ascending=False, kind="stable")
    keys = [C.ENTERPRISE_ID, C.LINK_ID]
    per_link = (
        evidence.groupby(keys, sort=False)
        .agg(strength=("strength", "sum"), direct=("direct", "any"))
        .reset_index()
    )
    per_link["items"] = (
        _evidence_items(evidence, keys).reindex(pd.MultiIndex.from_frame(per_link[keys])).to_numpy()
    )
    best = per_link.groupby(C.ENTERPRISE_ID)["strength"].transform("max")
    floor = np.maximum(
        np.maximum(MIN_SHARE * per_link[C.ENTERPRISE_ID].map(informative), RELATIVE_FLOOR * best),
        MIN_PRODUCT_WEIGHT,
    )
    per_link = per_link[per_link["strength"] >= floor].copy()
    if per_link.empty:
        return pd.DataFrame(columns=list(LINK_COLUMNS))
    code_links = per_link[C.ENTERPRISE_ID].map(prior)
    in_prior = np.fromiter(
        (
            isinstance(links, tuple) and link in links
            for links, link in zip(code_links.tolist(), per_link[C.LINK_ID].tolist(), strict=True)
        ),
        dtype=bool,
        count=len(per_link),
    )
    weighted = per_link["strength"].to_numpy() * np.where(in_prior, INDUSTRY_PRIOR, 1.0)
    total = pd.Series(weighted).groupby(per_link[C.ENTERPRISE_ID].to_numpy()).transform("sum")
    strength = per_link["strength"].to_numpy()
    confidence = np.minimum(1.0, strength / 0.5) * np.where(per_link["direct"], 1.0, 0.5)
    return pd.DataFrame(
        {
            C.ENTERPRISE_ID: per_link[C.ENTERPRISE_ID].to_numpy(),
            C.LINK_ID: per_link[C.LINK_ID].to_numpy(),
            C.SHARE: weighted / total.to_numpy(),
            C.EVIDENCE_KIND: KIND_PRODUCT,
            C.EVIDENCE: per_link["items"].to_numpy(),
            C.CONFIDENCE: np.round(confidence, 4),
        }
    )


def _industry_links(firms: pd.DataFrame, prior: pd.Series) -> pd.DataFrame:
    code_links = firms[C.ENTERPRISE_ID].map(prior)
    sizes = np.fromiter(
        (len(v) if isinstance(v, tuple) else 0 for v in code_links),
        dtype=np.int64,
        count=len(code_links),
    )
    ids = np.repeat(firms[C.ENTERPRISE_ID].to_numpy(), sizes)
    links = [link for group in code_links if isinstance(group, tuple) for link in group]
    n = np.repeat(sizes, sizes)
    codes = np.repeat(firms[C.INDUSTRY_CODE].to_numpy(), sizes)
    schemes = np.repeat(firms[C.INDUSTRY_SCHEME].to_numpy(), sizes)
    return pd.DataFrame(
        {
            C.ENTERPRISE_ID: ids,
            C.LINK_ID: links,
            C.SHARE: 1.0 / n,
            C.EVIDENCE_KIND: KIND_INDUSTRY,
            C.EVIDENCE: [
                f"{'申万' if s == 'sw2021' else 'GB/T 4754'} {c}"
                for s, c in zip(schemes, codes, strict=True)
            ],
            C.CONFIDENCE: np.round(0.3 / n, 4),
        }
    )


def industry_prior(enterprises: pd.DataFrame, chains: Mapping[str, Chain]) -> pd.Series:
    """Enterprise id -> the links its industry code is listed under (a tuple, maybe empty)."""
    maps = {
        scheme: industry_link_map(chains, scheme=scheme) for scheme in ("gbt4754_2017", "sw2021")
    }
    values = [
        maps.get(str(s), {}).get(str(c), ()) if isinstance(c, str) else ()
        for s, c in zip(
            enterprises[C.INDUSTRY_SCHEME].tolist(),
            enterprises[C.INDUSTRY_CODE].tolist(),
            strict=True,
        )
    ]
    return pd.Series(values, index=enterprises[C.ENTERPRISE_ID].to_numpy(), dtype=object)


def attach_links(
    *,
    enterprises: pd.DataFrame,
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    products: pd.DataFrame | None = None,
    enterprise_products: pd.DataFrame | None = None,
    product_relations: pd.DataFrame | None = None,
    generic: Iterable[str] = (),
    text_columns: Sequence[str] = (C.BUSINESS_SCOPE, C.DESCRIPTION),
    matcher: LinkMatcher | None = None,
) -> Attachment:
    """``enterprise_links`` of ``enterprises`` from their products, then their text, then their
    industry code (see the module docstring); ``generic`` are the words that name no link."""
    matcher = matcher or LinkMatcher(vocabularies, generic)
    counts: Counter[str] = Counter()
    # object dtype: isin over Arrow strings builds a scalar per value (seconds at 1 M firms)
    ids = enterprises[C.ENTERPRISE_ID].astype(object)
    with_products: set[str] = set()
    frames = []
    if products is not None and enterprise_products is not None and len(enterprise_products):
        ep = enterprise_products[
            enterprise_products[C.ENTERPRISE_ID].astype(object).isin(ids.to_numpy())
        ]
        evidence, informative = _product_evidence(matcher, ep, products, product_relations)
        with_products = set(informative.index[informative >= MIN_PRODUCT_WEIGHT])
        counts["firms whose products are all generic"] = int(
            (informative < MIN_PRODUCT_WEIGHT).sum()
        )
        prior = industry_prior(enterprises[ids.isin(list(with_products))], chains)
        frames.append(_product_links(evidence, informative, prior))
    counts["firms with products"] = len(with_products)
    texts: list[str | None] = [None] * len(enterprises)
    given = [False] * len(enterprises)  # a value is there, readable or not
    for column in text_columns:
        if column not in enterprises:
            continue
        for k, value in enumerate(enterprises[column].tolist()):
            if texts[k] is None and value is not None and value == value:  # NaN != NaN
                given[k] = given[k] or not (isinstance(value, str) and not value.strip())
                texts[k] = readable_text(value)
    text = pd.Series(texts, index=enterprises.index, dtype=object)
    present = pd.Series(given, index=enterprises.index)
    no_products = ~ids.isin(list(with_products))
    unreadable = no_products & present & text.isna()
    counts["business scope unreadable (attached by industry code)"] = int(unreadable.sum())
    use_text = no_products & text.notna()
    with_text: pd.Series = pd.Series(False, index=enterprises.index)
    if use_text.any():
        found_text, text_weight = _text_links(
            matcher, enterprises[use_text], text[use_text].tolist(), chains
        )
        with_text[use_text] = text_weight > 0
        counts["firms whose text is all generic"] = int((text_weight <= 0).sum())
        frames.append(found_text)
    counts["firms with text (no products)"] = int(with_text.sum())
    by_code = enterprises[no_products & ~with_text]
    counts["firms with neither (industry code only)"] = len(by_code)
    frames.append(_industry_links(by_code, industry_prior(by_code, chains)))
    found = [f for f in frames if len(f)]
    links = (
        pd.concat(found, ignore_index=True)
        if found
        else pd.DataFrame({c: pd.Series(dtype=object) for c in LINK_COLUMNS})
    )
    # the firms' order, then the largest share first (integer keys: sorting string ids is slow)
    firm = pd.Index(ids.to_numpy()).get_indexer(links[C.ENTERPRISE_ID].to_numpy(dtype=object))
    share = links[C.SHARE].to_numpy(dtype=np.float64)
    links = links.iloc[np.lexsort((-share, firm))].reset_index(drop=True)
    links[C.SHARE] = links[C.SHARE].astype(np.float64)
    links[C.CONFIDENCE] = links[C.CONFIDENCE].astype(np.float64)
    attached = ids.isin(pd.unique(links[C.ENTERPRISE_ID].to_numpy(dtype=object)))
    counts["firms attached"] = int(attached.sum())
    counts["firms with evidence but no link"] = int(
        (~attached & (ids.isin(list(with_products)) | with_text)).sum()
    )
    return Attachment(links=links[list(LINK_COLUMNS)], counts=counts)


def links_by_chain(links: pd.DataFrame, chains: Iterable[str]) -> dict[str, int]:
    """Firms with at least one link in each chain."""
    link_chains = chains_of(links[C.LINK_ID])
    return {
        chain: int(links.loc[link_chains == chain, C.ENTERPRISE_ID].nunique()) for chain in chains
    }


def evidence_text(kind: str, evidence: object, *, lang: str = "zh") -> str:
    """How a firm was attached to a link, in words (归入…：PKI基础设施、PKI安全应用; a strategist's
    correction: 人工校核：wang 2026-12-05：…)."""
    what = evidence if isinstance(evidence, str) and evidence else ""
    if kind == KIND_MANUAL:
        label = MANUAL_LABEL[0] if lang == "zh" else MANUAL_LABEL[1]
    elif kind == KIND_PRODUCT:
        label = "主营产品" if lang == "zh" else "products"
    elif kind == KIND_TEXT:
        label = "经营范围" if lang == "zh" else "business scope"
    else:
        label = "行业代码" if lang == "zh" else "industry code"
    sep = "：" if lang == "zh" else ": "
    return f"{label}{sep}{what}" if what else label


def read_link_labels(path: Path) -> pd.DataFrame:
    """A labelled sample (``enterprise_id``, ``name``, ``source``, ``links``: ids separated by
    ``;`` or ``none``); ``#`` lines are the labelling rule."""
    labels = pd.read_csv(path, comment="#", dtype=str)
    missing = {C.ENTERPRISE_ID, "links"} - set(labels.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
    labels["right"] = labels["links"].map(
        lambda v: frozenset() if v.strip() == "none" else frozenset(v.split(";"))
    )
    return labels


CHAINKG_DIR: Final = "chainkg"
REGISTRY_CSV: Final = (
    "shanghai_enterprise_registration_1979_2004/shanghai_registrations_1979_2004.csv"
)


def sample_tables(
    shared_data: Path, *, only: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """The tables the labelled sample is judged on: the ChainKG import of ``shared_data``
    (``../shared/data``) with ``enterprises`` = its listed firms plus the Shanghai
    registrations, or only the firms ``only`` names (the labelled ones)."""
    tables = dict(import_chainkg(shared_data / CHAINKG_DIR).tables)
    registry = import_enterprises(shared_data / REGISTRY_CSV).frame
    firms = pd.concat([tables["enterprises"], registry], ignore_index=True)
    if only is not None:
        firms = firms[firms[C.ENTERPRISE_ID].isin(set(only))].reset_index(drop=True)
    tables["enterprises"] = firms
    return tables


def evidence_basis(
    *,
    enterprises: pd.DataFrame,
    chains: Mapping[str, Chain],
    enterprise_products: pd.DataFrame | None = None,
    text_columns: Sequence[str] = (C.BUSINESS_SCOPE, C.DESCRIPTION),
) -> pd.DataFrame:
    """Per firm (indexed by id), what the attacher had to read: ``basis`` = ``product`` (it has
    products), ``text`` (a readable scope or description, no products) or ``none`` (neither),
    and ``code_links``, the links its industry code is listed under (``industry_prior``).
    Cheap (no matching): the review queue reads it for the firms that have no link."""
    ids = enterprises[C.ENTERPRISE_ID].astype(object)
    basis = np.full(len(enterprises), "none", dtype=object)
    readable = np.zeros(len(enterprises), dtype=bool)
    for column in text_columns:
        if column in enterprises:
            readable |= np.fromiter(
                (readable_text(v) is not None for v in enterprises[column].tolist()),
                dtype=bool,
                count=len(enterprises),
            )
    basis[readable] = KIND_TEXT
    if enterprise_products is not None and len(enterprise_products):
        has = ids.isin(pd.unique(enterprise_products[C.ENTERPRISE_ID].to_numpy(dtype=object)))
        basis[has.to_numpy()] = KIND_PRODUCT
    return pd.DataFrame(
        {"basis": basis, "code_links": industry_prior(enterprises, chains).to_numpy()},
        index=pd.Index(ids.to_numpy(), name=C.ENTERPRISE_ID),
    )


def firm_items(
    *,
    enterprises: pd.DataFrame,
    products: pd.DataFrame | None = None,
    enterprise_products: pd.DataFrame | None = None,
    product_relations: pd.DataFrame | None = None,
    text_columns: Sequence[str] = (C.BUSINESS_SCOPE, C.DESCRIPTION),
) -> dict[str, list[str]]:
    """Per firm, the pieces of text the attacher reads, split as it splits them: its product
    names and the names of the broader products they are a subclass of, then the items of its
    first readable text column's clauses that say what the firm does (trade clauses name no
    link). What a vocabulary change can alter for a firm lies only in these."""
    out: dict[str, list[str]] = defaultdict(list)
    if products is not None and enterprise_products is not None and len(enterprise_products):
        names = dict(
            zip(products[C.PRODUCT_ID].tolist(), products[C.NAME].astype(str).tolist(), strict=True)
        )
        parents: dict[str, list[str]] = defaultdict(list)
        if product_relations is not None and len(product_relations):
            sub = product_relations[product_relations[C.RELATION] == "subclass"]
            for child, parent in zip(
                sub[C.TO_PRODUCT].tolist(), sub[C.FROM_PRODUCT].tolist(), strict=True
            ):
                if parent in names:
                    parents[child].append(names[parent])
        wanted = set(enterprises[C.ENTERPRISE_ID].tolist())
        ep = enterprise_products[enterprise_products[C.ENTERPRISE_ID].isin(wanted)]
        for eid, pid in zip(ep[C.ENTERPRISE_ID].tolist(), ep[C.PRODUCT_ID].tolist(), strict=True):
            if pid in names:
                out[eid].append(names[pid])
                out[eid] += parents.get(pid, [])
    ids = enterprises[C.ENTERPRISE_ID].tolist()
    done: set[str] = set()
    for column in text_columns:
        if column not in enterprises:
            continue
        for eid, value in zip(ids, enterprises[column].tolist(), strict=True):
            text = readable_text(value)
            if text is None or eid in done:
                continue
            done.add(eid)
            for clause in _CLAUSE_SPLIT.split(text):
                if clause and _DOES.search(clause) is not None:
                    out[eid] += [item for item in _ITEM_SPLIT.split(clause) if item]
    return dict(out)


def score_links(links: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per labelled firm: ``right_share`` (its link share on a right link; a firm labelled none
    scores 1 with no link and 0 with any) and ``top_right`` (its top link is right — a tie counts
    the right part of the tied links; a none firm scores 1 with no link)."""
    own = links[links[C.ENTERPRISE_ID].isin(set(labels[C.ENTERPRISE_ID]))]
    groups = {eid: g for eid, g in own.groupby(C.ENTERPRISE_ID)}
    right_share, top_right = [], []
    for eid, right in zip(labels[C.ENTERPRISE_ID], labels["right"], strict=True):
        g = groups.get(eid)
        if g is None or g.empty:
            right_share.append(0.0 if right else 1.0)
            top_right.append(0.0 if right else 1.0)
            continue
        share = g[C.SHARE].to_numpy(dtype=np.float64)
        hit = g[C.LINK_ID].isin(right).to_numpy()
        right_share.append(float(share[hit].sum() / share.sum()))
        top = np.isclose(share, share.max())
        top_right.append(float(hit[top].mean()))
    return labels.assign(right_share=right_share, top_right=top_right)


def summarise_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """Mean right-link share and top-link accuracy: all firms, by source and by chain (a firm
    counts for every chain its right links are in; ``none`` for firms of no chain)."""
    rows = [("all", scored)]
    for column in ("set", "source"):
        if column in scored:
            rows += [(f"{column}:{v}", g) for v, g in scored.groupby(column)]
    chains = sorted({chain_of(link) for right in scored["right"] for link in right})
    for chain in chains:
        mask = scored["right"].map(lambda r, c=chain: any(x.startswith(c + ".") for x in r))
        rows.append((chain, scored[mask]))
    rows.append(("none", scored[scored["right"].map(len) == 0]))
    return pd.DataFrame(
        [
            {
                "group": name,
                "firms": len(g),
                "right_link_share": round(float(g["right_share"].mean()), 3),
                "top_link_accuracy": round(float(g["top_right"].mean()), 3),
            }
            for name, g in rows
        ]
    )


@lru_cache(maxsize=1)
def default_matcher() -> LinkMatcher:
    """The matcher of the bundled vocabularies and generic words, built once."""
    return LinkMatcher(default_vocabularies(), load_generic_terms())


def attach_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    chains: Mapping[str, Chain] | None = None,
    vocabularies: Mapping[str, LinkVocabulary] | None = None,
) -> Attachment:
    """Attach a universe's ``enterprises`` from its ``products`` / ``enterprise_products`` /
    ``product_relations`` and text columns (the bundled chains and vocabularies by default)."""
    return attach_links(
        enterprises=tables["enterprises"],
        chains=default_chains() if chains is None else chains,
        vocabularies=default_vocabularies() if vocabularies is None else vocabularies,
        generic=load_generic_terms(),
        matcher=default_matcher() if vocabularies is None else None,
        products=tables.get("products"),
        enterprise_products=tables.get("enterprise_products"),
        product_relations=tables.get("product_relations"),
    )


def validated_links(links: pd.DataFrame, *, source: Path) -> LoadResult:
    """``enterprise_links`` checked against the contract (``source`` names the universe)."""
    return validate_table(
        links,
        table="enterprise_links",
        rows=np.arange(2, len(links) + 2),
        source=source,
        source_rows=len(links),
    )


def attach_universe(results: dict[str, LoadResult], *, source: Path) -> Attachment:
    """``attach_tables`` on imported tables; the validated ``enterprise_links`` go into
    ``results``."""
    attachment = attach_tables({name: r.frame for name, r in results.items()})
    results["enterprise_links"] = validated_links(attachment.links, source=source)
    return attachment
