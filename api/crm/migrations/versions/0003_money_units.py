"""Money columns of pipeline leads carry their unit (10,000 CNY) in their names, as every other
table's do: ``value`` → ``value_wan_cny``, ``tax_p10`` / ``tax_p50`` / ``tax_p90`` →
``tax_p10_wan_cny`` / ``tax_p50_wan_cny`` / ``tax_p90_wan_cny``. A rename keeps every stored
value (SQLite ≥ 3.25 and PostgreSQL rename in place).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RENAMES = (
    ("value", "value_wan_cny"),
    ("tax_p10", "tax_p10_wan_cny"),
    ("tax_p50", "tax_p50_wan_cny"),
    ("tax_p90", "tax_p90_wan_cny"),
)


def upgrade() -> None:
    for old, new in RENAMES:
        op.execute(f"ALTER TABLE pipeline_leads RENAME COLUMN {old} TO {new}")


def downgrade() -> None:
    for old, new in RENAMES:
        op.execute(f"ALTER TABLE pipeline_leads RENAME COLUMN {new} TO {old}")
