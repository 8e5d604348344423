"""The park YAML's stage prior and cool-off are validated at load, naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from data.reference import PARKS_DIR, ReferenceDataError, load_park


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = yaml.safe_load((PARKS_DIR / "shibei.yaml").read_text(encoding="utf-8"))
    raw.update(change)
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _stages(**prior: float) -> dict[str, object]:
    why = "a reason"
    return {
        "stage_probabilities": {
            "pseudo_leads": 10,
            "prior": {stage: {"p_land": p, "why": why} for stage, p in prior.items()},
        }
    }


def test_the_bundled_parks_carry_a_prior_for_every_open_stage() -> None:
    park = load_park(PARKS_DIR / "shibei.yaml")
    assert park.stage_probabilities is not None
    assert park.stage_probabilities.prior["signed"].p_land == 0.7
    assert park.lead_exclusions.declined_cooloff_days == 365


def test_a_stage_less_likely_than_the_one_before_it_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _stages(new=0.1, contacted=0.1, negotiating=0.3, signed=0.2))
    with pytest.raises(ReferenceDataError, match=r"park\.yaml: stage_probabilities.*prior\.signed"):
        load_park(path)


def test_a_missing_stage_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _stages(new=0.1, contacted=0.1, signed=0.5))
    with pytest.raises(ReferenceDataError, match="give each open stage once"):
        load_park(path)


def test_a_negative_cool_off_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"lead_exclusions": {"declined_cooloff_days": -5}})
    with pytest.raises(ReferenceDataError, match=r"lead_exclusions\.declined_cooloff_days"):
        load_park(path)
