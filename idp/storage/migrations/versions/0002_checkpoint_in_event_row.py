"""signed checkpoints written in the event row they sign

The periodic checkpoint (every ``checkpoint_interval`` events) is stored in its event's row instead
of a row of ``audit_checkpoints`` of its own: one durable write less per checkpoint, and no extra
round trips for the batch that reaches it. ``audit_checkpoints`` keeps the checkpoints signed on
demand (``idp audit checkpoint``) and the anchors of pruned logs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:40:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint', sa.Text(), nullable=True))


def downgrade() -> None:
    # Keep the in-row checkpoints verifiable: move them to the table before dropping the column.
    op.execute("INSERT INTO audit_checkpoints (seq, hash, signature, created_at) "
               "SELECT seq, hash, checkpoint, occurred_at FROM audit_events WHERE checkpoint IS NOT NULL "
               "AND seq NOT IN (SELECT seq FROM audit_checkpoints)")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('checkpoint')
