"""The service database (SQLAlchemy): API keys, outreach records and idempotency keys.

SQLite by default (``<ATTRACT_HOME>/service.db``, WAL journal, full sync so an acknowledged
write survives a crash); any SQLAlchemy URL (PostgreSQL in production) via
``ATTRACT_DATABASE_URL``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

ROLES = ("officer", "analyst")
# how long one attempt waits on a locked SQLite database; with ``with_retries`` a request gives
# up (503) after at most ~ATTEMPTS × BUSY_SECONDS + 0.75 s
BUSY_SECONDS = 1.5
ATTEMPTS = 3
T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base of the service tables."""


class ApiKey(Base):
    """An API key, stored as its SHA-256 hash only."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutreachRecord(Base):
    """An outreach outcome recorded through the service."""

    __tablename__ = "outreach_records"
    outreach_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    park_id: Mapped[str] = mapped_column(String(32))
    track: Mapped[str] = mapped_column(String(16))
    campaign: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contacted_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(16))
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    officer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))


class IdempotencyKey(Base):
    """The first response to a POST with an ``Idempotency-Key``, scoped to the API key."""

    __tablename__ = "idempotency_keys"
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def make_engine(url: str) -> Engine:
    """An engine; for SQLite with WAL, full sync and a busy timeout (its folder is created)."""
    is_sqlite = url.startswith("sqlite")
    if is_sqlite and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": BUSY_SECONDS} if is_sqlite else {}, pool_pre_ping=True
    )
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def ensure_schema(engine: Engine) -> str:
    """Create the tables if missing; ``ready`` or the reason the database cannot be reached."""
    try:
        Base.metadata.create_all(engine)
    except OperationalError as exc:
        return f"unreachable: {exc.orig}"
    return "ready"


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


class DatabaseBusy(RuntimeError):
    """The database stayed locked or unreachable through every retry."""


def with_retries(fn: Callable[[], T], *, attempts: int = ATTEMPTS, wait_seconds: float = 0.25) -> T:
    """Run ``fn`` again when the database is locked or unreachable, then give up (``DatabaseBusy``)."""
    import time

    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError as exc:
            if attempt == attempts - 1:
                raise DatabaseBusy(
                    "the database is busy or unreachable; try again shortly"
                ) from exc
            time.sleep(wait_seconds * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def hash_key(key: str) -> str:
    """SHA-256 of an API key (keys are 256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(factory: sessionmaker[Session], *, role: str, label: str = "") -> str:
    """Create a key with ``role``; the key itself is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)} (got {role!r})")
    key = "sa_" + secrets.token_urlsafe(32)
    with session_scope(factory) as s:
        s.add(ApiKey(key_hash=hash_key(key), role=role, label=label, created_at=datetime.now(UTC)))
    return key


def find_key(factory: sessionmaker[Session], key: str) -> ApiKey | None:
    """The stored key matching ``key``, or ``None``."""
    with session_scope(factory) as s:
        found = s.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(key))).first()
        if found is not None:
            s.expunge(found)
        return found
