"""Lead ranking: track eligibility and the ranking metrics (NDCG of signings, value captured).

The value of a lead is ``industry_graph.gaps.LeadValue``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score

from data import columns as C
from data.reference import Eligibility, Rule


def _member(values: pd.Series, allowed: tuple[str, ...]) -> np.ndarray:
    """``values.isin(allowed)`` by hash lookup (Arrow strings' ``isin`` loops in Python)."""
    return np.asarray(pd.Index(allowed).get_indexer(pd.Index(values.to_numpy(dtype=object))) >= 0)


def _rule_holds(rule: Rule, firms: pd.DataFrame, firm_chains: pd.DataFrame) -> np.ndarray:
    ok = np.ones(len(firms), dtype=bool)
    if rule.min_revenue_wan_cny is not None:
        ok &= (
            (pd.to_numeric(firms[C.REVENUE], errors="coerce") >= rule.min_revenue_wan_cny)
            .fillna(False)
            .to_numpy()
        )
    if rule.hq_types is not None:
        ok &= _member(firms[C.HQ_TYPE], rule.hq_types)
    if rule.ownerships is not None:
        ok &= _member(firms[C.OWNERSHIP], rule.ownerships)
    if rule.is_high_tech is not None:
        ok &= (
            (firms[C.IS_HIGH_TECH].astype("boolean") == rule.is_high_tech).fillna(False).to_numpy()
        )
    if rule.chains is not None:
        # firm_chains: (enterprise_id, chain) pairs; one vectorised membership test
        wanted = _member(firm_chains["chain"], rule.chains)
        in_wanted = pd.Index(pd.unique(firm_chains["enterprise_id"].to_numpy()[wanted]))
        ok &= in_wanted.get_indexer(firms[C.ENTERPRISE_ID].to_numpy(dtype=object)) >= 0
    return ok


def chain_membership(enterprise_links: pd.DataFrame) -> pd.DataFrame:
    """(enterprise_id, chain) of every link row: what chain rules are checked against; the
    chain of each of the few distinct links is split once, not a string per row."""
    codes, link_ids = pd.factorize(enterprise_links[C.LINK_ID])
    chain_of = np.array([str(lid).split(".", 1)[0] for lid in link_ids], dtype=object)
    return pd.DataFrame(
        {
            "enterprise_id": enterprise_links[C.ENTERPRISE_ID].to_numpy(),
            "chain": chain_of[codes] if len(codes) else np.array([], dtype=object),
        }
    )


def eligible(
    eligibility: Eligibility,
    firms: pd.DataFrame,
    enterprise_links: pd.DataFrame,
    *,
    firm_chains: pd.DataFrame | None = None,
) -> np.ndarray:
    """Which firms satisfy a track's eligibility rules (all of ``all_of``, one of ``any_of``);
    ``firm_chains`` is ``chain_membership(enterprise_links)`` when the caller holds it."""
    needs_chains = any(r.chains is not None for r in (*eligibility.all_of, *eligibility.any_of))
    if firm_chains is None:
        firm_chains = (
            chain_membership(enterprise_links)
            if needs_chains
            else pd.DataFrame(
                {"enterprise_id": pd.Series(dtype=object), "chain": pd.Series(dtype=object)}
            )
        )
    ok = np.ones(len(firms), dtype=bool)
    for rule in eligibility.all_of:
        ok &= _rule_holds(rule, firms, firm_chains)
    if eligibility.any_of:
        any_ok = np.zeros(len(firms), dtype=bool)
        for rule in eligibility.any_of:
            any_ok |= _rule_holds(rule, firms, firm_chains)
        ok &= any_ok
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
