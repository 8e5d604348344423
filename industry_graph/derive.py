"""Chains derived from imported data: the Shenwan hierarchy plus ``industry_up`` relations.

``derive_chain(root_code=...)`` makes a chain whose links are the Shenwan L3 industries under an
L1 or L2 industry, grouped into segments by their L2 parent, with an upstream edge wherever the
ChainKnowledgeGraph counts the other industry among an industry's upstream ones at least
``min_count`` times. Where two industries are each other's upstream the more frequent direction
is kept; any cycle left is broken at its weakest edge, so the result is a valid chain.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from data import columns as C
from data.reference import Chain, Link, Segment

DERIVED_PREFIX = "sw:"


def derived_chain_id(root_code: str) -> str:
    """Chain id of the chain derived under a Shenwan code."""
    return f"sw_{root_code}"


def derive_chain(
    *,
    industries: pd.DataFrame,
    industry_relations: pd.DataFrame,
    root_code: str,
    min_count: int = 2,
) -> Chain:
    """The chain of Shenwan L3 industries under ``root_code`` (see the module docstring)."""
    sw = industries[industries[C.SCHEME] == "sw2021"].set_index(C.CODE)
    if root_code not in sw.index:
        raise KeyError(f"unknown Shenwan code {root_code!r}")
    parent = sw[C.PARENT_CODE].to_dict()

    def under_root(code: str) -> bool:
        seen = 0
        while code in parent and seen < 5:
            if code == root_code:
                return True
            code, seen = parent[code], seen + 1
        return code == root_code

    leaves = sorted(
        c for c in sw.index if c != root_code and under_root(c) and c not in set(parent.values())
    )
    if not leaves:
        raise ValueError(f"Shenwan code {root_code!r} has no L3 industries under it")
    chain_id = derived_chain_id(root_code)
    rel = industry_relations[
        (industry_relations[C.SCHEME] == "sw2021")
        & industry_relations[C.FROM_CODE].isin(leaves)
        & industry_relations[C.TO_CODE].isin(leaves)
        & (industry_relations[C.FROM_CODE] != industry_relations[C.TO_CODE])
        & (industry_relations[C.COUNT] >= min_count)
    ]
    counts = {
        (str(u), str(d)): int(n)
        for d, u, n in zip(rel[C.FROM_CODE], rel[C.TO_CODE], rel[C.COUNT], strict=True)
    }
    graph = nx.DiGraph()
    graph.add_nodes_from(leaves)
    for (u, d), n in counts.items():
        if n > counts.get((d, u), 0) or (n == counts.get((d, u), 0) and u < d):
            graph.add_edge(u, d, weight=n)
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            break
        weakest = min(cycle, key=lambda e: (graph.edges[e[0], e[1]]["weight"], e[0], e[1]))
        graph.remove_edge(weakest[0], weakest[1])
    segments = sorted({str(parent.get(c, root_code)) for c in leaves})
    root_name = str(sw.at[root_code, C.NAME])
    return Chain(
        id=chain_id,
        name_zh=f"{root_name}（申万推导）",
        name_en=f"{root_name} (derived from Shenwan {root_code})",
        segments=tuple(
            Segment(id=f"i{s}", name_zh=str(sw[C.NAME].get(s, s)), name_en=f"Shenwan {s}")
            for s in segments
        ),
        links=tuple(
            Link(
                id=f"{chain_id}.i{code}",
                segment=f"i{parent.get(code, root_code)}",
                name_zh=str(sw.at[code, C.NAME]),
                name_en=f"Shenwan {code}",
                weight=1.0,
                upstream=tuple(f"{chain_id}.i{u}" for u in sorted(graph.predecessors(code))),
                sw2021=(code,),
            )
            for code in leaves
        ),
    )


def derived_memberships(chain: Chain, enterprises: pd.DataFrame) -> pd.DataFrame:
    """``enterprise_links`` rows for a derived chain: a firm works (share 1) in its industry's link."""
    link_of = {link.sw2021[0]: link.id for link in chain.links}
    sw = enterprises[
        (enterprises[C.INDUSTRY_SCHEME] == "sw2021") & enterprises[C.INDUSTRY_CODE].isin(link_of)
    ]
    return pd.DataFrame(
        {
            C.ENTERPRISE_ID: sw[C.ENTERPRISE_ID].to_numpy(),
            C.LINK_ID: sw[C.INDUSTRY_CODE].map(link_of).to_numpy(),
            C.SHARE: 1.0,
        }
    )
