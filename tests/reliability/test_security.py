"""Every route except health, readiness and the docs requires a key (walks the OpenAPI schema)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.crm.tables import create_key
from tests.api.conftest import Api
from tests.conftest import Trained

OPEN = {"/api/v1/health", "/api/v1/ready"}


def test_every_route_needs_a_key(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    checked = 0
    for path, methods in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in methods:
            r = api.client.request(method.upper(), concrete, params={"track": "hq"})
            if path in OPEN:
                assert r.status_code in (200, 503), (method, path, r.status_code)
            else:
                assert r.status_code == 401, (method, path, r.status_code)
                assert "X-API-Key" in r.json()["detail"]
            checked += 1
    assert checked >= 14  # every operation of the schema
    assert api.client.get("/docs").status_code == 200


def test_keys_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from api.crm.tables import ApiKey, session_scope

    raw = api.officer["X-API-Key"]
    with session_scope(api.app.state.sessions) as s:
        stored = [k.key_hash for k in s.scalars(select(ApiKey))]
    assert raw not in stored and all(len(h) == 64 for h in stored)


def test_export_cells_are_formula_safe() -> None:
    from api.serving.export import neutralise

    for bad in ('=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert str(neutralise(bad)).startswith("'")
    assert neutralise("上海数据港") == "上海数据港" and neutralise(-5.0) == -5.0


def _operations(api: Api) -> list[tuple[str, str, str]]:
    schema = api.client.get("/openapi.json").json()
    return [
        (method.upper(), path, re.sub(r"\{[^}]+\}", "x", path))
        for path, methods in schema["paths"].items()
        for method in methods
        if path not in OPEN
    ]


def _allowed(method: str, path: str) -> set[str]:
    """The roles a route lets through: reload for analysts and admins, people for admins,
    pipeline writes for officers, team leads and admins, the chain-link review and its
    corrections for analysts, team leads and admins, every other read for everyone."""
    if path.startswith("/api/v1/links/"):
        return {"analyst", "lead", "admin"}
    if path.startswith("/api/v1/admin/"):
        return {"analyst", "admin"}
    if path.startswith("/api/v1/users"):
        return {"admin"}
    if path.startswith("/api/v1/pipeline") and method in {"POST", "PATCH"}:
        return {"officer", "lead", "admin"}
    return {"officer", "lead", "analyst", "admin"}


def test_roles_are_enforced_per_route(api: Api) -> None:
    """Every route against every role: the allowed ones pass the role check, the others get 403
    naming the roles needed."""
    keys = {"officer": api.officer, "lead": api.lead, "analyst": api.analyst, "admin": api.admin}
    refused = 0
    for method, path, concrete in _operations(api):
        allowed = _allowed(method, path)
        for role, headers in keys.items():
            r = api.client.request(method, concrete, headers=headers)
            if role in allowed:
                assert r.status_code not in (401, 403), (role, method, path, r.text)
            else:
                refused += 1
                assert r.status_code == 403, (role, method, path, r.status_code)
                assert "needs" in r.json()["detail"], (role, method, path)
    assert refused >= 10


def test_keys_are_never_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "sa_" + "x" * 43
    with caplog.at_level(logging.DEBUG):
        for headers in (api.officer, api.analyst, {"X-API-Key": wrong}):
            api.client.get("/api/v1/leads", params={"track": "hq", "limit": 1}, headers=headers)
            api.client.post("/api/v1/score", json={"firms": []}, headers=headers)
        api.client.post(
            "/login", data={"username": "nobody", "password": wrong}, follow_redirects=False
        )
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for key in (api.officer["X-API-Key"], api.analyst["X-API-Key"], wrong):
        assert key not in logged


def test_no_stack_trace_or_sql_in_any_response(trained: Trained) -> None:
    from sqlalchemy.exc import OperationalError

    app = create_app(trained.settings, load="none")

    @app.get("/boom/{kind}")
    def boom(kind: str) -> None:
        if kind == "sql":
            raise OperationalError("SELECT key_hash FROM api_keys", {}, Exception("disk I/O error"))
        if kind == "value":
            raise ValueError("feature matrix lacks columns: secret_column")
        raise RuntimeError("Traceback: internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        for kind in ("sql", "value", "runtime"):
            r = client.get(f"/boom/{kind}")
            assert r.status_code == 500
            assert r.json() == {"detail": "internal error; it has been logged"}
        # the key is checked before anything else, even when nothing is loaded
        r = client.get("/api/v1/leads", params={"track": "nope"}, headers={"X-API-Key": "k"})
        assert r.status_code == 401


def test_request_body_is_capped_with_or_without_content_length(trained: Trained) -> None:
    settings = trained.settings.model_copy(update={"max_body_bytes": 10_000})
    app = create_app(settings, load="none")
    with TestClient(app) as client:
        key = {"X-API-Key": create_key(app.state.sessions, role="officer")}
        big = b'{"firms": [' + b'{"name": "x"},' * 2_000 + b'{"name": "x"}]}'
        declared = client.post("/api/v1/score", content=big, headers=key)
        assert declared.status_code == 413 and "10,000 bytes" in declared.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
            for i in range(0, len(big), 1_000):
                yield big[i : i + 1_000]

        streamed = client.post(
            "/api/v1/score", content=chunks(), headers={**key, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413 and "10,000 bytes" in streamed.text
        lying = client.post("/api/v1/score", content=b"{}", headers={**key, "Content-Length": "x"})
        assert lying.status_code in (400, 413)


@pytest.mark.one_engine
def test_limits_are_capped(api: Api) -> None:
    for path in ("/api/v1/leads", "/api/v1/outreach", "/api/v1/chains/big_data/links/x/candidates"):
        r = api.client.get(path, params={"track": "hq", "limit": 501}, headers=api.officer)
        assert r.status_code == 422 and "limit" in r.text, path


@pytest.mark.one_engine
def test_cors_is_closed_unless_configured(api: Api, trained: Trained) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    closed = api.client.options("/api/v1/leads", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    got = api.client.get(
        "/api/v1/leads",
        params={"track": "hq"},
        headers={**api.officer, "Origin": preflight["Origin"]},
    )
    assert "access-control-allow-origin" not in got.headers

    settings = trained.settings.model_copy(update={"cors_origins": ("https://park.example",)})
    with TestClient(create_app(settings, load="none")) as client:
        allowed = client.options(
            "/api/v1/leads", headers={**preflight, "Origin": "https://park.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://park.example"
        refused = client.options("/api/v1/leads", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers
