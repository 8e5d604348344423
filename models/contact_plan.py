"""The contact plan: which candidates each track approaches in which quarter, so that the
expected in-park tax over the horizon is as large as possible while the expected landings reach
the remaining shortfall of every countable target (``industry_graph.targets``), within the
team's capacity — and what one more firm toward each target is worth (its **price**).

The linear programme, over the quarters ``t = 0 … H − L − 1`` in which a first contact still
lands inside the horizon (``H`` quarters from the as-of quarter to the end of the plan's last
year, ``L`` quarters from contact to landing; the park YAML's ``contact_plan``), with ``x[i, t]``
∈ [0, 1] the share of candidate ``i`` contacted in quarter ``t``:

    maximise   Σ x[i, t] · p_i · tax_i / 4 · (H − t − L)  −  penalty · Σ_j s_j
    subject to Σ_{i ∈ track k} x[i, t] ≤ capacity_k               (each quarter, each track)
               Σ_{t, rows of firm f} x[i, t] ≤ 1                   (each firm at most once)
               Σ x[i, t] · p_i · a[i, j] + s_j ≥ shortfall_j       (each target j)
               s_j ≥ 0

``p_i`` is the lead's P(land), ``tax_i`` its in-park tax a year (tax P50 × in-park share, as
the lead tables hold them), ``a[i, j]`` the firms it counts for target ``j`` if it lands. It is
the LP relaxation, solved by HiGHS (``scipy.optimize.linprog``); the **price** of target ``j``
is the dual of its row (``−res.ineqlin.marginals``): the 万元 of expected in-park tax over the
horizon one more expected firm toward it costs at this capacity — at most the penalty, which
it equals for a target left short. The YAML may set a floor under a price.

A target left short (``s_j > 0``) is **unreachable** when even the whole capacity spent on it
alone falls short (``capacity_to_reach`` says how many contacts a quarter per track would
reach it alone; ``None``: not even every candidate would), else **short** (reachable alone, not
together with the other targets at this capacity).

The **lists** round the relaxation: each quarter, each track takes its ``capacity`` candidates
with the largest ``x[i, t]`` not yet taken (ties: larger expected tax). The **value-only list**
is today's ranking (the lead ``score``) taken ``capacity`` a quarter per track, in order.
Both lists are measured the same way: expected tax over the horizon and expected firms per
target. **Tax given up** is the tax-only optimum (the same LP without targets) minus the plan.

Candidates: the LP starts from a cut — per track the ``candidates_per_track`` best by expected
tax, and per target twice the most a track can contact in the horizon (2 × capacity ×
quarters) best by expected firms toward it — then takes in every candidate outside the cut
whose reduced profit at the solution's prices (its tax in its best quarter, plus P(land) × Σ
price × its firms toward the targets, minus the capacity's and its firm's prices) is positive
and solves again, until there is none (column generation): the result is the LP optimum over
all candidates, whatever the cut.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

TOLERANCE = 1e-6
# HiGHS runs without Python's lock: the plan's LP, the tax-only LP and the targets' costs are
# solved side by side, one core each
SOLVER_THREADS = max(1, min(4, len(os.sched_getaffinity(0))))
TargetStatus = Literal["met", "short", "unreachable"]


class PlanInputError(ValueError):
    """Bad plan input: the message starts with the field's name."""


@dataclass(frozen=True)
class PlanTarget:
    """A target the plan must reach: ``shortfall`` expected firms (see ``industry_graph.targets``)."""

    id: str
    kind: str
    name_zh: str
    name_en: str
    target: float
    expected_now: float
    shortfall: float
    price_floor: float = 0.0


@dataclass(frozen=True)
class Candidates:
    """One row per candidate and track (a firm on two tracks has two rows)."""

    enterprise_id: np.ndarray  # str
    name: np.ndarray  # str
    track: np.ndarray  # str
    p_land: np.ndarray
    tax_wan_cny: np.ndarray  # in-park tax a year if it lands (P50)
    score: np.ndarray  # the lead list's score (the value-only order)
    counts: sparse.csr_matrix  # rows × targets: firms toward each target if it lands
    need_m2: np.ndarray | None = None  # floor its unit would lease if it lands (P50)

    def __len__(self) -> int:
        return len(self.enterprise_id)

    def subset(self, rows: np.ndarray) -> Candidates:
        """These rows only."""
        return Candidates(
            enterprise_id=self.enterprise_id[rows],
            name=self.name[rows],
            track=self.track[rows],
            p_land=self.p_land[rows],
            tax_wan_cny=self.tax_wan_cny[rows],
            score=self.score[rows],
            counts=sparse.csr_matrix(self.counts[rows]),
            need_m2=None if self.need_m2 is None else self.need_m2[rows],
        )


@dataclass(frozen=True)
class PlanSettings:
    """Capacity per quarter per track, the horizon in quarters, quarters to land, the penalty
    per expected firm short (万元) and the candidate cut per track. With ``penalty_firm_years``
    the penalty is that many years of the in-park tax P50 of the median firm the value-only
    lists contact (``resolve_penalty``): one more firm toward a target is worth at most what a
    typical landing of today's lists would pay, whatever the unit of the park's tax."""

    capacity: Mapping[str, int]
    quarters: int
    quarters_to_land: int
    penalty: float
    candidates_per_track: int = 3000
    penalty_firm_years: float | None = None
    # free floor (m²) each horizon quarter leaves to new landings; None: space is not a limit
    free_m2: tuple[float, ...] | None = None

    def space_rows(self, need: np.ndarray | None) -> bool:
        """Whether the plan bounds the floor its landings take (free area and needs given)."""
        return self.free_m2 is not None and need is not None

    @property
    def contact_quarters(self) -> int:
        """Quarters in which a first contact still lands inside the horizon."""
        return self.quarters - self.quarters_to_land


def quarter_label(day: date, offset: int = 0) -> str:
    """``2021Q1``: the quarter ``offset`` quarters after the one following ``day``'s quarter
    end (a plan made as of 2020-12-31 starts in 2021Q1)."""
    index = day.year * 4 + (day.month - 1) // 3 + 1 + offset
    return f"{index // 4}Q{index % 4 + 1}"


def horizon_quarters(as_of: date, end_year: int, rolling: int) -> int:
    """Quarters from the one after the as-of quarter to the end of ``end_year``; ``rolling``
    once that year has passed."""
    first = as_of.year * 4 + (as_of.month - 1) // 3 + 1
    last = end_year * 4 + 3
    return last - first + 1 if last >= first else rolling


def check_settings(
    settings: PlanSettings, tracks: Sequence[str], *, max_quarters: int | None = None
) -> None:
    """Raise ``PlanInputError`` naming the field for a capacity ≤ 0, an unknown track, a
    horizon too short to land in or past the plan."""
    for track, n in settings.capacity.items():
        if track not in tracks:
            raise PlanInputError(f"track: {track!r} is no track of the park ({', '.join(tracks)})")
        if n <= 0:
            raise PlanInputError(f"capacity: contacts per quarter must be positive (got {n})")
    if max_quarters is not None and settings.quarters > max_quarters:
        raise PlanInputError(
            f"horizon: {settings.quarters} quarters runs past the plan's end "
            f"({max_quarters} quarters from the as-of date)"
        )
    if settings.quarters <= 0:
        raise PlanInputError(f"horizon: at least one quarter (got {settings.quarters})")
    if settings.contact_quarters <= 0:
        raise PlanInputError(
            f"horizon: {settings.quarters} quarters leaves no quarter to contact a firm that "
            f"lands inside it ({settings.quarters_to_land} quarters to land)"
        )


@dataclass(frozen=True)
class TargetOutcome:
    """One target after planning."""

    id: str
    kind: str
    name_zh: str
    name_en: str
    target: float
    expected_now: float
    shortfall: float
    expected_plan: float  # shortfall reached: expected firms the plan's lists add
    expected_value_only: float  # the same for the value-only list
    price_wan_cny: float
    status: TargetStatus
    capacity_to_reach: int | None  # contacts a quarter per track that reach it alone
    candidates_counting: int  # candidate rows that would count for it if they landed
    # the relaxation's tax without this target minus with it (None: not computed)
    tax_given_up_wan_cny: float | None

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class Schedule:
    """A list of contacts: per row of the candidates, the quarter (−1: not contacted)."""

    quarter: np.ndarray
    tax_wan_cny: float  # expected in-park tax over the horizon
    per_target: np.ndarray  # expected firms toward each target
    # expected floor its landings hold at each horizon quarter's end (None: needs not given)
    space_m2: np.ndarray | None = None


@dataclass(frozen=True)
class ContactPlan:
    """The plan, the value-only list at the same capacity, the targets and their prices."""

    settings: PlanSettings
    candidates: Candidates  # the cut the LP saw
    targets: list[TargetOutcome]
    plan: Schedule
    value_only: Schedule
    lp_tax_wan_cny: float  # the relaxation's expected tax
    tax_only_wan_cny: float  # the relaxation's optimum without targets
    x: np.ndarray  # rows × contact quarters, the relaxation
    solve_seconds: float
    candidates_in: int  # rows offered
    candidates_cut: int  # rows of the first cut
    rounds: int  # solves until no candidate outside the cut would raise the objective
    prices: dict[str, float] = field(default_factory=dict)
    # per horizon quarter, 万元 of expected tax one more m² of free floor would bring (the dual
    # of its free-area row; 0 where the floor is not what limits the plan)
    space_prices: np.ndarray | None = None
    # the value-only list per track, in contact order (quarter, then score)
    value_only_lists: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tax_given_up_wan_cny(self) -> float:
        """The tax-only optimum minus the plan's relaxation."""
        return max(0.0, self.tax_only_wan_cny - self.lp_tax_wan_cny)

    def quarter_list(self, track: str, quarter: int = 0) -> pd.DataFrame:
        """The firms a track approaches in a quarter (0: the first), by expected tax."""
        c = self.candidates
        rows = np.flatnonzero((self.plan.quarter == quarter) & (c.track == track))
        frame = pd.DataFrame(
            {
                "enterprise_id": c.enterprise_id[rows],
                "name": c.name[rows],
                "track": c.track[rows],
                "p_land": c.p_land[rows],
                "tax_wan_cny": c.tax_wan_cny[rows],
                "x": self.x[rows, quarter] if quarter < self.x.shape[1] else 0.0,
                "plan_value_wan_cny": plan_values(self, rows),
                "targets": [self.counted_targets(int(r)) for r in rows],
            }
        )
        frame["expected_tax_wan_cny"] = frame["p_land"] * frame["tax_wan_cny"]
        return frame.sort_values(
            ["plan_value_wan_cny", "expected_tax_wan_cny"], ascending=False, kind="stable"
        ).reset_index(drop=True)

    def counted_targets(self, row: int) -> list[str]:
        """The ids of the targets a candidate row counts for."""
        counts = self.candidates.counts
        lo, hi = counts.indptr[row], counts.indptr[row + 1]
        return [self.targets[int(j)].id for j in counts.indices[lo:hi]]


def plan_values(plan: ContactPlan, rows: np.ndarray | None = None) -> np.ndarray:
    """Σ price × firms toward each target it counts for, per candidate row, in 万元."""
    prices = np.array([t.price_wan_cny for t in plan.targets], dtype=float)
    counts = plan.candidates.counts if rows is None else plan.candidates.counts[rows]
    return (
        np.asarray(counts @ prices, dtype=float).ravel()
        if len(prices)
        else np.zeros(counts.shape[0])
    )


def resolve_penalty(candidates: Candidates, settings: PlanSettings) -> PlanSettings:
    """The settings with the penalty in 万元: as given, or ``penalty_firm_years`` × the median
    in-park tax P50 of the rows the value-only lists contact (at least 1 万元)."""
    if settings.penalty_firm_years is None:
        return settings
    chosen = value_only_schedule(candidates, settings) >= 0
    tax = candidates.tax_wan_cny[chosen]
    typical = float(np.median(tax)) if len(tax) else 0.0
    return replace(settings, penalty=max(1.0, settings.penalty_firm_years * typical))


def cut_candidates(
    candidates: Candidates, settings: PlanSettings, shortfall: np.ndarray
) -> np.ndarray:
    """Rows the LP starts from (sorted): per track the best ``candidates_per_track`` by
    expected tax, and per target with a shortfall the best quarter of what the track could
    contact in the horizon (capacity × contact quarters / 4, at most ``candidates_per_track``)
    by expected firms toward it. Only a start: ``_solve_all`` takes in whatever else would
    raise the objective."""
    keep = np.zeros(len(candidates), dtype=bool)
    expected_tax = candidates.p_land * candidates.tax_wan_cny
    for track, cap in settings.capacity.items():
        rows = np.flatnonzero(candidates.track == track)
        if not len(rows):
            continue
        best = rows[np.argsort(-expected_tax[rows], kind="stable")[: settings.candidates_per_track]]
        keep[best] = True
        reach = cap * settings.contact_quarters
        counts = candidates.counts[rows].tocsc()
        for j in np.flatnonzero(shortfall > TOLERANCE):
            column = counts[:, j]
            hit = column.indices
            gain = column.data * candidates.p_land[rows[hit]]
            top = hit[
                np.argsort(-gain, kind="stable")[
                    : min(max(cap, reach // 4), settings.candidates_per_track)
                ]
            ]
            keep[rows[top]] = True
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class _Solution:
    x: np.ndarray  # rows × contact quarters
    slack: np.ndarray  # per target
    prices: np.ndarray  # per target, 万元 per expected firm (−marginals)
    capacity_prices: np.ndarray  # tracks × quarters
    firm_prices: pd.Series  # enterprise id -> price of its "at most once" row
    tax: float  # expected in-park tax of x
    space_prices: np.ndarray  # per horizon quarter, 万元 per m² of free floor (0 without)
    rent: np.ndarray  # per contact quarter, 万元 per m² its landings hold to the horizon's end


def _solve(
    c: Candidates,
    settings: PlanSettings,
    shortfall: np.ndarray,
    penalty: float,
) -> _Solution:
    """The LP of the module doc over the rows of ``c``."""
    n, q, m = len(c), settings.contact_quarters, len(shortfall)
    expected = c.p_land * c.tax_wan_cny / 4.0
    remaining = settings.quarters - settings.quarters_to_land - np.arange(q)  # ≥ 1
    value = (expected[:, None] * remaining[None, :]).ravel()  # x[i, t] at i * q + t
    n_x = n * q
    cost = np.concatenate([-value, np.full(m, penalty)])
    var = np.arange(n_x)
    row_i, col_t = var // q, var % q
    blocks = []
    # capacity: one row per (track, quarter)
    tracks = list(settings.capacity)
    track_code = pd.Categorical(c.track, categories=tracks).codes
    use = track_code[row_i] >= 0
    cap_rows = track_code[row_i] * q + col_t
    blocks.append(
        sparse.csr_matrix(
            (np.ones(int(use.sum())), (cap_rows[use], var[use])), shape=(len(tracks) * q, n_x + m)
        )
    )
    cap_rhs = np.repeat([float(settings.capacity[t]) for t in tracks], q)
    # each firm at most once (over its tracks and quarters)
    firm_code, firms = pd.factorize(pd.Series(c.enterprise_id))
    blocks.append(
        sparse.csr_matrix((np.ones(n_x), (firm_code[row_i], var)), shape=(len(firms), n_x + m))
    )
    once_rhs = np.ones(len(firms))
    # targets: −Σ p a x − s ≤ −shortfall
    coo = sparse.csr_matrix(c.counts.multiply(c.p_land[:, None])).T.tocoo()  # m × n
    t_rows = np.repeat(coo.row, q)
    t_cols = (coo.col[:, None] * q + np.arange(q)[None, :]).ravel()
    t_vals = np.repeat(coo.data, q)
    blocks.append(
        sparse.csr_matrix(
            (
                np.concatenate([-t_vals, -np.ones(m)]),
                (
                    np.concatenate([t_rows, np.arange(m)]),
                    np.concatenate([t_cols, n_x + np.arange(m)]),
                ),
            ),
            shape=(m, n_x + m),
        )
    )
    a_ub = sparse.vstack(blocks, format="csr")
    b_ub = np.concatenate([cap_rhs, once_rhs, -shortfall])
    bounds = np.column_stack(
        [np.zeros(n_x + m), np.concatenate([np.ones(n_x), np.full(m, np.inf)])]
    )
    space_rhs, a_eq, b_eq = np.zeros(0), None, None
    if settings.space_rows(c.need_m2):
        # the floor the contacts of quarter t bring, v[t] = Σ_i p_i need_i x[i, t] (one equality
        # row each), held from t + L on: quarter k holds Σ_{t + L ≤ k} v[t] ≤ free[k]. Through
        # v the rows hold n × q + q² entries, not n × q² / 2.
        assert c.need_m2 is not None and settings.free_m2 is not None
        weight = c.p_land[row_i] * np.nan_to_num(c.need_m2)[row_i]
        width = n_x + m + q
        a_ub = sparse.hstack([a_ub, sparse.csr_matrix((a_ub.shape[0], q))], format="csr")
        a_eq = sparse.csr_matrix(
            (
                np.concatenate([weight, -np.ones(q)]),
                (
                    np.concatenate([col_t, np.arange(q)]),
                    np.concatenate([var, n_x + m + np.arange(q)]),
                ),
            ),
            shape=(q, width),
        )
        b_eq = np.zeros(q)
        k, t = np.meshgrid(np.arange(settings.quarters), np.arange(q), indexing="ij")
        held = (t + settings.quarters_to_land <= k).ravel()
        a_ub = sparse.vstack(
            [
                a_ub,
                sparse.csr_matrix(
                    (np.ones(int(held.sum())), (k.ravel()[held], n_x + m + t.ravel()[held])),
                    shape=(settings.quarters, width),
                ),
            ],
            format="csr",
        )
        space_rhs = np.asarray(settings.free_m2, dtype=float)
        b_ub = np.concatenate([b_ub, space_rhs])
        cost = np.concatenate([cost, np.zeros(q)])
        bounds = np.vstack([bounds, np.column_stack([np.zeros(q), np.full(q, np.inf)])])
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"the contact plan's LP did not solve: {res.message}")
    duals = -np.asarray(res.ineqlin.marginals, dtype=float)
    n_cap = len(tracks) * q
    n_targets_end = n_cap + len(firms) + m
    bounded = len(space_rhs) > 0
    return _Solution(
        x=res.x[:n_x].reshape(n, q),
        slack=res.x[n_x : n_x + m],
        prices=duals[n_cap + len(firms) : n_targets_end],
        space_prices=duals[n_targets_end:] if bounded else np.zeros(settings.quarters),
        rent=-np.asarray(res.eqlin.marginals, dtype=float) if bounded else np.zeros(q),
        capacity_prices=duals[:n_cap].reshape(len(tracks), q),
        firm_prices=pd.Series(duals[n_cap : n_cap + len(firms)], index=firms),
        tax=float(value @ res.x[:n_x]),
    )


def _improving(
    candidates: Candidates, settings: PlanSettings, solution: _Solution, outside: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``outside`` whose reduced profit at the solution's prices is positive, and that
    profit: contacting them in their best quarter would raise the objective, so the cut must
    take them in."""
    q = settings.contact_quarters
    remaining = settings.quarters - settings.quarters_to_land - np.arange(q)
    tracks = list(settings.capacity)
    out, gains = [], []
    for lo in range(0, len(outside), 200_000):
        rows = outside[lo : lo + 200_000]
        code = pd.Categorical(candidates.track[rows], categories=tracks).codes
        rows, code = rows[code >= 0], code[code >= 0]
        expected = candidates.p_land[rows] * candidates.tax_wan_cny[rows] / 4.0
        gain = expected[:, None] * remaining[None, :] - solution.capacity_prices[code]
        if settings.space_rows(candidates.need_m2):
            assert candidates.need_m2 is not None
            # a contact in t holds its floor from t + L to the horizon's end: the dual of the
            # row that sums the floor of quarter t's contacts
            need = candidates.p_land[rows] * np.nan_to_num(candidates.need_m2[rows])
            gain = gain - need[:, None] * solution.rent[None, :]
        best = gain.max(axis=1)
        toward = np.asarray(candidates.counts[rows] @ solution.prices, dtype=float).ravel()
        firm = (
            pd.Series(candidates.enterprise_id[rows])
            .map(solution.firm_prices)
            .fillna(0.0)
            .to_numpy()
        )
        profit = best + candidates.p_land[rows] * toward - firm
        good = profit > TOLERANCE * max(1.0, float(np.abs(expected).max(initial=0.0)))
        out.append(rows[good])
        gains.append(profit[good])
    if not out:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(out), np.concatenate(gains)


def _solve_all(
    candidates: Candidates,
    settings: PlanSettings,
    shortfall: np.ndarray,
    rows: np.ndarray,
    *,
    max_rounds: int = 50,
) -> tuple[np.ndarray, _Solution, int]:
    """Solve on the cut, then add every candidate outside it whose reduced profit is positive
    and solve again, until there is none: the LP optimum over all candidates (column
    generation). (rows, solution, rounds)."""
    rows = np.sort(rows)
    for rounds in range(1, max_rounds + 1):
        solution = _solve(candidates.subset(rows), settings, shortfall, settings.penalty)
        outside = np.setdiff1d(np.arange(len(candidates)), rows, assume_unique=True)
        more, profit = _improving(candidates, settings, solution, outside)
        if not len(more):
            return rows, solution, rounds
        # the most improving first: at most twice the contacts the horizon holds per round
        most = 2 * sum(settings.capacity.values()) * settings.contact_quarters
        rows = np.union1d(rows, more[np.argsort(-profit, kind="stable")[:most]])
    raise RuntimeError(f"the contact plan did not settle in {max_rounds} rounds of candidates")


def _measure(c: Candidates, settings: PlanSettings, quarter: np.ndarray) -> Schedule:
    chosen = quarter >= 0
    remaining = np.where(chosen, settings.quarters - settings.quarters_to_land - quarter, 0).astype(
        float
    )
    tax = float((c.p_land * c.tax_wan_cny / 4.0 * remaining).sum())
    weights = np.where(chosen & (remaining >= 1), c.p_land, 0.0)
    per_target = np.asarray(c.counts.T @ weights, dtype=float).ravel()
    space = None
    if c.need_m2 is not None:
        land = np.where(chosen, quarter + settings.quarters_to_land, settings.quarters)
        held = weights * np.nan_to_num(c.need_m2)
        space = np.array([float(held[land <= k].sum()) for k in range(settings.quarters)])
    return Schedule(quarter=quarter, tax_wan_cny=tax, per_target=per_target, space_m2=space)


def _round(c: Candidates, settings: PlanSettings, x: np.ndarray) -> np.ndarray:
    """Each quarter, each track takes its capacity of rows with the largest x (firms once), and
    no row whose expected floor would overfill the free area of a quarter after it lands."""
    quarter = np.full(len(c), -1)
    taken: set[str] = set()
    expected_tax = c.p_land * c.tax_wan_cny
    bounded = settings.space_rows(c.need_m2)
    free = np.asarray(settings.free_m2 if bounded else (), dtype=float)
    held = np.zeros(len(free))
    floor = c.p_land * np.nan_to_num(c.need_m2) if bounded else np.zeros(len(c))  # type: ignore[arg-type]
    for t in range(x.shape[1]):
        for track, cap in settings.capacity.items():
            rows = np.flatnonzero((c.track == track) & (x[:, t] > TOLERANCE))
            order = rows[np.lexsort((-expected_tax[rows], -x[rows, t]))]
            n = 0
            for r in order:
                if n >= cap:
                    break
                if quarter[r] >= 0 or c.enterprise_id[r] in taken:
                    continue
                land = t + settings.quarters_to_land
                if bounded and bool(
                    (held[land:] + floor[r] > free[land:] * (1 + TOLERANCE) + TOLERANCE).any()
                ):
                    continue
                held[land:] += floor[r]
                quarter[r] = t
                taken.add(str(c.enterprise_id[r]))
                n += 1
    return quarter


def value_only_schedule(c: Candidates, settings: PlanSettings) -> np.ndarray:
    """Today's lists: each track's candidates by score, ``capacity`` a quarter, a firm once."""
    quarter = np.full(len(c), -1)
    taken: set[str] = set()
    queues = {
        track: list(
            np.flatnonzero(c.track == track)[np.argsort(-c.score[c.track == track], kind="stable")]
        )
        for track in settings.capacity
    }
    for t in range(settings.contact_quarters):
        for track, cap in settings.capacity.items():
            queue, n = queues[track], 0
            while queue and n < cap:
                r = queue.pop(0)
                if str(c.enterprise_id[r]) in taken:
                    continue
                quarter[r] = t
                taken.add(str(c.enterprise_id[r]))
                n += 1
    return quarter


def capacity_to_reach(
    c: Candidates, settings: PlanSettings, j: int, shortfall: float
) -> int | None:
    """Fewest contacts a quarter per track that reach target ``j`` alone (every contact on its
    best firms for it); ``None`` when every candidate together falls short."""
    if shortfall <= TOLERANCE:
        return 0
    column = c.counts[:, j].toarray().ravel() * c.p_land
    per_track = []
    for track in settings.capacity:
        gains = np.sort(column[(c.track == track) & (column > 0)])[::-1]
        per_track.append(np.cumsum(gains))
    if sum(float(g[-1]) for g in per_track if len(g)) < shortfall - TOLERANCE:
        return None
    q = settings.contact_quarters

    def reached(cap: int) -> bool:
        total = sum(float(g[min(cap * q, len(g)) - 1]) for g in per_track if len(g))
        return total >= shortfall - TOLERANCE

    lo, hi = 1, max(len(g) for g in per_track)
    while lo < hi:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def make_plan(
    candidates: Candidates,
    targets: Sequence[PlanTarget],
    settings: PlanSettings,
    *,
    target_costs: bool | Sequence[str] = True,
) -> ContactPlan:
    """Solve the contact plan (see the module doc). ``target_costs``: which kinds of target
    (``kpi``, ``link``) get their tax given up by solving once more without them (True: all;
    one solve each target with a price, so a large plan asks for KPIs only); the others' is
    ``None``."""
    if candidates.counts.shape != (len(candidates), len(targets)):
        raise ValueError(
            f"counts: {candidates.counts.shape} for {len(candidates)} rows and {len(targets)} targets"
        )
    started = time.perf_counter()
    settings = resolve_penalty(candidates, settings)
    shortfall = np.array([t.shortfall for t in targets], dtype=float)
    cut = cut_candidates(candidates, settings, shortfall)

    def tax_with(need: np.ndarray) -> float:
        return _solve_all(candidates, settings, need, cut)[1].tax

    with ThreadPoolExecutor(max_workers=SOLVER_THREADS) as pool:
        tax_only_job = pool.submit(tax_with, np.zeros(len(targets)))
        rows, solution, rounds = _solve_all(candidates, settings, shortfall, cut)
        x, slack, prices, lp_tax = solution.x, solution.slack, solution.prices, solution.tax
        kinds = {"kpi", "link"} if target_costs is True else set(target_costs or ())
        costs: list[float | None] = [
            0.0 if t.kind in kinds and prices[k] <= TOLERANCE else None
            for k, t in enumerate(targets)
        ]
        without_jobs = {}
        for k in (int(i) for i in np.flatnonzero(prices > TOLERANCE)):
            if targets[k].kind in kinds:
                without = shortfall.copy()
                without[k] = 0.0
                without_jobs[k] = pool.submit(tax_with, without)
        for k, job in without_jobs.items():
            costs[k] = round(max(0.0, job.result() - lp_tax), 1)
        tax_only = tax_only_job.result()
    space_prices = solution.space_prices if settings.space_rows(candidates.need_m2) else None
    c = candidates.subset(rows)
    plan = _measure(c, settings, _round(c, settings, x))
    value_only = _measure(candidates, settings, value_only_schedule(candidates, settings))
    counting = np.asarray((candidates.counts > 0).sum(axis=0)).ravel()
    outcomes = []
    for j, t in enumerate(targets):
        price = max(float(prices[j]), t.price_floor)
        reach = capacity_to_reach(candidates, settings, j, t.shortfall)
        short = slack[j] > 1e-6 * max(1.0, t.shortfall)
        cap_now = min(settings.capacity.values())
        status: TargetStatus = (
            "met" if not short else ("unreachable" if reach is None or reach > cap_now else "short")
        )
        outcomes.append(
            TargetOutcome(
                id=t.id,
                kind=t.kind,
                name_zh=t.name_zh,
                name_en=t.name_en,
                target=t.target,
                expected_now=t.expected_now,
                shortfall=t.shortfall,
                expected_plan=round(float(plan.per_target[j]), 3),
                expected_value_only=round(float(value_only.per_target[j]), 3),
                price_wan_cny=round(price, 1),
                status=status,
                capacity_to_reach=reach,
                candidates_counting=int(counting[j]),
                tax_given_up_wan_cny=costs[j],
            )
        )
    return ContactPlan(
        settings=settings,
        candidates=c,
        targets=outcomes,
        plan=plan,
        value_only=value_only,
        lp_tax_wan_cny=lp_tax,
        tax_only_wan_cny=tax_only,
        x=x,
        solve_seconds=round(time.perf_counter() - started, 3),
        candidates_in=len(candidates),
        candidates_cut=len(cut),
        rounds=rounds,
        prices={o.id: o.price_wan_cny for o in outcomes},
        space_prices=space_prices,
        value_only_lists=_in_order(candidates, value_only.quarter, settings),
    )


def _in_order(c: Candidates, quarter: np.ndarray, settings: PlanSettings) -> dict[str, list[str]]:
    out = {}
    for track in settings.capacity:
        rows = np.flatnonzero((c.track == track) & (quarter >= 0))
        order = rows[np.lexsort((-c.score[rows], quarter[rows]))]
        out[track] = [str(e) for e in c.enterprise_id[order]]
    return out


def attainment(outcome: TargetOutcome, *, plan: bool = True) -> float:
    """Share of the shortfall the list reaches (1 when there is none)."""
    if outcome.shortfall <= TOLERANCE:
        return 1.0
    got = outcome.expected_plan if plan else outcome.expected_value_only
    return min(1.0, got / outcome.shortfall)


def fmt_wan(value: float) -> str:
    """万元 with thousands separators, no decimals."""
    return f"{value:,.0f}" if math.isfinite(value) else "—"
