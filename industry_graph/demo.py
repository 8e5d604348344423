"""The demo universe as the service uses it: generated (``data.demo``) with its firms attached to
chain links from the generated business scopes by the same attacher as real data, and the
oracle completed with what each candidate would bring if it landed (evaluation only)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from data import columns as C
from data.demo.generator import DemoUniverse, generate
from data.reference import default_chains, default_parks
from industry_graph.attach import Attachment, attach_tables, validated_links
from industry_graph.gaps import LeadValue, gap_values, park_context, track_chains


def build_demo(
    *, candidates: int = 200_000, seed: int, progress: Callable[[str], None] | None = None
) -> tuple[DemoUniverse, Attachment]:
    """Generate the demo universe, attaching its firms from their business scopes."""
    done: list[Attachment] = []

    def attach(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        attachment = attach_tables(tables)
        done.append(attachment)
        return validated_links(attachment.links, source=Path("demo")).frame

    universe = generate(candidates=candidates, seed=seed, progress=progress, attach=attach)
    if progress is not None:
        progress("oracle value")
    oracle = oracle_value(universe.oracle, universe.tables, universe.true_links)
    return DemoUniverse(
        tables=universe.tables,
        oracle=oracle,
        manifest=universe.manifest,
        true_links=universe.true_links,
    ), done[0]


def oracle_value(
    oracle: pd.DataFrame, tables: Mapping[str, pd.DataFrame], true_links: pd.DataFrame
) -> pd.DataFrame:
    """The oracle with each candidate's true gap value (its generated links against the park's
    gaps as its generated roster links make them), the value the park's rule gives it with the
    tax its true unit would pay here (``C.TRUE_UNIT_TAX``: the group's true tax × the true unit
    share, ``data.demo.landing_truth``), and the oracle's expected value (P(sign) × value)."""
    parks, chains = default_parks(), default_chains()
    out = oracle.copy()
    gap = np.zeros(len(out))
    value = np.zeros(len(out))
    ids = pd.Index(out[C.ENTERPRISE_ID].to_numpy(dtype=object))
    for park_id in out[C.PARK_ID].unique():
        park = parks[park_id]
        ctx = park_context(
            park=park,
            chains=chains,
            enterprises=tables["enterprises"],
            enterprise_links=true_links,
            park_roster=tables["park_roster"],
        )
        for track in out.loc[out[C.PARK_ID] == park_id, C.TRACK].unique():
            rows = np.flatnonzero(
                (out[C.PARK_ID] == park_id).to_numpy() & (out[C.TRACK] == track).to_numpy()
            )
            ids_here = pd.Index(ids[rows])
            values = gap_values(ctx, true_links, chain_ids=track_chains(park, track))
            hit = ids_here.get_indexer(values[C.ENTERPRISE_ID].to_numpy(dtype=object))
            g = np.zeros(len(rows))
            g[hit[hit >= 0]] = values["gap_value"].to_numpy()[hit >= 0]
            gap[rows] = g
            _, v = LeadValue.of(park, track).parts(
                tax_p50=out[C.TRUE_UNIT_TAX].to_numpy()[rows], gap_value=g
            )
            value[rows] = v
    out[C.TRUE_GAP_VALUE] = gap
    out[C.TRUE_VALUE] = np.round(value, 2)
    out[C.ORACLE_EXPECTED_VALUE] = np.round(out[C.P_SIGN].to_numpy() * value, 4)
    return out
