"""The training job: tax yield, landing propensity and ranking on a universe, tracked in MLflow.

Holdouts are by time:

- tax: fit on the year before the latest (with the year before that as history, and once more
  with the history hidden, so the model learns both cases); judge on the latest year;
- propensity and ranking: resolved contacts (``pending`` ones are censored) split at the 80 %
  quantile of the contact date; campaigns after the split are the ranking holdout.

Rankings are judged by **value captured @K** per holdout campaign: Σ realised value (a signed
firm's true value, from the demo's oracle) of the top K by score / the most any K of the
campaign's contacts realised; NDCG of signings is the second figure. Reported for the model and
for the oracle, value alone (no P(land)), tax only, gap only, a LambdaRank ranker of signings
alone, largest revenue and random. The promotion metric (``training.promote``) is
``value_captured_at_50``; without the oracle's values, ``ndcg_at_50``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from sklearn.metrics import brier_score_loss, roc_auc_score

from data import columns as C
from data.corrections import LinkCorrection
from data.landing import track_forms
from data.pipeline import OPEN_STAGES
from data.reference import Park, default_chains, default_parks
from data.settings import Settings
from data.universe import load_universe, read_manifest, universe_as_of, with_members
from features.build import (
    FeatureContext,
    feature_context,
    firm_features,
    industry_rates,
    tax_history,
)
from features.spec import (
    FEATURE_NAMES,
    FIRM_FEATURES,
    PROPENSITY_FEATURES,
    TAX_FEATURES,
)
from industry_graph.gaps import LeadValue, analyse_gaps
from models import registry
from models.calibration import calibration_error
from models.estimators import (
    LOCAL,
    Fitter,
    LambdaRankModel,
    LandingPropensityModel,
    PriorPropensity,
    RosterPropensity,
    TaxYieldModel,
)
from models.ranking import RELEVANCE, mean_ndcg, value_captured
from models.scorer import LeadScorer
from models.stages import StageModel, check_stage_events
from training.charts import save_png
from training.roster import MIN_ROSTER, fit_roster_propensity
from training.shares import fit_form_holds, fit_shares, realised_shares

HOLDOUT_QUANTILE = 0.8


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str
    version: str | None
    metrics: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)


def tax_metrics(y_true: np.ndarray, pred: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Median absolute log10 error, share within ×2 and P10-P90 coverage, on positive taxes."""
    keep = y_true > 0
    if not keep.any():
        return {}
    y, p = y_true[keep], pred[keep]
    err = np.abs(np.log10(np.maximum(p["tax_p50_wan_cny"].to_numpy(), 1e-6)) - np.log10(y))
    inside = (y >= p["tax_p10_wan_cny"].to_numpy()) & (y <= p["tax_p90_wan_cny"].to_numpy())
    return {
        f"{prefix}median_abs_log10_error": float(np.median(err)),
        f"{prefix}share_within_x2": float(np.mean(err <= np.log10(2))),
        f"{prefix}p10_p90_coverage": float(np.mean(inside)),
        f"{prefix}n": float(keep.sum()),
    }


@dataclass(frozen=True)
class TaxFrames:
    """The tax model's training rows (the year before the latest, with and without each firm's
    history), their firms, and the latest year's rows to judge it on."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    groups: np.ndarray
    X_test_h: pd.DataFrame
    X_test_n: pd.DataFrame
    y_test: np.ndarray


def _tax_frames(fc: FeatureContext, tables: Mapping[str, pd.DataFrame]) -> TaxFrames:
    """Each firm-year's features as they stood that year: the year's own revenue from its tax
    record (the enterprise table holds the latest), the history of the year before, and the
    industries' tax rates of the fit year and earlier only (the judged year must not leak in)."""
    tax = tables["tax_records"].dropna(subset=[C.TAX_PAID])
    # a year reported for a few firms only (the park's own firms after the universe's date) is
    # no year to fit or judge on: the years with at least half the best-covered year's firms
    per_year = tax.groupby(C.YEAR)[C.ENTERPRISE_ID].nunique()
    years = sorted(int(str(y)) for y, n in per_year.items() if n >= per_year.max() / 2)
    if not years:
        raise ValueError("tax_records: no tax paid recorded, nothing to learn the tax model from")
    ent = tables["enterprises"].set_index(C.ENTERPRISE_ID, drop=False)
    latest = years[-1]
    fit_year = years[-2] if len(years) > 1 else latest
    fc_fit = replace(
        fc, industry_rates=industry_rates(tax, tables["enterprises"], until_year=fit_year)
    )

    def rows(year: int, with_history: bool) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        target = tax[tax[C.YEAR] == year].drop_duplicates(C.ENTERPRISE_ID)
        target = target[target[C.ENTERPRISE_ID].isin(ent.index)]
        firms = ent.loc[target[C.ENTERPRISE_ID]].reset_index(drop=True)
        revenue = target[C.REVENUE].to_numpy(dtype=float)
        firms[C.REVENUE] = np.where(np.isfinite(revenue), revenue, firms[C.REVENUE])
        hist = tax_history(tax, year - 1) if with_history else None
        # the tax features are the same in every track: the park's first stands for all
        X = firm_features(
            fc_fit,
            firms,
            track=next(iter(fc.park.tracks)),
            as_of=pd.Timestamp(f"{year}-12-31"),
            history=hist,
        )
        return (
            X,
            target[C.TAX_PAID].to_numpy(dtype=float),
            target[C.ENTERPRISE_ID].to_numpy(dtype=object),
        )

    X_h, y_h, g_h = rows(fit_year, True)
    X_n, y_n, g_n = rows(fit_year, False)
    X_test_h, y_test, _ = rows(latest, True)
    X_test_n, _, _ = rows(latest, False)
    return TaxFrames(
        X_train=pd.concat([X_h, X_n], ignore_index=True),
        y_train=np.concatenate([y_h, y_n]),
        groups=np.concatenate([g_h, g_n]),
        X_test_h=X_test_h,
        X_test_n=X_test_n,
        y_test=y_test,
    )


def _contact_features(
    fc: FeatureContext, tables: Mapping[str, pd.DataFrame], outreach: pd.DataFrame
) -> pd.DataFrame:
    ent = tables["enterprises"].set_index(C.ENTERPRISE_ID, drop=False)
    unknown = sorted(set(outreach[C.TRACK]) - set(fc.park.tracks))
    if unknown:
        raise ValueError(
            f"outreach.track: {', '.join(unknown)} is not a track of {fc.park.id} "
            f"({', '.join(fc.park.tracks)})"
        )
    parts = []
    for track in fc.park.tracks:
        rows = outreach[outreach[C.TRACK] == track]
        if rows.empty:
            continue
        firms = ent.loc[rows[C.ENTERPRISE_ID]].reset_index(drop=True)
        X = firm_features(fc, firms, track=track, as_of=rows[C.CONTACTED_ON].reset_index(drop=True))
        X.index = rows.index
        parts.append(X)
    return pd.concat(parts).loc[outreach.index]


def _plot(path: Path, draw: Callable[[Axes], object]) -> None:
    save_png(path, draw)


def train(
    *,
    settings: Settings,
    data_dir: Path,
    park_id: str,
    register: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = 2,
    outcomes: pd.DataFrame | None = None,
    joined: Mapping[str, date] | None = None,
    corrections: Sequence[LinkCorrection] = (),
    stage_events: pd.DataFrame | None = None,
    stage_as_of: date | None = None,
    landed: pd.DataFrame | None = None,
) -> TrainResult:
    """Train all models on a universe and log one MLflow run (see the module docstring).

    ``corrections``: the strategists' link corrections (the service database's), applied over
    the universe's ``enterprise_links`` as every other reader applies them (``load_universe``).

    ``outcomes`` are outreach records from outside the universe's files — the service's
    pipeline (``api.crm.pipeline.pipeline_outcomes``) — learnt from with the imported history;
    ``joined`` firms (id → day) landed in the park through it and count as members (the roster).
    ``stage_events`` are the pipeline's moves (``models.stages.STAGE_EVENT_COLUMNS``: the audit
    trail's creation and stage rows) read on ``stage_as_of`` (default: the day of the latest
    event); the run fits P(land | stage, days in stage) on them (the park YAML's prior without
    them), logs its table and bundles it with the scorer. ``landed`` are the pipeline's landed
    and paying leads (``api.crm.tables.landed_leads``); with their tax records the run learns
    each landing form's share of the group's tax (``training.shares``), logs the fit
    (``landing_shares.csv``, ``share_*`` metrics) and values the next version's leads with it.

    ``engine="dask"`` fits every booster with ``lightgbm.dask`` on ``scheduler`` (or a
    ``LocalCluster`` of ``workers``) and logs and registers exactly as the local engine does."""
    if engine == "dask":
        from training.dask_engine import dask_fitter

        with dask_fitter(scheduler, workers) as fitter:
            return _train(
                settings=settings,
                data_dir=data_dir,
                park_id=park_id,
                register=register,
                fitter=fitter,
                engine=engine,
                outcomes=outcomes,
                joined=joined,
                corrections=corrections,
                stage_events=stage_events,
                stage_as_of=stage_as_of,
                landed=landed,
            )
    if engine != "local":
        raise ValueError(f"engine: must be local or dask (got {engine!r})")
    return _train(
        settings=settings,
        data_dir=data_dir,
        park_id=park_id,
        register=register,
        fitter=LOCAL,
        engine=engine,
        outcomes=outcomes,
        joined=joined,
        corrections=corrections,
        stage_events=stage_events,
        stage_as_of=stage_as_of,
        landed=landed,
    )


def training_outreach(
    tables: Mapping[str, pd.DataFrame], park_id: str, outcomes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The resolved outreach the landing model learns from: the universe's history and the
    pipeline's ``outcomes`` of ``park_id`` (``pending`` left out), oldest contact first."""
    parts = [tables["outreach"]]
    if outcomes is not None and len(outcomes):
        parts.append(outcomes[list(tables["outreach"].columns)])
    outreach = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    outreach = outreach[(outreach[C.PARK_ID] == park_id) & (outreach[C.OUTCOME] != "pending")]
    return outreach.sort_values([C.CONTACTED_ON, C.OUTREACH_ID], kind="stable").reset_index(
        drop=True
    )


def fit_stages(
    *,
    park: Park,
    stage_events: pd.DataFrame | None,
    as_of: date | None,
    fallback_as_of: date,
) -> tuple[StageModel | None, dict[str, float], str]:
    """P(land | stage, days in stage) of ``park`` (``models.stages``) fitted on the pipeline's
    ``stage_events`` read on ``as_of`` (default: the day of the latest event, else
    ``fallback_as_of``), its metrics (counts, each open stage's P(land) on entry) and a note;
    ``None`` when the park YAML has no ``stage_probabilities``."""
    if park.stage_probabilities is None:
        return (
            None,
            {},
            f"the park YAML of {park.id} has no stage_probabilities: no P(land) by stage",
        )
    checked = check_stage_events(stage_events) if stage_events is not None else None
    if as_of is None:
        as_of = (
            checked["at"].max().date() if checked is not None and len(checked) else fallback_as_of
        )
    stages = StageModel.of_park(park).fit(checked, as_of=as_of)
    metrics = dict(stages.counts_)
    for stage in OPEN_STAGES:
        metrics[f"stage_p_land_{stage}"] = stages.stage_p_land(stage=stage, days_in_stage=0)
    note = (
        f"P(land) by stage from {int(stages.counts_['stage_leads'])} pipeline leads "
        f"({int(stages.counts_['stage_known_fates'])} stage episodes with a known fate) read on "
        f"{as_of}: " + ", ".join(f"{s} {metrics[f'stage_p_land_{s}']:.2f}" for s in OPEN_STAGES)
    )
    return stages, metrics, note


def _train(
    *,
    settings: Settings,
    data_dir: Path,
    park_id: str,
    register: bool,
    fitter: Fitter,
    engine: str,
    outcomes: pd.DataFrame | None = None,
    joined: Mapping[str, date] | None = None,
    corrections: Sequence[LinkCorrection] = (),
    stage_events: pd.DataFrame | None = None,
    stage_as_of: date | None = None,
    landed: pd.DataFrame | None = None,
) -> TrainResult:
    started = time.perf_counter()
    parks = default_parks()
    if park_id not in parks:
        raise KeyError(f"unknown park {park_id!r}; known: {', '.join(parks)}")
    park = parks[park_id]
    chains = default_chains()
    tables = load_universe(data_dir, corrections=corrections)
    tables["park_roster"] = with_members(tables["park_roster"], park_id, joined or {})
    manifest = read_manifest(data_dir)
    snapshot = str(manifest.get("snapshot_id", ""))
    fc = feature_context(park=park, chains=chains, tables=tables, keep_vectors=True)
    metrics: dict[str, float] = {}
    notes: list[str] = []

    # tax yield
    frames = _tax_frames(fc, tables)
    X_test_h, X_test_n, y_test = frames.X_test_h, frames.X_test_n, frames.y_test
    tax_model = TaxYieldModel().fit(
        frames.X_train[list(TAX_FEATURES)], frames.y_train, groups=frames.groups, fitter=fitter
    )
    pred_h = tax_model.predict(X_test_h[list(TAX_FEATURES)])
    pred_n = tax_model.predict(X_test_n[list(TAX_FEATURES)])
    has_hist = X_test_h["has_tax_history"].to_numpy() > 0
    metrics |= tax_metrics(y_test, pred_h, "tax_")
    metrics |= tax_metrics(y_test, pred_n, "tax_no_history_")
    metrics |= tax_metrics(y_test[has_hist], pred_h[has_hist], "tax_with_history_")

    # landing propensity
    outreach = training_outreach(tables, park_id, outcomes)
    from_pipeline = outreach[C.CAMPAIGN].eq(C.PIPELINE_CAMPAIGN).to_numpy()
    if outcomes is not None:
        metrics["pipeline_outcomes"] = float(from_pipeline.sum())
        metrics["pipeline_signed"] = float(
            (from_pipeline & outreach[C.OUTCOME].eq("signed").to_numpy()).sum()
        )
        notes.append(
            f"{int(metrics['pipeline_outcomes'])} resolved outcomes from the pipeline "
            f"({int(metrics['pipeline_signed'])} signed) learnt with the imported history"
        )

    # each landing form's share of the group's tax: learnt from landed firms' tax records,
    # shrunk toward the park YAML's prior (training.shares)
    forms = {t: dict(track_forms(park, t)) for t in park.tracks}
    realised = realised_shares(
        landed if landed is not None else pd.DataFrame(), tables["tax_records"]
    )
    share_fit = fit_shares(forms, realised)
    shares, share_source = share_fit.shares, share_fit.source
    csv_tables_shares = {"landing_shares.csv": share_fit.table}
    for row in share_fit.table.to_dict("records"):
        key = f"share_{row[C.TRACK]}_{row['landing_form']}"
        metrics[f"{key}_p50"] = float(row["p50"])
        metrics[f"{key}_firms"] = float(row["firms"])
        metrics[f"{key}_sd_log"] = float(row["median_sd_log"])
    learnt = share_fit.table[share_fit.table["source"] == "learnt"]
    notes.append(
        f"landing shares: {len(learnt)} of {len(share_fit.table)} forms learnt from "
        f"{int(share_fit.table['firms'].sum())} landed firms' tax records"
        + "".join(
            f"; {r.track}/{r.landing_form} {r.p50:.3f} (prior {r.prior_p50:.3f}, {r.firms} firms)"
            for r in learnt.itertuples(index=False)
        )
    )

    # how often a firm lands in the form assumed: the officers' recorded forms (landed_as)
    # against the YAML's prior (training.shares.fit_form_holds)
    holds_fit = fit_form_holds(
        {t: park.tracks[t].assumed_form_holds for t in park.tracks},
        landed if landed is not None else pd.DataFrame(),
    )
    csv_tables_shares["landing_form_holds.csv"] = holds_fit.table
    for row in holds_fit.table.to_dict("records"):
        metrics[f"form_holds_{row[C.TRACK]}"] = float(row["holds"])
        metrics[f"form_holds_{row[C.TRACK]}_firms"] = float(row["firms"])
    notes.append(
        "assumed form holds: "
        + "; ".join(
            f"{r.track} {r.holds:.2f} ({r.held} of {r.firms} recorded landings, prior {r.prior:.2f})"
            for r in holds_fit.table.itertuples(index=False)
        )
    )

    def make_scorer(
        propensity: LandingPropensityModel | RosterPropensity | PriorPropensity,
    ) -> LeadScorer:
        return LeadScorer(
            park_id=park_id,
            feature_names=FEATURE_NAMES,
            tax=tax_model,
            propensity=propensity,
            values={t: LeadValue.of(park, t) for t in park.tracks},
            tax_features=TAX_FEATURES,
            propensity_features=PROPENSITY_FEATURES,
            data_snapshot_id=snapshot,
            forms=forms,
            shares=shares,
            site_bound_share=park.valuation.in_park_tax_share.site_bound,
            share_source=share_source,
            form_holds=holds_fit.holds,
        )

    propensity: LandingPropensityModel | RosterPropensity | PriorPropensity
    holdout = pd.DataFrame()
    csv_tables: dict[str, pd.DataFrame] = dict(csv_tables_shares)
    if from_pipeline.any():  # what the run learnt from the pipeline, with its label
        csv_tables["pipeline_outcomes.csv"] = outreach.loc[from_pipeline].assign(
            label=outreach.loc[from_pipeline, C.OUTCOME].eq("signed").astype(int)
        )
    if len(outreach) >= 200 and outreach[C.OUTCOME].eq("signed").sum() >= 20:
        X_contacts = _contact_features(fc, tables, outreach)
        y = (outreach[C.OUTCOME] == "signed").to_numpy(dtype=int)
        split = outreach[C.CONTACTED_ON].quantile(HOLDOUT_QUANTILE)
        is_train = (outreach[C.CONTACTED_ON] < split).to_numpy()
        propensity = LandingPropensityModel().fit(
            X_contacts.loc[is_train, list(PROPENSITY_FEATURES)], y[is_train], fitter=fitter
        )
        p_test = propensity.predict_proba(X_contacts.loc[~is_train, list(PROPENSITY_FEATURES)])
        choice = propensity.calibration_
        for kind in choice.brier:  # the calibrators compared on the calibration rows, out of fold
            metrics[f"propensity_calibration_cv_brier_{kind}"] = choice.brier[kind]
            metrics[f"propensity_calibration_cv_error_{kind}"] = choice.error[kind]
        notes.append(
            f"P(land) calibrated by {choice.kind} (out of fold: Brier "
            f"{choice.brier[choice.kind]:.4f}, calibration error {choice.error[choice.kind]:.4f}; "
            f"step isotonic {choice.brier['step']:.4f}, {choice.error['step']:.4f})"
        )
        y_test_p = y[~is_train]
        metrics |= {
            "propensity_auc": float(roc_auc_score(y_test_p, p_test)),
            "propensity_brier": float(brier_score_loss(y_test_p, p_test)),
            "propensity_calibration_error": calibration_error(y_test_p, p_test),
            "propensity_holdout_rows": float(len(y_test_p)),
            "propensity_base_rate": float(y_test_p.mean()),
        }
        holdout = outreach.loc[~is_train].copy()
        holdout["p_land_model"] = p_test
        relevance = outreach[C.OUTCOME].map(RELEVANCE).fillna(0).to_numpy()
        holdout["relevance"] = relevance[~is_train]
        oracle_path = data_dir / "oracle.parquet"
        if oracle_path.exists():  # evaluation only: the generator's truth
            oracle = pd.read_parquet(oracle_path)
            oracle = oracle[oracle[C.PARK_ID] == park_id]
            merged = holdout.merge(oracle, on=[C.PARK_ID, C.ENTERPRISE_ID, C.TRACK], how="left")
            holdout["p_sign_oracle"] = merged[C.P_SIGN].to_numpy()
            ok = holdout["p_sign_oracle"].notna().to_numpy()
            metrics["propensity_oracle_auc"] = float(
                roc_auc_score(y_test_p[ok], holdout.loc[ok, "p_sign_oracle"])
            )
            if C.TRUE_VALUE in merged:
                holdout["oracle_value"] = merged[C.ORACLE_EXPECTED_VALUE].to_numpy()
                holdout["realised_value"] = np.where(
                    holdout[C.OUTCOME].eq("signed").to_numpy(),
                    merged[C.TRUE_VALUE].fillna(0.0).to_numpy(),
                    0.0,
                )
        X_rank = X_contacts[list(FEATURE_NAMES)]
        X_hold = X_rank.loc[~is_train]
        scorer = make_scorer(propensity)
        scored = scorer.score(X_hold)
        holdout["score_model"] = scored["score"].to_numpy()
        holdout["value_only"] = scored["value_wan_cny"].to_numpy()
        holdout["tax_only"] = scored["tax_p50_wan_cny"].to_numpy()
        holdout["gap_only"] = X_hold["gap_value"].to_numpy()
        holdout["largest_revenue"] = np.expm1(X_hold["log_revenue"].to_numpy())
        holdout["random"] = np.random.default_rng(settings.seed).random(len(holdout))
        # the ranker that learns signings alone (signed 3, interested 1): a baseline, never the
        # score, since it knows nothing of what a signing is worth
        camp_train = (
            outreach.loc[is_train].sort_values([C.CAMPAIGN, C.OUTREACH_ID], kind="stable").index
        )
        for track in park.tracks:
            tr = outreach.loc[camp_train][outreach.loc[camp_train, C.TRACK] == track]
            if tr[C.CAMPAIGN].nunique() < 3:
                continue
            ranker = LambdaRankModel().fit(
                X_rank.loc[tr.index], relevance[tr.index], tr[C.CAMPAIGN].to_numpy(), fitter=fitter
            )
            mask = (holdout[C.TRACK] == track).to_numpy()
            holdout.loc[mask, "sign_only"] = ranker.predict(X_hold.loc[mask])
        rankings = [
            ("score_model", "model"),
            ("oracle_value", "oracle"),
            ("value_only", "value_only"),
            ("tax_only", "tax_only"),
            ("gap_only", "gap_only"),
            ("sign_only", "sign_only"),
            ("largest_revenue", "largest_revenue"),
            ("random", "random"),
        ]
        for k in (10, 50):
            for col, name in rankings:
                if col not in holdout:
                    continue
                ranked = holdout.dropna(subset=[col])
                metrics[f"rank_{name}_ndcg_at_{k}"] = mean_ndcg(ranked, score_col=col, k=k)
                if "realised_value" in holdout:
                    metrics[f"rank_{name}_value_captured_at_{k}"] = value_captured(
                        ranked, score_col=col, k=k
                    )
        metrics["ndcg_at_50"] = metrics["rank_model_ndcg_at_50"]
        if "realised_value" in holdout:
            metrics["value_captured_at_50"] = metrics["rank_model_value_captured_at_50"]
    else:
        fit = fit_roster_propensity(fc, tables["enterprises"], as_of=universe_as_of(data_dir))
        if fit is None:
            propensity = PriorPropensity()
            notes.append(
                "no outreach history and no roster of "
                f"{MIN_ROSTER} firms for this park: P(land) is the documented prior"
            )
        else:
            propensity = fit.propensity
            notes.append(fit.note)
            for result in fit.holdouts.values():
                metrics |= result.summary()
                csv_tables[f"roster_holdout_{result.level}.csv"] = result.places
            metrics |= {f"roster_weight_{k}": w for k, w in fit.propensity.weights.items()}
        scorer = make_scorer(propensity)
    # P(land | stage, days in stage): the pipeline's moves, the park YAML's prior without them
    stages, stage_metrics, stage_note = fit_stages(
        park=park,
        stage_events=stage_events,
        as_of=stage_as_of,
        fallback_as_of=universe_as_of(data_dir).date(),
    )
    metrics |= stage_metrics
    notes.append(stage_note)
    if stages is not None:
        csv_tables["stage_probabilities.csv"] = stages.table_
    scorer.stages = stages
    scorer.metrics = dict(metrics)

    version = None
    with registry.start_run(settings, park_id, f"train-{park_id}") as run:
        mlflow.log_params(
            {
                "park": park_id,
                "data_dir": str(data_dir),
                "snapshot_id": snapshot,
                "seed": settings.seed,
                "tax_n_estimators": tax_model.n_estimators,
                "propensity": scorer.p_land_source,
                "propensity_calibrator": (
                    propensity.calibration_.kind
                    if isinstance(propensity, LandingPropensityModel)
                    else "none"
                ),
                "features": len(FEATURE_NAMES),
                "holdout_quantile": HOLDOUT_QUANTILE,
                "engine": engine,
            }
        )
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        mlflow.set_tags(
            {
                "snapshot_id": snapshot,
                "synthetic": str(manifest.get("synthetic", False)),
                "p_land_source": scorer.p_land_source,
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _write_plots(folder, tax_model, propensity, holdout, fc)
            (folder / "feature_spec.json").write_text(
                json.dumps([f.to_dict() for f in FIRM_FEATURES], ensure_ascii=False, indent=2),
                encoding="utf-8",
            )
            (folder / "notes.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
            for name, table in csv_tables.items():
                table.to_csv(folder / name, index=False)
            tax_holdout = X_test_h.copy()
            tax_holdout["tax_paid_wan_cny"] = y_test
            tax_holdout.to_parquet(folder / "tax_holdout.parquet", index=False)
            if not holdout.empty:
                holdout_X = X_rank.loc[~is_train].reset_index(drop=True)
                for col in (C.CAMPAIGN, C.TRACK, "relevance", "realised_value"):
                    if col in holdout:
                        holdout_X[col] = holdout[col].to_numpy()
                holdout_X.to_parquet(folder / "holdout.parquet", index=False)
            mlflow.log_artifacts(str(folder))
        example = X_test_h.head(20).copy()
        v = registry.log_scorer(settings, scorer, input_example=example, register=register)
        version = str(v.version) if v is not None else None
        run_id = run.info.run_id
    return TrainResult(
        run_id=run_id,
        version=version,
        metrics=metrics,
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def _write_plots(
    folder: Path,
    tax_model: TaxYieldModel,
    propensity: object,
    holdout: pd.DataFrame,
    fc: FeatureContext,
) -> None:
    imp = pd.Series(
        tax_model.median_booster.booster_.feature_importance("gain"), index=tax_model.feature_names_
    )
    if isinstance(propensity, LandingPropensityModel):
        imp_p = pd.Series(
            propensity.booster_.booster_.feature_importance("gain"), index=propensity.feature_names_
        )
        _plot(
            folder / "importance_propensity.png",
            lambda ax: (
                imp_p.sort_values().tail(15).plot.barh(ax=ax, title="Propensity: gain importance")
            ),
        )
    _plot(
        folder / "importance_tax.png",
        lambda ax: imp.sort_values().tail(15).plot.barh(ax=ax, title="Tax P50: gain importance"),
    )
    if not holdout.empty:

        def calibration(ax: Axes) -> None:
            bins = pd.qcut(holdout["p_land_model"], 10, duplicates="drop")
            g = holdout.groupby(bins, observed=True).agg(
                p=("p_land_model", "mean"), y=("relevance", lambda r: (r == 3).mean())
            )
            ax.plot([0, g["p"].max()], [0, g["p"].max()], "--", color="grey")
            ax.plot(g["p"], g["y"], "o-")
            ax.set(
                title="Calibration on the holdout",
                xlabel="predicted P(land)",
                ylabel="signed share",
            )

        def lift(ax: Axes) -> None:
            ordered = holdout.sort_values("score_model", ascending=False)
            signed = (ordered["relevance"] == 3).to_numpy()
            ax.plot(
                np.arange(1, len(signed) + 1) / len(signed),
                np.cumsum(signed) / max(1, signed.sum()),
                label="model",
            )
            ax.plot([0, 1], [0, 1], "--", color="grey", label="random")
            ax.set(
                title="Cumulative signed contacts by score",
                xlabel="share contacted",
                ylabel="share of signings",
            )
            ax.legend()

        _plot(folder / "calibration.png", calibration)
        _plot(folder / "lift.png", lift)
    first_chain = fc.park.chains[0].id
    gaps = analyse_gaps(fc.gaps, first_chain)
    _plot(
        folder / "gaps.png",
        lambda ax: (
            ax.barh([g.name_en for g in gaps][::-1], [g.score for g in gaps][::-1])
            and ax.set(title=f"Gap scores: {first_chain}", xlabel="score")
        ),
    )
