"""Promotion: re-score the champion on the challenger's holdout and move ``champion`` only when
the challenger is better.

The metric is the value captured @50 of the lead score over the challenger's held-out campaigns
(higher is better; ``models.ranking.value_captured``), or, where the holdout carries no realised
values (an outreach history without the demo's oracle), the mean NDCG@50 of signings. A
universe without outreach history has no campaigns; there the metric is the tax model's median
absolute log10 error on the challenger's tax holdout (lower is better). A tie keeps the
champion; a champion that this version of the code cannot score (saved before a change of the
scorer) is replaced, and the message says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from data.settings import Settings
from models import registry
from models.ranking import mean_ndcg, value_captured
from models.scorer import LeadScorer


@dataclass(frozen=True)
class Decision:
    """The outcome of ``promote``, with both figures."""

    promoted: bool
    metric: str
    challenger_version: str
    champion_version: str | None
    challenger_value: float | None
    champion_value: float | None
    message: str


def _evaluate(
    scorer: LeadScorer, holdout: pd.DataFrame | None, tax_holdout: pd.DataFrame
) -> tuple[str, float]:
    if holdout is not None and len(holdout):
        scored = holdout.copy()
        scored["score"] = scorer.score(holdout[list(scorer.feature_names)])["score"].to_numpy()
        if "realised_value" in scored:
            return "value_captured_at_50", value_captured(scored, score_col="score", k=50)
        return "ndcg_at_50", mean_ndcg(scored, score_col="score", group_col="campaign", k=50)
    pred = scorer.tax.predict(tax_holdout[list(scorer.tax_features)])
    y = tax_holdout["tax_paid_wan_cny"].to_numpy()
    keep = y > 0
    err = np.abs(
        np.log10(np.maximum(pred["tax_p50_wan_cny"].to_numpy()[keep], 1e-6)) - np.log10(y[keep])
    )
    return "tax_median_abs_log10_error", float(np.median(err))


def promote(*, settings: Settings, park_id: str) -> Decision:
    """Compare challenger and champion on the challenger's holdout; move the alias if better."""
    challenger = registry.version_by_alias(settings, park_id, registry.CHALLENGER)
    if challenger is None:
        raise LookupError(
            f"no challenger for {registry.model_name(park_id)}; run `attract train --park {park_id}`"
        )
    champion = registry.version_by_alias(settings, park_id, registry.CHAMPION)
    if champion is None:
        registry.set_alias(settings, park_id, registry.CHAMPION, str(challenger.version))
        return Decision(
            True,
            "none",
            str(challenger.version),
            None,
            None,
            None,
            f"no champion yet: version {challenger.version} becomes champion",
        )
    if str(champion.version) == str(challenger.version):
        return Decision(
            False,
            "none",
            str(challenger.version),
            str(champion.version),
            None,
            None,
            f"version {challenger.version} is already champion",
        )
    holdout: pd.DataFrame | None
    try:
        holdout = pd.read_parquet(
            registry.run_artifact(settings, str(challenger.run_id), "holdout.parquet")
        )
    except (MlflowException, OSError):
        holdout = None
    tax_holdout = pd.read_parquet(
        registry.run_artifact(settings, str(challenger.run_id), "tax_holdout.parquet")
    )
    new = registry.load_scorer(settings, park_id, registry.CHALLENGER).scorer
    metric, new_value = _evaluate(new, holdout, tax_holdout)
    try:
        old = registry.load_scorer(settings, park_id, registry.CHAMPION).scorer
        _, old_value = _evaluate(old, holdout, tax_holdout)
    except (AttributeError, ImportError, KeyError, ValueError) as exc:  # saved by older code
        registry.set_alias(settings, park_id, registry.CHAMPION, str(challenger.version))
        return Decision(
            True,
            metric,
            str(challenger.version),
            str(champion.version),
            new_value,
            None,
            f"champion v{champion.version} cannot be scored by this version of the service "
            f"({type(exc).__name__}: {exc}); challenger v{challenger.version} "
            f"({metric} {new_value:.4f}) becomes champion",
        )
    better = (
        new_value < old_value if metric == "tax_median_abs_log10_error" else new_value > old_value
    )
    if better:
        registry.set_alias(settings, park_id, registry.CHAMPION, str(challenger.version))
    verdict = "promoted" if better else "kept the champion"
    message = (
        f"{metric} on the challenger's holdout: challenger v{challenger.version} {new_value:.4f}, "
        f"champion v{champion.version} {old_value:.4f} → {verdict}"
    )
    return Decision(
        better,
        metric,
        str(challenger.version),
        str(champion.version),
        new_value,
        old_value,
        message,
    )
