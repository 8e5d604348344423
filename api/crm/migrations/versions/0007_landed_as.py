"""Pipeline leads keep the form a firm landed in (``landed_as``, recorded by its officer at or
after landing) beside the form it was valued in (``landing_form``), and the share band it was
valued with (``in_park_tax_share_p10`` / ``_p90``), so training can learn how often the assumed
form holds and each form's share from the form taken (``training.shares``). Leads made before
keep NULL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_leads") as batch:
        batch.add_column(sa.Column("landed_as", sa.String(32), nullable=True))
        batch.add_column(sa.Column("in_park_tax_share_p10", sa.Float(), nullable=True))
        batch.add_column(sa.Column("in_park_tax_share_p90", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_leads") as batch:
        batch.drop_column("in_park_tax_share_p90")
        batch.drop_column("in_park_tax_share_p10")
        batch.drop_column("landed_as")
