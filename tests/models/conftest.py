"""A small demo universe trained once into a temporary MLflow store (shared by model tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from data.demo.generator import generate, write
from data.settings import Settings
from training.promote import promote
from training.train import TrainResult, train


@dataclass(frozen=True)
class Trained:
    settings: Settings
    data_dir: Path
    result: TrainResult


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("trained")
    data_dir = root / "demo"
    write(generate(candidates=8_000, seed=11), data_dir)
    settings = Settings(home=root / "home", mlflow_tracking_uri=None)
    result = train(settings=settings, data_dir=data_dir, park_id="shibei")
    promote(settings=settings, park_id="shibei")
    return Trained(settings=settings, data_dir=data_dir, result=result)
