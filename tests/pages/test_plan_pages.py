"""The plan period end to end as a new user runs it: `attract demo-history` simulates 2021–2025
through the pipeline, `attract import table tax_records … --append` takes the tax bureau's
records, `attract monitor` logs realised against predicted to MLflow; then the 规划指标, chain
coverage and model pages are opened in Chromium (screenshots 13–15)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from data.reference import default_parks
from tests.conftest import Trained
from tests.pages.test_browser import CHROMIUM, DRIVER, _shot, _sign_in, chromium
from tests.served import home_with_models, make_user, serve_env, serving

pytestmark = pytest.mark.browser
ATTRACT = [sys.executable, "-m", "api.cli"]


@dataclass(frozen=True)
class PlanSite:
    base: str
    history: str
    monitor: str


SHIBEI = default_parks()["shibei"]


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*ATTRACT, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"attract {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def plan_site(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanSite]:
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (make test installs them)"
        )
    root = tmp_path_factory.mktemp("plan")
    home = home_with_models(trained.settings.home, root / "home")
    data = root / "demo"
    shutil.copytree(trained.data_dir, data)
    env = serve_env(home, data) | {"COLUMNS": "200"}
    history = _run(env, "demo-history")
    records = home / "demo-history" / "tax_records.csv"
    imported = _run(
        env, "import", "table", "tax_records", str(records), "--out", str(data), "--append"
    )
    assert "appended" in imported and "0 already held" in imported
    monitor = _run(env, "monitor", "--data", str(data))
    make_user(home, "chen.ce", "analyst", "analyst-pass-123")
    log = root / "server.log"
    with serving(env, log) as server:
        ready = server.ready(timeout=120)
        if ready.status_code != 200:
            pytest.fail(f"the server did not become ready: {ready.text}")
        yield PlanSite(base=f"http://127.0.0.1:{server.port}", history=history, monitor=monitor)


def test_the_plan_period_runs_from_the_command_line(plan_site: PlanSite) -> None:
    landed = int(plan_site.history.split(" landed")[0].split("·")[-1].strip())
    assert landed > 0 and "tax records 2021–2025" in plan_site.history
    assert "P10–P90 coverage" in plan_site.monitor and "MLflow run" in plan_site.monitor


def test_kpi_coverage_and_model_pages(plan_site: PlanSite) -> None:
    from selenium.webdriver.common.by import By

    with_downloads = Path(os.environ.get("TMPDIR", "/tmp"))
    for d in chromium(with_downloads):
        d.get(f"{plan_site.base}/login")  # type: ignore[attr-defined]
        _sign_in(d, "chen.ce", "analyst-pass-123")

        d.get(f"{plan_site.base}/kpis?lang=zh")  # type: ignore[attr-defined]
        rows = d.find_elements(By.CSS_SELECTOR, "#kpi-table tr[id^=kpi-]")  # type: ignore[attr-defined]
        assert [r.get_attribute("id") for r in rows] == [f"kpi-{k.id}" for k in SHIBEI.kpi_targets]
        new_hq = d.find_element(By.ID, "kpi-new_hq").text  # type: ignore[attr-defined]
        assert "新增跨国公司地区总部" in new_hq and "15" in new_hq
        listings = d.find_element(By.ID, "kpi-new_listings").text  # type: ignore[attr-defined]
        assert "无数据" in listings and "IPO" in listings  # says why, not 0
        charts = d.find_elements(By.CSS_SELECTOR, ".kpi-card .chart svg")  # type: ignore[attr-defined]
        measured = [k for k in SHIBEI.kpi_targets if k.measure is not None]
        assert len(charts) == len(measured)  # every measured KPI has its chart
        _shot(d, "13-kpis")
        d.execute_script("document.querySelector('.kpi-card').scrollIntoView()")  # type: ignore[attr-defined]
        _shot(d, "13b-kpi-charts")

        d.get(f"{plan_site.base}/kpis/coverage")  # type: ignore[attr-defined]
        links = d.find_elements(By.CSS_SELECTOR, "#coverage tr[id^=link-]")  # type: ignore[attr-defined]
        assert len(links) > 30
        closed = int(d.find_element(By.ID, "gaps-closed").text)  # type: ignore[attr-defined]
        assert closed == len(d.find_elements(By.CSS_SELECTOR, "#coverage tr.closed"))  # type: ignore[attr-defined]
        _shot(d, "14-coverage")

        d.get(f"{plan_site.base}/model?lang=zh")  # type: ignore[attr-defined]
        metrics = d.find_element(By.ID, "metrics").text  # type: ignore[attr-defined]
        assert "排序质量 NDCG@50" in metrics and "落地概率 AUC" in metrics
        versions = d.find_elements(By.CSS_SELECTOR, "#versions tr.champion")  # type: ignore[attr-defined]
        assert len(versions) == 1 and d.find_elements(By.CSS_SELECTOR, "#versions-chart svg")  # type: ignore[attr-defined]
        images = d.find_elements(By.CSS_SELECTOR, "#plots-card img")  # type: ignore[attr-defined]
        assert len(images) >= 4
        assert all(d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in images)  # type: ignore[attr-defined]
        assert "/#/experiments/" in d.find_element(By.ID, "mlflow-link").get_attribute("href")  # type: ignore[attr-defined]
        realised = d.find_elements(By.CSS_SELECTOR, "#realised-summary tr")  # type: ignore[attr-defined]
        assert len(realised) >= 3 and d.find_elements(By.CSS_SELECTOR, "#realised-chart svg")  # type: ignore[attr-defined]
        holds = d.find_element(By.ID, "form-holds").text  # type: ignore[attr-defined]
        assert "按假定形式落地的概率" in holds and "hq" in holds and "先验 80%" in holds
        _shot(d, "15-model")


def test_the_kpi_export_is_a_workbook_an_officer_can_hand_on(plan_site: PlanSite) -> None:
    import io

    import httpx
    from openpyxl import load_workbook

    with httpx.Client(base_url=plan_site.base, timeout=30) as client:
        signed = client.post("/login", data={"username": "chen.ce", "password": "analyst-pass-123"})
        cookies = {"attract_session": signed.cookies["attract_session"]}
        r = client.get("/kpis/export", params={"format": "xlsx"}, cookies=cookies)
        assert r.status_code == 200
        book = load_workbook(io.BytesIO(r.content))
        sheet = book.worksheets[0]
        assert [c.value for c in sheet[1]][:2] == ["指标代码", "指标"]
        assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
            k.id for k in SHIBEI.kpi_targets
        ]
        assert sheet.freeze_panes == "A2" and book.sheetnames[1] == "说明"
        assert (
            client.get("/kpis/export", params={"format": "pdf"}, cookies=cookies).status_code == 422
        )


def test_the_buildings_pages(plan_site: PlanSite) -> None:
    """载体: the list with occupancy and tax per building after the plan period, then one 亿元楼
    candidate's page with its occupancy and tax charts (screenshots 16, 16b)."""
    from selenium.webdriver.common.by import By

    with_downloads = Path(os.environ.get("TMPDIR", "/tmp"))
    for d in chromium(with_downloads):
        d.get(f"{plan_site.base}/login")  # type: ignore[attr-defined]
        _sign_in(d, "chen.ce", "analyst-pass-123")
        d.find_element(By.ID, "nav-buildings").click()  # type: ignore[attr-defined]
        rows = d.find_elements(By.CSS_SELECTOR, "#building-table tr[id^=building-]")  # type: ignore[attr-defined]
        assert len(rows) > 10 and "载体" in d.title  # type: ignore[attr-defined]
        summary = d.find_element(By.ID, "yiyuan-summary").text  # type: ignore[attr-defined]
        assert "亿元楼数量" in summary and "2020" in summary and "2025" in summary
        occupancy = [
            r.find_element(By.CSS_SELECTOR, "td.occupancy").text  # type: ignore[attr-defined]
            for r in rows
        ]
        assert all(o.endswith("%") for o in occupancy)
        _shot(d, "16-buildings")
        # a building below 1 亿元 with tenants: its page shows both charts and the closest leads
        below = [
            r.get_attribute("id").removeprefix("building-")  # type: ignore[attr-defined]
            for r in rows
            if r.find_element(By.CSS_SELECTOR, "td.yiyuan").text == "否"  # type: ignore[attr-defined]
            and r.find_element(By.CSS_SELECTOR, "td.occupancy").text != "0%"  # type: ignore[attr-defined]
        ]
        assert below
        d.get(f"{plan_site.base}/buildings/{below[0]}")  # type: ignore[attr-defined]
        assert d.find_elements(By.CSS_SELECTOR, "#occupancy-card .chart svg")  # type: ignore[attr-defined]
        assert d.find_elements(By.CSS_SELECTOR, "#tax-card .chart svg")  # type: ignore[attr-defined]
        assert d.find_element(By.ID, "closest").text.startswith("最能推动")  # type: ignore[attr-defined]
        assert d.find_elements(By.CSS_SELECTOR, "#tenant-table tr")  # type: ignore[attr-defined]
        _shot(d, "16b-building")
        # a lead that would fill it: its page shows its space need and the buildings that fit
        d.find_element(By.CSS_SELECTOR, "#leads-table a").click()  # type: ignore[attr-defined]
        card = d.find_element(By.ID, "space-card").text  # type: ignore[attr-defined]
        assert "需求面积" in card and "P90" in card
        assert d.find_elements(By.CSS_SELECTOR, "#fitting-buildings li a[href^='/buildings/']")  # type: ignore[attr-defined]
