"""inbox priority and sla state

Adds what the inbox shows and sorts by (``sla_state``, ``priority`` with its computed
``priority_rank``, the computed ``due_missing``) and the ``audience`` key with one partial index
per inbox sort over the unassigned ready tasks; the old lane-keyed inbox index goes.

On SQLite the computed columns make Alembic rebuild the table (SQLite cannot add a stored
generated column); PostgreSQL adds them in place.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:20:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OPEN_TASK = sa.text("status = 'ready' AND assignee IS NULL")
OPEN_INDEXES = (
    ('ix_human_tasks_open_created',
     ['audience', 'created_at', 'id', 'priority_rank', 'due_at', 'sla_state', 'definition_key']),
    ('ix_human_tasks_open_due',
     ['audience', 'due_missing', 'due_at', 'created_at', 'id', 'priority_rank', 'sla_state', 'definition_key']),
    ('ix_human_tasks_open_priority',
     ['audience', 'priority_rank', 'due_missing', 'due_at', 'created_at', 'id', 'sla_state', 'definition_key']),
)
SEPARATOR = "\x1f"  # engine.models.AUDIENCE_SEPARATOR


def upgrade() -> None:
    with op.batch_alter_table('human_tasks') as batch:
        batch.add_column(sa.Column('sla_state', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('audience', sa.String(length=1000), server_default='', nullable=False))
        batch.add_column(sa.Column('due_missing', sa.Integer(), sa.Computed(
            'CASE WHEN due_at IS NULL THEN 1 ELSE 0 END', persisted=True), nullable=False))
        batch.add_column(sa.Column('priority', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('priority_rank', sa.Integer(), sa.Computed(
            "CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 "
            "WHEN 'low' THEN 3 ELSE 4 END", persisted=True), nullable=False))
        batch.drop_index('ix_human_tasks_inbox_lane')
    _fill_audience()
    with op.batch_alter_table('human_tasks') as batch:
        for name, columns in OPEN_INDEXES:
            batch.create_index(name, columns, unique=False, sqlite_where=OPEN_TASK, postgresql_where=OPEN_TASK)


def _fill_audience() -> None:
    """The audience of the rows that exist: lane and candidate roles, sorted, joined."""
    conn = op.get_bind()
    tasks = sa.table('human_tasks', sa.column('id', sa.String), sa.column('lane', sa.String),
                     sa.column('candidate_roles', sa.JSON), sa.column('audience', sa.String))
    updates = []
    for task_id, lane, candidates in conn.execute(sa.select(tasks.c.id, tasks.c.lane, tasks.c.candidate_roles)):
        roles = sorted({r for r in (lane, *(candidates or ())) if r})
        if roles:
            updates.append({'task_id': task_id, 'audience': SEPARATOR.join(roles)})
    if updates:
        conn.execute(tasks.update().where(tasks.c.id == sa.bindparam('task_id'))
                     .values(audience=sa.bindparam('audience')), updates)


def downgrade() -> None:
    with op.batch_alter_table('human_tasks') as batch:
        for name, _ in OPEN_INDEXES:
            batch.drop_index(name)
        batch.create_index('ix_human_tasks_inbox_lane', ['status', 'lane', 'assignee', 'created_at', 'due_at'],
                           unique=False)
        batch.drop_column('priority_rank')
        batch.drop_column('priority')
        batch.drop_column('due_missing')
        batch.drop_column('audience')
        batch.drop_column('sla_state')
