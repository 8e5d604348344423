from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from data.reference import (
    CHAINS_DIR,
    ReferenceDataError,
    default_chains,
    default_parks,
    known_tracks,
    load_chains,
    load_industries,
    track_for_chain,
)
from tests.data.park_edits import assert_edit_refused

SHIBEI_CHAINS = {
    "big_data",
    "blockchain",
    "uhd_video_5g",
    "fintech",
    "iot",
    "industrial_internet",
    "health_data",
}
NANTONG_CHAINS = {"nev", "connected_vehicles", "smart_sensing"}


def test_curated_chains_have_the_design_ids_and_complete_links() -> None:
    chains = default_chains()
    assert set(chains) == SHIBEI_CHAINS | NANTONG_CHAINS
    for chain in chains.values():
        assert chain.links, chain.id
        for link in chain.links:
            assert link.id.startswith(chain.id + ".")
            assert link.name_zh and link.name_en and link.weight > 0
            assert link.gbt4754 and link.sw2021, link.id
    big_data = {link.id for link in chains["big_data"].links}
    assert {
        "big_data.storage_idc",
        "big_data.compute_cloud",
        "big_data.exchange",
        "big_data.security",
        "big_data.privacy_computing",
        "big_data.analytics_ai",
        "big_data.governance",
    } <= big_data
    assert {s.id for s in chains["big_data"].segments} == {"resource", "technology", "application"}


def test_parks_follow_the_plan() -> None:
    parks = default_parks()
    shibei, nantong = parks["shibei"], parks["nantong"]
    assert {c.id for c in shibei.chains} == SHIBEI_CHAINS
    assert {c.id for c in nantong.chains} == NANTONG_CHAINS
    # tracks come from each park's YAML: Shibei's plan has two, the science city its own
    assert list(shibei.tracks) == ["hq", "bigdata"]
    assert list(nantong.tracks) == ["smart_vehicles", "smart_sensing"]
    assert track_for_chain(shibei, "blockchain") == "bigdata"
    assert track_for_chain(nantong, "smart_sensing") == "smart_sensing"
    assert known_tracks() == {"hq", "bigdata", "smart_vehicles", "smart_sensing"}
    assert shibei.area_km2 == 3.31 and shibei.operating_firms == 1470
    assert shibei.baseline["firms_tax_ge_10000_wan"] == 16
    assert {k.id: k.target for k in shibei.kpi_targets}["new_hq"] == 15
    assert next(c for c in shibei.chains if c.id == "big_data").priority == 1


def _copy_chains(tmp_path: Path) -> Path:
    target = tmp_path / "chains"
    target.mkdir()
    for path in CHAINS_DIR.glob("*.yaml"):
        (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  hq:\n", "  HQ-track:\n", "tracks.HQ-track: a track id is lower-case"),
        ("weak: 300}", "weak: 900}", "weak must not exceed"),
        ("horizon_years: 5", "horizon_years: 0", "valuation.horizon_years"),
        ("site_bound: 0.01", "site_bound: 1.5", "site_bound"),
    ],
)
def test_invalid_park_files_name_the_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert_edit_refused(tmp_path, old, new, message)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'upstream: [storage_idc, compute_cloud]\n    gbt4754: ["6450"',
            'upstream: [storage_idc, nowhere]\n    gbt4754: ["6450"',
            r"big_data.yaml: link big_data.exchange: unknown upstream link 'big_data.nowhere'",
        ),
        (
            '    upstream: []\n    gbt4754: ["3911"',
            '    upstream: [analytics_ai]\n    gbt4754: ["3911"',
            r"big_data.yaml: link big_data\.\w+: upstream cycle",
        ),
        (
            'gbt4754: ["6440", "3915"]\n    sw2021: ["710402"]\n  - id: analytics_ai',
            'gbt4754: ["6440", "9999"]\n    sw2021: ["710402"]\n  - id: analytics_ai',
            r"big_data.yaml: link big_data.security: gbt4754_2017 code '9999' does not exist",
        ),
    ],
)
def test_invalid_chain_files_name_the_file_and_link(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    folder = _copy_chains(tmp_path)
    path = folder / "big_data.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=message):
        load_chains(folder)


@pytest.mark.shared_data
def test_every_code_exists_in_the_real_classifications(shared_data: Path) -> None:
    with (shared_data / "gbt4754_2017" / "gbt4754_2017.csv").open(encoding="utf-8") as fh:
        gbt = {r["code"]: r["name"].strip() for r in csv.DictReader(fh) if r["level"] == "4"}
    with (shared_data / "chainkg" / "industry.json").open(encoding="utf-8") as fh:
        sw = {d["code"]: d["name"] for d in map(json.loads, fh)}
    known = {("gbt4754_2017", c) for c in gbt} | {("sw2021", c) for c in sw}
    chains = load_chains(known_codes=known)  # every chain code against the real lists
    assert len(chains) == 10
    for (scheme, code), industry in load_industries().items():
        names = gbt if scheme == "gbt4754_2017" else sw
        assert names.get(code) == industry.name, (scheme, code)
