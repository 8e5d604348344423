"""The park's carriers (载体) for the API, the pages and the command line: the space report
(``industry_graph.space.space_report``) computed once per state load and pipeline change, the
list of buildings, a building's page and a lead's space card.

The report is made from the loaded universe's space tables, with the firms the pipeline says
landed placed in a building on the day they landed (``place_landed``, so the tax they pay counts
for it), the open pipeline's leads (placed for the 亿元楼 projection) and the first
``CANDIDATES`` list leads of each track (the leads that would fill a building)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, cast

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from api.errors import NotFound
from api.jsonable import clean
from api.serving.kpis import open_leads, pipeline_marker, tables_with_landed
from api.serving.memo import Memo
from api.serving.state import ServiceState
from data import columns as C
from industry_graph.space import (
    NEED_COLUMNS,
    UNIT_COLUMNS,
    SpaceReport,
    building_detail,
    building_table,
    lead_space,
    lead_space_alone,
    space_report,
)

CANDIDATES: Final = 500  # list leads per track the report fits to the buildings
_memo = Memo(size=4)
# the newest report of the current load, whatever the pipeline did since
_newest: dict[tuple[int, str], SpaceReport] = {}
_newest_lock = threading.Lock()
# the first report of a load being built, by load: the requests waiting for it
_building: dict[tuple[int, str], threading.Event] = {}
BUILD_WAIT_SECONDS: Final = 120.0

TABLE_COLUMNS: Final = (
    C.BUILDING_ID,
    C.NAME,
    C.CARRIER,
    C.BUILDING_KIND,
    "kind_zh",
    "kind_en",
    C.FLOOR_AREA,
    C.LETTABLE_AREA,
    "occupied_m2",
    "free_now_m2",
    "occupancy_now",
    "free_in_a_year_m2",
    "tax_baseline_wan_cny",
    "tax_now_wan_cny",
    "over_baseline",
    "over_now",
    "p_over_projected",
)


def _loaded(state: ServiceState) -> tuple[int, str]:
    return (id(state), state.loaded_at)


def _candidates(state: ServiceState) -> pd.DataFrame:
    """The first ``CANDIDATES`` rows of each track's lead table (rank order) with their scores."""
    rows: list[dict[str, object]] = []
    for track, table in state.leads.items():
        for pos in range(min(CANDIDATES, len(table))):
            rows.append(
                {
                    C.ENTERPRISE_ID: str(table.ids[pos]),
                    C.NAME: table.name_at(pos),
                    C.TRACK: track,
                    **table.scores_at(pos),
                }
            )
    columns = [C.ENTERPRISE_ID, C.NAME, C.TRACK, "p_land", "tax_p50_wan_cny", "value_wan_cny"]
    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
    # a firm on two lists is taken once, at its higher value
    frame = frame.sort_values("value_wan_cny", ascending=False, kind="stable")
    return frame.drop_duplicates(C.ENTERPRISE_ID).reset_index(drop=True)


def buildings_report(
    state: ServiceState, factory: sessionmaker[Session], *, today: date | None = None
) -> SpaceReport:
    """The space report of the loaded state and the pipeline as it is now (kept until either
    changes). A park that holds no buildings is a NotFound saying what to import."""
    assert state.park is not None
    day = today or date.today()
    key = ("buildings", _loaded(state), day, *pipeline_marker(factory, state.park.id))

    def make() -> SpaceReport:
        assert state.park is not None
        if not state.park.space:
            raise NotFound(f"park: {state.park.id} has no space section in its profile")
        tables = tables_with_landed(state, factory)
        held = tables.get("park_buildings")
        if held is None or not (held[C.PARK_ID] == state.park.id).any():
            raise NotFound(
                f"park: {state.park.id} holds no buildings (attract import buildings FILE)"
            )
        return space_report(
            park=state.park,
            tables=tables,
            today=day,
            candidates=_candidates(state),
            open_leads=open_leads(state, factory),
        )

    report = _memo.get(key, make)
    with _newest_lock:
        if _loaded(state) not in _newest:
            _newest.clear()  # one load at a time: a reloaded state's report replaces the old
        _newest[_loaded(state)] = report
    return report


def latest_report(state: ServiceState, factory: sessionmaker[Session]) -> SpaceReport:
    """The newest report of this load (a lead's space card does not wait for the pipeline's
    latest change: its need and the buildings that fit it hardly move with one lead). The
    first report of a load is built by one request; the others asking meanwhile wait for it
    rather than build it side by side (seconds of both cores at 1 M, per request)."""
    key = _loaded(state)
    while True:
        with _newest_lock:
            held = _newest.get(key)
            if held is not None:
                return held
            building = _building.get(key)
            mine = building is None
            if mine:
                building = _building[key] = threading.Event()
        assert building is not None
        if not mine:
            building.wait(timeout=BUILD_WAIT_SECONDS)
            continue  # built (or failed: then this request tries, and says why)
        try:
            return buildings_report(state, factory)
        finally:
            with _newest_lock:
                _building.pop(key, None)
            building.set()


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _list(value: object) -> list[str]:
    """A ";"-separated id list (or a sequence) as a list."""
    if isinstance(value, str):
        return [v for v in value.split(";") if v]
    if isinstance(value, list | tuple | frozenset | set | np.ndarray):
        return sorted(str(v) for v in value)
    return []


def _building_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {c: clean(row.get(c)) for c in TABLE_COLUMNS}
    out[C.CHAINS] = _list(row.get(C.CHAINS))
    out[C.TRACKS] = _list(row.get(C.TRACKS))
    out[C.RENT_LOW] = clean(row.get(C.RENT_LOW))
    out[C.RENT_HIGH] = clean(row.get(C.RENT_HIGH))
    return out


def buildings_list(state: ServiceState, factory: sessionmaker[Session]) -> dict[str, Any]:
    """The park's buildings: kind, areas, occupancy and free area now, tax then and now, 亿元楼."""
    assert state.park is not None
    report = buildings_report(state, factory)
    table = building_table(report)
    status = report.status
    return {
        "park": state.park.id,
        "as_of": report.today,
        "threshold_wan_cny": status.threshold_wan_cny,
        "baseline_year": status.baseline_year,
        "latest_year": status.latest_year,
        "count_baseline": status.count_baseline,
        "count_now": status.count_now,
        "expected_count_projected": round(status.expected_count_projected, 2),
        "buildings": [_building_row(r) for r in table.to_dict("records")],
    }


LEAD_FIELDS: Final = (
    C.ENTERPRISE_ID,
    C.NAME,
    C.TRACK,
    "stage",
    "p_land",
    "value_wan_cny",
    "in_park_tax_p50_wan_cny",
    "unit_kind",
    "need_m2_p50",
    "land_quarter",
    "fit",
    "in_pipeline",
)


def _leads(frame: pd.DataFrame | None, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if frame is None or not len(frame):
        return []
    keep = [c for c in (*LEAD_FIELDS, *extra) if c in frame]
    out = frame[keep].copy()
    if "land_quarter" in out:
        out["land_quarter"] = out["land_quarter"].astype(str)
    return _records(out)


def building_page(
    state: ServiceState, factory: sessionmaker[Session], building_id: str, *, top: int = 20
) -> dict[str, Any]:
    """A building: its row, occupancy and free area by quarter, tax by year, its tenants, the
    leads that would fill it, the pipeline placed in it and the five leads closing its 亿元楼 gap."""
    report = buildings_report(state, factory)
    try:
        detail = building_detail(report, building_id, top=top)
    except KeyError as exc:
        raise NotFound(f"building_id: no building {building_id!r} in the park") from exc
    names = state.tables["enterprises"].set_index(C.ENTERPRISE_ID)[C.NAME]
    tenants = detail["tenants"]
    assert isinstance(tenants, pd.DataFrame)
    tenants = tenants.assign(**{C.NAME: tenants[C.ENTERPRISE_ID].map(names)})
    row = detail["building"]
    assert isinstance(row, dict)
    closest = detail["closest"]
    if isinstance(closest, pd.DataFrame) and C.TRACK not in closest:
        tracks = report.leads.drop_duplicates(C.ENTERPRISE_ID).set_index(C.ENTERPRISE_ID)[C.TRACK]
        closest = closest.assign(**{C.TRACK: closest[C.ENTERPRISE_ID].map(tracks)})
    return {
        "building": _building_row(row),
        "threshold_wan_cny": report.status.threshold_wan_cny,
        "occupancy": [
            {"quarter": q, "occupancy": clean(o), "occupied_m2": u, "free_m2": f}
            for q, o, u, f in zip(
                cast(list[str], detail["quarters"]),
                cast(list[float], detail["occupancy"]),
                cast(list[float], detail["occupied_m2"]),
                cast(list[float], detail["free_m2"]),
                strict=True,
            )
        ],
        "tax_by_year": [{"year": y, "tax_wan_cny": t} for y, t in detail["tax_by_year"]],  # type: ignore[attr-defined]
        "tenants": _records(tenants[[C.ENTERPRISE_ID, C.NAME, C.AREA, C.SINCE]]),
        "leads": _leads(detail["leads"], ("fills_share", "reason_zh", "reason_en")),  # type: ignore[arg-type]
        "placed": _leads(detail["placed"]),  # type: ignore[arg-type]
        "closest": _leads(
            closest,  # type: ignore[arg-type]
            ("tax_if_lands_wan_cny", "crosses_alone", "expected_progress_wan_cny"),
        ),
    }


def _card(card: dict[str, object], report: SpaceReport) -> dict[str, Any]:
    buildings = card["buildings"]
    assert isinstance(buildings, pd.DataFrame)
    names = report.building_names
    shown = zip(
        buildings[C.BUILDING_ID].astype(str),
        buildings["fit"].astype(float),
        buildings["takes"].astype(bool),
        buildings["free_m2"].astype(float),
        buildings["reason_zh"],
        buildings["reason_en"],
        strict=True,
    )
    return {
        "unit_kind": card["unit_kind"],
        "unit_source": card["unit_source"],
        **{c: clean(card[c]) for c in (*UNIT_COLUMNS[1:], *NEED_COLUMNS)},
        "land_quarter": card["land_quarter"],
        "buildings": [
            {
                C.BUILDING_ID: building,
                C.NAME: clean(names.get(building)),
                "fit": clean(float(fit)),
                "takes": bool(takes),
                "free_m2": clean(float(free)),
                "reason_zh": clean(zh),
                "reason_en": clean(en),
            }
            for building, fit, takes, free, zh, en in shown
        ],
    }


def lead_space_card(
    state: ServiceState, factory: sessionmaker[Session], enterprise_id: str
) -> dict[str, Any] | None:
    """A lead's space need (m² P10/P50/P90) and its best-fitting buildings; None for a park
    member, a firm on no list, or a park that holds no buildings."""
    assert state.park is not None
    if state.fc is not None and enterprise_id in state.fc.park_members:
        return None
    try:
        report = latest_report(state, factory)
    except NotFound:
        return None
    try:
        return _card(lead_space(report, enterprise_id), report)
    except KeyError:
        pass
    # a lead beyond the report's first rows: fitted alone against the same buildings, as a
    # new lead of the first track that holds it
    for track, table in state.leads.items():
        if table.position_of(enterprise_id) is None:
            continue
        row = state.row_of(enterprise_id)
        employees = None if row is None else state.tables["enterprises"][C.EMPLOYEES].iloc[row]
        card = lead_space_alone(
            enterprise_id=enterprise_id,
            track=track,
            employees=np.nan if employees is None or pd.isna(employees) else float(employees),
            links=state.links_of(enterprise_id),
            space=report.space,
            today=report.today,
        )
        return _card(card, report)
    return None
