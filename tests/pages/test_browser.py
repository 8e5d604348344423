"""The pages in headless Chromium (Debian's chromium + chromium-driver) through Selenium:
sign in, filter, export, record an outcome, open the chain map and follow a link."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import Trained
from tests.served import make_key, make_user, serve_env, serving

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@dataclass(frozen=True)
class Site:
    base: str
    key: str
    downloads: Path
    password: str = "officer-pass-123"


@pytest.fixture(scope="module")
def site(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (make test installs them)"
        )
    home = trained.settings.home
    key = make_key(home, "officer")
    make_user(home, "zhang.wei", "officer", "officer-pass-123")
    make_user(home, "li.na", "officer", "officer-pass-456")
    make_user(home, "wang.lead", "lead", "lead-pass-1234")
    make_user(home, "admin", "admin", "admin-pass-1234")
    log = tmp_path_factory.mktemp("server") / "server.log"
    with serving(serve_env(home, trained.data_dir), log) as server:
        ready = server.ready(timeout=120)
        if ready.status_code != 200:
            pytest.fail(f"the server did not become ready: {ready.text}")
        yield Site(
            base=f"http://127.0.0.1:{server.port}",
            key=key,
            downloads=tmp_path_factory.mktemp("downloads"),
        )


def chromium(downloads: Path) -> Iterator[object]:
    """A headless Chromium (selenium) that downloads into ``downloads``; quit on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1440,1000",
        "--disable-dev-shm-usage",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.implicitly_wait(5)
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[object]:
    yield from chromium(site.downloads)


def _sign_in(d: object, username: str, password: str, *, ok: bool = True) -> None:
    """Fill in the sign-in form and wait until the next page is there (the signed-in name in
    the header, or the error), so the next navigation cannot cut the sign-in short."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for field, value in (("username", username), ("password", password)):
        box = d.find_element(By.ID, field)  # type: ignore[attr-defined]
        box.clear()
        box.send_keys(value)
    d.find_element(By.ID, "sign-in").click()  # type: ignore[attr-defined]
    done = "who" if ok else "login-error"
    WebDriverWait(d, 20).until(lambda drv: drv.find_elements(By.ID, done))


def _submit(d: object, button: object) -> None:
    """Click a button that submits a form and wait until the next page replaced this one (else
    the next lookup may find an element of the page being left). The page left is told by a mark
    on its window, which the next page's window does not carry (asking an element of the old page
    whether it went stale can fail with a Chrome inspector error while the page is replaced)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    d.execute_script("window.__leaving = true")  # type: ignore[attr-defined]
    button.click()  # type: ignore[attr-defined]
    WebDriverWait(d, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda drv: drv.execute_script(
            "return window.__leaving === undefined && document.readyState === 'complete'"
        )
    )


def _shot(driver: object, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path


def test_sign_in_filter_export_record_and_chain_map(browser: object, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(f"{site.base}/leads?track=bigdata")  # type: ignore[attr-defined]
    assert "/login" in d.current_url  # type: ignore[attr-defined]
    _sign_in(d, "zhang.wei", "wrong-password", ok=False)
    assert d.find_element(By.ID, "login-error").text == "用户名或密码错误"  # type: ignore[attr-defined]
    _sign_in(d, "zhang.wei", site.password)
    rows = d.find_elements(By.CSS_SELECTOR, "tr.lead")  # type: ignore[attr-defined]
    assert len(rows) == 25 and "招商线索" in d.page_source  # type: ignore[attr-defined]
    cookie = d.get_cookie("attract_session")  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie["secure"]
    _shot(d, "01-leads-bigdata")

    # filter: chain big_data, then one link
    Select(d.find_element(By.ID, "f-chain")).select_by_value("big_data")  # type: ignore[attr-defined]
    Select(d.find_element(By.ID, "f-link")).select_by_value("big_data.privacy_computing")  # type: ignore[attr-defined]
    d.find_element(By.ID, "apply").click()  # type: ignore[attr-defined]
    total_text = d.find_element(By.ID, "total").text  # type: ignore[attr-defined]
    filtered = d.find_elements(By.CSS_SELECTOR, "tr.lead")  # type: ignore[attr-defined]
    assert filtered and "link=big_data.privacy_computing" in d.current_url  # type: ignore[attr-defined]
    api_total = httpx.get(
        f"{site.base}/api/v1/leads",
        params={"track": "bigdata", "chain": "big_data", "link": "big_data.privacy_computing"},
        headers={"X-API-Key": site.key},
    ).json()["total"]
    assert total_text.startswith(f"{api_total:,} ")
    _shot(d, "02-leads-filtered")

    # export the current filter as CSV (a real download)
    d.find_element(By.ID, "export-csv").click()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    files: list[Path] = []
    while time.monotonic() < deadline and not files:
        files = [p for p in site.downloads.glob("*.csv") if not p.name.endswith(".crdownload")]
        time.sleep(0.2)
    assert files, "no CSV downloaded"
    lines = files[0].read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(lines) == api_total + 1 and lines[0].startswith("rank,enterprise_id")

    # record an outcome on the first lead
    first = d.find_elements(By.CSS_SELECTOR, "tr.lead")[0]  # type: ignore[attr-defined]
    eid = first.get_attribute("data-id")
    first.find_element(By.TAG_NAME, "summary").click()
    form = first.find_element(By.CSS_SELECTOR, "form.outcome-form")
    Select(form.find_element(By.NAME, "outcome")).select_by_value("interested")
    form.find_element(By.NAME, "note").send_keys("浏览器测试")
    form.find_element(By.CSS_SELECTOR, "button").click()
    assert eid in d.find_element(By.ID, "saved").text  # type: ignore[attr-defined]
    history = httpx.get(
        f"{site.base}/api/v1/outreach",
        params={"enterprise_id": eid},
        headers={"X-API-Key": site.key},
    ).json()["items"]
    assert any(i["note"] == "浏览器测试" and i["outcome"] == "interested" for i in history)
    _shot(d, "03-outcome-recorded")

    # the chain map, then a link's candidates
    d.get(f"{site.base}/chains/big_data")  # type: ignore[attr-defined]
    nodes = d.find_elements(By.CSS_SELECTOR, "#chain-map a.link-node")  # type: ignore[attr-defined]
    assert len(nodes) == 13
    _shot(d, "04-chain-map")
    node = next(n for n in nodes if n.get_attribute("data-link") == "big_data.privacy_computing")
    node.click()
    assert "link=big_data.privacy_computing" in d.current_url  # type: ignore[attr-defined]
    detail = d.find_element(By.ID, "link-detail").text  # type: ignore[attr-defined]
    assert "补链" in detail and d.find_elements(By.CSS_SELECTOR, "tr.candidate")  # type: ignore[attr-defined]
    # each candidate says why it is in the link: its business scope (the demo's generated text)
    evidence = d.find_elements(By.CSS_SELECTOR, "tr.candidate td.evidence")[0].text  # type: ignore[attr-defined]
    assert evidence.startswith("归入「隐私计算」：经营范围：")
    _shot(d, "05-chain-link-candidates")

    # an enterprise, the model page, and English
    d.find_elements(By.CSS_SELECTOR, "tr.candidate a")[0].click()  # type: ignore[attr-defined]
    assert d.find_elements(By.CSS_SELECTOR, ".card.score")  # type: ignore[attr-defined]
    links = d.find_element(By.ID, "link-evidence").text  # type: ignore[attr-defined]
    assert "归入「隐私计算」：经营范围：" in links
    # 相似企业: ten lookalikes outside the park, each with a link to its page and a reason
    similar = d.find_elements(By.CSS_SELECTOR, "#similar tbody tr")  # type: ignore[attr-defined]
    assert len(similar) == 10
    first = similar[0].find_elements(By.TAG_NAME, "td")
    assert (
        first[1].find_element(By.TAG_NAME, "a").get_attribute("href").split("/")[-1].split("?")[0]
    )
    assert first[4].text.strip()  # why it is alike
    _shot(d, "06-enterprise")
    d.execute_script("document.getElementById('similar').scrollIntoView()")  # type: ignore[attr-defined]
    _shot(d, "06b-enterprise-similar")
    d.get(f"{site.base}/model?lang=en")  # type: ignore[attr-defined]
    assert "Holdout metrics" in d.page_source and d.find_element(
        By.ID, "model-version"
    ).text.startswith("v")  # type: ignore[attr-defined]
    _shot(d, "07-model-en")
    d.get(f"{site.base}/leads?track=hq")  # type: ignore[attr-defined]
    assert "Leads" in d.page_source  # type: ignore[attr-defined]  # the language choice is remembered
    _shot(d, "08-leads-hq-en")


def _sign_out_and_in(d: object, site: Site, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d.get(f"{site.base}/pipeline?lang=zh")  # type: ignore[attr-defined]
    if "/login" not in d.current_url:  # type: ignore[attr-defined]
        d.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()  # type: ignore[attr-defined]
        WebDriverWait(d, 20).until(lambda drv: drv.find_elements(By.ID, "login-form"))
    _sign_in(d, username, password)


def test_my_leads_board_team_and_people(browser: object, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    _sign_out_and_in(d, site, "zhang.wei", site.password)
    # three leads of the list onto the pipeline
    d.get(f"{site.base}/leads?track=bigdata&lang=zh")  # type: ignore[attr-defined]
    added = []
    for i in (3, 4, 5):
        row = d.find_elements(By.CSS_SELECTOR, "tr.lead")[i]  # type: ignore[attr-defined]
        added.append(row.get_attribute("data-id"))
        _submit(d, row.find_element(By.CSS_SELECTOR, "form.add-form button"))
        assert added[-1] in d.find_element(By.ID, "saved").text  # type: ignore[attr-defined]

    # 我的线索: move the first to contacted with a follow-up that is already due
    d.get(f"{site.base}/pipeline")  # type: ignore[attr-defined]
    rows = d.find_elements(By.CSS_SELECTOR, "#pipeline tr[id^=lead-]")  # type: ignore[attr-defined]
    assert len(rows) >= 2 and "我的线索" in d.page_source  # type: ignore[attr-defined]
    row = next(r for r in rows if added[0] in r.get_attribute("innerHTML"))
    lead_id = row.get_attribute("id")
    row.find_element(By.TAG_NAME, "summary").click()
    form = row.find_element(By.CSS_SELECTOR, "form.lead-form")
    Select(form.find_element(By.NAME, "stage")).select_by_value("contacted")
    follow = form.find_element(By.NAME, "follow_up_on")
    d.execute_script("arguments[0].value = '2026-01-05'", follow)  # type: ignore[attr-defined]
    note = form.find_element(By.NAME, "note")
    note.clear()
    note.send_keys("约了下周二见面")
    _submit(d, form.find_element(By.CSS_SELECTOR, "button"))
    assert d.find_element(By.ID, "saved")  # type: ignore[attr-defined]
    first = d.find_elements(By.CSS_SELECTOR, "#pipeline tr[id^=lead-]")[0]  # type: ignore[attr-defined]
    assert first.get_attribute("id") == lead_id  # overdue follow-ups first
    assert "已接洽" in first.text and "已逾期" in first.text and "约了下周二见面" in first.text
    _shot(d, "09-my-leads")

    # the third lead lands: the form it took is chosen where it is signed or later
    def third() -> object:
        return next(
            r
            for r in d.find_elements(By.CSS_SELECTOR, "#pipeline tr[id^=lead-]")  # type: ignore[attr-defined]
            if added[2] in r.get_attribute("innerHTML")
        )

    def move(stage: str, landed_as: str | None = None) -> str:
        row = third()
        row.find_element(By.TAG_NAME, "summary").click()
        form = row.find_element(By.CSS_SELECTOR, "form.lead-form")
        took = form.find_elements(By.NAME, "landed_as")
        Select(form.find_element(By.NAME, "stage")).select_by_value(stage)
        if landed_as is not None:
            Select(took[0]).select_by_value(landed_as)
        _submit(d, form.find_element(By.CSS_SELECTOR, "button"))
        return "select" if took else "none"

    assert [move(s) for s in ("contacted", "negotiating")] == ["none", "none"]
    assert move("signed") == "none"
    assert move("landed", landed_as="branch") == "select"  # offered at signed, for the landing
    landed = third()
    assert "已落地" in landed.text and "实际落地形式 分公司" in landed.text
    _shot(d, "09b-landed-as")

    # the board: counts and expected value per stage
    d.get(f"{site.base}/pipeline/board")  # type: ignore[attr-defined]
    contacted = d.find_element(By.ID, "stage-contacted")  # type: ignore[attr-defined]
    assert int(contacted.find_element(By.CLASS_NAME, "count").text) >= 1
    assert float(contacted.find_element(By.CLASS_NAME, "ev").text.replace(",", "")) > 0
    assert not d.find_elements(By.ID, "nav-team")  # type: ignore[attr-defined]  # officers have none
    _shot(d, "10-board")

    # the team lead: the team view, and reassigning a lead to another officer
    _sign_out_and_in(d, site, "wang.lead", "lead-pass-1234")
    d.get(f"{site.base}/pipeline/team?stale_days=1")  # type: ignore[attr-defined]
    mine = d.find_element(By.ID, "owner-zhang.wei").text  # type: ignore[attr-defined]
    assert mine.split()[0] == "zhang.wei" and int(mine.split()[2]) >= 2  # open leads
    _shot(d, "11-team")
    d.get(f"{site.base}/pipeline?scope=all")  # type: ignore[attr-defined]
    row = d.find_element(By.ID, lead_id)  # type: ignore[attr-defined]
    row.find_element(By.TAG_NAME, "summary").click()
    form = row.find_element(By.CSS_SELECTOR, "form.lead-form")
    Select(form.find_element(By.NAME, "owner")).select_by_value("li.na")
    _submit(d, form.find_element(By.CSS_SELECTOR, "button"))
    assert "li.na" in d.find_element(By.ID, lead_id).text  # type: ignore[attr-defined]

    # the admin: people, and a disabled officer is signed out at once
    _sign_out_and_in(d, site, "admin", "admin-pass-1234")
    d.get(f"{site.base}/admin/users")  # type: ignore[attr-defined]
    create = d.find_element(By.ID, "create-user")  # type: ignore[attr-defined]
    create.find_element(By.NAME, "username").send_keys("zhao.lei")
    create.find_element(By.NAME, "display_name").send_keys("赵磊")
    create.find_element(By.NAME, "password").send_keys("zhao-password-1")
    _submit(d, create.find_element(By.CSS_SELECTOR, "button"))
    assert "zhao.lei" in d.find_element(By.ID, "users-done").text  # type: ignore[attr-defined]
    with httpx.Client(base_url=site.base, timeout=10) as officer:
        signed = officer.post("/login", data={"username": "li.na", "password": "officer-pass-456"})
        cookies = {"attract_session": signed.cookies["attract_session"]}
        assert officer.get("/pipeline", cookies=cookies).status_code == 200
        _submit(d, d.find_element(By.CSS_SELECTOR, "#user-li\\.na form button"))  # type: ignore[attr-defined]
        status = d.find_element(By.CSS_SELECTOR, "#user-li\\.na .status").text  # type: ignore[attr-defined]
        assert status == "已停用"
        assert officer.get("/pipeline", cookies=cookies).status_code == 303  # to sign-in
    _shot(d, "12-admin-people")


def test_pages_render_quickly(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=10) as client:
        signed = client.post("/login", data={"username": "zhang.wei", "password": site.password})
        cookies = {"attract_session": signed.cookies["attract_session"]}
        for path in (
            "/leads?track=bigdata",
            "/leads?track=hq&chain=big_data",
            "/chains/big_data",
            "/chains/big_data?link=big_data.security",
            "/model",
        ):
            client.get(path, cookies=cookies)  # warm
            started = time.perf_counter()
            r = client.get(path, cookies=cookies)
            assert r.status_code == 200, path
            assert time.perf_counter() - started < 1.0, path
