"""service-level agreements

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:20:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("instance_id", sa.String(length=36), sa.ForeignKey("instances.id"), nullable=False),
        sa.Column("definition_key", sa.String(length=200), nullable=False),
        sa.Column("sla_name", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("level", sa.String(length=100), nullable=True),
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("calendar", sa.String(length=50), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_threshold", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sla_clocks_state_due", "sla_clocks", ["state", "due_at"])
    op.create_index("ix_sla_clocks_next_check", "sla_clocks", ["next_check_at"])
    op.create_index("ix_sla_clocks_instance", "sla_clocks", ["instance_id", "sla_name"])
    op.create_index("ix_sla_clocks_task", "sla_clocks", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_task", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_instance", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_next_check", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_state_due", table_name="sla_clocks")
    op.drop_table("sla_clocks")
