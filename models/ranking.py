"""Lead ranking: the transparent scoring profile, track eligibility, and ranking metrics."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import ndcg_score

from data import columns as C
from data.reference import Eligibility, Rule, Scoring


def profile_score(
    *, p_land: np.ndarray, tax_p50: np.ndarray, gap_value: np.ndarray, scoring: Scoring
) -> np.ndarray:
    """The park YAML's profile: w_tax × E/(E + scale) + w_gap × gap value, E = P(land) × tax P50.

    E/(E + scale) maps expected tax (万元) into [0, 1): ``tax_scale_wan_cny`` scores 0.5.
    """
    expected = np.clip(p_land, 0, 1) * np.clip(tax_p50, 0, None)
    tax_part = expected / (expected + scoring.tax_scale_wan_cny)
    return np.asarray(
        scoring.expected_tax * tax_part + scoring.gap_value * np.clip(gap_value, 0, 1), dtype=float
    )


def _rule_holds(rule: Rule, firms: pd.DataFrame, firm_chains: pd.DataFrame) -> np.ndarray:
    ok = np.ones(len(firms), dtype=bool)
    if rule.min_revenue_wan_cny is not None:
        ok &= (
            (pd.to_numeric(firms[C.REVENUE], errors="coerce") >= rule.min_revenue_wan_cny)
            .fillna(False)
            .to_numpy()
        )
    if rule.hq_types is not None:
        ok &= firms[C.HQ_TYPE].isin(rule.hq_types).to_numpy()
    if rule.ownerships is not None:
        ok &= firms[C.OWNERSHIP].isin(rule.ownerships).to_numpy()
    if rule.is_high_tech is not None:
        ok &= (
            (firms[C.IS_HIGH_TECH].astype("boolean") == rule.is_high_tech).fillna(False).to_numpy()
        )
    if rule.chains is not None:
        # firm_chains: (enterprise_id, chain) pairs; one vectorised membership test
        in_wanted = firm_chains[firm_chains["chain"].isin(rule.chains)]["enterprise_id"].unique()
        ok &= firms[C.ENTERPRISE_ID].isin(in_wanted).to_numpy(dtype=bool)
    return ok


def eligible(
    eligibility: Eligibility, firms: pd.DataFrame, enterprise_links: pd.DataFrame
) -> np.ndarray:
    """Which firms satisfy a track's eligibility rules (all of ``all_of``, one of ``any_of``)."""
    needs_chains = any(r.chains is not None for r in (*eligibility.all_of, *eligibility.any_of))
    firm_chains = pd.DataFrame(
        {"enterprise_id": pd.Series(dtype=object), "chain": pd.Series(dtype=object)}
    )
    if needs_chains:
        firm_chains = pd.DataFrame(
            {
                "enterprise_id": enterprise_links[C.ENTERPRISE_ID].to_numpy(),
                "chain": enterprise_links[C.LINK_ID].str.split(".", n=1).str[0].to_numpy(),
            }
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
