"""The pipeline's vocabulary is complete: every stage, reason, outcome and role has its entry."""

from __future__ import annotations

from data import columns as C
from data import pipeline as P


def test_every_word_has_its_label_and_mapping() -> None:
    assert set(P.MOVES) == set(P.STAGES) == set(P.STAGE_LABELS)
    assert set(P.LOST_REASON_LABELS) == set(P.LOST_REASONS) == set(P.LOST_OUTCOME)
    assert set(P.OUTCOME_STAGE) == set(C.OUTCOMES)
    assert set(P.ROLE_LABELS) == set(P.ROLES)
    assert set(P.OPEN_STAGES) | set(P.LANDED_STAGES) | {"lost"} == set(P.STAGES)
    assert {*P.WRITERS, *P.ASSIGNERS, *P.OWNER_ROLES} <= set(P.ROLES)


def test_moves_name_the_allowed_stages() -> None:
    assert P.stage_move_error("new", "contacted") is None
    assert P.stage_move_error("signed", "signed") is None
    error = P.stage_move_error("new", "landed")
    assert error is not None and error.startswith("stage: cannot move from new")
    assert "contacted, lost" in error
    assert "nothing (it is final)" in str(P.stage_move_error("paying", "lost"))
