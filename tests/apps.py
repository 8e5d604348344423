"""A loaded app over the session's trained demo with a key of each role (each acts as its role's
scripts user), once on SQLite and once on a real PostgreSQL server: every test that takes
``api`` runs on both. One instance per backend for the whole session (``tests/conftest.py``
registers the fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.crm.tables import create_key
from tests.pg import PostgresServer

if TYPE_CHECKING:
    from tests.conftest import Trained


@dataclass(frozen=True)
class Api:
    app: FastAPI
    client: TestClient
    officer: dict[str, str]
    analyst: dict[str, str]
    admin: dict[str, str]
    lead: dict[str, str]
    backend: str  # sqlite or postgresql


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, trained: Trained) -> Iterator[Api]:
    settings = trained.settings
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        database = server.database()
        url = database.__enter__()
        request.addfinalizer(lambda: database.__exit__(None, None, None))
        settings = settings.model_copy(update={"database_url": url})
    app = create_app(settings, load="sync")
    with TestClient(app) as client:
        keys = {
            role: {"X-API-Key": create_key(app.state.sessions, role=role)}
            for role in ("officer", "analyst", "admin", "lead")
        }
        yield Api(app=app, client=client, backend=request.param, **keys)
    app.state.engine.dispose()
