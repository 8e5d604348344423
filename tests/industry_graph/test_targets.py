"""The plan's countable targets on the hand-made park of ``test_kpis`` (answers by hand): four
park firms (c and d entered after the 2020 baseline), open leads e (P 0.5) and f (P 0.2)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data.reference import default_chains
from industry_graph.kpis import park_facts
from industry_graph.targets import countable_kpis, plan_targets, target_matrix
from tests.industry_graph.test_kpis import OPEN, PARK, TABLES

TODAY = date(2024, 6, 30)


def _targets() -> dict[str, object]:
    facts = park_facts(PARK, TABLES)
    return {t.id: t for t in plan_targets(facts, default_chains(), TABLES, OPEN, today=TODAY)}


def test_only_firm_counts_are_targets() -> None:
    assert countable_kpis(PARK) == [
        "new_hq",
        "hq_firms_total",
        "new_core_big_data",
        "uhd_video_firms",
    ]


def test_kpi_shortfalls_count_now_and_the_open_pipeline() -> None:
    t = _targets()
    # new HQs: c (national_hq, entered 2022) now; e (mnc_regional_hq) open at 0.5
    assert (t["new_hq"].now, t["new_hq"].expected, t["new_hq"].shortfall) == (1.0, 1.5, 13.5)
    # new chain firms: c (uhd_video_5g) and d (big_data) entered after 2020; f is Nantong's
    # firm, open at 0.2 → 2.2 of 100
    core = t["new_core_big_data"]
    assert (core.now, core.expected, core.shortfall) == (2.0, 2.2, pytest.approx(97.8))
    # 5G+8K firms: c, of 20
    assert t["uhd_video_firms"].shortfall == 19.0
    # HQ-type central-SOE and private firms: a and c (e is an MNC HQ: not counted), of 90
    assert t["hq_firms_total"].expected == 2.0


def test_a_link_below_its_target_is_a_target() -> None:
    t = _targets()
    content = t["uhd_video_5g.content"]  # the YAML's target: 6 firms; c is there
    assert content.kind == "link"
    assert (content.target, content.now, content.shortfall) == (6.0, 1.0, 5.0)
    # f (open at 0.2, full share in compute_cloud) adds 0.2 to its link
    cloud = t["big_data.compute_cloud"]
    assert cloud.expected == pytest.approx(cloud.now + 0.2)


def test_matrix_counts_a_candidate_for_the_targets_it_matches() -> None:
    targets = list(_targets().values())
    ids = pd.Series(["e", "f", "e"])  # e on two tracks: the same row twice
    m = target_matrix(PARK, targets, ids, TABLES).toarray()
    col = {t.id: j for j, t in enumerate(targets)}
    assert m[0, col["new_hq"]] == 1.0 and m[0, col["hq_firms_total"]] == 0.0
    assert m[1, col["new_core_big_data"]] == 1.0 and m[1, col["new_hq"]] == 0.0
    assert m[1, col["big_data.compute_cloud"]] == 1.0  # its share in the link
    assert (m[2] == m[0]).all()
