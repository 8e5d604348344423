"""Indexes of the pipeline's views: counts per stage, owner and track (``GROUP BY`` over the
index alone), follow-ups due by a day (overdue leads) and leads in a stage since before a day
(stale leads).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_pipeline_leads_views", "pipeline_leads", ["park_id", "stage", "owner_id", "track"]
    )
    op.create_index("ix_pipeline_leads_follow_up", "pipeline_leads", ["park_id", "follow_up_on"])
    op.create_index(
        "ix_pipeline_leads_stage_since", "pipeline_leads", ["park_id", "stage", "stage_since"]
    )


def downgrade() -> None:
    op.drop_index("ix_pipeline_leads_stage_since", table_name="pipeline_leads")
    op.drop_index("ix_pipeline_leads_follow_up", table_name="pipeline_leads")
    op.drop_index("ix_pipeline_leads_views", table_name="pipeline_leads")
