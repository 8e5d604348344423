from __future__ import annotations

from pathlib import Path

import pytest

from data.chainkg import import_chainkg
from data.reference import default_chains, default_parks
from industry_graph.attach import attach_universe
from industry_graph.derive import derive_chain
from industry_graph.graph import build_graph, graph_stats
from tests.chainkg_fixture import write_chainkg


def test_graph_has_typed_nodes_and_edges(tmp_path: Path) -> None:
    imported = import_chainkg(write_chainkg(tmp_path / "kg"))
    attach_universe(imported.results, source=tmp_path / "kg")
    graph = build_graph(chains=default_chains(), tables=imported.tables, parks=default_parks())
    stats = graph_stats(graph)
    assert stats["nodes"]["chain"] == 10 and stats["nodes"]["park"] == 2
    assert stats["nodes"]["enterprise"] == 3 and stats["nodes"]["product"] == 6
    assert stats["edges"]["makes"] == 4 and stats["edges"]["works_in"] >= 3
    assert "unknown" not in stats["nodes"]
    # product 服务器 is upstream of 数据中心 (上游材料), 云服务 downstream of PKI (下游产品)
    ids = {d["name"]: n for n, d in graph.nodes(data=True) if d.get("type") == "product"}
    edge_types = [d["type"] for d in graph.get_edge_data(ids["服务器"], ids["数据中心"]).values()]
    assert edge_types == ["upstream_of"]
    assert [d["type"] for d in graph.get_edge_data(ids["PKI"], ids["云服务"]).values()] == [
        "upstream_of"
    ]
    # links: upstream_of along the YAML, part_of into segments and chains
    assert graph.has_edge("link:big_data.governance", "link:big_data.privacy_computing")
    assert graph.has_edge("link:big_data.security", "segment:big_data.technology")


def test_derived_chain_is_acyclic_and_under_its_root(tmp_path: Path) -> None:
    tables = import_chainkg(write_chainkg(tmp_path / "kg")).tables
    chain = derive_chain(
        industries=tables["industries"],
        industry_relations=tables["industry_relations"],
        root_code="710000",
        min_count=1,
    )
    assert [link.sw2021 for link in chain.links] == [("710301",), ("710402",)]
    # 横向通用软件 is upstream of IT服务Ⅲ 5 times, the reverse twice: the majority direction stays
    assert chain.link("sw_710000.i710301").upstream == ("sw_710000.i710402",)
    assert chain.link("sw_710000.i710402").upstream == ()


@pytest.mark.shared_data
def test_real_graph_size(shared_data: Path) -> None:
    imported = import_chainkg(shared_data / "chainkg")
    attach_universe(imported.results, source=shared_data / "chainkg")
    graph = build_graph(chains=default_chains(), tables=imported.tables, parks=default_parks())
    assert graph.number_of_nodes() > 100_000
    assert graph.number_of_edges() > 170_000
