"""The review queue of chain attachment (产业链校核): the firms whose links a strategist should
check, the most valuable corrections first.

**Which firms.** Every firm of the attacher's ``enterprise_links`` with a link in the chains
under review (a park's: ``data.corrections.park_chain_ids``), and every firm with no such link
for which ``basis`` (``industry_graph.attach.evidence_basis``) says what it had to read. A firm
with a correction in effect has been reviewed and leaves the queue, unless its attacher answer
moved since. Each firm gets the first **situation** that applies:

=====================  ==========================================================  =====
situation              rule                                                        prior
=====================  ==========================================================  =====
``moved``              its links differ from the previous import's                 0.5
``industry_code``      every link rests on the industry code alone                 0.9
``low_confidence``     c = Σ share × confidence < ``LOW_CONFIDENCE_BELOW`` = 0.5    0.4
``side_line``          a link rests on one evidence item of confidence < 0.5       0.3
``attached``           the rest of the attached firms (a spot check)               0.1
``unlinked_coded``     no link from its products or text, though its industry      0.5
                       code is one the chains list (an industry the chains cover)
``unlinked_products``  no link, though it has products                             0.2
``unlinked_text``      no link; a scope or description, no products                0.05
``no_evidence``        no link, no products, no readable text                      0.3
=====================  ==========================================================  =====

(0.5 on the confidence scale is where the attacher says its evidence is half what it takes to be
sure: a product line of 25 % of revenue, a scope share of 19 %.) The **chance the attacher is
wrong** in a situation, ``p_wrong``, is learnt from the corrections: among the firms corrected
so far in that situation (situation taken on the attacher's answer), the share whose correction
changed the answer (anything but confirming exactly the attacher's links), shrunk towards the
prior above with ``PRIOR_WEIGHT`` = 5 pseudo-firms: (changed + 5 × prior) / (corrected + 5). The
priors are hand-set orders of magnitude, not measurements; a few dozen corrections outweigh them.

**What is at stake**, in 万元 (the caller passes what it has):

- ``lead_value_wan_cny``: the firm's value as a lead (the lead list's expected value, the best
  over tracks, for firms among a track's top leads): a wrong link gives it the wrong track
  eligibility, chain value and reasons.
- ``gap_stake``: for a park member, Σ over its links of share × (the link's gap score without
  the firm − with it) (``industry_graph.gaps.link_score_without``): how much its attachment
  decides the park's gap picture; ``gap_stake_wan_cny`` = horizon × the park's largest chain
  worth × ``gap_stake`` (the conversion of a gap value into 万元 that lead values use).
- ``stake_wan_cny`` = ``lead_value_wan_cny`` + ``gap_stake_wan_cny``.

**Order**: ``priority_wan_cny`` = ``p_wrong`` × ``stake_wan_cny`` (the expected value of the
correction: what a wrong link puts at risk times the chance it is wrong), highest first; then
``p_wrong``, then the lower confidence c, then the firm id. Without stakes (no lead values, no park
context), the order is by ``p_wrong`` alone. Each item says why it is in the queue and what is
at stake, in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd

from data import columns as C
from data.corrections import LinkCorrection, apply_corrections, in_effect, park_chain_ids
from data.reference import Chain, Park, chain_of, chains_of, default_parks
from industry_graph.attach import (
    EVIDENCE_SEPARATOR,
    KIND_INDUSTRY,
    KIND_PRODUCT,
    KIND_TEXT,
    evidence_text,
)
from industry_graph.gaps import ParkContext, chain_worth_scale, link_score_without, link_scores

Situation = Literal[
    "moved",
    "industry_code",
    "low_confidence",
    "side_line",
    "attached",
    "unlinked_coded",
    "unlinked_products",
    "unlinked_text",
    "no_evidence",
]
SITUATIONS: Final = get_args(Situation)
PRIORS: Final[Mapping[str, float]] = {
    "moved": 0.5,
    "industry_code": 0.9,
    "low_confidence": 0.4,
    "side_line": 0.3,
    "attached": 0.1,
    "unlinked_coded": 0.5,
    "unlinked_products": 0.2,
    "unlinked_text": 0.05,
    "no_evidence": 0.3,
}
SITUATION_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "moved": ("与上次导入不同", "moved since the last import"),
    "industry_code": ("仅凭行业代码", "industry code only"),
    "low_confidence": ("依据较弱", "weak evidence"),
    "side_line": ("依据次要业务", "rests on a side line"),
    "attached": ("抽查", "spot check"),
    "unlinked_coded": ("行业在链但未归链", "in a chain industry, no link"),
    "unlinked_products": ("有产品未归链", "products name no link"),
    "unlinked_text": ("经营范围未归链", "scope names no link"),
    "no_evidence": ("无依据", "no evidence"),
}
PRIOR_WEIGHT: Final = 5.0
LOW_CONFIDENCE_BELOW: Final = 0.5
SIDE_LINE_BELOW: Final = 0.5
QUEUE_COLUMNS: Final = (
    "rank",
    C.ENTERPRISE_ID,
    "situation",
    "p_wrong",
    "firm_confidence",
    "links",
    "lead_value_wan_cny",
    "gap_stake",
    "gap_stake_wan_cny",
    "stake_wan_cny",
    "priority_wan_cny",
)


@dataclass(frozen=True)
class SituationRate:
    """How often the corrections changed the attacher's answer in one situation."""

    situation: str
    corrected: int
    changed: int
    p_wrong: float


def firm_situations(
    *,
    links: pd.DataFrame,
    basis: pd.DataFrame | None = None,
    previous_links: pd.DataFrame | None = None,
    chain_ids: Collection[str] | None = None,
) -> pd.DataFrame:
    """Per firm (``links``' firms, then ``basis``' firms without links): its situation, its
    confidence c = Σ share × confidence (0 without links) and its number of links;
    ``chain_ids``: the chains under review (an industry code counts when it lists one of
    their links; default every chain)."""
    if len(links):
        conf = links[C.CONFIDENCE].astype("float64").fillna(0.0).to_numpy()
        share = links[C.SHARE].to_numpy(dtype=np.float64)
        kind = links[C.EVIDENCE_KIND].astype(object).to_numpy()
        evidence = links[C.EVIDENCE].astype(object).to_numpy()
        single = np.fromiter(
            (not (isinstance(e, str) and EVIDENCE_SEPARATOR in e) for e in evidence),
            dtype=bool,
            count=len(evidence),
        )
        frame = pd.DataFrame(
            {
                C.ENTERPRISE_ID: links[C.ENTERPRISE_ID].to_numpy(dtype=object),
                "weighted": share * conf,
                "share": share,
                "not_code": kind != KIND_INDUSTRY,
                "side": single & (conf < SIDE_LINE_BELOW) & (kind != KIND_INDUSTRY),
            }
        )
        per = frame.groupby(C.ENTERPRISE_ID, sort=False).agg(
            weighted=("weighted", "sum"),
            total=("share", "sum"),
            links=("share", "size"),
            not_code=("not_code", "any"),
            side=("side", "any"),
        )
        c = (per["weighted"] / per["total"].where(per["total"] > 0, 1.0)).to_numpy()
        situation = np.where(
            ~per["not_code"].to_numpy(),
            "industry_code",
            np.where(
                c < LOW_CONFIDENCE_BELOW,
                "low_confidence",
                np.where(per["side"].to_numpy(), "side_line", "attached"),
            ),
        ).astype(object)
        attached = pd.DataFrame(
            {"situation": situation, "firm_confidence": c.round(4), "links": per["links"]},
            index=per.index,
        )
    else:
        attached = pd.DataFrame(
            {"situation": [], "firm_confidence": [], "links": []}, index=pd.Index([], dtype=object)
        )
    if previous_links is not None:
        moved = _moved(links, previous_links)
        attached.loc[attached.index.isin(moved), "situation"] = "moved"
    parts = [attached]
    if basis is not None:
        unlinked = basis[~basis.index.isin(attached.index)]
        reviewed = set(chain_ids) if chain_ids is not None else None
        coded = np.fromiter(
            (
                isinstance(links_, tuple)
                and any(reviewed is None or chain_of(lk) in reviewed for lk in links_)
                for links_ in unlinked["code_links"].tolist()
            ),
            dtype=bool,
            count=len(unlinked),
        )
        kind = unlinked["basis"].to_numpy(dtype=object)
        situation = np.where(
            kind == KIND_PRODUCT,
            "unlinked_products",
            np.where(kind == KIND_TEXT, "unlinked_text", "no_evidence"),
        ).astype(object)
        situation[coded & (kind != "none")] = "unlinked_coded"
        parts.append(
            pd.DataFrame(
                {"situation": situation, "firm_confidence": 0.0, "links": 0},
                index=unlinked.index,
            )
        )
    out = pd.concat(parts)
    out.index.name = C.ENTERPRISE_ID
    out["links"] = out["links"].astype(np.int64)
    return out


def _link_sets(links: pd.DataFrame) -> pd.Series:
    return links.groupby(C.ENTERPRISE_ID, sort=False)[C.LINK_ID].agg(frozenset)


def _moved(links: pd.DataFrame, previous: pd.DataFrame) -> set[str]:
    """Firms of ``links`` whose set of links differs from ``previous`` (firms new to the
    universe have not moved)."""
    now, before = _link_sets(links), _link_sets(previous)
    common = now.index.intersection(before.index)
    differ = now.loc[common].to_numpy() != before.loc[common].to_numpy()
    return set(common[differ])


def situation_rates(
    *,
    situations: pd.DataFrame,
    links: pd.DataFrame,
    corrections: Sequence[LinkCorrection],
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
) -> dict[str, SituationRate]:
    """``p_wrong`` of each situation from the corrections in effect (see the module docstring):
    a corrected firm counts as changed when its corrected links differ from the attacher's."""
    timeline, _ = in_effect(corrections)
    firms = sorted({c.enterprise_id for c in timeline} & set(situations.index))
    changed: set[str] = set()
    if firms:
        own = links[links[C.ENTERPRISE_ID].isin(firms)]
        after = apply_corrections(
            links=own,
            corrections=[c for c in timeline if c.enterprise_id in set(firms)],
            parks=parks,
            chains=chains,
        ).links
        before_sets, after_sets = _link_sets(own), _link_sets(after)
        for eid in firms:
            if before_sets.get(eid, frozenset()) != after_sets.get(eid, frozenset()):
                changed.add(eid)
    out = {}
    of_firm = situations["situation"]
    for s in SITUATIONS:
        mine = [eid for eid in firms if of_firm.get(eid) == s]
        n_changed = sum(eid in changed for eid in mine)
        p = (n_changed + PRIOR_WEIGHT * PRIORS[s]) / (len(mine) + PRIOR_WEIGHT)
        out[s] = SituationRate(s, len(mine), n_changed, round(p, 4))
    return out


def member_gap_stakes(ctx: ParkContext, links: pd.DataFrame) -> pd.Series:
    """Per park member with links in the park's chains: Σ share × (the link's gap score without
    the firm − with it)."""
    members = set(ctx.park_members[C.ENTERPRISE_ID])
    own = links[links[C.ENTERPRISE_ID].isin(members)]
    if own.empty:
        return pd.Series(dtype="float64")
    scores = link_scores(ctx)
    own = own[own[C.LINK_ID].isin(scores.index)]

    @cache
    def drop(link_id: str, share: float) -> float:
        return link_score_without(ctx, link_id, share) - float(scores[link_id])

    share = own[C.SHARE].to_numpy(dtype=np.float64)
    deltas = np.fromiter(
        (drop(lk, round(s, 3)) for lk, s in zip(own[C.LINK_ID].tolist(), share, strict=True)),
        dtype=np.float64,
        count=len(own),
    )
    stake: pd.Series = (
        pd.Series(share * deltas, index=own[C.ENTERPRISE_ID].to_numpy()).groupby(level=0).sum()
    )
    return stake.round(4)


def _number(value: object) -> float:
    """A confidence or share cell as a float (missing → 0)."""
    if isinstance(value, (int, float, np.floating)) and value == value:
        return float(value)
    return 0.0


@dataclass(frozen=True)
class _QueueRow:
    rank: int
    situation: str
    p_wrong: float
    firm_confidence: float
    lead_value_wan_cny: float
    gap_stake: float
    gap_stake_wan_cny: float
    stake_wan_cny: float
    priority_wan_cny: float


@dataclass(frozen=True)
class ReviewItem:
    """One firm of the queue, ready to show: its links, why it is there and what is at stake."""

    rank: int
    enterprise_id: str
    name: str
    situation: str
    p_wrong: float
    firm_confidence: float
    links: tuple[Mapping[str, object], ...]
    lead_value_wan_cny: float
    gap_stake: float
    gap_stake_wan_cny: float
    stake_wan_cny: float
    priority_wan_cny: float
    reasons_zh: tuple[str, ...]
    reasons_en: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return {
            **{k: getattr(self, k) for k in self.__dataclass_fields__},
            "links": [dict(link) for link in self.links],
            "reasons_zh": list(self.reasons_zh),
            "reasons_en": list(self.reasons_en),
        }


@dataclass(frozen=True)
class ReviewQueue:
    """The ranked queue (``table``: one row per firm, ``QUEUE_COLUMNS``), the learnt rates, and
    what ``items`` needs to explain a page of it."""

    table: pd.DataFrame
    rates: Mapping[str, SituationRate]
    links: pd.DataFrame = field(repr=False)
    previous_links: pd.DataFrame | None = field(repr=False)
    chains: Mapping[str, Chain] = field(repr=False)
    names: Mapping[str, str] = field(repr=False)

    def items(self, *, offset: int = 0, limit: int = 50) -> list[ReviewItem]:
        """Items ``offset`` … ``offset + limit`` of the queue, with their reasons."""
        page = self.table.iloc[offset : offset + limit]
        ids = page[C.ENTERPRISE_ID].tolist()
        own = self.links[self.links[C.ENTERPRISE_ID].isin(ids)]
        groups = {eid: g for eid, g in own.groupby(C.ENTERPRISE_ID, sort=False)}
        before = (
            {
                eid: g
                for eid, g in self.previous_links[
                    self.previous_links[C.ENTERPRISE_ID].isin(ids)
                ].groupby(C.ENTERPRISE_ID, sort=False)
            }
            if self.previous_links is not None
            else {}
        )
        out = []
        for record in page.to_dict("records"):
            row = _QueueRow(
                rank=int(record["rank"]),
                situation=str(record["situation"]),
                p_wrong=float(record["p_wrong"]),
                firm_confidence=float(record["firm_confidence"]),
                lead_value_wan_cny=float(record["lead_value_wan_cny"]),
                gap_stake=float(record["gap_stake"]),
                gap_stake_wan_cny=float(record["gap_stake_wan_cny"]),
                stake_wan_cny=float(record["stake_wan_cny"]),
                priority_wan_cny=float(record["priority_wan_cny"]),
            )
            eid = str(record[C.ENTERPRISE_ID])
            mine = groups.get(eid, own.iloc[0:0])
            links = tuple(
                {
                    C.LINK_ID: lk,
                    "name_zh": self._name(lk, "zh"),
                    "name_en": self._name(lk, "en"),
                    C.SHARE: round(float(s), 4),
                    C.EVIDENCE_KIND: k,
                    C.EVIDENCE: e,
                    C.CONFIDENCE: _number(cf),
                }
                for lk, s, k, e, cf in zip(
                    mine[C.LINK_ID],
                    mine[C.SHARE],
                    mine[C.EVIDENCE_KIND],
                    mine[C.EVIDENCE],
                    mine[C.CONFIDENCE],
                    strict=True,
                )
            )
            zh, en = self._reasons(row, links, before.get(eid))
            out.append(
                ReviewItem(
                    rank=row.rank,
                    enterprise_id=eid,
                    name=self.names.get(eid, eid),
                    situation=row.situation,
                    p_wrong=row.p_wrong,
                    firm_confidence=row.firm_confidence,
                    links=links,
                    lead_value_wan_cny=row.lead_value_wan_cny,
                    gap_stake=row.gap_stake,
                    gap_stake_wan_cny=row.gap_stake_wan_cny,
                    stake_wan_cny=row.stake_wan_cny,
                    priority_wan_cny=row.priority_wan_cny,
                    reasons_zh=zh,
                    reasons_en=en,
                )
            )
        return out

    def _name(self, link_id: str, lang: str) -> str:
        chain = self.chains.get(chain_of(link_id))
        try:
            link = chain.link(link_id) if chain else None
        except KeyError:
            link = None
        if link is None:
            return link_id
        return link.name_zh if lang == "zh" else link.name_en

    def _reasons(
        self,
        row: _QueueRow,
        links: tuple[Mapping[str, object], ...],
        before: pd.DataFrame | None,
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        s = row.situation
        c = row.firm_confidence
        zh: list[str] = []
        en: list[str] = []
        names_zh = "、".join(f"「{link['name_zh']}」" for link in links)
        names_en = ", ".join(str(link["name_en"]) for link in links)
        if s == "moved":
            old = [] if before is None else before[C.LINK_ID].tolist()
            old_zh = "、".join(f"「{self._name(lk, 'zh')}」" for lk in old) or "无"
            old_en = ", ".join(self._name(lk, "en") for lk in old) or "none"
            zh.append(f"上次导入归入{old_zh}，本次归入{names_zh or '无'}")
            en.append(f"At the last import in {old_en}; now in {names_en or 'none'}")
        elif s == "industry_code":
            code = str(links[0][C.EVIDENCE]) if links else ""
            zh.append(f"仅凭行业代码（{code}）归入 {len(links)} 个环节，置信度 {c:.2f}")
            en.append(
                f"Attached by its industry code alone ({code}) to {len(links)} links, "
                f"confidence {c:.2f}"
            )
        elif s in ("low_confidence", "side_line", "attached"):
            weakest = min(links, key=lambda link: _number(link[C.CONFIDENCE]))
            why_zh = evidence_text(str(weakest[C.EVIDENCE_KIND]), weakest[C.EVIDENCE], lang="zh")
            why_en = evidence_text(str(weakest[C.EVIDENCE_KIND]), weakest[C.EVIDENCE], lang="en")
            conf = _number(weakest[C.CONFIDENCE])
            if s == "low_confidence":
                zh.append(f"归入{names_zh}的依据较弱（置信度 {c:.2f}；{why_zh}）")
                en.append(f"Weak evidence for {names_en} (confidence {c:.2f}; {why_en})")
            elif s == "side_line":
                zh.append(
                    f"「{weakest['name_zh']}」仅依据一条次要业务（{why_zh}，置信度 {conf:.2f}）"
                )
                en.append(
                    f"{weakest['name_en']} rests on one side line ({why_en}, confidence {conf:.2f})"
                )
            else:
                zh.append(f"归入{names_zh}，依据充分（置信度 {c:.2f}），抽查")
                en.append(f"In {names_en} on good evidence (confidence {c:.2f}); a spot check")
        elif s == "unlinked_coded":
            zh.append("产品或经营范围未对应任何环节，但其行业代码属于产业链覆盖的行业")
            en.append(
                "Its products or scope name no link, yet its industry code is one the chains cover"
            )
        elif s == "unlinked_products":
            zh.append("有主营产品，但没有一项对应任何环节")
            en.append("Has products, none of which names a link")
        elif s == "unlinked_text":
            zh.append("有经营范围，但没有一项对应任何环节")
            en.append("Its business scope names no link")
        else:
            zh.append("既无主营产品也无可读的经营范围，行业代码也不对应环节")
            en.append("No products, no readable scope, and its industry code lists no link")
        rate = self.rates[s]
        zh.append(
            f"已校核的同类企业中 {rate.changed}/{rate.corrected} 家被改正；"
            f"估计归错概率 {rate.p_wrong:.0%}"
        )
        en.append(
            f"{rate.changed} of {rate.corrected} such firms corrected so far were changed; "
            f"estimated chance it is wrong {rate.p_wrong:.0%}"
        )
        lead, gap, gap_wan = row.lead_value_wan_cny, row.gap_stake, row.gap_stake_wan_cny
        if lead > 0:
            zh.append(f"重点线索：预期价值 {lead:,.0f} 万元")
            en.append(f"A top lead: expected value {lead:,.0f} 万元")
        if gap > 0:
            zh.append(f"园区企业：其归属决定缺口分数 {gap:.3f}（约 {gap_wan:,.0f} 万元）")
            en.append(
                f"A park firm: its links decide {gap:.3f} of gap score (≈ {gap_wan:,.0f} 万元)"
            )
        if lead <= 0 and gap <= 0:
            zh.append("不在重点线索中，也不影响园区缺口")
            en.append("Not a top lead, and no effect on the park's gaps")
        return tuple(zh), tuple(en)


def review_queue(
    *,
    links: pd.DataFrame,
    chains: Mapping[str, Chain],
    chain_ids: Collection[str],
    corrections: Sequence[LinkCorrection] = (),
    basis: pd.DataFrame | None = None,
    previous_links: pd.DataFrame | None = None,
    lead_values: pd.Series | None = None,
    park_context: ParkContext | None = None,
    names: Mapping[str, str] | None = None,
    parks: Mapping[str, Park] | None = None,
) -> ReviewQueue:
    """The review queue of the attacher's ``links`` (before corrections) over ``chain_ids``
    (see the module docstring). ``basis``: ``evidence_basis`` of the universe's firms (firms
    with no link enter only through it); ``lead_values``: 万元 by firm id; ``park_context``: the
    park's gap context (members' gap stakes)."""
    in_scope = chains_of(links[C.LINK_ID]).isin(set(chain_ids)).to_numpy()
    scoped = links[in_scope]
    prev = (
        previous_links[chains_of(previous_links[C.LINK_ID]).isin(set(chain_ids)).to_numpy()]
        if previous_links is not None
        else None
    )
    situations = firm_situations(
        links=scoped, basis=basis, previous_links=prev, chain_ids=chain_ids
    )
    # only the corrections of parks whose chains are under review decide anything here
    known_parks = default_parks() if parks is None else parks
    relevant = [
        c
        for c in corrections
        if c.park_id in known_parks and park_chain_ids(known_parks[c.park_id]) & set(chain_ids)
    ]
    rates = situation_rates(
        situations=situations, links=scoped, corrections=relevant, parks=parks, chains=chains
    )
    timeline, _ = in_effect(relevant)
    reviewed = {c.enterprise_id for c in timeline}
    keep = ~situations.index.isin(reviewed) | (situations["situation"] == "moved").to_numpy()
    table = situations[keep].copy()
    table["p_wrong"] = table["situation"].map({s: r.p_wrong for s, r in rates.items()})
    ids = table.index
    lead = (
        lead_values.reindex(ids).fillna(0.0).clip(lower=0.0).to_numpy(dtype=np.float64)
        if lead_values is not None
        else np.zeros(len(ids))
    )
    if park_context is not None:
        gap = member_gap_stakes(park_context, scoped).reindex(ids).fillna(0.0).to_numpy()
        park = park_context.park
        scale = park.valuation.horizon_years * chain_worth_scale(park)
    else:
        gap, scale = np.zeros(len(ids)), 0.0
    table["lead_value_wan_cny"] = lead.round(1)
    table["gap_stake"] = np.round(gap, 4)
    table["gap_stake_wan_cny"] = np.round(gap * scale, 1)
    table["stake_wan_cny"] = (table["lead_value_wan_cny"] + table["gap_stake_wan_cny"]).round(1)
    table["priority_wan_cny"] = (table["p_wrong"] * table["stake_wan_cny"]).round(2)
    table = table.reset_index()
    order = np.lexsort(
        (
            table[C.ENTERPRISE_ID].to_numpy(dtype=object).astype(str),
            table["firm_confidence"].to_numpy(),
            -table["p_wrong"].to_numpy(),
            -table["priority_wan_cny"].to_numpy(),
        )
    )
    table = table.iloc[order].reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return ReviewQueue(
        table=table[list(QUEUE_COLUMNS)],
        rates=rates,
        links=scoped,
        previous_links=prev,
        chains=chains,
        names=dict(names or {}),
    )
