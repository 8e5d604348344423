"""The API tests' app. The trained demo is loaded once for the session (``served``: data, graph,
champion, lead tables — the expensive part, read-only), and every test that takes ``api`` gets
an app of its own over it with a service database of its own: a new SQLite file, or a new
database on the session's PostgreSQL server, so what one test writes no other test sees. Every
test that takes ``api`` runs on both engines, except those marked ``one_engine`` (SQLite only).
``tests/conftest.py`` registers the fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.crm.tables import create_key
from api.serving.state import StateHolder
from tests.pg import PostgresServer

if TYPE_CHECKING:
    from tests.conftest import Trained

ROLES = ("officer", "analyst", "admin", "lead")


@dataclass(frozen=True)
class Api:
    app: FastAPI
    client: TestClient
    officer: dict[str, str]
    analyst: dict[str, str]
    admin: dict[str, str]
    lead: dict[str, str]
    backend: str  # sqlite or postgresql


@pytest.fixture(scope="session")
def served(trained: Trained) -> StateHolder:
    """The session's trained demo, loaded once and shared by every test's app (never written)."""
    holder = StateHolder(trained.settings)
    state = holder.load()
    assert state.ready, state.status
    return holder


@pytest.fixture(params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, trained: Trained, served: StateHolder, tmp_path: Path
) -> Iterator[Api]:
    """An app over the shared state with a database of its own and a key of each role (each
    acting as its role's scripts user)."""
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        database = server.database()
        url = database.__enter__()
        request.addfinalizer(lambda: database.__exit__(None, None, None))
    else:
        url = f"sqlite:///{tmp_path / 'service.db'}"
    settings = trained.settings.model_copy(update={"database_url": url})
    app = create_app(settings, load="none", holder=served)
    with TestClient(app) as client:
        keys = {role: {"X-API-Key": create_key(app.state.sessions, role=role)} for role in ROLES}
        yield Api(app=app, client=client, backend=request.param, **keys)
    app.state.engine.dispose()
