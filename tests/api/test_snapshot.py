"""The server's shared snapshot: written once, mapped by every load after, equal to the state
built in memory; a reload swaps it; workers follow the snapshot another marked current."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.serving.snapshot import (
    current_key,
    map_array,
    map_frame,
    mark_current,
    snapshot_key,
    snapshots_root,
    write_array,
    write_frame,
)
from api.serving.state import StateHolder, load_state
from data.settings import get_settings
from tests.conftest import Trained


def test_a_frame_round_trips_and_its_numbers_are_views_of_the_file(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": pd.Series(["a", "b", None], dtype="str"),
            "x": [1.0, np.nan, 3.0],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "on": pd.to_datetime(["2021-01-01", None, "2024-05-06"]),
            "score": np.arange(3, dtype=np.float64),
        }
    )
    write_frame(tmp_path / "f.arrow", frame)
    mapped = map_frame(tmp_path / "f.arrow")
    pd.testing.assert_frame_equal(mapped, frame)
    # a numeric column without nulls is not copied: numpy refuses to write into the mapping
    assert not mapped["score"].to_numpy().flags.writeable
    write_array(tmp_path / "a.bin", np.array([3, 1, 2], dtype=np.int64))
    assert map_array(tmp_path / "a.bin").tolist() == [3, 1, 2]


@pytest.fixture(scope="module")
def states(trained: Trained) -> tuple[object, object, object]:
    """The state built in memory, the first snapshot load (builds, writes, maps) and the second
    (maps only)."""
    built = load_state(trained.settings.model_copy(update={"serve_snapshots": False}))
    first = load_state(trained.settings)
    second = load_state(trained.settings)
    return built, first, second


def test_the_snapshot_is_written_once_and_mapped_after(
    trained: Trained, states: tuple[object, object, object]
) -> None:
    built, first, second = states
    assert built.ready and first.ready and second.ready  # type: ignore[attr-defined]
    assert built.snapshot_key == ""  # type: ignore[attr-defined]
    key = first.snapshot_key  # type: ignore[attr-defined]
    assert key and second.snapshot_key == key  # type: ignore[attr-defined]
    folder = snapshots_root(trained.settings) / key
    meta = json.loads((folder / "snapshot.json").read_text(encoding="utf-8"))
    assert meta["key"] == key and set(meta["tracks"]) == set(built.leads)  # type: ignore[attr-defined]
    # mapping is faster than building (the 8 k demo: tenths of a second against seconds)
    assert second.load_seconds < built.load_seconds  # type: ignore[attr-defined]


def test_the_mapped_state_equals_the_state_built_in_memory(
    states: tuple[object, object, object],
) -> None:
    built, _first, mapped = states
    b, m = built, mapped
    for name, frame in b.tables.items():  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(m.tables[name], frame, obj=name)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(m.park_outreach, b.park_outreach)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(m.tax_history, b.tax_history)  # type: ignore[attr-defined]
    for track, frame in b.fc.by_track.items():  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(m.fc.by_track[track], frame, check_index_type=False)  # type: ignore[attr-defined]
    pd.testing.assert_series_equal(m.fc.roster_fit, b.fc.roster_fit, check_index_type=False)  # type: ignore[attr-defined]
    assert m.fc.gaps.roster_size == b.fc.gaps.roster_size  # type: ignore[attr-defined]
    for track, table in b.leads.items():  # type: ignore[attr-defined]
        other = m.leads[track]  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(other.frames.frame, table.frames.frame)
        pd.testing.assert_frame_equal(other.features, table.features, check_index_type=False)
        rows = np.arange(min(30, len(table)))
        assert other.rows(rows) == table.rows(rows)
        eid = str(table.ids[0])
        assert other.position_of(eid) == 0
        assert m.links_of(eid).equals(b.links_of(eid))  # type: ignore[attr-defined]
        assert m.lead_scores(eid, track) == b.lead_scores(eid, track)  # type: ignore[attr-defined]


def test_a_reload_swaps_the_state_and_the_old_one_keeps_answering(trained: Trained) -> None:
    holder = StateHolder(trained.settings)
    old = holder.load()
    track = next(iter(old.leads))
    before = old.leads[track].rows(np.arange(5))
    new = holder.load()
    assert holder.current is new and new is not old and new.ready
    assert new.snapshot_key == old.snapshot_key
    assert old.leads[track].rows(np.arange(5)) == before  # a request in flight finishes on it
    assert current_key(snapshots_root(trained.settings))[0] == new.snapshot_key  # type: ignore[index]


def test_a_worker_follows_the_snapshot_another_marked_current(trained: Trained) -> None:
    holder = StateHolder(trained.settings)
    served = holder.load()
    assert not holder.follow()  # nothing new
    root = snapshots_root(trained.settings)
    mark_current(root, "another-worker-built-this")
    assert holder.follow()  # it reloads (and maps what its own inputs name)
    assert holder.current is not served and holder.current.ready
    assert current_key(root)[0] == holder.current.snapshot_key  # type: ignore[index]


def test_serve_passes_workers_to_uvicorn(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from api.cli import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("ATTRACT_HOME", str(trained.settings.home))
    monkeypatch.setenv("ATTRACT_DATA_DIR", str(trained.data_dir))
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["workers"] == 2 and seen["port"] == 8123
    refused = CliRunner().invoke(app, ["serve", "--workers", "0"])
    assert refused.exit_code != 0 and "--workers" in refused.output
    get_settings.cache_clear()


def test_the_key_follows_the_universe_files_and_the_park_profile(tmp_path: Path) -> None:
    """A file changed behind the manifest's back or an edited park profile gives a new key; a
    table being written (a hidden temporary file) or the rejects folder does not."""
    universe = tmp_path / "u"
    universe.mkdir()
    table = universe / "enterprises.parquet"
    table.write_bytes(b"PAR1 one PAR1")

    def key(profile: str = "park v1") -> str:
        return snapshot_key(
            snapshot_id="s",
            model_version="1",
            park="shibei",
            landed=["b", "a"],
            universe_dir=universe,
            profile=profile,
        )

    first = key()
    assert key() == first
    (universe / ".enterprises.parquet.123.tmp").write_bytes(b"half")
    (universe / "rejects").mkdir()
    (universe / "rejects" / "enterprises.csv").write_text("row,reason\n", encoding="utf-8")
    assert key() == first
    assert key(profile="park v2") != first
    table.write_bytes(b"PAR1 two PAR1")  # the same size, written again
    assert key() != first


def test_the_lists_prices_are_solved_once_for_every_worker_of_a_snapshot(
    trained: Trained, states: tuple[object, object, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two loads mapping one snapshot (two workers): the first solves the contact plan for the
    lists' prices and leaves it in the snapshot's folder, the second reads it — the plan is
    solved at most once, and both rank the lists alike."""
    import time

    from sqlalchemy.orm import sessionmaker

    import api.serving.plan as served_plan
    from api.crm.migrate import open_database

    _built, first, second = states
    solves = []
    make_plan = served_plan.make_plan

    def counted(*args: object, **kwargs: object) -> object:
        solves.append(1)
        return make_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(served_plan, "make_plan", counted)
    engine = open_database(trained.settings.database)
    factory = sessionmaker(engine, expire_on_commit=False)
    track = next(iter(first.leads))  # type: ignore[attr-defined]

    def ranked(state: object) -> np.ndarray:
        served_plan.prices_soon(state, factory)  # type: ignore[arg-type]
        deadline = time.monotonic() + 120
        while (order := served_plan.order_of(state, track)) is None:  # type: ignore[arg-type]
            assert time.monotonic() < deadline, "no plan prices within 120 s"
            time.sleep(0.1)
        return order.order.copy()

    one = ranked(first)
    key = first.snapshot_key  # type: ignore[attr-defined]
    shared = snapshots_root(trained.settings) / key / "plan-prices-v1.pickle"
    assert shared.exists()
    other = ranked(second)
    assert len(solves) <= 1  # none when an earlier test of the session left the plan there
    assert np.array_equal(one, other)
    # a shared plan past its age is solved again by the next load that asks
    old = time.time() - served_plan.PRICES_MAX_AGE_SECONDS - 60
    os.utime(shared, (old, old))
    again = load_state(trained.settings)
    before = len(solves)
    assert np.array_equal(ranked(again), one)
    engine.dispose()
    assert len(solves) == before + 1 and shared.stat().st_mtime > old + 60


def test_a_load_warms_the_plan_prices_and_the_space_report_before_any_request(
    trained: Trained, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the service database at hand, a load solves (or reads) the lists' plan prices and
    builds the enterprise pages' space report in the background: the first requests after
    ``/ready`` neither start nor wait for them."""
    import threading
    import time

    from sqlalchemy.orm import sessionmaker

    import api.serving.buildings as served_buildings
    import api.serving.plan as served_plan
    from api.crm.migrate import open_database

    reports: list[str] = []
    built = threading.Event()
    latest = served_buildings.latest_report

    def counted(state: object, factory: object) -> object:
        reports.append(str(getattr(state, "snapshot_key", "")))
        try:
            return latest(state, factory)  # type: ignore[arg-type]
        finally:
            built.set()

    monkeypatch.setattr(served_buildings, "latest_report", counted)
    holder = StateHolder(trained.settings)
    holder.sessions = sessionmaker(open_database(trained.settings.database), expire_on_commit=False)
    state = holder.load()
    track = next(iter(state.leads))
    deadline = time.monotonic() + 120
    while served_plan.order_of(state, track) is None:
        assert time.monotonic() < deadline, "no plan prices within 120 s of the load"
        time.sleep(0.1)
    assert built.wait(timeout=120), "the space report was not asked for"
    assert reports == [state.snapshot_key]
