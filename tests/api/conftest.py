"""A loaded app over the session's trained demo, with a key of each role (each acts as its
role's scripts user)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import create_key
from tests.conftest import Trained


@dataclass(frozen=True)
class Api:
    app: FastAPI
    client: TestClient
    officer: dict[str, str]
    analyst: dict[str, str]
    admin: dict[str, str]
    lead: dict[str, str]


@pytest.fixture(scope="session")
def api(trained: Trained) -> Iterator[Api]:
    app = create_app(trained.settings, load="sync")
    with TestClient(app) as client:
        officer = {"X-API-Key": create_key(app.state.sessions, role="officer")}
        analyst = {"X-API-Key": create_key(app.state.sessions, role="analyst")}
        admin = {"X-API-Key": create_key(app.state.sessions, role="admin")}
        lead = {"X-API-Key": create_key(app.state.sessions, role="lead")}
        yield Api(app=app, client=client, officer=officer, analyst=analyst, admin=admin, lead=lead)
