"""The park YAML's contact_plan block: bad values name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.reference import PARKS_DIR, load_park
from tests.data.park_edits import assert_edit_refused


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{hq: 15, bigdata: 30}", "{hq: 0, bigdata: 30}", r"capacity_per_quarter\.hq: .*positive"),
        (
            "{hq: 15, bigdata: 30}",
            "{hq: 15, big: 30}",
            r"capacity_per_quarter: unknown track 'big'",
        ),
        ("{hq: 15, bigdata: 30}", "{hq: 15}", r"give every track \(missing \['bigdata'\]\)"),
        ("  quarters_to_land: 3\n", "  quarters_to_land: -1\n", "quarters_to_land"),
        ("shortfall_penalty_firm_years: 5", "shortfall_penalty_firm_years: 0", "shortfall_penalty"),
        (
            "shortfall_penalty_firm_years: 5",
            "shortfall_penalty_firm_years: 5\n  shortfall_penalty_wan_cny: 20000",
            "give exactly one",
        ),
        ("  shortfall_penalty_firm_years: 5\n", "", "give exactly one"),
        (
            "chain_link_targets: true",
            "chain_link_targets: true\n  price_floor_wan_cny: {new_hqs: 10}",
            r"price_floor_wan_cny: unknown target 'new_hqs'",
        ),
    ],
)
def test_invalid_contact_plan_names_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert_edit_refused(tmp_path, old, new, message)


def test_the_bundled_plan_loads() -> None:
    plan = load_park(PARKS_DIR / "shibei.yaml").contact_plan
    assert plan is not None and plan.capacity_per_quarter == {"hq": 15, "bigdata": 30}
