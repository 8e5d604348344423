"""The cache of firms contacted through the service: own writes at once, others' within ttl."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from api.crm.contacted import FirmsCache
from api.crm.migrate import open_database
from api.crm.tables import OutreachRecord, session_scope


def test_contacted_cache(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'service.db'}")
    sessions = sessionmaker(engine, expire_on_commit=False)
    cache = FirmsCache(sessions, "shibei", ttl=0.3)
    assert list(cache.get()) == []

    def record(eid: str, park: str = "shibei") -> None:  # as another worker would write it
        with session_scope(sessions) as s:
            s.add(
                OutreachRecord(
                    outreach_id=f"w{eid}",
                    enterprise_id=eid,
                    park_id=park,
                    track="hq",
                    contacted_on=date(2026, 11, 26),
                    outcome="pending",
                    created_at=datetime.now(UTC),
                )
            )

    record("A")
    record("B", park="nantong")
    assert list(cache.get()) == []  # within ttl: not read again
    cache.add("C")  # written by this process: visible at once
    assert list(cache.get()) == ["C"]
    time.sleep(0.35)
    seen = cache.get()
    assert list(seen) == ["C", "A"]  # another park's record never counts
    cache.add("A")  # already there: the list only grows by new firms
    assert cache.get() is seen and len(seen) == 2
    engine.dispose()
