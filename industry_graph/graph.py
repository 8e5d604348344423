"""The typed industry-chain knowledge graph (networkx).

Nodes (attribute ``type``): ``chain``, ``segment``, ``link``, ``industry``, ``product``,
``enterprise``, ``park``; ids are prefixed by type (``link:big_data.security``,
``industry:sw2021:710402``, ``enterprise:stock:603881``).

Edges (attribute ``type``):

- ``part_of``: link → segment → chain; industry → parent industry; product → product it is a
  subclass of;
- ``upstream_of``: link → link, product → product, industry → industry (``weight`` = evidence
  count), always from the upstream side to the downstream side;
- ``maps_to``: industry → link (the chain YAMLs' GB/T 4754 and Shenwan mappings);
- ``works_in``: enterprise → link (``weight`` = share); ``makes``: enterprise → product
  (``weight``); ``classified_as``: enterprise → industry; ``located_in``: enterprise → park.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import networkx as nx
import pandas as pd

from data import columns as C
from data.reference import Chain, Park


def link_node(link_id: str) -> str:
    """Node id of a chain link."""
    return f"link:{link_id}"


def _add_edges(
    graph: nx.MultiDiGraph,
    pairs: Iterable[tuple[str, str]],
    kind: str,
    weights: Iterable[float] | None = None,
) -> None:
    if weights is None:
        graph.add_edges_from((u, v, {"type": kind}) for u, v in pairs)
    else:
        graph.add_edges_from(
            (u, v, {"type": kind, "weight": float(w)})
            for (u, v), w in zip(pairs, weights, strict=True)
        )


def add_chains(graph: nx.MultiDiGraph, chains: Mapping[str, Chain]) -> None:
    """Chains, segments and links, their ``part_of`` and ``upstream_of`` edges, and the
    ``maps_to`` edges from the industries the links list."""
    for chain in chains.values():
        graph.add_node(
            f"chain:{chain.id}", type="chain", name_zh=chain.name_zh, name_en=chain.name_en
        )
        for seg in chain.segments:
            node = f"segment:{chain.id}.{seg.id}"
            graph.add_node(node, type="segment", name_zh=seg.name_zh, name_en=seg.name_en)
            graph.add_edge(node, f"chain:{chain.id}", type="part_of")
        for link in chain.links:
            node = link_node(link.id)
            graph.add_node(
                node,
                type="link",
                chain=chain.id,
                name_zh=link.name_zh,
                name_en=link.name_en,
                weight=link.weight,
            )
            graph.add_edge(node, f"segment:{chain.id}.{link.segment}", type="part_of")
            for code in link.gbt4754:
                graph.add_node(
                    f"industry:gbt4754_2017:{code}",
                    type="industry",
                    scheme="gbt4754_2017",
                    code=code,
                )
                graph.add_edge(f"industry:gbt4754_2017:{code}", node, type="maps_to")
            for code in link.sw2021:
                graph.add_node(
                    f"industry:sw2021:{code}", type="industry", scheme="sw2021", code=code
                )
                graph.add_edge(f"industry:sw2021:{code}", node, type="maps_to")
    for chain in chains.values():
        for link in chain.links:
            for up in link.upstream:
                graph.add_edge(link_node(up), link_node(link.id), type="upstream_of")


def build_graph(
    *,
    chains: Mapping[str, Chain],
    tables: Mapping[str, pd.DataFrame],
    parks: Mapping[str, Park] | None = None,
    include_enterprises: bool = True,
) -> nx.MultiDiGraph:
    """The knowledge graph of the curated chains plus whatever contract tables are given."""
    graph = nx.MultiDiGraph()
    add_chains(graph, chains)
    industries = tables.get("industries")
    if industries is not None and len(industries):
        nodes = "industry:" + industries[C.SCHEME] + ":" + industries[C.CODE]
        graph.add_nodes_from(
            (n, {"type": "industry", "scheme": s, "code": c, "name": name})
            for n, s, c, name in zip(
                nodes, industries[C.SCHEME], industries[C.CODE], industries[C.NAME], strict=True
            )
        )
        has_parent = industries[C.PARENT_CODE].notna()
        parents = (
            "industry:"
            + industries.loc[has_parent, C.SCHEME]
            + ":"
            + industries.loc[has_parent, C.PARENT_CODE]
        )
        _add_edges(graph, zip(nodes[has_parent], parents, strict=True), "part_of")
    relations = tables.get("industry_relations")
    if relations is not None and len(relations):
        up = "industry:" + relations[C.SCHEME] + ":" + relations[C.TO_CODE]
        down = "industry:" + relations[C.SCHEME] + ":" + relations[C.FROM_CODE]
        _add_edges(
            graph, zip(up, down, strict=True), "upstream_of", relations[C.COUNT].astype(float)
        )
    products = tables.get("products")
    if products is not None and len(products):
        graph.add_nodes_from(
            (f"product:{pid}", {"type": "product", "name": name})
            for pid, name in zip(products[C.PRODUCT_ID], products[C.NAME], strict=True)
        )
    prel = tables.get("product_relations")
    if prel is not None and len(prel):
        src = "product:" + prel[C.FROM_PRODUCT]
        dst = "product:" + prel[C.TO_PRODUCT]
        rel = prel[C.RELATION].to_numpy()
        pairs = list(zip(src, dst, strict=True))
        _add_edges(
            graph,
            [(d, s) for (s, d), r in zip(pairs, rel, strict=True) if r == "upstream"],
            "upstream_of",
        )
        _add_edges(
            graph,
            [(s, d) for (s, d), r in zip(pairs, rel, strict=True) if r == "downstream"],
            "upstream_of",
        )
        _add_edges(
            graph,
            [(d, s) for (s, d), r in zip(pairs, rel, strict=True) if r == "subclass"],
            "part_of",
        )
    parks = parks or {}
    for park in parks.values():
        graph.add_node(f"park:{park.id}", type="park", name_zh=park.name_zh, name_en=park.name_en)
    if include_enterprises:
        _add_enterprises(graph, tables)
    return graph


def _add_enterprises(graph: nx.MultiDiGraph, tables: Mapping[str, pd.DataFrame]) -> None:
    firms = tables.get("enterprises")
    if firms is None or not len(firms):
        return
    nodes = "enterprise:" + firms[C.ENTERPRISE_ID]
    graph.add_nodes_from(
        (n, {"type": "enterprise", "name": name})
        for n, name in zip(nodes, firms[C.NAME], strict=True)
    )
    has_industry = firms[C.INDUSTRY_CODE].notna() & firms[C.INDUSTRY_SCHEME].notna()
    industry = (
        "industry:"
        + firms.loc[has_industry, C.INDUSTRY_SCHEME]
        + ":"
        + firms.loc[has_industry, C.INDUSTRY_CODE]
    )
    for node, scheme, code in zip(
        industry,
        firms.loc[has_industry, C.INDUSTRY_SCHEME],
        firms.loc[has_industry, C.INDUSTRY_CODE],
        strict=True,
    ):
        if (
            node not in graph
        ):  # a code the industries table lacks (a source defect, counted by the importer)
            graph.add_node(node, type="industry", scheme=scheme, code=code, name=None)
    _add_edges(graph, zip(nodes[has_industry], industry, strict=True), "classified_as")
    links = tables.get("enterprise_links")
    if links is not None and len(links):
        _add_edges(
            graph,
            zip("enterprise:" + links[C.ENTERPRISE_ID], "link:" + links[C.LINK_ID], strict=True),
            "works_in",
            links[C.SHARE],
        )
    made = tables.get("enterprise_products")
    if made is not None and len(made):
        _add_edges(
            graph,
            zip(
                "enterprise:" + made[C.ENTERPRISE_ID], "product:" + made[C.PRODUCT_ID], strict=True
            ),
            "makes",
            made[C.WEIGHT].fillna(0.0),
        )
    roster = tables.get("park_roster")
    if roster is not None and len(roster):
        _add_edges(
            graph,
            zip("enterprise:" + roster[C.ENTERPRISE_ID], "park:" + roster[C.PARK_ID], strict=True),
            "located_in",
        )


def graph_stats(graph: nx.MultiDiGraph) -> dict[str, dict[str, int]]:
    """Node counts by type and edge counts by type."""
    nodes = Counter(str(t) for _, t in graph.nodes(data="type", default="unknown"))
    edges = Counter(str(t) for _, _, t in graph.edges(data="type", default="unknown"))
    return {"nodes": dict(sorted(nodes.items())), "edges": dict(sorted(edges.items()))}
