"""The one settings object (env prefix ``ATTRACT_``), read through a cached getter."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SEED = (
    20211102  # the day the plan was issued (静府发〔2021〕15号); every random draw derives from it
)

FIT_THREADS = 2  # the 2-core machine the service is sized for


def fit_threads() -> int:
    """Threads each LightGBM fit uses: ``ATTRACT_FIT_THREADS``, else 2. Processes that fit side by
    side (the test suite's workers) set 1 each: OpenMP threads beyond the cores spin against each
    other and a fit slows several-fold."""
    raw = os.environ.get("ATTRACT_FIT_THREADS", "")
    if not raw:
        return FIT_THREADS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(
            f"ATTRACT_FIT_THREADS: expected a whole number of threads >= 1, got {raw!r}"
        )
    return int(raw)


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as ``ATTRACT_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="ATTRACT_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path(".attract"), description="State folder (demo data, MLflow, DB)."
    )
    seed: int = SEED
    shared_data: Path = Field(
        default=Path("../shared/data"), description="Folder with the real public data sets."
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "ATTRACT_MLFLOW_TRACKING_URI"),
        description="MLflow tracking URI; defaults to a SQLite file inside `home`.",
    )

    mlflow_ui_url: str = Field(
        default="http://127.0.0.1:5000",
        description="Where `mlflow ui` serves the tracking store (links from the model page).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the service database; default SQLite in `home`.",
    )
    park: str = Field(default="shibei", description="Park the service serves.")
    data_dir: Path | None = Field(
        default=None, description="Universe the service serves; default the demo."
    )
    cors_origins: tuple[str, ...] = Field(
        default=(), description="Origins allowed by CORS (closed when empty)."
    )
    max_body_bytes: int = Field(default=2_000_000, description="Largest request body accepted.")
    reasons_precomputed: int = Field(
        default=1_000, description="Leads per track whose reasons are precomputed."
    )
    serve_snapshots: bool = Field(
        default=True,
        description="Write the server's state once per snapshot into files every worker maps "
        "(``home/snapshots``), and map them on the next start or reload.",
    )
    cookie_secure: bool = Field(
        default=True, description="Sign-in cookie only over HTTPS (and localhost)."
    )

    @property
    def database(self) -> str:
        """The service database URL."""
        return self.database_url or f"sqlite:///{(self.home / 'service.db').resolve()}"

    @property
    def universe_dir(self) -> Path:
        """The universe the service serves."""
        return self.data_dir or self.demo_dir

    @property
    def demo_dir(self) -> Path:
        """Where `attract demo` writes by default."""
        return self.home / "demo"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
