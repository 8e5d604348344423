"""Aggregates of a demo (or imported) universe, compared with a park's published baseline."""

from __future__ import annotations

import pandas as pd

from data import columns as C
from data.reference import Park


def park_aggregates(tables: dict[str, pd.DataFrame], park: Park) -> dict[str, float]:
    """The figures the park's plan publishes, measured on the tables (latest tax year)."""
    roster = tables["park_roster"]
    members = roster.loc[roster[C.PARK_ID] == park.id, C.ENTERPRISE_ID]
    firms = tables["enterprises"]
    firms = firms[firms[C.ENTERPRISE_ID].isin(members)]
    tax = tables["tax_records"]
    tax = tax[tax[C.ENTERPRISE_ID].isin(members)]
    latest = (
        tax[tax[C.YEAR] == tax[C.YEAR].max()][C.TAX_PAID] if len(tax) else pd.Series(dtype=float)
    )
    links = tables["enterprise_links"]
    park_links = links[links[C.ENTERPRISE_ID].isin(members)]
    out: dict[str, float] = {
        "operating_firms": float(len(firms)),
        "total_tax_wan_cny": float(latest.sum()),
        "firms_tax_ge_10000_wan": float((latest >= 10_000).sum()),
        "firms_tax_ge_1000_wan": float((latest >= 1_000).sum()),
        "firms_tax_ge_100_wan": float((latest >= 100).sum()),
        "top16_tax_share": float(latest.nlargest(16).sum() / latest.sum()) if latest.sum() else 0.0,
        "mnc_regional_hq": float((firms[C.HQ_TYPE] == "mnc_regional_hq").sum()),
        "hq_type_leading_firms": float(firms[C.HQ_TYPE].isin(["national_hq", "regional_hq"]).sum()),
        "listed": float(firms[C.IS_LISTED].fillna(False).sum()),
        "high_tech": float(firms[C.IS_HIGH_TECH].fillna(False).sum()),
    }
    for target in park.chains:
        in_chain = park_links[park_links[C.LINK_ID].str.startswith(target.id + ".")]
        out[f"{target.id}_firms"] = float(in_chain[C.ENTERPRISE_ID].nunique())
    return out


def candidate_aggregates(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Distributions of the firms outside every park roster (the candidates)."""
    roster_ids = set(tables["park_roster"][C.ENTERPRISE_ID])
    firms = tables["enterprises"]
    cands = firms[~firms[C.ENTERPRISE_ID].isin(roster_ids)]
    tax = tables["tax_records"]
    # object dtype: isin over Arrow strings builds a scalar per value (12 s at 1 M candidates)
    is_candidate = tax[C.ENTERPRISE_ID].astype(object).isin(cands[C.ENTERPRISE_ID].astype(object))
    tax = tax[is_candidate & (tax[C.YEAR] == tax[C.YEAR].max())]
    ratio = (tax[C.TAX_PAID] / tax[C.REVENUE]).dropna()
    revenue = cands[C.REVENUE].dropna()
    outreach = tables["outreach"]
    return {
        "candidates": float(len(cands)),
        "tax_rate_p05": float(ratio.quantile(0.05)) if len(ratio) else float("nan"),
        "tax_rate_median": float(ratio.median()) if len(ratio) else float("nan"),
        "tax_rate_p95": float(ratio.quantile(0.95)) if len(ratio) else float("nan"),
        "revenue_median_wan_cny": float(revenue.median()),
        "revenue_p99_wan_cny": float(revenue.quantile(0.99)),
        "outreach_contacts": float(len(outreach)),
        "outreach_signed": float((outreach[C.OUTCOME] == "signed").sum()),
        "outreach_pending": float((outreach[C.OUTCOME] == "pending").sum()),
    }
