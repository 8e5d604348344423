"""Outreach records, written idempotently with their pipeline event (``api/routes/outreach.py``;
``api.serving.outreach`` lists them with the imported history)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.crm.people import Caller
from api.crm.pipeline import record_outreach
from api.crm.served import Served
from api.crm.tables import IdempotencyKey, OutreachRecord, session_scope, with_retries
from api.errors import Conflict, InvalidInput, NotFound
from api.jsonable import json_default
from api.schemas import OutreachIn
from data.reference import track_error


def _body_hash(payload: OutreachIn) -> str:
    return hashlib.sha256(payload.model_dump_json().encode("utf-8")).hexdigest()


def record_dict(r: OutreachRecord) -> dict[str, object]:
    """A stored record in the API's shape."""
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
    served: Served,
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
    if served.row_of(payload.enterprise_id) is None:
        raise NotFound(f"enterprise_id: no enterprise {payload.enterprise_id!r}")
    assert served.park is not None
    unknown_track = track_error(served.park, payload.track)
    if unknown_track is not None:
        raise InvalidInput(unknown_track)
    if payload.closed_on is not None and payload.closed_on < payload.contacted_on:
        raise InvalidInput("closed_on: must not be before contacted_on")
    body_hash = _body_hash(payload)
    snapshot = served.lead_scores(payload.enterprise_id, payload.track)

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
                park_id=served.park_id,
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
                park=served.park_id,
                enterprise_id=payload.enterprise_id,
                track=payload.track,
                outcome=payload.outcome,
                contacted_on=payload.contacted_on,
                closed_on=payload.closed_on,
                note=payload.note,
                outreach_id=record.outreach_id,
                snapshot=snapshot,
            )
            body = record_dict(record)
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
