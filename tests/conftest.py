"""Shared fixtures: the real public data folder (skipped when absent) and a demo universe."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# the suite's workers fit side by side on two cores: one LightGBM thread each (two each spin against
# each other, and a fit that takes 17 s alone took 487 s with both at once)
os.environ.setdefault("ATTRACT_FIT_THREADS", "1")

from data.demo.generator import DemoUniverse, write
from data.settings import SEED, Settings
from industry_graph.demo import build_demo
from tests.pg import PostgresServer, postgres_server
from training.promote import promote
from training.train import TrainResult, train

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real public data not found at {SHARED_DATA.resolve()} (../shared/data)")
    return SHARED_DATA.resolve()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (Debian's ``postgresql``; ``make test`` installs
    it); tests on PostgreSQL skip, saying so, where it is not installed."""
    try:
        with postgres_server() as server:
            yield server
    except RuntimeError as exc:
        if "not installed" not in str(exc):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def demo_universe() -> DemoUniverse:
    """The demo universe at its default size (200,000 candidates) and the project seed."""
    return build_demo(candidates=200_000, seed=SEED)[0]


@dataclass(frozen=True)
class Trained:
    """A small demo universe with a trained, promoted champion in a temporary MLflow store."""

    settings: Settings
    data_dir: Path
    result: TrainResult


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Trained once per session (8,000 candidates) and shared by model, API and page tests."""
    root = tmp_path_factory.mktemp("trained")
    data_dir = root / "demo"
    write(build_demo(candidates=8_000, seed=11)[0], data_dir)
    settings = Settings(
        home=root / "home", mlflow_tracking_uri=None, data_dir=data_dir, reasons_precomputed=100
    )
    result = train(settings=settings, data_dir=data_dir, park_id="shibei")
    promote(settings=settings, park_id="shibei")
    return Trained(settings=settings, data_dir=data_dir, result=result)


# a test that takes one of these is in the slow tier: it needs the trained demo, the 200 k demo
# or a PostgreSQL server (``make test-fast`` leaves the slow tier out)
HEAVY_FIXTURES = frozenset({"trained", "served", "api", "demo_universe", "postgres"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that take a heavy fixture are marked ``slow``, those that read ``../shared/data``
    ``shared_data``; tests marked ``one_engine`` only
    read the service database: their PostgreSQL run is deselected (the suite's time; every
    route that writes still runs on both engines)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        on_postgres = "postgresql" in (params.get("api"), params.get("backend"))
        fixtures = set(getattr(item, "fixturenames", ()))
        if on_postgres or HEAVY_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if "shared_data" in fixtures:
            item.add_marker(pytest.mark.shared_data)
        (drop if on_postgres and item.get_closest_marker("one_engine") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# the trained demo loaded once, and an app with a database of its own per test and backend
from tests.apps import api, served  # noqa: E402, F401
