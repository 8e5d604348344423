"""``attract db backup`` / ``restore`` on SQLite and PostgreSQL: a backup taken while writers
keep writing holds every record acknowledged before it began, and restores elsewhere."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli
from api.crm.migrate import backup, open_database, restore
from api.crm.tables import OutreachRecord, session_scope, with_retries
from api.errors import DatabaseBusy
from data.settings import get_settings
from tests.pg import PostgresServer


@contextmanager
def two_databases(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[str, str]]:
    """The URL of a live database and of an empty one to restore into."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'restored.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as live, server.database() as target:
        yield live, target


def _write(sessions: sessionmaker, note: str) -> str:  # type: ignore[type-arg]
    oid = "b" + uuid.uuid4().hex[:20]
    with session_scope(sessions) as s:
        s.add(
            OutreachRecord(
                outreach_id=oid,
                enterprise_id="E" + oid[-6:],
                park_id="shibei",
                track="hq",
                contacted_on=date(2026, 11, 26),
                outcome="pending",
                note=note,
                created_at=datetime.now(UTC),
            )
        )
    return oid  # acknowledged: the commit returned


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_backup_under_write_load_keeps_every_acknowledged_record(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with two_databases(backend, tmp_path, request) as (live, target):
        engine = open_database(live)
        sessions = sessionmaker(engine, expire_on_commit=False)
        acked: list[str] = []
        stop = threading.Event()
        errors: list[BaseException] = []

        refused: list[str] = []

        def writer(n: int) -> None:
            # as the service writes: retried while the database is locked, and a write that
            # stays locked through every retry is refused (503), never acknowledged
            try:
                while not stop.is_set():
                    try:
                        acked.append(with_retries(lambda: _write(sessions, f"writer {n}")))
                    except DatabaseBusy:
                        refused.append(f"writer {n}")
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        before = list(acked)  # everything acknowledged before the backup began
        file = tmp_path / f"backup-{backend}.bak"
        size = backup(live, file)
        time.sleep(0.5)  # writers still at it after the copy
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        written = set(acked)
        assert size > 0 and len(before) > 20 and len(written) > len(before)

        restore(file, target)
        restored_engine = open_database(target)  # at the newest schema, no upgrade needed
        with restored_engine.connect() as conn:
            restored = set(conn.scalars(select(OutreachRecord.outreach_id)))
        assert set(before) <= restored  # nothing acknowledged before the backup is missing
        assert restored <= written  # and nothing appears that was never written
        with pytest.raises(FileExistsError, match="--replace"):
            restore(file, target)  # a database with service tables is not overwritten silently
        restore(file, target, replace=True)
        with pytest.raises(FileExistsError, match="never overwrites"):
            backup(live, file)
        restored_engine.dispose()
        engine.dispose()


def test_the_cli_backs_up_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = f"sqlite:///{tmp_path / 'live.db'}"
    sessions = sessionmaker(open_database(live), expire_on_commit=False)
    oid = _write(sessions, "cli")
    monkeypatch.setenv("ATTRACT_DATABASE_URL", live)
    get_settings.cache_clear()
    runner = CliRunner()
    made = runner.invoke(cli, ["db", "backup", str(tmp_path / "b.bak")])
    assert made.exit_code == 0 and "backed up" in made.output
    again = runner.invoke(cli, ["db", "backup", str(tmp_path / "b.bak")])
    assert again.exit_code == 2 and "never overwrites" in again.output
    monkeypatch.setenv("ATTRACT_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    done = runner.invoke(cli, ["db", "restore", str(tmp_path / "b.bak")])
    assert done.exit_code == 0, done.output
    missing = runner.invoke(cli, ["db", "restore", str(tmp_path / "nope.bak")])
    assert missing.exit_code == 2 and "no such backup" in missing.output
    get_settings.cache_clear()
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as conn:
        assert list(conn.scalars(select(OutreachRecord.outreach_id))) == [oid]
