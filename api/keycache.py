"""Short-lived in-memory caches of database reads, so a request costs no database round trip:
API-key lookups (a deleted or changed key stops working within ``ttl``) and the firms contacted
through the service."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db import ApiKey, OutreachRecord, find_key, hash_key, session_scope, with_retries


class KeyCache:
    """Maps a key's hash to its stored record (or to ``None`` for an unknown key)."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 60.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> ApiKey | None:
        """The stored key, from the cache when fresh, else from the database."""
        digest = hash_key(key)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(digest)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = with_retries(lambda: find_key(self.sessions, key))
        with self._lock:
            if (
                len(self._entries) > 10_000
            ):  # unknown keys from a scan must not grow it without bound
                self._entries.clear()
            self._entries[digest] = (now, found)
        return found


class ContactedCache:
    """The firms contacted through the service (for ``exclude_contacted``), read from the
    database at most every ``ttl`` seconds instead of on every request; a record written by
    this process is visible at once, one written by another worker within ``ttl``."""

    def __init__(self, sessions: sessionmaker[Session], park: str, ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.park = park
        self.ttl = ttl
        self._read_at = -float("inf")
        self._read: frozenset[str] = frozenset()
        self._written_here: set[str] = set()  # records are never deleted, so this stays true
        self._lock = threading.Lock()

    def get(self) -> frozenset[str]:
        """The contacted firms' ids (may block on the database: call it off the event loop)."""
        if time.monotonic() - self._read_at >= self.ttl:
            read_at = time.monotonic()
            ids = frozenset(with_retries(self._query))
            with self._lock:
                self._read, self._read_at = ids, read_at
        with self._lock:
            return self._read | self._written_here

    def add(self, enterprise_id: str) -> None:
        """A record this process has just written."""
        with self._lock:
            self._written_here.add(enterprise_id)

    def _query(self) -> list[str]:
        with session_scope(self.sessions) as s:
            rows = s.scalars(
                select(OutreachRecord.enterprise_id)
                .where(OutreachRecord.park_id == self.park)
                .distinct()
            )
            return list(rows)
