"""The strategists' link corrections in the service database (产业链校核): stored append-only in
``link_corrections`` (each row its own audit entry: who, when, the firm, the action, the links,
the note and the firm's links before → after), read back as ``data.corrections.LinkCorrection``
for every load (``api.serving.state.load_state``), re-import (``attract import``) and
training (``attract train``).

Writes come from the API, the page, the CLI and the CSV import, and all go through
``record``: every correction of a call is checked first (``check``: an unknown firm is
``NotFound``, an unknown link or one of another park's chains ``InvalidInput`` naming the
field) and then all are stored in one transaction, or none. Only ``data.pipeline.CORRECTORS``
(analyst, lead, admin) may correct (``PermissionError`` otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from api.crm.people import Caller
from api.crm.tables import LinkCorrectionRow, User, make_engine, session_scope, with_retries
from api.errors import InvalidInput, NotFound
from data import columns as C
from data.corrections import (
    CorrectionError,
    LinkCorrection,
    correction_effect,
    correction_problems,
    parse_correction,
)
from data.pipeline import CORRECTORS
from data.reference import default_chains, default_parks

SOURCES = ("api", "page", "cli", "csv")


class Served(Protocol):
    """What a correction is checked against: the served park and its universe's firms
    (``api.serving.state.ServiceState`` is one; so is the CLI's universe without a model)."""

    @property
    def park_id(self) -> str:
        """The served park's id."""

    def row_of(self, enterprise_id: str) -> int | None:
        """The firm's row in the universe, ``None`` for an unknown id."""


def check_corrector(caller: Caller) -> None:
    """``PermissionError`` unless the caller's role may correct the chain attachment."""
    if caller.role not in CORRECTORS:
        raise PermissionError(
            f"role {caller.role!r} may not correct chain links; needs {' or '.join(CORRECTORS)}"
        )


def check(served: Served, correction: LinkCorrection) -> None:
    """A correction checked against the served universe and the reference files: an unknown
    firm is ``NotFound`` (``enterprise_id: …``), any other problem ``InvalidInput`` naming the
    field (``link_id: unknown link …``, ``to_link_id: … not one of park shibei's chains``)."""
    if served.row_of(correction.enterprise_id) is None:
        raise NotFound(f"enterprise_id: no enterprise {correction.enterprise_id!r}")
    problems = correction_problems(correction, parks=default_parks(), chains=default_chains())
    if problems:
        field, reason = problems[0]
        raise InvalidInput(f"{field}: {reason}")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _as_correction(row: LinkCorrectionRow) -> LinkCorrection:
    return LinkCorrection(
        park_id=row.park_id,
        enterprise_id=row.enterprise_id,
        action=row.action,  # type: ignore[arg-type]
        link_id=row.link_id,
        to_link_id=row.to_link_id,
        note=row.note or "",
        corrected_by=row.corrected_by,
        corrected_at=_utc(row.corrected_at),
        correction_id=row.id,
    )


def _read(s: Session, enterprise_ids: Sequence[str] | None = None) -> list[LinkCorrection]:
    query = select(LinkCorrectionRow).order_by(LinkCorrectionRow.id)
    if enterprise_ids is not None:
        query = query.where(LinkCorrectionRow.enterprise_id.in_(list(enterprise_ids)))
    return [_as_correction(r) for r in s.scalars(query)]


def stored(factory: sessionmaker[Session]) -> list[LinkCorrection]:
    """Every stored correction (all parks; each park's speak only of its own chains), oldest
    first."""

    def read() -> list[LinkCorrection]:
        with factory() as s:
            return _read(s)

    return with_retries(read)


def stored_corrections(url: str) -> list[LinkCorrection]:
    """The corrections of the service database at ``url``; empty when it has no corrections
    table yet (a database never migrated to 0005) or cannot be read — the attacher's links are
    then what every reader sees."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return _read(s)
    except (OperationalError, ProgrammingError):
        return []
    finally:
        engine.dispose()


def _user(s: Session, caller: Caller) -> int | None:
    found = s.get(User, caller.user_id)
    return found.id if found is not None else None


def record(
    factory: sessionmaker[Session],
    caller: Caller,
    corrections: Sequence[LinkCorrection],
    *,
    attacher_links: pd.DataFrame,
    source: str = "api",
) -> list[dict[str, Any]]:
    """Store ``corrections`` (already ``check``-ed) in one transaction, each with what it changes
    of its firm's links (``attacher_links``: the attacher's rows of those firms, before any
    correction) given the corrections stored before it; the stored rows as dicts."""
    check_corrector(caller)
    if source not in SOURCES:
        raise ValueError(f"source: one of {', '.join(SOURCES)} (got {source!r})")
    ids = sorted({c.enterprise_id for c in corrections})

    def write() -> list[dict[str, Any]]:
        with session_scope(factory) as s:
            earlier = _read(s, ids)
            rows = []
            for c in corrections:
                before, after = correction_effect(c, links=attacher_links, earlier=earlier)
                row = LinkCorrectionRow(
                    park_id=c.park_id,
                    enterprise_id=c.enterprise_id,
                    action=c.action,
                    link_id=c.link_id,
                    to_link_id=c.to_link_id,
                    note=c.note,
                    corrected_by=c.corrected_by,
                    user_id=_user(s, caller),
                    corrected_at=c.corrected_at,
                    from_links=before,
                    to_links=after,
                    source=source,
                )
                s.add(row)
                s.flush()
                earlier.append(c.model_copy(update={"correction_id": row.id}))
                rows.append(row)
            return [correction_dict(r) for r in rows]

    return with_retries(write)


def correction_dict(row: LinkCorrectionRow) -> dict[str, Any]:
    """A stored correction for JSON and pages."""
    return {
        "id": row.id,
        C.PARK_ID: row.park_id,
        C.ENTERPRISE_ID: row.enterprise_id,
        "action": row.action,
        C.LINK_ID: row.link_id,
        C.TO_LINK_ID: row.to_link_id,
        "note": row.note or "",
        "corrected_by": row.corrected_by,
        "corrected_at": _utc(row.corrected_at),
        "from_links": row.from_links,
        "to_links": row.to_links,
        "source": row.source,
    }


def list_corrections(
    factory: sessionmaker[Session],
    *,
    park_id: str | None = None,
    enterprise_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The stored corrections (the audit), newest first, paged; ``total`` counts them all."""

    def read() -> dict[str, Any]:
        query = select(LinkCorrectionRow)
        count = select(func.count()).select_from(LinkCorrectionRow)
        if park_id is not None:
            query = query.where(LinkCorrectionRow.park_id == park_id)
            count = count.where(LinkCorrectionRow.park_id == park_id)
        if enterprise_id is not None:
            query = query.where(LinkCorrectionRow.enterprise_id == enterprise_id)
            count = count.where(LinkCorrectionRow.enterprise_id == enterprise_id)
        with factory() as s:
            total = int(s.scalar(count) or 0)
            rows = s.scalars(
                query.order_by(LinkCorrectionRow.id.desc()).offset(offset).limit(limit)
            ).all()
            return {"total": total, "items": [correction_dict(r) for r in rows]}

    return with_retries(read)


def caller_named(factory: sessionmaker[Session], username: str) -> Caller:
    """The caller a CLI command acts as (``--by``): an enabled user who may correct."""
    with factory() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise LookupError(f"--by: no user {username!r} (attract users create …)")
    if user.disabled:
        raise ValueError(f"--by: {username!r} is disabled")
    caller = Caller(
        user_id=user.id, username=user.username, display_name=user.display_name, role=user.role
    )
    try:
        check_corrector(caller)
    except PermissionError as exc:
        raise ValueError(f"--by: {exc}") from exc
    return caller


def build(
    served: Served,
    caller: Caller,
    *,
    enterprise_id: str,
    action: str,
    link_id: str | None = None,
    to_link_id: str | None = None,
    links: Sequence[str] | None = None,
    note: str = "",
    at: datetime | None = None,
) -> list[LinkCorrection]:
    """The corrections one decision of ``caller`` about a firm of the served park stands for,
    each checked (``check``): one, or for ``set`` an ``outside`` and a ``confirm`` per link of
    ``links`` (the firm's links in the park's chains become exactly those). A bad field is
    ``InvalidInput`` / ``NotFound`` naming it."""
    check_corrector(caller)
    now = at or datetime.now(UTC)
    base: dict[str, object] = {
        C.PARK_ID: served.park_id,
        C.ENTERPRISE_ID: enterprise_id,
        C.NOTE: note,
        C.CORRECTED_BY: caller.username,
        C.CORRECTED_AT: now,
    }
    if action == "set":
        if link_id or to_link_id:
            raise InvalidInput("links: set takes its links in links, not link_id / to_link_id")
        if not links:
            raise InvalidInput("links: set needs at least one link (outside for none)")
        if len(set(links)) != len(links):
            raise InvalidInput("links: a link is named twice")
        raws: list[dict[str, object]] = [{**base, "action": "outside"}]
        raws += [{**base, "action": "confirm", C.LINK_ID: link} for link in links]
    else:
        if links:
            raise InvalidInput(f"links: only set takes a list of links, not {action}")
        raws = [{**base, "action": action, C.LINK_ID: link_id, C.TO_LINK_ID: to_link_id}]
    out = []
    for raw in raws:
        try:
            correction = parse_correction(raw)
        except CorrectionError as exc:
            raise InvalidInput(f"{exc.field}: {exc.reason}") from exc
        check(served, correction)
        out.append(correction)
    return out
