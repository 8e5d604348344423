"""A model trained on one list of landing forms is refused when the park YAML names another."""

from types import SimpleNamespace
from typing import cast

import pytest

from data.landing import track_forms
from data.reference import default_parks
from models.scorer import LeadScorer


def _scorer(forms: dict[str, list[str]]) -> LeadScorer:
    # check_forms reads only the model's per-track share table (its keys in training's order)
    return cast(LeadScorer, SimpleNamespace(shares={t: dict.fromkeys(f) for t, f in forms.items()}))


def test_same_forms_in_same_order_pass() -> None:
    park = default_parks()["shibei"]
    forms = {t: list(track_forms(park, t)) for t in park.tracks}
    LeadScorer.check_forms(_scorer(forms), forms)


def test_moved_form_is_refused_naming_track_and_forms() -> None:
    park = default_parks()["shibei"]
    forms = {t: list(track_forms(park, t)) for t in park.tracks}
    track = next(t for t, f in forms.items() if len(f) > 1)
    moved = {**forms, track: forms[track][::-1]}
    with pytest.raises(ValueError, match=track) as err:
        LeadScorer.check_forms(_scorer(forms), moved)
    assert all(f in str(err.value) for f in forms[track])


def test_added_form_is_refused() -> None:
    park = default_parks()["shibei"]
    forms = {t: list(track_forms(park, t)) for t in park.tracks}
    track = next(iter(forms))
    with pytest.raises(ValueError, match="names and order must match"):
        LeadScorer.check_forms(_scorer(forms), {**forms, track: [*forms[track], "branch_new"]})
