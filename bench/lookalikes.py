"""Lookalikes and the roster fit on the real A-share universe, out of sample (issue 14's
figures; ``python -m bench.run lookalikes_real``).

1. Precision@10 against Shenwan, computed **without** the industry code: for every firm with
   products and a Shenwan class, the share of its 10 nearest firms in the same L3 (L2, L1)
   class; overall, per Shenwan L1, and for random neighbours.
2. The district (and city) hold-out of ``training.roster``: mean AUC and recall@50 of each
   ranking over the places, the 静安区 row, the pooled coefficients and what the test earned.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from data import columns as C
from data.reference import default_chains, default_parks
from data.settings import get_settings
from data.universe import load_universe, universe_as_of
from features.build import feature_context
from features.similarity import firm_vectors, precision_at_k
from training.roster import RANKINGS, holdouts

GOAL_L3 = 0.40


def real_universe(out: Path, shared: Path) -> Path:
    """The A-share universe of ``shared`` (``../shared/data``) with 静安区 as the roster,
    imported once into ``out`` by ``attract import ashare`` (the tests' real universe too)."""
    if (out / "manifest.json").exists():
        return out
    subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "import",
            "ashare",
            "--reports",
            str(shared / "a_share_annual_reports_2019_2020"),
            "--chainkg",
            str(shared / "chainkg"),
            "--stock-basic",
            str(shared / "a_share_stock_basic" / "stock_basic.csv"),
            "--roster-district",
            "静安区",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


def run(work: Path) -> dict[str, object]:
    shared = get_settings().shared_data
    if not (shared / "chainkg").is_dir():
        raise SystemExit(f"needs the real data at {shared.resolve()} (set ATTRACT_SHARED_DATA)")
    folder = real_universe(work / "ashare", shared)
    tables = load_universe(folder)
    firms = tables["enterprises"]
    labels = firms.set_index(C.ENTERPRISE_ID)[C.INDUSTRY_CODE]
    industries = tables["industries"]
    names = dict(zip(industries[C.CODE], industries[C.NAME], strict=True))
    vectors = firm_vectors(tables, with_industry=False)
    precision = {}
    per_firm = {}
    for level, prefix in (("l3", 6), ("l2", 4), ("l1", 2)):
        per_firm[level] = precision_at_k(vectors, labels, prefix=prefix)
        precision[level] = round(float(per_firm[level]["precision"].mean()), 3)
    # random neighbours: the share of other firms of the same class, per firm
    l3 = per_firm["l3"]["label"]
    sizes = l3.value_counts()
    precision["random_l3"] = round(float(((l3.map(sizes) - 1) / (len(l3) - 1)).mean()), 3)
    by_l1 = (
        per_firm["l3"]
        .assign(l1=lambda f: f["label"].str[:2] + "0000")
        .merge(
            per_firm["l1"][[C.ENTERPRISE_ID, "precision"]].rename(columns={"precision": "p_l1"}),
            on=C.ENTERPRISE_ID,
        )
        .groupby("l1")
        .agg(firms=("precision", "size"), p_l3=("precision", "mean"), p_l1=("p_l1", "mean"))
        .round(3)
    )
    by_l1.insert(0, "name", [names.get(c, c) for c in by_l1.index])
    park = default_parks()["shibei"]
    fc = feature_context(park=park, chains=default_chains(), tables=tables, keep_vectors=True)
    results, _ = holdouts(fc, firms, as_of=universe_as_of(folder))
    summaries = {}
    for level, result in results.items():
        rows = result.places.set_index("place")
        jingan = rows.loc["上海市/静安区" if level == "district" else "上海市"]
        summaries[level] = {
            "summary": {k: round(v, 3) for k, v in result.summary().items()},
            "coefficients": {k: round(v, 3) for k, v in result.coefficients.items()},
            "earned": {k: round(v, 3) for k, v in result.earned.items()},
            "jingan" if level == "district" else "shanghai": {
                k: (round(float(v), 3) if isinstance(v, float | np.floating) else v)
                for k, v in jingan.items()
            },
            "places": result.places.round(3).to_dict("records"),
        }
    d = summaries["district"]["summary"]
    best_baseline = max(d[f"roster_district_{b}_auc"] for b in ("random", "industry_share", "size"))
    return {
        "bench": "lookalikes and roster fit on the real A-share universe",
        "target": (
            f"precision@10 at Shenwan L3 ≥ {GOAL_L3} without the code; roster fit beats the "
            "baselines (district hold-out AUC)"
        ),
        "met": precision["l3"] >= GOAL_L3 and d["roster_district_roster_fit_auc"] > best_baseline,
        "measured": (
            f"precision@10 L3 {precision['l3']:.3f} (L2 {precision['l2']:.3f}, L1 "
            f"{precision['l1']:.3f}, random {precision['random_l3']:.3f}) over {len(l3):,} firms; "
            f"district hold-out AUC roster fit {d['roster_district_roster_fit_auc']:.3f} vs "
            f"industry share {d['roster_district_industry_share_auc']:.3f}, size "
            f"{d['roster_district_size_auc']:.3f}, random {d['roster_district_random_auc']:.3f} "
            f"({d['roster_district_places']:.0f} districts)"
        ),
        "precision_at_10": precision,
        "precision_by_shenwan_l1": by_l1.reset_index().to_dict("records"),
        "holdout": summaries,
        "rankings": list(RANKINGS),
    }


def table(result: dict[str, object]) -> pd.DataFrame:
    """The per-L1 precision table (for reading the JSON)."""
    return pd.DataFrame(result["precision_by_shenwan_l1"])  # type: ignore[arg-type]
