"""The park YAML's space block: a bad figure is refused naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from data.reference import default_parks
from tests.data.park_edits import assert_edit_refused


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      p10: 9\n",
            "      p10: 15\n",
            r"space\.area_per_person_m2\.office.*p10 ≤ p50 ≤ p90",
        ),
        (
            "hosts: {office: 1.0, rd: 0.6, lab: 0.0}",
            "hosts: {office: 1.0, rd: 0.6, lab: 1.5}",
            r"space\.kinds\.office.*between 0 and 1",
        ),
        (
            "hosts: {office: 1.0, rd: 0.6, lab: 0.0}",
            "hosts: {office: 1.0, desk: 0.6}",
            r"space\.kinds\.office.*unknown kind",
        ),
        (
            "quarters_to_land: {new: 3, contacted: 3, negotiating: 2, signed: 1}",
            "quarters_to_land: {new: 3, signed: 1}",
            r"space.*quarters_to_land: give exactly",
        ),
        (
            "lab_links: [health_data.medical_devices,",
            "lab_links: [health_data.no_such_link,",
            r"space\.interim_unit\.lab_links: unknown link",
        ),
        (
            "measure: {kind: new_buildings_over, min_tax_wan_cny: 10000}",
            "measure: {kind: new_buildings_over}",
            r"min_tax_wan_cny: a new_buildings_over measure",
        ),
    ],
)
def test_invalid_space_blocks_name_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert_edit_refused(tmp_path, old, new, message)


def test_shibei_counts_the_plans_yiyuan_buildings() -> None:
    park = default_parks()["shibei"]
    kpi = next(k for k in park.kpi_targets if k.id == "new_yiyuan_buildings")
    assert kpi.measure is not None and kpi.measure.min_tax_wan_cny == 10_000
    assert (kpi.target, kpi.year, kpi.unit) == (5, 2025, "栋")
    assert park.space is not None and park.space.kind_of("写字楼") == "office"
    assert default_parks()["nantong"].space is None  # its plan names no carriers
