"""The contact plan for the served park (``models.contact_plan``): its candidates are the lead
tables' offered leads (the firms the lists offer — signed, open in the pipeline or lately
declined left out), with the P(land), tax P50 and in-park share the tables hold; its targets
the plan's countable targets as of the data's date (``industry_graph.targets``, the open
pipeline counted at its stage's P(land)). Kept until the state is reloaded or the pipeline
changes."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import sparse
from sqlalchemy.orm import Session, sessionmaker

from api.errors import InvalidInput
from api.serving.kpis import _loaded, _memo, open_leads, pipeline_marker, tables_with_landed
from api.serving.lead_table import LeadFilters
from api.serving.leads import select_leads
from api.serving.snapshot import once_per_snapshot, snapshots_root
from api.serving.state import ServiceState
from data import columns as C
from industry_graph.gaps import LeadValue
from industry_graph.kpis import park_facts
from industry_graph.space import lead_needs, plan_free_area, quarter_of
from industry_graph.targets import plan_targets, target_matrix
from models.contact_plan import (
    TOLERANCE,
    Candidates,
    ContactPlan,
    PlanInputError,
    PlanSettings,
    PlanTarget,
    TargetOutcome,
    attainment,
    check_settings,
    horizon_quarters,
    make_plan,
    quarter_label,
)

log = logging.getLogger("attract.plan")


@dataclass(frozen=True)
class ServedPlan:
    """A plan with what the views show of it."""

    plan: ContactPlan
    first_quarter: str  # e.g. 2021Q1
    as_of: str
    max_quarters: int
    firms: pd.Index  # every candidate firm once
    counts: sparse.csr_matrix  # its firms toward each target (rows as ``firms``)


def plan_settings(
    state: ServiceState,
    *,
    capacity: int | Mapping[str, int] | None = None,
    quarters: int | None = None,
) -> tuple[PlanSettings, int]:
    """The park YAML's plan settings with the overrides (one capacity for every track, or per
    track), checked (``InvalidInput`` naming the field); and the most quarters the plan allows."""
    assert state.park is not None and state.as_of is not None
    block = state.park.contact_plan
    if block is None:
        raise InvalidInput(f"park: {state.park.id} has no contact_plan block in its YAML")
    as_of = state.as_of.date()
    most = horizon_quarters(as_of, block.end_year, block.rolling_quarters)
    if capacity is None:
        caps = dict(block.capacity_per_quarter)
    elif isinstance(capacity, int):
        caps = dict.fromkeys(block.capacity_per_quarter, capacity)
    else:
        caps = {**block.capacity_per_quarter, **capacity}
    settings = PlanSettings(
        capacity=caps,
        quarters=most if quarters is None else quarters,
        quarters_to_land=block.quarters_to_land,
        penalty=block.shortfall_penalty_wan_cny or 0.0,  # or resolved from the firm-years
        candidates_per_track=block.candidates_per_track,
        penalty_firm_years=block.shortfall_penalty_firm_years,
    )
    try:
        check_settings(settings, list(state.park.tracks), max_quarters=most)
    except PlanInputError as exc:
        raise InvalidInput(str(exc)) from exc
    return settings, most


def plan_candidates(
    state: ServiceState,
    targets: list[PlanTarget],
    *,
    exclude: frozenset[str] = frozenset(),
    with_need: bool = False,
) -> Candidates:
    """Every track's offered leads, one row per firm and track, but the firms of ``exclude``
    (those open in the pipeline now: the targets count them already); ``with_need``: with the
    floor each would lease (the park YAML's interim unit rule)."""
    assert state.park is not None
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("id", "name", "track", "p", "tax", "s")}
    for track, table in state.leads.items():
        rows = select_leads(state, track=track, filters=LeadFilters(), contacted=())
        ids = table.column(C.ENTERPRISE_ID)
        if exclude and ids is not None:
            rows = rows[~pd.Index(ids[rows].astype(str)).isin(list(exclude))]
        names = table.column(C.NAME)
        p = table.column("p_land")
        tax = table.column("tax_p50_wan_cny")
        score = table.column("score")
        assert ids is not None and names is not None and p is not None
        assert tax is not None and score is not None
        parts["id"].append(ids[rows].astype(str))
        parts["name"].append(names[rows].astype(str))
        parts["track"].append(np.full(len(rows), track, dtype=object))
        parts["p"].append(np.asarray(p, dtype=float)[rows])
        # the lead's tax P50 is already what the park collects (its landing form's share of the
        # group's tax, models.scorer): no share again here
        parts["tax"].append(np.clip(np.asarray(tax, dtype=float)[rows], 0, None))
        parts["s"].append(np.asarray(score, dtype=float)[rows])
    ids = np.concatenate(parts["id"]).astype(object)
    tracks = np.concatenate(parts["track"]).astype(object)
    need = (
        lead_needs(
            leads=pd.DataFrame({C.ENTERPRISE_ID: ids, C.TRACK: tracks}),
            tables=state.tables,
            park=state.park,
        )
        if with_need
        else None
    )
    counts = target_matrix(
        state.park,
        targets,
        pd.Series(ids),
        state.tables,
    )
    return Candidates(
        enterprise_id=ids,
        name=np.concatenate(parts["name"]).astype(object),
        track=tracks,
        p_land=np.nan_to_num(np.concatenate(parts["p"])),
        tax_wan_cny=np.nan_to_num(np.concatenate(parts["tax"])),
        score=np.nan_to_num(np.concatenate(parts["s"])),
        counts=counts,
        need_m2=need,
    )


@dataclass(frozen=True)
class PipelineNow:
    """What the plan reads of the service database: a marker that changes with any lead of
    the park, and the open leads (``industry_graph.kpis.OPEN_LEAD_COLUMNS``)."""

    marker: tuple[object, ...]
    open_leads: pd.DataFrame
    # the universe's tables with the landed firms leasing in the park (their floor is taken)
    tables: Mapping[str, pd.DataFrame]


def pipeline_now(state: ServiceState, factory: sessionmaker[Session]) -> PipelineNow:
    """The pipeline as the plan reads it (a few queries)."""
    assert state.park is not None
    return PipelineNow(
        pipeline_marker(factory, state.park.id),
        open_leads(state, factory),
        tables_with_landed(state, factory),
    )


def free_floor(
    state: ServiceState, pipeline: PipelineNow, quarters: int
) -> tuple[float, ...] | None:
    """The free floor (m²) each quarter of the horizon leaves to new landings
    (``industry_graph.space.plan_free_area``), or ``None`` for a park without buildings."""
    assert state.park is not None and state.as_of is not None
    held = pipeline.tables.get("park_buildings")
    if not state.park.space or held is None or not (held[C.PARK_ID] == state.park.id).any():
        return None
    today = state.as_of.date()
    free = plan_free_area(
        park=state.park,
        tables=pipeline.tables,
        first=quarter_of(today) + 1,
        quarters=quarters,
        open_leads=pipeline.open_leads,
        today=today,
    )
    return tuple(float(v) for v in free)


def the_targets(state: ServiceState, pipeline: PipelineNow) -> list[PlanTarget]:
    """The park's countable targets now, with the YAML's price floors."""
    assert state.park is not None and state.as_of is not None
    park = state.park
    floors = park.contact_plan.price_floor_wan_cny if park.contact_plan else {}

    def make() -> list[PlanTarget]:
        assert state.park is not None and state.as_of is not None
        facts = _memo.get(("facts", _loaded(state)), lambda: park_facts(park, state.tables))
        return [
            PlanTarget(
                id=t.id,
                kind=t.kind,
                name_zh=t.name_zh,
                name_en=t.name_en,
                target=t.target,
                expected_now=t.expected,
                shortfall=t.shortfall,
                price_floor=float(floors.get(t.id, 0.0)),
            )
            for t in plan_targets(
                facts,
                state.chains,
                state.tables,
                pipeline.open_leads,
                today=state.as_of.date(),
            )
        ]

    return _memo.get(("plan-targets", _loaded(state), *pipeline.marker), make)


def contact_plan(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    capacity: int | Mapping[str, int] | None = None,
    quarters: int | None = None,
) -> ServedPlan:
    """The plan at the YAML's capacity or the one given (see the module doc)."""
    settings = plan_settings(state, capacity=capacity, quarters=quarters)  # bad input first
    return plan_for(
        state, pipeline_now(state, factory), capacity=capacity, quarters=quarters, checked=settings
    )


def plan_for(
    state: ServiceState,
    pipeline: PipelineNow,
    *,
    capacity: int | Mapping[str, int] | None = None,
    quarters: int | None = None,
    checked: tuple[PlanSettings, int] | None = None,
    remember: bool = True,
) -> ServedPlan:
    """``contact_plan`` over a pipeline already read (no database access); a plan at the YAML's
    settings gives the lists their prices (``remember``)."""
    assert state.park is not None and state.as_of is not None
    settings, most = checked or plan_settings(state, capacity=capacity, quarters=quarters)
    targets = the_targets(state, pipeline)
    key = (
        "plan",
        _loaded(state),
        *pipeline.marker,
        tuple(sorted(settings.capacity.items())),
        settings.quarters,
    )

    def make() -> ServedPlan:
        assert state.as_of is not None
        open_firms = frozenset(pipeline.open_leads[C.ENTERPRISE_ID].astype(str))
        free = free_floor(state, pipeline, settings.quarters)
        candidates = plan_candidates(state, targets, exclude=open_firms, with_need=free is not None)
        plan = make_plan(
            candidates, targets, replace(settings, free_m2=free), target_costs=("kpi",)
        )
        ids, first = np.unique(candidates.enterprise_id.astype(str), return_index=True)
        return ServedPlan(
            plan=plan,
            first_quarter=quarter_label(state.as_of.date()),
            as_of=str(state.as_of.date()),
            max_quarters=most,
            firms=pd.Index(ids),
            counts=sparse.csr_matrix(candidates.counts[first]),
        )

    served = _memo.get(key, make)
    if remember and capacity is None and quarters is None:
        remember_prices(state, served, targets)
    return served


def target_reason(outcome: TargetOutcome) -> dict[str, str]:
    """Why a lead's plan value: the target it counts for, its shortfall and its price."""
    place_zh = f"「{outcome.name_zh}」" + ("环节" if outcome.kind == "link" else "")
    place_en = f"{outcome.name_en}" + (" link" if outcome.kind == "link" else "")
    zh = f"计入{place_zh}缺口 {outcome.shortfall:,.0f} 家，每家折合 {outcome.price_wan_cny:,.0f} 万元"
    en = (
        f"counts toward {place_en}: {outcome.shortfall:,.0f} firms short, "
        f"{outcome.price_wan_cny:,.0f} 万元 a firm"
    )
    if outcome.status == "unreachable":
        zh += "（现有产能下达不到，按缺口罚金计）"
        en += " (out of reach at this capacity: priced at the shortfall's penalty)"
    elif outcome.status == "short":
        zh += "（与其他目标争用产能，未达成，按缺口罚金计）"
        en += " (left short beside the other targets: priced at the shortfall's penalty)"
    return {"kind": "plan_target", "target": outcome.id, "text_zh": zh, "text_en": en}


def plan_report(served: ServedPlan, *, top: int | None = None) -> dict[str, Any]:
    """What the CLI, the API, the export and the page show of a plan: the settings, the tax of
    the plan against the value-only list, per target the shortfall, the expected firms of both
    lists, the tax given up and the price, and the first quarter's list per track."""
    plan = served.plan
    s = plan.settings
    outcomes = {o.id: o for o in plan.targets}
    lists: dict[str, list[dict[str, Any]]] = {}
    for track in s.capacity:
        frame = plan.quarter_list(track, 0)
        if top is not None:
            frame = frame.head(top)
        lists[track] = [
            {
                "rank": i + 1,
                "enterprise_id": str(row["enterprise_id"]),
                "name": str(row["name"]),
                "p_land": float(row["p_land"]),
                "tax_wan_cny": round(float(row["tax_wan_cny"]), 1),
                "expected_tax_wan_cny": round(float(row["expected_tax_wan_cny"]), 1),
                "plan_value_wan_cny": round(float(row["plan_value_wan_cny"]), 1),
                "targets": list(row["targets"]),
                "reasons": [
                    target_reason(outcomes[t])
                    for t in row["targets"]
                    if outcomes[t].price_wan_cny > 0
                ],
            }
            for i, row in enumerate(frame.to_dict("records"))
        ]
    return {
        "as_of": served.as_of,
        "first_quarter": served.first_quarter,
        "horizon_quarters": s.quarters,
        "max_quarters": served.max_quarters,
        "quarters_to_land": s.quarters_to_land,
        "capacity": dict(s.capacity),
        "penalty_wan_cny": round(s.penalty, 1),
        "penalty_firm_years": s.penalty_firm_years,
        "candidates": plan.candidates_in,
        "candidates_cut": plan.candidates_cut,
        "candidates_solved": len(plan.candidates),
        "rounds": plan.rounds,
        "solve_seconds": plan.solve_seconds,
        "tax": {
            "plan_wan_cny": round(plan.plan.tax_wan_cny, 1),
            "value_only_wan_cny": round(plan.value_only.tax_wan_cny, 1),
            "given_up_vs_value_only_wan_cny": round(
                plan.value_only.tax_wan_cny - plan.plan.tax_wan_cny, 1
            ),
            "relaxation_wan_cny": round(plan.lp_tax_wan_cny, 1),
            "tax_only_wan_cny": round(plan.tax_only_wan_cny, 1),
            "given_up_wan_cny": round(plan.tax_given_up_wan_cny, 1),
        },
        "targets": [
            {
                **o.to_dict(),
                "attainment_plan": round(attainment(o), 4),
                "attainment_value_only": round(attainment(o, plan=False), 4),
            }
            for o in plan.targets
        ],
        "lists": lists,
        "space": _space_report(served),
    }


def _space_report(served: ServedPlan) -> dict[str, Any] | None:
    """Per horizon quarter: the free floor left to new landings, the floor the plan's and the
    value-only list's expected landings hold, and the floor's price (None: no buildings)."""
    plan = served.plan
    s = plan.settings
    if s.free_m2 is None or plan.plan.space_m2 is None or plan.space_prices is None:
        return None
    as_of = pd.Timestamp(served.as_of).date()
    value_only = plan.value_only.space_m2
    return {
        "quarters": [quarter_label(as_of, k) for k in range(s.quarters)],
        "free_m2": [round(v, 1) for v in s.free_m2],
        "plan_m2": [round(float(v), 1) for v in plan.plan.space_m2],
        "value_only_m2": None if value_only is None else [round(float(v), 1) for v in value_only],
        "price_wan_cny_per_m2": [round(float(v), 4) for v in plan.space_prices],
        "bounding_quarters": int((plan.space_prices > TOLERANCE).sum()),
    }


TARGET_COLUMNS: Final = (
    ("id", "目标代码", "Target id", "text"),
    ("kind", "类型", "Kind", "text"),
    ("name_zh", "目标", "Target", "text"),
    ("target", "目标值", "Target", "float"),
    ("expected_now", "现有+在途预期", "Now + open pipeline", "float"),
    ("shortfall", "缺口（家）", "Shortfall (firms)", "float"),
    ("expected_plan", "计划预期新增", "Expected with the plan", "float"),
    ("expected_value_only", "按价值排序预期新增", "Expected with the value-only list", "float"),
    ("attainment_plan", "计划达成率", "Attainment, plan", "pct"),
    ("attainment_value_only", "按价值排序达成率", "Attainment, value-only", "pct"),
    ("tax_given_up_wan_cny", "为此放弃的税收（万元）", "Tax given up (10k CNY)", "wan"),
    ("price_wan_cny", "每家折合（万元）", "Price a firm (10k CNY)", "wan"),
    ("status", "状态", "Status", "text"),
    ("capacity_to_reach", "单独达成所需每季接触数", "Contacts a quarter to reach it alone", "int"),
)
LIST_COLUMNS: Final = (
    ("rank", "序号", "Rank", "int"),
    ("enterprise_id", "企业代码", "Enterprise id", "text"),
    ("name", "企业名称", "Firm", "text"),
    ("p_land", "落地概率", "P(land)", "pct"),
    ("tax_wan_cny", "园区年税收 P50（万元）", "In-park tax P50 a year (10k CNY)", "wan"),
    ("plan_value_wan_cny", "计划价值（万元）", "Plan value (10k CNY)", "wan"),
    ("reasons", "计入目标", "Targets it counts for", "text"),
)
_FORMATS: Final = {"int": "0", "wan": "#,##0", "pct": "0.0%", "float": "#,##0.00"}


def plan_xlsx(report: Mapping[str, Any], *, lang: str = "zh") -> bytes:
    """The plan as a workbook: the targets, one sheet per track's first-quarter list, and the
    settings and tax figures."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from api.serving.export import neutralise

    zh = lang == "zh"
    wb = Workbook()
    sheets: list[tuple[str, tuple[tuple[str, str, str, str], ...], list[dict[str, Any]]]] = [
        ("目标" if zh else "Targets", TARGET_COLUMNS, list(report["targets"]))
    ]
    for track, items in report["lists"].items():
        rows = [
            {
                **item,
                "reasons": "；".join(r["text_zh" if zh else "text_en"] for r in item["reasons"]),
            }
            for item in items
        ]
        title = f"{report['first_quarter']} {track}"
        sheets.append((title, LIST_COLUMNS, rows))
    first = True
    for title, columns, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        first = False
        ws.title = title[:31]
        ws.append([zh_label if zh else en_label for _, zh_label, en_label, _ in columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([neutralise(row.get(key)) for key, _, _, _ in columns])
        for j, (_, _, _, kind) in enumerate(columns, start=1):
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if kind in _FORMATS:
                    cell.number_format = _FORMATS[kind]
        ws.freeze_panes = "A2"
    info = wb.create_sheet("说明" if zh else "About")
    tax = report["tax"]
    for key, value in (
        ("as_of", report["as_of"]),
        ("first_quarter", report["first_quarter"]),
        ("horizon_quarters", report["horizon_quarters"]),
        ("quarters_to_land", report["quarters_to_land"]),
        ("capacity", ", ".join(f"{k}: {v}" for k, v in report["capacity"].items())),
        ("penalty_wan_cny", report["penalty_wan_cny"]),
        ("tax_plan_wan_cny", tax["plan_wan_cny"]),
        ("tax_value_only_wan_cny", tax["value_only_wan_cny"]),
        ("tax_given_up_vs_value_only_wan_cny", tax["given_up_vs_value_only_wan_cny"]),
        ("candidates", report["candidates"]),
    ):
        info.append([key, neutralise(value)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# the prices of the last plan at the park YAML's settings, per loaded state: what each lead's
# plan value is counted at (lists, exports, the enterprise page) once such a plan was solved
_prices: dict[tuple[int, str], tuple[list[PlanTarget], ServedPlan]] = {}
_prices_lock = threading.Lock()
_pending: set[tuple[int, str]] = set()


@dataclass(frozen=True)
class PlanOrder:
    """A track's lead table ranked with the plan's prices: per row (the table's order) its plan
    value and its score with the plan (``LeadValue.with_plan``); the rows by that score, best
    first (ties: the table's order), and each row's place in it."""

    plan_value: np.ndarray
    plan_score: np.ndarray
    order: np.ndarray
    rank: np.ndarray
    counts: sparse.csr_matrix | None = None  # per row, its firms toward each target

    def ordered(self, keep: np.ndarray) -> np.ndarray:
        """The rows of a row mask in the plan's order."""
        return np.asarray(self.order[keep[self.order]])

    def head(self, keep: np.ndarray, stop: int) -> np.ndarray:
        """The first ``stop`` rows of a row mask in the plan's order (a page reads its head
        only: the order is walked in blocks until it has them)."""
        out: list[np.ndarray] = []
        found, block = 0, max(4096, 2 * stop)
        for lo in range(0, len(self.order), block):
            rows = self.order[lo : lo + block]
            rows = rows[keep[rows]]
            out.append(rows)
            found += len(rows)
            if found >= stop:
                break
        return np.concatenate(out)[:stop] if out else np.zeros(0, dtype=np.int64)


_orders: dict[tuple[tuple[int, str], str], PlanOrder] = {}
# up to this many firms outside the plan are matched against its targets on their own rows
FEW_FIRMS: Final = 500


def _target_counts(
    state: ServiceState, served: ServedPlan, targets: list[PlanTarget], ids: pd.Series
) -> sparse.csr_matrix:
    """Firms toward each target per firm of ``ids``: the plan's candidates from its matrix (a
    lookup), any other firm (one the lists leave out) matched against the targets."""
    assert state.park is not None
    pos = served.firms.get_indexer(pd.Index(ids))
    found, missing = np.flatnonzero(pos >= 0), np.flatnonzero(pos < 0)
    blocks = [sparse.csr_matrix(served.counts[pos[found]])]
    if len(missing):
        others = ids.iloc[missing].reset_index(drop=True)
        # a page's few firms are matched on their own rows, not looked up over the universe
        tables = (
            state.tables_of_many([str(e) for e in others])
            if len(others) <= FEW_FIRMS
            else state.tables
        )
        rest = target_matrix(state.park, targets, others, tables)
        blocks.append(sparse.csr_matrix(rest))
    stacked = sparse.csr_matrix(sparse.vstack(blocks, format="csr"))
    back = np.empty(len(ids), dtype=np.int64)  # row of ids -> row of the stacked blocks
    back[np.concatenate([found, missing])] = np.arange(len(ids))
    return sparse.csr_matrix(stacked[back])


def plan_order(
    state: ServiceState, track: str, served: ServedPlan, targets: list[PlanTarget]
) -> PlanOrder:
    """A track's table ranked with the plan's prices (``PlanOrder``)."""
    assert state.park is not None
    table = state.leads[track]
    ids, p, value, chain = (
        table.column(k) for k in (C.ENTERPRISE_ID, "p_land", "value_wan_cny", "chain_value_wan_cny")
    )
    assert ids is not None and p is not None and value is not None and chain is not None
    counts = _target_counts(state, served, targets, pd.Series(ids.astype(str)))
    prices = np.array([o.price_wan_cny for o in served.plan.targets], dtype=float)
    plan_value = (
        np.asarray(counts @ prices, dtype=float).ravel() if len(prices) else np.zeros(len(ids))
    )
    block = state.park.contact_plan
    score = LeadValue.of(state.park, track).with_plan(
        p_land=np.nan_to_num(np.asarray(p, dtype=float)),
        value=np.nan_to_num(np.asarray(value, dtype=float)),
        chain_value=np.nan_to_num(np.asarray(chain, dtype=float)),
        plan_value=plan_value,
        replaces_chain=bool(block and block.chain_link_targets),
    )
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return PlanOrder(plan_value=plan_value, plan_score=score, order=order, rank=rank, counts=counts)


def remember_prices(state: ServiceState, served: ServedPlan, targets: list[PlanTarget]) -> None:
    """Keep a plan's targets and prices for the state's lead lists (the newest load's only),
    and each track's table ranked with them."""
    orders = {track: plan_order(state, track, served, targets) for track in state.leads}
    with _prices_lock:
        _prices.clear()
        _prices[_loaded(state)] = (targets, served)
        _orders.clear()
        _orders.update({(_loaded(state), t): o for t, o in orders.items()})


def order_of(state: ServiceState, track: str) -> PlanOrder | None:
    """The track's ranking with the plan's prices, once a plan at the YAML's settings was
    solved for this load (``None`` before: the lists keep the model's order)."""
    with _prices_lock:
        return _orders.get((_loaded(state), track))


# the plan the lists' prices come from, shared by the workers of a snapshot: bump the format
# when ServedPlan or what it holds changes; a plan older than the age is solved again (with the
# pipeline as it is then) by the next load that asks
PRICES_FORMAT: Final = 1
PRICES_MAX_AGE_SECONDS: Final = 600.0


def prices_soon(state: ServiceState, factory: sessionmaker[Session]) -> None:
    """Solve the plan at the YAML's settings in a background thread once per load, so the
    lists have their plan values from the next request on (a plan takes seconds). The pipeline
    is read here, in the request; the thread touches no database. With workers mapping one
    snapshot the first solves and the others read its plan, while it is under
    ``PRICES_MAX_AGE_SECONDS`` old: the lists' prices are then those of the pipeline as that
    load read it (the plan page solves for the pipeline as it is now)."""
    key = _loaded(state)
    with _prices_lock:
        if key in _prices or key in _pending or state.park is None or not state.park.contact_plan:
            return
        _pending.add(key)
    try:
        pipeline = pipeline_now(state, factory)
    except Exception:
        with _prices_lock:
            _pending.discard(key)
        raise

    def solve() -> tuple[ServedPlan, list[PlanTarget]]:
        return plan_for(state, pipeline, remember=False), the_targets(state, pipeline)

    def run() -> None:
        try:
            # one plan per snapshot for every worker serving it: the first solves, the others
            # read it (a plan at 1 M is some 20 s of both cores, per worker otherwise)
            served, targets = (
                once_per_snapshot(
                    snapshots_root(state.settings),
                    state.snapshot_key,
                    f"plan-prices-v{PRICES_FORMAT}",
                    solve,
                    kind=tuple,
                    max_age_seconds=PRICES_MAX_AGE_SECONDS,
                )
                if state.snapshot_key
                else solve()
            )
            remember_prices(state, served, targets)
        except Exception:  # the lists go on without plan values; the plan page says why
            log.exception("the contact plan for the lists' plan values failed")
        finally:
            with _prices_lock:
                _pending.discard(key)

    threading.Thread(target=run, name="contact-plan-prices", daemon=True).start()


_SCORE_PARTS: Final = ("p_land", "value_wan_cny", "chain_value_wan_cny")


def plan_score(state: ServiceState, track: str, scores: Mapping[str, Any], value: float) -> float:
    """One lead's score with the plan (``LeadValue.with_plan``) from the scores it shows (a
    form chosen on the enterprise page changes them) and its plan value."""
    return float(plan_scores(state, track, [scores], np.array([value]))[0])


def plan_scores(
    state: ServiceState, track: str, scores: Sequence[Mapping[str, Any]], values: np.ndarray
) -> np.ndarray:
    """``plan_score`` of many leads at once."""
    assert state.park is not None
    block = state.park.contact_plan

    def part(name: str) -> np.ndarray:
        return np.array([float(s[name]) for s in scores], dtype=float)

    return LeadValue.of(state.park, track).with_plan(
        p_land=part("p_land"),
        value=part("value_wan_cny"),
        chain_value=part("chain_value_wan_cny"),
        plan_value=np.asarray(values, dtype=float),
        replaces_chain=bool(block and block.chain_link_targets),
    )


def add_plan_values(
    state: ServiceState, items: list[dict[str, Any]], *, track: str | None = None
) -> None:
    """Each lead record gains ``plan_value_wan_cny`` (Σ price × the firms it counts for toward
    each target; ``None`` until a plan at the YAML's settings was solved for this load) and,
    per target it counts for, a reason naming the target's shortfall and price. Records of a
    ``track``'s table also gain ``plan_score_wan_cny`` (the score the list is ranked by once
    the plan is solved, ``LeadValue.with_plan``) and their ``overall_rank`` in that order."""
    with _prices_lock:
        known = _prices.get(_loaded(state))
        order = _orders.get((_loaded(state), track)) if track is not None else None
    if known is None or state.park is None or not items:
        for item in items:
            item.setdefault("plan_value_wan_cny", None)
            item.setdefault("plan_score_wan_cny", None)
        return
    targets, served = known
    outcomes = served.plan.targets
    ids = pd.Series([str(item[C.ENTERPRISE_ID]) for item in items])
    table = state.leads.get(track) if track is not None else None
    positions = (
        table.index.get_indexer(pd.Index(ids)) if table is not None else np.full(len(ids), -1)
    )
    if order is not None and order.counts is not None and bool((positions >= 0).all()):
        counts = sparse.csr_matrix(order.counts[positions])  # the rows of the table's ranking
    else:
        counts = _target_counts(state, served, targets, ids)
    prices = np.array([o.price_wan_cny for o in outcomes], dtype=float)
    values = np.asarray(counts @ prices, dtype=float).ravel()
    plan_score_of: dict[int, float] = {}
    if track is not None:
        scored = [
            i for i, item in enumerate(items) if all(item.get(k) is not None for k in _SCORE_PARTS)
        ]
        with_plan = plan_scores(state, track, [items[i] for i in scored], values[scored])
        plan_score_of = dict(zip(scored, with_plan.tolist(), strict=True))
    worded: dict[int, dict[str, Any]] = {}  # each target's reason, worded once per page
    for i, item in enumerate(items):
        item["plan_value_wan_cny"] = round(float(values[i]), 1)
        if i in plan_score_of:
            item["plan_score_wan_cny"] = round(plan_score_of[i], 1)
        else:
            item.setdefault("plan_score_wan_cny", None)
        if order is not None and positions[i] >= 0:
            item["overall_rank"] = int(order.rank[positions[i]]) + 1
        lo, hi = counts.indptr[i], counts.indptr[i + 1]
        reasons = []
        for j in counts.indices[lo:hi].tolist():
            if outcomes[j].price_wan_cny > 0:
                if j not in worded:
                    worded[j] = {**target_reason(outcomes[j]), "effect": "+"}
                reasons.append(dict(worded[j]))
        item["reasons"] = [*reasons, *item.get("reasons", [])]  # the plan's first
