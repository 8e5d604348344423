"""Ranked leads for a track: eligible candidates scored by a lead scorer, with reasons."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from data import columns as C
from features.build import FeatureContext, firm_features, tax_history, track_chains
from industry_graph.gaps import analyse_gaps
from models.ranking import eligible
from models.scorer import LeadScorer

LEAD_COLUMNS = (
    "rank",
    C.ENTERPRISE_ID,
    C.NAME,
    C.PROVINCE,
    C.CITY,
    C.INDUSTRY_CODE,
    "links",
    "score",
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "gap_value",
    "reasons",
    "chain_reasons",
    "p_land_source",
    "model_version",
    "snapshot_id",
)


def candidates_for(
    fc: FeatureContext, tables: Mapping[str, pd.DataFrame], track: str
) -> pd.DataFrame:
    """Firms outside the park that meet the track's eligibility rules."""
    firms = tables["enterprises"]
    outside = firms[~firms[C.ENTERPRISE_ID].isin(fc.park_members)].reset_index(drop=True)
    rules = fc.park.tracks[track].eligibility  # type: ignore[index]
    return outside[eligible(rules, outside, tables["enterprise_links"])].reset_index(drop=True)


def score_track(
    *,
    scorer: LeadScorer,
    fc: FeatureContext,
    tables: Mapping[str, pd.DataFrame],
    track: str,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(candidates, feature matrix, scores) for every eligible candidate of a track, best first;
    ties are broken by enterprise id so the order is deterministic."""
    cands = candidates_for(fc, tables, track)
    tax = tables["tax_records"].dropna(subset=[C.TAX_PAID])
    history = tax_history(tax, int(tax[C.YEAR].max())) if len(tax) else None
    X = firm_features(fc, cands, track=track, as_of=as_of, history=history)
    scores = scorer.score(X)
    order = np.lexsort((cands[C.ENTERPRISE_ID].to_numpy(), -scores["score"].to_numpy()))
    return (
        cands.iloc[order].reset_index(drop=True),
        X.iloc[order].reset_index(drop=True),
        scores.iloc[order].reset_index(drop=True),
    )


def chain_reasons(
    fc: FeatureContext, enterprise_links: pd.DataFrame, ids: pd.Series, track: str
) -> list[list[dict[str, str]]]:
    """Chain reasons per firm: the gap it would fill and the park firms it would work with."""
    chain_ids = [c for c in track_chains(fc.park, track) if c in fc.gaps.chains]
    gaps = {g.link_id: g for cid in chain_ids for g in analyse_gaps(fc.gaps, cid)}
    links = enterprise_links[enterprise_links[C.ENTERPRISE_ID].isin(set(ids))]
    by_firm = {k: v for k, v in links.groupby(C.ENTERPRISE_ID)}
    synergy = fc.by_track[track]
    supplies, buys = synergy["supplies"].to_dict(), synergy["buys_from"].to_dict()
    supplies = synergy["supplies"].to_dict()
    buys = synergy["buys_from"].to_dict()
    out = []
    for eid in ids:
        reasons: list[dict[str, str]] = []
        own = by_firm.get(eid)
        if own is not None:
            best = max(
                (
                    (gaps[lid], share)
                    for lid, share in zip(own[C.LINK_ID], own[C.SHARE], strict=True)
                    if lid in gaps
                ),
                key=lambda gs: gs[0].score * gs[1],
                default=None,
            )
            if best is not None and best[0].score > 0:
                gap = best[0]
                kind_zh = {
                    "missing_broken": "补链",
                    "missing": "缺失",
                    "extension": "延链",
                    "weak": "强链",
                    "covered": "已覆盖",
                }[gap.gap_type]
                reasons.append(
                    {
                        "kind": "gap",
                        "text_zh": f"填补{kind_zh}环节「{gap.name_zh}」",
                        "text_en": f"fills {gap.gap_type.replace('_', ' ')} link {gap.name_en}",
                    }
                )
        sup, buy = int(supplies.get(eid, 0)), int(buys.get(eid, 0))
        if sup or buy:
            zh = [f"可为 {sup} 家园区企业供货"] * bool(sup) + [f"可向 {buy} 家园区企业采购"] * bool(
                buy
            )
            en = [f"would supply {sup} park firms"] * bool(sup) + [
                f"would buy from {buy} park firms"
            ] * bool(buy)
            reasons.append(
                {"kind": "synergy", "text_zh": "、".join(zh), "text_en": " and ".join(en)}
            )
        out.append(reasons)
    return out


def rank_leads(
    *,
    scorer: LeadScorer,
    fc: FeatureContext,
    tables: Mapping[str, pd.DataFrame],
    track: str,
    top: int,
    model_version: str,
    snapshot_id: str,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """The top ``top`` leads of a track with scores, tax range, reasons and provenance."""
    cands, X, scores = score_track(scorer=scorer, fc=fc, tables=tables, track=track, as_of=as_of)
    head = cands.head(top)
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(head) + 1),
            C.ENTERPRISE_ID: head[C.ENTERPRISE_ID],
            C.NAME: head[C.NAME],
            C.PROVINCE: head[C.PROVINCE],
            C.CITY: head[C.CITY],
            C.INDUSTRY_CODE: head[C.INDUSTRY_CODE],
        }
    )
    links = tables["enterprise_links"]
    firm_links = (
        links[links[C.ENTERPRISE_ID].isin(set(head[C.ENTERPRISE_ID]))]
        .groupby(C.ENTERPRISE_ID)[C.LINK_ID]
        .agg(list)
    )
    out["links"] = (
        out[C.ENTERPRISE_ID].map(firm_links).map(lambda v: v if isinstance(v, list) else [])
    )
    for col in (
        "score",
        "p_land",
        "tax_p10_wan_cny",
        "tax_p50_wan_cny",
        "tax_p90_wan_cny",
        "gap_value",
    ):
        out[col] = scores[col].head(top).to_numpy()
    out["reasons"] = pd.Series(
        scorer.explain(X.head(top)) if len(head) else [], index=out.index, dtype=object
    )
    chain = chain_reasons(fc, links, head[C.ENTERPRISE_ID], track) if len(head) else []
    out["chain_reasons"] = pd.Series(chain, index=out.index, dtype=object)
    out["p_land_source"] = scorer.p_land_source
    out["model_version"] = model_version
    out["snapshot_id"] = snapshot_id
    return out[list(LEAD_COLUMNS)]
