"""The officer's sheet of carriers: Chinese headers and words become the contract's values, and a
sheet with any bad row is refused whole, naming the row and the reason, with nothing written but
the rejects."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from data import columns as C
from data.buildings import (
    SpaceImportRefused,
    import_space,
    parse_area_m2,
    parse_rent_band,
    write_space,
)
from data.reference import default_chains, default_parks

PARK = default_parks()["shibei"]
CHAINS = default_chains()
AS_OF = date(2024, 6, 30)
BUILDINGS = [
    [
        "载体名称",
        "类型",
        "建筑面积",
        "可租面积",
        "可用面积",
        "竣工日期",
        "定位产业",
        "招商方向",
        "租金",
    ],
    [
        "市北壹中心 1号楼",
        "写字楼",
        "8万",
        "56,000㎡",
        12000,
        "2019-09-30",
        None,
        "总部经济",
        "5.5-7",
    ],
    [
        "上海区块链生态谷 1号楼",
        "特色产业园",
        50000,
        34000,
        30000,
        "2020-12-15",
        "区块链、金融科技",
        None,
        "4-5.5",
    ],
    [
        "云芯科创中心 1号楼",
        "研发办公",
        55333,
        35333,
        0,
        "2025-06-30",
        "工业互联网",
        "bigdata",
        "150-180元/㎡/月",
    ],
]
SUPPLY = [
    ["载体名称", "可用日期", "新增面积", "原因"],
    ["云芯科创中心 1号楼", "2025-06-30", "3.5333万", "竣工"],
]
TENANTS = [
    ["载体名称", "统一社会信用代码", "企业名称", "承租面积", "入驻日期"],
    ["市北壹中心 1号楼", "91310106MA1FL0001A", "甲数据", 20000, "2020-01-01"],
    ["上海区块链生态谷 1号楼", "91310106MA1FL0002B", "乙链", 4000, "2021-03-01"],
]


def _workbook(path: Path, buildings: list[list[object]], supply=SUPPLY, tenants=TENANTS) -> Path:  # type: ignore[no-untyped-def]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "载体"
    for row in buildings:
        sheet.append(row)
    for title, rows in (("新增面积", supply), ("入驻企业", tenants)):
        extra = book.create_sheet(title)
        for row in rows:
            extra.append(row)
    book.save(path)
    return path


def test_a_sheet_in_chinese_headers_becomes_the_contract(tmp_path: Path) -> None:
    result = import_space(
        _workbook(tmp_path / "载体.xlsx", BUILDINGS), park=PARK, chains=CHAINS, as_of=AS_OF
    )
    assert result.ok, result.first_failures()
    b = result.results["park_buildings"].frame.set_index(C.BUILDING_ID)
    tower = b.loc["市北壹中心 1号楼"]  # no 载体编号 column: the name is the id
    assert (tower[C.BUILDING_KIND], tower[C.FLOOR_AREA], tower[C.LETTABLE_AREA]) == (
        "office",
        80_000.0,
        56_000.0,
    )
    assert tower[C.TRACKS] == "hq" and (tower[C.RENT_LOW], tower[C.RENT_HIGH]) == (5.5, 7.0)
    assert tower[C.FREE_ON] == pd.Timestamp(AS_OF)  # no 统计日期: dated by the import
    assert b.loc["上海区块链生态谷 1号楼", C.CHAINS] == "blockchain;fintech"
    assert b.loc["云芯科创中心 1号楼", C.RENT_LOW] == pytest.approx(150 / (365 / 12), abs=1e-3)
    supply = result.results["building_supply"].frame
    assert supply[[C.BUILDING_ID, C.AREA, C.SUPPLY_REASON]].values.tolist() == [
        ["云芯科创中心 1号楼", 35_333.0, "completion"]
    ]
    tenants = result.results["building_tenants"].frame
    assert tenants[C.AREA].tolist() == [20_000.0, 4_000.0]
    counts = result.normalisations
    assert (
        counts["floor_area_m2 given in 万 m²"] == 1
        and counts["rent given per month, divided by 365/12 days"] == 1
    )


def test_a_bad_row_refuses_the_whole_import_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "universe"
    out.mkdir()
    held = pd.DataFrame({C.PARK_ID: ["shibei"], C.BUILDING_ID: ["old"]})
    held.to_parquet(out / "park_buildings.parquet")
    before = (out / "park_buildings.parquet").read_bytes()
    bad = [
        *BUILDINGS[:2],
        ["坏楼", "写字楼", "很大", 100, 10, None, None, None, None],
        *BUILDINGS[2:],
    ]
    result = import_space(
        _workbook(tmp_path / "bad.xlsx", bad), park=PARK, chains=CHAINS, as_of=AS_OF
    )
    assert not result.ok
    with pytest.raises(
        SpaceImportRefused, match=r"park_buildings row 3, floor_area_m2: not an area"
    ):
        write_space(result, out)
    assert (out / "park_buildings.parquet").read_bytes() == before  # the held table untouched
    assert (
        not (out / "building_tenants.parquet").exists()
        and not (out / "building_supply.parquet").exists()
    )
    rejects = pd.read_csv(out / "rejects" / "park_buildings.csv")
    assert rejects[["row", "column", "action"]].values.tolist() == [
        [3, "floor_area_m2", "row_rejected"]
    ]


def test_unknown_words_are_rejected_by_name(tmp_path: Path) -> None:
    bad = [BUILDINGS[0], ["某楼", "仓库", 1000, 800, 100, None, "元宇宙", None, None]]
    result = import_space(
        _workbook(tmp_path / "w.xlsx", bad, supply=SUPPLY[:1], tenants=TENANTS[:1]),
        park=PARK,
        chains=CHAINS,
        as_of=AS_OF,
    )
    reasons = result.results["park_buildings"].rejects.set_index("column")["reason"]
    assert (
        reasons["kind"].startswith("unknown kind of carrier")
        and reasons["chains"] == "unknown chain: 元宇宙"
    )


def test_tenants_leasing_more_than_is_free_are_refused_on_their_row(tmp_path: Path) -> None:
    # 市北壹中心 1号楼 has 12,000 m² free in mid-2024; a move-in of 15,000 m² in 2024-09 overfills it
    tenants = [*TENANTS, ["市北壹中心 1号楼", "91310106MA1FL0003C", "丙科技", 15000, "2024-09-01"]]
    result = import_space(
        _workbook(tmp_path / "t.xlsx", BUILDINGS, tenants=tenants),
        park=PARK,
        chains=CHAINS,
        as_of=AS_OF,
    )
    rejects = result.results["building_tenants"].rejects
    assert rejects["row"].tolist() == [4]
    assert (
        "tenants lease" in rejects["reason"].iloc[0] and "2024-09-01" in rejects["reason"].iloc[0]
    )
    with pytest.raises(SpaceImportRefused):
        write_space(result, tmp_path / "u")


def test_a_clean_import_replaces_only_its_parks_rows(tmp_path: Path) -> None:
    out = tmp_path / "universe"
    result = import_space(
        _workbook(tmp_path / "ok.xlsx", BUILDINGS), park=PARK, chains=CHAINS, as_of=AS_OF
    )
    write_space(result, out)
    other = pd.read_parquet(out / "park_buildings.parquet")
    other[C.PARK_ID] = "nantong"
    other.to_parquet(out / "park_buildings.parquet")
    write_space(result, out)
    parks = pd.read_parquet(out / "park_buildings.parquet")[C.PARK_ID].value_counts().to_dict()
    assert parks == {"nantong": 3, "shibei": 3}


def test_areas_and_rents_in_the_forms_officers_write() -> None:
    assert parse_area_m2("1.2万平方米") == (12_000.0, True) and parse_area_m2("12,000 m²") == (
        12_000.0,
        False,
    )
    assert parse_area_m2("约一万") == (None, False)
    assert parse_rent_band("4.5~6元/㎡/天") == (4.5, 6.0, False) and parse_rent_band("5") == (
        5.0,
        5.0,
        False,
    )
