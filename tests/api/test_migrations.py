"""The service database's schema through Alembic: a database written before migrations upgrades
without losing a record (its outreach becoming pipeline events, its keys still working), the
server refuses an old schema and names the command, and the audit is append-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from api.app import SchemaOutdated, create_app
from api.cli import app as cli
from api.crm.migrate import head, schema_state, upgrade
from api.crm.tables import hash_key, make_engine
from data.settings import Settings, get_settings

FIXTURE = Path(__file__).parents[1] / "fixtures" / "service_schema_before_migrations.sql"
OFFICER, ANALYST = "sa_officer-before-migrations", "sa_analyst-before-migrations"


def previous_database(path: Path) -> str:
    """A SQLite database exactly as the previous release wrote it; its URL."""
    sql = FIXTURE.read_text(encoding="utf-8").format(
        officer_hash=hash_key(OFFICER), analyst_hash=hash_key(ANALYST)
    )
    with sqlite3.connect(path) as conn:
        conn.executescript(sql)
    conn.close()
    return f"sqlite:///{path}"


def test_the_previous_schema_upgrades_without_losing_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = previous_database(tmp_path / "service.db")
    engine = make_engine(url)
    state = schema_state(engine)
    assert state.kind == "old" and "attract db upgrade" in state.message

    # the server refuses to start and says what to run
    settings = Settings(home=tmp_path, database_url=url)
    with pytest.raises(SchemaOutdated, match="attract db upgrade"):
        create_app(settings, load="none")
    monkeypatch.setenv("ATTRACT_DATABASE_URL", url)
    monkeypatch.setenv("ATTRACT_HOME", str(tmp_path))
    get_settings.cache_clear()
    refused = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert refused.exit_code == 2 and "attract db upgrade" in refused.output

    done = CliRunner().invoke(cli, ["db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert f"to revision {head()}" in done.output
    assert schema_state(engine).kind == "ready"
    again = CliRunner().invoke(cli, ["db", "upgrade"])
    assert "already at" in again.output
    get_settings.cache_clear()

    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        assert q(
            "SELECT outreach_id, outcome, note FROM outreach_records ORDER BY outreach_id"
        ) == [
            ("w1", "pending", "first call"),
            ("w2", "signed", "signed!"),
            ("w3", "declined", None),
        ]
        assert q("SELECT api_key_id, key FROM idempotency_keys") == [(1, "retry-1")]
        users = dict(q("SELECT username, role FROM users"))
        assert users == {"scripts-officer": "officer", "scripts-analyst": "analyst"}
        leads = q(
            "SELECT enterprise_id, track, stage, lost_reason, version, contacted_on, closed_on "
            "FROM pipeline_leads ORDER BY enterprise_id"
        )
        assert leads == [
            ("E1", "bigdata", "signed", None, 2, "2026-02-01", "2026-03-05"),
            ("E2", "hq", "lost", "declined", 1, "2026-03-01", "2026-03-01"),
        ]
        events = q(
            "SELECT e.field, e.from_value, e.to_value, e.outreach_id, u.username "
            "FROM pipeline_events e JOIN users u ON u.id = e.user_id ORDER BY e.id"
        )
        assert events == [
            ("outreach", None, "contacted", "w1", "scripts-officer"),
            ("outreach", "contacted", "signed", "w2", "scripts-officer"),
            ("outreach", None, "lost", "w3", "scripts-analyst"),
        ]
    # the audit is append-only, whoever connects
    for sql in ("UPDATE pipeline_events SET to_value = 'x'", "DELETE FROM pipeline_events"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))

    # the keys written before still work, with their roles
    with TestClient(create_app(settings, load="none")) as client:
        assert client.get("/api/v1/users", headers={"X-API-Key": ANALYST}).status_code == 403
        r = client.get("/api/v1/pipeline", headers={"X-API-Key": OFFICER})
        assert r.status_code == 503  # known key; the universe is not loaded (load="none")
        assert client.get("/api/v1/pipeline", headers={"X-API-Key": "sa_x"}).status_code == 401


def test_a_new_database_is_created_through_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert schema_state(engine).kind == "empty"
    before, after = upgrade(engine)
    assert before is None and after == head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
