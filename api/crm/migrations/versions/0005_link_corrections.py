"""Strategists' corrections of chain attachment (产业链校核): one append-only table, each row a
correction (confirm / move / remove / outside / restore) with who, when, the park, the firm, the
links, the note and what it changed (the firm's links before → after, ``link:share`` joined by
``;``). The table is its own audit: triggers refuse UPDATE and DELETE, and an undo is a new row
(``restore``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "link_corrections"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("park_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("link_id", sa.String(80), nullable=True),
        sa.Column("to_link_id", sa.String(80), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("corrected_by", sa.String(40), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_link_corrections_user_id"),
            nullable=True,
        ),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_links", sa.Text(), nullable=False, server_default=""),
        sa.Column("to_links", sa.Text(), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False, server_default="api"),
    )
    op.create_index("ix_link_corrections_park_id", TABLE, ["park_id"])
    op.create_index("ix_link_corrections_enterprise_id", TABLE, ["enterprise_id"])
    _append_only(TABLE)


def _append_only(table: str) -> None:
    """Triggers refusing UPDATE and DELETE on ``table``, whoever connects (as 0002's)."""
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


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TABLE}_append_only ON {TABLE}")
        op.execute(f"DROP FUNCTION {TABLE}_append_only()")
    op.drop_index("ix_link_corrections_enterprise_id", TABLE)
    op.drop_index("ix_link_corrections_park_id", TABLE)
    op.drop_table(TABLE)
