"""A short-lived in-memory cache of API-key lookups, so a request costs no database round trip.

Entries live ``ttl`` seconds; a deleted or changed key stops working within that time.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from api.db import ApiKey, find_key, hash_key, with_retries


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
