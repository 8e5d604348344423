"""The service database's schema and safety: where it stands against the migrations, upgrading
it (``attract db upgrade``), and backing it up and restoring it (``attract db backup|restore``).

The migrations live in ``api/crm/migrations`` (Alembic). A database written before migrations
existed has the first revision's tables and no ``alembic_version``: it is stamped ``0001``, then
upgraded like any other. The service database is the one thing that cannot be regenerated
(people, pipeline, audit), so backups use each engine's own consistent-copy tool: SQLite's
online backup API, ``pg_dump`` / ``pg_restore`` for PostgreSQL.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.crm.tables import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_TABLES = {"api_keys", "outreach_records", "idempotency_keys"}  # revision 0001's
UPGRADE_HINT = "run `attract db upgrade` (back it up first: `attract db backup FILE`)"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package's migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: ``ready`` (at the newest revision), ``empty``, ``old`` (an older
    revision, or tables from before migrations), ``newer`` (a revision this code does not know)
    or ``unreachable``; ``message`` says it in words, with the command to run."""

    kind: str
    current: str | None
    head: str
    message: str


def schema_state(engine: Engine) -> SchemaState:
    """Read the database's revision without changing anything."""
    newest = head()
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        return SchemaState("unreachable", None, newest, f"unreachable: {exc.orig}")
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current == newest:
        return SchemaState("ready", current, newest, "ready")
    if current is None and not tables - {"alembic_version"}:
        return SchemaState("empty", None, newest, "empty: no tables yet")
    if current is not None and current not in known:
        return SchemaState(
            "newer",
            current,
            newest,
            f"the database is at revision {current}, which this version of the service does "
            f"not know (newest here: {newest}); run a newer release",
        )
    was = current or "from before migrations"
    return SchemaState(
        "old",
        current,
        newest,
        f"the database schema is old (revision {was}; this version needs {newest}); {UPGRADE_HINT}",
    )


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str]:
    """Upgrade to ``target``; returns (revision before, revision after). Records are kept: each
    revision moves what it changes (``0002`` turns outreach records into pipeline events)."""
    state = schema_state(engine)
    if state.kind == "unreachable":
        raise RuntimeError(f"database {state.message}")
    if state.kind == "newer":
        raise RuntimeError(state.message)
    before: str | None = state.current
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a table copied by a batch migration must not trip the foreign keys
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            config = alembic_config(conn)
            tables = set(inspect(conn).get_table_names())
            before = state.current
            if state.current is None and tables >= FIRST_TABLES:
                command.stamp(config, "0001")  # tables written by the pre-migration create_all
                before = "0001 (tables from before migrations)"
            command.upgrade(config, target)
            conn.commit()
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after or ""


def open_database(url: str) -> Engine:
    """An engine on a database at the newest schema: a new, empty one is created through the
    migrations; an old or unknown one is a ``RuntimeError`` naming the command to run."""
    engine = make_engine(url)
    state = schema_state(engine)
    if state.kind == "empty":
        upgrade(engine)
    elif state.kind != "ready":
        engine.dispose()
        raise RuntimeError(f"database: {state.message}")
    return engine


def _libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq's (``pg_dump`` and ``pg_restore`` read it)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise ValueError("database: an in-memory SQLite database cannot be backed up")
    return Path(path)


def backup(url: str, target: Path) -> int:
    """A consistent copy of the live database at ``target`` (writers may keep writing: what was
    committed when the copy began is in it). Returns the file's size in bytes."""
    if target.exists():
        raise FileExistsError(f"{target}: exists; choose a new file (a backup never overwrites)")
    target.parent.mkdir(parents=True, exist_ok=True)
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)
        finally:
            dest.close()
            source.close()
    elif dialect == "postgresql":
        _run(["pg_dump", "--format=custom", f"--file={target}", _libpq_url(url)], target)
    else:
        raise ValueError(f"database: no backup for {dialect!r} (sqlite or postgresql)")
    return target.stat().st_size


def restore(source: Path, url: str, *, replace: bool = False) -> None:
    """Restore ``source`` (from ``backup``) into the database at ``url``; one that already holds
    service tables is replaced only with ``replace`` (stop the server first)."""
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such backup file")
    engine = make_engine(url)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    if state.kind not in {"empty", "unreachable"} and not replace:
        raise FileExistsError(
            f"database: already holds service tables ({state.message}); "
            "pass --replace to overwrite it with the backup"
        )
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(path, timeout=30)
        try:
            with dest:
                src.backup(dest)
        finally:
            dest.close()
            src.close()
    elif dialect == "postgresql":
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={_libpq_url(url)}",
                str(source),
            ],
            source,
        )
    else:
        raise ValueError(f"database: no restore for {dialect!r} (sqlite or postgresql)")


def _run(args: list[str], file: Path) -> None:
    if shutil.which(args[0]) is None:
        raise RuntimeError(f"{args[0]}: not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed on {file}: {done.stderr.strip()[:500]}")
