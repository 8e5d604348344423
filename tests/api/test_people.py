"""People: argon2-hashed passwords, sign-in with lock-out, sessions, disabling (at once), the
admin API and page, and no password ever in a log."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.crm.people import LOCK_AFTER
from api.crm.tables import User, create_key, session_scope
from tests.api.conftest import Api

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """A client over HTTPS (the session cookie is secure) that keeps cookies like a browser."""
    with TestClient(api.app, base_url="https://testserver") as client:
        yield client


def _user(api: Api, name: str, role: str = "officer") -> None:
    r = api.client.post(
        "/api/v1/users",
        json={"username": name, "role": role, "password": PASSWORD},
        headers=api.admin,
    )
    assert r.status_code == 201, r.text


def _sign_in(client: TestClient, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"username": name, "password": password}, follow_redirects=False
    )


def test_passwords_are_stored_as_argon2_hashes_only(api: Api) -> None:
    _user(api, "hash.check")
    with session_scope(api.app.state.sessions) as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "hash.check")).one()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    listed = api.client.get("/api/v1/users", headers=api.admin).json()
    row = next(u for u in listed if u["username"] == "hash.check")
    assert "password" not in str(row) and "argon2" not in str(row) and row["can_sign_in"]


def test_bad_users_are_refused_naming_the_field(api: Api) -> None:
    cases = [
        ({"username": "Bad Name", "role": "officer", "password": PASSWORD}, "username"),
        ({"username": "short.pw", "role": "officer", "password": "abc"}, "password"),
        ({"username": "no.role", "role": "boss", "password": PASSWORD}, "role"),
    ]
    for body, field in cases:
        r = api.client.post("/api/v1/users", json=body, headers=api.admin)
        assert r.status_code == 422 and field in str(r.json()["detail"][0]["loc"]), r.text
    _user(api, "taken.name")
    r = api.client.post(
        "/api/v1/users",
        json={"username": "taken.name", "role": "officer", "password": PASSWORD},
        headers=api.admin,
    )
    assert r.status_code == 422 and "taken" in r.json()["detail"][0]["msg"]
    assert api.client.get("/api/v1/users", headers=api.officer).status_code == 403


def test_sign_in_session_cookie_and_sign_out(api: Api, browser: TestClient) -> None:
    _user(api, "sign.in")
    assert _sign_in(browser, "sign.in", "wrong password!").status_code == 401
    r = _sign_in(browser, "sign.in")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "attract_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=strict" in cookie.lower()
    assert browser.get("/pipeline").status_code == 200
    token = browser.cookies["attract_session"]
    browser.post("/logout")
    again = TestClient(api.app, base_url="https://testserver", cookies={"attract_session": token})
    page = again.get("/pipeline", follow_redirects=False)  # the old cookie is worthless now
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_repeated_failures_lock_the_account_until_a_reset(api: Api, browser: TestClient) -> None:
    _user(api, "lock.me")
    for _ in range(LOCK_AFTER):
        assert _sign_in(browser, "lock.me", "not the password").status_code == 401
    r = _sign_in(browser, "lock.me")  # even the right password, while locked
    assert r.status_code == 401 and "locked" in r.text
    listed = api.client.get("/api/v1/users", headers=api.admin).json()
    assert next(u for u in listed if u["username"] == "lock.me")["locked_until"]
    new = "a brand new password"
    r = api.client.patch("/api/v1/users/lock.me", json={"password": new}, headers=api.admin)
    assert r.status_code == 200 and r.json()["locked_until"] is None
    assert _sign_in(browser, "lock.me", new).status_code == 303


def test_a_disabled_user_stops_at_once_sessions_and_keys(api: Api, browser: TestClient) -> None:
    _user(api, "leaving.soon")
    key = {"X-API-Key": create_key(api.app.state.sessions, username="leaving.soon")}
    assert _sign_in(browser, "leaving.soon").status_code == 303
    assert browser.get("/pipeline").status_code == 200
    assert api.client.get("/api/v1/pipeline", headers=key).status_code == 200  # cached now
    r = api.client.patch("/api/v1/users/leaving.soon", json={"disabled": True}, headers=api.admin)
    assert r.status_code == 200 and r.json()["disabled"]
    assert api.client.get("/api/v1/pipeline", headers=key).status_code == 401
    assert browser.get("/pipeline", follow_redirects=False).status_code == 303
    assert _sign_in(browser, "leaving.soon").status_code == 401
    api.client.patch("/api/v1/users/leaving.soon", json={"disabled": False}, headers=api.admin)
    assert api.client.get("/api/v1/pipeline", headers=key).status_code == 200
    r = api.client.patch("/api/v1/users/nobody.at.all", json={"disabled": True}, headers=api.admin)
    assert r.status_code == 404
    r = api.client.patch("/api/v1/users/scripts-admin", json={"disabled": True}, headers=api.admin)
    assert r.status_code == 422 and "own account" in r.json()["detail"][0]["msg"]


def test_the_admin_page_creates_disables_and_resets(api: Api, browser: TestClient) -> None:
    _user(api, "page.admin", role="admin")
    assert _sign_in(browser, "page.admin").status_code == 303
    page = browser.get("/admin/users")
    assert page.status_code == 200 and 'id="create-user"' in page.text
    r = browser.post(
        "/admin/users",
        data={"username": "page.made", "role": "lead", "password": PASSWORD, "display_name": "王"},
    )
    assert r.status_code == 200 and 'id="users-done"' in r.text and 'id="user-page.made"' in r.text
    r = browser.post("/admin/users/page.made", data={"action": "disable"})
    assert re.search(r'id="user-page\.made">.*?class="status">已停用', r.text, re.S)
    r = browser.post("/admin/users", data={"username": "x", "role": "lead", "password": PASSWORD})
    assert 'id="users-error"' in r.text and "username" in r.text
    _user(api, "not.admin")
    with TestClient(api.app, base_url="https://testserver") as other:
        assert _sign_in(other, "not.admin").status_code == 303
        assert other.get("/admin/users").status_code == 403


def test_passwords_are_never_logged(
    api: Api, browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["log secret 0001", "log secret 0002", "log secret 0003"]
    with caplog.at_level(logging.DEBUG):
        r = api.client.post(
            "/api/v1/users",
            json={"username": "log.check", "role": "officer", "password": secrets[0]},
            headers=api.admin,
        )
        assert r.status_code == 201
        _sign_in(browser, "log.check", secrets[1])  # wrong
        api.client.patch(
            "/api/v1/users/log.check", json={"password": secrets[2]}, headers=api.admin
        )
        _sign_in(browser, "log.check", secrets[2])
        refused = api.client.post(  # FastAPI's 422 echoes a refused value: not a password
            "/api/v1/users",
            json={"username": "log.check2", "role": "officer", "password": "tiny-pw9"},
            headers=api.admin,
        )
    assert refused.status_code == 422 and "tiny-pw9" not in refused.text
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in [*secrets, "tiny-pw9"]:
        assert secret not in logged


def test_users_create_prints_a_generated_password_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import sessionmaker
    from typer.testing import CliRunner

    from api.cli import app as cli
    from api.crm.migrate import open_database
    from api.crm.people import authenticate
    from data.settings import get_settings

    monkeypatch.setenv("ATTRACT_HOME", str(tmp_path))
    monkeypatch.delenv("ATTRACT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(cli, ["users", "create", "first.admin", "--role", "admin"])
        assert made.exit_code == 0, made.output
        password = made.stdout.strip().splitlines()[-1]
        assert len(password) >= 10
        again = runner.invoke(
            cli, ["users", "create", "first.admin", "--role", "admin", "--exist-ok"]
        )
        assert again.exit_code == 0 and password not in again.output and "exists" in again.output
        taken = runner.invoke(cli, ["users", "create", "first.admin", "--role", "admin"])
        assert taken.exit_code == 2 and "taken" in taken.output
        bad = runner.invoke(cli, ["users", "create", "second", "--role", "boss"])
        assert bad.exit_code == 2 and "role" in bad.output
        key = runner.invoke(cli, ["keys", "create", "--user", "first.admin"])
        assert key.exit_code == 0 and key.stdout.strip().splitlines()[-1].startswith("sa_")
        nobody = runner.invoke(cli, ["keys", "create", "--user", "nobody"])
        assert nobody.exit_code == 2 and "--user: no user" in nobody.output
        listed = runner.invoke(cli, ["users", "list"])
        assert "first.admin" in listed.stdout and password not in listed.stdout
        engine = open_database(f"sqlite:///{tmp_path / 'service.db'}")
        caller = authenticate(sessionmaker(engine), "first.admin", password)
        assert caller.role == "admin"
        engine.dispose()
    finally:
        get_settings.cache_clear()
