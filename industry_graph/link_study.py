"""Point 4 of issue 27, measured on the labelled sample (``tests/fixtures/link_labels.csv``).

1. **The curator's corrections**: the labels of the *tuning* firms, as corrections a strategist
   would make (``corrections_from_labels``): per park whose chains the firm's labelled or
   attached links touch, ``remove`` each attached link that is not labelled and ``confirm``
   each labelled one (kept or added); ``outside`` where none of the park's chains is right; a
   firm labelled ``none`` with no link gets an ``outside`` (reviewed, nothing to change).
2. **Vocabulary suggestions** from those corrections (``industry_graph.vocabulary_learning``),
   evaluated on the tuning firms; accepted by ``select_changes`` with ``min_changed`` = 2 (a
   change must alter at least two tuning firms and undo none of their corrections). The holdout
   firms are attached before and after with the accepted changes written into a *copy* of the
   vocabulary folder and loaded back (``write_vocabulary_copy``): right-link share and top-link
   accuracy of ``industry_graph.attach.score_links`` / ``summarise_scores``, the figures of the
   real-data test.
3. **The queue's worth**: the review queue (``industry_graph.review``) of the holdout firms, its
   ``p_wrong`` learnt from the tuning corrections, walked in order, each item corrected to its
   label (``corrections_from_labels`` for that firm, applied with ``apply_corrections``); the
   number of items after which the holdout figures reach 0.80 (right-link share) and 0.85
   (top-link accuracy), against a random order (mean over ``RANDOM_ORDERS`` seeded shuffles)
   and an oracle that takes the wrongest firms first. The holdout firms carry no lead value
   and no park membership, so the queue's order there is its ``p_wrong`` order.

``python -m bench.run link_corrections`` runs it on ``../shared/data`` and also counts, for
each accepted change, the firms it would change among all ChainKG firms and Shanghai
registrations; ``tests/industry_graph/test_link_study.py`` keeps the figures from regressing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.corrections import LinkCorrection, apply_corrections, park_chain_ids, parse_correction
from data.reference import (
    Chain,
    LinkVocabulary,
    Park,
    chain_of,
    default_chains,
    default_parks,
    default_vocabularies,
    load_generic_terms,
    load_vocabularies,
)
from data.settings import SEED
from industry_graph.attach import (
    attach_links,
    evidence_basis,
    score_links,
    summarise_scores,
)
from industry_graph.review import review_queue
from industry_graph.vocabulary_learning import (
    Suggestion,
    VocabularyChange,
    changed_firms,
    link_signatures,
    select_changes,
    suggest_changes,
    write_vocabulary_copy,
)

GOAL_RIGHT_SHARE: Final = 0.80
GOAL_TOP_ACCURACY: Final = 0.85
MIN_CHANGED: Final = 2
RANDOM_ORDERS: Final = 20
CURATOR: Final = "curator"
CORRECTED_AT: Final = datetime(2026, 12, 1, tzinfo=UTC)


def corrections_from_labels(
    *,
    links: pd.DataFrame,
    labels: pd.DataFrame,
    parks: Mapping[str, Park] | None = None,
    corrected_by: str = CURATOR,
    corrected_at: datetime = CORRECTED_AT,
) -> list[LinkCorrection]:
    """The corrections that turn the attacher's ``links`` of the labelled firms into their
    labels (``enterprise_id``, ``right``: a set of links), as a curator would make them (module
    docstring, step 1). Removes come a second before confirms, so an added link weighs as the
    firm's strongest remaining one."""
    parks = default_parks() if parks is None else parks
    scopes = {park_id: park_chain_ids(park) for park_id, park in parks.items()}
    found = links.groupby(C.ENTERPRISE_ID)[C.LINK_ID].agg(frozenset)
    out: list[LinkCorrection] = []

    def add(park_id: str, eid: str, action: str, link: str | None, at: datetime) -> None:
        out.append(
            parse_correction(
                {
                    C.PARK_ID: park_id,
                    C.ENTERPRISE_ID: eid,
                    C.CORRECTION_ACTION: action,
                    C.LINK_ID: link,
                    C.NOTE: "label",
                    C.CORRECTED_BY: corrected_by,
                    C.CORRECTED_AT: at,
                }
            )
        )

    later = corrected_at + timedelta(seconds=1)
    for eid, right in zip(labels[C.ENTERPRISE_ID], labels["right"], strict=True):
        attached = found.get(eid, frozenset())
        touched = {chain_of(link) for link in right | attached}
        parks_touched = [p for p, scope in scopes.items() if scope & touched]
        if not parks_touched:
            add(next(iter(scopes)), eid, "outside", None, corrected_at)
            continue
        for park_id in parks_touched:
            scope = scopes[park_id]
            mine_right = {lk for lk in right if chain_of(lk) in scope}
            mine_found = {lk for lk in attached if chain_of(lk) in scope}
            if not mine_right:
                add(park_id, eid, "outside", None, corrected_at)
                continue
            for link in sorted(mine_found - mine_right):
                add(park_id, eid, "remove", link, corrected_at)
            for link in sorted(mine_right):
                add(park_id, eid, "confirm", link, later)
    return out


def figures(links: pd.DataFrame, labels: pd.DataFrame) -> tuple[float, float]:
    """(right-link share, top-link accuracy) of ``links`` on ``labels`` (``summarise_scores``)."""
    summary = summarise_scores(score_links(links, labels))
    row = summary[summary["group"] == "all"]
    return (
        float(row["right_link_share"].to_numpy()[0]),
        float(row["top_link_accuracy"].to_numpy()[0]),
    )


@dataclass(frozen=True)
class QueueWalk:
    """Items of a queue corrected before the holdout figures reach each goal (None: never)."""

    order: tuple[str, ...]
    right_share: tuple[float, ...]  # after 0, 1, … items
    top_accuracy: tuple[float, ...]
    to_right_goal: int | None
    to_top_goal: int | None
    to_both: int | None


def correction_gains(
    *,
    links: pd.DataFrame,
    labels: pd.DataFrame,
    parks: Mapping[str, Park] | None = None,
    chains: Mapping[str, Chain] | None = None,
) -> pd.DataFrame:
    """Per labelled firm (index), its ``right_share`` / ``top_right`` now and ``*_after``
    correcting it to its label (``corrections_from_labels`` applied by ``apply_corrections``:
    the machinery a curator's corrections go through)."""
    before = score_links(links, labels).set_index(C.ENTERPRISE_ID)
    corrections = corrections_from_labels(links=links, labels=labels, parks=parks)
    fixed = apply_corrections(links=links, corrections=corrections, parks=parks, chains=chains)
    after = score_links(fixed.links, labels).set_index(C.ENTERPRISE_ID)
    renamed = after[["right_share", "top_right"]].rename(columns=lambda c: f"{c}_after")
    return before[["right_share", "top_right"]].join(renamed)


def walk_queue(*, order: Sequence[str], gains: pd.DataFrame) -> QueueWalk:
    """Correct the firms of ``order`` one by one to their labels and follow the figures over
    all of ``gains``' firms (``correction_gains``: a firm's corrections change only its own
    links, so the figures after k items add the first k firms' gains)."""
    n = len(gains)
    right_now = float(gains["right_share"].sum())
    top_now = float(gains["top_right"].sum())
    rights, tops = [round(right_now / n, 3)], [round(top_now / n, 3)]
    ids = [str(e) for e in gains.index]
    d_right = dict(
        zip(ids, (gains["right_share_after"] - gains["right_share"]).tolist(), strict=True)
    )
    d_top = dict(zip(ids, (gains["top_right_after"] - gains["top_right"]).tolist(), strict=True))
    for eid in order:
        right_now += float(d_right[eid])
        top_now += float(d_top[eid])
        rights.append(round(right_now / n, 3))
        tops.append(round(top_now / n, 3))

    def first(values: Sequence[float], goal: float) -> int | None:
        return next((k for k, v in enumerate(values) if v >= goal), None)

    both = next(
        (
            k
            for k, (a, b) in enumerate(zip(rights, tops, strict=True))
            if a >= GOAL_RIGHT_SHARE and b >= GOAL_TOP_ACCURACY
        ),
        None,
    )
    return QueueWalk(
        order=tuple(order),
        right_share=tuple(rights),
        top_accuracy=tuple(tops),
        to_right_goal=first(rights, GOAL_RIGHT_SHARE),
        to_top_goal=first(tops, GOAL_TOP_ACCURACY),
        to_both=both,
    )


@dataclass
class LinkStudy:
    """The figures of point 4 (module docstring)."""

    tuning_firms: int
    holdout_firms: int
    corrections: int
    suggested: int
    accepted: list[Suggestion]
    tuning_before: tuple[float, float]
    tuning_after: tuple[float, float]
    holdout_before: tuple[float, float]
    holdout_after: tuple[float, float]
    holdout_changed: tuple[str, ...]
    queue: QueueWalk
    random_to_both: float | None  # mean items over the random orders (None if one never gets there)
    oracle: QueueWalk
    rates: Mapping[str, tuple[int, int, float]]
    universe_changed: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """Plain figures for JSON and printing."""
        return {
            "tuning_firms": self.tuning_firms,
            "holdout_firms": self.holdout_firms,
            "curator_corrections": self.corrections,
            "suggestions": self.suggested,
            "accepted": [
                {
                    "change": s.change.describe(lang="en"),
                    "tuning_firms_changed": len(s.changed),
                    "tuning_fixes": len(s.fixes),
                    "gain": s.gain,
                }
                for s in self.accepted
            ],
            "tuning_before": list(self.tuning_before),
            "tuning_after": list(self.tuning_after),
            "holdout_before": list(self.holdout_before),
            "holdout_after": list(self.holdout_after),
            "holdout_firms_changed": list(self.holdout_changed),
            "queue_length": len(self.queue.order),
            "queue_items_to_right_share_goal": self.queue.to_right_goal,
            "queue_items_to_top_accuracy_goal": self.queue.to_top_goal,
            "queue_items_to_both_goals": self.queue.to_both,
            "random_items_to_both_goals": self.random_to_both,
            "oracle_items_to_both_goals": self.oracle.to_both,
            "situation_rates": {k: list(v) for k, v in self.rates.items()},
            "universe_firms_changed": dict(self.universe_changed),
        }


def _attach(
    tables: Mapping[str, pd.DataFrame],
    firms: pd.DataFrame,
    chains: Mapping[str, Chain],
    vocabularies: Mapping[str, LinkVocabulary],
    generic: Sequence[str],
) -> pd.DataFrame:
    return attach_links(
        enterprises=firms,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
        products=tables.get("products"),
        enterprise_products=tables.get("enterprise_products"),
        product_relations=tables.get("product_relations"),
    ).links


def run_link_study(
    *,
    tables: Mapping[str, pd.DataFrame],
    labels: pd.DataFrame,
    universe: Mapping[str, pd.DataFrame] | None = None,
) -> LinkStudy:
    """Point 4 on ``tables`` (the labelled firms' tables, ``attach.sample_tables(...,
    only=labels)``) and ``labels`` (``read_link_labels``, with its ``set`` column). With
    ``universe`` (every firm's tables), also count the firms each accepted change alters there."""
    chains, parks = default_chains(), default_parks()
    vocabularies, generic = default_vocabularies(), load_generic_terms()
    firms = tables["enterprises"]
    tuning = labels[labels["set"] == "tuning"].reset_index(drop=True)
    holdout = labels[labels["set"] == "holdout"].reset_index(drop=True)
    tuning_firms = firms[firms[C.ENTERPRISE_ID].isin(set(tuning[C.ENTERPRISE_ID]))]
    holdout_firms = firms[firms[C.ENTERPRISE_ID].isin(set(holdout[C.ENTERPRISE_ID]))]
    tuning_tables = {**tables, "enterprises": tuning_firms}
    tuning_links = _attach(tables, tuning_firms, chains, vocabularies, generic)
    holdout_links = _attach(tables, holdout_firms, chains, vocabularies, generic)
    corrections = corrections_from_labels(links=tuning_links, labels=tuning, parks=parks)

    suggestions = suggest_changes(
        tables=tuning_tables,
        links=tuning_links,
        corrections=corrections,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
        parks=parks,
    )
    accepted = select_changes(
        suggestions,
        tables=tuning_tables,
        links=tuning_links,
        corrections=corrections,
        chains=chains,
        vocabularies=vocabularies,
        generic=generic,
        min_changed=MIN_CHANGED,
        parks=parks,
    )
    changes: list[VocabularyChange] = [s.change for s in accepted]
    with tempfile.TemporaryDirectory(prefix="vocabulary-") as folder:
        copy = write_vocabulary_copy(changes=changes, target=Path(folder))
        new_vocabularies = load_vocabularies(copy)
        new_generic = load_generic_terms(copy / "_generic.yaml")
    tuning_after = _attach(tables, tuning_firms, chains, new_vocabularies, new_generic)
    holdout_after = _attach(tables, holdout_firms, chains, new_vocabularies, new_generic)
    before_sig = link_signatures(holdout_links)
    after_sig = link_signatures(holdout_after)
    holdout_changed = tuple(
        sorted(
            eid
            for eid in set(before_sig) | set(after_sig)
            if before_sig.get(eid) != after_sig.get(eid)
        )
    )

    basis = evidence_basis(
        enterprises=holdout_firms,
        chains=chains,
        enterprise_products=tables.get("enterprise_products"),
    )
    # the queue learns p_wrong from the curator's tuning corrections, judged on the attacher's
    # tuning answer; it then ranks the holdout firms, none of which is corrected yet
    rate_links = pd.concat([tuning_links, holdout_links], ignore_index=True)
    rate_basis = pd.concat(
        [
            evidence_basis(
                enterprises=tuning_firms,
                chains=chains,
                enterprise_products=tables.get("enterprise_products"),
            ),
            basis,
        ]
    )
    learnt = review_queue(
        links=rate_links,
        chains=chains,
        chain_ids=list(chains),
        corrections=corrections,
        basis=rate_basis,
        parks=parks,
    )
    holdout_ids = set(holdout[C.ENTERPRISE_ID])
    order = [e for e in learnt.table[C.ENTERPRISE_ID].tolist() if e in holdout_ids]
    gains = correction_gains(links=holdout_links, labels=holdout, parks=parks, chains=chains)
    queue = walk_queue(order=order, gains=gains)
    loss = 2.0 - gains["right_share"] - gains["top_right"]
    oracle = walk_queue(order=sorted(order, key=lambda e: (-float(loss[e]), e)), gains=gains)
    rng = np.random.default_rng([SEED, 27])
    random_steps = [
        walk_queue(
            order=list(rng.permutation(np.asarray(order, dtype=object))), gains=gains
        ).to_both
        for _ in range(RANDOM_ORDERS)
    ]
    reached = [s for s in random_steps if s is not None]
    random_to_both = (
        round(float(np.mean(reached)), 1) if len(reached) == len(random_steps) else None
    )

    universe_changed: dict[str, int] = {}
    if universe is not None:
        universe_changed = changed_firms(
            tables=universe,
            changes=changes,
            chains=chains,
            vocabularies=vocabularies,
            generic=generic,
        )
    return LinkStudy(
        tuning_firms=len(tuning),
        holdout_firms=len(holdout),
        corrections=len(corrections),
        suggested=len(suggestions),
        accepted=accepted,
        tuning_before=figures(tuning_links, tuning),
        tuning_after=figures(tuning_after, tuning),
        holdout_before=figures(holdout_links, holdout),
        holdout_after=figures(holdout_after, holdout),
        holdout_changed=holdout_changed,
        queue=queue,
        random_to_both=random_to_both,
        oracle=oracle,
        rates={s: (r.corrected, r.changed, r.p_wrong) for s, r in learnt.rates.items()},
        universe_changed=universe_changed,
    )
