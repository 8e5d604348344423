"""Learn each landing form's share of the group's tax from what landed firms pay.

A landed lead keeps the form it was valued in and the group's tax P50 and band the model gave
it (``api.crm.tables.landed_leads``: ``landing_form``, ``group_tax_p50_wan_cny``, the unit's
``tax_p*``). Its realised tax is its tax record of the first full year after landing (as
``training.monitor`` reads it). Per track and form, on the log scale:

    r_i = log(realised_i / group_tax_p50_i) = μ + e_i,   e_i ~ N(0, σ_s² + σ_t,i²)

with σ_s the firms' spread of share around the form's median (the YAML band's log-spread) and
σ_t,i the tax model's own log-spread for the firm (from the band it gave). The prior on μ is
the YAML's log P50 and counts as ``PRIOR_FIRMS`` firms (normal–normal shrinkage): with few
landings the fit stays near the YAML, with many it follows the firms. The spread σ_s is shrunk
the same way (the firms' excess variance against the YAML's). The learnt band is
exp(μ̂ ± z₉₀ √(σ_s² + var μ̂)) — a firm's share, with the fit's own uncertainty.

A firm is fitted under the form it **took** where its officer recorded it (``landed_as``,
migration 0007), else the form it was valued in; its tax model's part of the band is the unit
band without the share band it was valued with (stored since 0007; the YAML's before). How often
the assumed form holds (``fit_form_holds``) is a Beta–binomial fit per track on the landings
with a recorded form, the YAML's ``assumed_form_holds`` counting as ``HOLDS_PRIOR_FIRMS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.landing import Z90
from data.reference import LandingForm, ShareBand

PRIOR_FIRMS: Final = 3.0  # the YAML's prior counts as three landed firms
FIT_COLUMNS: Final = (
    C.TRACK,
    "landing_form",
    "firms",
    "prior_p50",
    "prior_p10",
    "prior_p90",
    "observed_median",
    "p10",
    "p50",
    "p90",
    "median_sd_log",
    "source",
)
REALISED_COLUMNS: Final = (
    C.ENTERPRISE_ID,
    C.TRACK,
    "landing_form",
    "realised_tax",
    "log_share",
    "band_sd_log",
    "share_sd_log",
)
# how often the assumed form holds: the park YAML's prior counts as ten landings
HOLDS_PRIOR_FIRMS: Final = 10.0
HOLDS_COLUMNS: Final = (C.TRACK, "firms", "held", "prior", "holds", "sd", "source")


@dataclass(frozen=True)
class ShareFit:
    """The learnt bands per track and form and the table of the fit (``FIT_COLUMNS``)."""

    shares: dict[str, dict[str, ShareBand]]
    source: dict[str, dict[str, str]]
    table: pd.DataFrame


def realised_shares(landed: pd.DataFrame, tax_records: pd.DataFrame) -> pd.DataFrame:
    """One row per landed lead with a stored form, group tax P50 and a tax record after its
    landing year: track, form, group P50, the tax model's log-spread and the realised tax and
    log share."""
    need = ["landing_form", "group_tax_p50_wan_cny", "tax_p10_wan_cny", "tax_p50_wan_cny"]
    need += ["tax_p90_wan_cny", "landed_on"]
    missing = [c for c in [C.ENTERPRISE_ID, C.TRACK, *need] if c not in landed]
    rows = landed.iloc[0:0] if missing else landed.dropna(subset=need).copy()
    if not rows.empty:
        rows = rows[rows["group_tax_p50_wan_cny"].astype(float) > 0]
    if rows.empty:
        return pd.DataFrame(columns=list(REALISED_COLUMNS))
    rows["landed_year"] = pd.to_datetime(rows["landed_on"]).dt.year.astype(int)
    tax = tax_records.dropna(subset=[C.TAX_PAID])[[C.ENTERPRISE_ID, C.YEAR, C.TAX_PAID]]
    joined = rows.merge(
        tax[tax[C.ENTERPRISE_ID].isin(set(rows[C.ENTERPRISE_ID]))], on=C.ENTERPRISE_ID
    )
    joined = joined[joined[C.YEAR].astype(int) > joined["landed_year"]]
    first = joined.sort_values(C.YEAR).drop_duplicates([C.ENTERPRISE_ID, C.TRACK], keep="first")
    first = first[first[C.TAX_PAID].astype(float) > 0]
    group = first["group_tax_p50_wan_cny"].astype(float).to_numpy()
    realised = first[C.TAX_PAID].astype(float).to_numpy()
    # the unit band's log-width P10–P90 (the tax model's and the share's in quadrature)
    p10 = first["tax_p10_wan_cny"].astype(float).clip(lower=1e-9).to_numpy()
    p90 = first["tax_p90_wan_cny"].astype(float).clip(lower=1e-9).to_numpy()
    band_sd = np.log(p90 / p10) / (2 * Z90)
    # the share band the lead was valued with, where stored (leads since migration 0007): the
    # tax model's own part is what is left of the unit band without it
    share_sd = np.full(len(first), np.nan)
    if {"in_park_tax_share_p10", "in_park_tax_share_p90"} <= set(first.columns):
        s10 = pd.to_numeric(first["in_park_tax_share_p10"], errors="coerce").to_numpy(float)
        s90 = pd.to_numeric(first["in_park_tax_share_p90"], errors="coerce").to_numpy(float)
        ok = (s10 > 0) & (s90 >= s10)
        share_sd[ok] = np.log(s90[ok] / s10[ok]) / (2 * Z90)
    # the form it landed in where the officer recorded it (``landed_as``), else the form assumed
    valued = first["landing_form"].astype(str).to_numpy()
    took = first["landed_as"].to_numpy(dtype=object) if "landed_as" in first else None
    form = valued if took is None else np.where(pd.isna(took), valued, took).astype(str)
    out = pd.DataFrame(
        {
            C.ENTERPRISE_ID: first[C.ENTERPRISE_ID].to_numpy(),
            C.TRACK: first[C.TRACK].to_numpy(),
            "landing_form": form,
            "realised_tax": realised,
            "log_share": np.log(realised / group),
            "band_sd_log": band_sd,
            "share_sd_log": share_sd,
        }
    )
    return out.reset_index(drop=True)


def _sd_log(band: ShareBand) -> float:
    return float(np.log(band.p90 / band.p10) / (2 * Z90))


def fit_shares(
    forms: dict[str, dict[str, LandingForm]],
    realised: pd.DataFrame,
    *,
    prior_firms: float = PRIOR_FIRMS,
) -> ShareFit:
    """Each track's and form's share band (module doc); a form no landed firm took keeps the
    YAML's band (``source`` prior)."""
    shares: dict[str, dict[str, ShareBand]] = {}
    source: dict[str, dict[str, str]] = {}
    rows = []
    for track, by_form in forms.items():
        shares[track], source[track] = {}, {}
        for form_id, form in by_form.items():
            prior = form.share
            mine = realised[(realised[C.TRACK] == track) & (realised["landing_form"] == form_id)]
            n = len(mine)
            mu0, s0 = float(np.log(prior.p50)), _sd_log(prior)
            record = {
                C.TRACK: track,
                "landing_form": form_id,
                "firms": n,
                "prior_p50": prior.p50,
                "prior_p10": prior.p10,
                "prior_p90": prior.p90,
                "observed_median": float(np.exp(np.median(mine["log_share"]))) if n else np.nan,
            }
            if n == 0 or s0 == 0:
                shares[track][form_id], source[track][form_id] = prior, "prior"
                rows.append(
                    record
                    | {"p10": prior.p10, "p50": prior.p50, "p90": prior.p90}
                    | {"median_sd_log": s0 / np.sqrt(prior_firms), "source": "prior"}
                )
                continue
            r = mine["log_share"].to_numpy(float)
            # the share's spread: the firms' variance beyond the tax model's, shrunk to the YAML's
            sd_t = mine["band_sd_log"].to_numpy(float)
            # the unit band's spread is √(σ_t² + σ_share²), σ_share the band the lead was valued
            # with (stored), else the YAML's: what is left is the tax model's
            sd_share = mine["share_sd_log"].to_numpy(float) if "share_sd_log" in mine else None
            sd_share = (
                np.full(n, s0) if sd_share is None else np.where(np.isnan(sd_share), s0, sd_share)
            )
            tax_var = np.clip(sd_t**2 - sd_share**2, 0.0, None)
            excess = (
                max(float(np.mean((r - r.mean()) ** 2) - tax_var.mean()), 0.0) if n > 1 else 0.0
            )
            s2 = (prior_firms * s0**2 + (n - 1) * excess) / (prior_firms + max(n - 1, 0))
            w = 1.0 / (s2 + tax_var)
            w0 = prior_firms / s0**2
            precision = w0 + w.sum()
            mu = float((w0 * mu0 + (w * r).sum()) / precision)
            var_mu = 1.0 / precision
            half = Z90 * float(np.sqrt(s2 + var_mu))
            band = ShareBand(
                p10=float(min(np.exp(mu - half), 1.0)),
                p50=float(min(np.exp(mu), 1.0)),
                p90=float(min(np.exp(mu + half), 1.0)),
            )
            shares[track][form_id], source[track][form_id] = band, "learnt"
            rows.append(
                record
                | {"p10": band.p10, "p50": band.p50, "p90": band.p90}
                | {"median_sd_log": float(np.sqrt(var_mu)), "source": "learnt"}
            )
    return ShareFit(
        shares=shares, source=source, table=pd.DataFrame(rows, columns=list(FIT_COLUMNS))
    )


@dataclass(frozen=True)
class HoldsFit:
    """Per track, how often a firm lands in the form assumed, and the table of the fit
    (``HOLDS_COLUMNS``)."""

    holds: dict[str, float]
    table: pd.DataFrame


def fit_form_holds(
    priors: dict[str, float], landed: pd.DataFrame, *, prior_firms: float = HOLDS_PRIOR_FIRMS
) -> HoldsFit:
    """Each track's probability that a firm lands in the form it was valued in: the landed
    leads whose officer recorded the form it took (``landed_as``) against the form assumed
    (``landing_form``), Beta–binomial with the park YAML's ``assumed_form_holds`` as the prior
    mean counting as ``prior_firms`` landings. A track with no such lead keeps its prior."""
    need = [C.TRACK, "landing_form", "landed_as"]
    recorded = (
        landed.dropna(subset=need[1:])
        if set(need) <= set(landed.columns)
        else pd.DataFrame(columns=need)
    )
    holds, rows = {}, []
    for track, prior in priors.items():
        mine = recorded[recorded[C.TRACK] == track]
        n = len(mine)
        held = int((mine["landed_as"].astype(str) == mine["landing_form"].astype(str)).sum())
        a, b = prior * prior_firms + held, (1.0 - prior) * prior_firms + (n - held)
        mean = a / (a + b) if prior < 1.0 else 1.0
        sd = float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))) if prior < 1.0 else 0.0
        holds[track] = float(min(max(mean, 1e-3), 1.0))
        rows.append(
            {
                C.TRACK: track,
                "firms": n,
                "held": held,
                "prior": prior,
                "holds": holds[track],
                "sd": sd,
                "source": "learnt" if n and prior < 1.0 else "prior",
            }
        )
    return HoldsFit(holds=holds, table=pd.DataFrame(rows, columns=list(HOLDS_COLUMNS)))
