"""The demo universe as the service uses it: generated (``data.demo``) with its firms attached to
chain links from the generated business scopes by the same attacher as real data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from data.demo.generator import DemoUniverse, generate
from industry_graph.attach import Attachment, attach_tables, validated_links


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
    return universe, done[0]
