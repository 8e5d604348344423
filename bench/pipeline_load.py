"""Concurrent editing of the pipeline against a running server: ``clients`` threads, each with
its own key, read a random one of the same ``leads`` and change it (a note, often a stage move)
with the version it read, for ``seconds``. Then the audit is checked against what each client
was told: every accepted change in ``pipeline_events`` exactly once, every refused one a 409,
no lost update (a lead's final version is one more than its accepted changes), nothing else.

Used by ``python -m bench.run pipeline_concurrency`` (60 s, SQLite and PostgreSQL) and by
``tests/reliability/test_pipeline_concurrency.py`` (shorter)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

# moves a client tries from each stage (all allowed by the rules; none leaves the open stages
# for good, so the leads keep moving for the whole run)
MOVES = {
    "new": ["contacted"],
    "contacted": ["negotiating", "lost"],
    "negotiating": ["contacted", "signed"],
    "signed": ["lost"],
    "lost": ["contacted"],
}


@dataclass
class Tally:
    """What the clients were told."""

    accepted: list[tuple[int, int, str]] = field(default_factory=list)  # lead, version, note
    refused: int = 0
    other: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)


def hammer(
    base: str, keys: list[str], leads: list[int], *, seconds: float, seed: int = 20211102
) -> Tally:
    """Run the clients (one per key) against ``base`` (``…/api/v1``)."""
    tally = Tally()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int, key: str) -> None:
        rng = random.Random(seed + n)
        headers = {"X-API-Key": key}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            i = 0
            while time.monotonic() < deadline:
                i += 1
                lead = rng.choice(leads)
                got = http.get(f"/pipeline/{lead}")
                if got.status_code != 200:
                    with lock:
                        tally.other[got.status_code] += 1
                    continue
                current = got.json()
                note = f"c{n}-{i}"
                change: dict[str, Any] = {"version": current["version"], "note": note}
                if rng.random() < 0.6:
                    change["stage"] = rng.choice(MOVES[current["stage"]])
                    if change["stage"] == "lost":
                        change["lost_reason"] = "declined"
                started = time.perf_counter()
                r = http.patch(f"/pipeline/{lead}", json=change)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    tally.latencies_ms.append(elapsed)
                    if r.status_code == 200:
                        tally.accepted.append((lead, int(r.json()["version"]), note))
                    elif r.status_code == 409:
                        tally.refused += 1
                    else:
                        tally.other[r.status_code] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n, k)) for n, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tally.seconds = time.monotonic() - started
    return tally


def check(database_url: str, leads: list[int], tally: Tally) -> dict[str, Any]:
    """The audit and the leads against the tally; the figures, and ``ok`` when all hold."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            notes = conn.execute(
                text("SELECT lead_id, version, to_value FROM pipeline_events WHERE field = 'note'")
            ).all()
            rows = conn.execute(text("SELECT id, version FROM pipeline_leads")).all()
            versions = {int(lead): int(v) for lead, v in rows}
    finally:
        engine.dispose()
    wanted = set(leads)
    audit = Counter((int(lead), int(v), str(note)) for lead, v, note in notes if lead in wanted)
    accepted = Counter(tally.accepted)
    per_lead = Counter(lead for lead, _, _ in tally.accepted)
    once = all(audit[a] == 1 for a in accepted) and sum(audit.values()) == len(tally.accepted)
    versions_ok = all(versions[lead] == 1 + per_lead[lead] for lead in leads)
    distinct = len(accepted) == len(tally.accepted)  # no two clients were told the same version
    lat = sorted(tally.latencies_ms)

    def p(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {
        "seconds": round(tally.seconds, 1),
        "accepted": len(tally.accepted),
        "refused_409": tally.refused,
        "other_statuses": dict(tally.other),
        "audit_rows": sum(audit.values()),
        "each_accepted_change_in_audit_once": once,
        "final_versions_match": versions_ok,
        "versions_distinct": distinct,
        "patch_p50_ms": round(p(0.5), 1),
        "patch_p99_ms": round(p(0.99), 1),
        "ok": once and versions_ok and distinct and not tally.other,
    }
