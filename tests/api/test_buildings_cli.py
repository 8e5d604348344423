"""``attract import buildings`` end to end (an officer's CSV in Chinese headers: written when
clean; refused whole, naming the row and the reason, when a row is bad) and ``attract
buildings`` / ``attract buildings show`` over the trained demo."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from data import columns as C
from data.settings import get_settings
from tests.conftest import Trained

HEADER = "载体名称,类型,建筑面积,可租面积,可用面积,统计日期,竣工日期,定位产业,招商方向,租金\n"
GOOD = (
    HEADER
    + '市北壹中心 1号楼,写字楼,8万,"56,000㎡",12000,2024-06-30,2019-09-30,,总部经济,5.5-7\n'
    + "聚能湾孵化器,孵化器,9000,5800,4000,2024-06-30,2015-01-01,,,2-3.5\n"
)
BAD = (
    HEADER
    + '市北壹中心 1号楼,写字楼,8万,"56,000㎡",12000,2024-06-30,2019-09-30,,总部经济,5.5-7\n'
    + "坏楼,写字楼,很大,100,10,2024-06-30,,,,\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_buildings_writes_a_clean_sheet_and_refuses_a_bad_one_whole(
    tmp_path: Path,
) -> None:
    out = tmp_path / "universe"
    runner = CliRunner()
    done = runner.invoke(
        cli, ["import", "buildings", str(_write(tmp_path / "载体.csv", GOOD)), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert "park_buildings: 2 rows read" in done.output
    held = pd.read_parquet(out / "park_buildings.parquet")
    assert sorted(held[C.BUILDING_ID]) == ["市北壹中心 1号楼", "聚能湾孵化器"]
    assert held.set_index(C.BUILDING_ID).loc["市北壹中心 1号楼", C.FLOOR_AREA] == 80_000.0
    before = (out / "park_buildings.parquet").read_bytes()
    refused = runner.invoke(
        cli, ["import", "buildings", str(_write(tmp_path / "bad.csv", BAD)), "--out", str(out)]
    )
    assert refused.exit_code == 2
    message = " ".join(refused.output.split())
    # the row as the officer sees it in the sheet: the header is row 1, 坏楼 row 3
    assert "park_buildings row 3, floor_area_m2: not an area" in message and "很大" in message
    assert "nothing written" in message
    assert (out / "park_buildings.parquet").read_bytes() == before  # the held table untouched


def test_import_buildings_names_a_bad_date(tmp_path: Path) -> None:
    refused = CliRunner().invoke(
        cli,
        ["import", "buildings", str(_write(tmp_path / "a.csv", GOOD)), "--as-of", "30/06/2024"],
    )
    assert refused.exit_code == 2 and "--as-of" in refused.output


@pytest.fixture()
def demo_env(trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTRACT_HOME", str(trained.settings.home))
    monkeypatch.setenv("ATTRACT_DATA_DIR", str(trained.data_dir))
    monkeypatch.setenv("ATTRACT_DATABASE_URL", f"sqlite:///{tmp_path / 'service.db'}")
    monkeypatch.setenv("ATTRACT_REASONS_PRECOMPUTED", "100")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("demo_env")
def test_buildings_and_one_building_from_the_command_line(trained: Trained) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["buildings", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.stdout)
    held = pd.read_parquet(trained.data_dir / "park_buildings.parquet")
    assert len(body["buildings"]) == int((held[C.PARK_ID] == "shibei").sum())
    first = body["buildings"][0]["building_id"]
    table = runner.invoke(cli, ["buildings"])
    assert table.exit_code == 0 and "亿元楼" in table.output and first in table.output
    shown = runner.invoke(cli, ["buildings", "show", first, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["building"]["building_id"] == first and detail["occupancy"]
    missing = runner.invoke(cli, ["buildings", "show", "NOPE"])
    assert missing.exit_code == 2 and "no building 'NOPE'" in missing.output
