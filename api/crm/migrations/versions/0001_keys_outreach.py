"""The first schema (before migrations): API keys, outreach records, idempotency keys.

A database created by ``create_all`` before migrations existed has exactly these tables and is
stamped with this revision by ``attract db upgrade`` before the later ones run.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_api_keys_key_hash", "api_keys", ["key_hash"], unique=True)
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outreach_records",
        sa.Column("outreach_id", sa.String(40), primary_key=True),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("park_id", sa.String(32), nullable=False),
        sa.Column("track", sa.String(16), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=True),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("officer", sa.String(100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=False),
    )
    op.create_index(
        "ix_outreach_records_enterprise_id", "outreach_records", ["enterprise_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("outreach_records")
    op.drop_table("idempotency_keys")
    op.drop_table("api_keys")
