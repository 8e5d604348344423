"""The lead scorer: tax yield, landing propensity and the ranking in one object, with reasons.

Its input is the feature matrix of ``features.spec`` (one row per firm and track,
``track_index`` saying which track of the park YAML); its output per row: ``p_land``, the tax
quantiles, expected tax, ``gap_value``, the chain value a year, the in-park tax share, the value
if it lands (``value_wan_cny``: horizon × (share × tax P50 + chain value),
``industry_graph.gaps.LeadValue``) and the lead ``score`` = P(land) × value, in 万元. A learned
model only ever changes P(land); the value comes from the tax model and the park YAML.
This object is what MLflow stores (``models.registry``) and what every consumer — ``attract
leads``, the API, batch scoring — calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
SCORE_FIELDS = (
    "score",
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "gap_value",
    "chain_value_wan_cny",
    "in_park_tax_share",
    "value_wan_cny",
)
OUTPUT_COLUMNS = (
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "expected_tax_wan_cny",
    "gap_value",
    "chain_value_wan_cny",
    "in_park_tax_share",
    "value_wan_cny",
    "score",
)


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

    @property
    def p_land_source(self) -> str:
        """``model`` when learned from outreach history, ``roster`` when from the park's roster
        and the YAML's factors (no history), ``prior`` for the documented fallback."""
        if isinstance(self.propensity, PriorPropensity):
            return "prior"
        return "roster" if isinstance(self.propensity, RosterPropensity) else "model"

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        """Score every row (see the module docstring)."""
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise ValueError(f"feature matrix lacks columns: {', '.join(missing)}")
        tax = self.tax.predict(X[list(self.tax_features)])
        p_land = self.propensity.predict_proba(X[list(self.propensity_features)])
        out = tax.copy()
        out.insert(0, "p_land", np.round(p_land, 6))
        out["expected_tax_wan_cny"] = p_land * out["tax_p50_wan_cny"]
        gap = X["gap_value"].to_numpy()
        out["gap_value"] = gap
        tax_p50 = out["tax_p50_wan_cny"].to_numpy()
        chain, value = np.zeros(len(X)), np.zeros(len(X))
        share = X["in_park_tax_share"].to_numpy()
        out["in_park_tax_share"] = share
        index = X["track_index"].to_numpy()
        unknown = ~np.isin(index, np.arange(len(self.values)))
        if unknown.any():
            raise ValueError(
                f"track_index: {index[unknown][0]!r} is not a track of {self.park_id} "
                f"(0–{len(self.values) - 1}: {', '.join(self.values)})"
            )
        for i, track in enumerate(self.values):
            mask = index == i
            if mask.any():
                chain[mask], value[mask] = self.values[track].parts(
                    tax_p50=tax_p50[mask], gap_value=gap[mask], tax_share=share[mask]
                )
        out["chain_value_wan_cny"] = chain
        out["value_wan_cny"] = value
        out["score"] = np.clip(p_land, 0, 1) * value
        return out[list(OUTPUT_COLUMNS)]

    def explain(self, X: pd.DataFrame, *, top: int = 3) -> list[list[dict[str, str]]]:
        """The ``top`` factors behind each row, from LightGBM ``pred_contrib`` of the propensity
        (log-odds) and tax P50 (log) boosters, which add up on the log scale of expected tax."""
        contrib = self.tax.contributions(X[list(self.tax_features)]).reindex(
            columns=self.feature_names, fill_value=0.0
        )
        if isinstance(self.propensity, LandingPropensityModel | RosterPropensity):
            contrib = contrib.add(
                self.propensity.contributions(X[list(self.propensity_features)]).reindex(
                    columns=self.feature_names, fill_value=0.0
                )
            )
        contrib = contrib.drop(columns=["track_index", *VALUE_INPUTS], errors="ignore")
        reasons = []
        values = X.reindex(columns=contrib.columns)
        share = X["in_park_tax_share"].to_numpy()
        for i in range(len(X)):
            row = contrib.iloc[i]
            order = row.abs().sort_values(ascending=False, kind="stable").index[:top]
            value_note = [site_bound_reason(float(share[i]))] if share[i] < 1 else []
            reasons.append(
                [
                    *value_note,
                    *(
                        describe(BY_NAME[name], float(values.iloc[i][name]), float(row[name]))
                        for name in order
                    ),
                ]
            )
        return reasons


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
        "feature": "in_park_tax_share",
        "effect": "-",
        "text_zh": f"税收主要在生产地缴纳，园区可得约 {share:.0%}",
        "text_en": f"pays its tax where it produces: the park would collect about {share:.0%}",
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
