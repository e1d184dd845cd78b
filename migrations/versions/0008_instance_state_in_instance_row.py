"""instance state in the instance row

The serialized workflow moves from ``instance_states`` into a column of ``instances`` (the last
one, so that SQLite reads the other columns of a row without touching it). A step then locks
and reads the instance with its state in one statement — PostgreSQL's ``FOR UPDATE`` re-reads
the locked row after waiting, state included, where a joined row would have been stale — and
writes both in one UPDATE: three statements fewer per start and completion. Listing instances
still never reads it (the column is deferred in the model).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (no batch): SQLite would otherwise rebuild ``instances``, which every history,
    # task and clock row references. Nullable for the same reason; the engine always writes it.
    op.add_column('instances', sa.Column('state', sa.JSON(), nullable=True))
    op.execute("UPDATE instances SET state = (SELECT s.state FROM instance_states s WHERE s.instance_id = instances.id)")
    op.drop_table('instance_states')


def downgrade() -> None:
    op.create_table('instance_states',
                    sa.Column('instance_id', sa.String(length=36), nullable=False),
                    sa.Column('state', sa.JSON(), nullable=False),
                    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ),
                    sa.PrimaryKeyConstraint('instance_id'))
    op.execute("INSERT INTO instance_states (instance_id, state) SELECT id, state FROM instances")
    op.drop_column('instances', 'state')  # in place on SQLite too (3.35+), for the reason above
