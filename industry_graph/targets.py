"""The plan's countable targets and what is left of each, as of the data's date, and which
candidates would count for which target if they landed — what the contact plan
(``models.contact_plan``) must reach.

Two kinds of target:

- **KPI** — every KPI of the park YAML counted in firms (``measure.kind`` ``firms`` or
  ``new_firms``: 新增总部 15, 新增核心大数据 100–120, 5G+8K 20 …), measured by
  ``industry_graph.kpis.measure_kpis``. The target is the low end of its band; the
  **expected** figure is the count now plus Σ P(land) of the open pipeline's matching leads
  (the KPI's projection); the **shortfall** is the target minus that, at least 0. A candidate
  counts for it when the KPI's filters match it (``kpis.matching_firms``): 1 firm per landing.
  Growth KPIs and the 亿元楼 count are no firm counts and are left out.
- **Link** — every link of the park's chains below its target (``industry_graph.gaps``: 补链、
  缺失、延链、强链 — gap types other than covered), when the YAML's ``contact_plan`` keeps
  ``chain_link_targets``: target and presence in Σ share of firms, the open pipeline adding Σ
  P(land) × share; a candidate counts for it with its share in the link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Literal, Protocol

import numpy as np
import pandas as pd
from scipy import sparse

from data import columns as C
from data.frames import member
from data.reference import Chain, Park
from industry_graph.gaps import analyse_gaps, park_context
from industry_graph.kpis import (
    OPEN_LEAD_COLUMNS,
    ParkFacts,
    matching_firms,
    measure_kpis,
)

COUNTABLE = ("firms", "new_firms")


@dataclass(frozen=True)
class Target:
    """One countable target: how far the park is from it, in firms."""

    id: str  # a KPI id or a link id
    kind: Literal["kpi", "link"]
    name_zh: str
    name_en: str
    target: float
    now: float
    expected: float  # now + the open pipeline's expected contribution
    shortfall: float  # max(0, target − expected)
    gap_type: str | None = None  # links: the gap analysis's type

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)


def countable_kpis(park: Park) -> list[str]:
    """The ids of the park's KPIs counted in firms (the plan's countable targets)."""
    return [k.id for k in park.kpi_targets if k.measure and k.measure.kind in COUNTABLE]


def plan_targets(
    facts: ParkFacts,
    chains: Mapping[str, Chain],
    tables: Mapping[str, pd.DataFrame],
    open_leads: pd.DataFrame | None = None,
    *,
    today: date,
) -> list[Target]:
    """Every countable target of the park (see the module doc), KPIs first, then links by
    shortfall. ``open_leads`` has ``kpis.OPEN_LEAD_COLUMNS`` (none: an empty pipeline)."""
    park = facts.park
    leads = pd.DataFrame(columns=list(OPEN_LEAD_COLUMNS)) if open_leads is None else open_leads
    wanted = set(countable_kpis(park))
    counted = replace(
        facts,
        park=park.model_copy(
            update={"kpi_targets": tuple(k for k in park.kpi_targets if k.id in wanted)}
        ),
    )
    out: list[Target] = []
    for status in measure_kpis(counted, tables, leads, today=today):
        if status.now is None:
            continue
        expected = float(status.projected if status.projected is not None else status.now)
        out.append(
            Target(
                id=status.id,
                kind="kpi",
                name_zh=status.name_zh,
                name_en=status.name_en,
                target=status.target_low,
                now=float(status.now),
                expected=round(expected, 3),
                shortfall=round(max(0.0, status.target_low - expected), 3),
            )
        )
    plan = park.contact_plan
    if plan is None or plan.chain_link_targets:
        out.extend(_link_targets(park, chains, tables, leads))
    return out


def _link_targets(
    park: Park,
    chains: Mapping[str, Chain],
    tables: Mapping[str, pd.DataFrame],
    leads: pd.DataFrame,
) -> list[Target]:
    ctx = park_context(
        park=park,
        chains=chains,
        enterprises=tables["enterprises"],
        enterprise_links=tables["enterprise_links"],
        park_roster=tables["park_roster"],
    )
    members = set(ctx.park_members[C.ENTERPRISE_ID].astype(str))
    open_firms = leads[~leads[C.ENTERPRISE_ID].astype(str).isin(members)]
    p_land = (
        open_firms.groupby(C.ENTERPRISE_ID)["p_land"].max().astype(float)
        if len(open_firms)
        else pd.Series(dtype=float)
    )
    links = tables["enterprise_links"]
    links = links[member(links[C.ENTERPRISE_ID], set(p_land.index))]
    pipeline = (
        (links[C.SHARE].to_numpy() * links[C.ENTERPRISE_ID].map(p_land).fillna(0.0).to_numpy())
        if len(links)
        else np.zeros(0)
    )
    by_link = pd.Series(pipeline, index=links[C.LINK_ID].to_numpy()).groupby(level=0).sum()
    out = []
    for target in park.chains:
        if target.id not in chains:
            continue
        for gap in analyse_gaps(ctx, target.id):
            if gap.gap_type == "covered":
                continue
            expected = gap.firms + float(by_link.get(gap.link_id, 0.0))
            out.append(
                Target(
                    id=gap.link_id,
                    kind="link",
                    name_zh=gap.name_zh,
                    name_en=gap.name_en,
                    target=gap.target,
                    now=gap.firms,
                    expected=round(expected, 3),
                    shortfall=round(max(0.0, gap.target - expected), 3),
                    gap_type=gap.gap_type,
                )
            )
    out.sort(key=lambda t: (-t.shortfall, t.id))
    return out


class Countable(Protocol):
    """What ``target_matrix`` reads of a target."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...


def target_matrix(
    park: Park,
    targets: Sequence[Countable],
    enterprise_ids: pd.Series,
    tables: Mapping[str, pd.DataFrame],
) -> sparse.csr_matrix:
    """Firms toward each target if a candidate landed (candidates × targets, sparse): 1 for a
    KPI whose filters match it, its share for a link. A firm listed twice (on two tracks)
    gets the same row twice."""
    uniq, inverse = np.unique(enterprise_ids.astype(str).to_numpy(), return_inverse=True)
    ids = pd.Series(uniq, dtype=object)
    kpis = {k.id: k for k in park.kpi_targets}
    column = {t.id: j for j, t in enumerate(targets)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    counted = [(j, kpis[t.id].measure) for j, t in enumerate(targets) if t.kind == "kpi"]
    measures = [m for _, m in counted if m is not None]
    assert len(measures) == len(counted), "a countable KPI has a measure"
    for (j, _), mask in zip(counted, matching_firms(measures, ids, tables), strict=True):
        hit = np.flatnonzero(mask)
        rows.append(hit)
        cols.append(np.full(len(hit), j))
        vals.append(np.ones(len(hit)))
    link_ids = {t.id for t in targets if t.kind == "link"}
    if link_ids:
        links = tables["enterprise_links"]
        links = links[links[C.LINK_ID].isin(link_ids)]
        pos = pd.Index(ids).get_indexer(links[C.ENTERPRISE_ID].astype(str))
        keep = pos >= 0
        links = links[keep]
        rows.append(pos[keep])
        cols.append(links[C.LINK_ID].map(column).to_numpy(dtype=np.int64))
        vals.append(links[C.SHARE].to_numpy(dtype=float))
    if not rows:
        return sparse.csr_matrix((len(inverse), len(targets)))
    matrix = sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(ids), len(targets)),
    ).tocsr()  # duplicates (a firm twice in a link) add up
    return sparse.csr_matrix(matrix[inverse])
