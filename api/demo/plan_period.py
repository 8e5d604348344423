"""The demo's plan period (2021–2025), simulated through the service's own tables, so the KPI
page, chain coverage over time and realised-against-predicted have a history to show.

What it does, from the demo universe (as of the end of 2020) and the champion:

1. **The officers work the lists**: the first ``per_track`` leads of each track enter the
   pipeline on days spread over 2021 – Q3 2025, each with the scores the champion gives it
   (P(land), tax P10/P50/P90, model version), created and moved by the pipeline's own
   ``add_lead`` and ``apply_change`` (so the moves' rules and the audit are the API's).
2. **The firms decide** by the generator's truth (``oracle.parquet``: each firm's real signing
   probability for the park and track), not by the model, at the rates and durations of
   ``data.demo.pipeline_rates``: a firm that signs moves contacted → negotiating → signed over
   the following months and then lands (80 % of signers, the published 履约 rates) and pays, or
   is lost; one that does not sign is lost with a reason. Leads whose next step would fall
   after the history's end stay open where they are — the open pipeline the projections use.
   Every move is an audit event at its day (the system's: no user).
3. **The tax bureau reports** (``tax_records.csv``, for ``attract import table tax_records …
   --append``): 2021–2025 for the park's firms (their 2020 tax grown by their own growth rate,
   with noise) and, for each landed firm, every full year after its landing — the tax its unit
   pays here (the oracle's ``true_unit_tax_wan_cny``: the group's true tax × the share of it the
   unit in its true landing form books, ``data.demo.landing_truth``), grown the same way from
   its landing year (a unit pays from its landing). The model never saw these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.crm.pipeline import UNSET, Change, add_lead, apply_change
from api.crm.tables import PipelineLead, session_scope
from api.serving.state import ServiceState
from data import columns as C
from data.demo.pipeline_rates import draw_lead_path, landing_stream
from data.pipeline import LANDED_STAGES, LOST

FIRST_DAY = date(2021, 1, 4)
LAST_CREATED = date(2025, 9, 30)
HISTORY_END = date(2025, 10, 31)
YEARS = (2021, 2022, 2023, 2024, 2025)
TAX_NOISE = 0.10  # log-sd of a firm's year-on-year tax around its growth path
GROWTH = (-0.2, 0.3)  # a firm's yearly growth, its own rate held to a sustainable range


@dataclass(frozen=True)
class PlanHistory:
    """What the simulation wrote and the tax records it produced."""

    leads: int
    landed: int
    lost: int
    open: int
    tax_records: pd.DataFrame


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def simulate_plan_period(
    state: ServiceState,
    factory: sessionmaker[Session],
    oracle: pd.DataFrame,
    *,
    seed: int,
    per_track: int = 60,
    lists: Mapping[str, Sequence[str]] | None = None,
) -> PlanHistory:
    """Write the simulated pipeline into the database and return the tax records (module doc).
    Refuses a database whose pipeline already has leads of the park. ``lists``: the firms each
    track works, in order (default: the track's lead list, best first)."""
    assert state.park is not None
    park = state.park.id
    with session_scope(factory) as s:
        existing = s.scalar(select(func.count()).where(PipelineLead.park_id == park))
    if existing:
        raise ValueError(
            f"pipeline: the database already holds {existing} leads of {park}; the plan-period "
            "history is simulated into an empty pipeline only"
        )
    rng = np.random.default_rng(seed)
    landing_rng = landing_stream(seed)
    truth = oracle[oracle[C.PARK_ID] == park]
    p_signs: dict[tuple[str, str], float] = {
        (str(e), str(t)): float(p)
        for e, t, p in zip(truth[C.ENTERPRISE_ID], truth[C.TRACK], truth[C.P_SIGN], strict=True)
    }
    # the form each firm takes when it lands (the generator's hidden truth), which its officer
    # records on the lead (landed_as): training learns how often the assumed form holds
    took: dict[tuple[str, str], str] = (
        {
            (str(e), str(t)): str(f)
            for e, t, f in zip(
                truth[C.ENTERPRISE_ID], truth[C.TRACK], truth[C.TRUE_FORM], strict=True
            )
        }
        if C.TRUE_FORM in truth
        else {}
    )
    span = (LAST_CREATED - FIRST_DAY).days
    landed_tax: list[tuple[str, str, date, date]] = []  # firm, track, became a lead, landed
    counts = {"landed": 0, "lost": 0, "open": 0, "leads": 0}
    taken: set[str] = set()
    with session_scope(factory) as s:
        for track, table in state.leads.items():
            ordered = (
                [str(e) for e in table.ids[: min(per_track, len(table))]]
                if lists is None
                else [str(e) for e in lists.get(track, ())][:per_track]
            )
            for eid in ordered:
                if eid in taken:  # a firm is worked on one track
                    continue
                taken.add(eid)
                p_sign = p_signs.get((eid, track), 0.0)
                created = FIRST_DAY + timedelta(days=int(rng.integers(0, span)))
                path = draw_lead_path(
                    p_sign=p_sign,
                    created=created,
                    until=HISTORY_END,
                    rng=rng,
                    landing_rng=landing_rng,
                )
                lead = add_lead(
                    s,
                    None,
                    park=park,
                    enterprise_id=eid,
                    track=track,
                    snapshot=state.lead_scores(eid, track),
                    at=_at(created),
                )
                for stage, day in path.steps:
                    reason = path.lost_reason if stage == LOST else None
                    landed_as = took.get((eid, track), UNSET) if stage == "landed" else UNSET
                    change = Change(
                        version=lead.version, stage=stage, lost_reason=reason, landed_as=landed_as
                    )
                    apply_change(s, lead, None, change, _at(day))
                    s.refresh(lead)
                    if stage == "landed":
                        landed_tax.append((eid, track, created, day))
                counts["leads"] += 1
                kind = "landed" if lead.stage in LANDED_STAGES else lead.stage
                counts[kind if kind in counts else "open"] += 1
        # inside the transaction: a failure here leaves the pipeline as it was
        tax = _tax_records(state, truth, landed_tax, rng)
    return PlanHistory(
        leads=counts["leads"],
        landed=counts["landed"],
        lost=counts["lost"],
        open=counts["open"],
        tax_records=tax,
    )


def _grown(
    rng: np.random.Generator, base: np.ndarray, growth: np.ndarray, years: int
) -> np.ndarray:
    """``base`` grown by ``growth`` a year for ``years`` years, with log-normal noise per year."""
    noise = rng.normal(0.0, TAX_NOISE, (years, len(base))).sum(axis=0)
    grown: np.ndarray = base * (1.0 + growth) ** years * np.exp(noise)
    return grown


def _tax_records(
    state: ServiceState,
    truth: pd.DataFrame,
    landed: list[tuple[str, str, date, date]],
    rng: np.random.Generator,
) -> pd.DataFrame:
    assert state.park is not None
    tables = state.tables
    ent = tables["enterprises"].set_index(C.ENTERPRISE_ID)
    base_year = state.park.baseline_year
    tax = tables["tax_records"]
    roster = tables["park_roster"]
    landed_ids = {eid for eid, _, _, _ in landed}
    members = roster.loc[
        (roster[C.PARK_ID] == state.park.id) & ~roster[C.ENTERPRISE_ID].isin(landed_ids),
        C.ENTERPRISE_ID,
    ]
    last = tax[(tax[C.YEAR] == base_year) & tax[C.ENTERPRISE_ID].isin(set(members))]
    ids = last[C.ENTERPRISE_ID].to_numpy(dtype=object)
    growth = np.clip(ent.loc[ids, C.REVENUE_GROWTH].astype(float).fillna(0.05).to_numpy(), *GROWTH)
    frames = []
    for year in YEARS:
        k = year - base_year
        frames.append(
            pd.DataFrame(
                {
                    C.ENTERPRISE_ID: ids,
                    C.YEAR: year,
                    C.REVENUE: np.round(_grown(rng, last[C.REVENUE].to_numpy(float), growth, k), 2),
                    C.TAX_PAID: np.round(
                        _grown(rng, last[C.TAX_PAID].to_numpy(float), growth, k), 3
                    ),
                }
            )
        )
    if C.TRUE_UNIT_TAX not in truth:
        raise ValueError(
            f"oracle: no {C.TRUE_UNIT_TAX} column (a demo generated before landing forms); "
            "regenerate it with `attract demo`"
        )
    unit_tax = truth.set_index([C.ENTERPRISE_ID, C.TRACK])[C.TRUE_UNIT_TAX]
    ids_landed = [eid for eid, _, _, _ in landed]
    firms = ent.loc[ids_landed]
    growth_l = np.clip(firms[C.REVENUE_GROWTH].astype(float).fillna(0.05).to_numpy(), *GROWTH)
    unit_share = truth.set_index([C.ENTERPRISE_ID, C.TRACK])[C.TRUE_UNIT_SHARE]
    keys = pd.MultiIndex.from_tuples(
        [(eid, track) for eid, track, _, _ in landed], names=[C.ENTERPRISE_ID, C.TRACK]
    )  # names: an empty list (nobody landed) is an empty index, not an error
    # the unit's revenue: the group's × the unit's share (its books here)
    revenue_l = (
        firms[C.REVENUE].astype(float).fillna(0.0).to_numpy()
        * unit_share.reindex(keys).astype(float).fillna(0.0).to_numpy()
    )
    paid_l = unit_tax.reindex(keys).astype(float).fillna(0.0).to_numpy()
    for i, (eid, _, _, day) in enumerate(landed):
        g, rev, paid = growth_l[i : i + 1], revenue_l[i : i + 1], paid_l[i : i + 1]
        for year in range(day.year + 1, YEARS[-1] + 1):
            # the unit pays from its landing: its first full year at the oracle's level (the
            # level the model valued it at), then grown by the firm's own rate
            k = year - day.year
            frames.append(
                pd.DataFrame(
                    {
                        C.ENTERPRISE_ID: [eid],
                        C.YEAR: [year],
                        C.REVENUE: np.round(_grown(rng, rev, g, k), 2),
                        C.TAX_PAID: np.round(_grown(rng, paid, g, k), 3),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values([C.ENTERPRISE_ID, C.YEAR], kind="stable").reset_index(drop=True)
