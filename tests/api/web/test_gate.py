"""The pages' gate and error map, on hand-made states through ``app.dependency_overrides``: no
trained demo, no universe. Each page passes one gate (signed in → role → components loaded);
every domain error has one status, the same for the JSON API and the pages."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.crm.people import Caller
from api.deps import get_callers, get_state
from api.errors import STATUS, Conflict, DatabaseBusy, InvalidInput, NotFound
from api.serving.state import COMPONENTS, ServiceState
from api.web.leads import shown_track
from data.reference import default_parks
from data.settings import Settings

PEOPLE = {
    "officer-cookie": Caller(user_id=1, username="li.na", display_name="李娜", role="officer"),
    "admin-cookie": Caller(user_id=2, username="boss", display_name="Boss", role="admin"),
}
ERRORS = {
    "not-found": NotFound("id: no pipeline lead 7"),
    "conflict": Conflict("version: the lead changed since you read it"),
    "invalid": InvalidInput("stage: cannot move from new to landed"),
    "forbidden": PermissionError("role 'analyst' may not change the pipeline"),
    "busy": DatabaseBusy("the database is busy or unreachable; try again shortly"),
}


class Callers:
    """The caller cache of a test: a session cookie per person of ``PEOPLE``."""

    def get(self, kind: str, secret: str) -> Caller | None:
        return PEOPLE.get(secret) if kind == "session" else None

    def forget(self, kind: str, secret: str) -> None:
        """Nothing is cached."""


def _state(settings: Settings, **status: str) -> ServiceState:
    state = ServiceState(settings=settings, park=default_parks()[settings.park])
    state.status = dict.fromkeys(COMPONENTS, "not loaded: test") | status
    return state


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """An app on an empty SQLite file that loads nothing and is never written to."""
    home = tmp_path_factory.mktemp("gate")
    settings = Settings(home=home, data_dir=home / "no-universe", cookie_secure=False)
    app = create_app(settings, load="none")
    raising = APIRouter()
    for name in ERRORS:

        def fail(name: str = name) -> None:
            raise ERRORS[name]

        for prefix in ("/api/v1", ""):
            raising.add_api_route(f"{prefix}/test-errors/{name}", fail, include_in_schema=False)
    app.include_router(raising)
    app.dependency_overrides[get_callers] = Callers
    yield app
    app.state.engine.dispose()


@pytest.fixture()
def app(site: FastAPI) -> FastAPI:
    """The module's app with this test's state: nothing loaded (a test may set another)."""
    settings: Settings = site.state.settings
    site.dependency_overrides[get_state] = lambda: _state(settings)
    return site


def _client(app: FastAPI, cookie: str | None = None) -> TestClient:
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    if cookie:
        client.cookies.set("attract_session", cookie)
    return client


@pytest.mark.parametrize(
    "path", ["/leads", "/leads?track=hq", "/pipeline", "/kpis", "/chains/big_data", "/model"]
)
def test_a_page_without_sign_in_goes_to_the_sign_in_page_and_back(app: FastAPI, path: str) -> None:
    r = _client(app).get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2F")
    assert r.headers["location"].endswith(
        path.replace("/", "%2F").replace("?", "%3F").replace("=", "%3D")
    )


def test_a_page_waits_for_what_it_needs_and_says_why(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    app.dependency_overrides[get_state] = lambda: _state(
        settings, data="ready", graph="ready", model="not loaded: no champion yet"
    )
    client = _client(app, "officer-cookie")
    waiting = client.get("/leads")
    assert waiting.status_code == 503 and "model: not loaded: no champion yet" in waiting.text
    assert 'id="error"' not in waiting.text
    # a page that needs only the data and the graph is past the gate (and fails on the chain)
    chain = client.get("/chains/nope")
    assert chain.status_code != 503


def test_roles_are_checked_before_anything_is_shown(app: FastAPI) -> None:
    officer = _client(app, "officer-cookie")
    people = officer.get("/admin/users")
    assert people.status_code == 403 and "people are managed by admins" in people.text
    team = officer.get("/pipeline/team")
    assert team.status_code == 403 and "the team view is for team leads" in team.text
    # the admin passes the role check; the team page then waits for the data (503, not 403)
    assert _client(app, "admin-cookie").get("/pipeline/team").status_code == 503


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_each_error_has_one_status_for_the_api_and_the_pages(app: FastAPI, name: str) -> None:
    client = _client(app, "officer-cookie")
    expected = STATUS[type(ERRORS[name])]
    as_json = client.get(f"/api/v1/test-errors/{name}")
    as_page = client.get(f"/test-errors/{name}")
    assert as_json.status_code == as_page.status_code == expected
    assert as_page.headers["content-type"].startswith("text/html")
    assert str(ERRORS[name]) in html.unescape(as_page.text)
    body = as_json.json()["detail"]
    if isinstance(ERRORS[name], InvalidInput):  # FastAPI's 422 shape: the field and the reason
        assert body == [
            {
                "loc": ["body", "stage"],
                "msg": "cannot move from new to landed",
                "type": "value_error",
            }
        ]
    else:
        assert body == str(ERRORS[name])


def test_the_home_page_is_the_lead_list_of_the_parks_first_track() -> None:
    nantong = default_parks()["nantong"]
    state = ServiceState(settings=Settings(park="nantong"), park=nantong)
    assert shown_track(state, None) == next(iter(nantong.tracks)) != "bigdata"
    with pytest.raises(NotFound, match="track: nantong has no track 'bigdata'"):
        shown_track(state, "bigdata")


def test_home_and_sign_in_lead_to_the_list_without_naming_a_track(app: FastAPI) -> None:
    client = _client(app)
    assert client.get("/").headers["location"] == "/leads"
    form = client.get("/login?lang=en")
    assert form.status_code == 200 and 'name="next" value="/leads"' in form.text
    assert form.cookies.get("attract_lang") == "en"
