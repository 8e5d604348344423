"""Calibrators that keep the booster's order, and the rule that picks one."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibration import (
    CANDIDATES,
    STEP,
    calibration_error,
    choose_calibrator,
    fit_calibrator,
)


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores twice as far from even odds as the truth (a booster that overfits)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.8, 0.8, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    raw = 1 / (1 + np.exp(-2 * z))
    return raw, y


def test_calibration_error_known_answer() -> None:
    y = np.array([0, 0, 1, 1])
    assert calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0]), bins=2) == 0.0
    # each half predicts 0.5: one observed 0, the other 1
    assert calibration_error(y, np.full(4, 0.5), bins=2) == pytest.approx(0.5)


@pytest.mark.parametrize("kind", CANDIDATES)
def test_every_candidate_keeps_the_order_also_beyond_the_calibration_rows(kind: str) -> None:
    raw, y = _overconfident(3_000, seed=1)
    calibrator = fit_calibrator(kind, raw, y)
    grid = np.linspace(1e-4, 0.9999, 2_000)  # past the rows' highest raw score
    assert raw.max() < 0.99
    assert np.all(np.diff(calibrator(grid)) > 0)


def test_the_step_calibration_ties_the_head_and_the_chosen_one_does_not() -> None:
    raw, y = _overconfident(3_000, seed=2)
    head = np.sort(_overconfident(50_000, seed=3)[0])[-200:]  # a list's 200 best raw scores
    step = fit_calibrator(STEP, raw, y)(head)
    chosen = choose_calibrator(raw, y).calibrator(head)
    assert np.unique(step).size < 20
    assert np.unique(np.round(chosen, 6)).size >= 190


def test_the_rule_picks_the_lowest_brier_among_those_calibrated_no_worse_than_steps() -> None:
    raw, y = _overconfident(4_000, seed=4)
    choice = choose_calibrator(raw, y)
    admissible = [k for k in CANDIDATES if choice.error[k] <= choice.error[STEP]]
    assert admissible
    assert choice.kind == min(admissible, key=lambda k: choice.brier[k])


def test_on_new_contacts_the_choice_is_calibrated_no_worse_than_steps() -> None:
    raw, y = _overconfident(4_000, seed=5)
    new_raw, new_y = _overconfident(20_000, seed=6)
    chosen = choose_calibrator(raw, y).calibrator(new_raw)
    step = fit_calibrator(STEP, raw, y)(new_raw)
    assert calibration_error(new_y, chosen) <= calibration_error(new_y, step)


def test_platt_recovers_a_known_miscalibration() -> None:
    # raw log-odds are 2 × the true ones: logit P = 0 + 0.5 × logit(raw)
    raw, y = _overconfident(40_000, seed=7)
    a, b = fit_calibrator("platt", raw, y).coefficients
    assert a == pytest.approx(0.0, abs=0.08) and b == pytest.approx(0.5, abs=0.03)


def test_a_calibrator_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both signed and unsigned"):
        fit_calibrator("platt", np.array([0.1, 0.2]), np.array([0, 0]))
    with pytest.raises(ValueError, match="not a calibrator"):
        fit_calibrator("cubic", np.array([0.1, 0.2]), np.array([0, 1]))
