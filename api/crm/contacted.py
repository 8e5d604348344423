"""Short-lived in-memory caches of the firms contacted through the service (outreach records)
and of the firms put on the pipeline, so a request costs no database round trip (callers are
cached by ``api.crm.people.CallerCache``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.crm.tables import OutreachRecord, PipelineLead, session_scope, with_retries
from api.errors import DatabaseBusy

LATE_COMMIT_MARGIN = timedelta(minutes=2)


class FirmsCache:
    """The firms contacted through the service (for ``exclude_contacted``), read from the
    database at most every ``ttl`` seconds instead of on every request; a record written by
    this process is visible at once, one written by another worker within ``ttl``.

    ``get`` returns one append-only list (records are never deleted), so a lead table can
    apply only the ids added since it last looked instead of all of them on every request."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        park: str,
        *,
        ttl: float = 2.0,
    ) -> None:
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


class RecentLeads:
    """The firms put on the park's pipeline since this process started, with the time each
    lead was created: a list leaves out the firms put on the pipeline after its state was
    loaded (the load's own exclusions hold the earlier ones). ``since`` never waits for the
    database: when the answer is older than ``ttl`` seconds it asks a background thread to read
    what is new, so another worker's lead shows within about ``ttl``."""

    def __init__(self, sessions: sessionmaker[Session], park: str, ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.park = park
        self.ttl = ttl
        self._started = datetime.now(UTC) - LATE_COMMIT_MARGIN
        self._read_at = -float("inf")
        self._since = self._started
        self._leads: dict[str, datetime] = {}
        self._reading = False
        self._lock = threading.Lock()

    def since(self, at: datetime) -> list[str]:
        """The firms whose lead was created at or after ``at``, as last read."""
        with self._lock:
            stale = time.monotonic() - self._read_at >= self.ttl and not self._reading
            if stale:
                self._reading = True
            found = [eid for eid, created in self._leads.items() if created >= at]
        if stale:
            threading.Thread(target=self.refresh, name="recent-leads", daemon=True).start()
        return found

    def refresh(self) -> None:
        """Read the leads created since the last read (a database error waits for the next)."""
        read_at, started, since = time.monotonic(), datetime.now(UTC), self._since
        try:
            rows = with_retries(lambda: self._query(since))
        except DatabaseBusy:
            rows = None
        with self._lock:
            self._reading = False
            if rows is not None:
                for eid, created in rows:
                    self._leads.setdefault(eid, _utc(created))
                self._read_at, self._since = read_at, started - LATE_COMMIT_MARGIN

    def add(self, enterprise_id: str) -> None:
        """A lead this process has just created."""
        with self._lock:
            self._leads.setdefault(enterprise_id, datetime.now(UTC))

    def _query(self, since: datetime) -> list[tuple[str, datetime]]:
        q = select(PipelineLead.enterprise_id, PipelineLead.created_at).where(
            PipelineLead.park_id == self.park, PipelineLead.created_at >= since
        )
        with session_scope(self.sessions) as s:
            return [(str(e), c) for e, c in s.execute(q).all()]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
