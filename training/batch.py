"""Batch scoring of a whole universe with the champion model, locally or on a Dask cluster.

Both engines run the same function, ``score_partition``, on slices of ``enterprises``: eligible
candidates per track → the feature matrix → the lead scorer (the object the pyfunc model wraps,
loaded from ``models:/lead-scorer-<park>@champion``). The gap analysis and per-firm gap values
are computed once (``FeatureContext``) and shipped to the workers. The output is partitioned
parquet (``part-*.parquet``) with one row per firm and track it is eligible for, and the rank of
the row in its track (score descending, ties by enterprise id).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data import columns as C
from data.corrections import LinkCorrection
from data.reference import default_chains, default_parks
from data.settings import Settings
from data.universe import load_universe, universe_as_of
from features.build import FeatureContext, feature_context, latest_tax_history
from models.leads import score_candidates
from models.ranking import ChainMembership, chain_membership
from models.registry import load_scorer
from models.scorer import SCORE_FIELDS, LeadScorer

SCORE_COLUMNS = (C.ENTERPRISE_ID, C.TRACK, *SCORE_FIELDS)


@dataclass(frozen=True)
class ScoreContext:
    """What every partition needs: the scorer, the park's feature context, history and date."""

    scorer: LeadScorer
    fc: FeatureContext
    links: pd.DataFrame
    history: pd.DataFrame | None
    as_of: pd.Timestamp
    membership: ChainMembership | None = None  # chain_membership(links), once per universe


def score_partition(firms: pd.DataFrame, ctx: ScoreContext) -> pd.DataFrame:
    """Score the eligible candidates of one slice of ``enterprises`` for every track."""
    parts = []
    for track in ctx.fc.park.tracks:
        cands = score_candidates(
            scorer=ctx.scorer,
            fc=ctx.fc,
            firms=firms,
            links=ctx.links,
            track=track,
            as_of=ctx.as_of,
            history=ctx.history,
            ranked=False,
            membership=ctx.membership,
        )
        if not len(cands):
            continue
        scored = cands.scores
        scored.insert(0, C.TRACK, track)
        scored.insert(0, C.ENTERPRISE_ID, cands.firms[C.ENTERPRISE_ID].to_numpy())
        parts.append(scored[list(SCORE_COLUMNS)])
    if not parts:
        return empty_scores()
    return pd.concat(parts, ignore_index=True)


def empty_scores() -> pd.DataFrame:
    """The output schema with no rows (the meta of the Dask computation)."""
    return pd.DataFrame(
        {
            c: pd.Series(dtype="str" if c in (C.ENTERPRISE_ID, C.TRACK) else "float64")
            for c in SCORE_COLUMNS
        }
    )


def add_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """The rank of each row within its track: score descending, ties by enterprise id (Arrow's
    sort: numpy's on Python strings compares them one by one)."""
    keys = pa.table(
        {
            "track": pa.array(scores[C.TRACK].astype(str).to_numpy(dtype=object), pa.string()),
            "score": pa.array(scores["score"].to_numpy(dtype=float)),
            "id": pa.array(scores[C.ENTERPRISE_ID].astype(str).to_numpy(dtype=object), pa.string()),
        }
    )
    order = np.asarray(
        pc.sort_indices(
            keys, sort_keys=[("track", "ascending"), ("score", "descending"), ("id", "ascending")]
        ).to_numpy(),
        dtype=np.int64,
    )
    ranked: pd.DataFrame = scores.iloc[order].reset_index(drop=True)
    track = ranked[C.TRACK].to_numpy(dtype=object)
    starts = np.r_[True, track[1:] != track[:-1]] if len(track) else np.zeros(0, dtype=bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(len(track)), 0))
    ranked["rank"] = np.arange(len(track)) - first + 1
    return ranked


# what scoring reads of a universe (products: the roster fit's lookalike vectors)
SCORE_TABLES: Final = (
    "enterprises",
    "enterprise_links",
    "park_roster",
    "tax_records",
    "products",
    "enterprise_products",
)


def score_context(
    settings: Settings,
    data_dir: Path,
    park_id: str,
    tables: Mapping[str, pd.DataFrame] | None = None,
    corrections: Sequence[LinkCorrection] = (),
) -> ScoreContext:
    """Load the champion and build the park's feature context for a universe (its links
    corrected by ``corrections``, as ``load_universe`` applies them)."""
    tables = tables or load_universe(data_dir, SCORE_TABLES, corrections=corrections)
    park = default_parks()[park_id]
    fc = feature_context(park=park, chains=default_chains(), tables=tables)
    history = latest_tax_history(tables["tax_records"])
    scorer = load_scorer(settings, park_id).scorer
    return ScoreContext(
        scorer=scorer,
        fc=fc,
        links=tables["enterprise_links"],
        history=history,
        as_of=universe_as_of(data_dir),
        membership=chain_membership(tables["enterprise_links"]),
    )


@dataclass(frozen=True)
class ScoreRun:
    """What a batch run did."""

    engine: str
    rows: int
    partitions: int
    seconds: float
    out_dir: Path


def _prepare_out(out_dir: Path) -> None:
    if out_dir.exists():
        for old in out_dir.glob("part-*.parquet"):
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def score_local(
    *,
    settings: Settings,
    data_dir: Path,
    out_dir: Path,
    park_id: str,
    partition_rows: int = 250_000,
    corrections: Sequence[LinkCorrection] = (),
) -> ScoreRun:
    """Score in this process, slice by slice, and write ranked partitioned parquet
    (``corrections``: the strategists' link corrections, applied at load)."""
    started = time.perf_counter()
    tables = load_universe(data_dir, SCORE_TABLES, corrections=corrections)
    ctx = score_context(settings, data_dir, park_id, tables)
    firms = tables["enterprises"]
    parts = [
        score_partition(firms.iloc[i : i + partition_rows], ctx)
        for i in range(0, len(firms), partition_rows)
    ]
    scores = add_ranks(pd.concat(parts, ignore_index=True))
    _prepare_out(out_dir)
    n = max(1, len(parts))
    for k, chunk in enumerate(np.array_split(np.arange(len(scores)), n)):
        scores.iloc[chunk].to_parquet(out_dir / f"part-{k:04d}.parquet", index=False)
    return ScoreRun("local", len(scores), n, time.perf_counter() - started, out_dir)


def score_dask(
    *,
    settings: Settings,
    data_dir: Path,
    out_dir: Path,
    park_id: str,
    scheduler: str | None = None,
    workers: int = 2,
    partition_rows: int = 250_000,
    corrections: Sequence[LinkCorrection] = (),
) -> ScoreRun:
    """Score on a Dask cluster (``scheduler`` address, or a ``LocalCluster`` of ``workers``):
    ``dask.dataframe`` over the enterprises parquet, ``map_partitions(score_partition)``; the
    links in the shipped context are corrected by ``corrections``."""
    import dask.dataframe as dd

    from training.dask_engine import dask_client

    started = time.perf_counter()
    with dask_client(scheduler, workers) as client:
        ctx = score_context(settings, data_dir, park_id, corrections=corrections)
        firms = dd.read_parquet(str(data_dir / "enterprises.parquet"), split_row_groups=True)
        if firms.npartitions == 1 and len(firms) > partition_rows:
            firms = firms.repartition(npartitions=int(np.ceil(len(firms) / partition_rows)))
        shipped = client.scatter(ctx, broadcast=True)
        scores = firms.map_partitions(score_partition, shipped, meta=empty_scores()).compute()
        ranked = add_ranks(scores)
        _prepare_out(out_dir)
        n = firms.npartitions
        for k, chunk in enumerate(np.array_split(np.arange(len(ranked)), n)):
            ranked.iloc[chunk].to_parquet(out_dir / f"part-{k:04d}.parquet", index=False)
        return ScoreRun("dask", len(ranked), n, time.perf_counter() - started, out_dir)


def read_scores(out_dir: Path) -> pd.DataFrame:
    """All partitions of a batch run, in rank order."""
    parts = sorted(out_dir.glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"{out_dir}: no part-*.parquet")
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def remove(out_dir: Path) -> None:
    """Delete a batch output folder."""
    shutil.rmtree(out_dir, ignore_errors=True)


Engine = Literal["local", "dask"]
