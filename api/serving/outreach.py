"""Outreach of the park as one list: the imported history and the records the service holds
(``api/routes/outreach.py``, the enterprise page)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.crm.outreach import record_dict
from api.crm.tables import OutreachRecord, session_scope, with_retries
from api.jsonable import clean
from api.serving.state import ServiceState
from data import columns as C


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
                return [record_dict(r) for r in rows[: offset + limit]], len(rows)
            n = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = s.scalars(ordered.limit(offset + limit)).all()
            return [record_dict(r) for r in rows], int(n)

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
