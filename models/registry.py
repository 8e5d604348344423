"""Every MLflow call of the project: tracking URI, experiments, the pyfunc wrapper, the registry.

- tracking defaults to ``sqlite:///<ATTRACT_HOME>/mlflow.db`` with artifacts in
  ``<ATTRACT_HOME>/mlartifacts``; ``MLFLOW_TRACKING_URI`` overrides (through ``Settings``);
- experiment ``attract-<park>``, registered model ``lead-scorer-<park>``, aliases ``challenger``
  and ``champion`` (MLflow 3 aliases, not stages).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.environment_variables import MLFLOW_REGISTRY_URI
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient

from data.settings import Settings
from models.scorer import LeadScorer

CHAMPION = "champion"
CHALLENGER = "challenger"


def tracking_uri(settings: Settings) -> str:
    """The tracking URI: ``MLFLOW_TRACKING_URI`` if set, else a SQLite file in the state folder."""
    if settings.mlflow_tracking_uri:
        return settings.mlflow_tracking_uri
    return f"sqlite:///{(settings.home / 'mlflow.db').resolve()}"


def experiment_name(park_id: str) -> str:
    """Experiment of a park's training runs."""
    return f"attract-{park_id}"


def model_name(park_id: str) -> str:
    """Registered model of a park's lead scorer."""
    return f"lead-scorer-{park_id}"


def client(settings: Settings) -> MlflowClient:
    """A client on the configured store; nothing process-wide changes."""
    settings.home.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


_FLUENT = threading.RLock()


@contextmanager
def tracking(settings: Settings) -> Iterator[MlflowClient]:
    """MLflow's fluent API (``mlflow.start_run``, ``log_*``, ``pyfunc.load_model``) on the
    configured store, for this block only: it needs the process-wide tracking and registry URIs,
    which are set on entry and put back as they were on exit, one block at a time."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    settings.home.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(settings)
    with _FLUENT:
        old_tracking, old_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield MlflowClient(tracking_uri=uri, registry_uri=uri)
        finally:
            mlflow.set_tracking_uri(old_tracking)  # type: ignore[arg-type]
            mlflow.set_registry_uri(old_registry)  # type: ignore[arg-type]
            if old_registry is None:
                MLFLOW_REGISTRY_URI.unset()  # type: ignore[no-untyped-call]


@contextmanager
def start_run(settings: Settings, park_id: str, run_name: str) -> Iterator[Any]:
    """A run in the park's experiment (created when missing), with the fluent API on the
    configured store for the run's block (``tracking``)."""
    ensure_experiment(settings, park_id)
    with tracking(settings):
        mlflow.set_experiment(experiment_name(park_id))
        with mlflow.start_run(run_name=run_name) as run:
            yield run


def ensure_experiment(settings: Settings, park_id: str) -> str:
    """The experiment id, creating it with artifacts under the state folder when missing."""
    c = client(settings)
    name = experiment_name(park_id)
    found = c.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if not settings.mlflow_tracking_uri:
        location = (settings.home / "mlartifacts").resolve().as_uri()
    return str(c.create_experiment(name, artifact_location=location))


class LeadScorerModel(PythonModel):
    """The pyfunc wrapper: input the feature matrix, output ``LeadScorer.score``."""

    def load_context(self, context: Any) -> None:
        """Load the joblib bundle."""
        self.scorer: LeadScorer = joblib.load(context.artifacts["bundle"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score the feature matrix."""
        return self.scorer.score(model_input)


def log_scorer(
    settings: Settings,
    scorer: LeadScorer,
    *,
    input_example: pd.DataFrame,
    register: bool = True,
) -> ModelVersion | None:
    """Log the scorer as a pyfunc model in the active run (``start_run``) and register it as
    ``challenger``."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "lead_scorer.joblib"
        joblib.dump(scorer, bundle)
        example = input_example.head(20)
        signature = infer_signature(example, scorer.score(example))
        info = mlflow.pyfunc.log_model(
            name="lead-scorer",
            python_model=LeadScorerModel(),
            artifacts={"bundle": str(bundle)},
            signature=signature,
            input_example=example,
            registered_model_name=model_name(scorer.park_id) if register else None,
        )
    if not register:
        return None
    c = client(settings)
    version = c.get_model_version(model_name(scorer.park_id), str(info.registered_model_version))
    c.set_registered_model_alias(model_name(scorer.park_id), CHALLENGER, version.version)
    return version


def version_by_alias(settings: Settings, park_id: str, alias: str) -> ModelVersion | None:
    """The model version an alias points to, or ``None``."""
    try:
        return client(settings).get_model_version_by_alias(model_name(park_id), alias)
    except MlflowException:
        return None


@dataclass(frozen=True)
class LoadedScorer:
    """A scorer loaded from the registry, with where it came from."""

    scorer: LeadScorer
    version: str
    run_id: str
    alias: str


def load_scorer(settings: Settings, park_id: str, alias: str = CHAMPION) -> LoadedScorer:
    """Load ``models:/lead-scorer-<park>@<alias>``; ``LookupError`` naming what is missing."""
    version = version_by_alias(settings, park_id, alias)
    if version is None:
        raise LookupError(
            f"no model {model_name(park_id)}@{alias} in {tracking_uri(settings)}; run `attract train` "
            f"(and `attract promote`) first"
        )
    with tracking(settings):
        model = mlflow.pyfunc.load_model(f"models:/{model_name(park_id)}@{alias}")
    wrapper = model.unwrap_python_model()
    return LoadedScorer(
        scorer=wrapper.scorer, version=str(version.version), run_id=str(version.run_id), alias=alias
    )


def set_alias(settings: Settings, park_id: str, alias: str, version: str) -> None:
    """Point ``alias`` at ``version``."""
    client(settings).set_registered_model_alias(model_name(park_id), alias, version)


def run_artifact(settings: Settings, run_id: str, path: str) -> Path:
    """Download one artifact of a run to a local path."""
    return Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, tracking_uri=tracking_uri(settings)
        )
    )


def run_metrics(settings: Settings, run_id: str) -> dict[str, float]:
    """The metrics a run logged."""
    return dict(client(settings).get_run(run_id).data.metrics)


def versions(settings: Settings, park_id: str) -> list[dict[str, Any]]:
    """Every registered version of the park's model, newest first: version, run, aliases,
    registration time and the run's metrics."""
    c = client(settings)
    try:
        found = c.search_model_versions(f"name = '{model_name(park_id)}'")
    except MlflowException:
        return []
    aliases: dict[str, list[str]] = {}
    try:  # search results do not carry aliases in every store: the registered model does
        for alias, version in c.get_registered_model(model_name(park_id)).aliases.items():
            aliases.setdefault(str(version), []).append(str(alias))
    except MlflowException:
        pass
    out = []
    for v in sorted(found, key=lambda v: int(v.version), reverse=True):
        try:
            metrics = dict(c.get_run(str(v.run_id)).data.metrics)
        except MlflowException:
            metrics = {}
        out.append(
            {
                "version": str(v.version),
                "run_id": str(v.run_id),
                "aliases": sorted(aliases.get(str(v.version), [])),
                "created": int(v.creation_timestamp or 0),
                "metrics": metrics,
            }
        )
    return out


PLOTS = (
    "calibration.png",
    "lift.png",
    "importance_propensity.png",
    "importance_tax.png",
    "gaps.png",
)


def run_plot(settings: Settings, run_id: str, name: str) -> Path | None:
    """A plot a training run logged (one of ``PLOTS``), downloaded once; ``None`` if the run has
    none such."""
    if name not in PLOTS:
        return None
    try:
        return run_artifact(settings, run_id, name)
    except (MlflowException, OSError):
        return None


def run_ui_url(settings: Settings, park_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI (``mlflow ui`` on the same store)."""
    experiment = client(settings).get_experiment_by_name(experiment_name(park_id))
    base = settings.mlflow_ui_url.rstrip("/")
    if experiment is None:
        return base
    return f"{base}/#/experiments/{experiment.experiment_id}/runs/{run_id}"
