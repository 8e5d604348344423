"""The lead scorer: tax yield, landing propensity and the ranking in one object, with reasons.

Its input is the feature matrix of ``features.spec`` (one row per firm and track,
``track_index`` saying which track of the park YAML); its output per row: ``p_land``, the tax
quantiles of the tax the park would collect (the group's tax band × the share of it the unit
of its assumed landing form books here, ``data.landing``), the group's tax P50, expected tax,
``gap_value``, the chain value a year, the landing form and its share, the value if it lands
(``value_wan_cny``: horizon × (the park's tax P50 + chain value), ``industry_graph.gaps.LeadValue``)
and the lead ``score`` = P(land) × value, in 万元. The landing model only ever changes P(land);
the value comes from the tax model, the park YAML's forms and the shares training learnt from
landed firms (``shares``).
This object is what MLflow stores (``models.registry``) and what every consumer — ``attract
leads``, the API, batch scoring — calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.landing import mixed_shares, unit_tax_band
from data.reference import LandingForm, ShareBand
from features.spec import BY_NAME, VALUE_INPUTS, Feature
from industry_graph.gaps import LeadValue
from models.estimators import (
    LandingPropensityModel,
    PriorPropensity,
    RosterPropensity,
    TaxYieldModel,
)
from models.stages import StageModel

# what a lead shows of its scores, in this order (lists, exports, the enterprise page)
# (tax_p*: what the park would collect; group_tax_p50: the whole group's; landing_form: the id
# of the form assumed, a text field — ``score_value``)
SCORE_FIELDS = (
    "score",
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "group_tax_p50_wan_cny",
    "gap_value",
    "chain_value_wan_cny",
    "landing_form",
    "in_park_tax_share",
    "in_park_tax_share_p10",
    "in_park_tax_share_p90",
    "value_wan_cny",
)
TEXT_SCORE_FIELDS = frozenset({"landing_form"})
# what the first reason of a lead says: the form it is valued in and its share band
FORM_FIELDS = (
    "landing_form",
    "in_park_tax_share",
    "in_park_tax_share_p10",
    "in_park_tax_share_p90",
)
OUTPUT_COLUMNS = (
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "group_tax_p50_wan_cny",
    "expected_tax_wan_cny",
    "gap_value",
    "chain_value_wan_cny",
    "landing_form",
    "in_park_tax_share",
    "in_park_tax_share_p10",
    "in_park_tax_share_p90",
    "value_wan_cny",
    "score",
)


def score_value(name: str, value: object) -> float | str:
    """A score field as a lead shows it: text for the landing form, else a float."""
    return str(value) if name in TEXT_SCORE_FIELDS else float(value)  # type: ignore[arg-type]


@dataclass
class LeadScorer:
    """Everything needed to score a feature matrix for one park."""

    park_id: str
    feature_names: tuple[str, ...]
    tax: TaxYieldModel
    propensity: LandingPropensityModel | RosterPropensity | PriorPropensity
    values: dict[str, LeadValue]  # per track, in the park YAML's order (``track_index``)
    tax_features: tuple[str, ...]
    propensity_features: tuple[str, ...]
    data_snapshot_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    # P(land | stage, days in stage) for the pipeline's leads (None in bundles made before it)
    stages: StageModel | None = None
    # per track: its landing forms (park YAML) and the share band each books here — the YAML's
    # prior, or what training learnt from landed firms (``training.shares``)
    forms: dict[str, dict[str, LandingForm]] = field(default_factory=dict)
    shares: dict[str, dict[str, ShareBand]] = field(default_factory=dict)
    site_bound_share: float = 1.0
    share_source: dict[str, dict[str, str]] = field(default_factory=dict)  # prior | learnt
    # per track: how often a firm lands in the form assumed (``training.shares.fit_form_holds``;
    # None in bundles made before it: the assumed form's band alone)
    form_holds: Mapping[str, float] | None = None

    @property
    def p_land_source(self) -> str:
        """``model`` when learned from outreach history, ``roster`` when from the park's roster
        and the YAML's factors (no history), ``prior`` for the documented fallback."""
        if isinstance(self.propensity, PriorPropensity):
            return "prior"
        return "roster" if isinstance(self.propensity, RosterPropensity) else "model"

    def check_forms(self, park_forms: dict[str, list[str]]) -> None:
        """Refuse a model whose landing forms differ from the park YAML's, track by track.

        The feature ``landing_form`` holds a form's position in the YAML's list, so a model
        trained on another list (a form added, renamed or moved) would value a lead as the wrong
        form. ``park_forms``: each track's form ids in the YAML's order (``data.landing``).
        ``ValueError`` naming the track and both lists; retrain to serve the new list.
        """
        for track, names in self.shares.items():
            now = park_forms.get(track)
            if now is None:
                continue
            if list(names) != list(now):
                raise ValueError(
                    f"track {track!r}: the model was trained with landing forms "
                    f"[{', '.join(names)}] but the park YAML now names [{', '.join(now)}] "
                    f"(names and order must match); run `attract train` and `attract promote`"
                )

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        """Score every row (see the module docstring)."""
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise ValueError(f"feature matrix lacks columns: {', '.join(missing)}")
        group = self.tax.predict(X[list(self.tax_features)])
        p_land = self.propensity.predict_proba(X[list(self.propensity_features)])
        index = X["track_index"].to_numpy()
        unknown = ~np.isin(index, np.arange(len(self.values)))
        if unknown.any():
            raise ValueError(
                f"track_index: {index[unknown][0]!r} is not a track of {self.park_id} "
                f"(0–{len(self.values) - 1}: {', '.join(self.values)})"
            )
        n = len(X)
        unit = {q: np.zeros(n) for q in ("p10", "p50", "p90")}
        share = {q: np.zeros(n) for q in ("p10", "p50", "p90")}
        form = np.empty(n, dtype=object)
        form_index = X["landing_form"].to_numpy().astype(np.int64)
        bound = X["site_bound"].to_numpy() > 0.5
        gap = X["gap_value"].to_numpy()
        chain, value = np.zeros(n), np.zeros(n)
        for i, track in enumerate(self.values):
            mask = index == i
            if not mask.any():
                continue
            names = list(self.shares[track])
            bands = [self.shares[track][f] for f in names]
            holds = (self.form_holds or {}).get(track, 1.0)
            s = mixed_shares(bands, form_index[mask], bound[mask], self.site_bound_share, holds)
            t10, t50, t90 = unit_tax_band(
                group["tax_p10_wan_cny"].to_numpy()[mask],
                group["tax_p50_wan_cny"].to_numpy()[mask],
                group["tax_p90_wan_cny"].to_numpy()[mask],
                s,
            )
            unit["p10"][mask], unit["p50"][mask], unit["p90"][mask] = t10, t50, t90
            share["p10"][mask], share["p50"][mask], share["p90"][mask] = s.p10, s.p50, s.p90
            form[mask] = np.array(names, dtype=object)[form_index[mask]]
            chain[mask], value[mask] = self.values[track].parts(tax_p50=t50, gap_value=gap[mask])
        out = pd.DataFrame(index=X.index)
        out["p_land"] = np.round(p_land, 6)
        for q in ("p10", "p50", "p90"):
            out[f"tax_{q}_wan_cny"] = np.round(unit[q], 4)
        out["group_tax_p50_wan_cny"] = group["tax_p50_wan_cny"].to_numpy()
        out["expected_tax_wan_cny"] = p_land * out["tax_p50_wan_cny"]
        out["gap_value"] = gap
        out["chain_value_wan_cny"] = chain
        out["landing_form"] = form
        out["in_park_tax_share"] = np.round(share["p50"], 6)
        out["in_park_tax_share_p10"] = np.round(share["p10"], 6)
        out["in_park_tax_share_p90"] = np.round(share["p90"], 6)
        out["value_wan_cny"] = value
        out["score"] = np.clip(p_land, 0, 1) * value
        return out[list(OUTPUT_COLUMNS)]

    def explain(
        self, X: pd.DataFrame, *, top: int = 3, scores: pd.DataFrame | None = None
    ) -> list[list[dict[str, str]]]:
        """The ``top`` factors behind each row, from LightGBM ``pred_contrib`` of the propensity
        (log-odds) and tax P50 (log) boosters, which add up on the log scale of expected tax.
        ``scores``: the rows' ``score`` output where the caller holds it (its landing form and
        share band, ``FORM_FIELDS``; scored here otherwise)."""
        # the two models' contributions side by side in the scorer's feature order (a feature
        # neither model reads adds nothing), without the track and the value's inputs
        position = {name: i for i, name in enumerate(self.feature_names)}
        summed = np.zeros((len(X), len(self.feature_names)))
        parts = [self.tax.contributions(X[list(self.tax_features)])]
        if isinstance(self.propensity, LandingPropensityModel | RosterPropensity):
            parts.append(self.propensity.contributions(X[list(self.propensity_features)]))
        for part in parts:
            known = [c for c in part.columns if c in position]
            summed[:, [position[c] for c in known]] += part[known].to_numpy(dtype=float)
        dropped = {"track_index", *VALUE_INPUTS}
        keep = [i for i, name in enumerate(self.feature_names) if name not in dropped]
        names = [self.feature_names[i] for i in keep]
        effects = summed[:, keep]
        values = X.reindex(columns=names).to_numpy(dtype=float)
        # each row's factors by size, ties in column order (a stable sort of the negated sizes)
        orders = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :top]
        if scores is None:
            scores = self.score(X)
        tracks = list(self.values)
        index = X["track_index"].to_numpy().astype(np.int64)
        bound = X["site_bound"].to_numpy() > 0.5
        forms = scores["landing_form"].astype(str).tolist()
        shares = {
            c: scores[c].to_numpy(dtype=float)
            for c in ("in_park_tax_share", "in_park_tax_share_p10", "in_park_tax_share_p90")
        }
        reasons = []
        for i in range(len(X)):
            value_note = [
                self.form_reason(
                    tracks[int(index[i])],
                    forms[i],
                    share=float(shares["in_park_tax_share"][i]),
                    band=(
                        float(shares["in_park_tax_share_p10"][i]),
                        float(shares["in_park_tax_share_p90"][i]),
                    ),
                )
            ]
            if bound[i]:
                value_note.append(site_bound_reason(self.site_bound_share))
            reasons.append(
                [
                    *value_note,
                    *(
                        describe(BY_NAME[names[j]], float(values[i, j]), float(effects[i, j]))
                        for j in orders[i].tolist()
                    ),
                ]
            )
        return reasons

    def form_reason(
        self, track: str, form_id: str, *, share: float, band: tuple[float, float]
    ) -> dict[str, str]:
        """Why the lead is valued as it is: the form assumed, its share of the group's tax (and
        band; learnt from landed firms or the YAML's prior) and the YAML's reason."""
        form = self.forms[track][form_id]
        learnt = self.share_source.get(track, {}).get(form_id) == "learnt"
        low, high = band
        other = 1.0 - (self.form_holds or {}).get(track, 1.0)
        other_zh = f"，区间计入 {other:.0%} 以其他形式落地的可能" if other > 0 else ""
        other_en = (
            f"; the band allows the {other:.0%} chance it lands in another form"
            if other > 0
            else ""
        )
        return {
            "feature": "landing_form",
            "effect": "-" if share < 1 else "+",
            "text_zh": (
                f"按{form.name_zh}计：园区可得集团税收约 {share:.1%}（{low:.1%}–{high:.1%}，"
                f"{'由已落地企业学得' if learnt else '园区设定'}{other_zh}）。{form.why_zh}"
            ),
            "text_en": (
                f"valued as a {form.name_en}: the park would collect about {share:.1%} of the "
                f"group's tax ({low:.1%}–{high:.1%}, "
                f"{'learnt from landed firms' if learnt else 'the park YAML prior'}{other_en}). "
                f"{form.why_en}"
            ),
        }


def _format(feature: Feature, value: float) -> tuple[str, str]:
    if np.isnan(value):
        return "未知", "unknown"
    name = feature.name
    if feature.kind == "flag":
        return ("是", "yes") if value > 0.5 else ("否", "no")
    if name in {"log_revenue", "log_capital", "log_last_tax"}:
        amount = float(np.expm1(value))
        return f"{amount:,.0f} 万元", f"{amount / 100:,.1f} m CNY"
    if name in {"log_employees", "log_patents"}:
        n = float(np.expm1(value))
        return (
            (f"{n:,.0f} 人", f"{n:,.0f} staff")
            if name == "log_employees"
            else (f"{n:,.0f} 件", f"{n:,.0f}")
        )
    if name == "revenue_growth":
        return f"{value:+.0%}", f"{value:+.0%}"
    if name in {"net_margin", "last_tax_rate", "industry_tax_rate"}:
        return f"{value:.1%}", f"{value:.1%}"
    if name == "distance_km":
        return f"{value:,.0f} 公里", f"{value:,.0f} km"
    if name == "firm_age":
        return f"{value:.0f} 年", f"{value:.0f} years"
    if name == "funding_recency":
        if value <= 0:
            return "无融资记录", "no funding round"
        years = -1.5 * float(np.log(value))
        return f"{years:.1f} 年前融资", f"{years:.1f} years ago"
    return f"{value:.2f}", f"{value:.2f}"


def site_bound_reason(share: float) -> dict[str, str]:
    """Why only part of a firm's tax counts: its industry pays tax where it produces."""
    return {
        "feature": "site_bound",
        "effect": "-",
        "text_zh": f"税收主要在生产地缴纳，园区可得至多约 {share:.0%}",
        "text_en": f"pays its tax where it produces: the park would collect at most {share:.0%}",
    }


def describe(feature: Feature, value: float, contribution: float) -> dict[str, str]:
    """One reason in words: the feature's label, its value and which way it pushes the score."""
    zh, en = _format(feature, value)
    up = contribution >= 0
    return {
        "feature": feature.name,
        "effect": "+" if up else "-",
        "text_zh": f"{feature.label_zh}{'↑' if up else '↓'}（{zh}）",
        "text_en": f"{feature.label_en} {'raises' if up else 'lowers'} the score ({en})",
    }
