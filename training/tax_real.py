"""Tax yield of real listed firms, out of time: fit, predict and backtest on annual reports.

The model predicts log(taxes paid / revenue) with LightGBM from ``features.annual_reports`` —
the P50 with a Huber loss, P10 / P90 with quantile losses widened by a conformal offset, sorted so
they never cross; taxes = revenue × exp(prediction).
Firm-years count for training and judging when revenue > 1 m CNY and 0 < taxes paid < revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from data.chainkg import import_chainkg
from data.settings import SEED, fit_threads
from features.annual_reports import features, firm_years, industry_codes, labels

OUTPUT = ("stock_code", "year", "tax_p10_wan_cny", "tax_p50_wan_cny", "tax_p90_wan_cny")


@dataclass
class RealTaxModel:
    """Boosters of log(tax / revenue): a Huber-loss median and two quantile bounds widened by a
    conformal offset; the industry encodings and categories they were fit with."""

    feature_names: list[str]
    median: lgb.LGBMRegressor
    bounds: dict[float, lgb.LGBMRegressor]
    conformal_offset: float
    encodings: dict[str, dict[str, float]]
    categories: dict[str, list[str]]
    fit_years: list[int]


ENCODED = ("sw_l3", "sw_l2", "sw_l1")
COVERAGE = 0.8


def _context(chainkg: Path) -> tuple[pd.DataFrame, pd.Series]:
    kg = import_chainkg(chainkg)
    ent = kg.results["enterprises"].frame
    industry = industry_codes(
        pd.DataFrame(
            {"stock_code": ent["stock_code"], "industry_code": ent["industry_code"]}
        ).dropna()
    )
    made = kg.results["enterprise_products"].frame
    products = made.groupby("enterprise_id").size()
    products.index = products.index.str.removeprefix("stock:")
    return industry, products


def _matrix(reports: Path, chainkg: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = firm_years(reports)
    industry, products = _context(chainkg)
    return frame, features(frame, industry=industry, products=products)


def _usable(frame: pd.DataFrame, tax: pd.Series) -> np.ndarray:
    revenue = frame["营业收入"].fillna(frame["营业总收入"]) / 10_000
    return np.asarray((revenue > 100) & (tax > 0) & (tax < revenue), dtype=bool)


def _align_categories(X: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    X = X.copy()
    for col, cats in categories.items():
        X[col] = pd.Categorical(X[col].astype(object), categories=cats)
    return X


def _encode(X: pd.DataFrame, encodings: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Add the industries' median log(tax / revenue) in the fit years as numeric features."""
    X = X.copy()
    for col, mapping in encodings.items():
        X[f"median_log_ratio_{col}"] = X[col].astype(object).astype(str).map(mapping).astype(float)
    return X


def _medians(target: np.ndarray, codes: pd.Series) -> dict[str, float]:
    medians = pd.Series(target).groupby(codes.astype(str).to_numpy()).median()
    return {str(k): float(v) for k, v in medians.items()}


def _regressor(objective: str, seed: int, **kw: Any) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(
        objective=objective,
        n_estimators=300,  # 800 at 0.03 backtests alike (docs/data-scientist.md), 2.7× slower
        learning_rate=0.08,
        num_leaves=63,
        min_child_samples=10,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        verbose=-1,
        n_jobs=fit_threads(),
        **kw,
    )


def fit(
    *, reports: Path, chainkg: Path, years: list[int] | None = None, seed: int = SEED
) -> RealTaxModel:
    """Fit on the folder's firm-years (or only ``years``).

    Industry medians enter as features out of fold (5 folds), so a firm never sees its own
    label; the P10-P90 band is conformalised: out-of-fold bounds are widened by the 80 % quantile
    of their misses, so that about 80 % of real figures fall inside.
    """
    frame, X = _matrix(reports, chainkg)
    y = frame.merge(labels(reports), on=["stock_code", "year"], how="left")["tax_paid_wan_cny"]
    keep = _usable(frame, y).copy()
    if years is not None:
        keep &= frame["year"].isin(years).to_numpy()
    if keep.sum() < 50:
        raise ValueError(
            f"{reports}: only {int(keep.sum())} usable firm-years to learn from (need 50)"
        )
    revenue = (frame["营业收入"].fillna(frame["营业总收入"]) / 10_000)[keep]
    target = np.log(y[keep].to_numpy() / revenue.to_numpy())
    categories = {
        c: [str(v) for v in X[c].cat.categories]
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype)
    }
    Xk = _align_categories(X[keep], categories).reset_index(drop=True)
    folds = KFold(n_splits=5, shuffle=True, random_state=seed).split(Xk)
    oof_lo, oof_hi = np.zeros(len(Xk)), np.zeros(len(Xk))
    encoded_oof = []
    for train_idx, test_idx in folds:
        enc = {c: _medians(target[train_idx], Xk[c].iloc[train_idx]) for c in ENCODED}
        Xtr, Xte = _encode(Xk.iloc[train_idx], enc), _encode(Xk.iloc[test_idx], enc)
        encoded_oof.append(Xte)
        oof_lo[test_idx] = (
            _regressor("quantile", seed, alpha=0.1).fit(Xtr, target[train_idx]).predict(Xte)
        )
        oof_hi[test_idx] = (
            _regressor("quantile", seed, alpha=0.9).fit(Xtr, target[train_idx]).predict(Xte)
        )
    misses = np.maximum(oof_lo - target, target - oof_hi)
    offset = float(np.quantile(misses, min(1.0, COVERAGE * (1 + 1 / len(misses)))))
    X_enc = pd.concat(encoded_oof).sort_index()  # out-of-fold encodings for the final fit
    encodings = {c: _medians(target, Xk[c]) for c in ENCODED}
    return RealTaxModel(
        feature_names=list(X.columns),
        median=_regressor("huber", seed, alpha=0.3).fit(X_enc, target),
        bounds={q: _regressor("quantile", seed, alpha=q).fit(X_enc, target) for q in (0.1, 0.9)},
        conformal_offset=offset,
        encodings=encodings,
        categories=categories,
        fit_years=sorted(int(v) for v in frame.loc[keep, "year"].unique()),
    )


def predict(model: RealTaxModel, *, reports: Path, chainkg: Path) -> pd.DataFrame:
    """One row per firm-year of the folder's income statement (no revenue → empty prediction)."""
    frame, X = _matrix(reports, chainkg)
    X = _encode(_align_categories(X[model.feature_names], model.categories), model.encodings)
    raw = np.column_stack(
        [
            np.asarray(model.bounds[0.1].predict(X)) - model.conformal_offset,
            np.asarray(model.median.predict(X)),
            np.asarray(model.bounds[0.9].predict(X)) + model.conformal_offset,
        ]
    )
    raw = np.sort(raw, axis=1)  # quantiles never cross
    revenue = (frame["营业收入"].fillna(frame["营业总收入"]) / 10_000).where(lambda r: r > 0)
    values = np.exp(raw) * revenue.to_numpy()[:, None]
    out = pd.DataFrame(values, columns=list(OUTPUT[2:]))
    out.insert(0, "year", frame["year"].astype(int).to_numpy())
    out.insert(0, "stock_code", frame["stock_code"].to_numpy())
    return out


def save(model: RealTaxModel, path: Path) -> None:
    """Write the model with joblib."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)


def load(path: Path) -> RealTaxModel:
    """Read a model written by ``save``."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model (run `attract tax fit` first)")
    model = joblib.load(path)
    if not isinstance(model, RealTaxModel):
        raise ValueError(f"{path}: not a tax model written by `attract tax fit`")
    return model


def judge(pred: pd.DataFrame, truth: pd.DataFrame, revenue: pd.DataFrame) -> dict[str, float]:
    """Share within ×2, median abs log10 error and P10-P90 coverage over usable firm-years."""
    merged = pred.merge(truth, on=["stock_code", "year"]).merge(revenue, on=["stock_code", "year"])
    ok = (
        (merged["revenue_wan_cny"] > 100)
        & (merged["tax_paid_wan_cny"] > 0)
        & (merged["tax_paid_wan_cny"] < merged["revenue_wan_cny"])
        & merged["tax_p50_wan_cny"].notna()
    )
    m = merged[ok]
    err = np.abs(np.log10(m["tax_p50_wan_cny"]) - np.log10(m["tax_paid_wan_cny"]))
    inside = (m["tax_paid_wan_cny"] >= m["tax_p10_wan_cny"]) & (
        m["tax_paid_wan_cny"] <= m["tax_p90_wan_cny"]
    )
    return {
        "firm_years": float(len(m)),
        "share_within_x2": float((err <= np.log10(2)).mean()),
        "median_abs_log10_error": float(err.median()),
        "p10_p90_coverage": float(inside.mean()),
    }


def backtest(
    *, reports: Path, chainkg: Path, fit_year: int, eval_year: int
) -> dict[str, dict[str, float]]:
    """Fit on ``fit_year`` only, judge on ``eval_year``; also the industry-median-ratio baseline."""
    model = fit(reports=reports, chainkg=chainkg, years=[fit_year])
    pred = predict(model, reports=reports, chainkg=chainkg)
    pred = pred[pred["year"] == eval_year]
    truth = labels(reports)
    frame = firm_years(reports)
    revenue = pd.DataFrame(
        {
            "stock_code": frame["stock_code"],
            "year": frame["year"].astype(int),
            "revenue_wan_cny": frame["营业收入"].fillna(frame["营业总收入"]) / 10_000,
        }
    )
    truth = truth.assign(year=truth["year"].astype(int))
    ours = judge(pred, truth, revenue)
    # baseline: the fit year's median tax / revenue of the firm's Shenwan L3 industry (L1, then all)
    industry, _ = _context(chainkg)
    train = (
        truth[truth["year"] == fit_year]
        .merge(revenue, on=["stock_code", "year"])
        .merge(industry, on="stock_code", how="left")
    )
    ok = (
        (train["revenue_wan_cny"] > 100)
        & (train["tax_paid_wan_cny"] > 0)
        & (train["tax_paid_wan_cny"] < train["revenue_wan_cny"])
    )
    train = train[ok].assign(ratio=lambda t: t["tax_paid_wan_cny"] / t["revenue_wan_cny"])
    by_l3, by_l1, overall = (
        train.groupby("sw_l3")["ratio"].median(),
        train.groupby("sw_l1")["ratio"].median(),
        train["ratio"].median(),
    )
    target = revenue[revenue["year"] == eval_year].merge(industry, on="stock_code", how="left")
    ratio = target["sw_l3"].map(by_l3).fillna(target["sw_l1"].map(by_l1)).fillna(overall)
    base = pd.DataFrame(
        {
            "stock_code": target["stock_code"],
            "year": target["year"],
            "tax_p50_wan_cny": ratio * target["revenue_wan_cny"],
        }
    )
    base["tax_p10_wan_cny"] = base["tax_p50_wan_cny"]
    base["tax_p90_wan_cny"] = base["tax_p50_wan_cny"]
    return {"model": ours, "industry_median_baseline": judge(base, truth, revenue)}
