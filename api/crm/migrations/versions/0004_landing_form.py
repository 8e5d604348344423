"""Pipeline leads keep the landing form they were valued in and the group's tax P50 beside the
tax the park would collect (``tax_p*_wan_cny``), so training can learn each form's share of the
group's tax from what landed firms pay (``training.shares``). Leads made before keep NULL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_leads") as batch:
        batch.add_column(sa.Column("landing_form", sa.String(32), nullable=True))
        batch.add_column(sa.Column("group_tax_p50_wan_cny", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_leads") as batch:
        batch.drop_column("group_tax_p50_wan_cny")
        batch.drop_column("landing_form")
