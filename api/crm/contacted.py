"""A short-lived in-memory cache of the firms contacted through the service, so a request costs
no database round trip (callers are cached by ``api.crm.people.CallerCache``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.crm.tables import OutreachRecord, session_scope, with_retries

LATE_COMMIT_MARGIN = timedelta(minutes=2)


class ContactedCache:
    """The firms contacted through the service (for ``exclude_contacted``), read from the
    database at most every ``ttl`` seconds instead of on every request; a record written by
    this process is visible at once, one written by another worker within ``ttl``.

    ``get`` returns one append-only list (records are never deleted), so a lead table can
    apply only the ids added since it last looked instead of all of them on every request."""

    def __init__(self, sessions: sessionmaker[Session], park: str, ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.park = park
        self.ttl = ttl
        self._read_at = -float("inf")
        self._since: datetime | None = None
        self._ids: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def get(self) -> Sequence[str]:
        """The contacted firms' ids (may block on the database: call it off the event loop)."""
        if time.monotonic() - self._read_at >= self.ttl:
            read_at, started = time.monotonic(), datetime.now(UTC)
            # after the first full read, only what was created lately (with a wide margin for
            # transactions that committed late): re-reading every record held the GIL for
            # ~100 ms every ttl once tens of thousands had accumulated
            since = self._since
            ids = with_retries(lambda: self._query(since))
            with self._lock:
                self._extend(ids)
                self._read_at, self._since = read_at, started - LATE_COMMIT_MARGIN
        return self._ids

    def add(self, enterprise_id: str) -> None:
        """A record this process has just written."""
        with self._lock:
            self._extend([enterprise_id])

    def _extend(self, ids: list[str]) -> None:
        for eid in ids:
            if eid not in self._seen:
                self._seen.add(eid)
                self._ids.append(eid)

    def _query(self, since: datetime | None) -> list[str]:
        q = select(OutreachRecord.enterprise_id).where(OutreachRecord.park_id == self.park)
        if since is not None:
            q = q.where(OutreachRecord.created_at >= since)
        with session_scope(self.sessions) as s:
            return list(s.scalars(q.distinct()))
