"""The three estimators: tax yield (quantiles), landing propensity (calibrated) and a LambdaRank
ranker, with scikit-learn conventions (``__init__`` stores parameters, ``fit`` returns ``self``,
learned attributes end in ``_``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from data.settings import SEED, fit_threads
from models.calibration import choose_calibrator

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


def _pred_contrib(model: lgb.LGBMModel, X: pd.DataFrame) -> np.ndarray:
    """LightGBM ``pred_contrib`` of a fitted booster (without the bias column) on the values of
    ``X``, whose columns are the booster's features. The booster is given a float array rather
    than the frame, whose conversion and checks on every call are most of a one-row explain;
    the values are the same (float32 → float64 is exact; a booster with categorical columns
    takes the frame)."""
    if model.booster_.pandas_categorical:
        return np.asarray(model.predict(X, pred_contrib=True))[:, :-1]
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    # the threads the wrapper would use (its n_jobs; OpenMP's default otherwise)
    threads = model.n_jobs if isinstance(model.n_jobs, int) and model.n_jobs > 0 else 0
    return np.asarray(model.booster_.predict(values, pred_contrib=True, num_threads=threads))[
        :, :-1
    ]


class TaxYieldModel:
    """Annual tax paid (万元), P10 / P50 / P90: the model of ``attract tax`` on any universe.

    For a firm with revenue it predicts log(tax / revenue) — the P50 with a Huber loss, P10 and
    P90 with quantile losses widened by a conformal offset computed on a held-out
    ``calibration_fraction`` of the firms, so that the band covers ``coverage`` of new firms —
    and multiplies by the revenue; it learns from firm-years with 0 < tax < revenue. For a firm
    without revenue the same three boosters on log(1 + tax) answer. Missing features (no tax
    history, unknown staff) are native LightGBM missing values, so one model serves firms with
    and without a history. Quantiles are sorted per row: they never cross.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 400,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        min_child_samples: int = 20,
        calibration_fraction: float = 0.2,
        coverage: float = 0.8,
        seed: int = SEED,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.calibration_fraction = calibration_fraction
        self.coverage = coverage
        self.seed = seed

    def _params(self) -> dict[str, Any]:
        return dict(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.9,
            verbose=-1,
            n_jobs=fit_threads(),
        )

    def _fit_bounds(
        self,
        X: pd.DataFrame,
        target: np.ndarray,
        groups: np.ndarray,
        fitter: Fitter,
    ) -> tuple[dict[float, lgb.LGBMRegressor], float]:
        """P50 (Huber) and P10 / P90 boosters on the firms outside the calibration share, and
        the conformal offset (CQR) that makes [P10, P90] cover ``coverage`` of the rest."""
        keys = pd.Series(groups).astype(str)
        held = (
            pd.util.hash_pandas_object(keys, index=False).to_numpy() % 1000
            < self.calibration_fraction * 1000
        )
        fit_rows, cal_rows = ~held, held
        params = self._params()
        boosters = {
            0.5: fitter.regressor(
                {**params, "objective": "huber", "alpha": 0.9}, X[fit_rows], target[fit_rows]
            ),
            0.1: fitter.regressor(
                {**params, "objective": "quantile", "alpha": 0.1}, X[fit_rows], target[fit_rows]
            ),
            0.9: fitter.regressor(
                {**params, "objective": "quantile", "alpha": 0.9}, X[fit_rows], target[fit_rows]
            ),
        }
        offset = 0.0
        if cal_rows.sum() >= 20:
            y = target[cal_rows]
            lo = boosters[0.1].predict(X[cal_rows])
            hi = boosters[0.9].predict(X[cal_rows])
            scores = np.maximum(lo - y, y - hi)
            level = min(1.0, self.coverage * (1 + 1 / len(y)))
            offset = float(np.quantile(scores, level))
        return boosters, offset

    def fit(
        self,
        X: pd.DataFrame,
        y_wan_cny: Sequence[float] | np.ndarray,
        *,
        groups: Sequence[object] | np.ndarray | None = None,
        fitter: Fitter = LOCAL,
    ) -> TaxYieldModel:
        """Fit the rate and the level boosters; ``groups`` (a firm id per row) keeps a firm's
        rows on one side of the calibration split (default: each row its own firm)."""
        y = np.clip(np.asarray(y_wan_cny, dtype=float), 0, None)
        g = np.asarray(groups if groups is not None else np.arange(len(X)), dtype=object)
        self.feature_names_ = list(X.columns)
        revenue = np.expm1(X["log_revenue"].to_numpy(dtype=float))
        rated = np.isfinite(revenue) & (revenue > 0) & (y > 0) & (y < revenue)
        if rated.sum() < 50:
            raise ValueError("y: fewer than 50 firm-years with 0 < tax < revenue to learn from")
        self.log_revenue_reference_ = float(np.median(np.log(revenue[rated])))
        self.rate_, self.rate_offset_ = self._fit_bounds(
            X[rated], np.log(y[rated] / revenue[rated]), g[rated], fitter
        )
        self.level_, self.level_offset_ = self._fit_bounds(X, np.log1p(y), g, fitter)
        self.boosters_ = {
            **{("rate", q): b for q, b in self.rate_.items()},
            **{("level", q): b for q, b in self.level_.items()},
        }
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """``tax_p10_wan_cny``, ``tax_p50_wan_cny``, ``tax_p90_wan_cny`` (sorted per row)."""
        _check_fitted(self, "boosters_")
        Xf = X[self.feature_names_]
        revenue = np.expm1(Xf["log_revenue"].to_numpy(dtype=float))
        rated = np.isfinite(revenue) & (revenue > 0)
        out = np.zeros((len(X), 3))
        if rated.any():
            raw = np.column_stack([self.rate_[q].predict(Xf[rated]) for q in QUANTILES])
            raw[:, 0] -= self.rate_offset_
            raw[:, 2] += self.rate_offset_
            out[rated] = np.exp(np.sort(raw, axis=1)) * revenue[rated, None]
        if (~rated).any():
            raw = np.column_stack([self.level_[q].predict(Xf[~rated]) for q in QUANTILES])
            raw[:, 0] -= self.level_offset_
            raw[:, 2] += self.level_offset_
            out[~rated] = np.expm1(np.sort(raw, axis=1)).clip(min=0)
        return pd.DataFrame(
            out, index=X.index, columns=["tax_p10_wan_cny", "tax_p50_wan_cny", "tax_p90_wan_cny"]
        )

    @property
    def median_booster(self) -> lgb.LGBMRegressor:
        """The P50 booster of the rate model (what most firms are predicted with)."""
        _check_fitted(self, "boosters_")
        return self.rate_[0.5]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to log(tax) of the P50, LightGBM ``pred_contrib``: of the
        rate model plus the revenue itself (the scale, against the training firms' median) on
        ``log_revenue`` for firms with revenue, of the level model for the rest."""
        _check_fitted(self, "boosters_")
        Xf = X[self.feature_names_]
        revenue = np.expm1(Xf["log_revenue"].to_numpy(dtype=float))
        rated = np.isfinite(revenue) & (revenue > 0)
        out = np.zeros((len(X), len(self.feature_names_)))
        if rated.any():
            raw = _pred_contrib(self.rate_[0.5], Xf[rated])
            raw[:, self.feature_names_.index("log_revenue")] += (
                np.log(revenue[rated]) - self.log_revenue_reference_
            )
            out[rated] = raw
        if (~rated).any():
            out[~rated] = _pred_contrib(self.level_[0.5], Xf[~rated])
        return pd.DataFrame(out, index=X.index, columns=self.feature_names_)


class LandingPropensityModel:
    """P(signed within 12 months | approached): a LightGBM classifier fitted on the earlier
    ``1 − calibration_fraction`` of the (time-ordered) training rows, then a calibrator fitted
    on the latest ``calibration_fraction``, chosen by the rule of ``models.calibration``
    (``choose_calibrator``: the lowest out-of-fold Brier score among the order-keeping
    calibrators — interpolated isotonic, Platt, beta — whose out-of-fold calibration error is no
    worse than a step isotonic calibration's). Every candidate is strictly increasing in the
    booster's score, so firms the booster tells apart keep different probabilities, and steps
    of fewer than ``min_step_contacts`` contacts are pooled, so that a dozen contacts that all
    signed give a high probability, not 100 %."""

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
        calibration_folds: int = 5,
        seed: int = SEED,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.calibration_fraction = calibration_fraction
        self.min_step_contacts = min_step_contacts
        self.calibration_folds = calibration_folds
        self.seed = seed

    def fit(
        self, X: pd.DataFrame, y: Sequence[int] | np.ndarray, *, fitter: Fitter = LOCAL
    ) -> LandingPropensityModel:
        """``X`` must be ordered by contact date: the last rows calibrate."""
        labels = np.asarray(y, dtype=int)
        if labels.min() == labels.max():
            raise ValueError("y: needs both signed and unsigned contacts to learn from")
        cut = int(len(X) * (1 - self.calibration_fraction))
        if labels[cut:].min() == labels[cut:].max():
            raise ValueError(
                "y: the latest contacts, which calibrate, need both signed and unsigned ones"
            )
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
            n_jobs=fit_threads(),
        )
        self.booster_ = fitter.classifier(params, X.iloc[:cut], labels[:cut])
        raw = np.asarray(self.booster_.predict_proba(X.iloc[cut:]))[:, 1]
        self.calibration_ = choose_calibrator(
            raw,
            labels[cut:],
            min_step=self.min_step_contacts,
            folds=self.calibration_folds,
            seed=self.seed,
        )
        self.calibrator_ = self.calibration_.calibrator
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of signing."""
        _check_fitted(self, "booster_")
        raw = np.asarray(self.booster_.predict_proba(X[self.feature_names_]))[:, 1]
        return self.calibrator_(raw)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to the log-odds, LightGBM ``pred_contrib``."""
        _check_fitted(self, "booster_")
        raw = _pred_contrib(self.booster_, X[self.feature_names_])
        return pd.DataFrame(raw, index=X.index, columns=self.feature_names_)


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


@dataclass
class RosterPropensity:
    """P(land) where a park has no outreach history but has a roster:
    logit P = intercept + Σ weight × (feature − centre), over

    - the **measured** weights (``training.roster``: the roster fit and the expansion signals,
      learned out of sample by the district hold-out; empty when the roster fit did not beat the
      baselines there), and
    - the park YAML's **hand-set** factors (``landing_prior.factors``: location and ecosystem,
      which a test that removes location cannot measure).

    ``centres`` are the candidates' means (a missing value counts as the centre: no effect);
    ``intercept`` makes the mean P(land) over the candidates the YAML's ``base_rate``.
    """

    intercept: float
    weights: dict[str, float]
    centres: dict[str, float]
    measured: tuple[str, ...] = ()
    source: str = "roster"

    @classmethod
    def calibrated(
        cls,
        X: pd.DataFrame,
        *,
        weights: Mapping[str, float],
        base_rate: float,
        measured: Iterable[str] = (),
    ) -> RosterPropensity:
        """Centre the weights on the candidates ``X`` and solve the intercept for ``base_rate``
        (bisection: the mean of a logistic is monotone in its intercept)."""
        unknown = [name for name in weights if name not in X.columns]
        if unknown:
            raise ValueError(
                f"landing_prior.factors: {', '.join(unknown)} is not a feature "
                f"(known: {', '.join(X.columns)})"
            )
        centres = {
            name: float(np.nan_to_num(pd.to_numeric(X[name], errors="coerce").mean()))
            for name in weights
        }
        model = cls(0.0, dict(weights), centres, tuple(measured))
        z = model._centred(X)
        lo, hi = -30.0, 30.0
        for _ in range(80):
            mid = (lo + hi) / 2
            if float(np.mean(1 / (1 + np.exp(-(mid + z))))) < base_rate:
                lo = mid
            else:
                hi = mid
        model.intercept = (lo + hi) / 2
        return model

    def _terms(self, X: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=X.index)
        for name, weight in self.weights.items():
            x = pd.to_numeric(X[name], errors="coerce").astype(float)
            out[name] = weight * (x.fillna(self.centres[name]) - self.centres[name])
        return out

    def _centred(self, X: pd.DataFrame) -> np.ndarray:
        return self._terms(X).sum(axis=1).to_numpy(dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(land) of each row."""
        return np.asarray(1 / (1 + np.exp(-(self.intercept + self._centred(X)))), dtype=float)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each term's log-odds against the average candidate (for reasons)."""
        return self._terms(X)


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
            n_jobs=fit_threads(),
        )
        self.booster_ = fitter.ranker(params, X, relevance, groups)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Ranking scores (higher first)."""
        _check_fitted(self, "booster_")
        return np.asarray(self.booster_.predict(X[self.feature_names_]), dtype=float)
