"""A locked or busy service database: bounded retries, then 503 — never a 500, never a lost
or doubled write."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.crm.tables import (
    ATTEMPTS,
    BUSY_SECONDS,
    DatabaseBusy,
    OutreachRecord,
    session_scope,
    with_retries,
)
from tests.api.conftest import Api

V1 = "/api/v1"


@contextmanager
def locked(api: Api) -> Iterator[None]:
    """Another process's write transaction holding the write lock: SQLite's database lock, or
    on PostgreSQL an EXCLUSIVE lock on the outreach table (reads go on, writes wait)."""
    url = api.app.state.settings.database
    if api.backend == "sqlite":
        conn = sqlite3.connect(
            Path(url.removeprefix("sqlite:///")), timeout=0, isolation_level=None
        )
        try:
            conn.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    import psycopg
    from sqlalchemy import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False)) as pg:
        pg.execute("LOCK TABLE outreach_records IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()


def _stored(api: Api, note: str) -> int:
    with session_scope(api.app.state.sessions) as s:
        return int(s.scalar(select(func.count()).where(OutreachRecord.note == note)) or 0)


def _body(api: Api, note: str) -> dict[str, str]:
    firm = api.client.get(f"{V1}/leads", params={"track": "hq", "limit": 1}, headers=api.officer)
    return {
        "enterprise_id": firm.json()["items"][0]["enterprise_id"],
        "track": "hq",
        "outcome": "declined",
        "contacted_on": "2026-11-25",
        "note": note,
    }


def test_locked_database_gives_503_after_bounded_retries_then_the_retry_lands_once(
    api: Api,
) -> None:
    note = f"locked-{uuid.uuid4().hex[:8]}"
    body = _body(api, note)
    headers = {**api.officer, "Idempotency-Key": note}
    with locked(api):
        started = time.monotonic()
        r = api.client.post(f"{V1}/outreach", json=body, headers=headers)
        waited = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] and "busy" in r.json()["detail"]
        assert "sqlite" not in r.text.lower() and "INSERT" not in r.text and "lock" not in r.text
        # bounded: every attempt waited its busy timeout, and no more than the retries allow
        assert ATTEMPTS * BUSY_SECONDS * 0.9 <= waited <= ATTEMPTS * BUSY_SECONDS + 5, waited
        # reads go on while a writer holds the lock (WAL)
        assert api.client.get(f"{V1}/outreach", headers=api.officer).status_code == 200
    assert _stored(api, note) == 0  # the refused write did not land half-way
    retry = api.client.post(f"{V1}/outreach", json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    again = api.client.post(f"{V1}/outreach", json=body, headers=headers)
    assert again.json() == retry.json()
    assert _stored(api, note) == 1


def test_a_lock_released_within_the_retries_costs_no_error(api: Api) -> None:
    note = f"brief-{uuid.uuid4().hex[:8]}"
    body = _body(api, note)
    answer: list[int] = []

    def post() -> None:
        r = api.client.post(f"{V1}/outreach", json=body, headers=api.officer)
        answer.append(r.status_code)

    with locked(api):
        writer = threading.Thread(target=post)
        writer.start()
        time.sleep(BUSY_SECONDS * 1.5)  # past the first attempt, within the second
    writer.join(timeout=30)
    assert answer == [201]
    assert _stored(api, note) == 1


def test_with_retries_is_bounded() -> None:
    from sqlalchemy.exc import OperationalError

    calls = []

    def always_locked() -> None:
        calls.append(time.monotonic())
        raise OperationalError("INSERT INTO x", {}, sqlite3.OperationalError("database is locked"))

    with pytest.raises(DatabaseBusy) as caught:
        with_retries(always_locked, wait_seconds=0.01)
    assert len(calls) == ATTEMPTS
    assert "INSERT" not in str(caught.value) and "locked" not in str(caught.value)
