"""Eight clients moving and editing the same 50 leads against `attract serve`, on SQLite and on
PostgreSQL: no lost update, every accepted change in the audit exactly once, every refused one
a 409 (``bench/pipeline_load.py``; ``python -m bench.run pipeline_concurrency`` runs 60 s)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from api.crm.migrate import open_database
from api.crm.people import create_user
from api.crm.tables import create_key
from bench.pipeline_load import check, hammer
from tests.conftest import Trained
from tests.pg import PostgresServer
from tests.served import serve_env, serving

CLIENTS, LEADS, SECONDS = 8, 50, 8


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_eight_clients_on_fifty_leads_lose_nothing(
    backend: str, trained: Trained, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'service.db'}"
        database = None
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        database = server.database()
        url = database.__enter__()
    try:
        engine = open_database(url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        keys = []
        for n in range(CLIENTS):  # team leads: each may change any lead
            create_user(sessions, username=f"lead{n}", role="lead", password=f"lead-password-{n}")
            keys.append(create_key(sessions, username=f"lead{n}"))
        engine.dispose()
        env = serve_env(trained.settings.home, trained.data_dir, ATTRACT_DATABASE_URL=url)
        with serving(env, tmp_path / "server.log") as srv:
            assert srv.ready(timeout=120).status_code == 200
            headers = {"X-API-Key": keys[0]}
            firms = httpx.get(
                f"{srv.base}/leads",
                params={"track": "bigdata", "limit": LEADS},
                headers=headers,
                timeout=30,
            ).json()["items"]
            leads = [
                httpx.post(
                    f"{srv.base}/pipeline",
                    json={"enterprise_id": f["enterprise_id"], "track": "bigdata"},
                    headers=headers,
                    timeout=30,
                ).json()["id"]
                for f in firms
            ]
            tally = hammer(srv.base, keys, leads, seconds=SECONDS)
        figures = check(url, leads, tally)
    finally:
        if database is not None:
            database.__exit__(None, None, None)
    print(f"{backend}: {figures}")
    assert figures["accepted"] > 50 and figures["refused_409"] > 0, figures
    assert figures["each_accepted_change_in_audit_once"], figures
    assert figures["final_versions_match"] and figures["versions_distinct"], figures
    assert figures["other_statuses"] == {}, figures
