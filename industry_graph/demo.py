"""The demo universe as the service uses it: generated (``data.demo``), then attached to chain links
from the generated business scopes by the same attacher as real data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from data.demo.generator import DemoUniverse, generate, snapshot_id
from industry_graph.attach import Attachment, attach_tables, validated_links


def build_demo(
    *, candidates: int = 200_000, seed: int, progress: Callable[[str], None] | None = None
) -> tuple[DemoUniverse, Attachment]:
    """Generate the demo universe and attach its firms from their business scopes."""
    universe = generate(candidates=candidates, seed=seed, progress=progress)
    if progress is not None:
        progress("chain links from business scopes")
    attachment = attach_tables(universe.tables)
    links = validated_links(attachment.links, source=Path("demo")).frame
    universe.tables["enterprise_links"] = links
    sizes = universe.manifest.get("sizes")
    if isinstance(sizes, dict):
        sizes["enterprise_links"] = len(links)
    universe.manifest["snapshot_id"] = snapshot_id(universe.tables)
    return universe, attachment
