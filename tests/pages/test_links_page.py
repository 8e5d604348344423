"""产业链校核 in headless Chromium: an analyst finds a top bigdata lead in the review queue,
moves it to another big_data link on the page, reloads the service from the page, and sees the
firm under its new link in the lead list and as 人工校核 on its enterprise page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Trained
from tests.pages.test_browser import CHROMIUM, DRIVER, _sign_in, _submit, chromium
from tests.served import home_with_models, make_key, make_user, serve_env, serving

pytestmark = pytest.mark.browser
SCREENSHOT = Path("/tmp/links-page.png")
PASSWORD = "analyst-pass-123"


@pytest.fixture(scope="module")
def site(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over the trained demo with a service database of its own (its corrections
    reach no other test)."""
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (make test installs them)"
        )
    root = tmp_path_factory.mktemp("links-site")
    home = home_with_models(trained.settings.home, root / "home")
    key = make_key(home, "officer")
    make_user(home, "chen.analyst", "analyst", PASSWORD)
    make_user(home, "zhou.officer", "officer", "officer-pass-123")
    with serving(serve_env(home, trained.data_dir), root / "server.log") as server:
        ready = server.ready(timeout=180)
        if ready.status_code != 200:
            pytest.fail(f"the server did not become ready: {ready.text}")
        yield f"http://127.0.0.1:{server.port}", key


def _lead_to_move(base: str, key: str) -> tuple[str, str, str]:
    """A lead of the bigdata list's first page with one big_data link, and a big_data link it
    is not in."""
    from data.reference import default_chains

    headers = {"X-API-Key": key}
    items = httpx.get(
        f"{base}/api/v1/leads", params={"track": "bigdata", "limit": 25}, headers=headers
    ).json()["items"]
    for item in items:
        if len(item["links"]) == 1 and item["links"][0].startswith("big_data."):
            link = item["links"][0]
            other = next(lk.id for lk in default_chains()["big_data"].links if lk.id != link)
            return item["enterprise_id"], link, other
    raise AssertionError("no lead of the first page with one big_data link")


def test_a_correction_on_the_page_moves_the_lead_after_a_reload(
    site: tuple[str, str], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, key = site
    firm, link, other = _lead_to_move(base, key)
    for d in chromium(tmp_path):
        # an officer has no 产业链校核
        d.get(f"{base}/links")  # type: ignore[attr-defined]
        _sign_in(d, "zhou.officer", "officer-pass-123")
        assert not d.find_elements(By.ID, "nav-links")  # type: ignore[attr-defined]
        d.get(f"{base}/links")  # type: ignore[attr-defined]
        assert "403" in d.title or "analysts" in d.page_source  # type: ignore[attr-defined]
        d.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()  # type: ignore[attr-defined]
        WebDriverWait(d, 20).until(lambda drv: drv.find_elements(By.ID, "login-form"))
        _sign_in(d, "chen.analyst", PASSWORD)

        d.get(f"{base}/links")  # type: ignore[attr-defined]
        assert d.find_elements(By.ID, "nav-links")  # type: ignore[attr-defined]
        assert len(d.find_elements(By.CSS_SELECTOR, "tr.review-item")) == 20  # type: ignore[attr-defined]
        box = d.find_element(By.ID, "f-firm")  # type: ignore[attr-defined]
        box.send_keys(firm)
        _submit(d, d.find_element(By.ID, "find-firm"))  # type: ignore[attr-defined]
        row = d.find_element(By.CSS_SELECTOR, f"tr.review-item[data-id='{firm}']")  # type: ignore[attr-defined]
        assert row.find_element(By.CSS_SELECTOR, "td.links-now").text
        form = row.find_element(By.CSS_SELECTOR, "form.correct-form")
        Select(form.find_element(By.NAME, "action")).select_by_value("move")
        Select(form.find_element(By.NAME, "link_id")).select_by_value(link)
        Select(form.find_element(By.NAME, "to_link_id")).select_by_value(other)
        form.find_element(By.NAME, "note").send_keys("浏览器校核")
        _submit(d, form.find_element(By.CSS_SELECTOR, "button"))
        assert firm in d.find_element(By.ID, "saved").text  # type: ignore[attr-defined]
        logged = d.find_elements(
            By.CSS_SELECTOR, f"#corrections-log tr.correction[data-id='{firm}']"
        )  # type: ignore[attr-defined]
        assert len(logged) == 1 and "浏览器校核" in logged[0].text
        assert f"{link}:1.00 → {other}:1.00" in logged[0].text

        # the lists still show the state loaded before; the analyst reloads from the page
        def in_link(link_id: str, d: object = d) -> bool:
            d.get(f"{base}/leads?track=bigdata&link={link_id}")  # type: ignore[attr-defined]
            return bool(d.find_elements(By.CSS_SELECTOR, f"tr.lead[data-id='{firm}']"))  # type: ignore[attr-defined]

        assert in_link(link) and not in_link(other)
        d.get(f"{base}/links")  # type: ignore[attr-defined]
        _submit(d, d.find_element(By.ID, "reload"))  # type: ignore[attr-defined]
        assert d.find_elements(By.ID, "reloaded")  # type: ignore[attr-defined]
        height = d.execute_script("return document.body.scrollHeight")  # type: ignore[attr-defined]
        d.set_window_size(1440, min(int(height) + 40, 6000))  # type: ignore[attr-defined]
        d.save_screenshot(str(SCREENSHOT))  # type: ignore[attr-defined]
        assert in_link(other) and not in_link(link)

        d.get(f"{base}/enterprises/{firm}")  # type: ignore[attr-defined]
        evidence = d.find_element(By.ID, "link-evidence").text  # type: ignore[attr-defined]
        assert "人工校核：chen.analyst 20" in evidence and "浏览器校核" in evidence
