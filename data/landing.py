"""The form a firm would land in and the share of its group's tax the park would collect.

Each track of the park YAML names the forms it recruits (``Track.forms``: a regional HQ, a
settlement centre, a branch, an R&D centre …) with the share of the group's tax each books here
(a log-normal prior: P10 / P50 / P90) and the rules that assume one per firm from its facts
(``Track.assume``: size, industry, listed, headquarters type, province; first match wins). The
site-bound rule stays: a firm of an industry that pays where it produces brings at most
``valuation.in_park_tax_share.site_bound`` whatever its form.

The tax the park would collect is the group's tax × the unit's share; both are uncertain, so the
band combines them on the log scale (``unit_tax_band``): the distance of each quantile from the
median adds in quadrature (independent log-normal errors). The form assumed may not be the
one a firm takes: the share's band is that of the mixture (``mixed_shares``) in which the firm
takes the assumed form with the track's ``assumed_form_holds`` and each other form alike
otherwise; its P50 stays the assumed form's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr

from data import columns as C
from data.reference import FormWhen, LandingForm, Park, ShareBand

Z90: Final = 1.2815515655446004  # the standard normal's 90th percentile
# a track without forms: the whole firm's tax × the YAML's default share, no band
WHOLE_FIRM = "whole_firm"


def track_forms(park: Park, track: str) -> Mapping[str, LandingForm]:
    """The forms a track recruits, in the YAML's order (one ``whole_firm`` form at the YAML's
    default share for a track that names none)."""
    forms = park.tracks[track].forms
    if forms:
        return forms
    share = park.valuation.in_park_tax_share.default
    return {
        WHOLE_FIRM: LandingForm(
            name_zh="整体落地",
            name_en="Whole firm",
            share=ShareBand(p10=share, p50=share, p90=share),
            why_zh="赛道未列落地形式：按园区可得税收比例计",
            why_en="the track names no landing forms: the park's default share",
        )
    }


def form_index(park: Park, track: str, form: str, *, field: str = "landing_form") -> int:
    """The position of ``form`` among the track's forms; ``ValueError`` naming ``field`` and
    the track's forms when it is not one of them."""
    forms = list(track_forms(park, track))
    if form not in forms:
        raise ValueError(
            f"{field}: {form!r} is not a form of track {track!r} (one of {', '.join(forms)})"
        )
    return forms.index(form)


def site_bound(park: Park, firms: pd.DataFrame) -> np.ndarray:
    """Whether each firm's industry pays its tax where it produces (park YAML)."""
    rule = park.valuation.in_park_tax_share
    if not rule.site_bound_codes:
        return np.zeros(len(firms), dtype=bool)
    share = rule.of(
        firms[C.INDUSTRY_CODE].reset_index(drop=True),
        firms[C.INDUSTRY_SCHEME].reset_index(drop=True),
    )
    return np.asarray(share == rule.site_bound, dtype=bool) & (rule.site_bound != rule.default)


def industry_hit(
    firms: pd.DataFrame, codes: Mapping[Literal["gbt4754_2017", "sw2021"], tuple[str, ...]]
) -> np.ndarray:
    """Whether each firm's industry code starts with one of ``codes``' prefixes of its scheme."""
    text = firms[C.INDUSTRY_CODE].astype("string").fillna("")
    scheme = firms[C.INDUSTRY_SCHEME].astype("string").fillna("")
    hit = np.zeros(len(firms), dtype=bool)
    for name, prefixes in codes.items():
        hit |= (
            ((scheme == name) & text.str.startswith(tuple(prefixes)))
            .fillna(False)
            .to_numpy(dtype=bool)
        )
    return hit


def _in_province(firms: pd.DataFrame, column: str, park: Park) -> np.ndarray:
    """Whether each firm's ``column`` (registered or office province) is the park's; False
    where the data holds no such column."""
    if column not in firms.columns:
        return np.zeros(len(firms), dtype=bool)
    here = firms[column] == park.location.province
    return np.asarray(here.fillna(False).to_numpy(dtype=bool), dtype=bool)


def _holds(when: FormWhen, firms: pd.DataFrame, park: Park, bound: np.ndarray) -> np.ndarray:
    ok = np.ones(len(firms), dtype=bool)
    revenue = pd.to_numeric(firms[C.REVENUE], errors="coerce").to_numpy(dtype=float)
    if when.min_revenue_wan_cny is not None:
        ok &= np.nan_to_num(revenue, nan=-1.0) >= when.min_revenue_wan_cny
    if when.max_revenue_wan_cny is not None:
        ok &= np.nan_to_num(revenue, nan=0.0) < when.max_revenue_wan_cny
    if when.hq_types is not None:
        ok &= firms[C.HQ_TYPE].isin(when.hq_types).to_numpy(dtype=bool)
    if when.is_listed is not None:
        listed = firms[C.IS_LISTED].astype("boolean").fillna(False).to_numpy(dtype=bool)
        ok &= listed == when.is_listed
    if when.in_park_province is not None:
        ok &= _in_province(firms, C.PROVINCE, park) == when.in_park_province
    if when.based_in_park_province is not None:
        based = _in_province(firms, C.PROVINCE, park) | _in_province(firms, C.OFFICE_PROVINCE, park)
        ok &= based == when.based_in_park_province
    if when.industry_codes is not None:
        ok &= industry_hit(firms, when.industry_codes)
    if when.site_bound is not None:
        ok &= bound == when.site_bound
    return ok


@dataclass(frozen=True)
class AssumedForms:
    """Per firm: the form assumed (its id and position among the track's forms) and whether its
    industry is site-bound."""

    form: np.ndarray  # object: form ids
    index: np.ndarray  # int64: position in track_forms(park, track)
    site_bound: np.ndarray  # bool


def assume_forms(firms: pd.DataFrame, park: Park, track: str) -> AssumedForms:
    """The form each firm would land in on ``track`` (the first of the track's ``assume`` rules
    that holds; ``whole_firm`` on a track without forms)."""
    bound = site_bound(park, firms)
    spec = park.tracks[track]
    names = list(track_forms(park, track))
    index = np.zeros(len(firms), dtype=np.int64)
    if spec.assume:
        todo = np.ones(len(firms), dtype=bool)
        for rule in spec.assume:
            hit = todo & _holds(rule.when, firms, park, bound)
            index[hit] = names.index(rule.form)
            todo &= ~hit
    return AssumedForms(form=np.array(names, dtype=object)[index], index=index, site_bound=bound)


@dataclass(frozen=True)
class Shares:
    """The share of the group's tax a unit books here, per firm: P10, P50, P90."""

    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


def unit_shares(
    bands: list[ShareBand], index: np.ndarray, bound: np.ndarray, site_bound_share: float
) -> Shares:
    """Each firm's share band: its form's (``bands[index]``), scaled down to at most
    ``site_bound_share`` at P50 for a site-bound firm (the band keeps its width)."""
    idx = np.asarray(index, dtype=np.int64)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(bands)):
        bad = idx[(idx < 0) | (idx >= len(bands))][0]
        raise ValueError(f"landing_form: index {bad} is not one of the track's {len(bands)} forms")
    p10 = np.array([b.p10 for b in bands], dtype=float)[idx]
    p50 = np.array([b.p50 for b in bands], dtype=float)[idx]
    p90 = np.array([b.p90 for b in bands], dtype=float)[idx]
    scale = np.where(np.asarray(bound, dtype=bool), np.minimum(1.0, site_bound_share / p50), 1.0)
    return Shares(p10=p10 * scale, p50=p50 * scale, p90=np.minimum(p90 * scale, 1.0))


def _mixture_quantile(q: float, weight: np.ndarray, each: Shares) -> float:
    """The ``q`` quantile of a mixture of share bands (``weight`` per component): each
    component normal on the log scale with the log-distance of its P10 below the median on
    the lower side and of its P90 above it on the upper, so it keeps its own P10, P50, P90."""
    mu = np.log(each.p50)
    lo, hi = np.log(each.p50 / each.p10) / Z90, np.log(each.p90 / each.p50) / Z90

    def below(x: float) -> float:
        spread = np.where(x <= mu, lo, hi)
        cdf = np.where(spread > 0, ndtr((x - mu) / np.where(spread > 0, spread, 1.0)), x >= mu)
        return float(weight @ cdf) - q

    left, right = float(np.min(mu - 5 * lo)) - 1.0, float(np.max(mu + 5 * hi)) + 1.0
    return float(np.exp(brentq(below, left, right)))


def mixed_shares(
    bands: list[ShareBand],
    index: np.ndarray,
    bound: np.ndarray,
    site_bound_share: float,
    holds: float,
) -> Shares:
    """Each firm's share band when the assumed form may be wrong: the firm lands in the form
    assumed (``bands[index]``) with probability ``holds`` and in each other form of the track
    with ``(1 − holds) / (K − 1)``. P50 stays the assumed form's (what the lead is valued at);
    P10 and P90 are the mixture's quantiles, so the band holds the other forms' shares as
    often as firms take them (site-bound firms scaled as ``unit_shares`` does)."""
    if not 0.0 < holds <= 1.0:
        raise ValueError(f"assumed_form_holds: {holds} is not a probability in (0, 1]")
    assumed = unit_shares(bands, index, bound, site_bound_share)
    k = len(bands)
    if k < 2 or holds == 1.0 or not len(assumed.p50):
        return assumed
    p10, p90 = assumed.p10.copy(), assumed.p90.copy()
    # the band depends on the form and the site-bound flag only: one mixture per pair
    code = np.asarray(index, dtype=np.int64) * 2 + np.asarray(bound, dtype=np.int64)
    for pair in np.unique(code):
        form, is_bound = int(pair) // 2, bool(pair % 2)
        each = unit_shares(bands, np.arange(k), np.full(k, is_bound), site_bound_share)
        weight = np.full(k, (1.0 - holds) / (k - 1))
        weight[form] = holds
        rows = code == pair
        median = float(each.p50[form])
        p10[rows] = min(_mixture_quantile(0.1, weight, each), median)
        p90[rows] = min(max(_mixture_quantile(0.9, weight, each), median), 1.0)
    return Shares(p10=p10, p50=assumed.p50, p90=p90)


def unit_tax_band(
    tax_p10: np.ndarray, tax_p50: np.ndarray, tax_p90: np.ndarray, shares: Shares
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band of the tax the park would collect: the group's band × the share's band, the
    log-distances of P10 and P90 from the median added in quadrature (P10 ≤ P50 ≤ P90)."""
    t50 = np.clip(np.asarray(tax_p50, dtype=float), 0.0, None)
    t10 = np.clip(np.asarray(tax_p10, dtype=float), 0.0, None)
    t90 = np.maximum(np.asarray(tax_p90, dtype=float), t50)
    positive = t50 > 0
    safe50 = np.where(positive, t50, 1.0)
    # a P10 of 0 (or none): the band reaches three orders of magnitude below the median
    t_lo = np.where(positive & (t10 > 0), np.log(safe50 / np.maximum(t10, 1e-300)), np.log(1000.0))
    t_hi = np.where(positive, np.log(np.where(positive, t90, 1.0) / safe50), 0.0)
    s_lo = np.log(shares.p50 / shares.p10)
    s_hi = np.log(shares.p90 / shares.p50)
    p50 = t50 * shares.p50
    lo = np.sqrt(np.clip(t_lo, 0, None) ** 2 + s_lo**2)
    hi = np.sqrt(np.clip(t_hi, 0, None) ** 2 + s_hi**2)
    return p50 * np.exp(-lo), p50, np.where(positive, p50 * np.exp(hi), t90 * shares.p90)


def prior_shares(park: Park) -> dict[str, dict[str, ShareBand]]:
    """Per track, each form's share band as the park YAML sets it (the prior)."""
    return {t: {f: form.share for f, form in track_forms(park, t).items()} for t in park.tracks}
