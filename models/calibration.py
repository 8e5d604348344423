"""Calibrators of a classifier's raw probability, and the rule that chooses one.

A booster's raw P(sign) orders firms well but is not a probability to multiply a value by; a
calibrator maps it to one, fitted on contacts the booster did not learn from. Isotonic
regression alone (``step``) turns the raw score into a staircase: every firm above its top step
gets the same P(land), and at the head of a lead list — firms whose raw score is above almost
every contact the park has made — the order is then the value's alone. The candidates here keep
the booster's order (each is strictly increasing in the raw score), so two firms the booster
tells apart keep different probabilities:

- ``interpolated_isotonic``: isotonic regression, steps of fewer than ``min_step`` contacts
  pooled into their neighbours (a dozen contacts that all signed give a high probability, not
  100 %); then the log-odds of the probability interpolated linearly between the steps' centres
  (each step's mean raw log-odds, its signed share) and continued beyond the first and last
  centre with the slope of the Platt fit below, on the same rows: where the contacts can tell
  steps apart the staircase holds, between and beyond them the booster's order does;
- ``platt``: logit P = a + b × logit(raw), a logistic regression on the raw log-odds (b > 0);
- ``beta``: logit P = c + a × ln(raw) − b × ln(1 − raw) with a, b ≥ 0 (Kull, Silva Filho and
  Flach, 2017, "Beyond sigmoids"), fitted as a logistic regression on the two terms; a term
  whose coefficient comes out negative is dropped and the other refitted, as their reference
  implementation does; Platt is the case a = b.

**The rule** (``choose_calibrator``): each candidate and ``step`` are fitted on ``folds`` − 1
folds of the calibration rows (stratified, shuffled with the seed) and predict the fold left
out; over the out-of-fold predictions each gets its Brier score and its calibration error
(``calibration_error``: the mean gap between predicted and observed signing share over ten
equal-frequency bins, weighted by bin size). The chosen one is the candidate with the lowest
Brier score among those whose calibration error is no worse than ``step``'s; when none is, the
candidate with the lowest calibration error. Ties go to the earlier in ``CANDIDATES``. The
chosen calibrator is then refitted on all the calibration rows.

Property (tests/models/test_calibration.py): every candidate is strictly increasing in the raw
score, also beyond the calibration rows' range; on a well-specified sample the rule's choice is
no worse calibrated than ``step`` out of fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from data.settings import SEED

STEP: Final = "step"
CANDIDATES: Final = ("interpolated_isotonic", "platt", "beta")
KINDS: Final = (STEP, *CANDIDATES)
_EPS: Final = 1e-6  # raw probabilities are held inside (ε, 1 − ε) before their log-odds


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-frequency bins of ``p`` (sorted by ``p``), weighted
    by bin size."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(y) != len(p) or not len(p):
        raise ValueError("y, p: need the same, non-zero number of rows")
    order = np.argsort(p)
    chunks = np.array_split(order, bins)
    return float(sum(len(c) / len(p) * abs(y[c].mean() - p[c].mean()) for c in chunks if len(c)))


def brier_score(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of ``p`` against the 0 / 1 outcomes ``y``."""
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=float)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def _logistic(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Intercept and coefficients of a logistic regression by Newton's method (iteratively
    reweighted least squares), with a ridge of 1e-6 so that separable rows stay finite; a
    handful of rows and one or two terms: a few milliseconds, where a general solver takes a
    second per fit on this machine."""
    A = np.column_stack([np.ones(len(X)), X])
    beta = np.zeros(A.shape[1])
    ridge = 1e-6 * np.eye(A.shape[1])
    ridge[0, 0] = 0.0
    for _ in range(100):
        p = _sigmoid(A @ beta)
        w = np.maximum(p * (1 - p), 1e-12)
        gradient = A.T @ (y - p) - ridge @ beta
        hessian = (A * w[:, None]).T @ A + ridge
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), np.asarray(beta[1:], dtype=float)


def _pooled_steps(raw: np.ndarray, y: np.ndarray, min_step: int) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic regression's steps, those of fewer than ``min_step`` rows pooled with their
    neighbours (left to right, a short remainder into the last step), as (mean raw log-odds,
    signed share) per pooled step, both strictly increasing."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    fitted = iso.predict(raw)
    levels, inverse = np.unique(fitted, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(levels))
    group = np.empty(len(levels), dtype=int)
    g, n = 0, 0
    for i, c in enumerate(counts):
        group[i] = g
        n += int(c)
        if n >= min_step:
            g, n = g + 1, 0
    if n and g:  # a remainder below min_step joins the last full step
        group[group == g] = g - 1
    row_group = group[inverse]
    z = _logit(raw)
    centres, shares = [], []
    for k in np.unique(row_group):
        rows = row_group == k
        centres.append(float(z[rows].mean()))
        shares.append(float(y[rows].mean()))
    # pooling keeps the order of the levels; equal shares (possible after pooling) merge, so
    # that the interpolation between centres is strictly increasing
    xs, ys = [centres[0]], [shares[0]]
    weights = [1]
    for c, s in zip(centres[1:], shares[1:], strict=True):
        if s <= ys[-1]:
            w = weights[-1]
            xs[-1], ys[-1] = (xs[-1] * w + c) / (w + 1), (ys[-1] * w + s) / (w + 1)
            weights[-1] = w + 1
        else:
            xs.append(c)
            ys.append(s)
            weights.append(1)
    return np.asarray(xs), np.asarray(ys)


@dataclass
class Calibrator:
    """One fitted calibrator (``kind`` ∈ ``KINDS``); call it on raw probabilities."""

    kind: str
    # step: raw thresholds and probabilities (np.interp between them, flat outside);
    # interpolated_isotonic: raw log-odds knots and calibrated log-odds, with the tails' slope
    knots_x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    knots_y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_slope: float = 1.0
    # platt: (a, b); beta: (c, a, b)
    coefficients: tuple[float, ...] = ()

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the raw probabilities ``raw``."""
        raw = np.asarray(raw, dtype=float)
        if self.kind == STEP:
            return np.asarray(np.interp(raw, self.knots_x, self.knots_y), dtype=float)
        if self.kind == "interpolated_isotonic":
            z = _logit(raw)
            x, v = self.knots_x, self.knots_y
            out = np.interp(z, x, v)
            out = np.where(z < x[0], v[0] + self.tail_slope * (z - x[0]), out)
            out = np.where(z > x[-1], v[-1] + self.tail_slope * (z - x[-1]), out)
            return _sigmoid(out)
        if self.kind == "platt":
            a, b = self.coefficients
            return _sigmoid(a + b * _logit(raw))
        if self.kind == "beta":
            c, a, b = self.coefficients
            q = np.clip(raw, _EPS, 1 - _EPS)
            return _sigmoid(c + a * np.log(q) - b * np.log1p(-q))
        raise ValueError(f"kind: {self.kind!r} is not a calibrator ({', '.join(KINDS)})")


def fit_calibrator(kind: str, raw: np.ndarray, y: np.ndarray, *, min_step: int = 50) -> Calibrator:
    """Fit the calibrator ``kind`` (module docstring) on raw probabilities and 0 / 1 outcomes."""
    raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=int)
    if len(raw) != len(y) or not len(raw):
        raise ValueError("raw, y: need the same, non-zero number of rows")
    if y.min() == y.max():
        raise ValueError("y: a calibrator needs both signed and unsigned contacts")
    if kind == STEP:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        levels, counts = np.unique(iso.predict(raw), return_counts=True)
        pooled = np.empty_like(levels)
        groups: list[tuple[int, int]] = []
        start, n = 0, 0
        for i, c in enumerate(counts):
            n += int(c)
            if n >= min_step:
                groups.append((start, i + 1))
                start, n = i + 1, 0
        if start < len(levels):
            groups = [*groups[:-1], (groups[-1][0] if groups else 0, len(levels))]
        for lo, hi in groups:
            pooled[lo:hi] = np.average(levels[lo:hi], weights=counts[lo:hi])
        at = np.searchsorted(levels, iso.y_thresholds_).clip(max=len(levels) - 1)
        return Calibrator(
            STEP, np.asarray(iso.X_thresholds_, dtype=float), np.asarray(pooled[at], dtype=float)
        )
    z = _logit(raw)
    a, (b,) = _logistic(z[:, None], y)
    slope = max(b, _EPS)  # a raw score that ranks worse than chance would make b ≤ 0
    if kind == "platt":
        return Calibrator("platt", coefficients=(a, slope))
    if kind == "interpolated_isotonic":
        centres, shares = _pooled_steps(raw, y, min_step)
        # one step (a raw score that tells nothing apart) is one knot with the Platt slope
        return Calibrator(kind, centres, _logit(shares), tail_slope=slope)
    if kind == "beta":
        q = np.clip(raw, _EPS, 1 - _EPS)
        terms = np.column_stack([np.log(q), -np.log1p(-q)])
        c, (ca, cb) = _logistic(terms, y)
        if ca < 0:  # drop the term that would make the map decrease, refit the other
            c, (cb,) = _logistic(terms[:, 1:], y)
            ca = 0.0
        elif cb < 0:
            c, (ca,) = _logistic(terms[:, :1], y)
            cb = 0.0
        if ca <= 0 and cb <= 0:  # neither term increases: the Platt fit
            return Calibrator("platt", coefficients=(a, slope))
        return Calibrator("beta", coefficients=(c, max(ca, 0.0), max(cb, 0.0)))
    raise ValueError(f"kind: {kind!r} is not a calibrator ({', '.join(KINDS)})")


@dataclass(frozen=True)
class CalibrationChoice:
    """The chosen calibrator (refitted on all rows) and every kind's out-of-fold figures."""

    calibrator: Calibrator
    brier: dict[str, float]
    error: dict[str, float]

    @property
    def kind(self) -> str:
        """The chosen kind."""
        return self.calibrator.kind


def choose_calibrator(
    raw: np.ndarray,
    y: np.ndarray,
    *,
    min_step: int = 50,
    folds: int = 5,
    seed: int = SEED,
) -> CalibrationChoice:
    """The rule of the module docstring on raw probabilities ``raw`` and outcomes ``y``."""
    raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=int)
    if len(raw) != len(y):
        raise ValueError("raw, y: need the same number of rows")
    if y.min() == y.max():
        raise ValueError("y: a calibrator needs both signed and unsigned contacts")
    n_folds = int(min(folds, np.bincount(y).min()))
    if n_folds < 2:
        raise ValueError("y: too few signed (or unsigned) contacts to compare calibrators")
    out_of_fold = {kind: np.zeros(len(y)) for kind in KINDS}
    splits = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed % 2**32)
    for train, test in splits.split(raw.reshape(-1, 1), y):
        for kind in KINDS:
            fitted = fit_calibrator(kind, raw[train], y[train], min_step=min_step)
            out_of_fold[kind][test] = fitted(raw[test])
    brier = {k: brier_score(y, p) for k, p in out_of_fold.items()}
    error = {k: calibration_error(y, p) for k, p in out_of_fold.items()}
    admissible = [k for k in CANDIDATES if error[k] <= error[STEP]]
    chosen = (
        min(admissible, key=lambda k: (brier[k], CANDIDATES.index(k)))
        if admissible
        else min(CANDIDATES, key=lambda k: (error[k], CANDIDATES.index(k)))
    )
    return CalibrationChoice(
        calibrator=fit_calibrator(chosen, raw, y, min_step=min_step), brier=brier, error=error
    )
