"""The demo pipeline's rates: legal paths, signed → landed at its stated rate, and the caller's
random stream drawn exactly as the plan-period simulation drew it before."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pytest

from data.demo.pipeline_rates import (
    P_LAND_AFTER_SIGNING,
    SIGNED_LOST_REASON,
    draw_lead_path,
    landing_stream,
    true_p_land,
)
from data.pipeline import LANDED, LOST, LOST_REASONS, NEGOTIATING, NEW, SIGNED, stage_move_error

CREATED = date(2021, 3, 1)
UNTIL = date(2025, 10, 31)


def _old_path(
    rng: np.random.Generator, created: date, signs: bool, until: date
) -> list[tuple[str, date]]:
    """The path function the simulation used before (api/services/plan_history.py at 9c6e92d)."""
    steps: list[tuple[str, date]] = []
    day = created
    if signs:
        for stage, low, high in (
            ("contacted", 7, 60),
            ("negotiating", 20, 90),
            ("signed", 20, 120),
            ("landed", 30, 180),
            ("paying", 60, 200),
        ):
            day = day + timedelta(days=int(rng.integers(low, high)))
            if day > until:
                break
            steps.append((stage, day))
        return steps
    day = day + timedelta(days=int(rng.integers(7, 60)))
    if day > until:
        return steps
    steps.append(("contacted", day))
    if rng.random() < 0.4:
        day = day + timedelta(days=int(rng.integers(20, 90)))
        if day > until:
            return steps
        steps.append(("negotiating", day))
    day = day + timedelta(days=int(rng.integers(30, 240)))
    if day <= until:
        steps.append(("lost", day))
    return steps


def test_the_callers_stream_is_drawn_as_before_and_only_non_landers_move_differently() -> None:
    old, new, landing = (np.random.default_rng(7), np.random.default_rng(7), landing_stream(7))
    p_signs = np.random.default_rng(8).random(600)
    until = date(2022, 6, 30)  # some paths run past the end
    differ = 0
    for p in p_signs:
        signs = bool(old.random() < p)
        before = _old_path(old, CREATED, signs, until)
        reason = (
            LOST_REASONS[int(old.integers(0, len(LOST_REASONS)))]
            if before[-1:] and (before[-1][0] == LOST)
            else None
        )
        path = draw_lead_path(p_sign=p, created=CREATED, until=until, rng=new, landing_rng=landing)
        assert old.bit_generator.state == new.bit_generator.state
        if path.lands is False:
            differ += 1
            continue
        assert list(path.steps) == before and path.lost_reason == reason
    assert differ > 0


def test_about_four_in_five_signed_firms_land() -> None:
    rng, landing = np.random.default_rng(1), landing_stream(1)
    paths = [
        draw_lead_path(p_sign=1.0, created=CREATED, until=UNTIL, rng=rng, landing_rng=landing)
        for _ in range(4_000)
    ]
    landed = np.mean([any(s == LANDED for s, _ in p.steps) for p in paths])
    # binomial sd at 4,000 draws: 0.0063
    assert landed == pytest.approx(P_LAND_AFTER_SIGNING, abs=0.02)
    lost = [p for p in paths if p.lands is False]
    assert {p.steps[-1][0] for p in lost} == {LOST}
    assert {p.lost_reason for p in lost} == {SIGNED_LOST_REASON}
    assert all(p.steps[-2][0] == SIGNED for p in lost)


def test_every_path_is_legal_and_ends_by_until() -> None:
    rng, landing = np.random.default_rng(2), landing_stream(2)
    until = date(2022, 3, 31)
    moves: list[tuple[str, str]] = []
    for p in np.linspace(0, 1, 300):
        path = draw_lead_path(p_sign=p, created=CREATED, until=until, rng=rng, landing_rng=landing)
        moves += pairwise([NEW, *(s for s, _ in path.steps)])
        days = [CREATED, *(d for _, d in path.steps)]
        assert days == sorted(days) and days[-1] <= until
    assert len(moves) > 600  # most paths take several steps before the end
    assert [m for m in moves if stage_move_error(*m) is not None] == []


def test_true_p_land_follows_the_rates() -> None:
    assert true_p_land(stage=NEW, p_sign=0.5) == pytest.approx(0.5 * P_LAND_AFTER_SIGNING)
    # half sign, and 40 % of the other half negotiate: 0.5 / 0.7 of negotiators sign
    assert true_p_land(stage=NEGOTIATING, p_sign=0.5) == pytest.approx(0.8 * 0.5 / 0.7)
    assert true_p_land(stage=SIGNED, p_sign=0.01) == P_LAND_AFTER_SIGNING


def test_a_probability_outside_zero_one_is_refused() -> None:
    with pytest.raises(ValueError, match="p_sign"):
        draw_lead_path(
            p_sign=1.2,
            created=CREATED,
            until=UNTIL,
            rng=np.random.default_rng(0),
            landing_rng=landing_stream(0),
        )
