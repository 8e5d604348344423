"""The roster fit, judged by where real firms chose to be: the district hold-out.

For every place with at least ``MIN_FIRMS`` firms by office address (a district, or a city with
``level="city"``), ``HELD_OUT`` = 30 % of its firms are held out, the other 70 % play the
park's roster, and the held-out firms are ranked among every firm outside the place — with no
location feature anywhere (the lookalike vectors carry none, and the signals below are not
about place). Firms whose place is unknown take no part (they might be in the place held out;
on the A-share universe they are the firms without annual reports, mostly recent listings).
Rankings compared, per place, by AUC and recall@50 (the share of the held-out firms in the top
50):

- ``random``; ``industry_share``: the share of the roster in the firm's industry (the first two
  characters of its code: Shenwan L1, GB/T division); ``size``: log revenue;
- ``roster_fit``: cosine to the roster's centre (``features.similarity``);
- ``roster_fit_signals``: a logistic regression of membership on the roster fit and the
  expansion signals (``SIGNALS``), fit on the other half of the places (two folds by place), so
  every place is scored by a model that never saw it.

What the test earns (``HoldoutResult.earned``): the roster fit's weight — log-odds of membership
per unit of the roster fit, from one logistic regression pooled over all places — only if its
mean AUC beats every baseline's; the expansion signals' weights only if adding them raises the
out-of-sample mean AUC. The weights enter P(land) (``models.estimators.RosterPropensity``)
under the assumption that a firm more like the roster is proportionally more likely to land.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from data import columns as C
from data.regions import MUNICIPALITIES
from data.settings import SEED
from features.build import FeatureContext, firm_features
from features.similarity import FirmVectors, centroid_similarity
from features.spec import PROPENSITY_FEATURES
from models.estimators import RosterPropensity

MIN_FIRMS: Final = 15
HELD_OUT: Final = 0.3
TOP: Final = 50
SIGNALS: Final = ("employee_growth", "rd_staff_growth", "office_moved", "funding_recency")
RANKINGS: Final = ("random", "industry_share", "size", "roster_fit", "roster_fit_signals")
BASELINES: Final = ("random", "industry_share", "size")
MIN_ROSTER: Final = 10  # members below which a roster says too little: the documented prior


@dataclass
class HoldoutResult:
    """Per-place figures, the pooled coefficients and the weights the test earned."""

    level: str
    places: pd.DataFrame
    coefficients: dict[str, float]  # log-odds per unit, pooled over all places
    earned: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """Mean AUC and recall@50 of every ranking over the places (metric names)."""
        out = {f"roster_{self.level}_places": float(len(self.places))}
        for name in RANKINGS:
            out[f"roster_{self.level}_{name}_auc"] = float(self.places[f"{name}_auc"].mean())
            out[f"roster_{self.level}_{name}_recall_at_{TOP}"] = float(
                self.places[f"{name}_recall"].mean()
            )
        return out


def places_of(firms: pd.DataFrame, level: str) -> pd.Series:
    """Each firm's place (``city/district`` or ``city``) by office address where the universe
    has one, else by registered address; a municipality's city is the municipality."""
    if level not in {"district", "city"}:
        raise ValueError(f"level: must be district or city (got {level!r})")

    def column(office: str, registered: str) -> pd.Series:
        reg = firms[registered].astype(object)
        if office in firms:
            return firms[office].astype(object).where(firms[office].notna(), reg)
        return reg

    province = column(C.OFFICE_PROVINCE, C.PROVINCE)
    city = column(C.OFFICE_CITY, C.CITY)
    city = city.where(~province.isin(MUNICIPALITIES), province)
    if level == "city":
        return city.where(city.notna() & (city != ""))
    district = column(C.OFFICE_DISTRICT, C.DISTRICT)
    place = city.astype(object) + "/" + district.astype(object)
    return place.where(city.notna() & district.notna() & (district != ""))


def _auc_recall(y: np.ndarray, score: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    # ties broken at random: a held-out firm must not win a tie by its position in the list
    order = np.lexsort((rng.random(len(score)), -score))
    return float(roc_auc_score(y, score)), float(y[order[:TOP]].sum() / max(y.sum(), 1))


def _standardise(frame: pd.DataFrame) -> tuple[np.ndarray, pd.Series, pd.Series]:
    mean, std = frame.mean(), frame.std().replace(0, 1).fillna(1)
    return ((frame - mean) / std).fillna(0.0).to_numpy(dtype=float), mean, std


def district_holdout(
    vectors: FirmVectors,
    firms: pd.DataFrame,
    signals: pd.DataFrame,
    *,
    level: str = "district",
    min_firms: int = MIN_FIRMS,
    held_out: float = HELD_OUT,
    seed: int = SEED,
    signal_names: Sequence[str] = SIGNALS,
) -> HoldoutResult:
    """Run the hold-out (module docstring). ``firms`` are the universe's enterprises (any order:
    rows are matched to ``vectors`` by enterprise id); ``signals`` holds the ``signal_names``
    columns, indexed like ``firms``."""
    ids = pd.Index(firms[C.ENTERPRISE_ID].astype(str))
    rows = vectors.rows(ids)
    place = places_of(firms, level).to_numpy(dtype=object)
    known = pd.notna(place)
    counts = pd.Series(place).value_counts()
    chosen = counts[counts >= min_firms].index.tolist()
    if not chosen:
        raise ValueError(f"no {level} has {min_firms} firms: the hold-out needs places to hold out")
    industry = firms[C.INDUSTRY_CODE].astype("string").str[:2].fillna("").to_numpy(dtype=object)
    size = np.log1p(pd.to_numeric(firms[C.REVENUE], errors="coerce").clip(lower=0)).fillna(0)
    signal_frame = signals.reindex(columns=list(signal_names)).astype(float)
    rng = np.random.default_rng(seed)
    pooled: list[pd.DataFrame] = []
    per_place: list[dict[str, object]] = []
    for k, name in enumerate(sorted(chosen)):
        members = np.flatnonzero(place == name)
        rng.shuffle(members)
        n_out = max(1, round(held_out * len(members)))
        out, roster = members[:n_out], members[n_out:]
        # firms whose place is unknown might be in this one: they are neither
        outside = np.flatnonzero(known & (place != name))
        candidates = np.concatenate([out, outside])
        y = np.r_[np.ones(len(out)), np.zeros(len(outside))]
        share = pd.Series(industry[roster]).value_counts(normalize=True)
        fit = centroid_similarity(vectors, rows[roster])[rows[candidates]]
        frame = signal_frame.iloc[candidates].reset_index(drop=True)
        frame.insert(0, "roster_fit", fit)
        frame["_y"], frame["_fold"], frame["_place"] = y, k % 2, name
        pooled.append(frame)
        per_place.append(
            {
                "place": name,
                "firms": len(members),
                "held_out": len(out),
                "_scores": {
                    "random": rng.random(len(candidates)),
                    "industry_share": pd.Series(industry[candidates])
                    .map(share)
                    .fillna(0.0)
                    .to_numpy(dtype=float),
                    "size": size.to_numpy(dtype=float)[candidates],
                    "roster_fit": fit,
                },
                "_y": y,
            }
        )
    data = pd.concat(pooled, ignore_index=True)
    features = ["roster_fit", *signal_names]
    combined = np.zeros(len(data))
    for fold in (0, 1):  # each place scored by a model fit on the other fold's places
        train, test = data["_fold"] != fold, data["_fold"] == fold
        if not train.any() or not test.any():
            continue
        Xs, mean, std = _standardise(data.loc[train, features])
        model = LogisticRegression(C=1.0, max_iter=1000).fit(Xs, data.loc[train, "_y"])
        Xt = ((data.loc[test, features] - mean) / std).fillna(0.0).to_numpy(dtype=float)
        combined[test.to_numpy()] = model.decision_function(Xt)
    data["_combined"] = combined
    records = []
    for entry in per_place:
        scores = dict(entry["_scores"])  # type: ignore[call-overload]
        scores["roster_fit_signals"] = data.loc[
            data["_place"] == entry["place"], "_combined"
        ].to_numpy()
        record: dict[str, object] = {k: entry[k] for k in ("place", "firms", "held_out")}
        for ranking in RANKINGS:
            auc, recall = _auc_recall(entry["_y"], scores[ranking], rng)  # type: ignore[arg-type]
            record[f"{ranking}_auc"], record[f"{ranking}_recall"] = auc, recall
        records.append(record)
    table = pd.DataFrame(records)
    Xs, mean, std = _standardise(data[features])
    pooled_model = LogisticRegression(C=1.0, max_iter=1000).fit(Xs, data["_y"])
    coefficients = {
        name: float(c / std[name]) for name, c in zip(features, pooled_model.coef_[0], strict=True)
    }
    result = HoldoutResult(level=level, places=table, coefficients=coefficients)
    means = table[[f"{r}_auc" for r in RANKINGS]].mean()
    if means["roster_fit_auc"] > max(means[f"{b}_auc"] for b in BASELINES):
        if means["roster_fit_signals_auc"] > means["roster_fit_auc"]:
            result.earned = dict(coefficients)
        else:
            only = LogisticRegression(C=1.0, max_iter=1000).fit(
                Xs[:, :1], data["_y"]
            )  # the roster fit alone
            result.earned = {"roster_fit": float(only.coef_[0][0] / std["roster_fit"])}
    return result


@dataclass
class RosterFit:
    """P(land) from the roster, and the evidence for its weights."""

    propensity: RosterPropensity
    holdouts: dict[str, HoldoutResult]  # by level: district, city
    note: str


def holdouts(
    fc: FeatureContext,
    firms: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    levels: Sequence[str] = ("district", "city"),
) -> tuple[dict[str, HoldoutResult], pd.DataFrame]:
    """The hold-out at each level that has places to hold out, with the expansion signals of the
    park's first track's features (``fc`` keeps its vectors); also those features."""
    assert fc.vectors is not None, "the hold-out needs feature_context(..., keep_vectors=True)"
    X = firm_features(fc, firms, track=next(iter(fc.park.tracks)), as_of=as_of)
    results: dict[str, HoldoutResult] = {}
    for level in levels:
        try:
            results[level] = district_holdout(fc.vectors, firms, X, level=level)
        except ValueError:  # no place with MIN_FIRMS firms
            continue
    return results, X


def fit_roster_propensity(
    fc: FeatureContext, firms: pd.DataFrame, *, as_of: pd.Timestamp
) -> RosterFit | None:
    """``RosterPropensity`` for a park without outreach history: the district hold-out earns the
    roster fit and the signals their weights (none if they do not beat the baselines), the park
    YAML sets the rest; calibrated on every firm outside the park (scored for the park's first
    track) to the YAML's base rate. ``None`` when the roster has fewer than ``MIN_ROSTER``
    members of the universe or no place has ``MIN_FIRMS`` firms."""
    members = fc.park_members & set(firms[C.ENTERPRISE_ID])
    if len(members) < MIN_ROSTER or fc.vectors is None:
        return None
    results, X = holdouts(fc, firms, as_of=as_of)
    if "district" not in results:
        return None
    earned = results["district"].earned
    prior = fc.park.landing_prior
    weights = {name: factor.weight for name, factor in prior.factors.items()} | earned
    outside = ~firms[C.ENTERPRISE_ID].isin(list(members)).to_numpy()
    propensity = RosterPropensity.calibrated(
        X.loc[outside, [c for c in PROPENSITY_FEATURES if c in weights]],
        weights=weights,
        base_rate=prior.base_rate,
        measured=tuple(earned),
    )
    summary = results["district"].summary()
    note = (
        f"no outreach history: P(land) from the roster ({len(members)} firms) and the park YAML's "
        f"factors, mean {prior.base_rate:.0%} over the candidates; district hold-out AUC "
        f"{summary['roster_district_roster_fit_auc']:.3f} (industry share "
        f"{summary['roster_district_industry_share_auc']:.3f}, size "
        f"{summary['roster_district_size_auc']:.3f}): "
        + (
            "weights earned for " + ", ".join(f"{k} {v:+.2f}" for k, v in earned.items())
            if earned
            else "the roster fit did not beat the baselines and has no weight"
        )
    )
    return RosterFit(propensity=propensity, holdouts=results, note=note)
