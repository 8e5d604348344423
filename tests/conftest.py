"""Shared fixtures: the real public data folder (skipped when absent) and a demo universe."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.demo.generator import DemoUniverse, generate
from data.settings import SEED

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real public data not found at {SHARED_DATA.resolve()} (../shared/data)")
    return SHARED_DATA.resolve()


@pytest.fixture(scope="session")
def demo_universe() -> DemoUniverse:
    """The demo universe at its default size (200,000 candidates) and the project seed."""
    return generate(candidates=200_000, seed=SEED)
