"""Outreach records: written idempotently, listed with the imported history
(``api/routes/outreach.py``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db import IdempotencyKey, OutreachRecord, session_scope, with_retries
from api.people import Caller
from api.schemas import OutreachIn
from api.services import (
    Conflict,
    InvalidInput,
    NotFound,
    check_track,
    clean,
    json_default,
)
from api.services.pipeline import record_outreach, snapshot_of
from api.state import ServiceState
from data import columns as C


def _body_hash(payload: OutreachIn) -> str:
    return hashlib.sha256(payload.model_dump_json().encode("utf-8")).hexdigest()


def _record_dict(r: OutreachRecord) -> dict[str, object]:
    return {
        "outreach_id": r.outreach_id,
        "enterprise_id": r.enterprise_id,
        "park_id": r.park_id,
        "track": r.track,
        "campaign": r.campaign,
        "contacted_on": r.contacted_on,
        "outcome": r.outcome,
        "closed_on": r.closed_on,
        "officer": r.officer,
        "note": r.note,
        "source": "service",
    }


def create_outreach(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    caller: Caller,
    payload: OutreachIn,
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    """Store an outreach record and its pipeline event; a repeated idempotency key (scoped to
    the caller's API key) returns the first response (``Conflict`` when the body differs).
    Returns (status code, body)."""
    api_key_id = caller.key_id
    if api_key_id is None:  # a browser session has no key to scope the idempotency key to
        idempotency_key = None
    if state.row_of(payload.enterprise_id) is None:
        raise NotFound(f"enterprise_id: no enterprise {payload.enterprise_id!r}")
    check_track(state, payload.track)
    if payload.closed_on is not None and payload.closed_on < payload.contacted_on:
        raise InvalidInput("closed_on: must not be before contacted_on")
    body_hash = _body_hash(payload)
    snapshot = snapshot_of(state, payload.enterprise_id, payload.track)

    def previous(s: Session) -> tuple[int, dict[str, Any]] | None:
        if idempotency_key is None:
            return None
        found = s.get(IdempotencyKey, (api_key_id, idempotency_key))
        if found is None:
            return None
        if found.body_hash != body_hash:
            raise Conflict("Idempotency-Key: already used with a different body")
        return found.status_code, json.loads(found.response_json)

    def write() -> tuple[int, dict[str, Any]]:
        with session_scope(factory) as s:
            earlier = previous(s)
            if earlier is not None:
                return earlier
            record = OutreachRecord(
                outreach_id="w" + uuid.uuid4().hex[:20],
                enterprise_id=payload.enterprise_id,
                park_id=state.settings.park,
                track=payload.track,
                campaign=payload.campaign,
                contacted_on=payload.contacted_on,
                outcome=payload.outcome,
                closed_on=payload.closed_on,
                officer=payload.officer,
                note=payload.note,
                created_at=datetime.now(UTC),
                api_key_id=api_key_id,
                user_id=caller.user_id,
            )
            s.add(record)
            record_outreach(
                s,
                caller,
                park=state.settings.park,
                enterprise_id=payload.enterprise_id,
                track=payload.track,
                outcome=payload.outcome,
                contacted_on=payload.contacted_on,
                closed_on=payload.closed_on,
                note=payload.note,
                outreach_id=record.outreach_id,
                snapshot=snapshot,
            )
            body = _record_dict(record)
            if idempotency_key is not None:
                s.add(
                    IdempotencyKey(
                        api_key_id=api_key_id,
                        key=idempotency_key,
                        body_hash=body_hash,
                        status_code=201,
                        response_json=json.dumps(body, default=json_default),
                        created_at=datetime.now(UTC),
                    )
                )
            return 201, json.loads(json.dumps(body, default=json_default))

    try:
        return with_retries(write)
    except IntegrityError:  # a concurrent retry with the same key won the race: answer as it did
        with session_scope(factory) as s:
            earlier = previous(s)
            if earlier is None:
                raise
            return earlier


def outreach_for(
    state: ServiceState,
    factory: sessionmaker[Session],
    *,
    enterprise_id: str | None = None,
    track: str | None = None,
    outcome: str | None = None,
    limit: int,
    offset: int,
) -> dict[str, object]:
    """Outreach of the park: the imported history and the service's records, newest first."""
    hist = state.park_outreach if enterprise_id is None else state.outreach_of(enterprise_id)
    if track is not None and len(hist):
        hist = hist[hist[C.TRACK] == track]
    if outcome is not None and len(hist):
        hist = hist[hist[C.OUTCOME] == outcome]

    def query() -> tuple[list[dict[str, object]], int]:
        with session_scope(factory) as s:
            q = select(OutreachRecord).where(OutreachRecord.park_id == state.settings.park)
            if enterprise_id is not None:
                q = q.where(OutreachRecord.enterprise_id == enterprise_id)
            if track is not None:
                q = q.where(OutreachRecord.track == track)
            if outcome is not None:
                q = q.where(OutreachRecord.outcome == outcome)
            ordered = q.order_by(OutreachRecord.created_at.desc())
            if enterprise_id is not None:  # one firm's records are few: one query, no count
                rows = s.scalars(ordered).all()
                return [_record_dict(r) for r in rows[: offset + limit]], len(rows)
            n = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(ordered.limit(offset + limit)).all()
            return [_record_dict(r) for r in rows], int(n)

    service_rows, service_total = with_retries(query)
    total = service_total + len(hist)
    items = list(service_rows)
    if len(items) < offset + limit and len(hist):
        need = offset + limit - len(items)
        older = hist.head(need)  # already newest first
        items += [
            {**{str(k): clean(v) for k, v in r.items()}, "source": "history"}
            for r in older.to_dict("records")
        ]
    return {
        "items": items[offset : offset + limit],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
