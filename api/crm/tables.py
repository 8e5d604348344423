"""The service database (SQLAlchemy): people (users, API keys, sign-in sessions), outreach
records, the lead pipeline with its append-only audit, the strategists' link corrections
(append-only) and idempotency keys.

SQLite by default (``<ATTRACT_HOME>/service.db``, WAL journal, full sync so an acknowledged
write survives a crash); any SQLAlchemy URL (PostgreSQL in production) via
``ATTRACT_DATABASE_URL``. The tables are created and changed only by the Alembic migrations in
``api/crm/migrations`` (``attract db upgrade``); the classes here mirror the newest revision.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from api.errors import DatabaseBusy
from data.pipeline import LANDED_STAGES, ROLES

# how long one attempt waits on a locked SQLite database; with ``with_retries`` a request gives
# up (503) after at most ~ATTEMPTS × BUSY_SECONDS + 0.75 s
BUSY_SECONDS = 1.5
ATTEMPTS = 3
T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base of the service tables."""


class User(Base):
    """A person (or, without a password, a script's identity) with one role."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An API key, stored as its SHA-256 hash only; it acts as its user, with the user's role."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # the user's role when it was created
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class WebSession(Base):
    """A signed-in browser: the cookie's token, stored as its SHA-256 hash only."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class PipelineLead(Base):
    """A firm on one track of the park's pipeline: its stage, owner, next follow-up and the
    scores it had when it entered (for realised-versus-predicted tax later). ``version`` grows by
    one with every change: an update names the version it read."""

    __tablename__ = "pipeline_leads"
    __table_args__ = (
        UniqueConstraint("park_id", "enterprise_id", "track"),
        # the pipeline's views (``api.crm.pipeline``, migration 0006): counts per stage, owner
        # and track from the index alone; follow-ups due by a day; leads in a stage since before
        Index("ix_pipeline_leads_views", "park_id", "stage", "owner_id", "track"),
        Index("ix_pipeline_leads_follow_up", "park_id", "follow_up_on"),
        Index("ix_pipeline_leads_stage_since", "park_id", "stage", "stage_since"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    park_id: Mapped[str] = mapped_column(String(32), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    track: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), index=True)
    lost_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contacted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    p_land: Mapped[float | None] = mapped_column(nullable=True)
    value_wan_cny: Mapped[float | None] = mapped_column(nullable=True)
    tax_p10_wan_cny: Mapped[float | None] = mapped_column(nullable=True)
    tax_p50_wan_cny: Mapped[float | None] = mapped_column(nullable=True)
    tax_p90_wan_cny: Mapped[float | None] = mapped_column(nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # the form it was valued in and the group's tax P50 (tax_p*: what the park would collect)
    landing_form: Mapped[str | None] = mapped_column(String(32), nullable=True)
    group_tax_p50_wan_cny: Mapped[float | None] = mapped_column(nullable=True)
    # the share band it was valued with, and the form it landed in (its officer's record)
    in_park_tax_share_p10: Mapped[float | None] = mapped_column(nullable=True)
    in_park_tax_share_p90: Mapped[float | None] = mapped_column(nullable=True)
    landed_as: Mapped[str | None] = mapped_column(String(32), nullable=True)


class PipelineEvent(Base):
    """One change of a lead, append-only (the migrations add triggers refusing UPDATE and
    DELETE): who, when, which field, from → to, and the lead's version it produced."""

    __tablename__ = "pipeline_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("pipeline_leads.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    field: Mapped[str] = mapped_column(String(16))
    from_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    outreach_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LinkCorrectionRow(Base):
    """A strategist's correction of one firm's chain links (``data.corrections.LinkCorrection``),
    append-only (the migration adds triggers refusing UPDATE and DELETE): the table is its own
    audit, with what the correction changed (``from_links`` → ``to_links``, ``link:share``
    joined by ``;``, or ``none``)."""

    __tablename__ = "link_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    park_id: Mapped[str] = mapped_column(String(32), index=True)
    enterprise_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    to_link_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    corrected_by: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_links: Mapped[str] = mapped_column(Text, default="")
    to_links: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="api")  # api, page, cli or csv


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
    if is_sqlite:
        connect_args: dict[str, Any] = {"timeout": BUSY_SECONDS}
    elif url.startswith(
        "postgresql"
    ):  # a held lock is waited for as long as SQLite's, then retried
        connect_args = {"options": f"-c lock_timeout={int(BUSY_SECONDS * 1000)}"}
    else:
        connect_args = {}
    engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
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


def scripts_user(s: Session, role: str) -> User:
    """The password-less user a key created with only a role belongs to (``scripts-<role>``)."""
    name = f"scripts-{role}"
    found = s.scalars(select(User).where(User.username == name)).first()
    if found is None:
        found = User(
            username=name,
            display_name=f"scripts ({role})",
            role=role,
            password_hash=None,
            disabled=False,
            failed_logins=0,
            created_at=datetime.now(UTC),
        )
        s.add(found)
        s.flush()
    return found


def create_key(
    factory: sessionmaker[Session],
    *,
    username: str | None = None,
    role: str | None = None,
    label: str = "",
) -> str:
    """Create a key acting as user ``username`` (or, given only ``role``, as the scripts user of
    that role); the key itself is returned once and never stored."""
    if role is not None and role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)} (got {role!r})")
    if (username is None) == (role is None):
        raise ValueError("user: name the key's user or (for scripts) its role, not both")
    key = "sa_" + secrets.token_urlsafe(32)
    with session_scope(factory) as s:
        if username is not None:
            user = s.scalars(select(User).where(User.username == username)).first()
            if user is None:
                raise LookupError(f"user: no user {username!r}")
            if user.disabled:
                raise ValueError(f"user: {username!r} is disabled")
        else:
            assert role is not None
            user = scripts_user(s, role)
        s.add(
            ApiKey(
                key_hash=hash_key(key),
                role=user.role,
                label=label,
                created_at=datetime.now(UTC),
                user_id=user.id,
            )
        )
    return key


LANDED_COLUMNS = (
    "lead_id",
    "enterprise_id",
    "track",
    "stage",
    "landed_on",
    "p_land",
    "tax_p10_wan_cny",
    "tax_p50_wan_cny",
    "tax_p90_wan_cny",
    "model_version",
    "landing_form",
    "group_tax_p50_wan_cny",
    "in_park_tax_share_p10",
    "in_park_tax_share_p90",
    "landed_as",
)


def landed_leads(s: Session, park: str) -> list[dict[str, Any]]:
    """The park's leads at landed or paying with the day they landed (their first move to
    ``landed`` in the audit trail; the stage's day when the trail has none) and the scores they
    had as leads."""
    landed_at = (
        select(PipelineEvent.lead_id, func.min(PipelineEvent.at).label("at"))
        .where(PipelineEvent.field == "stage", PipelineEvent.to_value == "landed")
        .group_by(PipelineEvent.lead_id)
        .subquery()
    )
    query = (
        select(PipelineLead, landed_at.c.at)
        .outerjoin(landed_at, landed_at.c.lead_id == PipelineLead.id)
        .where(PipelineLead.park_id == park, PipelineLead.stage.in_(LANDED_STAGES))
        .order_by(PipelineLead.id)
    )
    return [
        {
            "lead_id": lead.id,
            "enterprise_id": lead.enterprise_id,
            "track": lead.track,
            "stage": lead.stage,
            "landed_on": (at or lead.stage_since).date(),
            "p_land": lead.p_land,
            "tax_p10_wan_cny": lead.tax_p10_wan_cny,
            "tax_p50_wan_cny": lead.tax_p50_wan_cny,
            "tax_p90_wan_cny": lead.tax_p90_wan_cny,
            "model_version": lead.model_version,
            "landing_form": lead.landing_form,
            "group_tax_p50_wan_cny": lead.group_tax_p50_wan_cny,
            "in_park_tax_share_p10": lead.in_park_tax_share_p10,
            "in_park_tax_share_p90": lead.in_park_tax_share_p90,
            "landed_as": lead.landed_as,
        }
        for lead, at in s.execute(query).all()
    ]


def pipeline_states(url: str, park: str) -> pd.DataFrame:
    """Every lead of the park's pipeline as (enterprise_id, track, stage, stage_since,
    lost_reason), for ``models.exclusions.not_leads``; empty when the database has no pipeline
    yet or cannot be read."""
    columns = ["enterprise_id", "track", "stage", "stage_since", "lost_reason"]
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            rows = s.execute(
                select(
                    PipelineLead.enterprise_id,
                    PipelineLead.track,
                    PipelineLead.stage,
                    PipelineLead.stage_since,
                    PipelineLead.lost_reason,
                ).where(PipelineLead.park_id == park)
            ).all()
        return pd.DataFrame(rows, columns=columns)
    except (OperationalError, ProgrammingError):
        return pd.DataFrame(columns=columns)
    finally:
        engine.dispose()


def landed_firms(url: str, park: str) -> dict[str, date]:
    """The firms the pipeline says landed in ``park`` (stage landed or paying) and the day they
    landed: they join the park's roster. Empty when the database has no pipeline yet or cannot
    be read."""
    engine = make_engine(url)
    try:
        out: dict[str, date] = {}
        with Session(engine) as s:
            rows = landed_leads(s, park)
        for row in rows:  # a firm landed on two tracks: the earlier day
            day = row["landed_on"]
            out[row["enterprise_id"]] = min(day, out.get(row["enterprise_id"], day))
        return out
    except (OperationalError, ProgrammingError):
        return {}
    finally:
        engine.dispose()
