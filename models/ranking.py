"""Lead ranking: track eligibility and the ranking metrics (NDCG of signings, value captured).

The value of a lead is ``industry_graph.gaps.LeadValue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score

from data import columns as C
from data.landing import industry_hit
from data.reference import Eligibility, Rule, chain_of


@dataclass(frozen=True)
class ChainMembership:
    """Which chains each firm with links works in: a boolean matrix (firms × chains) over a
    unique index of firm ids, built once per universe (``chain_membership``)."""

    firms: pd.Index
    chains: tuple[str, ...]
    matrix: np.ndarray

    def in_any(self, enterprise_ids: pd.Series, chains: tuple[str, ...]) -> np.ndarray:
        """Whether each firm works in one of ``chains``."""
        cols = [i for i, c in enumerate(self.chains) if c in set(chains)]
        rows = self.firms.get_indexer(pd.Index(enterprise_ids.to_numpy(dtype=object)))
        hit = (
            self.matrix[np.maximum(rows, 0)][:, cols].any(axis=1)
            if cols
            else np.zeros(len(rows), dtype=bool)
        )
        return np.asarray(hit & (rows >= 0))


def chain_membership(enterprise_links: pd.DataFrame) -> ChainMembership:
    """The chains of every firm with links: what chain rules are checked against (the chain of
    each of the few distinct links is split once, not a string per row)."""
    link_codes, link_ids = pd.factorize(enterprise_links[C.LINK_ID])
    chain_names = [chain_of(str(lid)) for lid in link_ids]
    chain_codes, chains = pd.factorize(pd.Index(chain_names))
    firm_codes, firms = pd.factorize(enterprise_links[C.ENTERPRISE_ID].to_numpy(dtype=object))
    matrix = np.zeros((len(firms), len(chains)), dtype=bool)
    if len(link_codes):
        matrix[firm_codes, np.asarray(chain_codes)[link_codes]] = True
    return ChainMembership(pd.Index(firms), tuple(str(c) for c in chains), matrix)


def _rule_holds(rule: Rule, firms: pd.DataFrame, membership: ChainMembership | None) -> np.ndarray:
    ok = np.ones(len(firms), dtype=bool)
    if rule.min_revenue_wan_cny is not None:
        ok &= (
            (pd.to_numeric(firms[C.REVENUE], errors="coerce") >= rule.min_revenue_wan_cny)
            .fillna(False)
            .to_numpy()
        )
    if rule.hq_types is not None:
        ok &= firms[C.HQ_TYPE].isin(rule.hq_types).fillna(False).to_numpy(dtype=bool)
    if rule.ownerships is not None:
        ok &= firms[C.OWNERSHIP].isin(rule.ownerships).fillna(False).to_numpy(dtype=bool)
    if rule.is_high_tech is not None:
        ok &= (
            (firms[C.IS_HIGH_TECH].astype("boolean") == rule.is_high_tech).fillna(False).to_numpy()
        )
    if rule.chains is not None:
        assert membership is not None
        ok &= membership.in_any(firms[C.ENTERPRISE_ID], rule.chains)
    if rule.industry_codes is not None:
        ok &= industry_hit(firms, rule.industry_codes)
    return ok


def eligible(
    eligibility: Eligibility,
    firms: pd.DataFrame,
    enterprise_links: pd.DataFrame,
    *,
    membership: ChainMembership | None = None,
) -> np.ndarray:
    """Which firms satisfy a track's eligibility rules (all of ``all_of``, one of ``any_of``,
    none of ``none_of``); ``membership`` is ``chain_membership(enterprise_links)`` when the
    caller holds it."""
    rules = (*eligibility.all_of, *eligibility.any_of, *eligibility.none_of)
    needs_chains = any(r.chains is not None for r in rules)
    if membership is None and needs_chains:
        membership = chain_membership(enterprise_links)
    ok = np.ones(len(firms), dtype=bool)
    for rule in eligibility.all_of:
        ok &= _rule_holds(rule, firms, membership)
    if eligibility.any_of:
        any_ok = np.zeros(len(firms), dtype=bool)
        for rule in eligibility.any_of:
            any_ok |= _rule_holds(rule, firms, membership)
        ok &= any_ok
    for rule in eligibility.none_of:
        ok &= ~_rule_holds(rule, firms, membership)
    return ok


RELEVANCE: Mapping[str, int] = {"signed": 3, "interested": 1, "declined": 0, "no_response": 0}


def mean_ndcg(
    frame: pd.DataFrame,
    *,
    score_col: str,
    relevance_col: str = "relevance",
    group_col: str = C.CAMPAIGN,
    k: int = 10,
) -> float:
    """Mean NDCG@k over groups (campaigns) that have at least one relevant item."""
    values = []
    for _, g in frame.groupby(group_col, sort=True):
        rel = g[relevance_col].to_numpy(dtype=float)
        if rel.max() <= 0 or len(g) < 2:
            continue
        values.append(ndcg_score(rel[None, :], g[score_col].to_numpy(dtype=float)[None, :], k=k))
    return float(np.mean(values)) if values else float("nan")


def value_captured(
    frame: pd.DataFrame,
    *,
    score_col: str,
    value_col: str = "realised_value",
    group_col: str = C.CAMPAIGN,
    k: int = 50,
) -> float:
    """Mean over campaigns of Σ realised value of the top ``k`` by score / the most any ``k`` of
    the campaign's contacts realised (hindsight), over campaigns where something was realised.

    Ties in the score are broken by the row order, so a constant score is the campaign's order.
    """
    values = []
    for _, g in frame.groupby(group_col, sort=True):
        realised = g[value_col].to_numpy(dtype=float)
        best = np.sort(realised)[::-1][:k].sum()
        if best <= 0:
            continue
        order = np.argsort(-g[score_col].to_numpy(dtype=float), kind="stable")[:k]
        values.append(realised[order].sum() / best)
    return float(np.mean(values)) if values else float("nan")
