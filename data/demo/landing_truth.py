"""The demo's truth at the unit level: the form each candidate would land in on each track and
the share of its group's tax that unit would book in the park (hidden, evaluation only, like the
oracle's P(sign)).

Drawn on a stream of its own (``np.random.default_rng([seed, FORM_STREAM])``), so no other draw
of the demo changes:

- **the form**: the one the park YAML's rules assume for the firm (``data.landing``) with
  probability ``RULE_HOLDS``, else another of the track's forms, each as likely — officers guess
  the form from a firm's facts and are wrong about one time in four;
- **the form's true median share**: the YAML's P50 × exp(N(0, ``MEDIAN_SPREAD``)), once per park,
  track and form — the YAML's figure is a prior, not the truth, and training should recover the
  drawn one from what landed firms pay;
- **each firm's share**: log-normal around that median with the YAML band's log-spread, at most 1,
  scaled to the site-bound share as the park's rule scales it.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from data import columns as C
from data.landing import Z90, assume_forms, track_forms, unit_shares
from data.reference import Park, ShareBand

FORM_STREAM: Final = 2401  # issue 24, point 2: a stream of its own
RULE_HOLDS: Final = 0.75
MEDIAN_SPREAD: Final = 0.35


def true_medians(park: Park, rng: np.random.Generator) -> dict[tuple[str, str], float]:
    """Each (track, form)'s true median share (module doc), drawn in the YAML's order."""
    out = {}
    for track in park.tracks:
        for form_id, form in track_forms(park, track).items():
            factor = float(np.exp(rng.normal(0.0, MEDIAN_SPREAD)))
            if form.share.p10 == form.share.p90:  # a fixed share (a track without forms)
                factor = 1.0
            out[(track, form_id)] = min(form.share.p50 * factor, 1.0)
    return out


def draw_unit_truth(
    oracle: pd.DataFrame, enterprises: pd.DataFrame, parks: dict[str, Park], seed: int
) -> pd.DataFrame:
    """The oracle with ``TRUE_FORM``, ``TRUE_UNIT_SHARE`` and ``TRUE_UNIT_TAX`` (module doc)."""
    rng = np.random.default_rng([seed, FORM_STREAM])
    out = oracle.copy()
    form = np.empty(len(out), dtype=object)
    share = np.ones(len(out))
    firms = enterprises.set_index(C.ENTERPRISE_ID)
    for park_id in sorted(out[C.PARK_ID].unique()):
        park = parks[park_id]
        medians = true_medians(park, rng)
        for track in park.tracks:
            rows = np.flatnonzero(
                (out[C.PARK_ID] == park_id).to_numpy() & (out[C.TRACK] == track).to_numpy()
            )
            if not len(rows):
                continue
            facts = firms.loc[out[C.ENTERPRISE_ID].to_numpy()[rows]].reset_index()
            assumed = assume_forms(facts, park, track)
            names = list(track_forms(park, track))
            index = assumed.index.copy()
            if len(names) > 1:
                other = rng.random(len(rows)) >= RULE_HOLDS
                shift = rng.integers(1, len(names), len(rows))
                index = np.where(other, (index + shift) % len(names), index)
            else:
                rng.random(len(rows))
                rng.integers(0, 1, len(rows))
            bands = []
            for f in names:
                prior = track_forms(park, track)[f].share
                m = medians[(track, f)]
                bands.append(
                    ShareBand(
                        p10=max(min(m * prior.p10 / prior.p50, 1.0), 1e-6),
                        p50=m,
                        p90=min(m * prior.p90 / prior.p50, 1.0),
                    )
                )
            b = unit_shares(
                bands, index, assumed.site_bound, park.valuation.in_park_tax_share.site_bound
            )
            sigma = np.log(b.p90 / np.maximum(b.p10, 1e-12)) / (2 * Z90)
            drawn = b.p50 * np.exp(rng.normal(0.0, 1.0, len(rows)) * sigma)
            form[rows] = np.array(names, dtype=object)[index]
            share[rows] = np.clip(drawn, 0.0, 1.0)
    out[C.TRUE_FORM] = form
    out[C.TRUE_UNIT_SHARE] = np.round(share, 9)
    out[C.TRUE_UNIT_TAX] = np.round(out[C.TRUE_TAX].to_numpy(dtype=float) * share, 4)
    return out
