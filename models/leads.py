"""Ranked leads for a track: eligible candidates scored by a lead scorer, with reasons."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import columns as C
from data.landing import form_index
from features.build import FeatureContext, firm_features, latest_tax_history, track_index
from industry_graph.attach import evidence_text
from industry_graph.gaps import GAP_LABELS, analyse_gaps, track_chains
from models.ranking import ChainMembership, eligible
from models.scorer import SCORE_FIELDS, LeadScorer

LEAD_COLUMNS = (
    "rank",
    C.ENTERPRISE_ID,
    C.NAME,
    C.PROVINCE,
    C.CITY,
    C.INDUSTRY_CODE,
    "links",
    *SCORE_FIELDS,
    "reasons",
    "chain_reasons",
    "p_land_source",
    "model_version",
    "snapshot_id",
)


@dataclass
class Candidates:
    """Firms scored for one track: the firms, their feature matrix and scores (row for row, in
    rank order when ranked) and which are leads (outside the park and eligible)."""

    track: str
    firms: pd.DataFrame
    features: pd.DataFrame
    scores: pd.DataFrame
    is_lead: np.ndarray
    scorer: LeadScorer
    fc: FeatureContext
    links: pd.DataFrame

    def __len__(self) -> int:
        return len(self.firms)

    def reasons(
        self, rows: np.ndarray | None = None
    ) -> list[tuple[list[dict[str, str]], list[dict[str, str]]]]:
        """(chain reasons, factor reasons) of the given rows (default: all): the gap a firm
        would fill and the park firms it would work with, then the model's top factors."""
        rows = np.arange(len(self.firms)) if rows is None else np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return []
        ids = self.firms[C.ENTERPRISE_ID].iloc[rows]
        chain = ChainReasoner(self.fc, self.links, self.track, ids)
        factors = self.scorer.explain(self.features.iloc[rows])
        return [(chain(eid), f) for eid, f in zip(ids, factors, strict=True)]


def score_candidates(
    *,
    scorer: LeadScorer,
    fc: FeatureContext,
    firms: pd.DataFrame,
    links: pd.DataFrame,
    track: str,
    as_of: pd.Timestamp,
    history: pd.DataFrame | None,
    leads_only: bool = True,
    ranked: bool = True,
    membership: ChainMembership | None = None,
    landing_form: str | None = None,
) -> Candidates:
    """The one place firms become scored leads of a track: eligibility (outside the park, the
    track's rules), the feature matrix, the scores, and reasons on demand.

    ``landing_form`` values every firm as landing in that form of the track (an officer's
    what-if) instead of the form the park YAML's rules assume; ``ValueError`` naming the
    track's forms for one it does not recruit.

    ``leads_only=False`` scores every firm given (a what-if) and says which are leads;
    ``ranked`` orders the rows best first, ties by enterprise id (deterministic). The CLI, the
    API's lists, what-if scoring and enterprise pages, batch scoring and the benchmarks all
    call this. ``membership`` (``models.ranking.chain_membership`` of ``links``) saves batch
    scoring recomputing it per partition.
    """
    track_index(fc.park, track)  # an unknown track: a KeyError naming the park's tracks
    rules = fc.park.tracks[track].eligibility
    ids = firms[C.ENTERPRISE_ID].to_numpy(dtype=object)
    is_lead = pd.Index(list(fc.park_members)).get_indexer(pd.Index(ids)) < 0
    is_lead &= eligible(rules, firms, links, membership=membership)
    if leads_only:
        firms = firms[is_lead]
        is_lead = np.ones(len(firms), dtype=bool)
    firms = firms.reset_index(drop=True)
    X = firm_features(fc, firms, track=track, as_of=as_of, history=history)
    if landing_form is not None:
        X["landing_form"] = float(form_index(fc.park, track, landing_form))
    scores = scorer.score(X)
    if ranked:
        order = np.lexsort((firms[C.ENTERPRISE_ID].to_numpy(), -scores["score"].to_numpy()))
        firms = firms.iloc[order].reset_index(drop=True)
        X = X.iloc[order].reset_index(drop=True)
        scores = scores.iloc[order].reset_index(drop=True)
        is_lead = is_lead[order]
    return Candidates(track, firms, X, scores, is_lead, scorer, fc, links)


def score_tables(
    *,
    scorer: LeadScorer,
    fc: FeatureContext,
    tables: Mapping[str, pd.DataFrame],
    track: str,
    as_of: pd.Timestamp,
) -> Candidates:
    """``score_candidates`` over a loaded universe: its leads of ``track``, best first."""
    return score_candidates(
        scorer=scorer,
        fc=fc,
        firms=tables["enterprises"],
        links=tables["enterprise_links"],
        track=track,
        as_of=as_of,
        history=latest_tax_history(tables["tax_records"]),
    )


class ChainReasoner:
    """Chain reasons (the gap a firm would fill, the park firms it would work with), with the gap
    analysis, each firm's links and the synergy counts looked up once."""

    def __init__(
        self,
        fc: FeatureContext,
        enterprise_links: pd.DataFrame,
        track: str,
        ids: pd.Series | None = None,
    ):
        chain_ids = [c for c in track_chains(fc.park, track) if c in fc.gaps.chains]
        self.gaps = {g.link_id: g for cid in chain_ids for g in analyse_gaps(fc.gaps, cid)}
        links = (
            enterprise_links
            if ids is None
            else enterprise_links[enterprise_links[C.ENTERPRISE_ID].isin(set(ids))]
        )
        # each firm's link rows as slices of one sorted array (a dict of lists of tuples per
        # firm was a second or two and ~100 MB per track and worker at 1 M firms)
        firm_codes, firms = pd.factorize(
            links[C.ENTERPRISE_ID].to_numpy(dtype=object), use_na_sentinel=False
        )
        self._link_codes, self._link_names = pd.factorize(
            links[C.LINK_ID].to_numpy(dtype=object), use_na_sentinel=False
        )
        self._shares = links[C.SHARE].to_numpy(dtype=float)
        self._firms = pd.Index(firms)
        self._rows = np.argsort(firm_codes, kind="stable")  # a firm's rows in the table's order
        self._starts = np.searchsorted(firm_codes[self._rows], np.arange(len(firms) + 1))
        # how each link was found, read only for the firm a reason is written for; kept as the
        # table's own (Arrow) arrays: to_numpy() would make ~570 k Python strings at 1 M firms
        self._evidence = (
            (links[C.EVIDENCE_KIND].array, links[C.EVIDENCE].array) if C.EVIDENCE in links else None
        )
        synergy = fc.by_track[track]
        # looked up for the firms a reason is written for: the series, not dicts of every firm
        self.supplies, self.buys = synergy["supplies"], synergy["buys_from"]

    def links_of(self, eid: str) -> list[tuple[str, float, int]]:
        """A firm's links: (link id, share, row of the links table), in the table's order."""
        try:
            pos = self._firms.get_loc(eid)
        except KeyError:
            return []
        assert isinstance(pos, int)  # factorize's uniques: one position per firm
        rows = self._rows[self._starts[pos] : self._starts[pos + 1]]
        return [
            (str(self._link_names[self._link_codes[r]]), float(self._shares[r]), int(r))
            for r in rows.tolist()
        ]

    def __call__(self, eid: str) -> list[dict[str, str]]:
        """The chain reasons of one firm."""
        reasons: list[dict[str, str]] = []
        options = [
            (self.gaps[lid], share, row)
            for lid, share, row in self.links_of(eid)
            if lid in self.gaps
        ]
        best = max(options, key=lambda gs: gs[0].score * gs[1], default=None)
        if best is not None and best[0].score > 0 and best[0].gap_type != "covered":
            gap = best[0]
            word_zh, _, word_en = GAP_LABELS[gap.gap_type]
            why_zh = why_en = ""
            if self._evidence is not None:
                kind, evidence = self._evidence[0][best[2]], self._evidence[1][best[2]]
                if isinstance(kind, str):
                    why_zh = f"（{evidence_text(kind, evidence, lang='zh')}）"
                    why_en = f" ({evidence_text(kind, evidence, lang='en')})"
            reasons.append(
                {
                    "kind": "gap",
                    "text_zh": f"填补{word_zh}环节「{gap.name_zh}」{why_zh}",
                    "text_en": f"fills the {word_en}: {gap.name_en}{why_en}",
                }
            )
        sup, buy = int(self.supplies.get(eid, 0)), int(self.buys.get(eid, 0))
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
        return reasons


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
    excluded: Collection[str] = frozenset(),
) -> pd.DataFrame:
    """The top ``top`` leads of a track with scores, tax range, reasons and provenance, leaving
    out the firms of ``excluded`` (``models.exclusions.excluded_ids``: those the park can no
    longer win)."""
    cands = score_tables(scorer=scorer, fc=fc, tables=tables, track=track, as_of=as_of)
    offered = ~cands.firms[C.ENTERPRISE_ID].astype(str).isin(excluded).to_numpy()
    rows = np.flatnonzero(offered)[:top]  # positions in the ranking, best first
    head = cands.firms.iloc[rows]
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
    for col in SCORE_FIELDS:
        out[col] = cands.scores[col].to_numpy()[rows]
    reasons = cands.reasons(rows)
    out["reasons"] = pd.Series([f for _, f in reasons], index=out.index, dtype=object)
    out["chain_reasons"] = pd.Series([c for c, _ in reasons], index=out.index, dtype=object)
    out["p_land_source"] = scorer.p_land_source
    out["model_version"] = model_version
    out["snapshot_id"] = snapshot_id
    return out[list(LEAD_COLUMNS)]
