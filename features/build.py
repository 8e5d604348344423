"""Feature matrices from validated tables and the chain graph — the same code for training,
serving and batch scoring.

``FeatureContext`` holds what does not change between calls for one park and universe (the gap
analysis, per-track gap values and synergy, city coordinates); ``firm_features`` turns rows of
``enterprises`` into the matrix of ``features.spec``. Time-dependent features (firm age,
funding recency) are computed at ``as_of``, which may differ per row (the contact date of a
past outreach), so a model never sees a funding round that happened after the contact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.landing import assume_forms
from data.reference import (
    Chain,
    Park,
    chains_of,
    load_industries,
    load_regions,
    track_error,
)
from features.similarity import FirmVectors, centroid_similarity, firm_vectors
from features.spec import FEATURE_NAMES
from industry_graph.gaps import ParkContext, gap_values, park_context, track_chains

YANGTZE_DELTA = frozenset({"上海市", "江苏省", "浙江省", "安徽省"})


@dataclass(frozen=True)
class FeatureContext:
    """Per-park inputs of the feature builders, computed once per universe."""

    park: Park
    gaps: ParkContext
    by_track: Mapping[str, pd.DataFrame]  # track -> enterprise_id-indexed gap_value, synergy, ...
    in_target: Mapping[str, pd.Series]  # track -> share of a firm's links in the track's chains
    n_links: pd.Series
    park_members: frozenset[str]
    # median tax / revenue by industry code prefix, from the universe's own tax records
    industry_rates: Mapping[str, float] = field(default_factory=dict)
    # each firm's resemblance to the park's roster (features.similarity), by enterprise id
    roster_fit: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    vectors: FirmVectors | None = None  # the lookalike vectors the roster fit comes from

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the per-track arrays ``aligned`` keeps (made again on demand)."""
        return {k: v for k, v in self.__dict__.items() if k != "_aligned"}

    def aligned(self, track: str) -> tuple[pd.Index, np.ndarray] | None:
        """The per-firm values of ``track`` on one index (the roster fit's: every firm of the
        universe), columns roster fit, gap value, synergy, links, share in the track's chains
        — so a large batch of firms looks its ids up once, not once per value. Made on first
        use and kept; ``None`` when the roster fit holds no unique index of firms."""
        held: dict[str, tuple[pd.Index, np.ndarray] | None] = self.__dict__.setdefault(
            "_aligned", {}
        )
        if track not in held:
            index = self.roster_fit.index
            if not len(index) or not index.is_unique:
                held[track] = None
            else:
                chain = self.by_track[track]
                held[track] = (
                    index,
                    np.column_stack(
                        [
                            self.roster_fit.to_numpy(dtype=float),
                            chain["gap_value"].reindex(index, fill_value=0.0).to_numpy(float),
                            chain["synergy"].reindex(index, fill_value=0.0).to_numpy(float),
                            self.n_links.reindex(index, fill_value=0).to_numpy(float),
                            self.in_target[track].reindex(index, fill_value=0.0).to_numpy(float),
                        ]
                    ),
                )
        return held[track]


def track_index(park: Park, track: str) -> int:
    """A track's place in the park YAML: the ``track_index`` feature that tells the models
    which track a row is scored for."""
    error = track_error(park, track)
    if error is not None:
        raise KeyError(error)
    return list(park.tracks).index(track)


# from this many firms, firm_features looks the per-firm values up on one aligned index
ALIGNED_FROM: Final = 20_000
INDUSTRY_PREFIXES: Final = (6, 4, 3, 2)  # Shenwan L3 / L2 …, GB/T class / group / division
MIN_INDUSTRY_FIRM_YEARS: Final = 5


def industry_rates(
    tax_records: pd.DataFrame, enterprises: pd.DataFrame, *, until_year: int | None = None
) -> dict[str, float]:
    """Median tax / revenue of each industry code prefix (``INDUSTRY_PREFIXES`` characters,
    keyed ``scheme:prefix``) over
    the firm-years up to ``until_year`` with revenue > 0 and 0 < tax < revenue, where at least
    ``MIN_INDUSTRY_FIRM_YEARS`` firm-years give it."""
    tax = tax_records.dropna(subset=[C.TAX_PAID, C.REVENUE])
    if until_year is not None:
        tax = tax[tax[C.YEAR] <= until_year]
    tax = tax[(tax[C.REVENUE] > 0) & (tax[C.TAX_PAID] > 0) & (tax[C.TAX_PAID] < tax[C.REVENUE])]
    firms = enterprises.set_index(enterprises[C.ENTERPRISE_ID].astype(object).to_numpy())
    ids = tax[C.ENTERPRISE_ID].astype(object)
    code = ids.map(firms[C.INDUSTRY_CODE].astype(object)).astype("string").reset_index(drop=True)
    scheme = (
        ids.map(firms[C.INDUSTRY_SCHEME].astype(object)).astype("string").reset_index(drop=True)
    )
    rate = pd.Series((tax[C.TAX_PAID] / tax[C.REVENUE]).to_numpy())
    out: dict[str, float] = {}
    for n in INDUSTRY_PREFIXES:
        ok = (code.str.len() >= n).fillna(False).to_numpy(dtype=bool)
        keys = (scheme[ok] + ":" + code[ok].str[:n]).to_numpy(dtype=object)
        stats = rate[ok].groupby(keys).agg(["median", "size"])
        enough = stats[stats["size"] >= MIN_INDUSTRY_FIRM_YEARS]["median"]
        for key, value in zip(enough.index, enough.to_numpy(), strict=True):
            out.setdefault(str(key), float(value))
    return out


def feature_context(
    *,
    park: Park,
    chains: Mapping[str, Chain],
    tables: Mapping[str, pd.DataFrame],
    rates_until: int | None = None,
    keep_vectors: bool = False,
    vectors: FirmVectors | None = None,
) -> FeatureContext:
    """Gap analysis, gap values and synergy per track, for every firm with chain links; the
    industries' tax rates from the tax records up to ``rates_until`` (default: all); each firm's
    roster fit from the lookalike vectors of ``tables`` (its products and scope text must be
    there: the same tables give the same fit in training, serving and batch scoring), the
    vectors themselves kept only with ``keep_vectors`` (hundreds of MB at a million firms).
    ``vectors`` given are used instead (the server builds them from the free text it then drops)."""
    links = tables["enterprise_links"]
    gaps = park_context(
        park=park,
        chains=chains,
        enterprises=tables["enterprises"],
        enterprise_links=links,
        park_roster=tables["park_roster"],
    )
    by_track, in_target = {}, {}
    for track in park.tracks:
        ids = [c for c in track_chains(park, track) if c in chains]
        by_track[track] = gap_values(gaps, links, chain_ids=ids).set_index(C.ENTERPRISE_ID)
        in_chain = chains_of(links[C.LINK_ID]).isin(ids).to_numpy()
        in_target[track] = (
            pd.Series(links[C.SHARE].to_numpy() * in_chain)
            .groupby(links[C.ENTERPRISE_ID].to_numpy())
            .sum()
        )
    roster = tables["park_roster"]
    members = frozenset(roster.loc[roster[C.PARK_ID] == park.id, C.ENTERPRISE_ID])
    vectors = vectors if vectors is not None else firm_vectors(tables)
    return FeatureContext(
        park=park,
        gaps=gaps,
        by_track=by_track,
        in_target=in_target,
        n_links=links.groupby(C.ENTERPRISE_ID).size(),
        park_members=members,
        roster_fit=roster_fit(vectors, members),
        vectors=vectors if keep_vectors else None,
        industry_rates=industry_rates(
            tables["tax_records"], tables["enterprises"], until_year=rates_until
        )
        if "tax_records" in tables
        else {},
    )


def roster_fit(vectors: FirmVectors, members: Iterable[str]) -> pd.Series:
    """Every firm's cosine to the centre of the park's members (``features.similarity``): how
    much it resembles the firms that chose the park, in what they make and do, never where. A
    member is compared with the centre of the *other* members: a firm that signed and joined
    the roster must not look like the roster because it is in it."""
    rows = vectors.ids.get_indexer(pd.Index(sorted(members)))
    rows = rows[rows >= 0]
    fit = centroid_similarity(vectors, rows)
    if len(rows) > 1:  # v·(S − v) / ‖S − v‖ with S the members' sum, all from dot products
        own = vectors.matrix[rows]
        total = np.asarray(own.sum(axis=0)).ravel()
        with_total = np.asarray(own @ total).ravel()
        own_sq = np.asarray(own.multiply(own).sum(axis=1)).ravel()
        norms = np.sqrt(np.maximum(total @ total - 2 * with_total + own_sq, 0.0))
        dots = with_total - own_sq
        fit[rows] = np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)
    return pd.Series(fit, index=vectors.ids)


@lru_cache(maxsize=1)
def _coordinates() -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    provinces, _ = load_regions()
    cities = {c.name: (c.lat, c.lon) for p in provinces for c in p.cities}
    capitals = {p.name: (p.cities[0].lat, p.cities[0].lon) for p in provinces if p.cities}
    return cities, capitals


def industry_tax_rate(
    codes: pd.Series, schemes: pd.Series, learned: Mapping[str, float]
) -> np.ndarray:
    """Each firm's industry tax rate: the most specific code prefix of its scheme the universe's
    tax records give (``industry_rates``), else the reference rate of the code
    (industries.yaml). Worked out once per distinct (scheme, code) pair (firms share a few
    thousand)."""
    if not len(codes):
        return np.full(0, np.nan)
    # each column factorized (missing values as a value of their own), then the pairs
    code_at, code_of = pd.factorize(codes.astype("string"), use_na_sentinel=False)
    scheme_at, scheme_of = pd.factorize(schemes.astype("string"), use_na_sentinel=False)
    pair, which = np.unique(
        scheme_at.astype(np.int64) * len(code_of) + code_at, return_inverse=True
    )
    rates = _distinct_tax_rates(
        pd.Series(np.asarray(code_of, dtype=object)[pair % len(code_of)], dtype="string"),
        pd.Series(np.asarray(scheme_of, dtype=object)[pair // len(code_of)], dtype="string"),
        learned,
    )
    return np.asarray(rates[which.ravel()], dtype=float)


def _distinct_tax_rates(
    text: pd.Series, scheme: pd.Series, learned: Mapping[str, float]
) -> np.ndarray:
    """``industry_tax_rate`` of each (scheme, code) pair given (code ``text``, ``scheme``)."""
    out = np.full(len(text), np.nan)
    for n in INDUSTRY_PREFIXES:
        if not learned:
            break
        todo = np.isnan(out)
        if not todo.any():
            break
        hit = (scheme + ":" + text.str[:n]).where(text.str.len() >= n).map(learned)
        out[todo] = pd.to_numeric(hit, errors="coerce").to_numpy(dtype=float)[todo]
    todo = np.isnan(out)
    out[todo] = pd.to_numeric(text.map(_industry_tax_rates()), errors="coerce").to_numpy(
        dtype=float
    )[todo]
    return out


@lru_cache(maxsize=1)
def _industry_tax_rates() -> dict[str, float]:
    return {
        code: ind.tax_rate
        for (_, code), ind in load_industries().items()
        if ind.tax_rate is not None
    }


def by_key(keys: pd.Series, mapping: Mapping[str, float], default: float = np.nan) -> np.ndarray:
    """``mapping[key]`` for every row, looked up once per distinct key (keys repeat a lot)."""
    codes, uniques = pd.factorize(keys)
    if not len(uniques):  # every key missing
        return np.full(len(keys), default, dtype=float)
    table = np.array([mapping.get(u, default) for u in uniques], dtype=float)
    return np.where(codes >= 0, table[np.maximum(codes, 0)], default)


def by_id(ids: pd.Series, values: pd.DataFrame | pd.Series, default: float = np.nan) -> np.ndarray:
    """Rows of ``values`` (indexed by enterprise id) aligned to ``ids``, with one index lookup."""
    positions = values.index.get_indexer(pd.Index(ids))
    data = values.to_numpy(dtype=float)
    picked = (
        data[np.maximum(positions, 0)]
        if len(data)
        else np.full((len(ids), *data.shape[1:]), default)
    )
    missing = positions < 0
    if picked.ndim == 2:
        picked[missing, :] = default
    else:
        picked = np.where(missing, default, picked)
    return np.asarray(picked, dtype=float)


def _distance_km(frame: pd.DataFrame, lat0: float, lon0: float) -> np.ndarray:
    cities, capitals = _coordinates()
    lat = by_key(frame[C.CITY], {k: v[0] for k, v in cities.items()})
    lon = by_key(frame[C.CITY], {k: v[1] for k, v in cities.items()})
    missing = np.isnan(lat)
    if missing.any():  # an unknown city: the province's capital
        plat = by_key(frame[C.PROVINCE], {k: v[0] for k, v in capitals.items()})
        plon = by_key(frame[C.PROVINCE], {k: v[1] for k, v in capitals.items()})
        lat, lon = np.where(missing, plat, lat), np.where(missing, plon, lon)
    p1, p2 = np.radians(lat), np.radians(lat0)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon0 - lon) / 2) ** 2
    )
    return np.asarray(2 * 6371.0 * np.arcsin(np.sqrt(a)))


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    """An optional column of the contract, all missing where the table does not carry it."""
    if column in frame:
        return frame[column].astype(object)
    return pd.Series(None, index=frame.index, dtype=object)


def _flag(series: pd.Series, value: object) -> np.ndarray:
    return (series == value).fillna(False).to_numpy(dtype=float)


def latest_tax_history(tax_records: pd.DataFrame) -> pd.DataFrame | None:
    """Each firm's tax record of its own latest year with tax paid (``None`` without records):
    a park firm the tax bureau reported for 2025 and a candidate known up to 2020 each have
    their newest figure."""
    tax = tax_records.dropna(subset=[C.TAX_PAID])
    if not len(tax):
        return None
    latest = tax.sort_values(C.YEAR, kind="stable").drop_duplicates(C.ENTERPRISE_ID, keep="last")
    return latest.set_index(C.ENTERPRISE_ID)[[C.REVENUE, C.TAX_PAID]]


def tax_history(tax_records: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each firm's tax record of ``year`` (the history a prediction for ``year + 1`` may use)."""
    rows = tax_records[tax_records[C.YEAR] == year]
    return rows.drop_duplicates(C.ENTERPRISE_ID).set_index(C.ENTERPRISE_ID)[[C.REVENUE, C.TAX_PAID]]


def firm_features(
    fc: FeatureContext,
    enterprises: pd.DataFrame,
    *,
    track: str,
    as_of: pd.Timestamp | pd.Series,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The feature matrix (columns ``FEATURE_NAMES``, index as ``enterprises``) for ``track``.

    ``history`` is a ``tax_history`` frame; firms absent from it get no tax-history features.
    """
    e = enterprises
    ids = e[C.ENTERPRISE_ID]
    as_of_values = (
        as_of.to_numpy() if isinstance(as_of, pd.Series) else np.full(len(e), np.datetime64(as_of))
    )
    as_of_ts = pd.to_datetime(pd.Series(as_of_values, index=e.index))
    founded = pd.to_datetime(e[C.FOUNDED_ON])
    funding = pd.to_datetime(e[C.LAST_FUNDING_ON])
    funded_before = funding.notna() & (funding <= as_of_ts)
    years_since = (as_of_ts - funding).dt.days / 365.25
    revenue = pd.to_numeric(e[C.REVENUE], errors="coerce")
    loc = fc.park.location
    by_track = fc.by_track[track]
    out = pd.DataFrame(index=e.index)
    out["log_revenue"] = np.log1p(revenue.clip(lower=0))
    out["revenue_growth"] = pd.to_numeric(e[C.REVENUE_GROWTH], errors="coerce").clip(-1, 5)
    out["net_margin"] = pd.to_numeric(e[C.NET_MARGIN], errors="coerce").clip(-2, 1)
    out["log_employees"] = np.log1p(pd.to_numeric(e[C.EMPLOYEES], errors="coerce").astype(float))
    out["log_capital"] = np.log1p(
        pd.to_numeric(e[C.REGISTERED_CAPITAL], errors="coerce").clip(lower=0)
    )
    out["firm_age"] = ((as_of_ts - founded).dt.days / 365.25).clip(lower=0)
    out["log_patents"] = np.log1p(pd.to_numeric(e[C.PATENTS], errors="coerce").astype(float))
    out["is_listed"] = e[C.IS_LISTED].astype("boolean").astype(float)
    out["is_high_tech"] = e[C.IS_HIGH_TECH].astype("boolean").astype(float)
    for name, value in (
        ("own_central_soe", "central_soe"),
        ("own_local_soe", "local_soe"),
        ("own_foreign", "foreign"),
        ("own_joint_venture", "joint_venture"),
    ):
        out[name] = _flag(e[C.OWNERSHIP], value)
    for name, value in (
        ("hq_mnc", "mnc_regional_hq"),
        ("hq_national", "national_hq"),
        ("hq_regional", "regional_hq"),
    ):
        out[name] = _flag(e[C.HQ_TYPE], value)
    out["funding_recency"] = np.where(
        funded_before, np.exp(-years_since.fillna(0).clip(lower=0) / 1.5), 0.0
    )
    out["distance_km"] = _distance_km(e, loc.lat, loc.lon)
    out["same_province"] = _flag(e[C.PROVINCE], loc.province)
    out["yangtze_delta"] = e[C.PROVINCE].isin(YANGTZE_DELTA).to_numpy(dtype=float)
    office_city = _column(e, C.OFFICE_CITY)
    out["office_in_park_city"] = (
        (office_city == loc.city) & (e[C.CITY].astype(object) != loc.city)
    ).to_numpy(dtype=float)
    out["office_moved"] = (
        _column(e, C.OFFICE_CITY_CHANGED).astype("boolean").astype(float).to_numpy()
    )
    for name, column in (
        ("employee_growth", C.EMPLOYEE_GROWTH),
        ("rd_staff_growth", C.RD_STAFF_GROWTH),
    ):
        out[name] = (
            pd.to_numeric(_column(e, column), errors="coerce").clip(-1, 5).to_numpy(dtype=float)
        )
    out["industry_tax_rate"] = industry_tax_rate(
        e[C.INDUSTRY_CODE], e[C.INDUSTRY_SCHEME], fc.industry_rates
    )
    aligned = fc.aligned(track) if len(ids) >= ALIGNED_FROM else None
    if aligned is not None:  # one lookup of the ids for every per-firm value
        index, values = aligned
        at = index.get_indexer(pd.Index(ids))
        known = (at >= 0)[:, None]
        picked = np.where(known, values[np.maximum(at, 0)], [np.nan, 0.0, 0.0, 0.0, 0.0])
        out["roster_fit"] = picked[:, 0]
        out["gap_value"], out["synergy"] = picked[:, 1], picked[:, 2]
        out["n_links"] = picked[:, 3]
        out["in_target_chain"] = np.clip(picked[:, 4], 0, 1)
    else:
        out["roster_fit"] = by_id(ids, fc.roster_fit, default=np.nan)
        chain = by_id(ids, by_track[["gap_value", "synergy"]], default=0.0)
        out["gap_value"], out["synergy"] = chain[:, 0], chain[:, 1]
        out["n_links"] = by_id(ids, fc.n_links, default=0.0)
        out["in_target_chain"] = np.clip(by_id(ids, fc.in_target[track], default=0.0), 0, 1)
    if history is not None and len(history):
        past = by_id(ids, history[[C.TAX_PAID, C.REVENUE]])
        last_tax, last_rev = past[:, 0], past[:, 1]
        out["log_last_tax"] = np.log1p(np.clip(last_tax, 0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            out["last_tax_rate"] = np.clip(
                np.where(last_rev > 0, last_tax / last_rev, np.nan), 0, 1
            )
        out["has_tax_history"] = (~np.isnan(last_tax)).astype(float)
    else:
        out["log_last_tax"] = np.nan
        out["last_tax_rate"] = np.nan
        out["has_tax_history"] = 0.0
    out["track_index"] = float(track_index(fc.park, track))
    forms = assume_forms(e, fc.park, track)
    out["landing_form"] = forms.index.astype(float)
    out["site_bound"] = forms.site_bound.astype(float)
    return out[list(FEATURE_NAMES)].astype("float64")
