"""A track's scored leads held in memory for the API: filters with numpy, reasons on demand,
cached (``LeadTable``); the lead list's filters (``LeadFilters``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from api.serving.snapshot import LeadFrames
from data import columns as C
from data.reference import chains_of
from data.regions import normalise_province
from features.build import FeatureContext
from models.leads import ChainReasoner, score_tables
from models.scorer import FORM_FIELDS, SCORE_FIELDS, LeadScorer, score_value


@dataclass(frozen=True)
class LeadFilters:
    """Filters of a lead list (all optional)."""

    chain: str | None = None
    link: str | None = None
    province: str | None = None
    city: str | None = None
    min_tax: float | None = None
    min_probability: float | None = None
    exclude_contacted: bool = False
    q: str | None = None
    include: tuple[str, ...] = ()  # groups not offered by default that the list brings back


class LeadTable:
    """A track's scored candidates, held in memory and filtered with numpy (no scoring per request).

    Rows are in rank order (score descending, ties by enterprise id). Filters use precomputed
    arrays: integer codes for province and city, one boolean mask per chain and link (built on
    first use), so a filtered page costs well under a millisecond of numpy. Reasons are
    precomputed for the first ``precompute`` rows and computed on demand, then cached.
    """

    def __init__(
        self,
        *,
        scorer: LeadScorer,
        fc: FeatureContext,
        tables: Mapping[str, pd.DataFrame],
        track: str,
        as_of: pd.Timestamp,
        model_version: str,
        snapshot_id: str,
        precompute: int = 1_000,
        contacted_history: frozenset[str] = frozenset(),
        frames: LeadFrames | None = None,
    ) -> None:
        """Score the track's candidates, or take ``frames`` scored before (a mapped snapshot)."""
        self.track = track
        self.model_version = model_version
        self.snapshot_id = snapshot_id
        self.p_land_source = scorer.p_land_source
        self._scorer = scorer
        self._fc = fc
        self._links_table = tables["enterprise_links"]
        if frames is None:
            cands = score_tables(scorer=scorer, fc=fc, tables=tables, track=track, as_of=as_of)
            frame = pd.concat(
                [
                    cands.firms[[C.ENTERPRISE_ID, C.NAME, C.PROVINCE, C.CITY, C.INDUSTRY_CODE]],
                    cands.scores,
                ],
                axis=1,
            ).reset_index(drop=True)
            # only explains (reasons); scores were computed in float64
            frames = LeadFrames(frame=frame, features=cands.features.astype("float32"))
        frame = frames.frame
        self.frames = frames  # what a snapshot writes (``api.serving.snapshot``)
        self.features = frames.features
        self.ids = frame[C.ENTERPRISE_ID].to_numpy(dtype=object)
        self.index = pd.Index(self.ids)  # enterprise id -> row, without a Python dict per row
        self._province, self._province_codes = _codes(frame[C.PROVINCE])
        self._city, self._city_codes = _codes(frame[C.CITY])
        self._tax = frame["tax_p50_wan_cny"].to_numpy()
        self._p = frame["p_land"].to_numpy()
        # the links of the track's candidates: one hash lookup per link row, no isin over
        # strings; chains from the distinct link ids, not from splitting every row's id
        every = self.index.get_indexer(self._links_table[C.ENTERPRISE_ID])
        links = self._links_table.iloc[np.flatnonzero(every >= 0)]
        rows = every[every >= 0]
        link_codes, link_ids = pd.factorize(links[C.LINK_ID])
        self._rows_by_link = {
            str(k): rows[link_codes == i] for i, k in enumerate(link_ids) if isinstance(k, str)
        }
        chain_of_code = chains_of(pd.Series(link_ids, dtype=object)).to_numpy(dtype=object)
        link_chains = chain_of_code[link_codes] if len(link_ids) else np.empty(0, dtype=object)
        self._rows_by_chain = {
            str(k): rows[link_chains == k] for k in pd.unique(chain_of_code) if isinstance(k, str)
        }
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._chain = ChainReasoner(fc, links, track)
        # numbers as numpy views (of the mapped snapshot); text as the frame's Arrow arrays: a
        # page reads 50 of them, and a million Python strings per column and worker would be
        # hundreds of MB that the workers cannot share
        self._columns: dict[str, Any] = {
            c: frame[c].array if isinstance(frame[c].dtype, pd.StringDtype) else frame[c].to_numpy()
            for c in frame.columns
        }
        self.provinces = sorted(str(p) for p in frame[C.PROVINCE].dropna().unique())
        self._names_lower: np.ndarray | None = None
        history_rows = self.index.get_indexer(list(contacted_history))
        self._contacted_history = history_rows[history_rows >= 0]  # rows of imported outreach
        self._contacted: tuple[Sequence[str], int, np.ndarray] = ((), 0, np.empty(0, np.int64))
        self._contacted_lock = threading.Lock()
        self._reasons: dict[int, tuple[list[dict[str, str]], list[dict[str, str]]]] = {}
        self._fill_reasons(np.arange(min(precompute, len(self.ids))))

    def __len__(self) -> int:
        return len(self.ids)

    def position_of(self, enterprise_id: str) -> int | None:
        """The row (0-based rank) of a firm, or ``None`` when it is not a candidate of the track."""
        return unique_position(self.index, enterprise_id)

    def _fill_reasons(self, rows: np.ndarray) -> None:
        todo = np.array([r for r in rows if r not in self._reasons], dtype=np.int64)
        if not len(todo):
            return
        held = pd.DataFrame({k: self._columns[k][todo] for k in FORM_FIELDS})
        factors = self._scorer.explain(self._feature_rows(todo), scores=held)
        for r, f in zip(todo, factors, strict=True):
            self._reasons[int(r)] = (self._chain(self.ids[r]), f)

    def _feature_rows(self, rows: np.ndarray) -> pd.DataFrame:
        """Rows of the features as one block: a take of the mapped frame keeps one block per
        column, and each column selection of the explainer would then take every block."""
        features = self.features
        values = np.column_stack([features[c].to_numpy()[rows] for c in features.columns])
        return pd.DataFrame(values, index=features.index[rows], columns=features.columns)

    def missing_reasons(self, positions: np.ndarray) -> bool:
        """Whether some of these rows still need their reasons computed (≈ 1.6 ms a row)."""
        return any(int(p) not in self._reasons for p in positions)

    def warm(self, *, per_filter: int = 50) -> None:
        """Compute the reasons of the first page of every chain, link and province filter."""
        keys = [("chain", k) for k in self._rows_by_chain] + [
            ("link", k) for k in self._rows_by_link
        ]
        for kind, key in keys:
            self._fill_reasons(np.flatnonzero(self._mask_of(kind, key))[:per_filter])
        for code in range(len(self._province_codes)):
            self._fill_reasons(np.flatnonzero(self._province == code)[:per_filter])

    def _mask_of(self, kind: str, key: str) -> np.ndarray:
        cached = self._masks.get((kind, key))
        if cached is None:
            rows = (self._rows_by_chain if kind == "chain" else self._rows_by_link).get(
                key, np.empty(0, np.int64)
            )
            cached = np.zeros(len(self.ids), dtype=bool)
            cached[rows] = True
            self._masks[(kind, key)] = cached
        return cached

    def _contacted_rows(self, contacted: Sequence[str]) -> np.ndarray:
        """Rows of the firms in ``contacted``, an append-only list: only the ids added since
        the last call with the same list are looked up."""
        with self._contacted_lock:
            seen, done, rows = self._contacted
            if seen is not contacted:
                done, rows = 0, np.empty(0, dtype=np.int64)
            n = len(contacted)
            if n > done:
                hit = self.index.get_indexer(list(contacted[done:n]))
                rows = np.concatenate([rows, hit[hit >= 0]])
                self._contacted = (contacted, n, rows)
            return rows

    def mask(
        self,
        filters: LeadFilters,
        contacted: Sequence[str] = (),
        offered: np.ndarray | None = None,
    ) -> np.ndarray:
        """Row positions (rank order) that pass the filters (``keep``)."""
        return np.flatnonzero(self.keep(filters, contacted, offered))

    def keep(
        self,
        filters: LeadFilters,
        contacted: Sequence[str] = (),
        offered: np.ndarray | None = None,
    ) -> np.ndarray:
        """A row mask of the rows that pass the filters; ``exclude_contacted`` drops the
        firms of the imported outreach history and those in ``contacted``; ``offered`` (a row
        mask, ``api.serving.offered``) drops the firms the park can no longer win."""
        keep = np.ones(len(self.ids), dtype=bool) if offered is None else offered.copy()
        if filters.chain is not None:
            keep &= self._mask_of("chain", filters.chain)
        if filters.link is not None:
            keep &= self._mask_of("link", filters.link)
        if filters.province is not None:
            name = normalise_province(filters.province) or filters.province.strip()
            keep &= self._province == self._province_codes.get(name, -2)
        if filters.city is not None:
            city = filters.city.strip()  # 苏州 finds 苏州市, as the importer writes it
            code = self._city_codes.get(city, self._city_codes.get(f"{city}市", -2))
            keep &= self._city == code
        if filters.min_tax is not None:
            keep &= self._tax >= filters.min_tax
        if filters.min_probability is not None:
            keep &= self._p >= filters.min_probability
        if filters.exclude_contacted:
            keep[self._contacted_history] = False
            if contacted:
                keep[self._contacted_rows(contacted)] = False
        if filters.q:
            if self._names_lower is None:
                self._names_lower = np.array(
                    [str(n).lower() for n in self._columns[C.NAME]], dtype=object
                )
            needle = filters.q.strip().lower()
            keep &= np.fromiter(
                (needle in n for n in self._names_lower), dtype=bool, count=len(self._names_lower)
            )
        return keep

    def column(self, name: str) -> np.ndarray | None:
        """One column of the table in rank order (``None`` when the table has no such column)."""
        values = self._columns.get(name)
        if values is None or isinstance(values, np.ndarray):
            return values
        return np.asarray(values.to_numpy(dtype=object, na_value=None), dtype=object)

    def scores_at(self, position: int) -> dict[str, float | str]:
        """The scores of one row, without reasons (cheap)."""
        return {k: score_value(k, self._columns[k][position]) for k in SCORE_FIELDS}

    def name_at(self, position: int) -> str:
        """The firm name of one row."""
        return str(self._columns[C.NAME][position])

    def rows(self, positions: np.ndarray) -> list[dict[str, object]]:
        """Lead records of the given row positions, reasons included."""
        self._fill_reasons(positions)
        at = np.asarray(positions, dtype=np.int64)
        names = (C.ENTERPRISE_ID, C.NAME, C.PROVINCE, C.CITY, C.INDUSTRY_CODE, *SCORE_FIELDS)
        # each column read once for the page (a lookup per value in an Arrow array is slow)
        values = {c: _values_at(self._columns[c], at) for c in names}
        out: list[dict[str, object]] = []
        for j, pos in enumerate(at.tolist()):
            chain, factors = self._reasons[pos]
            eid = values[C.ENTERPRISE_ID][j]
            out.append(
                {
                    C.ENTERPRISE_ID: eid,
                    C.NAME: values[C.NAME][j],
                    C.PROVINCE: _text(values[C.PROVINCE][j]),
                    C.CITY: _text(values[C.CITY][j]),
                    C.INDUSTRY_CODE: _text(values[C.INDUSTRY_CODE][j]),
                    "links": [lid for lid, _, _ in self._chain.links_of(eid)],
                    **{k: score_value(k, values[k][j]) for k in SCORE_FIELDS},
                    "reasons": [*chain, *factors],
                    "overall_rank": pos + 1,
                }
            )
        return out


def unique_position(index: pd.Index, key: str) -> int | None:
    """The position of ``key`` in an index of unique values (a hash lookup), or ``None``."""
    try:
        pos = index.get_loc(key)
    except KeyError:
        return None
    return pos if isinstance(pos, int) else None


def _values_at(column: Any, positions: np.ndarray) -> list[Any]:
    """Python values of a column (a numpy array or the frame's Arrow text array) at positions;
    a missing text is None."""
    if isinstance(column, np.ndarray):
        return list(column[positions].tolist())
    return list(column.__arrow_array__().take(positions).to_pylist())


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _codes(values: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    codes, uniques = pd.factorize(values)
    return codes, {str(u): i for i, u in enumerate(uniques)}
