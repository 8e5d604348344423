"""The demo's carriers reproduce the plan's space figures, hold every park firm once, never let
more than they have, and come from a random stream of their own (no other table changes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data import columns as C
from data.buildings import area_over_time, space_rejects
from data.demo import generator
from data.demo.generator import DemoUniverse, generate
from data.reference import default_parks
from data.settings import SEED

SPACE = ("park_buildings", "building_supply", "building_tenants")
PLAN = default_parks()["shibei"].space.plan  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def small() -> DemoUniverse:
    # the park rosters do not depend on the number of candidates: 1,000 are enough here
    return generate(candidates=1_000, seed=SEED)


def test_the_named_carriers_and_the_plans_areas(small: DemoUniverse) -> None:
    b = small.tables["park_buildings"]
    assert PLAN is not None and set(PLAN.carriers) <= set(b[C.CARRIER])
    completed = pd.to_datetime(b[C.COMPLETED_ON])
    last_period = b[completed.dt.year.between(2016, 2020)]
    # 近140万 m² built in 2016–2020: the five named carriers
    assert 1_300_000 <= last_period[C.FLOOR_AREA].sum() <= PLAN.built_last_period_m2
    supply = small.tables["building_supply"]
    assert pd.to_datetime(supply[C.AVAILABLE_ON]).dt.year.between(2021, 2025).all()
    new = b[b[C.BUILDING_ID].isin(supply[C.BUILDING_ID])]
    low, high = PLAN.new_industrial_m2
    assert low <= new[C.FLOOR_AREA].sum() <= high
    assert (new[C.FREE_AREA] == 0).all()  # not there yet at the end of 2020


def test_every_park_firm_leases_once_and_no_building_is_overlet(small: DemoUniverse) -> None:
    roster = small.tables["park_roster"]
    shibei = set(roster.loc[roster[C.PARK_ID] == "shibei", C.ENTERPRISE_ID])
    tenants = small.tables["building_tenants"]
    assert set(tenants[C.ENTERPRISE_ID]) == shibei and tenants[C.ENTERPRISE_ID].is_unique
    b = small.tables["park_buildings"]
    rejects = space_rejects(
        buildings=b, supply=small.tables["building_supply"], tenants=tenants, rows={}
    )
    assert rejects == {t: [] for t in SPACE}
    days = pd.DatetimeIndex(pd.to_datetime(["2020-12-31", "2025-12-31"]))
    available, occupied = area_over_time(
        buildings=b, supply=small.tables["building_supply"], tenants=tenants, days=days
    )
    lettable = b.set_index(C.BUILDING_ID)[C.LETTABLE_AREA]
    assert (occupied.max(axis=1) <= lettable + 1e-6).all()
    assert available["2025-12-31"].sum() == pytest.approx(lettable.sum())


def test_the_park_keeps_the_plans_staff_and_the_incubator_its_firms(small: DemoUniverse) -> None:
    park = default_parks()["shibei"]
    roster = small.tables["park_roster"]
    ids = roster.loc[roster[C.PARK_ID] == "shibei", C.ENTERPRISE_ID]
    employees = small.tables["enterprises"].set_index(C.ENTERPRISE_ID).loc[ids, C.EMPLOYEES]
    staff = park.space.interim_unit.staff_p50(employees.astype(float).to_numpy())  # type: ignore[union-attr]
    assert PLAN is not None and staff.sum() == pytest.approx(PLAN.staff_in_park, rel=0.02)
    tenants = small.tables["building_tenants"]
    incubator = small.tables["park_buildings"].query("kind == 'incubator'")[C.BUILDING_ID]
    assert tenants[C.BUILDING_ID].isin(set(incubator)).sum() == PLAN.incubated_firms


def test_the_buildings_come_from_their_own_random_stream(
    small: DemoUniverse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "demo_space", lambda **_: {})
    without = generate(candidates=1_000, seed=SEED)
    for name, frame in without.tables.items():
        if name not in SPACE:
            pd.testing.assert_frame_equal(frame, small.tables[name], obj=name)
    pd.testing.assert_frame_equal(without.oracle, small.oracle)
    assert all(len(without.tables[t]) == 0 for t in SPACE)
    assert len(small.tables["building_tenants"]) == 1470
    assert np.isfinite(small.tables["building_tenants"][C.AREA]).all()
