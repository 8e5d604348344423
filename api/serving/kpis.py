"""The plan's KPIs, chain coverage over time and realised-against-predicted tax, for the API,
the pages and the command line. Each is computed from the loaded universe (whose roster holds
the pipeline's landed firms from the last load) and the pipeline as it is now; results are
kept until the state is reloaded or the pipeline changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.crm.tables import LANDED_COLUMNS, PipelineLead, landed_leads, session_scope
from api.serving.memo import Memo
from api.serving.state import ServiceState
from data import columns as C
from data.pipeline import OPEN_STAGES
from industry_graph.kpis import (
    OPEN_LEAD_COLUMNS,
    KpiStatus,
    coverage_over_time,
    measure_kpis,
    park_facts,
)
from industry_graph.space import place_landed
from training.monitor import Drift, coverage_summary, drifts, realised_against_predicted

_memo = Memo()


def _loaded(state: ServiceState) -> tuple[int, str]:
    """Which load of the state (an id alone may be reused once a reloaded state is freed)."""
    return (id(state), state.loaded_at)


def pipeline_marker(factory: sessionmaker[Session], park: str) -> tuple[object, ...]:
    """Changes whenever a lead of the park is created or changed."""
    with session_scope(factory) as s:
        count, latest, versions = s.execute(
            select(
                func.count(), func.max(PipelineLead.updated_at), func.sum(PipelineLead.version)
            ).where(PipelineLead.park_id == park)
        ).one()
    return (count, str(latest), versions)


def open_leads(state: ServiceState, factory: sessionmaker[Session]) -> pd.DataFrame:
    """The park's open leads (new … signed) with their firm's name, their stored tax P50 and
    their P(land) at their stage and time there (the stage model on their entry P(land))."""
    assert state.park is not None
    with session_scope(factory) as s:
        rows = s.execute(
            select(
                PipelineLead.id,
                PipelineLead.enterprise_id,
                PipelineLead.track,
                PipelineLead.stage,
                PipelineLead.p_land,
                PipelineLead.tax_p50_wan_cny,
                PipelineLead.group_tax_p50_wan_cny,
                PipelineLead.stage_since,
            ).where(PipelineLead.park_id == state.park.id, PipelineLead.stage.in_(OPEN_STAGES))
        ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "lead_id",
            C.ENTERPRISE_ID,
            C.TRACK,
            "stage",
            "entry_p_land",
            "tax_p50_wan_cny",
            "group_tax_p50_wan_cny",
            "stage_since",
        ],
    )
    since = pd.to_datetime(frame["stage_since"], utc=True)
    frame["days_in_stage"] = (pd.Timestamp.now(tz="UTC") - since).dt.days.clip(lower=0)
    frame["p_land"] = state.stage_p_land(frame)
    names = state.tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
    frame[C.NAME] = frame[C.ENTERPRISE_ID].map(names).fillna(frame[C.ENTERPRISE_ID])
    return frame[list(OPEN_LEAD_COLUMNS)]


def tables_with_landed(
    state: ServiceState, factory: sessionmaker[Session]
) -> dict[str, pd.DataFrame]:
    """The universe's tables with the pipeline's landed firms leasing in the park from the day they
    landed (``place_landed``), so the tax they pay counts for a building (the 亿元楼 KPI and the
    载体 pages read the same tables)."""
    assert state.park is not None
    park = state.park
    if not park.space or "building_tenants" not in state.tables:
        return dict(state.tables)  # a park without buildings: nothing to place

    def make() -> dict[str, pd.DataFrame]:
        tables = dict(state.tables)
        with session_scope(factory) as s:
            landed = pd.DataFrame(landed_leads(s, park.id), columns=list(LANDED_COLUMNS))
        if len(landed):
            first = landed.sort_values("landed_on").drop_duplicates(C.ENTERPRISE_ID)
            first = first.assign(landed_on=pd.to_datetime(first["landed_on"]))
            rows = place_landed(
                landed=first[[C.ENTERPRISE_ID, C.TRACK, "landed_on"]], tables=tables, park=park
            )
            if len(rows):
                held = tables["building_tenants"]
                tables["building_tenants"] = pd.concat(
                    [held, rows.astype({c: held[c].dtype for c in rows.columns if c in held})],
                    ignore_index=True,
                )
        return tables

    key = ("landed-tables", _loaded(state), *pipeline_marker(factory, park.id))
    return _memo.get(key, make)


def kpi_statuses(
    state: ServiceState, factory: sessionmaker[Session], *, today: date | None = None
) -> list[KpiStatus]:
    """Every KPI of the park's plan (``industry_graph.kpis``)."""
    assert state.park is not None
    day = today or date.today()
    key = ("kpis", _loaded(state), day, *pipeline_marker(factory, state.park.id))

    def make() -> list[KpiStatus]:
        assert state.park is not None
        facts = _memo.get(("facts", _loaded(state)), lambda: park_facts(state.park, state.tables))  # type: ignore[arg-type]
        tables = tables_with_landed(state, factory)
        return measure_kpis(facts, tables, open_leads(state, factory), today=day)

    return _memo.get(key, make)


def link_coverage(state: ServiceState) -> list[dict[str, Any]]:
    """Each link's presence at the plan's baseline and now (``coverage_over_time``)."""
    assert state.park is not None
    return _memo.get(
        ("coverage", _loaded(state)),
        lambda: coverage_over_time(state.park, state.chains, state.tables),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Realised:
    """Realised against predicted tax: per landed firm, the summary and the drift warnings."""

    firms: pd.DataFrame
    summary: pd.DataFrame
    drifts: list[Drift]
    landed: int  # landed firms in all (with or without a tax record after landing yet)


def realised(state: ServiceState, factory: sessionmaker[Session]) -> Realised:
    """Realised against predicted over the pipeline's landed firms and the universe's tax records."""
    assert state.park is not None
    park = state.park

    def make() -> Realised:
        with session_scope(factory) as s:
            landed = pd.DataFrame(landed_leads(s, park.id), columns=list(LANDED_COLUMNS))
        firms = realised_against_predicted(landed, state.tables["tax_records"])
        names = state.tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
        firms.insert(1, C.NAME, firms[C.ENTERPRISE_ID].map(names))
        summary = coverage_summary(firms)
        return Realised(firms, summary, drifts(summary, park), landed[C.ENTERPRISE_ID].nunique())

    return _memo.get(("realised", _loaded(state), *pipeline_marker(factory, park.id)), make)
