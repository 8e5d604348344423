"""P(land | stage, days in stage): known answers on a hand-made trail, censoring, the prior
without events, the entry P(land)'s combination and bad trails refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import pytest

from data.pipeline import CONTACTED, LANDED, LOST, NEGOTIATING, NEW, OPEN_STAGES, PAYING, SIGNED
from data.reference import default_parks
from models.stages import ALL_TRACKS, StageModel, aalen_johansen

PRIOR = {NEW: 0.1, CONTACTED: 0.2, NEGOTIATING: 0.3, SIGNED: 0.5}
AS_OF = date(2024, 12, 31)  # the end of that day: 2025-01-01 00:00 UTC
TO_SIGNED = [
    (NEW, "2024-01-01"),
    (CONTACTED, "2024-01-11"),
    (NEGOTIATING, "2024-02-10"),
    (SIGNED, "2024-03-01"),
]


def _trail(leads: dict[int, list[tuple[str, str]]], track: str = "hq") -> pd.DataFrame:
    rows = []
    for lead_id, moves in leads.items():
        previous = None
        for stage, day in moves:
            rows.append(
                {
                    "lead_id": lead_id,
                    "track": track,
                    "at": pd.Timestamp(day, tz="UTC"),
                    "from_stage": previous,
                    "to_stage": stage,
                }
            )
            previous = stage
    return pd.DataFrame(rows)


def _model(events: pd.DataFrame | None, *, k: float = 2.0) -> StageModel:
    return StageModel(prior=PRIOR, pseudo_leads=k).fit(events, as_of=AS_OF)


def _cell(model: StageModel, stage: str, band: str, track: str = ALL_TRACKS) -> float:
    t = model.table_
    row = t[(t["track"] == track) & (t["stage"] == stage) & (t["band"] == band)]
    assert len(row) == 1
    return float(row["p_land"].iloc[0])


THREE_SIGNED = {
    1: [*TO_SIGNED, (LANDED, "2024-04-01")],  # lands 31 days after signing
    2: [*TO_SIGNED, (LOST, "2024-05-01")],  # lost after 61 days
    3: [*TO_SIGNED, (LANDED, "2024-06-30")],  # lands after 121 days
}


def test_known_answer_on_a_hand_made_trail() -> None:
    # signed, all leads: 2 of 3 known fates landed, p̂ = 2/3, n = 3, prior 0.5, k = 2:
    # (3 × 2/3 + 2 × 0.5) / 5 = 0.6; 30–90 days: the same three, p̂ = 2/3, leaning on 0.6:
    # (2 + 1.2) / 5 = 0.64; 90–180 days: lead 3 alone, landed: (1 + 1.2) / 3; 180+ days: none
    model = _model(_trail(THREE_SIGNED))
    assert _cell(model, SIGNED, "0-30") == pytest.approx(0.6)
    assert _cell(model, SIGNED, "30-90") == pytest.approx(0.64)
    assert _cell(model, SIGNED, "90-180") == pytest.approx(2.2 / 3)
    assert _cell(model, SIGNED, "180-365") == pytest.approx(0.6)
    assert model.stage_p_land(stage=SIGNED, days_in_stage=45) == pytest.approx(0.64)


def test_an_open_lead_at_signed_for_ten_days_is_not_a_failure() -> None:
    # lead 4 signed on 21 December and is still signed at the end of the year: censored, it
    # changes nothing (counted as lost it would pull the cell to (3 × 0.5 + 1) / 6 ≈ 0.42)
    open_lead = {4: [*TO_SIGNED[:3], (SIGNED, "2024-12-21")]}
    with_open = _model(_trail({**THREE_SIGNED, **open_lead}))
    without = _model(_trail(THREE_SIGNED))
    assert _cell(with_open, SIGNED, "0-30") == pytest.approx(_cell(without, SIGNED, "0-30"))
    table = with_open.table_
    row = table[(table["track"] == ALL_TRACKS) & (table["stage"] == SIGNED)]
    assert row["censored"].iloc[0] == 1


def test_censored_leads_weigh_the_outcomes_that_came_after_them() -> None:
    # 10 leads: 5 lost on day 10, 3 still open on day 100, 2 landed on day 200. Of the 5 at risk
    # after day 10, the two followed to the end both landed: F(landed) = 0.5 × 2/2 = 0.5 and
    # F(lost) = 0.5, where the plain share of known fates would say 2 / 7
    days = np.array([10] * 5 + [100] * 3 + [200] * 2, dtype=float)
    outcome = np.array([2] * 5 + [0] * 3 + [1] * 2)
    assert aalen_johansen(days, outcome) == pytest.approx((0.5, 0.5))


def test_without_events_every_cell_is_the_prior_and_a_new_lead_keeps_its_entry() -> None:
    model = _model(None)
    pooled = model.table_[model.table_["track"] == ALL_TRACKS]
    expected = pooled["stage"].map(PRIOR)
    assert pooled["p_land"].tolist() == expected.tolist()
    assert model.p_land(stage=NEW, days_in_stage=3, entry_p_land=0.3) == pytest.approx(0.3)


def test_a_signed_lead_stands_far_above_its_entry_and_nothing_before_it_exceeds_it() -> None:
    park = default_parks()["shibei"]
    model = StageModel.of_park(park).fit(None, as_of=AS_OF)
    entry = 0.3
    signed = model.p_land(stage=SIGNED, days_in_stage=10, entry_p_land=entry)
    assert park.stage_probabilities is not None
    assert signed == pytest.approx(park.stage_probabilities.prior[SIGNED].p_land)
    assert signed > 2 * entry
    before = [
        model.p_land(stage=s, days_in_stage=10, entry_p_land=e)
        for s in OPEN_STAGES[:-1]
        for e in (0.05, 0.3, 0.6, 0.95)
    ]
    assert max(before) <= signed


def test_before_signing_a_better_entry_means_a_likelier_landing() -> None:
    model = _model(_trail(THREE_SIGNED))
    p = [
        model.p_land(stage=NEGOTIATING, days_in_stage=20, entry_p_land=e)
        for e in (0.05, 0.1, 0.2, 0.4)
    ]
    assert p == sorted(p) and len(set(p)) == 4


def test_landed_leads_have_landed_and_lost_ones_count_nothing() -> None:
    model = _model(_trail(THREE_SIGNED))
    assert model.p_land(stage=PAYING, days_in_stage=400, entry_p_land=0.1) == 1.0
    assert model.p_land(stage=LOST, days_in_stage=5, entry_p_land=0.9) == 0.0


def test_a_track_without_moves_of_its_own_uses_the_pooled_cells() -> None:
    model = _model(_trail(THREE_SIGNED, track="hq"))
    pooled = model.stage_p_land(stage=SIGNED, days_in_stage=0)
    assert model.stage_p_land(stage=SIGNED, days_in_stage=0, track="bigdata") == pooled
    # hq leans on the pooled 0.6 with its own three fates: (2 + 2 × 0.6) / 5
    assert model.stage_p_land(stage=SIGNED, days_in_stage=0, track="hq") == pytest.approx(0.64)


def test_a_reopened_lead_is_not_lost() -> None:
    # lost, then contacted again and still open: its fate is unknown, not a loss
    reopened = {
        1: [
            (NEW, "2024-01-01"),
            (CONTACTED, "2024-01-05"),
            (LOST, "2024-02-01"),
            (CONTACTED, "2024-06-01"),
        ]
    }
    table = _model(_trail(reopened)).table_
    first = table[(table["track"] == ALL_TRACKS) & (table["band"] == "0-30")].set_index("stage")
    assert first.loc[[NEW, CONTACTED], "lost"].tolist() == [0, 0]
    assert first.loc[[NEW, CONTACTED], "censored"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.assign(to_stage=t["to_stage"].replace(LANDED, "won")), "not a pipeline stage"),
        (lambda t: t.drop(index=0), "no creation row"),
        (lambda t: t.assign(from_stage=t["from_stage"].replace(NEGOTIATING, NEW)), "but it was at"),
        (
            lambda t: t.assign(at=t["at"].astype(str).replace("2024-04-01 00:00:00+00:00", "soon")),
            "not a time",
        ),
        (lambda t: t.drop(columns="track"), "missing column"),
        (lambda t: t.assign(track=["hq"] * (len(t) - 1) + ["bigdata"]), "one firm on one track"),
    ],
)
def test_a_bad_trail_is_refused_with_the_field_and_the_reason(
    change: Callable[[pd.DataFrame], pd.DataFrame], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _model(change(_trail(THREE_SIGNED)))


def test_an_event_after_as_of_is_refused() -> None:
    trail = _trail({1: [(NEW, "2025-03-01")]})
    with pytest.raises(ValueError, match="after as_of"):
        _model(trail)
