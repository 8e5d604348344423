"""Gap analysis of a park's chains (补链 / 强链 / 延链) and the gap-filling value of candidates.

For park P and each link l of a chain:

- **presence**: ``firms`` = Σ share of P's firms working in l; ``revenue`` = Σ share × revenue.
- **target**: ``link_targets`` of the park YAML where given, else the link's national share of
  firms — Σ share of the firms *outside* P in l, divided by their number — times the number of
  P's firms in the universe, and at least 1. (Counting only firms outside P keeps the target
  fixed when P gains a firm.)
- **type**: with "present" meaning ``firms > 0``, and neighbours taken along the curated
  ``upstream`` relations (across chains too):
  ``missing_broken`` (补链) — absent, with present neighbours both up- and downstream;
  ``extension`` (延链) — absent beyond the chain's covered end: a present direct upstream link
  and nothing present downstream of l in its chain, or a present direct downstream link and
  nothing present upstream of l in its chain; ``missing`` — any other absent link;
  ``weak`` (强链) — present below half the target; ``covered`` — the rest.
- **score** in [0, 1]: ``importance × base``, where ``importance`` = link weight / the largest
  link weight of the park's chains × the chain's priority factor (priority 1 → 1.0, 2 → 0.85,
  3 → 0.7, 4 → 0.6, 5 → 0.5; a chain the park does not target → 0.5) and ``base`` is the park
  YAML's ``valuation.chain_worth_wan_cny`` of the gap type divided by the largest of them (for
  Shibei 500 : 425 : 350 万元 → 1.0 for ``missing_broken``, 0.85 for ``missing``, 0.7 for
  ``extension``) and ``weak / largest × max(0, 1 − firms / target)`` for a present link. A
  present link's base never exceeds an absent one's (the YAML loader checks ``weak`` is the
  smallest) and falls as presence grows, so adding a park firm to a link never raises that
  link's score.

The **gap-filling value** of a candidate is Σ over its links of share × score (in [0, 1], as
shares sum to at most 1 and scores lie in [0, 1]); its **chain value** in 万元 a year is the gap
value × the park's largest chain worth (``chain_worth_scale``); its **synergy** is the park firms
in the links directly downstream of its links (it would supply them) and directly upstream (it
would buy from them), with those paths named as its explanation.

The **value** of a lead if it lands (``LeadValue``) is ``horizon × (w_tax × in-park share × tax
P50 + w_chain × chain value a year)`` in 万元, and its score the expected value, P(land) ×
value. The park YAML sets the horizon, the chain worth by gap type, the share of a firm's tax the park would collect
(less for site-bound industries) and each track's two weights, and says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from typing import Final, Literal, get_args

import networkx as nx
import numpy as np
import pandas as pd

from data import columns as C
from data.reference import Chain, Park, chain_of

GapType = Literal["missing_broken", "missing", "extension", "weak", "covered"]
GAP_TYPES: Final = get_args(GapType)
# each gap type's label (zh, en) and how a reason names such a link in English
GAP_LABELS: Final[Mapping[str, tuple[str, str, str]]] = {
    "missing_broken": ("补链", "Broken", "broken link (补链)"),
    "missing": ("缺失", "Missing", "missing link"),
    "extension": ("延链", "Extension", "extension link (延链)"),
    "weak": ("强链", "Weak", "weak link (强链)"),
    "covered": ("已覆盖", "Covered", "covered link"),
}
PRIORITY_FACTOR = {1: 1.0, 2: 0.85, 3: 0.7, 4: 0.6, 5: 0.5}
UNTARGETED_FACTOR = 0.5
WEAK_BELOW = 0.5


def chain_worth_scale(park: Park) -> float:
    """万元 a year of a gap value of 1.0: the park's largest chain worth."""
    worth = park.valuation.chain_worth_wan_cny
    return max(worth.missing_broken, worth.missing, worth.extension, worth.weak)


@dataclass(frozen=True)
class LeadValue:
    """How one track of a park turns a firm's tax and gap value into 万元 (the park YAML's
    ``valuation`` and the track's ``weights``)."""

    horizon_years: float
    chain_wan_cny_per_year: float  # a gap value of 1.0, 万元 a year
    tax_weight: float = 1.0
    chain_weight: float = 1.0

    @classmethod
    def of(cls, park: Park, track: str) -> LeadValue:
        """The value rule of one of the park's tracks."""
        weights = park.tracks[track].weights
        return cls(
            horizon_years=park.valuation.horizon_years,
            chain_wan_cny_per_year=chain_worth_scale(park),
            tax_weight=weights.tax,
            chain_weight=weights.chain,
        )

    def parts(self, *, tax_p50: np.ndarray, gap_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(chain value a year, value over the horizon), both in 万元; ``tax_p50`` is the tax
        the park would collect a year (the landing form's share of the group's is applied
        before, in ``models.scorer``)."""
        chain = np.clip(gap_value, 0, 1) * self.chain_wan_cny_per_year
        tax = np.clip(tax_p50, 0, None)
        value = self.horizon_years * (self.tax_weight * tax + self.chain_weight * chain)
        return np.asarray(chain, dtype=float), np.asarray(value, dtype=float)

    def with_plan(
        self,
        *,
        p_land: np.ndarray,
        value: np.ndarray,
        chain_value: np.ndarray,
        plan_value: np.ndarray,
        replaces_chain: bool,
    ) -> np.ndarray:
        """The score with the contact plan's prices, in 万元: P(land) × (value + plan value),
        the plan value being Σ price × the firms a lead counts for toward the plan's targets.
        When the plan prices the chain links' gaps (``replaces_chain``) its prices take the
        place of the hand-set chain worth: the chain value a year leaves the value first."""
        chain = self.horizon_years * self.chain_weight * np.asarray(chain_value, dtype=float)
        base = np.asarray(value, dtype=float) - (chain if replaces_chain else 0.0)
        total = np.clip(base, 0, None) + np.clip(np.asarray(plan_value, dtype=float), 0, None)
        return np.asarray(np.asarray(p_land, dtype=float) * total, dtype=float)


def track_chains(park: Park, track: str) -> tuple[str, ...]:
    """The chains a track scores gaps against: the track's own, else all the park's targets."""
    own = park.tracks[track].chains
    return tuple(own) if own else tuple(t.id for t in park.chains)


def _bases(park: Park) -> dict[str, float]:
    """Each gap type's base score: its worth relative to the largest."""
    worth, top = park.valuation.chain_worth_wan_cny, chain_worth_scale(park)
    return {k: v / top for k, v in worth.model_dump().items()}


@dataclass(frozen=True)
class LinkGap:
    """One link's presence, target, gap type, score and reason."""

    link_id: str
    name_zh: str
    name_en: str
    segment: str
    firms: float
    revenue_wan_cny: float
    target: float
    coverage: float
    gap_type: GapType
    score: float
    reason_zh: str
    reason_en: str
    upstream_present: tuple[str, ...]
    downstream_present: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        out = asdict(self)
        out["upstream_present"] = list(self.upstream_present)
        out["downstream_present"] = list(self.downstream_present)
        return out


@dataclass(frozen=True)
class ParkContext:
    """What gap analysis needs of a universe for one park, computed once (O(links table))."""

    park: Park
    chains: Mapping[str, Chain]
    link_graph: nx.DiGraph
    park_firms: pd.Series  # link_id -> Σ share of park firms
    park_revenue: pd.Series  # link_id -> Σ share × revenue of park firms
    national_share: pd.Series  # link_id -> Σ share outside the park / firms outside the park
    roster_size: int
    park_members: pd.DataFrame  # enterprise_id, link_id, share, name of park firms

    @cached_property
    def member_names_by_link(self) -> dict[str, list[str]]:
        """The park firms' names per link, largest share first (then by id)."""
        ordered = self.park_members.sort_values(
            [C.LINK_ID, C.SHARE, C.ENTERPRISE_ID], ascending=[True, False, True]
        )
        return {
            str(link): [str(n) for n in group[C.NAME]]
            for link, group in ordered.groupby(C.LINK_ID, sort=False)
        }

    @property
    def importance_denominator(self) -> float:
        """The largest link weight among the park's target chains."""
        weights = [
            link.weight
            for t in self.park.chains
            if t.id in self.chains
            for link in self.chains[t.id].links
        ]
        return max(weights) if weights else 1.0


def link_graph(chains: Mapping[str, Chain]) -> nx.DiGraph:
    """Links as nodes, an edge from each upstream link to its downstream link."""
    graph = nx.DiGraph()
    for chain in chains.values():
        for link in chain.links:
            graph.add_node(link.id, chain=chain.id)
    for chain in chains.values():
        for link in chain.links:
            for up in link.upstream:
                if up in graph:
                    graph.add_edge(up, link.id)
    return graph


def park_context(
    *,
    park: Park,
    chains: Mapping[str, Chain],
    enterprises: pd.DataFrame,
    enterprise_links: pd.DataFrame,
    park_roster: pd.DataFrame,
) -> ParkContext:
    """Presence of the park and national shares per link."""
    members = set(park_roster.loc[park_roster[C.PARK_ID] == park.id, C.ENTERPRISE_ID])
    in_park = enterprise_links[C.ENTERPRISE_ID].isin(members).to_numpy()
    links_in = enterprise_links[in_park]
    revenue = enterprises.set_index(C.ENTERPRISE_ID)[C.REVENUE]
    rev = (
        links_in[C.ENTERPRISE_ID].map(revenue).fillna(0.0).to_numpy() * links_in[C.SHARE].to_numpy()
    )
    outside_firms = max(1, int((~enterprises[C.ENTERPRISE_ID].isin(members)).sum()))
    names = enterprises.loc[enterprises[C.ENTERPRISE_ID].isin(members), [C.ENTERPRISE_ID, C.NAME]]
    return ParkContext(
        park=park,
        chains=chains,
        link_graph=link_graph(chains),
        park_firms=links_in.groupby(C.LINK_ID)[C.SHARE].sum(),
        park_revenue=pd.Series(rev, index=links_in[C.LINK_ID].to_numpy()).groupby(level=0).sum(),
        national_share=enterprise_links[~in_park].groupby(C.LINK_ID)[C.SHARE].sum() / outside_firms,
        roster_size=len(members),
        park_members=links_in.merge(names, on=C.ENTERPRISE_ID, how="left"),
    )


def _names(chains: Mapping[str, Chain], link_ids: Sequence[str], lang: str) -> str:
    out = []
    for lid in link_ids:
        chain = chains.get(chain_of(lid))
        link = chain.link(lid) if chain else None
        out.append((link.name_zh if lang == "zh" else link.name_en) if link else lid)
    return "、".join(out) if lang == "zh" else ", ".join(out)


def _chain_priority(park: Park, chain_id: str) -> float:
    for target in park.chains:
        if target.id == chain_id:
            return PRIORITY_FACTOR.get(target.priority, 0.5)
    return UNTARGETED_FACTOR


def analyse_gaps(ctx: ParkContext, chain_id: str) -> list[LinkGap]:
    """Per link of ``chain_id``: presence, target, type, score and reason, best gap first
    (score descending, then link id, so the order is deterministic)."""
    if chain_id not in ctx.chains:
        raise KeyError(f"unknown chain {chain_id!r}; known: {', '.join(sorted(ctx.chains))}")
    chain = ctx.chains[chain_id]
    g = ctx.link_graph
    present = {lid for lid, v in ctx.park_firms.items() if v > 0}
    same_chain = {link.id for link in chain.links}
    factor = _chain_priority(ctx.park, chain_id)
    denominator = ctx.importance_denominator
    bases = _bases(ctx.park)
    out = []
    for link in chain.links:
        lid = link.id
        firms = float(ctx.park_firms.get(lid, 0.0))
        revenue = float(ctx.park_revenue.get(lid, 0.0))
        if lid in ctx.park.link_targets:
            target = float(ctx.park.link_targets[lid])
        else:
            target = max(1.0, float(ctx.national_share.get(lid, 0.0)) * ctx.roster_size)
        ups = tuple(sorted(u for u in g.predecessors(lid) if u in present))
        downs = tuple(sorted(d for d in g.successors(lid) if d in present))
        coverage = firms / target
        gap_type: GapType
        if firms > 0:
            gap_type = "weak" if coverage < WEAK_BELOW else "covered"
            base = bases["weak"] * max(0.0, 1.0 - coverage)
        else:
            later = nx.descendants(g, lid) & same_chain & present
            earlier = nx.ancestors(g, lid) & same_chain & present
            if ups and downs:
                gap_type = "missing_broken"
            elif (ups and not later) or (downs and not earlier):
                gap_type = "extension"
            else:
                gap_type = "missing"
            base = bases[gap_type]
        importance = min(1.0, link.weight / denominator) * factor
        score = round(importance * base, 4)
        zh, en = _reason(
            ctx.chains, link.name_zh, link.name_en, gap_type, firms, target, ups, downs
        )
        out.append(
            LinkGap(
                lid,
                link.name_zh,
                link.name_en,
                link.segment,
                round(firms, 3),
                round(revenue, 1),
                round(target, 2),
                round(coverage, 3),
                gap_type,
                score,
                zh,
                en,
                ups,
                downs,
            )
        )
    out.sort(key=lambda gap: (-gap.score, gap.link_id))
    return out


def _reason(
    chains: Mapping[str, Chain],
    name_zh: str,
    name_en: str,
    gap_type: GapType,
    firms: float,
    target: float,
    ups: Sequence[str],
    downs: Sequence[str],
) -> tuple[str, str]:
    up_zh, up_en = _names(chains, ups, "zh"), _names(chains, ups, "en")
    down_zh, down_en = _names(chains, downs, "zh"), _names(chains, downs, "en")
    if gap_type == "missing_broken":
        return (
            f"补链：园区在「{name_zh}」没有企业，而上游（{up_zh}）和下游（{down_zh}）都有园区企业",
            f"Broken link: no park firm in {name_en}, while upstream ({up_en}) "
            f"and downstream ({down_en}) have park firms",
        )
    if gap_type == "extension":
        if ups:
            return (
                f"延链：「{name_zh}」在园区现有链条（{up_zh}）的下游末端之外",
                f"Extension: {name_en} lies beyond the park's chain end downstream of {up_en}",
            )
        return (
            f"延链：「{name_zh}」在园区现有链条（{down_zh}）的上游起点之前",
            f"Extension: {name_en} lies before the park's chain start upstream of {down_en}",
        )
    if gap_type == "missing":
        return (
            f"缺失：园区在「{name_zh}」没有企业，相邻环节也没有园区企业",
            f"Missing: no park firm in {name_en}, nor in the links next to it",
        )
    if gap_type == "weak":
        return (
            f"强链：园区在「{name_zh}」仅有 {firms:.1f} 家企业，目标 {target:.1f} 家（覆盖 {firms / target:.0%}）",
            f"Weak: {firms:.1f} park firms in {name_en} against a target of {target:.1f} ({firms / target:.0%})",
        )
    return (
        f"已覆盖：园区在「{name_zh}」有 {firms:.1f} 家企业，目标 {target:.1f} 家",
        f"Covered: {firms:.1f} park firms in {name_en} against a target of {target:.1f}",
    )


def link_scores(ctx: ParkContext, chain_ids: Sequence[str] | None = None) -> pd.Series:
    """Gap score of every link of the given chains (default: the park's target chains)."""
    ids = (
        chain_ids
        if chain_ids is not None
        else [t.id for t in ctx.park.chains if t.id in ctx.chains]
    )
    scores = {gap.link_id: gap.score for cid in ids for gap in analyse_gaps(ctx, cid)}
    return pd.Series(scores, dtype="float64")


def gap_values(
    ctx: ParkContext, enterprise_links: pd.DataFrame, *, chain_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per enterprise with links: ``gap_value`` (Σ share × link score, in [0, 1]) and synergy
    counts: ``supplies`` (park firms in links directly downstream of its links) and
    ``buys_from`` (directly upstream), each counted per link, and ``synergy`` = 1 − exp(−n/10)."""
    scores = link_scores(ctx, chain_ids)
    g = ctx.link_graph
    members = ctx.park_members
    firms_in = members.groupby(C.LINK_ID)[C.ENTERPRISE_ID].nunique()
    downstream_firms = {
        lid: int(sum(firms_in.get(d, 0) for d in g.successors(lid))) for lid in g.nodes
    }
    upstream_firms = {
        lid: int(sum(firms_in.get(u, 0) for u in g.predecessors(lid))) for lid in g.nodes
    }
    link_ids = enterprise_links[C.LINK_ID]
    share = enterprise_links[C.SHARE].to_numpy()
    frame = pd.DataFrame(
        {
            C.ENTERPRISE_ID: enterprise_links[C.ENTERPRISE_ID].to_numpy(),
            "gap_value": share * link_ids.map(scores).fillna(0.0).to_numpy(),
            "supplies": link_ids.map(downstream_firms).fillna(0).to_numpy(),
            "buys_from": link_ids.map(upstream_firms).fillna(0).to_numpy(),
        }
    )
    out = frame.groupby(C.ENTERPRISE_ID, sort=True).sum()
    out["gap_value"] = out["gap_value"].clip(0.0, 1.0).round(4)
    out["synergy"] = (1.0 - np.exp(-(out["supplies"] + out["buys_from"]) / 10.0)).round(4)
    return out.reset_index()


def synergy_paths(
    ctx: ParkContext,
    enterprise_links: pd.DataFrame,
    enterprise_id: str,
    *,
    names: Mapping[str, str],
    limit: int = 5,
) -> list[dict[str, str]]:
    """The park firms a candidate would supply or buy from, as named paths (its explanation)."""
    own = enterprise_links[enterprise_links[C.ENTERPRISE_ID] == enterprise_id]
    g = ctx.link_graph
    members = ctx.member_names_by_link
    out: list[dict[str, str]] = []
    candidate = names.get(enterprise_id, enterprise_id)
    for lid in own.sort_values(C.SHARE, ascending=False)[C.LINK_ID]:
        for direction, neighbours in (
            ("supplies", sorted(g.successors(lid))),
            ("buys_from", sorted(g.predecessors(lid))),
        ):
            for other in neighbours:
                for firm_name in members.get(other, [])[:limit]:
                    here, here_en = _names(ctx.chains, [lid], "zh"), _names(ctx.chains, [lid], "en")
                    there, there_en = (
                        _names(ctx.chains, [other], "zh"),
                        _names(ctx.chains, [other], "en"),
                    )
                    if direction == "supplies":
                        path_zh = f"{candidate}（{here}）→ {firm_name}（{there}）"
                        path_en = f"{candidate} ({here_en}) → {firm_name} ({there_en})"
                    else:
                        path_zh = f"{firm_name}（{there}）→ {candidate}（{here}）"
                        path_en = f"{firm_name} ({there_en}) → {candidate} ({here_en})"
                    out.append(
                        {
                            "direction": direction,
                            "park_firm": str(firm_name),
                            "path_zh": path_zh,
                            "path_en": path_en,
                        }
                    )
    return out[: limit * 4]


def link_score_without(ctx: ParkContext, link_id: str, share: float) -> float:
    """The gap score ``link_id`` would have if a park firm working in it with ``share`` were not
    there (the park's other firms as they are): how much that firm's attachment decides the
    link's gap. A link outside the park's chains scores 0."""
    chain_id = chain_of(link_id)
    if chain_id not in ctx.chains:
        return 0.0
    firms = ctx.park_firms.copy()
    firms[link_id] = max(0.0, float(firms.get(link_id, 0.0)) - share)
    if firms[link_id] <= 1e-9:
        firms = firms.drop(link_id)
    without = replace(ctx, park_firms=firms)
    return next(gap.score for gap in analyse_gaps(without, chain_id) if gap.link_id == link_id)
