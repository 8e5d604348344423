"""The board and team views from ``GROUP BY`` queries equal what counting every lead in Python
gives (the views they replace), on SQLite and PostgreSQL; the queries use their indexes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from api.crm.pipeline import PipelineQuery, board, list_leads, team, view_counts
from api.crm.tables import session_scope
from data.pipeline import OPEN_STAGES, STAGES
from tests.api.conftest import Api
from tests.api.test_pipeline import Team, _create, _patch, people

__all__ = ["people"]


def _every_lead(api: Api) -> list[dict[str, Any]]:
    state = api.app.state.holder.current
    found = list_leads(state, api.app.state.sessions, PipelineQuery(), limit=1_000_000, offset=0)
    return list(found["items"])


def _a_pipeline(api: Api, people: Team) -> None:
    """Leads of two officers and unassigned ones, in several stages, some overdue, some stale."""
    past = str(date.today() - timedelta(days=2))
    for who, stages in ((people.alice, ("contacted", "negotiating")), (people.bob, ("contacted",))):
        lead = _create(api, who, follow_up_on=past)
        for stage in stages:
            lead = _patch(api, who, lead, stage=stage).json()
        lost = _create(api, who)
        _patch(api, who, lost, stage="lost", lost_reason="no_response")
    _create(api, people.lead)  # the team lead's own
    unassigned = _create(api, people.lead, owner=None)
    stale = _create(api, people.bob)
    with session_scope(api.app.state.sessions) as s:
        for lead_id, at in (
            (stale["id"], datetime(2020, 1, 1, tzinfo=UTC)),
            (unassigned["id"], datetime(2021, 6, 1, 12, tzinfo=UTC)),
        ):
            s.execute(
                text("UPDATE pipeline_leads SET stage_since = :at WHERE id = :id"),
                {"at": at, "id": lead_id},
            )


def test_the_views_equal_the_python_counts_they_replace(api: Api, people: Team) -> None:
    _a_pipeline(api, people)
    state, sessions = api.app.state.holder.current, api.app.state.sessions
    leads = _every_lead(api)
    for track in (None, "bigdata"):
        mine = [x for x in leads if track is None or x["track"] == track]
        columns = board(state, sessions, track)
        assert [c["stage"] for c in columns] == list(STAGES)
        for c in columns:
            these = [x for x in mine if x["stage"] == c["stage"]]
            assert c["count"] == len(these)
            assert c["expected_value_wan_cny"] == pytest.approx(
                sum(x["expected_value_wan_cny"] or 0.0 for x in these)
            )
            assert [x["id"] for x in c["leads"]] == [x["id"] for x in these][:12]
    for stale_days in (30, 1000):
        view = team(state, sessions, stale_days)
        owners = sorted({x["owner"] or "" for x in leads})
        assert [r["owner"] or "" for r in view["owners"]] == owners
        for row in view["owners"]:
            mine = [x for x in leads if (x["owner"] or "") == (row["owner"] or "")]
            open_ = [x for x in mine if x["stage"] in OPEN_STAGES]
            assert row["leads"] == len(mine) and row["open"] == len(open_)
            assert row["per_stage"] == {st: sum(x["stage"] == st for x in mine) for st in STAGES}
            assert row["oldest_stage_age_days"] == max(
                (x["stage_age_days"] for x in open_), default=None
            )
            assert row["overdue"] == sum(x["overdue"] for x in open_)
            assert [x["id"] for x in row["stale"]] == [
                x["id"] for x in open_ if x["stage_age_days"] > stale_days
            ]
    counts = view_counts(sessions, state.park_id, stale_days=30)
    assert sum(c.stale for c in counts) == sum(x["stage_age_days"] > 30 for x in leads)
    assert sum(c.overdue for c in counts) == sum(x["overdue"] for x in leads)
    assert sum(c.stale for c in counts if c.owner == people.names[1]) == 1  # bob's


def test_the_counts_read_an_index(api: Api) -> None:
    """The plan of the views' query names the migration's index (SQLite and PostgreSQL)."""
    with api.app.state.engine.connect() as db:
        if api.backend == "sqlite":
            plan = db.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT stage, owner_id, track, COUNT(*) FROM "
                    "pipeline_leads WHERE park_id = 'shibei' GROUP BY stage, owner_id, track"
                )
            ).all()
            assert any("ix_pipeline_leads_views" in str(row) for row in plan), plan
        else:
            db.execute(text("SET enable_seqscan = off"))
            plan = db.execute(
                text(
                    "EXPLAIN SELECT stage, owner_id, track, COUNT(*) FROM pipeline_leads "
                    "WHERE park_id = 'shibei' GROUP BY stage, owner_id, track"
                )
            ).all()
            assert any("ix_pipeline_leads_views" in str(row) for row in plan), plan
