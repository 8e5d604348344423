"""P(land | stage, days in stage): how likely a pipeline lead is to land, learned from the
pipeline's own moves, leaning on the park YAML's prior where the moves are few.

**Input.** The audit trail's stage rows (``STAGE_EVENT_COLUMNS``: ``lead_id``, ``track``,
``at``, ``from_stage``, ``to_stage``; stage names from ``data.pipeline``) and the day it was
read (``as_of``; a date means the end of that day). A row without ``from_stage`` is the lead's
creation: its entry to ``to_stage`` (``new`` for a lead created by hand, the outcome's stage for
one an outreach record created). A row whose ``from_stage`` equals its ``to_stage`` (an outreach
record that left the lead where it was) is no move and is skipped. Every lead has one creation
row, first, and each move starts where the previous one ended; a trail that does not is refused
with the lead and the row named.

**Episodes and fates.** A lead's rows in time order make its episodes: it entered stage s at one
row and left at the next (or is still there at ``as_of``). Its fate: *landed* when it first
entered a landed stage (``LANDED_STAGES``); *lost* when it is lost at ``as_of`` (a lost lead
that was reopened is not lost), at its last move; otherwise *open* — censored at ``as_of``:
an open lead at ``signed`` for 10 days is not a failure, only a lead whose fate is not known yet.

**Cells.** For each open stage s and age band b = [L_b, L_{b+1}) of days in the stage (the
YAML's ``age_bands_days``; the first band starts at 0, the last is open-ended): the cohort is
every episode of s that lasted at least L_b days (an episode still running counts up to
``as_of``), its clock starting L_b days after the entry. A lead that has been d days in s is
given the cell of the band holding d — the leads that were still in s after L_b days.

**Estimate.** Per cell, the Aalen–Johansen estimator (Kaplan–Meier with two competing
outcomes): at each time t with n(t) episodes at risk, d₁ landings and d₂ losses,
F₁ += S(t⁻)·d₁/n, F₂ += S(t⁻)·d₂/n, S(t) = S(t⁻)·(1 − (d₁+d₂)/n); a censored episode leaves the
risk set without an outcome. p̂ = F₁ / (F₁ + F₂): the share that landed among leads whose fate is
known, each outcome weighted up for the censored leads that were still at risk before it (the
leads open at the end are taken to split as the late-resolving ones did). n = the number of
known fates in the cell.

**Shrinkage.** p = (n·p̂ + k·π) / (n + k), k = ``pseudo_leads`` (YAML), π the cell's prior: for the
first band of stage s the YAML's prior of s; for a later band, stage s's first-band value (the
stage over all its leads); for one track's cell, the pooled cell (all tracks) of the same stage
and band. With no fate known in a cell, p = π; with no events at all, every cell is the YAML's
prior exactly. Landed and paying leads have landed: 1. A lost lead: 0 (reopening makes it
contacted again).

**Entry P(land) and the stage.** A lead carries the model's P(land) from when it entered the
pipeline (``entry``: the landing model's probability that the approached firm signs, with the
firm's own features). Every landing passes through ``signed``, so P(land | s, d) =
P(reach signed | s, d) × q with q = p(signed, first band), the share of signed leads that land.
The entry speaks of the firm reaching a signature; the stage tells how far it got. They combine
in the odds of reaching ``signed``, the stage as a likelihood ratio against the average new lead
(assumed the same for every firm — Bayes with the stage as evidence):

    r(s, d) = p(s, d) / q          (the average lead at s, d reaching signed)
    P = q · σ( logit r(s, d) + logit(entry / q) − logit r(new, 0) )     for s before signed
    P = p(signed, d)                                                      at signed

so a ``new`` lead in its first band keeps its entry P(land) exactly (capped at q: no lead short
of a signature is likelier to land than a signed one), a lead further along gains the stage's
odds, and a signed lead gets the signed cell whatever its entry (the model's question — will it
sign? — is answered). Without an entry (a lead created before any model) P = p(s, d).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from data.pipeline import LANDED_STAGES, LOST, NEW, OPEN_STAGES, SIGNED, STAGES
from data.reference import Park, StageProbabilities

STAGE_EVENT_COLUMNS: Final = ("lead_id", "track", "at", "from_stage", "to_stage")
ALL_TRACKS: Final = "*"  # the pooled cells' track (a track id is lower-case letters)
TABLE_COLUMNS: Final = (
    "track",
    "stage",
    "band",
    "days_from",
    "days_to",
    "episodes",
    "landed",
    "lost",
    "censored",
    "p_raw",
    "prior",
    "p_land",
)
_EPS: Final = 1e-6
_DAY: Final = pd.Timedelta(days=1)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=float)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def _as_of(as_of: date | datetime | pd.Timestamp) -> pd.Timestamp:
    """``as_of`` as a UTC timestamp; a date is the end of that day."""
    if isinstance(as_of, pd.Timestamp | datetime):
        stamp = pd.Timestamp(as_of)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if isinstance(as_of, date):
        return pd.Timestamp(as_of).tz_localize("UTC") + _DAY
    raise ValueError(f"as_of: a date or a timestamp (got {as_of!r})")


def check_stage_events(events: pd.DataFrame) -> pd.DataFrame:
    """The events with ``at`` as UTC timestamps, or a ``ValueError`` naming the column, the row
    and the reason (a missing column, an unknown stage, an unreadable time, an empty id)."""
    missing = [c for c in STAGE_EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(
            f"stage_events: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(STAGE_EVENT_COLUMNS)})"
        )
    out = events[list(STAGE_EVENT_COLUMNS)].reset_index(drop=True)
    for column in ("lead_id", "track", "to_stage"):
        empty = out[column].isna().to_numpy()
        if empty.any():
            raise ValueError(f"stage_events.{column}: empty in row {int(np.argmax(empty))}")
    for column in ("from_stage", "to_stage"):
        given = out[column].dropna()
        bad = given[~given.isin(STAGES)]
        if len(bad):
            raise ValueError(
                f"stage_events.{column}: {bad.iloc[0]!r} (row {bad.index[0]}) is not a pipeline "
                f"stage ({', '.join(STAGES)})"
            )
    at = pd.to_datetime(out["at"], errors="coerce", utc=True)
    bad_at = at.isna().to_numpy()
    if bad_at.any():
        row = int(np.argmax(bad_at))
        raise ValueError(f"stage_events.at: {out['at'].iloc[row]!r} (row {row}) is not a time")
    out["at"] = at
    return out


@dataclass(frozen=True)
class _Episodes:
    """One row per (episode, band) of an open stage: its track, stage, band, the days from
    the cell's clock start to its outcome or censoring, and the outcome (1 landed, 2 lost,
    0 censored)."""

    track: np.ndarray
    stage: np.ndarray
    band: np.ndarray
    days: np.ndarray
    outcome: np.ndarray


def _episodes(events: pd.DataFrame, as_of: pd.Timestamp, bands: Sequence[int]) -> _Episodes:
    """The cells' rows of every lead (module docstring), checking each lead's trail; vectorised
    over the events (a per-lead loop took 8 ms a lead on this machine)."""
    late = events["at"] > as_of
    if late.any():
        row = int(np.argmax(late.to_numpy()))
        raise ValueError(
            f"stage_events.at: {events['at'].iloc[row]} (row {row}) is after as_of {as_of}"
        )
    moves = events[events["from_stage"].isna() | (events["from_stage"] != events["to_stage"])]
    moves = moves.sort_values(["lead_id", "at"], kind="stable")
    lead = pd.factorize(moves["lead_id"])[0]
    frm = moves["from_stage"].to_numpy(dtype=object)
    to = moves["to_stage"].to_numpy(dtype=object)
    source_row = moves.index.to_numpy()
    day = np.timedelta64(1, "D")
    at = moves["at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    end = as_of.tz_convert("UTC").tz_localize(None).to_datetime64()
    first = np.r_[True, lead[1:] != lead[:-1]] if len(lead) else np.zeros(0, dtype=bool)
    last = np.r_[lead[1:] != lead[:-1], True] if len(lead) else np.zeros(0, dtype=bool)
    created = pd.isna(frm)
    if (first & ~created).any():
        i = int(np.argmax(first & ~created))
        raise ValueError(
            f"stage_events: lead {moves['lead_id'].iloc[i]!r} has no creation row first (row "
            f"{source_row[i]} moves it from {frm[i]}); a lead's creation is a row without from_stage"
        )
    if (~first & created).any():
        i = int(np.argmax(~first & created))
        raise ValueError(
            f"stage_events.from_stage: lead {moves['lead_id'].iloc[i]!r} is created twice "
            f"(row {source_row[i]})"
        )
    previous = np.r_[None, to[:-1]] if len(to) else to
    broken = ~first & (frm != previous)
    if broken.any():
        i = int(np.argmax(broken))
        raise ValueError(
            f"stage_events.from_stage: row {source_row[i]} moves lead {moves['lead_id'].iloc[i]!r} "
            f"from {frm[i]}, but it was at {previous[i]}"
        )
    tracks = moves.groupby(lead)["track"].nunique()
    if (tracks > 1).any():
        which = int(np.flatnonzero(tracks.to_numpy() > 1)[0])
        on = moves.loc[lead == which, "track"].unique()
        raise ValueError(
            f"stage_events.track: lead {moves['lead_id'].iloc[np.argmax(lead == which)]!r} is on "
            f"{', '.join(map(str, on))}; a lead is one firm on one track"
        )
    # each lead's fate: its first landing, else its last move if that left it lost
    never = np.datetime64("NaT")
    landing = pd.Series(np.where(np.isin(to, LANDED_STAGES), at, never)).groupby(lead).min()
    landed_at = landing.to_numpy(dtype="datetime64[ns]")[lead]
    final_lost = pd.Series(np.where(last & (to == LOST), at, never)).groupby(lead).max()
    lost_at = final_lost.to_numpy(dtype="datetime64[ns]")[lead]
    left = np.where(last, end, np.r_[at[1:], end] if len(at) else at)
    has_landed = ~np.isnat(landed_at) & (landed_at > at)
    fate = np.where(has_landed, 1, np.where(~np.isnat(lost_at) & np.isnat(landed_at), 2, 0))
    fate_at = np.where(fate == 1, landed_at, np.where(fate == 2, lost_at, end))
    lasted = (left - at) / day
    to_fate = (fate_at - at) / day
    is_open = np.isin(to, OPEN_STAGES)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("track", "stage", "band", "days", "out")}
    track = moves["track"].to_numpy(dtype=object)
    for b, lower in enumerate([0, *bands]):
        rows = is_open & (lasted >= lower)
        parts["track"].append(track[rows])
        parts["stage"].append(to[rows])
        parts["band"].append(np.full(int(rows.sum()), b))
        parts["days"].append(to_fate[rows] - lower)
        parts["out"].append(fate[rows])
    return _Episodes(
        track=np.concatenate(parts["track"]).astype(object),
        stage=np.concatenate(parts["stage"]).astype(object),
        band=np.concatenate(parts["band"]).astype(int),
        days=np.concatenate(parts["days"]).astype(float),
        outcome=np.concatenate(parts["out"]).astype(int),
    )


def aalen_johansen(days: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Cumulative incidence of outcome 1 and of outcome 2 at the last event time (module
    docstring); ``outcome`` 0 is censored. At a time shared by an outcome and a censoring the
    censored episode still counts as at risk."""
    days, outcome = np.asarray(days, dtype=float), np.asarray(outcome, dtype=int)
    survival, first, second = 1.0, 0.0, 0.0
    for t in np.unique(days[outcome > 0]):
        at_risk = int((days >= t).sum())
        d1 = int(((days == t) & (outcome == 1)).sum())
        d2 = int(((days == t) & (outcome == 2)).sum())
        first += survival * d1 / at_risk
        second += survival * d2 / at_risk
        survival *= 1 - (d1 + d2) / at_risk
    return first, second


class StageModel:
    """P(land | stage, days in stage) from the pipeline's moves (module docstring).

    ``prior`` maps each open stage to its prior P(land); ``pseudo_leads`` is what the prior
    counts for; ``age_bands_days`` the days at which the bands after the first start."""

    def __init__(
        self,
        *,
        prior: Mapping[str, float],
        pseudo_leads: float,
        age_bands_days: Sequence[int] = (30, 90, 180, 365),
    ) -> None:
        self.prior = dict(prior)
        self.pseudo_leads = pseudo_leads
        self.age_bands_days = tuple(age_bands_days)

    @classmethod
    def of_park(cls, park: Park) -> StageModel:
        """The estimator with the park YAML's ``stage_probabilities``."""
        config: StageProbabilities | None = park.stage_probabilities
        if config is None:
            raise ValueError(
                f"stage_probabilities: the park YAML of {park.id} has none; P(land) by stage "
                "needs a prior per open stage"
            )
        return cls(
            prior={s: p.p_land for s, p in config.prior.items()},
            pseudo_leads=config.pseudo_leads,
            age_bands_days=config.age_bands_days,
        )

    def _band_labels(self) -> list[tuple[str, int, int | None]]:
        starts = [0, *self.age_bands_days]
        ends: list[int | None] = [*self.age_bands_days, None]
        return [
            (f"{a}-{b}" if b is not None else f"{a}+", a, b)
            for a, b in zip(starts, ends, strict=True)
        ]

    def fit(
        self,
        events: pd.DataFrame | None,
        *,
        as_of: date | datetime | pd.Timestamp,
    ) -> StageModel:
        """Learn the cells from ``events`` read on ``as_of`` (module docstring); ``None`` or an
        empty table leaves every cell at the prior."""
        missing = [s for s in OPEN_STAGES if s not in self.prior]
        if missing:
            raise ValueError(f"prior: no prior P(land) for {', '.join(missing)}")
        if self.pseudo_leads <= 0:
            raise ValueError(f"pseudo_leads: must be positive (got {self.pseudo_leads})")
        stamp = _as_of(as_of)
        frame = check_stage_events(
            events if events is not None else pd.DataFrame(columns=list(STAGE_EVENT_COLUMNS))
        )
        eps = _episodes(frame, stamp, self.age_bands_days)
        tracks = sorted(str(t) for t in pd.unique(eps.track))
        k = float(self.pseudo_leads)
        records: list[dict[str, object]] = []
        cells: dict[tuple[str, str, int], float] = {}
        for track in [ALL_TRACKS, *tracks]:
            in_track = (
                np.ones(len(eps.track), dtype=bool) if track == ALL_TRACKS else eps.track == track
            )
            for stage in OPEN_STAGES:
                for b, (label, start, stop) in enumerate(self._band_labels()):
                    rows = in_track & (eps.stage == stage) & (eps.band == b)
                    days, outcome = eps.days[rows], eps.outcome[rows]
                    landed, lost = int((outcome == 1).sum()), int((outcome == 2).sum())
                    known = landed + lost
                    f1, f2 = aalen_johansen(days, outcome)
                    raw = f1 / (f1 + f2) if f1 + f2 > 0 else float("nan")
                    if track != ALL_TRACKS:  # one track's cell leans on the pooled one
                        prior = cells[(ALL_TRACKS, stage, b)]
                    elif b == 0:  # a stage over all its leads leans on the YAML
                        prior = float(self.prior[stage])
                    else:  # a later band leans on its stage's first band
                        prior = cells[(ALL_TRACKS, stage, 0)]
                    p = (known * raw + k * prior) / (known + k) if known else prior
                    cells[(track, stage, b)] = p
                    records.append(
                        {
                            "track": track,
                            "stage": stage,
                            "band": label,
                            "days_from": start,
                            "days_to": stop,
                            "episodes": int(rows.sum()),
                            "landed": landed,
                            "lost": lost,
                            "censored": int((outcome == 0).sum()),
                            "p_raw": raw,
                            "prior": prior,
                            "p_land": p,
                        }
                    )
        table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
        table["days_to"] = table["days_to"].astype("Int64")
        self.table_ = table
        self.tracks_ = tuple(tracks)
        self.as_of_ = stamp
        self.cells_ = cells
        leads = frame["lead_id"].nunique()
        self.counts_ = {
            "stage_events": float(len(frame)),
            "stage_leads": float(leads),
            "stage_episodes": float(int((eps.band == 0).sum())),
            "stage_known_fates": float(int(((eps.band == 0) & (eps.outcome > 0)).sum())),
        }
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "table_"):
            raise NotFittedError("StageModel is not fitted yet; call fit first")

    def _band(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.age_bands_days), days, side="right")

    def _cell(self, track: str, stage: str, band: int) -> float:
        key = track if track in self.tracks_ else ALL_TRACKS
        return self.cells_[(key, stage, band)]

    def stage_p_land(self, *, stage: str, days_in_stage: float, track: str | None = None) -> float:
        """The table's P(land) of an average lead at ``stage`` for ``days_in_stage`` days (the
        pooled cells when ``track`` is None or has no moves of its own)."""
        return float(
            self.predict(
                pd.DataFrame(
                    {
                        "stage": [stage],
                        "days_in_stage": [days_in_stage],
                        "entry_p_land": [np.nan],
                        "track": [track],
                    }
                )
            )[0]
        )

    def p_land(
        self,
        *,
        stage: str,
        days_in_stage: float,
        entry_p_land: float | None,
        track: str | None = None,
    ) -> float:
        """One lead's P(land): its stage and days there combined with its entry P(land)
        (module docstring)."""
        return float(
            self.predict(
                pd.DataFrame(
                    {
                        "stage": [stage],
                        "days_in_stage": [days_in_stage],
                        "entry_p_land": [np.nan if entry_p_land is None else entry_p_land],
                        "track": [track],
                    }
                )
            )[0]
        )

    def predict(self, leads: pd.DataFrame) -> np.ndarray:
        """P(land) of each row of ``leads`` (columns ``stage``, ``days_in_stage``,
        ``entry_p_land`` — empty for none — and optionally ``track``)."""
        self._check_fitted()
        for column in ("stage", "days_in_stage", "entry_p_land"):
            if column not in leads.columns:
                raise ValueError(f"leads: missing column {column}")
        stages = leads["stage"].to_numpy(dtype=object)
        unknown = [s for s in stages if s not in STAGES]
        if unknown:
            raise ValueError(
                f"leads.stage: {unknown[0]!r} is not a pipeline stage ({', '.join(STAGES)})"
            )
        days = pd.to_numeric(leads["days_in_stage"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(days).any() or (days < 0).any():
            bad = leads["days_in_stage"].to_numpy()[np.isnan(days) | (days < 0)][0]
            raise ValueError(f"leads.days_in_stage: {bad!r} is not a number of days ≥ 0")
        entry = pd.to_numeric(leads["entry_p_land"], errors="coerce").to_numpy(dtype=float)
        given = ~np.isnan(entry)
        if ((entry[given] < 0) | (entry[given] > 1)).any():
            raise ValueError("leads.entry_p_land: a probability in [0, 1] (or empty)")
        tracks = (
            leads["track"].astype(object).where(leads["track"].notna(), ALL_TRACKS).to_numpy()
            if "track" in leads.columns
            else np.full(len(leads), ALL_TRACKS, dtype=object)
        )
        bands = self._band(days)
        out = np.zeros(len(leads))
        for i, (stage, band, track) in enumerate(zip(stages, bands, tracks, strict=True)):
            if stage in LANDED_STAGES:
                out[i] = 1.0
                continue
            if stage not in OPEN_STAGES:  # lost
                out[i] = 0.0
                continue
            cell = self._cell(str(track), stage, int(band))
            if stage == SIGNED or not given[i]:
                out[i] = cell
                continue
            q = self._cell(str(track), SIGNED, 0)
            ratio = np.clip(np.array([cell, self._cell(str(track), NEW, 0), entry[i]]) / q, 0, 1)
            r, r0, e = _logit(ratio)
            out[i] = q * float(_sigmoid(np.array(r + e - r0)))
        return out
