"""The three estimators: tax yield (quantiles), landing propensity (calibrated) and a LambdaRank
ranker, with scikit-learn conventions (``__init__`` stores parameters, ``fit`` returns ``self``,
learned attributes end in ``_``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression

from data.settings import SEED

QUANTILES = (0.1, 0.5, 0.9)


class Fitter(Protocol):
    """Where LightGBM models are fitted: in this process, or on a cluster (``training.dask_engine``).
    Every method returns a fitted local scikit-learn estimator."""

    def regressor(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMRegressor: ...

    def classifier(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMClassifier: ...

    def ranker(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray
    ) -> lgb.LGBMRanker: ...


class LocalFitter:
    """Fit in this process."""

    def regressor(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMRegressor:
        """A fitted ``LGBMRegressor``."""
        return lgb.LGBMRegressor(**params).fit(X, y)

    def classifier(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray
    ) -> lgb.LGBMClassifier:
        """A fitted ``LGBMClassifier``."""
        return lgb.LGBMClassifier(**params).fit(X, y)

    def ranker(
        self, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray, groups: np.ndarray
    ) -> lgb.LGBMRanker:
        """A fitted ``LGBMRanker``; ``groups`` labels each row's query, rows of a query contiguous."""
        order = pd.unique(groups)
        sizes = np.array([int((groups == g).sum()) for g in order])
        return lgb.LGBMRanker(**params).fit(X, y, group=sizes)


LOCAL = LocalFitter()


def _check_fitted(model: object, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise NotFittedError(f"{type(model).__name__} is not fitted yet; call fit first")


class TaxYieldModel:
    """Annual tax paid (万元), P10 / P50 / P90: LightGBM quantile regressions on log(1 + tax).

    Missing features (no tax history, unknown staff) are native LightGBM missing values, so the
    model works with or without a firm's history. Quantiles are sorted per row: they never cross.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        seed: int = SEED,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, y_wan_cny: Sequence[float] | np.ndarray, *, fitter: Fitter = LOCAL
    ) -> TaxYieldModel:
        """Fit one booster per quantile."""
        target = np.log1p(np.clip(np.asarray(y_wan_cny, dtype=float), 0, None))
        self.feature_names_ = list(X.columns)
        params = dict(
            objective="quantile",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            verbose=-1,
            n_jobs=2,
        )
        self.boosters_: dict[float, lgb.LGBMRegressor] = {
            q: fitter.regressor({**params, "alpha": q}, X, target) for q in QUANTILES
        }
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """``tax_p10_wan_cny``, ``tax_p50_wan_cny``, ``tax_p90_wan_cny`` (sorted per row)."""
        _check_fitted(self, "boosters_")
        raw = np.column_stack(
            [self.boosters_[q].predict(X[self.feature_names_]) for q in QUANTILES]
        )
        values = np.expm1(np.sort(raw, axis=1)).clip(min=0)
        return pd.DataFrame(
            values, index=X.index, columns=["tax_p10_wan_cny", "tax_p50_wan_cny", "tax_p90_wan_cny"]
        )

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions (log scale) to the P50, LightGBM ``pred_contrib``."""
        _check_fitted(self, "boosters_")
        raw = self.boosters_[0.5].predict(X[self.feature_names_], pred_contrib=True)
        return pd.DataFrame(np.asarray(raw)[:, :-1], index=X.index, columns=self.feature_names_)


class LandingPropensityModel:
    """P(signed within 12 months | approached): a LightGBM classifier, then isotonic calibration
    on the latest ``calibration_fraction`` of the (time-ordered) training rows, with steps of
    fewer than ``min_step_contacts`` contacts pooled into their neighbours, so that a dozen
    contacts that all signed give a high probability, not 100 %."""

    def __init__(
        self,
        *,
        n_estimators: int = 400,
        learning_rate: float = 0.02,
        num_leaves: int = 8,
        max_depth: int = 3,
        min_child_samples: int = 100,
        calibration_fraction: float = 0.2,
        min_step_contacts: int = 50,
        seed: int = SEED,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.calibration_fraction = calibration_fraction
        self.min_step_contacts = min_step_contacts
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, y: Sequence[int] | np.ndarray, *, fitter: Fitter = LOCAL
    ) -> LandingPropensityModel:
        """``X`` must be ordered by contact date: the last rows calibrate."""
        labels = np.asarray(y, dtype=int)
        if labels.min() == labels.max():
            raise ValueError("y: needs both signed and unsigned contacts to learn from")
        cut = int(len(X) * (1 - self.calibration_fraction))
        self.feature_names_ = list(X.columns)
        params = dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            reg_lambda=1.0,
            random_state=self.seed,
            verbose=-1,
            n_jobs=2,
        )
        self.booster_ = fitter.classifier(params, X.iloc[:cut], labels[:cut])
        raw = np.asarray(self.booster_.predict_proba(X.iloc[cut:]))[:, 1]
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels[cut:])
        # steps of fewer than ``min_step_contacts`` contacts are pooled with their neighbours
        # (left to right, the remainder into the last step): the mean and the order are kept
        levels, counts = np.unique(iso.predict(raw), return_counts=True)
        pooled = np.empty_like(levels)
        start, n = 0, 0
        groups: list[tuple[int, int]] = []
        for i, c in enumerate(counts):
            n += int(c)
            if n >= self.min_step_contacts:
                groups.append((start, i + 1))
                start, n = i + 1, 0
        if start < len(levels):
            groups = [*groups[:-1], (groups[-1][0] if groups else 0, len(levels))]
        for lo, hi in groups:
            pooled[lo:hi] = np.average(levels[lo:hi], weights=counts[lo:hi])
        at = np.searchsorted(levels, iso.y_thresholds_).clip(max=len(levels) - 1)
        self.calibration_x_ = np.asarray(iso.X_thresholds_, dtype=float)
        self.calibration_y_ = pooled[at]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of signing."""
        _check_fitted(self, "booster_")
        raw = np.asarray(self.booster_.predict_proba(X[self.feature_names_]))[:, 1]
        return np.asarray(np.interp(raw, self.calibration_x_, self.calibration_y_), dtype=float)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to the log-odds, LightGBM ``pred_contrib``."""
        _check_fitted(self, "booster_")
        raw = self.booster_.predict_proba(X[self.feature_names_], pred_contrib=True)
        return pd.DataFrame(np.asarray(raw)[:, :-1], index=X.index, columns=self.feature_names_)


class PriorPropensity:
    """The documented fallback where a universe has no outreach history (real A-share data):
    P(land) = sigmoid(−3 + 1.0 × gap_value + 0.5 × synergy + 0.4 × Yangtze Delta + 0.5 × any HQ
    function − 0.3 × distance / 1000 km). Hand-set, not learned; leads say so."""

    source = "prior"

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Prior probabilities."""
        hq = X[["hq_mnc", "hq_national", "hq_regional"]].max(axis=1)
        z = (
            -3.0
            + 1.0 * X["gap_value"]
            + 0.5 * X["synergy"]
            + 0.4 * X["yangtze_delta"]
            + 0.5 * hq
            - 0.3 * X["distance_km"].fillna(1000.0) / 1000.0
        )
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


class LambdaRankModel:
    """A LightGBM LambdaRank ranker over past campaigns (query = campaign)."""

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        seed: int = SEED,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, relevance: np.ndarray, groups: np.ndarray, *, fitter: Fitter = LOCAL
    ) -> LambdaRankModel:
        """``groups`` labels each row's campaign; rows of a campaign must be contiguous."""
        self.feature_names_ = list(X.columns)
        params = dict(
            objective="lambdarank",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            verbose=-1,
            n_jobs=2,
        )
        self.booster_ = fitter.ranker(params, X, relevance, groups)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Ranking scores (higher first)."""
        _check_fitted(self, "booster_")
        return np.asarray(self.booster_.predict(X[self.feature_names_]), dtype=float)
