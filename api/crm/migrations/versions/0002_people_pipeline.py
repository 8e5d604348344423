"""People and the lead pipeline: users (every API key belongs to one), sign-in sessions, pipeline
leads and their append-only audit; the outreach records already stored become pipeline events.

Keys written before this revision belong to a script user per role (``scripts-officer``,
``scripts-analyst``: no password, so no one signs in as them), so every key keeps working with
the role it had.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# an outreach outcome as the stage (and loss reason) it leaves the lead in; frozen here as it was
# when the revision was written (api/services/pipeline.py keeps the living copy)
OUTCOME_STAGE = {
    "pending": ("contacted", None),
    "interested": ("negotiating", None),
    "signed": ("signed", None),
    "declined": ("lost", "declined"),
    "no_response": ("lost", "no_response"),
}
RESOLVED = {"signed", "lost"}


def upgrade() -> None:
    users = op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_users_username", "users", ["username"], unique=True)
    conn = op.get_bind()
    now = datetime.now(UTC)
    roles = [r for (r,) in conn.execute(sa.text("SELECT DISTINCT role FROM api_keys"))]
    for role in sorted(roles):
        conn.execute(
            users.insert().values(
                username=f"scripts-{role}",
                display_name=f"API keys ({role}) created before accounts existed",
                role=role,
                password_hash=None,
                disabled=False,
                failed_logins=0,
                created_at=now,
            )
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    conn.execute(
        sa.text(
            "UPDATE api_keys SET user_id = (SELECT id FROM users "
            "WHERE users.username = 'scripts-' || api_keys.role)"
        )
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_api_keys_user_id", "users", ["user_id"], ["id"])
        batch.create_index("ix_api_keys_user_id", ["user_id"])
    # an outcome recorded on a page is recorded by a person, with no key
    with op.batch_alter_table("outreach_records") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=True)
    conn.execute(
        sa.text(
            "UPDATE outreach_records SET user_id = "
            "(SELECT user_id FROM api_keys WHERE api_keys.id = outreach_records.api_key_id)"
        )
    )
    with op.batch_alter_table("outreach_records") as batch:
        batch.create_foreign_key("fk_outreach_records_user_id", "users", ["user_id"], ["id"])

    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    leads = op.create_table(
        "pipeline_leads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("park_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("track", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("lost_reason", sa.String(32), nullable=True),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("p_land", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("tax_p10", sa.Float(), nullable=True),
        sa.Column("tax_p50", sa.Float(), nullable=True),
        sa.Column("tax_p90", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(40), nullable=True),
        sa.UniqueConstraint("park_id", "enterprise_id", "track"),
    )
    op.create_index("ix_pipeline_leads_park_id", "pipeline_leads", ["park_id"])
    op.create_index("ix_pipeline_leads_enterprise_id", "pipeline_leads", ["enterprise_id"])
    op.create_index("ix_pipeline_leads_stage", "pipeline_leads", ["stage"])
    op.create_index("ix_pipeline_leads_owner_id", "pipeline_leads", ["owner_id"])
    events = op.create_table(
        "pipeline_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("lead_id", sa.Integer(), sa.ForeignKey("pipeline_leads.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("field", sa.String(16), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("outreach_id", sa.String(40), nullable=True),
    )
    op.create_index("ix_pipeline_events_lead_id", "pipeline_events", ["lead_id"])
    _append_only("pipeline_events")
    _outreach_to_pipeline(conn, leads, events)


def _append_only(table: str) -> None:
    """Triggers refusing UPDATE and DELETE on ``table``, whoever connects."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def _outreach_to_pipeline(conn: sa.Connection, leads: sa.Table, events: sa.Table) -> None:
    """Each (park, firm, track) with outreach records becomes a lead at the stage of its latest
        record; each record an ``outreach`` event by the key's user (stage before → after, and the
    record's id)."""
    rows = conn.execute(
        sa.text(
            "SELECT o.outreach_id, o.enterprise_id, o.park_id, o.track, o.contacted_on, "
            "o.outcome, o.closed_on, o.note, o.created_at, o.user_id "
            "FROM outreach_records o "
            "ORDER BY o.park_id, o.enterprise_id, o.track, o.contacted_on, o.created_at, "
            "o.outreach_id"
        ).columns(
            contacted_on=sa.Date(), closed_on=sa.Date(), created_at=sa.DateTime(timezone=True)
        )
    ).all()
    for (park, eid, track), group in groupby(rows, key=lambda r: (r[2], r[1], r[3])):
        records = list(group)
        first, last = records[0], records[-1]
        stage, reason = OUTCOME_STAGE.get(last.outcome, ("contacted", None))
        lead_id = conn.execute(
            leads.insert()
            .values(
                park_id=park,
                enterprise_id=eid,
                track=track,
                stage=stage,
                lost_reason=reason,
                owner_id=None,
                follow_up_on=None,
                note=last.note,
                version=len(records),
                created_at=first.created_at,
                updated_at=last.created_at,
                stage_since=last.created_at,
                contacted_on=first.contacted_on,
                closed_on=(last.closed_on or last.contacted_on) if stage in RESOLVED else None,
            )
            .returning(leads.c.id)
        ).scalar_one()
        previous = None
        for i, r in enumerate(records, start=1):
            to = OUTCOME_STAGE.get(r.outcome, ("contacted", None))[0]
            conn.execute(
                events.insert().values(
                    lead_id=lead_id,
                    at=r.created_at,
                    user_id=r.user_id,
                    field="outreach",
                    from_value=previous,
                    to_value=to,
                    version=i,
                    outreach_id=r.outreach_id,
                )
            )
            previous = to


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER pipeline_events_append_only ON pipeline_events")
        op.execute("DROP FUNCTION pipeline_events_append_only()")
    op.drop_table("pipeline_events")
    op.drop_table("pipeline_leads")
    op.drop_table("web_sessions")
    with op.batch_alter_table("outreach_records") as batch:
        batch.drop_constraint("fk_outreach_records_user_id", type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_user_id")
        batch.drop_constraint("fk_api_keys_user_id", type_="foreignkey")
        batch.drop_column("user_id")
    op.drop_table("users")
